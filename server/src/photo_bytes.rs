//! Photo bytes on their way into storage, for the tus handlers and the
//! background jobs alike: the per-process claim on an upload being written,
//! finishing a complete upload (its SHA-256 against the photo's record, the
//! original stored by content hash, the image pipeline), bytes that arrive
//! whole (a backup archive), and storage calls run on the blocking pool.

use app::error::{AppError, ErrorBody};
use app::photos::exif;
use app::state::AppState;
use app::store::photos as store;
use app::store::uploads::{self as upload_store, Upload};
use sha2::Digest;
use std::collections::HashSet;
use std::sync::Mutex;

/// Uploads some request of this process is writing: a second request for the
/// same upload waits for the client to ask HEAD again (423), rather than
/// interleaving writes.
static WRITING: Mutex<Option<HashSet<String>>> = Mutex::new(None);

pub(crate) struct Writing(String);

impl Writing {
    pub(crate) fn claim(id: &str) -> Option<Writing> {
        let mut set = WRITING.lock().unwrap_or_else(|p| p.into_inner());
        set.get_or_insert_with(HashSet::new)
            .insert(id.to_string())
            .then(|| Writing(id.to_string()))
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        let mut set = WRITING.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(set) = set.as_mut() {
            set.remove(&self.0);
        }
    }
}

/// Runs `finish` on its own task: a client that hangs up after its last byte
/// (and so drops this request) must not leave a complete upload unfinished.
pub(crate) async fn finish_detached(state: &AppState, upload: &Upload) -> Result<(), AppError> {
    let (state, upload) = (state.clone(), upload.clone());
    tokio::spawn(async move { finish(&state, &upload).await })
        .await
        .map_err(|e| AppError::Internal(format!("finishing stopped: {e}")))?
}

/// How long a HEAD or PATCH waits for another request's finish of the same
/// upload (hashing, storing, judging the photo) before it answers 423.
const FINISH_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The answer while another request still writes or finishes an upload: tus
/// clients (tusd's own answer; the Java and Android clients retry it) and the
/// app ask HEAD again after a while.
pub(crate) fn busy(offset: i64) -> AppError {
    AppError::Protocol {
        status: 423,
        body: ErrorBody::new(
            "upload.busy",
            "another request is still writing this upload; ask HEAD and continue from its offset",
        )
        .with("offset", offset),
    }
}

