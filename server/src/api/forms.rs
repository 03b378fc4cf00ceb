//! `/api/forms/*`: forms as XLSForm spreadsheets. An administrator uploads a
//! workbook and gets the converted definition back to preview (publishing
//! is `publish_form`, with the same rules as a JSON definition); every
//! published version downloads as a workbook that imports to itself.

use app::auth::session::Caller;
use app::error::{AppError, ErrorBody};
use app::model::Role;
use app::office::admin::xlsform::{self, Imported, MAX_XLSFORM_BYTES};
use app::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

/// Converts an uploaded XLSForm (the raw `.xlsx` body). Nothing is stored: a
/// file with problems is refused with 422 `forms.xlsform_refused` and every
/// problem (sheet, row, column, the sentence in both languages) in
/// `params.problems`.
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<Json<Imported>, AppError> {
    caller.require(&[Role::Administrator])?;
    let bytes = crate::security::limits::read_body(body, MAX_XLSFORM_BYTES, "XLSForm").await?;
    let published = app::store::forms::list(&state.db).await?;
    let next = move |id: &str| app::store::forms::next_version(&published, id);
    // Reading a workbook is CPU work: off the async threads.
    let converted = tokio::task::spawn_blocking(move || xlsform::import(&bytes, next))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    converted.map(Json).map_err(refused)
}

pub fn refused(problems: Vec<xlsform::Problem>) -> AppError {
    AppError::Invalid(
        ErrorBody::new(
            "forms.xlsform_refused",
            format!(
                "the XLSForm has {} problem(s); nothing was stored",
                problems.len()
            ),
        )
        .with("count", problems.len())
        .with(
            "problems",
            serde_json::to_value(&problems).unwrap_or_default(),
        ),
    )
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormQuery {
    /// The form's id, e.g. `khuyen-cong`.
    pub form_id: String,
    /// A published version of it.
    pub version: i64,
}

/// A published version as an XLSForm workbook.
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    caller.require(&[Role::Administrator])?;
    let q: FormQuery = super::exports::query(&uri)?;
    let form = app::store::forms::get(&state.db.pool, &q.form_id, q.version)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("form {} version {}", q.form_id, q.version)))?;
    if super::exports::checking(&headers) {
        return Ok(super::exports::would_be_made());
    }
    let bytes = tokio::task::spawn_blocking(move || xlsform::export(&form))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(AppError::Internal)?;
    let safe: String = q
        .form_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut r = bytes.into_response();
    let hs = r.headers_mut();
    hs.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(super::exports::XLSX),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{safe}-v{}.xlsx\"",
        q.version
    )) {
        hs.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
