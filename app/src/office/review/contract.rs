//! The review's contract: the visit list query and its page, conflicts side
//! by side, what changed since a send-back, and the extra facts beside a visit,
//! with their server functions. Shared by the pages in this folder, the REST
//! exports and the store (which imports these types, never a view).

use crate::error::FnError;
use crate::model::{ReviewState, VisitSummary};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most visits on one page of the list.
pub const MAX_PER_PAGE: u32 = 200;
/// Default page size of the list.
pub const PER_PAGE: u32 = 50;
/// Beyond this distance between where the visit was recorded and the facility's
/// registered position, the detail page warns (a GPS fix in a village is good to
/// tens of metres; a different hamlet is kilometres away).
pub const DISTANCE_WARNING_M: f64 = 500.0;

/// How the list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum VisitSort {
    #[default]
    Received,
    Proposal,
    District,
    Inspector,
    State,
}

impl VisitSort {
    pub const ALL: [VisitSort; 5] = [
        VisitSort::Received,
        VisitSort::Proposal,
        VisitSort::District,
        VisitSort::Inspector,
        VisitSort::State,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VisitSort::Received => "received",
            VisitSort::Proposal => "proposal",
            VisitSort::District => "district",
            VisitSort::Inspector => "inspector",
            VisitSort::State => "state",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The filters, order and page of the supervisor's visit list. Every filter is
/// optional; empty strings count as absent (they come from form controls). The
/// default order is newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct VisitQuery {
    /// District code: the visit's district.
    pub district: Option<String>,
    /// Commune code: the facility's commune.
    pub commune: Option<String>,
    /// Industry group of the facility (`mechanical`, …).
    pub industry: Option<String>,
    /// Inspector's user ID.
    pub inspector: Option<String>,
    /// Received on or after this day (`YYYY-MM-DD`, Vietnam time).
    pub from: Option<String>,
    /// Received on or before this day (`YYYY-MM-DD`, Vietnam time).
    pub to: Option<String>,
    pub state: Option<ReviewState>,
    pub has_photos: Option<bool>,
    pub has_conflicts: Option<bool>,
    /// Diacritic-insensitive words matched against proposal, facility and district.
    pub q: Option<String>,
    pub sort: VisitSort,
    pub desc: bool,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Default for VisitQuery {
    fn default() -> Self {
        VisitQuery {
            district: None,
            commune: None,
            industry: None,
            inspector: None,
            from: None,
            to: None,
            state: None,
            has_photos: None,
            has_conflicts: None,
            q: None,
            sort: VisitSort::Received,
            desc: true,
            page: 1,
            per_page: PER_PAGE,
        }
    }
}

impl VisitQuery {
    /// The query with blank strings dropped and the page clamped.
    pub fn normalized(mut self) -> Self {
        for f in [
            &mut self.district,
            &mut self.commune,
            &mut self.industry,
            &mut self.inspector,
            &mut self.from,
            &mut self.to,
            &mut self.q,
        ] {
            if f.as_deref().is_some_and(|s| s.trim().is_empty()) {
                *f = None;
            }
        }
        self.page = self.page.max(1);
        if self.per_page == 0 {
            self.per_page = PER_PAGE;
        }
        self.per_page = self.per_page.min(MAX_PER_PAGE);
        self
    }
}

/// One page of the list, the total that matched, and how many match per review
/// state (every filter applied except the state itself).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct VisitPage {
    pub items: Vec<VisitSummary>,
    pub total: i64,
    pub counts: BTreeMap<String, i64>,
    pub page: u32,
    pub per_page: u32,
}

/// What the filter controls offer: districts and communes in the caller's scope,
/// inspectors who have visits.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct FilterChoices {
    pub districts: Vec<crate::model::AdminUnit>,
    pub communes: Vec<crate::model::AdminUnit>,
    /// (user ID, display name).
    pub inspectors: Vec<(String, String)>,
}

/// A field two phones edited concurrently: the value both started from, the one
/// that lost (mine) and the one that is stored (theirs), with who and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ConflictView {
    pub id: i64,
    /// `visit` or `visit_row`.
    pub entity: String,
    pub record_id: String,
    pub field: String,
    pub base: Option<serde_json::Value>,
    pub mine: serde_json::Value,
    pub mine_by: String,
    pub mine_at_ms: i64,
    pub theirs: serde_json::Value,
    pub theirs_by: String,
    pub theirs_at_ms: i64,
    /// The field's version as listed: sent back with the choice, so an edit
    /// synced since is not overwritten unseen (`conflict.changed`).
    #[serde(default)]
    pub version: i64,
}

/// One answer changed since the visit was last sent back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ChangedField {
    pub field: String,
    pub before: Option<serde_json::Value>,
    pub after: serde_json::Value,
}

