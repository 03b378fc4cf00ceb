//! `/api/uploads/`: tus 1.0 (core, creation, creation-with-upload, checksum,
//! termination, expiration) for photo bytes. The upload's state is a database
//! row and its partial bytes sit behind the storage interface, so any server
//! process can resume any upload. Only the photo's inspector may send its bytes.
//!
//! An upload is acknowledged block by block as bytes arrive, so a cut
//! connection resumes from the last byte written, unless the request carries an
//! `Upload-Checksum`: then its bytes count only once the whole request matches.
//! When the last byte arrives the server compares the file's SHA-256 with the
//! `attach_photo` record, stores the original by content hash, and runs the image
//! pipeline before answering 204; the verdict is the photo's status.
//!
//! One file (about 800 lines) because the tus handlers share one upload state
//! machine and its error mapping; issue 16 splits it into headers / receive /
//! finish as part of the layout change, so it is not split ahead of that.

use app::auth::session::Caller;
use app::error::{AppError, ErrorBody};
use app::photos::exif;
use app::state::AppState;
use app::store::photos::{self as store, Upload};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http_body_util::BodyExt;
use sha2::Digest;
use std::collections::HashSet;
use std::sync::Mutex;

pub const TUS_VERSION: &str = "1.0.0";
pub const EXTENSIONS: &str = "creation,creation-with-upload,checksum,termination,expiration";
pub const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// Bytes written (and, without a checksum, acknowledged) at a time.
const BLOCK: usize = 256 * 1024;

fn h(name: &'static str) -> HeaderName {
    HeaderName::from_static(name)
}

/// Adds `Tus-Resumable` to every answer, errors included; a 412 also lists
/// the versions this server speaks.
fn tus(mut response: Response) -> Response {
    let hs = response.headers_mut();
    hs.insert(h("tus-resumable"), HeaderValue::from_static(TUS_VERSION));
    if response.status() == StatusCode::PRECONDITION_FAILED {
        response
            .headers_mut()
            .insert(h("tus-version"), HeaderValue::from_static(TUS_VERSION));
    }
    response
}

/// `POST /api/uploads/{id}` with `X-HTTP-Method-Override` (clients behind
/// proxies that drop PATCH or DELETE): the overridden method, as tus requires.
pub async fn overridden(
    state: State<AppState>,
    caller: Caller,
    id: Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match header_str(&headers, "x-http-method-override")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("PATCH") => patch(state, caller, id, headers, body).await,
        Some("DELETE") => terminate(state, caller, id, headers).await,
        Some("HEAD") => head(state, caller, id, headers).await,
        None => tus(AppError::BadRequest(
            "POST to an upload needs X-HTTP-Method-Override: PATCH, DELETE or HEAD".into(),
        )
        .into_response()),
        _ => tus(AppError::Protocol {
            status: 405,
            body: ErrorBody::new(
                "upload.method",
                "X-HTTP-Method-Override on an upload may only be PATCH, DELETE or HEAD",
            ),
        }
        .into_response()),
    }
}

fn protocol(status: u16, code: &str, message: impl Into<String>) -> AppError {
    AppError::Protocol {
        status,
        body: ErrorBody::new(code, message),
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn check_version(headers: &HeaderMap) -> Result<(), AppError> {
    match header_str(headers, "tus-resumable") {
        Some(TUS_VERSION) => Ok(()),
        other => Err(AppError::Protocol {
            status: 412,
            body: ErrorBody::new(
                "upload.unsupported_version",
                format!(
                    "this server speaks tus {TUS_VERSION}; the request said {}",
                    other.unwrap_or("nothing (Tus-Resumable header missing)")
                ),
            ),
        }),
    }
}

fn http_date(ms: i64) -> String {
    httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64),
    )
}

