//! The phone's side of a server restored from a backup: the log epoch it
//! synced with, and the outbox rebuilt in one transaction from what the phone
//! holds and the restored server lacks (`field::visits::resend`).

use super::*;
use crate::field::visits::local::SyncState;
use crate::field::visits::resend::{self, PhotoResend};
use crate::model::VisitRecord;
use crate::sync::MutationKind;
use std::collections::HashMap;

impl OfflineDb {
    /// The server's log epoch at this user's last pull, if any.
    pub async fn epoch(&self, user_id: &str) -> Result<Option<String>> {
        self.get(META, &Meta::Epoch(user_id).key()).await
    }

    pub async fn set_epoch(&self, user_id: &str, epoch: &str) -> Result<()> {
        self.put(META, &Meta::Epoch(user_id).key(), &epoch.to_string())
            .await
    }

    /// Rebuilds this device's outbox for a restored server that holds
    /// `server_last_seq` of its changes and, of this user's visits, `server`:
    /// the changes the server lacks first, then the queued ones, numbered on
    /// from `server_last_seq`. Photos whose bytes the server lacks upload
    /// again. One transaction: an interrupted rebuild leaves the outbox as it
    /// was, and the next sync starts it again. Returns how many changes were
    /// rebuilt.
    pub async fn resend_after_restore(
        &self,
        session: &Session,
        server_last_seq: i64,
        server: &HashMap<String, VisitRecord>,
        now_ms: i64,
    ) -> Result<u32> {
        let (user_id, device_id) = (&session.user.id, &session.device_id);
        let tx = self
            .tx(&[VISITS, OUTBOX, META, PHOTOS], TransactionMode::ReadWrite)
            .await?;
        let (visits, outbox, meta, photos) = (
            tx.store(VISITS)?,
            tx.store(OUTBOX)?,
            tx.store(META)?,
            tx.store(PHOTOS)?,
        );
        let mine = format!("{user_id}:");
        let local: Vec<LocalVisit> = visits
            .get_all(Some(prefix_range(&mine)?), None)
            .await?
            .into_iter()
            .map(decode)
            .collect::<Result<_>>()?;
        let device_range = || prefix_range(&format!("{device_id}:"));
        let queued: Vec<OutboxEntry> = outbox
            .get_all(Some(device_range()?), None)
            .await?
            .into_iter()
            .map(decode)
            .collect::<Result<_>>()?;
        let held_photos: Vec<LocalPhoto> = photos
            .get_all(Some(prefix_range(&mine)?), None)
            .await?
            .into_iter()
            .map(decode)
            .collect::<Result<_>>()?;
        let mut clock = super::stored_clock(&meta).await?;

        let held_ids: BTreeSet<String> = held_photos.iter().map(|p| p.id.clone()).collect();
        let with_bytes: BTreeSet<String> = held_photos
            .iter()
            .filter(|p| p.has_blob && !p.upload.refused)
            .map(|p| p.id.clone())
            .collect();
        let mut rebuilt = Vec::new();
        let mut covered = BTreeSet::new();
        let mut resent_visits = Vec::new();
        let mut kept_visits = Vec::new();
        for visit in local {
            let there = server.get(&visit.id);
            if !visit.header_sent || !resend::is_mine(&visit, there, &session.user) {
                continue;
            }
            // The rebuild stands for the queued upserts only where the server
            // takes edits; a copy it holds finalized keeps them, and their
            // refusal keeps the values in view on the phone.
            if there.is_none_or(resend::takes_edits) {
                covered.insert(visit.id.clone());
            }
            let submit_queued = queued
                .iter()
                .any(|e| e.visit_id == visit.id && e.mutation.kind == MutationKind::Submit);
            // Numbered for real by `renumber` below.
            let next = server_last_seq + 1 + rebuilt.len() as i64;
            let mut changes = resend::visit_changes(
                &resend::recoverable_lists(&visit, there, &with_bytes),
                there,
                submit_queued,
                device_id,
                next,
                &mut clock,
                now_ms,
            );
            // Photos removed after the backup go again as removals.
            for gone in there.map_or(Vec::new(), |s| resend::photos_removed(&visit, &held_ids, s)) {
                changes.push(crate::field::photos::local::change_entry(
                    &LocalPhoto::from_server(gone),
                    device_id,
                    0,
                    clock.tick(now_ms),
                    crate::sync::new_uuid_v7(now_ms),
                    true,
                ));
            }
            if !changes.is_empty() {
                rebuilt.extend(changes);
                resent_visits.push(visit);
            } else if let Some(kept) = there.and_then(|s| resend::kept_against_locked(&visit, s)) {
                kept_visits.push(kept);
            }
        }
        let mut photos_again = Vec::new();
        for photo in held_photos {
            if resend::caption_lost(&photo, server.get(&photo.visit_id)) {
                // With the time it was written: the server keeps the later
                // of two phones' captions by stamp.
                let written = photo.caption_written.unwrap_or_else(|| clock.tick(now_ms));
                rebuilt.push(crate::field::photos::local::change_entry(
                    &photo,
                    device_id,
                    0,
                    written,
                    crate::sync::new_uuid_v7(now_ms),
                    false,
                ));
            }
            let need = resend::photo_needs(&photo, server.get(&photo.visit_id));
            let queued_attach = queued.iter().any(|e| {
                e.mutation.record_id.to_string() == photo.id
                    && e.mutation.fields.contains_key("sha256")
            });
            if need == PhotoResend::AttachAndBytes && !queued_attach {
                rebuilt.extend(resend::attach_again(&photo, device_id, &mut clock, now_ms));
            }
            if need != PhotoResend::Nothing {
                photos_again.push(resend::upload_again(photo));
            }
        }
        let count = rebuilt.len() as u32;
        let kept: Vec<OutboxEntry> = queued
            .into_iter()
            .filter(|e| resend::keep_queued(e, &covered))
            .collect();
        let entries = resend::renumber(rebuilt, kept, server_last_seq);

        outbox.delete(device_range()?.into()).await?;
        for entry in &entries {
            outbox
                .put(&encode(entry)?, Some(&key(&entry.key())))
                .await?;
        }
        // The counter goes on from the server's numbering, even below seqs
        // given out before the restore: the server refuses a gap.
        let last = entries.last().map_or(server_last_seq, |e| e.mutation.seq);
        meta.put(&encode(&last)?, Some(&key(&Meta::Seq(device_id).key())))
            .await?;
        meta.put(&encode(&clock)?, Some(&key(&Meta::Hlc.key())))
            .await?;
        for visit in resent_visits
            .into_iter()
            .map(|mut v| {
                v.sync_state = SyncState::Queued;
                v
            })
            .chain(kept_visits)
        {
            visits
                .put(
                    &encode(&visit)?,
                    Some(&key(&format!("{user_id}:{}", visit.id))),
                )
                .await?;
        }
        for photo in photos_again {
            photos
                .put(
                    &encode(&photo)?,
                    Some(&key(&format!("{user_id}:{}", photo.id))),
                )
                .await?;
        }
        super::landed(tx).await?;
        Ok(count)
    }
}
