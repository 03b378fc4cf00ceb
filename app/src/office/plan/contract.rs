//! The plan's contract: the supervisor's recommendation on a proposal, the
//! proposal page and the year's plan with its totals, with their server
//! functions. Shared by the pages in this folder, the exports and the store.

use crate::error::FnError;
use crate::model::{Facility, Proposal, VisitSummary};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

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
    pub audit: Vec<crate::office::admin::contract::AuditEntry>,
    /// Where the office may place it, when a move of its facility left it
    /// away from it: ("tree/code", label). Empty otherwise.
    #[serde(default)]
    pub place_choices: Vec<(String, String)>,
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
                requested: t.requested.saturating_add(c.requested),
                recommended: t.recommended.saturating_add(c.recommended),
            })
    }

    /// Recommended for provincial funding: what the province's budget pays.
    pub fn provincial_total(&self) -> i64 {
        self.totals(|c| c.source == "provincial").recommended
    }

    /// Industry groups in the form's order, then any the form does not know:
    /// the page and the exported files list them alike.
    pub fn industries(&self) -> Vec<String> {
        let mut out: Vec<String> = crate::model::INDUSTRIES
            .iter()
            .filter(|g| self.cells.iter().any(|c| c.industry_group == **g))
            .map(|g| g.to_string())
            .collect();
        for c in &self.cells {
            if !out.contains(&c.industry_group) {
                out.push(c.industry_group.clone());
            }
        }
        out
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

/// The amount a plan shows for a source, and whether it is the requested
/// one: recommended where there is a recommendation (provincial, national),
/// else what was requested (not supported, no decision yet). The page and
/// the exported files show the same figures.
pub fn shown_amount(source: &str, totals: Totals) -> (i64, bool) {
    match source {
        "provincial" | "national" => (totals.recommended, false),
        _ => (totals.requested, true),
    }
}

#[server(prefix = "/rpc", endpoint = "get_proposal")]
pub async fn get_proposal(id: String) -> Result<ProposalDetail, FnError> {
    use crate::model::Role;
    let (state, user) = crate::auth::session::require(&[Role::Supervisor]).await?;
    Ok(crate::store::plan::proposal_detail(&state.db, &user, &id).await?)
}

/// Records the supervisor's recommendation. `amount` is JSON as typed so that a
/// fraction of a đồng gets its own message rather than a parse failure.
/// `seen_at_ms`: when the recommendation the page showed was made (0 for
/// none); one made since by someone else is not overwritten unseen
/// (`recommend.changed`). Without it, the current one is replaced.
#[server(prefix = "/rpc", endpoint = "recommend", input = Json)]
pub async fn recommend(
    id: String,
    recommendation: Recommendation,
    amount: Option<serde_json::Value>,
    rationale: Option<String>,
    #[server(default)] seen_at_ms: Option<i64>,
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
        seen_at_ms,
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