/// `OPTIONS /api/uploads/`: what this server supports (public, as tus asks).
pub async fn options(State(state): State<AppState>) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let hs = r.headers_mut();
    hs.insert(h("tus-version"), HeaderValue::from_static(TUS_VERSION));
    hs.insert(h("tus-extension"), HeaderValue::from_static(EXTENSIONS));
    hs.insert(
        h("tus-checksum-algorithm"),
        HeaderValue::from_static(CHECKSUM_ALGORITHMS),
    );
    hs.insert(h("tus-max-size"), HeaderValue::from(state.photos.max_bytes));
    tus(r)
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (value optional).
/// Largest `Upload-Metadata` header kept: a photo ID and a file name with
/// room to spare. The metadata is stored and echoed in every HEAD answer.
pub const MAX_METADATA_BYTES: usize = 2048;
/// Most keys in `Upload-Metadata` (photo_id, filename, filetype, name, …).
pub const MAX_METADATA_KEYS: usize = 16;

fn parse_metadata(raw: &str) -> Result<Vec<(String, String)>, AppError> {
    if raw.len() > MAX_METADATA_BYTES {
        return Err(AppError::TooLarge {
            what: "Upload-Metadata header (bytes)",
            limit: MAX_METADATA_BYTES,
        });
    }
    let pairs: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if pairs.len() > MAX_METADATA_KEYS {
        return Err(AppError::TooLarge {
            what: "Upload-Metadata keys",
            limit: MAX_METADATA_KEYS,
        });
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in pairs {
        let mut parts = pair.splitn(2, ' ');
        let key = parts.next().unwrap_or_default().to_string();
        let value = match parts.next() {
            Some(v) => base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "Upload-Metadata: the value of \"{key}\" is not base64 of UTF-8 text"
                    ))
                })?,
            None => String::new(),
        };
        if key.is_empty() || key.contains(' ') {
            return Err(AppError::BadRequest(
                "Upload-Metadata: a key is empty".into(),
            ));
        }
        if out.iter().any(|(k, _)| *k == key) {
            return Err(AppError::BadRequest(format!(
                "Upload-Metadata: the key \"{key}\" appears twice"
            )));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// The photo an upload is for, if the caller may send its bytes.
async fn writable_photo(
    state: &AppState,
    caller: &Caller,
    photo_id: &str,
) -> Result<app::photos::PhotoRecord, AppError> {
    let Some((photo, access)) = store::get(&state.db, photo_id).await? else {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "upload.unknown_photo",
                format!("there is no photo {photo_id}: its attach_photo record must sync before its bytes"),
            )
            .with("photo_id", photo_id),
        ));
    };
    if access.owner_id != caller.user.id {
        return Err(AppError::Forbidden(
            "only the inspector of this visit may send its photos".into(),
        ));
    }
    if access.deleted {
        return Err(protocol(
            410,
            "upload.photo_removed",
            "this photo or its visit was removed",
        ));
    }
    Ok(photo)
}

/// `POST /api/uploads/`: creates an upload for a photo (`photo_id` in
/// Upload-Metadata); with a body, also its first bytes.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    tus(create_inner(&state, &caller, &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response))
}

async fn create_inner(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    check_version(headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(AppError::BadRequest(
            "Upload-Defer-Length is not supported: a photo's size is known; send Upload-Length"
                .into(),
        ));
    }
    let length: i64 = header_str(headers, "upload-length")
        .ok_or_else(|| AppError::BadRequest("Upload-Length is required".into()))?
        .parse()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            AppError::BadRequest("Upload-Length must be a whole number of bytes".into())
        })?;
    if length as u64 > state.photos.max_bytes {
        return Err(AppError::TooLarge {
            what: "photo (bytes)",
            limit: state.photos.max_bytes as usize,
        });
    }
    let raw_meta = header_str(headers, "upload-metadata")
        .unwrap_or_default()
        .to_string();
    let meta = parse_metadata(&raw_meta)?;
    let photo_id = meta
        .iter()
        .find(|(k, _)| k == "photo_id")
        .map(|(_, v)| v.clone())
        .filter(|v| uuid::Uuid::parse_str(v).is_ok())
        .ok_or_else(|| {
            AppError::BadRequest("Upload-Metadata must carry photo_id (the photo's UUID)".into())
        })?;
    let photo = writable_photo(state, caller, &photo_id).await?;
    if photo.size != length {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "upload.size_mismatch",
                format!(
                    "Upload-Length is {length} but the photo's record says {} bytes",
                    photo.size
                ),
            )
            .with("expected", photo.size)
            .with("got", length),
        ));
    }
    // creation-with-upload: bytes come with their tus content type (a client
    // may stream them without a Content-Length).
    let typed =
        header_str(headers, "content-type").is_some_and(|ct| ct.starts_with(OFFSET_OCTET_STREAM));
    let has_body = typed || header_str(headers, "content-length").is_some_and(|l| l != "0");
    if has_body {
        check_content_type(headers)?;
    }
    let now = app::store::now_ms();
    let upload = Upload {
        id: uuid::Uuid::now_v7().to_string(),
        photo_id,
        user_id: caller.user.id.clone(),
        length,
        offset: 0,
        metadata: raw_meta,
        created_at: now,
        expires_at: now + state.photos.upload_ttl_ms,
        completed_at: None,
        ended_at: None,
    };
    store::create_upload(&state.db, &upload).await?;
    let offset = if has_body {
        receive(state, &upload, headers, body).await?
    } else {
        0
    };
    let mut r = StatusCode::CREATED.into_response();
    let hs = r.headers_mut();
    hs.insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("/api/uploads/{}", upload.id))
            .expect("a UUID is a valid header"),
    );
    hs.insert(h("upload-offset"), HeaderValue::from(offset));
    if let Ok(v) = HeaderValue::from_str(&http_date(upload.expires_at)) {
        hs.insert(h("upload-expires"), v);
    }
    Ok(r)
}

