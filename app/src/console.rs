//! The supervisor's console as data: the visit list query and its page, conflicts
//! side by side, what changed since a send-back, the recommendation on a proposal
//! and the year's plan. Shared by the server functions below, the REST exports and
//! the pages in `review` and `plan`.
//!
//! One file (607 lines): the office's contract types and their server functions, which issue 16 moves into each office capability's folder (review, plan).

use crate::error::FnError;
use crate::model::{Facility, Proposal, ReviewState, VisitSummary};
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
    pub audit: Vec<crate::accounts::AuditEntry>,
}

/// The supervisor's decision on a proposal, the only input to the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    /// Kinh phí khuyến công địa phương (the province's own budget).
    Provincial,
    /// Đề nghị kinh phí khuyến công quốc gia.
    National,
    NotSupported,
}

impl Recommendation {
    pub const ALL: [Recommendation; 3] = [
        Recommendation::Provincial,
        Recommendation::National,
        Recommendation::NotSupported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Recommendation::Provincial => "provincial",
            Recommendation::National => "national",
            Recommendation::NotSupported => "not_supported",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A recommendation as stored: the decision, amount (integer đồng) and rationale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct RecommendationRecord {
    pub recommendation: Recommendation,
    pub amount: i64,
    pub rationale: Option<String>,
    pub by: Option<String>,
    pub at_ms: Option<i64>,
}

/// A visit of a proposal as the proposal page lists it, with the team's suggestion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ProposalVisit {
    pub summary: VisitSummary,
    /// `team_suggestion` answer: provincial / national / not_supported.
    pub team_suggestion: Option<String>,
    pub suggested_amount: Option<i64>,
}

/// Everything the proposal page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalDetail {
    pub proposal: Proposal,
    /// False once the office deactivated it (phones no longer hold it).
    #[serde(default = "yes")]
    pub active: bool,
    pub facility: Option<Facility>,
    pub district_name: Option<String>,
    pub visits: Vec<ProposalVisit>,
    pub recommendation: Option<RecommendationRecord>,
    pub audit: Vec<crate::accounts::AuditEntry>,
}

fn yes() -> bool {
    true
}

/// A proposal line of the plan's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct PlanProposal {
    pub id: String,
    pub title: String,
    pub facility_name: String,
    pub district_code: String,
    pub district_name: String,
    pub industry_group: String,
    pub requested_amount: i64,
    /// `provincial`, `national`, `not_supported`, or `pending` (no decision yet).
    pub source: String,
    pub recommended_amount: i64,
}

/// One cell of the plan: proposals of a district and industry group with one
/// funding source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct PlanCell {
    pub district_code: String,
    pub district_name: String,
    pub industry_group: String,
    pub source: String,
    pub count: i64,
    pub requested: i64,
    pub recommended: i64,
}

/// The year's plan: the cells, the proposals behind them, totals and the budget.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Plan {
    pub year: i32,
    /// What `district_code`/`district_name` of the cells and proposals name:
    /// `district` (trees with districts), `commune` (trees without), or
    /// `former_district` (the districts of an older tree, through the mapping).
    #[serde(default)]
    pub grouped_by: String,
    /// Whether the year's tree has an older tree mapped into it, so the plan
    /// can also be grouped by former district.
    #[serde(default)]
    pub has_former: bool,
    pub cells: Vec<PlanCell>,
    pub proposals: Vec<PlanProposal>,
    /// The province's extension budget for the year (integer đồng), if set.
    pub budget: Option<i64>,
}

/// Count, requested and recommended amounts of a set of plan cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    pub count: i64,
    pub requested: i64,
    pub recommended: i64,
}

impl Plan {
    /// Totals of the cells `keep` accepts.
    pub fn totals(&self, keep: impl Fn(&PlanCell) -> bool) -> Totals {
        self.cells
            .iter()
            .filter(|c| keep(c))
            .fold(Totals::default(), |t, c| Totals {
                count: t.count + c.count,
                requested: t.requested + c.requested,
                recommended: t.recommended + c.recommended,
            })
    }

    /// Recommended for provincial funding: what the province's budget pays.
    pub fn provincial_total(&self) -> i64 {
        self.totals(|c| c.source == "provincial").recommended
    }

