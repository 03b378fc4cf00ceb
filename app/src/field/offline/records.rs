//! The server's records the phone holds (units, forms, facilities,
//! proposals), the inspector's visits, and the outbox of their changes.

use super::*;

impl OfflineDb {
    pub async fn units(&self) -> Result<Vec<AdminUnit>> {
        self.all(UNITS, None).await
    }

    pub async fn proposals(&self, user_id: &str) -> Result<Vec<Proposal>> {
        self.all(PROPOSALS, Some(&format!("{user_id}:"))).await
    }

    pub async fn proposal(&self, user_id: &str, id: &str) -> Result<Option<Proposal>> {
        self.get(PROPOSALS, &format!("{user_id}:{id}")).await
    }

    pub async fn facilities(&self, user_id: &str) -> Result<Vec<Facility>> {
        self.all(FACILITIES, Some(&format!("{user_id}:"))).await
    }

    pub async fn form(&self, id: &str, version: i32) -> Result<Option<FormDefinition>> {
        self.get(FORMS, &format!("{id}@{version:06}")).await
    }

    /// The newest version of a form this phone has.
    pub async fn current_form(&self, id: &str) -> Result<Option<FormDefinition>> {
        let forms: Vec<FormDefinition> = self.all(FORMS, Some(&format!("{id}@"))).await?;
        Ok(forms.into_iter().max_by_key(|f| f.version))
    }

    pub async fn visit(&self, user_id: &str, id: &str) -> Result<Option<LocalVisit>> {
        self.get(VISITS, &format!("{user_id}:{id}")).await
    }

    pub async fn visits(&self, user_id: &str) -> Result<Vec<LocalVisit>> {
        self.all(VISITS, Some(&format!("{user_id}:"))).await
    }

    /// Read-modify-write of one visit in ONE transaction: `change` gets the
    /// stored copy and returns what to write, or `None` to leave it. A pull
    /// writes the same store in its own transaction; a read and a later write
    /// in two transactions let a pull land between them and be overwritten (a
    /// submitted visit back "in progress", the server's versions undone).
    pub async fn update_visit(
        &self,
        user_id: &str,
        id: &str,
        change: impl FnOnce(Option<LocalVisit>) -> Option<LocalVisit>,
    ) -> Result<Option<LocalVisit>> {
        let k = key(&format!("{user_id}:{id}"));
        let tx = self.tx(&[VISITS], TransactionMode::ReadWrite).await?;
        let visits = tx.store(VISITS)?;
        let stored: Option<LocalVisit> = visits.get(k.clone()).await?.map(decode).transpose()?;
        let next = change(stored);
        if let Some(next) = &next {
            visits.put(&encode(next)?, Some(&k)).await?;
        }
        super::landed(tx).await?;
        Ok(next)
    }

    /// Drops the changes a refused visit keeps (`refused::discard`) in ONE
    /// transaction: the visit back to the server's copy, the photos the
    /// server never took deleted with their bytes, the server's photos
    /// removed here listed again. `None` when the stored copy holds nothing
    /// to discard (a pull or a send-back landed first). What a logout or a
    /// backup queued of it is withdrawn in the outbox (`refused::withdraw`),
    /// and its refusal no longer marks the visit (`discarded_through`).
    pub async fn discard_kept(
        &self,
        user_id: &str,
        visit_id: &str,
        device_id: &str,
        now_ms: i64,
    ) -> Result<Option<LocalVisit>> {
        use crate::field::visits::refused;
        let k = key(&format!("{user_id}:{visit_id}"));
        let tx = self
            .tx(&[VISITS, PHOTOS, META, OUTBOX], TransactionMode::ReadWrite)
            .await?;
        let last_seq: Option<i64> = tx
            .store(META)?
            .get(key(&Meta::Seq(device_id).key()))
            .await?
            .map(decode)
            .transpose()?;
        let visits = tx.store(VISITS)?;
        let stored: Option<LocalVisit> = visits.get(k.clone()).await?.map(decode).transpose()?;
        let Some(mut visit) = stored.filter(refused::discardable) else {
            super::landed(tx).await?;
            return Ok(None);
        };
        let photos = tx.store(PHOTOS)?;
        let held = photos
            .get_all(Some(prefix_range(&format!("{user_id}:"))?), None)
            .await?;
        for value in held {
            let photo: LocalPhoto = decode(value)?;
            if photo.visit_id == visit.id && refused::never_taken(&photo) {
                photos
                    .delete(key(&format!("{user_id}:{}", photo.id)))
                    .await?;
                photos.delete(key(&photo_blob_key(&photo.id))).await?;
            }
        }
        for shown in refused::discard(&mut visit) {
            photos
                .put(
                    &encode(&shown)?,
                    Some(&key(&format!("{user_id}:{}", shown.id))),
                )
                .await?;
        }
        let outbox = tx.store(OUTBOX)?;
        let queued = outbox
            .get_all(Some(prefix_range(&format!("{device_id}:"))?), None)
            .await?;
        for value in queued {
            let mut entry: OutboxEntry = decode(value)?;
            if entry.visit_id == visit.id && !refused::withdrawn(&entry) {
                refused::withdraw(&mut entry);
                outbox
                    .put(&encode(&entry)?, Some(&key(&entry.key())))
                    .await?;
            }
        }
        visit.updated_at_ms = now_ms;
        visit.discarded_through = last_seq;
        visits.put(&encode(&visit)?, Some(&k)).await?;
        super::landed(tx).await?;
        Ok(Some(visit))
    }

