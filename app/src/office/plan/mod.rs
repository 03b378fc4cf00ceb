//! The proposal page (its visits, the team's suggestions and the supervisor's
//! recommendation) and the year's plan: proposals by district, industry group and
//! funding source against the province's extension budget. Server-rendered from
//! the server functions in `console`; the recommendation is the plan's only input.

use crate::error::{ErrorBody, FnError};
use crate::field::client::use_client;
use crate::format::vnd;
use crate::i18n::{industry_label, t, use_locale, use_t, Lang, Locale};
use crate::model::Role;
use crate::money::{parse_amount, Amount};
use crate::office::error_text;
use crate::office::review::{AuditList, StateBadge};
use contract::{Plan, PlanCell, ProposalDetail, Recommendation, Totals};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use serde_json::Value;

/// The province's budget for the year and how much of it is recommended.
mod budget;
/// Bar charts of the plan, as inline SVG.
mod chart;
/// The plan's server functions and the types they carry (the store imports these).
pub mod contract;
/// The year's plan: tables by unit, industry and source, and the proposal list.
mod page;
/// One proposal: its visits, the team's suggestions, the recommendation.
mod proposal;

pub use page::PlanPage;
pub use proposal::ProposalPage;

/// The plan's year when the URL names none: the year of the demo data. Not the
/// clock's year, which the server and the browser may disagree on at New Year,
/// and the page must render the same on both.
pub const DEFAULT_YEAR: i32 = 2020;

/// Funding sources in the plan's column order; `pending` is a proposal without a
/// recommendation yet.
const SOURCES: [&str; 4] = ["provincial", "national", "not_supported", "pending"];

/// "150.000.000": an amount for an input box, without the currency sign.
fn grouped(amount: i64) -> String {
    vnd(amount).trim_end_matches(" ₫").to_string()
}

fn amount_invalid() -> ErrorBody {
    ErrorBody::new("amount.invalid", "the amount is not a number")
}

fn source_label(lang: Lang, source: &str) -> String {
    t(lang, &format!("plan.source.{source}"))
}

/// A support kind by its label; an unknown kind shows its code.
fn support_kind_label(lang: Lang, kind: &str) -> String {
    let key = format!("support_kind.{kind}");
    let label = t(lang, &key);
    if label == key {
        kind.to_string()
    } else {
        label
    }
}

fn error_banner(lang: Lang, body: &ErrorBody) -> AnyView {
    view! { <p class="error-banner" data-testid="review-error">{error_text(lang, body)}</p> }
        .into_any()
}
