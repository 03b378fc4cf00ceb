//! `GET /api/photos/{id}` (the photo's record and status) and its image files.
//! The visit's inspector and supervisors may see them, as with the visit itself.

use app::auth::session::Caller;
use app::error::{AppError, ErrorBody};
use app::model::Role;
use app::photos::{PhotoRecord, PhotoStatus};
use app::state::AppState;
use app::store::photos::{self as store, PhotoAccess};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

async fn visible(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(PhotoRecord, PhotoAccess), AppError> {
    let found = match uuid::Uuid::parse_str(id) {
        Ok(_) => store::get(&state.db, id).await?,
        Err(_) => None,
    };
    let Some((photo, access)) = found.filter(|(_, a)| !a.deleted) else {
        return Err(AppError::NotFound("photo".into()));
    };
    if access.owner_id != caller.user.id && !caller.user.has(Role::Supervisor) {
        return Err(AppError::Forbidden(
            "this photo belongs to another inspector's visit".into(),
        ));
    }
    Ok((photo, access))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PhotoRecord>, AppError> {
    Ok(Json(visible(&state, &caller, &id).await?.0))
}

/// `thumb` (~320 px), `display` (~1600 px) or `original`. A photo whose bytes
/// have not arrived is 409; a bad one is 422 with the verdict.
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, size)): Path<(String, String)>,
    request: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let (photo, access) = visible(&state, &caller, &id).await?;
    let key = match (size.as_str(), photo.status) {
        (_, PhotoStatus::Bad) => {
            let body = photo
                .problem
                .unwrap_or_else(|| ErrorBody::new("photo.bad", "this file is not a usable image"));
            // A real image of a format we do not take is 415; a broken one 422.
            return Err(if body.code == "photo.unsupported_format" {
                AppError::Protocol { status: 415, body }
            } else {
                AppError::Invalid(body)
            });
        }
        ("original", PhotoStatus::Ok | PhotoStatus::Received) => access.object_key,
        ("thumb", PhotoStatus::Ok) => Some(crate::images::thumb_key(&photo.sha256)),
        ("display", PhotoStatus::Ok) => Some(crate::images::display_key(&photo.sha256)),
        ("thumb" | "display" | "original", _) => {
            return Err(AppError::Protocol {
                status: 409,
                body: ErrorBody::new(
                    "photo.not_ready",
                    "the photo's bytes have not all arrived or are still being processed",
                )
                .with("status", photo.status.as_str()),
            })
        }
        _ => {
            return Err(AppError::NotFound(
                "photo size (thumb, display or original)".into(),
            ))
        }
    };
    let Some(key) = key else {
        return Err(AppError::NotFound("photo file".into()));
    };
    // An original is served as what its bytes are (the pipeline named the
    // stored file by the format it found), not as what the phone declared.
    let content_type = match key.rsplit_once('.').map(|(_, ext)| ext) {
        _ if size != "original" => "image/jpeg".to_string(),
        Some("jpg") => "image/jpeg".to_string(),
        Some("png") => "image/png".to_string(),
        Some("webp") => "image/webp".to_string(),
        _ => photo.content_type.clone(),
    };
    // A photo's bytes never change (a retake is a new photo), but who may see
    // them does: the browser keeps them and asks each time (`no-cache`), so a
    // logout, another account on the same browser or a narrowed scope is
    // answered by the server, while a photo already seen costs a 304.
    let etag = format!("\"{}-{size}\"", photo.sha256);
    let seen = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*");
    let cache_headers = |hs: &mut axum::http::HeaderMap| {
        hs.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
        if let Ok(v) = HeaderValue::from_str(&etag) {
            hs.insert(header::ETAG, v);
        }
    };
    if seen && !photo.sha256.is_empty() {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        cache_headers(r.headers_mut());
        return Ok(r);
    }
    let (len, reader) =
        crate::photo_bytes::on_storage(&state, "opening a stored photo", move |s| s.open(&key))
            .await?;
    // Streamed: an original may be 25 MB, and many may be asked for at once.
    let mut r = axum::body::Body::from_stream(stream_reader(reader)).into_response();
    let hs = r.headers_mut();
    hs.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        hs.insert(header::CONTENT_TYPE, v);
    }
    cache_headers(hs);
    hs.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(r)
}

/// Chunks of a blocking reader, each read on the blocking pool when the client
/// asks for it: memory per response stays at one chunk, and a slow client
/// holds no blocking thread while it reads (500 slow downloads must not starve
/// the decodes and password checks that share that pool).
pub fn stream_reader(
    reader: Box<dyn std::io::Read + Send>,
) -> impl futures_util::Stream<Item = std::io::Result<axum::body::Bytes>> {
    const CHUNK: usize = 64 * 1024;
    futures_util::stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; CHUNK];
            let n = reader.read(&mut buf);
            (
                reader,
                n.map(|n| {
                    buf.truncate(n);
                    buf
                }),
            )
        })
        .await;
        match read {
            Ok((_, Ok(buf))) if buf.is_empty() => None,
            Ok((reader, Ok(buf))) => Some((Ok(buf.into()), Some(reader))),
            Ok((_, Err(e))) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    })
}
