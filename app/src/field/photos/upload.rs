//! The phone's tus client. Bytes go after every pending record (the server
//! must know the photo first), one photo at a time over a weak link, in chunks
//! that start small and grow while the link holds. The upload URL and the
//! acknowledged offset are written to IndexedDB after every chunk, so an upload
//! resumes from the last acknowledged byte after a dropped connection, a closed
//! tab or a phone restart. One failing photo blocks nothing else.

use super::capture::{blob_bytes, digest};
use super::local::base64 as b64;
use super::local::{next_chunk, verdict_for, LocalPhoto, UploadVerdict, FIRST_CHUNK};
use crate::error::ErrorBody;
use crate::field::client::{http, ClientState};
use crate::field::offline::{self, OfflineDb, Session};
use leptos::prelude::Set;
use std::cell::Cell;

const ENDPOINT: &str = "/api/uploads/";
const TUS: (&str, &str) = ("Tus-Resumable", "1.0.0");
/// Attempts per photo and sync run before it waits for the next run.
const ATTEMPTS: u32 = 4;

thread_local! {
    /// The chunk size that worked last: a good link stays fast across photos.
    static CHUNK: Cell<u32> = const { Cell::new(FIRST_CHUNK) };
}

/// What one run achieved.
#[derive(Default)]
pub struct Outcome {
    /// Some photo's last byte was acknowledged (its verdict is worth pulling).
    pub completed: bool,
    /// The network failed: the engine retries with backoff.
    pub network_failed: bool,
}

/// Sends the bytes of every photo whose record the server has.
pub async fn run(session: &Session, state: ClientState) -> Outcome {
    let mut outcome = Outcome::default();
    let Ok(db) = offline::db().await else {
        return outcome;
    };
    let Ok(photos) = db.photos(&session.user.id, None).await else {
        return outcome;
    };
    let queued = db
        .queued_records(&session.device_id)
        .await
        .unwrap_or_default();
    let mut todo: Vec<LocalPhoto> = photos
        .iter()
        .filter(|p| p.needs_upload() && !queued.contains(&p.id))
        .cloned()
        .collect();
    if todo.is_empty() {
        return outcome;
    }
    let total = super::local::progress(&photos);
    state.uploads.set(Some(total));
    let mut done_before = total.0;
    for photo in todo.iter_mut() {
        let start = photo.upload.offset;
        let result = upload_one(&db, &session.user.id, photo, state, done_before, total.1).await;
        done_before += if photo.upload.done {
            photo.size - start
        } else {
            photo.upload.offset - start
        };
        match result {
            Ok(true) => outcome.completed = true,
            Ok(false) => {}
            Err(()) => outcome.network_failed = true,
        }
        state.bump();
    }
    state.uploads.set(None);
    outcome
}

/// Writes the upload's progress only: the caption the inspector may be typing
/// while the bytes go belongs to the record in IndexedDB, not to this copy.
async fn save(db: &OfflineDb, user_id: &str, photo: &LocalPhoto) {
    let _ = db.save_upload(user_id, &photo.id, &photo.upload).await;
}

/// One photo: create or find the upload, then PATCH from its offset. `Ok(true)`
/// when the last byte was acknowledged; `Err` when the network failed.
async fn upload_one(
    db: &OfflineDb,
    user_id: &str,
    photo: &mut LocalPhoto,
    state: ClientState,
    done_before: i64,
    total: i64,
) -> Result<bool, ()> {
    let Ok(Some(blob)) = db.photo_blob(&photo.id).await else {
        return Ok(false);
    };
    let mut attempts = 0;
    let mut ask_offset = photo.upload.url.is_some();
    let mut network_failed = false;
    while attempts < ATTEMPTS {
        if attempts > 0 {
            // Backoff: 0.5 s, 1 s, 2 s… between attempts on one photo.
            crate::field::client::browser::sleep_ms(500 * (1 << attempts.min(4))).await;
        }
        let before = photo.state();
        let step = step(photo, &blob, &mut ask_offset).await;
        match step {
            Step::Progress(advanced) => {
                // Only moving bytes resets the attempts: a HEAD that answers
                // between failing PATCHes must not keep the loop alive forever.
                if advanced {
                    attempts = 0;
                    photo.upload.error = None;
                }
                save(db, user_id, photo).await;
                // The lists read the phone's whole catalogue on each change of
                // data: only a photo's change of state is one. A chunk's
                // progress goes to `uploads`, which the photo's own field
                // follows (a chunk may be 16 KB on a weak link).
                if photo.state() != before {
                    state.bump();
                }
                let acked = if photo.upload.done {
                    photo.size
                } else {
                    photo.upload.offset
                };
                state.uploads.set(Some((done_before + acked, total)));
                if photo.upload.done {
                    return Ok(true);
                }
            }
            Step::Failed(verdict, body) => {
                attempts += 1;
                photo.upload.error = Some(body);
                match verdict {
                    UploadVerdict::Continue => ask_offset = true,
                    UploadVerdict::Restart => {
                        photo.upload.url = None;
                        photo.upload.offset = 0;
                        ask_offset = false;
                    }
                    UploadVerdict::Refused => {
                        photo.upload.refused = true;
                        save(db, user_id, photo).await;
                        return Ok(false);
                    }
                    UploadVerdict::Retry => {
                        network_failed = true;
                        ask_offset = photo.upload.url.is_some();
                        CHUNK.with(|c| c.set(next_chunk(c.get(), false)));
                    }
                }
                save(db, user_id, photo).await;
            }
        }
    }
    if network_failed {
        Err(())
    } else {
        Ok(false)
    }
}

