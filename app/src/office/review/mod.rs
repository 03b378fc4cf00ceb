//! The supervisor's pages: the visit list with its filters, order, pages and
//! exports, and one visit with its answers rendered with the form version it was
//! filled in, beside its conflicts, what changed since a send-back, the distance
//! to the facility and the audit trail. Server-rendered from server functions
//! (the office is online); loaded by the browser as lazy chunks (`root.rs`).

use crate::error::{ErrorBody, FnError};
use crate::forms::{Field, FieldType, FormDefinition};
use crate::i18n::{industry_label, t, use_locale, use_t, Lang, Locale};
use crate::model::{ReviewState, VisitDetail, VisitSummary, INDUSTRIES};
use crate::office::admin::contract::AuditEntry;
use crate::office::error_text;
use crate::photos::PhotoRecord;
use contract::{ConflictView, VisitPage, VisitQuery, VisitReviewExtras, VisitSort};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::params::ParamsMap;
use leptos_router::NavigateOptions;
use serde_json::Value;
use std::collections::BTreeSet;

/// The audit trail as the office shows it (old → new).
mod audit;
/// Conflicting edits and the supervisor's choice between them.
mod conflicts;
/// The review's server functions and the types they carry (the store imports these).
pub mod contract;
/// One visit under review: answers, rows, location, history, decision.
mod detail;
/// The visit list: filters in the URL, counts per state, pages, exports.
mod list;

pub use audit::{
    action_text, audit_detail, audit_detail_in, entry_action_text, record_view, AuditList,
};
pub use detail::{distance_text, ReviewDetailPage};
pub use list::{ReviewListPage, StateBadge};

#[server(prefix = "/rpc", endpoint = "list_visits")]
pub async fn list_visits() -> Result<Vec<VisitSummary>, FnError> {
    use crate::model::Role;
    let (state, _) = crate::auth::session::require(&[Role::Supervisor]).await?;
    Ok(crate::store::visits::list_for_review(&state.db, 500).await?)
}

#[server(prefix = "/rpc", endpoint = "get_visit")]
pub async fn get_visit(id: String) -> Result<VisitDetail, FnError> {
    use crate::error::AppError;
    use crate::model::Role;
    let (state, _) = crate::auth::session::require(&[Role::Supervisor]).await?;
    let db = &state.db;
    let (visit, deleted) = crate::store::visits::record(&db.pool, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("visit".into()))?;
    if deleted {
        return Err(AppError::NotFound("visit".into()).into());
    }
    let form = crate::store::forms::get_by_key(
        &db.pool,
        &format!("{}@{}", visit.form_id, visit.form_version),
    )
    .await?
    .ok_or_else(|| {
        AppError::Internal(format!(
            "form {} v{} missing",
            visit.form_id, visit.form_version
        ))
    })?;
    let proposal = match &visit.proposal_id {
        Some(p) => crate::store::catalog::proposal_by_id(&db.pool, p).await?,
        None => None,
    };
    let facility = match &visit.facility_id {
        Some(f) => crate::store::catalog::facility_by_id(&db.pool, f).await?,
        None => None,
    };
    let inspector = crate::store::visits::inspector_name(db, &visit.owner_id).await?;
    Ok(VisitDetail {
        visit,
        form,
        proposal,
        facility,
        inspector,
    })
}

/// A supervisor's decision: send back (a comment is required, optionally about one
/// field), approve or reject. Checked against the visit's current state and,
/// with `seen_events`, against the review history the page showed.
#[server(prefix = "/rpc", endpoint = "decide_visit", input = Json)]
pub async fn decide_visit(
    id: String,
    to: crate::model::ReviewState,
    comment: Option<String>,
    field: Option<String>,
    #[server(default)] seen_events: Option<usize>,
) -> Result<(), FnError> {
    use crate::model::Role;
    let (state, caller) = crate::auth::session::require_caller(&[Role::Supervisor]).await?;
    crate::store::review::decide(
        &state.db,
        &caller.user,
        &id,
        to,
        comment.as_deref(),
        field.as_deref().filter(|f| !f.is_empty()),
        seen_events,
        caller.ip.map(|ip| ip.to_string()).as_deref(),
    )
    .await?;
    Ok(())
}

/// Review states in the order the counts show them: what waits for a decision first.
const STATES: [ReviewState; 5] = [
    ReviewState::Submitted,
    ReviewState::NeedsChanges,
    ReviewState::Approved,
    ReviewState::Rejected,
    ReviewState::InProgress,
];

#[cfg(test)]
mod tests;
