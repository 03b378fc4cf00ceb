//! `/api/uploads/`: tus 1.0 (core, creation, creation-with-upload, checksum,
//! termination, expiration) for photo bytes. The upload's state is a database
//! row and its partial bytes sit behind the storage interface, so any server
//! process can resume any upload. Only the photo's inspector may send its bytes.
//!
//! An upload is acknowledged block by block as bytes arrive, so a cut
//! connection resumes from the last byte written, unless the request carries an
//! `Upload-Checksum`: then its bytes count only once the whole request matches.
//!
//! One file (about 405 lines): the tus verbs share the upload's lookup and
//! answers; receiving and headers are their own modules.
//! When the last byte arrives the server compares the file's SHA-256 with the
//! `attach_photo` record, stores the original by content hash, and runs the image
//! pipeline before answering 204; the verdict is the photo's status.
//!

use crate::photo_bytes::{finish_detached, finish_stalled, on_storage, Writing};
use app::auth::session::Caller;
use app::error::{AppError, ErrorBody};
use app::state::AppState;
use app::store::photos as store;
use app::store::uploads::{self as upload_store, Upload};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use headers::*;
use http_body_util::BodyExt;
use receive::receive;
use sha2::Digest;

/// Request headers: the tus version, metadata, content type, checksums.
mod headers;
/// A request's bytes written block by block from the upload's offset.
mod receive;

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
    // A photo (or visit) removed on another phone of the inspector before its
    // bytes came still takes them: they exist only on the phone that took it,
    // the server keeps a removed photo's original like any other, and a
    // refusal left that phone retrying an upload for good. The photo stays
    // removed; the phone drops it once the bytes are here.
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
    // The photo's bytes are in already (sent by another phone of the
    // inspector, or an earlier upload whose answer was lost): the new upload
    // is born complete. Its body is not read, nothing is hashed, stored or
    // judged again, and the client sees every byte acknowledged.
    let already_in = photo.status != app::photos::PhotoStatus::Waiting;
    let upload = Upload {
        id: uuid::Uuid::now_v7().to_string(),
        photo_id,
        user_id: caller.user.id.clone(),
        length,
        offset: if already_in { length } else { 0 },
        metadata: raw_meta,
        created_at: now,
        expires_at: now + state.photos.upload_ttl_ms,
        completed_at: already_in.then_some(now),
        ended_at: None,
    };
    if !already_in {
        // At most two unfinished uploads of a photo: this one and the newest
        // before it (another tab may still be sending on it).
        for ended in upload_store::end_all_but_newest(&state.db, &upload.photo_id, 1).await? {
            receive::drop_partial(state, &ended).await;
        }
    }
    upload_store::create_upload(&state.db, &upload).await?;
    crate::telemetry::upload_created();
    let offset = if already_in {
        if has_body {
            receive::discard(body, length).await;
        }
        length
    } else if has_body {
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

/// The caller's live upload: 404 unknown, 403 someone else's, 404 ended or
/// expired too (`upload.gone`, `upload.expired`). tus allows 404 or 410;
/// tusd answers 404, and the Java and Android clients make a new upload only
/// on a 404: a 410 left their stored URL failing for good.
async fn live_upload(state: &AppState, caller: &Caller, id: &str) -> Result<Upload, AppError> {
    let upload = match uuid::Uuid::parse_str(id) {
        Ok(_) => upload_store::upload(&state.db, id).await?,
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
            404,
            "upload.gone",
            "this upload was ended; create a new one",
        ));
    }
    if upload.completed_at.is_none() && upload.expires_at < app::store::now_ms() {
        upload_store::end_upload(&state.db, &upload.id).await?;
        receive::drop_partial(state, &upload.id).await;
        return Err(protocol(
            404,
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
        upload_store::end_upload(&state.db, &upload.id).await?;
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
