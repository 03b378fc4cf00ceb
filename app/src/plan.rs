//! The proposal page (its visits, the team's suggestions and the supervisor's
//! recommendation) and the year's plan: proposals by district, industry group and
//! funding source against the province's extension budget. Server-rendered from
//! the server functions in `console`; the recommendation is the plan's only input.
//!
//! One file (935 lines): the plan and proposal pages share their labels and tables; issue 16 moves them into office/plan/ as separate views.

use crate::client::use_client;
use crate::console::{self, Plan, PlanCell, ProposalDetail, Recommendation, Totals};
use crate::error::{ErrorBody, FnError};
use crate::format::vnd;
use crate::i18n::{error_text, t, use_locale, use_t, Lang, Locale};
use crate::model::Role;
use crate::review::{industry_label, AuditList, StateBadge, INDUSTRIES};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use serde_json::Value;

/// The plan's year when the URL names none: the year of the demo data. Not the
/// clock's year, which the server and the browser may disagree on at New Year,
/// and the page must render the same on both.
pub const DEFAULT_YEAR: i32 = 2020;

/// Funding sources in the plan's column order; `pending` is a proposal without a
/// recommendation yet.
const SOURCES: [&str; 4] = ["provincial", "national", "not_supported", "pending"];

/// An amount as typed, read the Vietnamese way (see `parse_amount`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Whole(i64),
    /// A fraction of a đồng: sent as typed, so the server names the problem.
    Fraction(f64),
}

impl Amount {
    pub fn to_json(self) -> Value {
        match self {
            Amount::Whole(n) => Value::from(n),
            Amount::Fraction(x) => Value::from(x),
        }
    }
}

/// "150.000.000", "150,000,000" and "150 000 000" are whole đồng; a last group
/// that is not three digits long is a decimal part ("1500000,5"). `Ok(None)` for
/// a blank field, `Err(())` for anything that is not a number.
#[allow(clippy::result_unit_err)]
pub fn parse_amount(text: &str) -> Result<Option<Amount>, ()> {
    let text: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '₫')
        .collect();
    if text.is_empty() {
        return Ok(None);
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err(());
    }
    let groups: Vec<&str> = body.split(['.', ',']).collect();
    if groups.iter().any(|g| g.is_empty()) {
        return Err(());
    }
    let sign = if negative { -1 } else { 1 };
    let last = groups[groups.len() - 1];
    if groups.len() > 1 && last.len() != 3 {
        let whole = groups[..groups.len() - 1].concat();
        let value: f64 = format!("{whole}.{last}").parse().map_err(|_| ())?;
        return Ok(Some(Amount::Fraction(sign as f64 * value)));
    }
    let whole: i64 = groups.concat().parse().map_err(|_| ())?;
    Ok(Some(Amount::Whole(sign * whole)))
}

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

