//! `/api/registry/*`: the registry of facilities and proposals for the office:
//! the intake template and the intake itself (preview, then commit).

use super::exports::{blocking, checking, file_response, would_be_made, XLSX};
use app::auth::session::Caller;
use app::error::{AppError, ErrorBody};
use app::model::Role;
use app::office::registry::intake::{intake as run_intake, IntakeError, IntakeReport};
use app::office::registry::rows::MAX_INTAKE_BYTES;
use app::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

/// The intake template (XLSX) whose headers are the columns the intake reads.
pub async fn template(caller: Caller, headers: HeaderMap) -> Result<Response, AppError> {
    caller.require(&[Role::Supervisor, Role::Administrator])?;
    // The download link's check before the download: answered, not made.
    if checking(&headers) {
        return Ok(would_be_made());
    }
    let file = blocking(crate::templates::registry_template).await?;
    Ok(file_response(file, XLSX, "khaosat-mau-dang-ky.xlsx"))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeQuery {
    /// Apply the file (all of it, or nothing when any row has a problem);
    /// absent or false: only the preview.
    #[serde(default)]
    pub commit: bool,
}

/// An intake file (XLSX, or CSV in UTF-8 or Windows-1258) as the raw body.
/// The preview answers 200 with every row's fate and every problem; a commit
/// of a file with problems is refused whole (422 `registry.file_refused`).
pub async fn intake(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    body: Body,
) -> Result<Json<IntakeReport>, AppError> {
    caller.require(&[Role::Supervisor, Role::Administrator])?;
    let q: IntakeQuery = super::exports::query(&uri)?;
    let bytes = crate::security::limits::read_body(body, MAX_INTAKE_BYTES, "intake file").await?;
    let report = match run_intake(&state.db, &caller.audit(), bytes.to_vec(), q.commit).await {
        Ok(report) => report,
        Err(IntakeError::Failed(e)) => return Err(e),
        Err(IntakeError::Unreadable(p)) => {
            let mut body = ErrorBody::new(&p.code, "the file cannot be read as a table");
            for (k, v) in p.params {
                body = body.with(&k, v);
            }
            return Err(AppError::Invalid(body));
        }
    };
    if q.commit && !report.committed {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "registry.file_refused",
                format!(
                    "the file has {} problems; nothing was stored. Preview it to see them",
                    report.problems.len()
                ),
            )
            .with("count", report.problems.len())
            .with(
                "problems",
                serde_json::to_value(&report.problems).unwrap_or_default(),
            ),
        ));
    }
    Ok(Json(report))
}

/// A year's registry as the intake template (a round trip: importing the
/// file again changes nothing).
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    caller.require(&[Role::Supervisor, Role::Administrator])?;
    let q: super::exports::YearQuery = super::exports::query(&uri)?;
    if checking(&headers) {
        return Ok(would_be_made());
    }
    let rows = app::store::registry::export_rows(&state.db, q.year).await?;
    let file = blocking(move || crate::templates::registry_export(&rows)).await?;
    Ok(file_response(
        file,
        XLSX,
        &format!("khaosat-danh-muc-{}.xlsx", q.year),
    ))
}
