//! Photos: their records and downscaled bytes, captions, uploads.

use super::*;

impl OfflineDb {
    /// A captured photo: its bytes, its record and its `attach_photo` change
    /// (`entry`, given its seq and stamp here) in ONE strict transaction; the
    /// queued change.
    pub async fn attach_photo(
        &self,
        user_id: &str,
        photo: &LocalPhoto,
        blob: &web_sys::Blob,
        device_id: &str,
        now_ms: i64,
        entry: impl FnOnce(i64, Hlc) -> OutboxEntry,
    ) -> Result<OutboxEntry> {
        let meta_key = format!("{user_id}:{}", photo.id);
        let blob_key = photo_blob_key(&photo.id);
        self.queue_numbered(device_id, now_ms, entry, |tx| {
            let enc = |v: &dyn erased::Encode| v.encode_js();
            let photos = tx.object_store(PHOTOS)?;
            photos.put_with_key(blob, &key(&blob_key))?;
            photos.put_with_key(&enc(photo)?, &key(&meta_key))?;
            Ok(())
        })
        .await
    }

    /// A photo's removal: its record and bytes go at once (the change tells
    /// the server), and the change (`entry`, given its seq and stamp here) is
    /// queued, in ONE strict transaction; the queued change.
    pub async fn remove_photo(
        &self,
        user_id: &str,
        photo_id: &str,
        device_id: &str,
        now_ms: i64,
        entry: impl FnOnce(i64, Hlc) -> OutboxEntry,
    ) -> Result<OutboxEntry> {
        let meta_key = format!("{user_id}:{photo_id}");
        let blob_key = photo_blob_key(photo_id);
        self.queue_numbered(device_id, now_ms, entry, |tx| {
            let photos = tx.object_store(PHOTOS)?;
            photos.delete(&key(&meta_key))?;
            photos.delete(&key(&blob_key))?;
            Ok(())
        })
        .await
    }

    /// Runs `write` and queues the change `entry` builds, numbered with the
    /// seq counter and the clock read in that same strict transaction. Read
    /// before it, a save committing in between took the same seq, and the
    /// later of the two writes replaced the other's change in the outbox
    /// (keyed by device and seq): a removal or a save that never left the
    /// phone, with nothing on screen to say so.
    async fn queue_numbered(
        &self,
        device_id: &str,
        now_ms: i64,
        entry: impl FnOnce(i64, Hlc) -> OutboxEntry,
        write: impl FnOnce(&web_sys::IdbTransaction) -> std::result::Result<(), JsValue>,
    ) -> Result<OutboxEntry> {
        let (tx, done) = self.strict_photo_tx().await?;
        let numbered = match tx.object_store(META) {
            Ok(meta) => next_change(&meta, device_id, now_ms).await,
            Err(e) => Err(js_err(e)),
        };
        let (seq, hlc, clock) = match numbered {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.abort();
                return Err(e);
            }
        };
        let entry = entry(seq, hlc);
        if let Err(e) = write(&tx).and_then(|()| queue_entry(&tx, &entry, device_id, clock)) {
            let _ = tx.abort();
            return Err(js_err(e));
        }
        finished(&tx, done, "the photo change").await?;
        Ok(entry)
    }

    /// A strict read-write transaction over the photo records, the outbox
    /// and the meta store (a photo change with its seq and clock), and the
    /// promise its end settles (`finished`).
    async fn strict_photo_tx(&self) -> Result<(web_sys::IdbTransaction, js_sys::Promise)> {
        let names = js_sys::Array::of3(&key(PHOTOS), &key(OUTBOX), &key(META));
        let tx = self.strict_tx(&names).await?;
        let done = js_sys::Promise::new(&mut |resolve, reject| {
            tx.set_oncomplete(Some(&resolve));
            tx.set_onerror(Some(&reject));
            tx.set_onabort(Some(&reject));
        });
        Ok((tx, done))
    }

    /// Undoes an `attach_photo` whose stored bytes did not hash back to the
    /// photo's SHA-256 (iOS has corrupted Blobs in IndexedDB): nothing of it
    /// may sync. Its change stays queued as a change of nothing
    /// (`refused::withdraw`): later changes are numbered after it, and a gap
    /// in the device's seqs would stop every push after it for good.
    pub async fn forget_photo(
        &self,
        user_id: &str,
        photo_id: &str,
        entry: &OutboxEntry,
    ) -> Result<()> {
        let tx = self
            .tx(&[PHOTOS, OUTBOX], TransactionMode::ReadWrite)
            .await?;
        let photos = tx.store(PHOTOS)?;
        photos.delete(key(&format!("{user_id}:{photo_id}"))).await?;
        photos.delete(key(&photo_blob_key(photo_id))).await?;
        let mut withdrawn = entry.clone();
        crate::field::visits::refused::withdraw(&mut withdrawn);
        tx.store(OUTBOX)?
            .put(&encode(&withdrawn)?, Some(&key(&entry.key())))
            .await?;
        super::landed(tx).await?;
        Ok(())
    }

    /// A new caption for a photo, queued as its change. The record is read and
    /// written in ONE strict transaction, and the change's seq and clock come
    /// from that same transaction: an upload writing its progress meanwhile,
    /// or another save numbering its own change, can neither undo the caption
    /// nor take its seq. `None` (nothing written) when the photo is gone.
    pub async fn caption_photo(
        &self,
        user_id: &str,
        device_id: &str,
        photo_id: &str,
        caption: Option<String>,
        mutation_id: uuid::Uuid,
        now_ms: i64,
    ) -> Result<Option<LocalPhoto>> {
        let (tx, done) = self.strict_photo_tx().await?;
        let written = caption_in(
            &tx,
            user_id,
            device_id,
            photo_id,
            caption,
            mutation_id,
            now_ms,
        )
        .await;
        let photo = match written {
            Ok(Some(photo)) => photo,
            other => {
                let _ = tx.abort();
                return other;
            }
        };
        finished(&tx, done, "the caption").await?;
        Ok(Some(photo))
    }

    /// An upload's progress: only `upload` changes, read and written in one
    /// transaction, so a caption typed meanwhile stays and a photo removed
    /// meanwhile does not come back.
    pub async fn save_upload(
        &self,
        user_id: &str,
        photo_id: &str,
        upload: &crate::field::photos::local::UploadState,
    ) -> Result<()> {
        let tx = self.tx(&[PHOTOS], TransactionMode::ReadWrite).await?;
        let photos = tx.store(PHOTOS)?;
        let k = key(&format!("{user_id}:{photo_id}"));
        let Some(value) = photos.get(k.clone()).await? else {
            return Ok(());
        };
        let mut photo: LocalPhoto = decode(value)?;
        photo.upload = upload.clone();
        photos.put(&encode(&photo)?, Some(&k)).await?;
        super::landed(tx).await?;
        Ok(())
    }

    /// The photo's stored bytes, if this phone has them.
    pub async fn photo_blob(&self, photo_id: &str) -> Result<Option<web_sys::Blob>> {
        let tx = self.tx(&[PHOTOS], TransactionMode::ReadOnly).await?;
        let value = tx
            .store(PHOTOS)?
            .get(key(&photo_blob_key(photo_id)))
            .await?;
        Ok(value.and_then(|v| v.dyn_into::<web_sys::Blob>().ok()))
    }

    /// The user's photos, of one visit or all.
    pub async fn photos(&self, user_id: &str, visit_id: Option<&str>) -> Result<Vec<LocalPhoto>> {
        let all: Vec<LocalPhoto> = self.all(PHOTOS, Some(&format!("{user_id}:"))).await?;
        Ok(all
            .into_iter()
            .filter(|p| visit_id.is_none_or(|v| p.visit_id == v))
            .collect())
    }
}

