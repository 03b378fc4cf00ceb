//! A pull page taken in (records put, deletions applied, the cursor moved
//! in one transaction) and the full resync after the server said 410.

use super::*;
use crate::field::photos::local::{removed_elsewhere, unlist_removed_elsewhere};
use crate::field::visits::local::SyncState;

impl OfflineDb {
    /// The records with changes still in the outbox: their photos' bytes wait.
    pub async fn queued_records(&self, device_id: &str) -> Result<BTreeSet<String>> {
        Ok(self
            .outbox(device_id, u32::MAX)
            .await?
            .into_iter()
            .map(|e| e.mutation.record_id.to_string())
            .collect())
    }

    /// Prepares a full resync after the server said the cursor is too old (410):
    /// in one transaction, forgets the server's records this user holds (units,
    /// facilities, proposals, and visits the server fully has) and sets the cursor
    /// to 0. The outbox and every unsent, unsaved, refused or conflicting visit
    /// stay; forms stay too (versions never change, and local visits need them).
    pub async fn reset_for_resync(&self, session: &Session) -> Result<()> {
        let user_id = &session.user.id;
        let tx = self
            .tx(
                &[META, UNITS, FACILITIES, PROPOSALS, VISITS, OUTBOX],
                TransactionMode::ReadWrite,
            )
            .await?;
        let pending = queued_visits(&tx.store(OUTBOX)?, &session.device_id).await?;
        tx.store(UNITS)?.clear().await?;
        let mine = prefix_range(&format!("{user_id}:"))?;
        tx.store(FACILITIES)?.delete(mine.clone().into()).await?;
        tx.store(PROPOSALS)?.delete(mine.into()).await?;
        let visits = tx.store(VISITS)?;
        let local: Vec<LocalVisit> = visits
            .get_all(Some(prefix_range(&format!("{user_id}:"))?), None)
            .await?
            .into_iter()
            .map(decode)
            .collect::<Result<_>>()?;
        for v in local {
            if !keep_on_resync(&v, pending.contains(&v.id)) {
                visits.delete(key(&format!("{user_id}:{}", v.id))).await?;
            }
        }
        tx.store(META)?
            .put(&encode(&0i64)?, Some(&key(&Meta::Cursor(user_id).key())))
            .await?;
        super::landed(tx).await?;
        Ok(())
    }