    /// Districts in the plan, in code order, with their names.
    pub fn districts(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .cells
            .iter()
            .map(|c| (c.district_code.clone(), c.district_name.clone()))
            .collect();
        out.sort();
        out.dedup();
        out
    }
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
    Ok(crate::store::console::extras(&state.db, &user, &id).await?)
}

/// The supervisor's value for a conflicted field: an ordinary change that syncs
/// to the phones.
#[server(prefix = "/rpc", endpoint = "resolve_conflict", input = Json)]
pub async fn resolve_conflict(id: i64, value: serde_json::Value) -> Result<(), FnError> {
    use crate::model::Role;
    let (state, caller) = crate::auth::session::require_caller(&[Role::Supervisor]).await?;
    crate::store::conflicts::resolve(
        &state.db,
        &caller.user,
        id,
        &value,
        caller.ip.map(|ip| ip.to_string()).as_deref(),
    )
    .await?;
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "get_proposal")]
pub async fn get_proposal(id: String) -> Result<ProposalDetail, FnError> {
    use crate::model::Role;
    let (state, user) = crate::auth::session::require(&[Role::Supervisor]).await?;
    Ok(crate::store::plan::proposal_detail(&state.db, &user, &id).await?)
}

/// Records the supervisor's recommendation. `amount` is JSON as typed so that a
/// fraction of a đồng gets its own message rather than a parse failure.
#[server(prefix = "/rpc", endpoint = "recommend", input = Json)]
pub async fn recommend(
    id: String,
    recommendation: Recommendation,
    amount: Option<serde_json::Value>,
    rationale: Option<String>,
) -> Result<(), FnError> {
    use crate::model::Role;
    let (state, caller) = crate::auth::session::require_caller(&[Role::Supervisor]).await?;
    crate::store::plan::recommend(
        &state.db,
        &caller.user,
        &id,
        recommendation,
        amount.as_ref(),
        rationale.as_deref(),
        caller.ip.map(|ip| ip.to_string()).as_deref(),
    )
    .await?;
    Ok(())
}

/// `by`: absent for the year's own units, `former_district` to group a year
/// on a newer tree by the districts of the older one.
#[server(prefix = "/rpc", endpoint = "get_plan")]
pub async fn get_plan(year: i32, by: Option<String>) -> Result<Plan, FnError> {
    use crate::model::Role;
    // Administrators read it too: they set the budget on this page.
    let (state, user) =
        crate::auth::session::require(&[Role::Supervisor, Role::Administrator]).await?;
    let former = match by.as_deref() {
        None | Some("") | Some("unit") => false,
        Some("former_district") => true,
        Some(other) => {
            return Err(crate::error::AppError::Invalid(
                crate::error::ErrorBody::new(
                    "plan.bad_grouping",
                    format!("group by unit or former_district, not {other}"),
                )
                .with("value", other.to_string()),
            )
            .into())
        }
    };
    Ok(crate::store::plan::plan(&state.db, &user, year, former).await?)
}

/// An administrator sets the province's extension budget for a year.
#[server(prefix = "/rpc", endpoint = "set_budget", input = Json)]
pub async fn set_budget(year: i32, amount: serde_json::Value) -> Result<(), FnError> {
    use crate::model::Role;
    let (state, caller) = crate::auth::session::require_caller(&[Role::Administrator]).await?;
    crate::store::plan::set_budget(
        &state.db,
        &caller.user,
        year,
        &amount,
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

    #[test]
    fn plan_totals_add_up_by_source() {
        let cell = |d: &str, s: &str, n: i64, amount: i64| PlanCell {
            district_code: d.into(),
            district_name: d.into(),
            industry_group: "mechanical".into(),
            source: s.into(),
            count: n,
            requested: amount * 2,
            recommended: amount,
        };
        let plan = Plan {
            year: 2020,
            grouped_by: "district".into(),
            has_former: false,
            cells: vec![
                cell("213", "provincial", 2, 300),
                cell("213", "national", 1, 1000),
                cell("215", "provincial", 1, 50),
                cell("215", "pending", 3, 0),
            ],
            proposals: vec![],
            budget: Some(1000),
        };
        assert_eq!(plan.provincial_total(), 350);
        assert_eq!(plan.totals(|c| c.district_code == "215").count, 4);
        assert_eq!(plan.totals(|_| true).requested, 2700);
        assert_eq!(plan.districts().len(), 2);
    }
}
