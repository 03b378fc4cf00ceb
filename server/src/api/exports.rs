//! `GET /api/exports/*`: the visit list and the plan as XLSX or CSV, and photos
//! as a ZIP. Supervisors only. Each file is built on disk and streamed back, so
//! memory stays flat whatever the size.
//!
//! One file (about 425 lines): every export's handler beside what they share
//! (the role, the query, the limits, the download link's check), so that a
//! check refuses exactly what its download would.

use crate::exports::{self, Csv, Sink};
use app::auth::session::Caller;
use app::error::{AppError, ErrorBody};
use app::model::Role;
use app::model::VisitSummary;
use app::office::review::contract::VisitQuery;
use app::state::AppState;
use app::store::photos::PhotoScope;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// Most visits one export takes; a larger one should be narrowed by filters.
pub const MAX_EXPORT_VISITS: i64 = 100_000;

/// Most photos in one ZIP (the classic format counts entries in 16 bits).
const MAX_ZIP_ENTRIES: usize = 65_000;
/// Largest photo ZIP: the classic format's offsets are 32 bits.
const MAX_ZIP_BYTES: i64 = 4_000_000_000;

/// Sent by the office's download links before the download itself: every
/// export (and the XLSForm download) answers 204 once it knows the request
/// would succeed, without making the file. Each was made twice, once for the
/// check and once for the download: a photo ZIP reads every original, up to
/// 4 GB, and 10,000 visits take a second of the server's time per XLSX.
pub const CHECK_HEADER: &str = "x-khaosat-check";

pub(crate) fn checking(headers: &axum::http::HeaderMap) -> bool {
    headers.get(CHECK_HEADER).is_some_and(|v| v == "1")
}

/// The answer to a download link's check: the file would be made.
pub(crate) fn would_be_made() -> Response {
    axum::http::StatusCode::NO_CONTENT.into_response()
}

pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const CSV: &str = "text/csv; charset=utf-8";
const ZIP: &str = "application/zip";

/// Streams a finished temporary file (already unlinked: it disappears when the
/// response is done).
pub(crate) fn file_response(
    file: std::fs::File,
    content_type: &'static str,
    name: &str,
) -> Response {
    let stream =
        tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::from_std(file), 64 * 1024);
    let mut r = Body::from_stream(stream).into_response();
    let hs = r.headers_mut();
    hs.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        hs.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// The query string, parsed only after the role check: a caller who may not
/// export learns nothing from a malformed query.
pub(crate) fn query<T: serde::de::DeserializeOwned>(uri: &Uri) -> Result<T, AppError> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|e| AppError::BadRequest(format!("the query is not valid: {}", e.body_text())))
}

/// The review list's query for an export: also refuses a parameter the list
/// does not have (a misspelt filter would otherwise export the whole list).
/// `VisitQuery` itself takes unknown fields, as the list's own URL may carry
/// them.
fn visit_query(uri: &Uri) -> Result<VisitQuery, AppError> {
    let parsed: VisitQuery = query(uri)?;
    let known = serde_json::to_value(VisitQuery::default())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or_default())
        .map_err(|e| AppError::BadRequest(format!("the query is not valid: {e}")))?;
    for (name, _) in pairs {
        if known.get(&name).is_none() {
            return Err(AppError::BadRequest(format!(
                "the query is not valid: unknown parameter `{name}`"
            )));
        }
    }
    Ok(parsed)
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(format!("export task failed: {e}")))?
}

/// The two spreadsheet formats of the visit list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
}

