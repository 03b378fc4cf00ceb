//! Survey rounds (years): what an administrator opens and closes, the server
//! functions for it, and the section of the admin screen. The SQL is in
//! `store::years`.

use crate::error::FnError;
use crate::model::VisitSummary;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// The admin screen's section.
mod screen;
pub use screen::YearsSection;

/// A survey year as the office sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct SurveyYear {
    pub year: i32,
    /// The unit tree its proposals are registered on.
    pub unit_tree: String,
    /// The form version phones start its visits on.
    pub form_id: String,
    pub form_version: i32,
    pub open: bool,
    pub opened_at_ms: i64,
    pub closed_at_ms: Option<i64>,
}

/// What opening a year takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct YearOpening {
    pub year: i32,
    pub unit_tree: String,
    pub form_id: String,
    pub form_version: i32,
}

/// Closing a year with unfinished visits asks first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CloseOutcome {
    Closed,
    /// Still open: these visits are in progress, submitted or sent back.
    /// Close again with `confirm` to close anyway.
    Unfinished {
        visits: Vec<VisitSummary>,
    },
}

/// Everything the years section needs: the years, the loaded unit trees and
/// the published form versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearsOverview {
    pub years: Vec<SurveyYear>,
    pub trees: Vec<String>,
    pub forms: Vec<(String, i32)>,
}

#[server(prefix = "/rpc", endpoint = "list_years", input = Json)]
pub async fn list_years() -> Result<YearsOverview, FnError> {
    let (state, _) = crate::auth::session::require_caller(&[
        crate::model::Role::Supervisor,
        crate::model::Role::Administrator,
    ])
    .await?;
    let db = &state.db;
    Ok(YearsOverview {
        years: crate::store::years::list(db).await?,
        trees: crate::store::units::trees(db)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect(),
        forms: crate::store::forms::list(db)
            .await?
            .into_iter()
            .map(|f| (f.id, f.version))
            .collect(),
    })
}

#[server(prefix = "/rpc", endpoint = "open_year", input = Json)]
pub async fn open_year(request: YearOpening) -> Result<SurveyYear, FnError> {
    let (state, caller) =
        crate::auth::session::require_caller(&[crate::model::Role::Administrator]).await?;
    Ok(crate::store::years::open(&state.db, &caller.audit(), &request).await?)
}

#[server(prefix = "/rpc", endpoint = "close_year", input = Json)]
pub async fn close_year(year: i32, confirm: bool) -> Result<CloseOutcome, FnError> {
    let (state, caller) =
        crate::auth::session::require_caller(&[crate::model::Role::Administrator]).await?;
    Ok(crate::store::years::close(&state.db, &caller.audit(), year, confirm).await?)
}