#[component]
pub fn ProposalPage() -> impl IntoView {
    let Locale(lang) = use_locale();
    let params = use_params_map();
    // Bumped after a recommendation is saved: the page loads again.
    let version = RwSignal::new(0u32);
    // Outside the page's content, so the message survives the reload it causes.
    let saved = RwSignal::new(false);
    let detail = Resource::new(
        move || (params.read().get("id").unwrap_or_default(), version.get()),
        |(id, _)| console::get_proposal(id),
    );
    view! {
        <Suspense fallback=|| view! { <crate::root::Loading/> }>
            {move || detail.get().map(|result| {
                let lang = lang.get();
                match result {
                    Err(FnError(body)) => error_banner(lang, &body),
                    Ok(p) => view! { <ProposalView p=p version=version saved=saved lang=lang/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProposalView(
    p: ProposalDetail,
    version: RwSignal<u32>,
    saved: RwSignal<bool>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let proposal = p.proposal.clone();
    let facility = p.facility.clone();
    let dash = || "—".to_string();
    let facility_facts = facility.as_ref().map(|f| {
        view! {
            <dt>{tr("plan.facility")}</dt>
            <dd data-testid="proposal-facility">{f.name.clone()}</dd>
            <dt>{tr("plan.address")}</dt>
            <dd>{f.address.clone().unwrap_or_else(dash)}</dd>
            <dt>{tr("plan.owner")}</dt>
            <dd>{f.owner_name.clone().unwrap_or_else(dash)}</dd>
            <dt>{tr("plan.industry")}</dt>
            <dd data-testid="proposal-industry">{industry_label(lang, &f.industry_group)}</dd>
        }
    });
    view! {
        <article class="console proposal-page" data-testid="proposal-detail" data-proposal-id=proposal.id.clone()>
            <h1>{proposal.title.clone()}</h1>
            <section class="fact-panel">
                <dl class="fact-list">
                    {facility_facts}
                    <dt>{tr("review.district")}</dt>
                    <dd data-testid="proposal-district">{p.district_name.clone().unwrap_or_else(|| proposal.registered_by().unwrap_or_default().to_string())}</dd>
                    <dt>{tr("plan.year")}</dt>
                    <dd>{proposal.year}</dd>
                    <dt>{tr("plan.support_kind")}</dt>
                    <dd data-testid="proposal-support-kind">{support_kind_label(lang, &proposal.support_kind)}</dd>
                    <dt>{tr("review.requested")}</dt>
                    <dd class="money" data-testid="proposal-requested">{vnd(proposal.requested_amount)}</dd>
                </dl>
            </section>
            <ProposalVisits visits=p.visits.clone() lang=lang/>
            <section class="recommendation" data-testid="recommendation">
                <h2>{tr("plan.recommendation")}</h2>
                {current_recommendation(&p, lang)}
                {move || saved.get().then(|| view! {
                    <p class="notice notice-success" role="status" data-testid="recommend-saved">{tr("plan.recommend_saved")}</p>
                })}
                <RecommendForm p=p.clone() version=version saved=saved lang=lang/>
            </section>
            <p class="export-links">
                <a class="btn btn-small btn-secondary" data-testid="export-proposal-photos" download
                    href=format!("/api/exports/photos.zip?proposal={}", proposal.id)>{tr("plan.export_photos")}</a>
            </p>
            <crate::office::registry::edit::ProposalEditPanel proposal=proposal.clone() active=p.active version=version/>
            <AuditList entries=p.audit.clone() testid="proposal-audit"/>
            <p class="back-links">
                <a href=format!("/plan?year={}", proposal.year) data-testid="plan-link-back">
                    {tr("plan.back_to_plan").replace("{year}", &proposal.year.to_string())}
                </a>
                " · "
                <a href="/review">{tr("review.back")}</a>
            </p>
        </article>
    }
}

/// The proposal's visits, each with the team's suggestion beside it.
#[component]
fn ProposalVisits(visits: Vec<console::ProposalVisit>, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    if visits.is_empty() {
        return view! { <p class="muted" data-testid="proposal-no-visits">{tr("plan.no_visits")}</p> }
            .into_any();
    }
    let rows = visits
        .into_iter()
        .map(|v| {
            let s = v.summary;
            let suggestion = v
                .team_suggestion
                .as_deref()
                .map(|x| source_label(lang, x))
                .unwrap_or_else(|| "—".into());
            view! {
                <tr data-testid="proposal-visit" data-visit-id=s.id.clone()>
                    <td><a href=format!("/review/visits/{}", s.id)>{crate::format::datetime_vn(s.received_at_ms)}</a></td>
                    <td>{s.inspector.clone()}</td>
                    <td><StateBadge state=s.review_state/></td>
                    <td data-testid="team-suggestion" data-source=v.team_suggestion.clone().unwrap_or_default()>{suggestion}</td>
                    <td class="money" data-testid="suggested-amount">{v.suggested_amount.map(vnd).unwrap_or_default()}</td>
                    <td class="num">{s.photos}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h2>{tr("plan.visits")}</h2>
        <div class="table-scroll">
            <table class="data-table" data-testid="proposal-visits">
                <thead>
                    <tr>
                        <th>{tr("review.received")}</th>
                        <th>{tr("review.inspector")}</th>
                        <th>{tr("review.state")}</th>
                        <th>{tr("plan.team_suggestion")}</th>
                        <th class="money">{tr("plan.suggested_amount")}</th>
                        <th class="num">{tr("review.photos")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

fn current_recommendation(p: &ProposalDetail, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    match &p.recommendation {
        None => view! {
            <p class="muted" data-testid="recommendation-current" data-source="pending">{tr("plan.no_recommendation")}</p>
        }
        .into_any(),
        Some(r) => {
            let source = r.recommendation.as_str();
            let by = match (&r.by, r.at_ms) {
                (Some(by), Some(at)) => format!("{by} · {}", crate::format::datetime_vn(at)),
                (Some(by), None) => by.clone(),
                (None, Some(at)) => crate::format::datetime_vn(at),
                (None, None) => String::new(),
            };
            view! {
                <div class="recommendation-current" data-testid="recommendation-current" data-source=source data-amount=r.amount>
                    <span class=format!("badge badge-source-{}", source.replace('_', "-"))>{source_label(lang, source)}</span>
                    " "
                    {(r.recommendation != Recommendation::NotSupported).then(|| view! {
                        <strong class="money">{vnd(r.amount)}</strong>
                    })}
                    {r.rationale.clone().filter(|s| !s.trim().is_empty()).map(|s| view! { <q>{s}</q> })}
                    <div class="muted">{by}</div>
                </div>
            }
            .into_any()
        }
    }
}

/// The recommendation form: source, amount in whole đồng, rationale. The server
/// checks the rules (a reason for more than requested or for no support, an
/// approved visit before any funding); the form only reads the amount.
#[component]
fn RecommendForm(
    p: ProposalDetail,
    version: RwSignal<u32>,
    saved: RwSignal<bool>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let id = p.proposal.id.clone();
    // Start from the current recommendation, else from a team's suggested source
    // (never its amount: that is the supervisor's to type).
    let (source0, amount0, rationale0) = match &p.recommendation {
        Some(r) => (
            r.recommendation,
            if r.recommendation != Recommendation::NotSupported || r.amount != 0 {
                grouped(r.amount)
            } else {
                String::new()
            },
            r.rationale.clone().unwrap_or_default(),
        ),
        None => (
            p.visits
                .iter()
                .rev()
                .find_map(|v| v.team_suggestion.as_deref().and_then(Recommendation::parse))
                .unwrap_or(Recommendation::Provincial),
            String::new(),
            String::new(),
        ),
    };
    let source = RwSignal::new(source0);
    let amount = RwSignal::new(amount0);
    let rationale = RwSignal::new(rationale0);
    let typed_error = RwSignal::new(None::<ErrorBody>);
    let submit = Action::new(
        move |input: &(Recommendation, Option<Value>, Option<String>)| {
            let (id, (recommendation, amount, rationale)) = (id.clone(), input.clone());
            async move {
                let result = console::recommend(id, recommendation, amount, rationale).await;
                if result.is_ok() {
                    saved.set(true);
                    version.update(|n| *n += 1);
                }
                result
            }
        },
    );
    let pending = submit.pending();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        saved.set(false);
        match parse_amount(&amount.get_untracked()) {
            Err(()) => typed_error.set(Some(amount_invalid())),
            Ok(value) => {
                typed_error.set(None);
                let text = rationale.get_untracked();
                let rationale = (!text.trim().is_empty()).then(|| text.trim().to_string());
                submit.dispatch((
                    source.get_untracked(),
                    value.map(Amount::to_json),
                    rationale,
                ));
            }
        }
    };
    view! {
        <form class="recommend-form form-section" data-testid="recommend-form" on:submit=on_submit>
            <div class="field">
                <label for="recommend-source">{tr("plan.source_label")}</label>
                <select id="recommend-source" data-testid="recommend-source" on:change=move |ev| {
                    let next = Recommendation::parse(&event_target_value(&ev)).unwrap_or(Recommendation::Provincial);
                    // Not supported carries no amount.
                    if next == Recommendation::NotSupported {
                        amount.set(String::new());
                    }
                    source.set(next);
                }>
                    {Recommendation::ALL.into_iter().map(|r| view! {
                        <option value=r.as_str() selected=move || source.get() == r prop:selected=move || source.get() == r>{source_label(lang, r.as_str())}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="recommend-amount">{tr("plan.amount")}</label>
                <p class="hint">{tr("plan.amount_hint")}</p>
                <input id="recommend-amount" type="text" inputmode="numeric" autocomplete="off"
                    data-testid="recommend-amount"
                    prop:value=move || amount.get() on:input=move |ev| amount.set(event_target_value(&ev))/>
            </div>
            <div class="field">
                <label for="recommend-rationale">{tr("plan.rationale")}</label>
                <p class="hint">{tr("plan.rationale_hint")}</p>
                <textarea id="recommend-rationale" rows="3" data-testid="recommend-rationale"
                    prop:value=move || rationale.get() on:input=move |ev| rationale.set(event_target_value(&ev))></textarea>
            </div>
            {move || {
                let server = submit.value().get().and_then(|r| r.err()).map(|FnError(b)| b);
                typed_error.get().or(server).map(|body| view! {
                    <p class="error-banner" role="alert" data-testid="recommend-error">{error_text(lang, &body)}</p>
                })
            }}
            <div class="form-actions">
                <button type="submit" class="btn btn-primary" data-testid="recommend-submit" disabled=move || pending.get()>
                    {tr("plan.recommend_submit")}
                </button>
            </div>
        </form>
    }
}

fn year_from(query: &leptos_router::params::ParamsMap) -> i32 {
    query
        .get("year")
        .and_then(|y| y.trim().parse::<i32>().ok())
        .filter(|y| (2000..=2100).contains(y))
        .unwrap_or(DEFAULT_YEAR)
}

#[component]
pub fn PlanPage() -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let query = use_query_map();
    let year = Memo::new(move |_| query.with(year_from));
    // `by=former_district` groups a year on a newer tree by the old districts.
    let by = Memo::new(move |_| query.with(|q| q.get("by").filter(|b| b == "former_district")));
    // Bumped after the budget is saved; `budget_saved` outlives the reload.
    let version = RwSignal::new(0u32);
    let budget_saved = RwSignal::new(false);
    let plan = Resource::new(
        move || (year.get(), version.get(), by.get()),
        |(year, _, by)| console::get_plan(year, by),
    );
    let navigate = use_navigate();
    let change_year = move |ev: leptos::ev::Event| {
        if let Ok(y) = event_target_value(&ev).trim().parse::<i32>() {
            if (2000..=2100).contains(&y) && y != year.get_untracked() {
                budget_saved.set(false);
                navigate(&format!("/plan?year={y}"), Default::default());
            }
        }
    };
    view! {
        <div class="console plan-page" data-testid="plan-page">
            <h1>{move || tr("plan.title").replace("{year}", &year.get().to_string())}</h1>
            <div class="toolbar plan-toolbar">
                <label class="filter">
                    <span>{move || tr("plan.year")}</span>
                    <input type="number" min="2000" max="2100" step="1" data-testid="plan-year"
                        prop:value=move || year.get().to_string() on:change=change_year/>
                </label>
                <a class="btn btn-small btn-secondary" data-testid="export-plan-xlsx" download
                    href=move || format!("/api/exports/plan.xlsx?year={}", year.get())>{move || tr("plan.export_xlsx")}</a>
                <a class="btn btn-small btn-secondary" data-testid="export-plan-csv" download
                    href=move || format!("/api/exports/plan.csv?year={}", year.get())>{move || tr("plan.export_csv")}</a>
            </div>
            <Suspense fallback=|| view! { <crate::root::Loading/> }>
                {move || plan.get().map(|result| {
                    let lang = lang.get();
                    match result {
                        Err(FnError(body)) => error_banner(lang, &body),
                        Ok(plan) => view! { <PlanView plan=plan version=version saved=budget_saved lang=lang/> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// The header of the column a plan is grouped by.
fn unit_header(grouped_by: &str) -> &'static str {
    match grouped_by {
        "commune" => "plan.grouped_commune",
        "former_district" => "plan.grouped_former_district",
        _ => "review.district",
    }
}

#[component]
fn PlanView(
    plan: Plan,
    version: RwSignal<u32>,
    saved: RwSignal<bool>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    // Inside the page's Suspense: the server and the hydrating browser render it alike.
    let grouping = plan.has_former.then(|| {
        let y = plan.year;
        let former = plan.grouped_by == "former_district";
        view! {
            <p class="segmented" role="group" data-testid="plan-grouping">
                <a class="btn btn-small" class:btn-primary=!former data-testid="plan-by-unit"
                    href=format!("/plan?year={y}")>{tr("plan.by_unit")}</a>
                <a class="btn btn-small" class:btn-primary=former data-testid="plan-by-former-district"
                    href=format!("/plan?year={y}&by=former_district")>{tr("plan.by_former_district")}</a>
            </p>
        }
    });
    let budget = view! {
        <BudgetPanel year=plan.year budget=plan.budget used=plan.provincial_total() version=version saved=saved lang=lang/>
    };
    if plan.cells.is_empty() && plan.proposals.is_empty() {
        return view! {
            {budget}
            <p class="empty-state" data-testid="plan-empty">{tr("plan.empty").replace("{year}", &plan.year.to_string())}</p>
        }
        .into_any();
    }
    view! {
        {grouping}
        {budget}
        <h2>{tr("plan.by_district")}</h2>
        {by_district(&plan, lang)}
        <h2>{tr("plan.by_industry")}</h2>
        {by_industry(&plan, lang)}
        <h2>{tr("plan.by_district_industry")}</h2>
        {by_district_industry(&plan, lang)}
        <h2>{tr("plan.proposals")}</h2>
        {proposal_list(&plan, lang)}
    }
    .into_any()
}

/// The amount a cell shows: what is recommended where money is recommended,
/// what was requested where it is not (yet).
fn cell_amount(source: &str, totals: Totals) -> (i64, bool) {
    match source {
        "provincial" | "national" => (totals.recommended, false),
        _ => (totals.requested, true),
    }
}

fn source_cell(
    plan: &Plan,
    source: &'static str,
    keep: &dyn Fn(&PlanCell) -> bool,
    lang: Lang,
) -> AnyView {
    let totals = plan.totals(|c| c.source == source && keep(c));
    let (amount, requested) = cell_amount(source, totals);
    let title = requested.then(|| t(lang, "plan.requested_note"));
    view! {
        <td class="num plan-cell" data-testid="plan-cell" data-source=source data-count=totals.count data-amount=amount>
            <span class="cell-count">{totals.count}</span>
            {(totals.count > 0).then(|| view! {
                <span class=if requested { "cell-amount money requested" } else { "cell-amount money" } title=title>{vnd(amount)}</span>
            })}
        </td>
    }
    .into_any()
}

fn source_headers(lang: Lang) -> impl IntoView {
    SOURCES
        .into_iter()
        .map(|s| view! { <th class="num" data-source=s>{source_label(lang, s)}</th> })
        .collect_view()
}

/// Districts as rows, sources as columns, a total per district and for the province.
fn by_district(plan: &Plan, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let rows = plan
        .districts()
        .into_iter()
        .map(|(code, name)| {
            let in_district = |c: &PlanCell| c.district_code == code;
            let all = plan.totals(in_district);
            let funded = plan.totals(|c| {
                in_district(c) && (c.source == "provincial" || c.source == "national")
            });
            let cells = SOURCES
                .into_iter()
                .map(|s| source_cell(plan, s, &in_district, lang))
                .collect_view();
            view! {
                <tr data-testid="plan-district" data-district=code.clone()>
                    <th scope="row">{name}</th>
                    {cells}
                    <td class="num" data-testid="plan-district-count" data-district=code.clone()>{all.count}</td>
                    <td class="money">{vnd(funded.recommended)}</td>
                    <td>
                        // A former district spans units of another tree: no one place to zip.
                        {(plan.grouped_by != "former_district").then(|| view! {
                            <a data-testid="export-district-photos" data-district=code.clone() download
                                href=format!("/api/exports/photos.zip?district={code}&year={}", plan.year)>{tr("plan.photos_zip")}</a>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let total = plan.totals(|_| true);
    let provincial = plan.totals(|c| c.source == "provincial");
    let national = plan.totals(|c| c.source == "national");
    let others = ["not_supported", "pending"]
        .into_iter()
        .map(|s| source_cell(plan, s, &|_| true, lang))
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="data-table plan-table" data-testid="plan-by-district">
                <thead>
                    <tr>
                        <th>{tr(unit_header(&plan.grouped_by))}</th>
                        {source_headers(lang)}
                        <th class="num">{tr("plan.total_count")}</th>
                        <th class="money">{tr("plan.total_recommended")}</th>
                        <th>{tr("plan.photos")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
                <tfoot>
                    <tr class="plan-total">
                        <th scope="row">{tr("plan.total")}</th>
                        <td class="num plan-cell" data-source="provincial" data-count=provincial.count>
                            <span class="cell-count">{provincial.count}</span>
                            <span class="cell-amount money" data-testid="plan-total-provincial">{vnd(provincial.recommended)}</span>
                        </td>
                        <td class="num plan-cell" data-source="national" data-count=national.count>
                            <span class="cell-count">{national.count}</span>
                            <span class="cell-amount money" data-testid="plan-total-national">{vnd(national.recommended)}</span>
                        </td>
                        {others}
                        <td class="num" data-testid="plan-total-count">{total.count}</td>
                        <td class="money">{vnd(provincial.recommended + national.recommended)}</td>
                        <td></td>
                    </tr>
                </tfoot>
            </table>
        </div>
    }
}

/// Industry groups in the form's order, then any the form does not know.
fn industries(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = INDUSTRIES
        .iter()
        .filter(|g| plan.cells.iter().any(|c| c.industry_group == **g))
        .map(|g| g.to_string())
        .collect();
    for c in &plan.cells {
        if !out.contains(&c.industry_group) {
            out.push(c.industry_group.clone());
        }
    }
    out
}

fn by_industry(plan: &Plan, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let rows = industries(plan)
        .into_iter()
        .map(|group| {
            let in_group = |c: &PlanCell| c.industry_group == group;
            let cells = SOURCES
                .into_iter()
                .map(|s| source_cell(plan, s, &in_group, lang))
                .collect_view();
            view! {
                <tr data-testid="plan-industry" data-industry=group.clone()>
                    <th scope="row">{industry_label(lang, &group)}</th>
                    {cells}
                    <td class="num" data-testid="plan-industry-count">{plan.totals(in_group).count}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="data-table plan-table" data-testid="plan-by-industry">
                <thead>
                    <tr>
                        <th>{tr("plan.industry")}</th>
                        {source_headers(lang)}
                        <th class="num">{tr("plan.total_count")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

fn by_district_industry(plan: &Plan, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let groups = industries(plan);
    let rows = plan
        .districts()
        .into_iter()
        .flat_map(|(code, name)| {
            groups
                .iter()
                .filter(|g| {
                    plan.cells
                        .iter()
                        .any(|c| c.district_code == code && c.industry_group == **g)
                })
                .map(|g| (code.clone(), name.clone(), g.clone()))
                .collect::<Vec<_>>()
        })
        .map(|(code, name, group)| {
            let keep = |c: &PlanCell| c.district_code == code && c.industry_group == group;
            let cells = SOURCES
                .into_iter()
                .map(|s| source_cell(plan, s, &keep, lang))
                .collect_view();
            view! {
                <tr data-testid="plan-detail-row" data-district=code.clone() data-industry=group.clone()>
                    <td>{name}</td>
                    <td>{industry_label(lang, &group)}</td>
                    {cells}
                    <td class="num">{plan.totals(keep).count}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="data-table plan-table" data-testid="plan-detail">
                <thead>
                    <tr>
                        <th>{tr(unit_header(&plan.grouped_by))}</th>
                        <th>{tr("plan.industry")}</th>
                        {source_headers(lang)}
                        <th class="num">{tr("plan.total_count")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

fn proposal_list(plan: &Plan, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let rows = plan
        .proposals
        .iter()
        .map(|p| {
            let funded = p.source == "provincial" || p.source == "national";
            view! {
                <tr data-testid="plan-proposal" data-proposal-id=p.id.clone() data-source=p.source.clone()>
                    <td>
                        <a href=format!("/review/proposals/{}", p.id)>{p.title.clone()}</a>
                        <div class="muted">{p.facility_name.clone()}</div>
                    </td>
                    <td>{p.district_name.clone()}</td>
                    <td>{industry_label(lang, &p.industry_group)}</td>
                    <td class="money">{vnd(p.requested_amount)}</td>
                    <td><span class=format!("badge badge-source-{}", p.source.replace('_', "-"))>{source_label(lang, &p.source)}</span></td>
                    <td class="money">{if funded { vnd(p.recommended_amount) } else { "—".into() }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="data-table" data-testid="plan-proposals">
                <thead>
                    <tr>
                        <th>{tr("review.proposal")}</th>
                        <th>{tr(unit_header(&plan.grouped_by))}</th>
                        <th>{tr("plan.industry")}</th>
                        <th class="money">{tr("review.requested")}</th>
                        <th>{tr("plan.source_label")}</th>
                        <th class="money">{tr("plan.recommended")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// "45,3 %".
fn percent_text(percent: f64) -> String {
    format!("{percent:.1} %").replace('.', ",")
}

/// The province's budget for the year against what is recommended for provincial
/// funding; an administrator can set it here.
#[component]
fn BudgetPanel(
    year: i32,
    budget: Option<i64>,
    used: i64,
    version: RwSignal<u32>,
    saved: RwSignal<bool>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let over = budget.is_some_and(|b| used > b);
    let percent = budget
        .filter(|b| *b > 0)
        .map(|b| used as f64 * 100.0 / b as f64);
    let bar = percent.map(|p| {
        view! {
            <div class="budget-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100"
                aria-valuenow=p.round() as i64 aria-label=tr("plan.budget.percent")>
                <div class="budget-bar-fill" style=format!("width: {:.1}%", p.min(100.0))></div>
            </div>
        }
    });
    view! {
        <section class=if over { "budget-panel over-budget" } else { "budget-panel" }
            data-testid="plan-budget" data-over=over.to_string()>
            <h2>{tr("plan.budget.title").replace("{year}", &year.to_string())}</h2>
            <dl class="fact-list">
                <dt>{tr("plan.budget.amount")}</dt>
                <dd class="money" data-testid="plan-budget-amount">{budget.map(vnd).unwrap_or_else(|| tr("plan.budget.not_set"))}</dd>
                <dt>{tr("plan.budget.used")}</dt>
                <dd class="money" data-testid="plan-budget-used">{vnd(used)}</dd>
                <dt>{tr("plan.budget.remaining")}</dt>
                <dd class="money" data-testid="plan-budget-remaining">{budget.map(|b| vnd(b - used)).unwrap_or_else(|| "—".into())}</dd>
                <dt>{tr("plan.budget.percent")}</dt>
                <dd data-testid="plan-budget-percent">{percent.map(percent_text).unwrap_or_else(|| "—".into())}</dd>
            </dl>
            {bar}
            {budget.filter(|_| over).map(|b| view! {
                <p class="warning-banner" role="alert" data-testid="plan-over-budget">
                    {tr("plan.budget.over").replace("{amount}", &vnd(used - b))}
                </p>
            })}
            {move || saved.get().then(|| view! {
                <p class="notice notice-success" role="status" data-testid="budget-saved">{tr("plan.budget.saved")}</p>
            })}
            <BudgetForm year=year budget=budget version=version saved=saved lang=lang/>
        </section>
    }
}

/// Administrators only; the phone's copy of the user is known after hydration,
/// so the form appears then (the server checks the role again).
#[component]
fn BudgetForm(
    year: i32,
    budget: Option<i64>,
    version: RwSignal<u32>,
    saved: RwSignal<bool>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let state = use_client();
    let amount = RwSignal::new(budget.map(grouped).unwrap_or_default());
    let typed_error = RwSignal::new(None::<ErrorBody>);
    let save = Action::new(move |value: &Value| {
        let value = value.clone();
        async move {
            let result = console::set_budget(year, value).await;
            if result.is_ok() {
                saved.set(true);
                version.update(|n| *n += 1);
            }
            result
        }
    });
    let pending = save.pending();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        saved.set(false);
        match parse_amount(&amount.get_untracked()) {
            Ok(Some(value)) => {
                typed_error.set(None);
                save.dispatch(value.to_json());
            }
            Ok(None) => typed_error.set(Some(ErrorBody::new(
                "budget.amount_required",
                "the budget needs an amount",
            ))),
            Err(()) => typed_error.set(Some(amount_invalid())),
        }
    };
    view! {
        <Show when=move || state.user.get().is_some_and(|u| u.has(Role::Administrator))>
            <form class="budget-form" data-testid="budget-form" on:submit=on_submit>
                <label for="budget-amount">{tr("plan.budget.set")}</label>
                <div class="inline-field">
                    <input id="budget-amount" type="text" inputmode="numeric" autocomplete="off"
                        data-testid="budget-amount"
                        prop:value=move || amount.get() on:input=move |ev| amount.set(event_target_value(&ev))/>
                    <button type="submit" class="btn btn-primary" data-testid="budget-save" disabled=move || pending.get()>
                        {tr("plan.budget.save")}
                    </button>
                </div>
                {move || {
                    let server = save.value().get().and_then(|r| r.err()).map(|FnError(b)| b);
                    typed_error.get().or(server).map(|body| view! {
                        <p class="error-banner" role="alert" data-testid="budget-error">{error_text(lang, &body)}</p>
                    })
                }}
            </form>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_with_thousands_separators_are_whole_dong() {
        assert_eq!(parse_amount(" "), Ok(None));
        assert_eq!(
            parse_amount("1.500.000"),
            Ok(Some(Amount::Whole(1_500_000)))
        );
        assert_eq!(
            parse_amount("1,500,000"),
            Ok(Some(Amount::Whole(1_500_000)))
        );
        assert_eq!(
            parse_amount("1 500 000"),
            Ok(Some(Amount::Whole(1_500_000)))
        );
        assert_eq!(
            parse_amount("150.000.000 ₫"),
            Ok(Some(Amount::Whole(150_000_000)))
        );
        assert_eq!(parse_amount("-200"), Ok(Some(Amount::Whole(-200))));
    }

    #[test]
    fn a_short_last_group_is_a_fraction_for_the_server_to_refuse() {
        assert_eq!(
            parse_amount("1500000,5"),
            Ok(Some(Amount::Fraction(1_500_000.5)))
        );
        assert_eq!(
            parse_amount("1.500.000,50"),
            Ok(Some(Amount::Fraction(1_500_000.5)))
        );
        assert!(Amount::Fraction(0.5).to_json().is_f64());
    }

    #[test]
    fn text_that_is_not_a_number_is_refused() {
        assert_eq!(parse_amount("12a"), Err(()));
        assert_eq!(parse_amount("1..5"), Err(()));
        assert_eq!(parse_amount("-"), Err(()));
        assert_eq!(parse_amount("99999999999999999999"), Err(()));
    }
}