    /// Autosave: the draft only, no mutations (DESIGN.md).
    pub async fn put_draft(&self, user_id: &str, visit: &LocalVisit) -> Result<()> {
        self.put(VISITS, &format!("{user_id}:{}", visit.id), visit)
            .await
    }

    /// Explicit save: the visit, its new mutations, the device's seq counter and
    /// the clock in ONE transaction with strict durability, resolved only once the
    /// transaction has completed (so the UI may then say "saved").
    pub async fn save_visit(
        &self,
        user_id: &str,
        visit: &LocalVisit,
        entries: &[OutboxEntry],
        device_id: &str,
        hlc: Hlc,
    ) -> Result<()> {
        self.save_visit_over(user_id, &visit.id, device_id, |_, _, _| {
            Some((visit.clone(), entries.to_vec(), hlc))
        })
        .await
        .map(|_| ())
    }

    /// The explicit save, with what it builds on read inside its own strict
    /// transaction: the stored visit, the device's last seq and the clock go
    /// to `build`, which returns the visit to write, its mutations and the new
    /// clock (`None`: nothing is written). A pull cannot land between that
    /// read and the write, so its review state and versions are never written
    /// over.
    pub async fn save_visit_over(
        &self,
        user_id: &str,
        visit_id: &str,
        device_id: &str,
        build: impl FnOnce(Option<LocalVisit>, i64, Hlc) -> Option<(LocalVisit, Vec<OutboxEntry>, Hlc)>,
    ) -> Result<Option<LocalVisit>> {
        let stores = js_sys::Array::of3(&key(VISITS), &key(OUTBOX), &key(META));
        let tx = self.strict_tx(&stores).await?;
        let done = js_sys::Promise::new(&mut |resolve, reject| {
            tx.set_oncomplete(Some(&resolve));
            tx.set_onerror(Some(&reject));
            tx.set_onabort(Some(&reject));
        });
        let aborted = |tx: &web_sys::IdbTransaction| {
            tx.error()
                .map(|e| js_err(e.into()))
                .unwrap_or_else(|| OfflineError::Idb("save was aborted".into()))
        };
        let visit_key = key(&format!("{user_id}:{visit_id}"));
        // Asked together, answered in order; each answer is awaited while the
        // transaction is still active, and nothing else is awaited before the
        // writes below.
        let get = |store: &str, k: &JsValue| {
            tx.object_store(store)
                .and_then(|s| s.get(k))
                .map(|req| (request_answer(&req), req))
                .map_err(js_err)
        };
        let reads = [
            get(VISITS, &visit_key)?,
            get(META, &key(&Meta::Seq(device_id).key()))?,
            get(META, &key(&Meta::Hlc.key()))?,
        ];
        let mut values = Vec::with_capacity(reads.len());
        for (answer, req) in reads {
            answer.await.map_err(|_| aborted(&tx))?;
            values.push(req.result().map_err(js_err)?);
        }
        let hlc = optional::<Hlc>(values.pop().unwrap_or_default())?.unwrap_or_default();
        let last_seq = optional::<i64>(values.pop().unwrap_or_default())?.unwrap_or(0);
        let stored = optional::<LocalVisit>(values.pop().unwrap_or_default())?;
        let Some((visit, entries, hlc)) = build(stored, last_seq, hlc) else {
            return Ok(None);
        };
        let write = || -> std::result::Result<(), JsValue> {
            let visits = tx.object_store(VISITS)?;
            let outbox = tx.object_store(OUTBOX)?;
            let meta = tx.object_store(META)?;
            let enc = |v: &dyn erased::Encode| v.encode_js();
            visits.put_with_key(&enc(&visit)?, &visit_key)?;
            let mut last = None;
            for entry in &entries {
                outbox.put_with_key(&enc(entry)?, &key(&entry.key()))?;
                last = Some(entry.mutation.seq);
            }
            if let Some(seq) = last {
                meta.put_with_key(&enc(&seq)?, &key(&Meta::Seq(device_id).key()))?;
            }
            meta.put_with_key(&enc(&hlc)?, &key(&Meta::Hlc.key()))?;
            Ok(())
        };
        if let Err(e) = write() {
            let _ = tx.abort();
            return Err(js_err(e));
        }
        wasm_bindgen_futures::JsFuture::from(done)
            .await
            .map_err(|_| aborted(&tx))?;
        Ok(Some(visit))
    }