fn check_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let ct = header_str(headers, "content-type").unwrap_or_default();
    if ct.split(';').next().map(str::trim) != Some(OFFSET_OCTET_STREAM) {
        return Err(protocol(
            415,
            "upload.content_type",
            format!(
                "upload bytes must be sent as {OFFSET_OCTET_STREAM}, not {}",
                if ct.is_empty() { "nothing" } else { ct }
            ),
        ));
    }
    Ok(())
}

/// The caller's live upload: 404 unknown, 403 someone else's, 410 ended or expired.
async fn live_upload(state: &AppState, caller: &Caller, id: &str) -> Result<Upload, AppError> {
    let upload = match uuid::Uuid::parse_str(id) {
        Ok(_) => store::upload(&state.db, id).await?,
        Err(_) => None,
    };
    let Some(upload) = upload else {
        return Err(AppError::NotFound("upload".into()));
    };
    if upload.user_id != caller.user.id {
        return Err(AppError::Forbidden(
            "this upload belongs to another user".into(),
        ));
    }
    if upload.ended_at.is_some() {
        return Err(protocol(
            410,
            "upload.gone",
            "this upload was ended; create a new one",
        ));
    }
    if upload.completed_at.is_none() && upload.expires_at < app::store::now_ms() {
        store::end_upload(&state.db, &upload.id).await?;
        return Err(protocol(
            410,
            "upload.expired",
            "this upload expired; create a new one",
        ));
    }
    Ok(upload)
}

/// `HEAD /api/uploads/{id}`: the acknowledged offset.
pub async fn head(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        check_version(&headers)?;
        let upload = live_upload(&state, &caller, &id).await?;
        finish_stalled(&state, &upload).await?;
        let mut r = StatusCode::OK.into_response();
        let hs = r.headers_mut();
        hs.insert(h("upload-offset"), HeaderValue::from(upload.offset));
        hs.insert(h("upload-length"), HeaderValue::from(upload.length));
        hs.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(v) = HeaderValue::from_str(&upload.metadata) {
            if !upload.metadata.is_empty() {
                hs.insert(h("upload-metadata"), v);
            }
        }
        if upload.completed_at.is_none() {
            if let Ok(v) = HeaderValue::from_str(&http_date(upload.expires_at)) {
                hs.insert(h("upload-expires"), v);
            }
        }
        Ok::<_, AppError>(r)
    }
    .await;
    // HEAD answers carry no body: keep the status and headers of an error.
    let mut r = tus(result.unwrap_or_else(IntoResponse::into_response));
    if r.status() != StatusCode::OK {
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// `PATCH /api/uploads/{id}`: bytes at `Upload-Offset`.
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        check_version(&headers)?;
        check_content_type(&headers)?;
        let upload = live_upload(&state, &caller, &id).await?;
        let offset: i64 = header_str(&headers, "upload-offset")
            .and_then(|v| v.parse().ok())
            .filter(|n: &i64| *n >= 0)
            .ok_or_else(|| {
                AppError::BadRequest("Upload-Offset is required (a whole number)".into())
            })?;
        if offset != upload.offset {
            return Err(AppError::Protocol {
                status: 409,
                body: ErrorBody::new(
                    "upload.offset_mismatch",
                    format!(
                        "the upload is at byte {}, not {offset}: ask HEAD and continue from there",
                        upload.offset
                    ),
                )
                .with("offset", upload.offset),
            });
        }
        if upload.completed_at.is_some() || upload.offset == upload.length {
            finish_stalled(&state, &upload).await?;
            return Ok(no_content(upload.offset, None));
        }
        let offset = receive(&state, &upload, &headers, body).await?;
        Ok(no_content(
            offset,
            (offset < upload.length).then_some(upload.expires_at),
        ))
    }
    .await;
    tus(result.unwrap_or_else(IntoResponse::into_response))
}

