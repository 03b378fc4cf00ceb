//! What the registry's pages and the store share: the office's register of
//! facilities (find one by name, owner, address, tax code or place, across
//! unit trees; register one, edit it, deactivate it, register a proposal at
//! it) and the edit or deactivation of one proposal. Edits go through the same field-level
//! merge as the phones' edits, so an office change and a phone's offline edit
//! of the same field meet as a kept conflict, never a silent overwrite.

use crate::error::FnError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// A facility as the office creates or edits it. `unit` is the commune (or,
/// in a tree whose communes are not loaded, the district) as "tree/code";
/// the tree of an existing facility never changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct FacilityDraft {
    /// Absent: register a new facility.
    pub id: Option<String>,
    pub name: String,
    pub owner_name: String,
    pub address: String,
    pub unit: String,
    pub industry_group: String,
    pub phone: String,
    pub tax_code: String,
    pub main_products: String,
    /// An edit's form as it opened, and the facility's versions then. A
    /// field left as shown is not written (a phone's edit synced meanwhile
    /// stands); a field changed goes with the version shown, so a concurrent
    /// edit of it is kept as a conflict, never overwritten unseen. Absent:
    /// each field is compared with what is stored now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown: Option<Shown>,
}

/// What an edit's form showed when it opened (`FacilityDraft::shown`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Shown {
    pub name: String,
    pub owner_name: String,
    pub address: String,
    pub unit: String,
    pub industry_group: String,
    pub phone: String,
    pub tax_code: String,
    pub main_products: String,
    #[serde(default)]
    pub versions: std::collections::BTreeMap<String, i64>,
}

/// One facility in the office's register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct FacilityEntry {
    pub facility: crate::model::Facility,
    pub tax_code: Option<String>,
    /// "Phường Bắc Giang, Tỉnh Bắc Ninh": the facility's place in its tree.
    pub place: String,
    /// The tree's unit key of its commune or district ("tree/code").
    pub unit: String,
    pub active: bool,
    /// Registered in the field by an inspector (not by the office).
    pub found_on_site: bool,
}

/// A facility's page in the register: the facility and its proposals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct FacilityDetail {
    pub entry: FacilityEntry,
    pub proposals: Vec<ProposalLine>,
    /// Fields an office edit and a phone's offline edit (or two phones)
    /// changed at once, not decided yet.
    #[serde(default)]
    pub conflicts: Vec<crate::office::review::contract::ConflictView>,
}

/// A proposal as a facility's page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ProposalLine {
    pub id: String,
    pub year: i32,
    pub title: String,
    pub support_kind: String,
    pub requested_amount: i64,
    pub status: String,
    pub active: bool,
}

/// A proposal registered at a facility from the office. `unit` (the commune
/// as "tree/code" in the year's tree) may be left empty when the facility's
/// own commune, or the one its commune maps to, is in the year's tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct NewProposal {
    pub facility_id: String,
    pub year: i32,
    pub unit: String,
    pub title: String,
    pub support_kind: String,
    /// A number or "1.500.000"; a fraction of a đồng is refused.
    pub requested_amount: serde_json::Value,
}

/// How many facilities the register shows for a search. The search returns
/// one more when there are more, so the page can say the list is cut.
pub const MAX_FOUND: usize = 100;

#[cfg(feature = "ssr")]
async fn office() -> Result<(crate::state::AppState, crate::auth::session::Caller), FnError> {
    crate::auth::session::require_caller(&[
        crate::model::Role::Supervisor,
        crate::model::Role::Administrator,
    ])
    .await
    .map_err(FnError::from)
}

/// Facilities whose name, owner, address or tax code holds every word of
/// `query`, or whose place is named by it (in any tree: the 2025 "Bắc Giang"
/// finds the 2020 wards merged into it); inactive ones too when asked. In
/// Vietnamese order, at most `MAX_FOUND` + 1: the last says there are more.
#[server(prefix = "/rpc", endpoint = "find_facilities", input = Json)]
pub async fn find_facilities(query: String, inactive: bool) -> Result<Vec<FacilityEntry>, FnError> {
    let (state, _) = office().await?;
    Ok(crate::store::facilities::find(&state.db, &query, inactive, MAX_FOUND + 1).await?)
}

