//! `/api/units/*`: administrators load unit trees and the mappings between
//! them (the same checks as `khaosat units import`).

use app::auth::session::Caller;
use app::error::{AppError, ErrorBody};
use app::model::Role;
use app::office::units::file::MAX_UNIT_FILE_BYTES;
use app::office::units::import::{import_mapping, import_tree, ImportError};
use app::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// A tree: its name ("bac-ninh-2025") with `effective_from`.
    pub tree: Option<String>,
    /// The day the tree took effect, YYYY-MM-DD.
    pub effective_from: Option<String>,
    /// A mapping: the tree of its old codes, with `to`.
    pub from: Option<String>,
    /// A mapping: the tree of its new codes.
    pub to: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ImportResult {
    /// Units (a tree) or pairs (a mapping) in the file.
    pub rows: usize,
}

/// Loads a tree or a mapping file (CSV or XLSX, the raw body). A file with any
/// problem is refused whole: 422 `units.file_refused` with every problem by
/// row and column in `params.problems`, and nothing stored.
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    body: Body,
) -> Result<Json<ImportResult>, AppError> {
    caller.require(&[Role::Administrator])?;
    let q: ImportQuery = super::exports::query(&uri)?;
    let bytes = crate::security::limits::read_body(body, MAX_UNIT_FILE_BYTES, "unit file").await?;
    // What was loaded, by whom, from which file: a tree renames the plan's
    // rows, a mapping decides which inspectors see which facilities.
    let file = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(&bytes))
    };
    let (done, action, name, detail) = match (q.tree, q.from, q.to) {
        (Some(tree), None, None) => {
            let from = q.effective_from.unwrap_or_default();
            let done = import_tree(&state.db, &tree, &from, &bytes).await;
            let detail = serde_json::json!({"tree": tree, "effective_from": from, "sha256": file});
            (done, "units.tree_imported", tree, detail)
        }
        (None, Some(from), Some(to)) if q.effective_from.is_none() => {
            let done = import_mapping(&state.db, &from, &to, &bytes).await;
            let detail = serde_json::json!({"from": from, "to": to, "sha256": file});
            (
                done,
                "units.mapping_imported",
                format!("{from}>{to}"),
                detail,
            )
        }
        _ => {
            return Err(AppError::Invalid(ErrorBody::new(
                "units.import_target",
                "give tree and effective_from for a tree, or from and to for a mapping",
            )))
        }
    };
    match done {
        Ok(loaded) => {
            let mut detail = detail;
            detail["rows"] = loaded.rows.into();
            app::store::units::record_import(&state.db, &caller.audit(), action, &name, detail)
                .await?;
            Ok(Json(ImportResult { rows: loaded.rows }))
        }
        Err(ImportError::Failed(e)) => Err(e),
        Err(ImportError::Refused(problems)) => Err(AppError::Invalid(
            ErrorBody::new(
                "units.file_refused",
                format!(
                    "the file has {} problems; nothing was stored",
                    problems.len()
                ),
            )
            .with("count", problems.len())
            .with(
                "problems",
                serde_json::to_value(&problems).unwrap_or_default(),
            ),
        )),
    }
}