    /// The device's queued mutations in seq order, at most `limit`.
    pub async fn outbox(&self, device_id: &str, limit: u32) -> Result<Vec<OutboxEntry>> {
        let tx = self.tx(&[OUTBOX], TransactionMode::ReadOnly).await?;
        let values = tx
            .store(OUTBOX)?
            .get_all(Some(prefix_range(&format!("{device_id}:"))?), Some(limit))
            .await?;
        values.into_iter().map(decode).collect()
    }

    /// Queued mutations after `after_seq`, in seq order, at most `limit`: the
    /// backup reads the outbox page by page.
    pub async fn outbox_after(
        &self,
        device_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>> {
        let tx = self.tx(&[OUTBOX], TransactionMode::ReadOnly).await?;
        let range = KeyRange::bound(
            &key(&crate::field::visits::local::outbox_key(
                device_id,
                after_seq + 1,
            )),
            &key(&format!("{device_id}:\u{ffff}")),
            Some(false),
            Some(false),
        )
        .map_err(|e| OfflineError::Idb(e.to_string()))?;
        let values = tx.store(OUTBOX)?.get_all(Some(range), Some(limit)).await?;
        values.into_iter().map(decode).collect()
    }

    pub async fn outbox_len(&self, device_id: &str) -> Result<u32> {
        let tx = self.tx(&[OUTBOX], TransactionMode::ReadOnly).await?;
        Ok(tx
            .store(OUTBOX)?
            .count(Some(prefix_range(&format!("{device_id}:"))?))
            .await?)
    }

    /// Records a push's results: acknowledged entries leave the outbox, refusals
    /// are written onto their visit, and a visit with nothing left queued is synced.
    pub async fn apply_push_results(
        &self,
        user_id: &str,
        device_id: &str,
        sent: &[OutboxEntry],
        results: &[MutationResult],
    ) -> Result<()> {
        let tx = self
            .tx(&[OUTBOX, VISITS, PHOTOS], TransactionMode::ReadWrite)
            .await?;
        let outbox = tx.store(OUTBOX)?;
        let visits = tx.store(VISITS)?;
        let photos = tx.store(PHOTOS)?;
        use crate::field::visits::stamps::{restamped_captions, take_caption_stamp};
        for (photo_id, sent_at, stamp) in restamped_captions(sent, results) {
            let k = key(&format!("{user_id}:{photo_id}"));
            let Some(value) = photos.get(k.clone()).await? else {
                continue;
            };
            let mut photo: LocalPhoto = decode(value)?;
            if take_caption_stamp(&mut photo, sent_at, stamp) {
                photos.put(&encode(&photo)?, Some(&k)).await?;
            }
        }
        let (done, per_visit) = settle_push(sent, results);
        for entry in done {
            outbox.delete(key(&entry.key())).await?;
        }
        let remaining: Vec<OutboxEntry> = outbox
            .get_all(Some(prefix_range(&format!("{device_id}:"))?), None)
            .await?
            .into_iter()
            .map(decode)
            .collect::<Result<_>>()?;
        for (visit_id, results) in per_visit {
            let k = format!("{user_id}:{visit_id}");
            let Some(value) = visits.get(key(&k)).await? else {
                continue;
            };
            let mut visit: LocalVisit = decode(value)?;
            crate::field::visits::stamps::take_server_stamps(&mut visit, sent, &results);
            let still_queued = remaining.iter().any(|e| e.visit_id == visit_id);
            let visit = after_push(visit, &results, still_queued);
            visits.put(&encode(&visit)?, Some(&key(&k))).await?;
        }
        super::landed(tx).await?;
        Ok(())
    }
}