    /// Stores a pull page, advances the cursor and merges the server's clock in
    /// one transaction, so a page is either fully taken in or pulled again. The
    /// puts are all issued before any is awaited: IndexedDB queues them in the
    /// transaction, and waiting for each in turn made a 500-record page cost
    /// ~200 ms more in Chromium.
    pub async fn apply_pull(
        &self,
        session: &Session,
        page: &PullResponse,
        now_ms: i64,
    ) -> Result<()> {
        let user_id = &session.user.id;
        let tx = self.tx(ALL_STORES, TransactionMode::ReadWrite).await?;
        let pending = queued_visits(&tx.store(OUTBOX)?, &session.device_id).await?;
        let (units, forms, facilities, proposals, visits) = (
            tx.store(UNITS)?,
            tx.store(FORMS)?,
            tx.store(FACILITIES)?,
            tx.store(PROPOSALS)?,
            tx.store(VISITS)?,
        );
        // A visit may arrive in the same page as its proposal, before the
        // page is stored: its title is read here first.
        let page_titles: std::collections::HashMap<&str, &str> = page
            .changes
            .iter()
            .filter_map(|c| match &c.record {
                PulledRecord::Proposal(p) => Some((p.id.as_str(), p.title.as_str())),
                _ => None,
            })
            .collect();
        // The photo records held, for those removed on another phone: read
        // once per page that carries visits.
        let held_photos: Vec<LocalPhoto> = if page
            .changes
            .iter()
            .any(|c| matches!(c.record, PulledRecord::Visit(_)))
        {
            tx.store(PHOTOS)?
                .get_all(Some(prefix_range(&format!("{user_id}:"))?), None)
                .await?
                .into_iter()
                .map(decode)
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        let mut writes = Vec::with_capacity(page.changes.len());
        for change in &page.changes {
            match &change.record {
                PulledRecord::Unit(u) => {
                    // Units were keyed by bare code before trees were named.
                    if !u.tree.is_empty() {
                        writes.push(Write::Delete(&units, key(&u.code)));
                    }
                    writes.push(Write::Put(&units, encode(u)?, key(&u.key())))
                }
                PulledRecord::Form(f) => writes.push(Write::Put(
                    &forms,
                    encode(f)?,
                    key(&format!("{}@{:06}", f.id, f.version)),
                )),
                PulledRecord::Facility(f) => writes.push(Write::Put(
                    &facilities,
                    encode(f)?,
                    key(&format!("{user_id}:{}", f.id)),
                )),
                PulledRecord::Proposal(p) => writes.push(Write::Put(
                    &proposals,
                    encode(p)?,
                    key(&format!("{user_id}:{}", p.id)),
                )),
                PulledRecord::Visit(v) => {
                    // Read-modify-write: the local draft decides what is kept.
                    let k = format!("{user_id}:{}", v.id);
                    let local: Option<LocalVisit> =
                        visits.get(key(&k)).await?.map(decode).transpose()?;
                    let mut merged = absorb_server_copy(
                        local,
                        v,
                        &session.user.username,
                        pending.contains(&v.id),
                    );
                    // Named after its proposal while the phone holds it, so
                    // the home list still names it once a closed year takes
                    // the proposal away.
                    if let Some(pid) = &v.proposal_id {
                        if let Some(title) = page_titles.get(pid.as_str()) {
                            merged.proposal_title = Some(title.to_string());
                        } else {
                            let held: Option<Proposal> = proposals
                                .get(key(&format!("{user_id}:{pid}")))
                                .await?
                                .map(decode)
                                .transpose()?;
                            if let Some(p) = held {
                                merged.proposal_title = Some(p.title);
                            }
                        }
                    }
                    if merged.sync_state == SyncState::Refused {
                        unlist_removed_elsewhere(&mut merged, &held_photos, v);
                    }
                    // A photo removed here that the server still holds: its
                    // removal is queued, or was refused with the visit. It
                    // stays off this phone's screen, and the refused one
                    // goes again at the next save (`writes::save_visit_as`).
                    crate::field::visits::refused::hold_removed(&mut merged, v);
                    writes.push(Write::Put(&visits, encode(&merged)?, key(&k)));
                    // Photo statuses travel inside their visit.
                    let photos = tx.store(PHOTOS)?;
                    for server in v
                        .photos
                        .iter()
                        .filter(|p| !merged.removed_photos.contains(&p.id))
                    {
                        let pk = format!("{user_id}:{}", server.id);
                        let local: Option<LocalPhoto> =
                            photos.get(key(&pk)).await?.map(decode).transpose()?;
                        let photo = match local {
                            Some(mut p) => {
                                p.absorb(server);
                                p
                            }
                            None => LocalPhoto::from_server(server),
                        };
                        photos.put(&encode(&photo)?, Some(&key(&pk))).await?;
                    }
                    for gone in removed_elsewhere(&held_photos, v, &merged) {
                        photos
                            .delete(key(&format!("{user_id}:{}", gone.id)))
                            .await?;
                        photos.delete(key(&photo_blob_key(&gone.id))).await?;
                    }
                }
                PulledRecord::Deleted(d) => {
                    let store = match d.entity.as_str() {
                        "visit" => &visits,
                        "facility" => &facilities,
                        "proposal" => &proposals,
                        _ => continue,
                    };
                    writes.push(Write::Delete(store, key(&format!("{user_id}:{}", d.id))));
                }
            }
        }
        let meta = tx.store(META)?;
        let mut clock = super::stored_clock(&meta).await?;
        clock.merge(page.server_hlc, now_ms);
        writes.push(Write::Put(&meta, encode(&clock)?, key(&Meta::Hlc.key())));
        writes.push(Write::Put(
            &meta,
            encode(&page.cursor)?,
            key(&Meta::Cursor(user_id).key()),
        ));
        futures::future::try_join_all(writes.iter().map(Write::run)).await?;
        super::landed(tx).await?;
        Ok(())
    }
}

/// The visits with mutations still in a device's outbox.
async fn queued_visits(outbox: &Store, device_id: &str) -> Result<BTreeSet<String>> {
    Ok(outbox
        .get_all(Some(prefix_range(&format!("{device_id}:"))?), None)
        .await?
        .into_iter()
        .map(decode::<OutboxEntry>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(|e| e.visit_id)
        .collect())
}

/// One write of a pull page, issued together with the others.
enum Write<'s> {
    Put(&'s Store, JsValue, JsValue),
    Delete(&'s Store, JsValue),
}

impl Write<'_> {
    async fn run(&self) -> Result<()> {
        match self {
            Write::Put(store, value, k) => store.put(value, Some(k)).await.map(|_| ())?,
            Write::Delete(store, k) => store.delete(k.clone()).await?,
        }
        Ok(())
    }
}