/// The visits the query matches, every page, written as a file. Pages are read
/// here and handed to a writer on the blocking pool (two pages in flight at
/// most): the spreadsheet encoding and the disk writes never hold an async
/// worker, and memory stays flat whatever the size.
pub async fn visits_file(
    db: &app::store::Db,
    user: &app::model::UserInfo,
    query: VisitQuery,
    format: Format,
) -> Result<std::fs::File, AppError> {
    let query = query.normalized();
    within_limit(db, user, &query).await?;
    let (pages, mut receive) = tokio::sync::mpsc::channel::<Vec<VisitSummary>>(2);
    let writer = tokio::task::spawn_blocking(move || -> Result<std::fs::File, AppError> {
        let mut write = |sink: &mut dyn Sink| -> Result<(), AppError> {
            sink.row(&exports::visit_header())?;
            while let Some(page) = receive.blocking_recv() {
                page.iter()
                    .try_for_each(|v| sink.row(&exports::visit_row(v)))?;
            }
            Ok(())
        };
        match format {
            Format::Csv => {
                let mut csv = Csv::new()?;
                write(&mut csv)?;
                csv.finish()
            }
            Format::Xlsx => {
                let mut book = exports::new_workbook();
                {
                    let mut sheet = exports::open_sheet(
                        &mut book,
                        &exports::text("sheet_visits"),
                        exports::VISIT_WIDTHS,
                    )?;
                    write(&mut sheet)?;
                }
                exports::save(book)
            }
        }
    });
    let fed = app::store::console::for_each_page(db, user, &query, |page| {
        let pages = pages.clone();
        async move {
            // A closed channel means the writer failed: its error is reported below.
            let _ = pages.send(page).await;
            Ok(())
        }
    })
    .await;
    drop(pages);
    let file = writer
        .await
        .map_err(|e| AppError::Internal(format!("export writer stopped: {e}")))??;
    fed?;
    Ok(file)
}

/// Refuses a query that matches more visits than one export takes.
async fn within_limit(
    db: &app::store::Db,
    user: &app::model::UserInfo,
    query: &VisitQuery,
) -> Result<(), AppError> {
    let total = app::store::console::count(db, user, query).await?;
    if total > MAX_EXPORT_VISITS {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "export.too_many",
                format!("{total} visits match; narrow the filters to at most {MAX_EXPORT_VISITS}"),
            )
            .with("limit", MAX_EXPORT_VISITS)
            .with("count", total),
        ));
    }
    Ok(())
}

async fn visits_export(
    state: AppState,
    caller: Caller,
    headers: axum::http::HeaderMap,
    uri: Uri,
    format: Format,
) -> Result<Response, AppError> {
    caller.require(&[Role::Supervisor])?;
    let query = visit_query(&uri)?;
    if checking(&headers) {
        within_limit(&state.db, &caller.user, &query.normalized()).await?;
        return Ok(would_be_made());
    }
    let file = visits_file(&state.db, &caller.user, query, format).await?;
    Ok(match format {
        Format::Xlsx => file_response(file, XLSX, "khaosat-phieu-khao-sat.xlsx"),
        Format::Csv => file_response(file, CSV, "khaosat-phieu-khao-sat.csv"),
    })
}

pub async fn visits_xlsx(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    visits_export(state, caller, headers, uri, Format::Xlsx).await
}

pub async fn visits_csv(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    visits_export(state, caller, headers, uri, Format::Csv).await
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    pub year: i32,
}

/// The plan's files are made for any year (a year without proposals gives
/// empty sheets): once the caller and the query pass, a check has its answer.
pub async fn plan_xlsx(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    // Whoever sees the plan on screen may take it away as a file.
    caller.require(&[Role::Supervisor, Role::Administrator])?;
    let q: YearQuery = query(&uri)?;
    if checking(&headers) {
        return Ok(would_be_made());
    }
    let plan = app::store::plan::plan(&state.db, &caller.user, q.year, false).await?;
    let former = match plan.has_former {
        true => Some(app::store::plan::plan(&state.db, &caller.user, q.year, true).await?),
        false => None,
    };
    let file = blocking(move || exports::plan_xlsx(&plan, former.as_ref())).await?;
    Ok(file_response(
        file,
        XLSX,
        &format!("khaosat-ke-hoach-{}.xlsx", q.year),
    ))
}

