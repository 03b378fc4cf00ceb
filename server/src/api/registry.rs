//! `/api/registry/*`: the registry of facilities and proposals for the office.
//! So far the intake template; the intake itself comes with the unit trees.

use super::exports::{blocking, file_response, XLSX};
use app::auth::session::Caller;
use app::error::AppError;
use app::model::Role;
use axum::response::Response;

/// The intake template (XLSX) whose headers are the columns the intake reads.
pub async fn template(caller: Caller) -> Result<Response, AppError> {
    caller.require(&[Role::Supervisor, Role::Administrator])?;
    let file = blocking(crate::templates::registry_template).await?;
    Ok(file_response(file, XLSX, "khaosat-mau-dang-ky.xlsx"))
}