/// Waits for the end of `tx` (`done`, from `strict_photo_tx`): an abort or
/// an error is the browser's reason when it gave one, else `what` failed.
async fn finished(tx: &web_sys::IdbTransaction, done: js_sys::Promise, what: &str) -> Result<()> {
    wasm_bindgen_futures::JsFuture::from(done)
        .await
        .map_err(|_| {
            tx.error()
                .map(|e| js_err(e.into()))
                .unwrap_or_else(|| OfflineError::Idb(format!("{what} was not saved")))
        })?;
    Ok(())
}

/// Inside a transaction that queues a change: the change's seq (the next
/// one) and stamp, and the clock to store with it, read there and awaited
/// while the transaction is still active.
async fn next_change(
    meta: &web_sys::IdbObjectStore,
    device_id: &str,
    now_ms: i64,
) -> Result<(i64, Hlc, Hlc)> {
    let seq: i64 = read(meta, &key(&Meta::Seq(device_id).key()))
        .await?
        .unwrap_or(0);
    let mut clock: Hlc = read(meta, &key(&Meta::Hlc.key()))
        .await?
        .unwrap_or_default();
    let hlc = clock.tick(now_ms);
    Ok((seq + 1, hlc, clock))
}

/// Inside `caption_photo`'s transaction: read the record, the seq counter and
/// the clock, then write the new caption and its change. Every read is awaited
/// inside the transaction (its requests keep it open), as rexie does.
async fn caption_in(
    tx: &web_sys::IdbTransaction,
    user_id: &str,
    device_id: &str,
    photo_id: &str,
    caption: Option<String>,
    mutation_id: uuid::Uuid,
    now_ms: i64,
) -> Result<Option<LocalPhoto>> {
    let photos = tx.object_store(PHOTOS).map_err(js_err)?;
    let meta = tx.object_store(META).map_err(js_err)?;
    let photo_key = key(&format!("{user_id}:{photo_id}"));
    let Some(mut photo) = read::<LocalPhoto>(&photos, &photo_key).await? else {
        return Ok(None);
    };
    let (seq, hlc, clock) = next_change(&meta, device_id, now_ms).await?;
    photo.caption = caption;
    photo.caption_written = Some(hlc);
    let entry =
        crate::field::photos::local::change_entry(&photo, device_id, seq, hlc, mutation_id, false);
    let write = || -> std::result::Result<(), JsValue> {
        let enc = |v: &dyn erased::Encode| v.encode_js();
        photos.put_with_key(&enc(&photo)?, &photo_key)?;
        queue_entry(tx, &entry, device_id, clock)
    };
    write().map_err(js_err)?;
    Ok(Some(photo))
}