/// The plan's full breakdown (district × industry group × source) as CSV.
pub async fn plan_csv(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    // Whoever sees the plan on screen may take it away as a file.
    caller.require(&[Role::Supervisor, Role::Administrator])?;
    let q: YearQuery = query(&uri)?;
    if checking(&headers) {
        return Ok(would_be_made());
    }
    let plan = app::store::plan::plan(&state.db, &caller.user, q.year, false).await?;
    let file = blocking(move || {
        let mut csv = Csv::new()?;
        exports::plan_cells(&plan, &mut csv)?;
        csv.finish()
    })
    .await?;
    Ok(file_response(
        file,
        CSV,
        &format!("khaosat-ke-hoach-{}.csv", q.year),
    ))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhotoQuery {
    pub district: Option<String>,
    pub year: Option<i32>,
    pub proposal: Option<String>,
}

pub async fn photos_zip(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    caller.require(&[Role::Supervisor])?;
    let q: PhotoQuery = query(&uri)?;
    // Blank parameters (from form controls) count as absent.
    let blank = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let (scope, title, name) = match (blank(q.proposal), blank(q.district)) {
        (Some(id), None) => {
            let p = app::store::catalog::proposal_by_id(&state.db.pool, &id)
                .await?
                .ok_or_else(|| AppError::NotFound("proposal".into()))?;
            let tail: String = id
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(12)
                .collect();
            let name = format!("khaosat-anh-de-an-{tail}.zip");
            (PhotoScope::Proposal(id), p.title, name)
        }
        (None, Some(code)) => {
            // The plan names its rows by the year's tree; a bare code alone
            // means the oldest tree, where 2025's phường Bắc Giang (07210) is
            // 2020's phường Hoàng Văn Thụ.
            let code = match (q.year, code.contains('/')) {
                (Some(year), false) => match app::store::years::get(&state.db.pool, year).await? {
                    Some(y) => format!("{}/{code}", y.unit_tree),
                    None => code,
                },
                _ => code,
            };
            let unit = app::store::units::get(&state.db.pool, &code)
                .await?
                .ok_or_else(|| AppError::NotFound("district".into()))?;
            let safe: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
            let name = format!("khaosat-anh-{safe}.zip");
            (
                PhotoScope::District { code, year: q.year },
                unit.full_name(),
                name,
            )
        }
        // Well-formed, but a rule the query's schema cannot say: 422.
        _ => {
            return Err(AppError::Invalid(ErrorBody::new(
                "export.scope_required",
                "give either proposal=<id> or district=<code> (with an optional year)",
            )))
        }
    };
    let photos = app::store::photos::for_export(&state.db, &scope).await?;
    zip_of(&state, title, photos, &name, checking(&headers)).await
}

/// The photos of every visit in the review list as filtered (the visits
/// export's query): what a supervisor takes away from the list, including
/// visits to facilities found on site, which no proposal or plan row holds.
pub async fn visit_photos_zip(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    caller.require(&[Role::Supervisor])?;
    // Read as the list's own export reads it: a blank filter is no filter.
    let query = visit_query(&uri)?.normalized();
    let ids = app::store::console::matching_ids(&state.db, &caller.user, &query).await?;
    let scope = PhotoScope::Visits(ids);
    let photos = app::store::photos::for_export(&state.db, &scope).await?;
    zip_of(
        &state,
        exports::text("photos_of_list"),
        photos,
        "khaosat-anh-phieu-khao-sat.zip",
        checking(&headers),
    )
    .await
}

async fn zip_of(
    state: &AppState,
    title: String,
    photos: Vec<app::store::photos::ExportPhoto>,
    name: &str,
    check: bool,
) -> Result<Response, AppError> {
    // The ZIP has no ZIP64 records: refuse up front what would not fit rather
    // than fail after reading gigabytes.
    let held = photos.iter().filter(|p| p.has_original());
    let (count, bytes) = held.fold((0, 0i64), |(n, b), p| (n + 1, b + p.size + 1024));
    if count >= MAX_ZIP_ENTRIES || bytes >= MAX_ZIP_BYTES {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "export.too_large",
                format!(
                    "{} photos ({} MB) do not fit one ZIP; export one proposal or one year at a time",
                    count,
                    bytes / 1_000_000
                ),
            )
            .with("count", count as i64),
        ));
    }
    if check {
        return Ok(would_be_made());
    }
    // Held by the writing itself, which goes on when the download is dropped.
    let permit = state
        .runtime
        .photo_zips
        .clone()
        .try_acquire_owned()
        .map_err(|_| AppError::Busy {
            what: "other photo downloads",
            retry_after_s: 60,
        })?;
    let storage = state.photos.storage.clone();
    let file = blocking(move || {
        let _permit = permit;
        exports::photos_zip(storage.as_ref(), &title, &photos)
    })
    .await?;
    Ok(file_response(file, ZIP, name))
}