fn no_content(offset: i64, expires: Option<i64>) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(h("upload-offset"), HeaderValue::from(offset));
    if let Some(v) = expires.and_then(|e| HeaderValue::from_str(&http_date(e)).ok()) {
        r.headers_mut().insert(h("upload-expires"), v);
    }
    r
}

/// `DELETE /api/uploads/{id}`: termination. The partial bytes go; a photo
/// already received keeps its original.
pub async fn terminate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        check_version(&headers)?;
        let upload = live_upload(&state, &caller, &id).await?;
        store::end_upload(&state.db, &upload.id).await?;
        let uid = upload.id.clone();
        let _ = on_storage(&state, "dropping the partial upload", move |s| {
            s.delete_partial(&uid)
        })
        .await;
        Ok::<_, AppError>(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    tus(result.unwrap_or_else(IntoResponse::into_response))
}

/// Uploads some request of this process is writing: a second request for the
/// same upload waits for the client to ask HEAD again (409), rather than
/// interleaving writes.
static WRITING: Mutex<Option<HashSet<String>>> = Mutex::new(None);

struct Writing(String);

impl Writing {
    fn claim(id: &str) -> Option<Writing> {
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

enum Checksum {
    Sha1(sha1::Sha1, Vec<u8>),
    Sha256(sha2::Sha256, Vec<u8>),
}

impl Checksum {
    fn parse(headers: &HeaderMap) -> Result<Option<Checksum>, AppError> {
        let Some(raw) = header_str(headers, "upload-checksum") else {
            return Ok(None);
        };
        let (algorithm, value) = raw.split_once(' ').unwrap_or((raw, ""));
        let expected = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .map_err(|_| AppError::BadRequest("Upload-Checksum: the value is not base64".into()))?;
        match algorithm {
            "sha1" => Ok(Some(Checksum::Sha1(sha1::Sha1::new(), expected))),
            "sha256" => Ok(Some(Checksum::Sha256(sha2::Sha256::new(), expected))),
            other => Err(AppError::BadRequest(format!(
                "Upload-Checksum: algorithm \"{other}\" is not supported; use one of {CHECKSUM_ALGORITHMS}"
            ))),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Checksum::Sha1(h, _) => h.update(bytes),
            Checksum::Sha256(h, _) => h.update(bytes),
        }
    }

    fn matches(self) -> bool {
        match self {
            Checksum::Sha1(h, want) => h.finalize().as_slice() == want.as_slice(),
            Checksum::Sha256(h, want) => h.finalize().as_slice() == want.as_slice(),
        }
    }
}

/// Writes a request's bytes from the upload's offset; returns the new offset.
/// Finishes the upload when the last byte has arrived.
async fn receive(
    state: &AppState,
    upload: &Upload,
    headers: &HeaderMap,
    mut body: Body,
) -> Result<i64, AppError> {
    let Some(_writing) = Writing::claim(&upload.id) else {
        return Err(AppError::Protocol {
            status: 409,
            body: ErrorBody::new(
                "upload.busy",
                "another request is still writing this upload; ask HEAD and continue from its offset",
            )
            .with("offset", upload.offset),
        });
    };
    let mut checksum = Checksum::parse(headers)?;
    let start = upload.offset;
    // `written`: on storage; `acked`: in the database (without a checksum the
    // two move together, block by block).
    let (mut written, mut acked) = (start, start);
    let mut pending: Vec<u8> = Vec::with_capacity(BLOCK);
    let mut cut = false;
    loop {
        match body.frame().await {
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                if written + (pending.len() + data.len()) as i64 > upload.length {
                    return Err(AppError::TooLarge {
                        what: "bytes past the declared Upload-Length",
                        limit: upload.length as usize,
                    });
                }
                if let Some(c) = checksum.as_mut() {
                    c.update(&data);
                }
                pending.extend_from_slice(&data);
                if pending.len() >= BLOCK {
                    written =
                        write_block(state, upload, written, std::mem::take(&mut pending)).await?;
                    if checksum.is_none() {
                        acked = advance(state, upload, acked, written).await?;
                    }
                }
            }
            Some(Err(_)) => {
                cut = true;
                break;
            }
            None => break,
        }
    }
    if cut && checksum.is_some() {
        // A checksum covers the whole request: none of a cut request counts.
        return Ok(acked);
    }
    if !pending.is_empty() {
        written = write_block(state, upload, written, pending).await?;
    }
    if let Some(c) = checksum {
        if !c.matches() {
            return Err(AppError::Protocol {
                status: 460,
                body: ErrorBody::new(
                    "upload.checksum_mismatch",
                    "the bytes of this request do not match its Upload-Checksum; send them again",
                )
                .with("offset", acked),
            });
        }
    }
    if written != acked {
        acked = advance(state, upload, acked, written).await?;
    }
    if !cut && acked == upload.length {
        finish_detached(state, upload).await?;
    }
    Ok(acked)
}

/// Runs `finish` on its own task: a client that hangs up after its last byte
/// (and so drops this request) must not leave a complete upload unfinished.
async fn finish_detached(state: &AppState, upload: &Upload) -> Result<(), AppError> {
    let (state, upload) = (state.clone(), upload.clone());
    tokio::spawn(async move { finish(&state, &upload).await })
        .await
        .map_err(|e| AppError::Internal(format!("finishing stopped: {e}")))?
}

/// An upload whose every byte is acknowledged but that never finished (the
/// server stopped in between): finish it now. Used by HEAD, PATCH and start-up.
pub async fn finish_stalled(state: &AppState, upload: &Upload) -> Result<(), AppError> {
    if upload.completed_at.is_some() || upload.offset != upload.length || upload.ended_at.is_some()
    {
        return Ok(());
    }
    let Some(_writing) = Writing::claim(&upload.id) else {
        return Ok(()); // another request of this process is on it
    };
    finish_detached(state, upload).await
}

async fn write_block(
    state: &AppState,
    upload: &Upload,
    at: i64,
    bytes: Vec<u8>,
) -> Result<i64, AppError> {
    let id = upload.id.clone();
    let len = bytes.len() as i64;
    on_storage(state, "storing upload bytes", move |s| {
        s.write_partial(&id, at as u64, &bytes)
    })
    .await?;
    Ok(at + len)
}

async fn advance(state: &AppState, upload: &Upload, from: i64, to: i64) -> Result<i64, AppError> {
    if store::advance(&state.db, &upload.id, from, to).await? {
        Ok(to)
    } else {
        Err(protocol(
            409,
            "upload.offset_mismatch",
            "another request moved this upload; ask HEAD",
        ))
    }
}

/// All bytes are in: check the whole file against the photo's SHA-256, store it
/// by content hash, then judge it.
async fn finish(state: &AppState, upload: &Upload) -> Result<(), AppError> {
    // Finished meanwhile (another process, or a retried request): nothing to do.
    if store::upload(&state.db, &upload.id)
        .await?
        .is_none_or(|u| u.completed_at.is_some() || u.ended_at.is_some())
    {
        return Ok(());
    }
    let Some((photo, _)) = store::get(&state.db, &upload.photo_id).await? else {
        return Err(AppError::NotFound("photo".into()));
    };
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
        store::end_upload(&state.db, &upload.id).await?;
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
    store::complete_upload(&state.db, &upload.id).await?;
    store::set_received(&state.db, &photo.id, &key).await?;
    crate::images::process(state, &photo.id, &sha, &key).await;
    Ok(())
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
        .map_err(|e| AppError::Internal(format!("{what} failed: {e}")))
}