/// The extra facts the console shows beside a visit.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VisitReviewExtras {
    pub conflicts: Vec<ConflictView>,
    /// Answers changed since the last send-back (empty if never sent back).
    pub changed: Vec<ChangedField>,
    /// Photos added since the last send-back.
    pub new_photos: Vec<String>,
    /// Metres between the visit's GPS answer and the facility's registered position.
    pub distance_m: Option<f64>,
    pub audit: Vec<crate::office::admin::contract::AuditEntry>,
}

/// Great-circle distance in metres (haversine; good to a few metres at a
/// province's scale).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().atan2((1.0 - a).sqrt())
}

/// The `{lat, lon}` of a geopoint answer.
pub fn geopoint(value: &serde_json::Value) -> Option<(f64, f64)> {
    Some((value.get("lat")?.as_f64()?, value.get("lon")?.as_f64()?))
}

/// The query string the list page and the exports share.
pub fn query_string(q: &VisitQuery) -> String {
    let mut parts: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            parts.push((k.to_string(), v));
        }
    };
    put("district", q.district.clone());
    put("commune", q.commune.clone());
    put("industry", q.industry.clone());
    put("inspector", q.inspector.clone());
    put("from", q.from.clone());
    put("to", q.to.clone());
    put("state", q.state.map(|s| s.as_str().to_string()));
    put("has_photos", q.has_photos.map(|b| b.to_string()));
    put("has_conflicts", q.has_conflicts.map(|b| b.to_string()));
    put("q", q.q.clone());
    if q.sort != VisitSort::Received {
        put("sort", Some(q.sort.as_str().to_string()));
    }
    if !q.desc {
        put("desc", Some("false".into()));
    }
    parts
        .into_iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(&v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[server(prefix = "/rpc", endpoint = "search_visits", input = Json)]
pub async fn search_visits(query: VisitQuery) -> Result<VisitPage, FnError> {
    use crate::model::Role;
    let (state, user) = crate::auth::session::require(&[Role::Supervisor]).await?;
    Ok(crate::store::console::search(&state.db, &user, &query.normalized()).await?)
}

#[server(prefix = "/rpc", endpoint = "visit_filter_choices")]
pub async fn visit_filter_choices() -> Result<FilterChoices, FnError> {
    use crate::model::Role;
    let (state, user) = crate::auth::session::require(&[Role::Supervisor]).await?;
    Ok(crate::store::console::filter_choices(&state.db, &user).await?)
}

#[server(prefix = "/rpc", endpoint = "visit_extras")]
pub async fn visit_extras(id: String) -> Result<VisitReviewExtras, FnError> {
    use crate::model::Role;
    let (state, user) = crate::auth::session::require(&[Role::Supervisor]).await?;
    Ok(crate::store::extras::extras(&state.db, &user, &id).await?)
}

/// The supervisor's value for a conflicted field: an ordinary change that syncs
/// to the phones.
#[server(prefix = "/rpc", endpoint = "resolve_conflict", input = Json)]
pub async fn resolve_conflict(
    id: i64,
    value: serde_json::Value,
    #[server(default)] seen_version: Option<i64>,
) -> Result<(), FnError> {
    use crate::model::Role;
    let (state, caller) = crate::auth::session::require_caller(&[Role::Supervisor]).await?;
    crate::store::conflicts::resolve(
        &state.db,
        &caller.user,
        id,
        &value,
        seen_version,
        caller.ip.map(|ip| ip.to_string()).as_deref(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_between_two_points_in_bac_giang_is_right_to_a_metre() {
        // Thành phố Bắc Giang to Lục Ngạn (Chũ): about 38.6 km.
        let d = distance_m(21.2731, 106.1946, 21.3720, 106.5420);
        assert!((d - 37_900.0).abs() < 1_500.0, "{d}");
        assert_eq!(distance_m(21.0, 106.0, 21.0, 106.0), 0.0);
        // 0.001° of latitude is about 111 m.
        let d = distance_m(21.0, 106.0, 21.001, 106.0);
        assert!((d - 111.2).abs() < 0.5, "{d}");
    }

    #[test]
    fn blank_filters_are_dropped_and_the_page_is_clamped() {
        let q = VisitQuery {
            district: Some(" ".into()),
            q: Some("".into()),
            inspector: Some("u1".into()),
            page: 0,
            per_page: 10_000,
            ..Default::default()
        }
        .normalized();
        assert_eq!(q.district, None);
        assert_eq!(q.q, None);
        assert_eq!(q.inspector.as_deref(), Some("u1"));
        assert_eq!((q.page, q.per_page), (1, MAX_PER_PAGE));
        assert_eq!(VisitQuery::default().normalized().per_page, PER_PAGE);
    }

    #[test]
    fn the_query_string_round_trips_words_with_diacritics() {
        let q = VisitQuery {
            q: Some("Hòa Phát & co".into()),
            state: Some(ReviewState::Submitted),
            has_photos: Some(true),
            sort: VisitSort::District,
            ..Default::default()
        };
        assert_eq!(
            query_string(&q),
            "state=submitted&has_photos=true&q=H%C3%B2a%20Ph%C3%A1t%20%26%20co&sort=district"
        );
    }
}