#[server(prefix = "/rpc", endpoint = "get_facility", input = Json)]
pub async fn get_facility(id: String) -> Result<FacilityDetail, FnError> {
    let (state, _) = office().await?;
    Ok(crate::store::facilities::detail(&state.db, &id).await?)
}

/// Registers a facility or saves an edit; returns its ID.
#[server(prefix = "/rpc", endpoint = "save_facility", input = Json)]
pub async fn save_facility(draft: FacilityDraft) -> Result<String, FnError> {
    let (state, caller) = office().await?;
    Ok(crate::store::facilities::save(&state.db, &caller.user, &caller.audit(), &draft).await?)
}

/// Deactivates a facility (phones drop it; its history stays) or brings it back.
#[server(prefix = "/rpc", endpoint = "set_facility_active", input = Json)]
pub async fn set_facility_active(id: String, active: bool) -> Result<(), FnError> {
    let (state, caller) = office().await?;
    Ok(crate::store::facilities::set_active(&state.db, &caller.audit(), &id, active).await?)
}

/// Registers a proposal at a facility in an open year; returns its ID.
#[server(prefix = "/rpc", endpoint = "create_proposal", input = Json)]
pub async fn create_proposal(proposal: NewProposal) -> Result<String, FnError> {
    let (state, caller) = office().await?;
    Ok(crate::store::facilities::create_proposal(&state.db, &caller.audit(), &proposal).await?)
}

/// The units a facility may be placed in: every loaded tree's districts and
/// communes (the screen offers those of the tree it works in).
#[server(prefix = "/rpc", endpoint = "registry_units")]
pub async fn registry_units() -> Result<Vec<crate::model::AdminUnit>, FnError> {
    let (state, _) = office().await?;
    Ok(crate::store::units::all(&state.db).await?)
}

/// Kinds of support a proposal asks for (`support_kind.<value>` labels).
pub const SUPPORT_KINDS: [&str; 6] = [
    "machinery",
    "demonstration_model",
    "training",
    "trade_promotion",
    "consulting",
    "other",
];

/// What the office may change on a proposal. The amount is as typed (a
/// number or "1.500.000"); a fraction of a đồng is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ProposalEdit {
    pub id: String,
    pub title: String,
    pub support_kind: String,
    pub requested_amount: serde_json::Value,
    /// A new place ("tree/code" in the proposal's year's tree), only for a
    /// proposal left away from its facility after the facility moved (the
    /// proposal page offers `ProposalDetail::place_choices`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The title, kind and amount the page showed: when another person has
    /// changed any of them since, the save is refused (409 `proposal.changed`)
    /// rather than putting the page's old values back. Absent: not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<ProposalSeen>,
}

/// What a proposal's edit panel showed when it was opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ProposalSeen {
    pub title: String,
    pub support_kind: String,
    pub requested_amount: i64,
}

#[server(prefix = "/rpc", endpoint = "update_proposal", input = Json)]
pub async fn update_proposal(edit: ProposalEdit) -> Result<(), FnError> {
    let (state, caller) = crate::auth::session::require_caller(&[
        crate::model::Role::Supervisor,
        crate::model::Role::Administrator,
    ])
    .await?;
    Ok(crate::store::registry::update_proposal(&state.db, &caller.audit(), &edit).await?)
}

#[server(prefix = "/rpc", endpoint = "set_proposal_active", input = Json)]
pub async fn set_proposal_active(id: String, active: bool) -> Result<(), FnError> {
    let (state, caller) = crate::auth::session::require_caller(&[
        crate::model::Role::Supervisor,
        crate::model::Role::Administrator,
    ])
    .await?;
    Ok(
        crate::store::registry::set_proposal_active(&state.db, &caller.audit(), &id, active)
            .await?,
    )
}