/// An upload whose every byte is acknowledged but that never finished (the
/// server stopped in between): finish it now. Used by HEAD, PATCH and start-up.
/// When another request of this process is finishing it, waits for that one,
/// so "every byte is in" is only answered once the file was found whole: a
/// finish that then fails (the whole file's hash) answers its failure here too.
pub async fn finish_stalled(state: &AppState, upload: &Upload) -> Result<(), AppError> {
    if upload.completed_at.is_some() || upload.offset != upload.length || upload.ended_at.is_some()
    {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let _writing = loop {
        if let Some(claim) = Writing::claim(&upload.id) {
            break claim;
        }
        if started.elapsed() > FINISH_WAIT {
            return Err(busy(upload.offset));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    match upload_store::upload(&state.db, &upload.id).await? {
        Some(now) if now.completed_at.is_some() => Ok(()),
        Some(now) if now.ended_at.is_none() => finish_detached(state, &now).await,
        _ => Err(AppError::Protocol {
            status: 404,
            body: ErrorBody::new(
                "upload.gone",
                "the whole file did not match its photo, so this upload was ended; create a new one",
            ),
        }),
    }
}

/// All bytes are in: check the whole file against the photo's SHA-256, store it
/// by content hash, then judge it.
pub(crate) async fn finish(state: &AppState, upload: &Upload) -> Result<(), AppError> {
    // Finished meanwhile (another process, or a retried request): nothing to do.
    if upload_store::upload(&state.db, &upload.id)
        .await?
        .is_none_or(|u| u.completed_at.is_some() || u.ended_at.is_some())
    {
        return Ok(());
    }
    let Some((photo, _)) = store::get(&state.db, &upload.photo_id).await? else {
        return Err(AppError::NotFound("photo".into()));
    };
    // The partial file gone while the upload is complete and unfinished: an
    // earlier finish moved it into storage (by its checked hash) and stopped
    // before its database write. Only then is the stored original taken:
    // bytes that did arrive are always hashed, or anyone who knew another
    // photo's hash could claim its image with any bytes.
    let partial_gone = {
        let (storage, id) = (state.photos.storage.clone(), upload.id.clone());
        tokio::task::spawn_blocking(move || {
            matches!(storage.read_partial(&id), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        })
        .await
        .unwrap_or(false)
    };
    let stored = if partial_gone {
        stored_original(state, &photo.sha256).await?
    } else {
        None
    };
    if let Some(key) = stored {
        let id = upload.id.clone();
        let _ = on_storage(state, "dropping the partial upload", move |s| {
            s.delete_partial(&id)
        })
        .await;
        store::set_received_finishing(&state.db, &photo.id, &key, Some(&upload.id)).await?;
        crate::images::process(state, &photo.id, &photo.sha256, &key).await;
        return Ok(());
    }
    let storage = state.photos.storage.clone();
    let id = upload.id.clone();
    let (sha, head) = tokio::task::spawn_blocking(move || -> std::io::Result<(String, Vec<u8>)> {
        use std::io::Read;
        let mut reader = storage.read_partial(&id)?;
        let mut hasher = sha2::Sha256::new();
        let mut head = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            if head.len() < 64 {
                head.extend_from_slice(&buf[..n.min(64 - head.len())]);
            }
            hasher.update(&buf[..n]);
        }
        Ok((hex::encode(hasher.finalize()), head))
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing stopped: {e}")))?
    .map_err(|e| AppError::Internal(format!("cannot read the upload: {e}")))?;
    if sha != photo.sha256 {
        upload_store::end_upload(&state.db, &upload.id).await?;
        let id = upload.id.clone();
        let _ = on_storage(state, "dropping the partial upload", move |s| {
            s.delete_partial(&id)
        })
        .await;
        return Err(AppError::Protocol {
            status: 460,
            body: ErrorBody::new(
                "upload.sha256_mismatch",
                "the file's SHA-256 does not match the photo's record: upload it again from the start",
            )
            .with("expected", photo.sha256.clone())
            .with("got", sha),
        });
    }
    let key = crate::images::original_key(&sha, exif::sniff(&head));
    let (id, k) = (upload.id.clone(), key.clone());
    on_storage(state, "storing the photo", move |s| {
        s.promote_partial(&id, &k)
    })
    .await?;
    store::set_received_finishing(&state.db, &photo.id, &key, Some(&upload.id)).await?;
    crate::images::process(state, &photo.id, &sha, &key).await;
    Ok(())
}

/// The key of an original stored under `sha256`, whatever format it was
/// found to be.
pub(crate) async fn stored_original(
    state: &AppState,
    sha256: &str,
) -> Result<Option<String>, AppError> {
    use exif::Format::*;
    let keys: Vec<String> = [Jpeg, Png, Webp, Heif, Avif, Gif, Bmp, Tiff, Unknown]
        .into_iter()
        .map(|f| crate::images::original_key(sha256, f))
        .collect();
    on_storage(state, "looking for a stored original", move |s| {
        for key in keys {
            if s.exists(&key)? {
                return Ok(Some(key));
            }
        }
        Ok(None)
    })
    .await
}

/// Photos whose upload said "complete" while the photo kept waiting (a stop
/// between the two writes, before they shared a transaction): the original
/// is in storage, so record it and judge it; if it is not, end the upload so
/// the phone's next HEAD (410) sends the file again.
pub async fn repair_completed_but_waiting(state: &AppState) -> Result<usize, AppError> {
    let stuck = store::waiting_after_completed_upload(&state.db).await?;
    for (photo, sha) in &stuck {
        match stored_original(state, sha).await? {
            Some(key) => {
                store::set_received(&state.db, photo, &key).await?;
                crate::images::process(state, photo, sha, &key).await;
            }
            None => upload_store::end_completed_of_photo(&state.db, photo).await?,
        }
    }
    Ok(stuck.len())
}

/// Bytes that arrived whole another way (a backup archive): stored by content
/// hash and judged, for every photo of `owner_id` waiting for exactly them.
/// Returns how many photos they completed; bytes that do not hash to `sha256`
/// complete none.
pub async fn receive_whole(
    state: &AppState,
    owner_id: &str,
    sha256: &str,
    bytes: axum::body::Bytes,
) -> Result<usize, AppError> {
    // Hashing megabytes is CPU work: off the async workers, with the store.
    let expected = sha256.to_string();
    let checked = bytes.clone();
    let matches = tokio::task::spawn_blocking(move || {
        hex::encode(sha2::Sha256::digest(&checked)) == expected
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing a photo stopped: {e}")))?;
    if !matches {
        return Ok(0);
    }
    let waiting = store::waiting_by_hash(&state.db, sha256, owner_id).await?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let key = crate::images::original_key(sha256, exif::sniff(&bytes));
    let k = key.clone();
    on_storage(state, "storing the photo", move |s| s.put(&k, &bytes)).await?;
    for id in &waiting {
        store::set_received(&state.db, id, &key).await?;
        crate::images::process(state, id, sha256, &key).await;
    }
    Ok(waiting.len())
}

/// A blocking call on photo storage, run on tokio's blocking pool; `what`
/// names it in the (logged, never shown) error.
pub(crate) async fn on_storage<T: Send + 'static>(
    state: &AppState,
    what: &'static str,
    f: impl FnOnce(&dyn app::photos::storage::PhotoStorage) -> std::io::Result<T> + Send + 'static,
) -> Result<T, AppError> {
    let storage = state.photos.storage.clone();
    tokio::task::spawn_blocking(move || f(storage.as_ref()))
        .await
        .map_err(|e| AppError::Internal(format!("{what} stopped: {e}")))?
        .map_err(|e| storage_error(what, e))
}

/// A full or read-only store is the operator's to fix, not a bug: it gets
/// its own status and code (the phone retries a 5xx and keeps its bytes),
/// and the log says which.
fn storage_error(what: &'static str, e: std::io::Error) -> AppError {
    use std::io::ErrorKind::*;
    let (status, code, message) = match e.kind() {
        StorageFull | QuotaExceeded => (
            507,
            "storage.full",
            "the server's photo storage is full: the photo stays on the phone and is sent once space is freed",
        ),
        ReadOnlyFilesystem => (
            503,
            "storage.read_only",
            "the server's photo storage cannot be written now: the photo stays on the phone and is sent later",
        ),
        _ => return AppError::Internal(format!("{what} failed: {e}")),
    };
    tracing::error!(error = %e, "{what} failed: photo storage needs an operator");
    AppError::Protocol {
        status,
        body: ErrorBody::new(code, message),
    }
}

#[cfg(test)]
mod tests {
    use super::storage_error;
    use std::io::{Error, ErrorKind};

    #[test]
    fn a_full_or_read_only_store_has_its_own_answer() {
        for (kind, status, code) in [
            (ErrorKind::StorageFull, 507, "storage.full"),
            (ErrorKind::QuotaExceeded, 507, "storage.full"),
            (ErrorKind::ReadOnlyFilesystem, 503, "storage.read_only"),
            (ErrorKind::PermissionDenied, 500, "internal"),
        ] {
            let e = storage_error("storing upload bytes", Error::from(kind));
            assert_eq!(
                (e.status(), e.body().code.as_str()),
                (status, code),
                "{kind:?}"
            );
        }
    }
}