enum Step {
    /// The request succeeded; `true` when bytes (or a new upload) moved forward.
    Progress(bool),
    Failed(UploadVerdict, ErrorBody),
}

fn failed(r: &http::RawResponse) -> Step {
    let body = r.error_body();
    Step::Failed(verdict_for(r.status, &body.code), body)
}

fn network() -> Step {
    Step::Failed(
        UploadVerdict::Retry,
        ErrorBody::new("network.unreachable", "the server could not be reached"),
    )
}

/// One request: create, ask the offset, or send the next chunk.
async fn step(photo: &mut LocalPhoto, blob: &web_sys::Blob, ask_offset: &mut bool) -> Step {
    let Some(url) = photo.upload.url.clone() else {
        let metadata = format!(
            "photo_id {},filename {},filetype {}",
            b64(photo.id.as_bytes()),
            b64(format!("{}.jpg", photo.id).as_bytes()),
            b64(photo.content_type.as_bytes())
        );
        let length = photo.size.to_string();
        let headers = [
            TUS,
            ("Upload-Length", length.as_str()),
            ("Upload-Metadata", metadata.as_str()),
        ];
        return match http::raw("POST", ENDPOINT, &headers, None).await {
            Ok(r) if r.status == 201 => match r.header("Location") {
                Some(location) => {
                    photo.upload.url = Some(location);
                    photo.upload.offset = 0;
                    Step::Progress(true)
                }
                None => Step::Failed(
                    UploadVerdict::Retry,
                    ErrorBody::new("upload.no_location", "no Location"),
                ),
            },
            Ok(r) => failed(&r),
            Err(_) => network(),
        };
    };
    if *ask_offset {
        return match http::raw("HEAD", &url, &[TUS], None).await {
            Ok(r) if r.status == 200 => {
                let offset = r
                    .header("Upload-Offset")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(0);
                photo.upload.offset = offset;
                *ask_offset = false;
                // Every byte is there: the upload finished before the answer was lost.
                if offset >= photo.size {
                    photo.upload.done = true;
                }
                Step::Progress(false)
            }
            // A HEAD answer has no body: judge by the status alone.
            Ok(r) => Step::Failed(
                verdict_for(r.status, ""),
                ErrorBody::new("upload.head", format!("HTTP {}", r.status)),
            ),
            Err(_) => network(),
        };
    }
    let chunk = CHUNK.with(Cell::get) as i64;
    let start = photo.upload.offset;
    let end = (start + chunk).min(photo.size);
    let Ok(slice) = blob.slice_with_f64_and_f64(start as f64, end as f64) else {
        return network();
    };
    let Ok(bytes) = blob_bytes(&slice).await else {
        return network();
    };
    let Ok(sha1) = digest("SHA-1", &bytes).await else {
        return network();
    };
    let checksum = format!("sha1 {}", b64(&sha1));
    let offset = start.to_string();
    let headers = [
        TUS,
        ("Upload-Offset", offset.as_str()),
        ("Upload-Checksum", checksum.as_str()),
        ("Content-Type", "application/offset+octet-stream"),
    ];
    let body: wasm_bindgen::JsValue = js_sys::Uint8Array::from(bytes.as_slice()).into();
    match http::raw("PATCH", &url, &headers, Some(&body)).await {
        Ok(r) if r.status == 204 => {
            photo.upload.offset = r
                .header("Upload-Offset")
                .and_then(|o| o.parse().ok())
                .unwrap_or(end);
            if photo.upload.offset >= photo.size {
                photo.upload.done = true;
            }
            CHUNK.with(|c| c.set(next_chunk(c.get(), true)));
            Step::Progress(true)
        }
        Ok(r) => failed(&r),
        Err(_) => network(),
    }
}
