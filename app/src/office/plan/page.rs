//! The year's plan: proposals by unit of the year's tree (or by former
//! district), by industry group and by funding source, with the exports.

use super::budget::*;
use super::*;
use crate::office::download::DownloadLink;
use crate::office::gate::ReviewLink;

pub(super) fn year_from(query: &leptos_router::params::ParamsMap) -> i32 {
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
        |(year, _, by)| contract::get_plan(year, by),
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
                <DownloadLink testid="export-plan-xlsx" href=Signal::derive(move || format!("/api/exports/plan.xlsx?year={}", year.get()))
                    label=Signal::derive(move || tr("plan.export_xlsx"))/>
                <DownloadLink testid="export-plan-csv" href=Signal::derive(move || format!("/api/exports/plan.csv?year={}", year.get()))
                    label=Signal::derive(move || tr("plan.export_csv"))/>
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
pub(super) fn unit_header(grouped_by: &str) -> &'static str {
    match grouped_by {
        "commune" => "plan.grouped_commune",
        "former_district" => "plan.grouped_former_district",
        _ => "review.district",
    }
}

#[component]
pub(super) fn PlanView(
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
                    href=format!("/plan?year={y}")>{move || tr("plan.by_unit")}</a>
                <a class="btn btn-small" class:btn-primary=former data-testid="plan-by-former-district"
                    href=format!("/plan?year={y}&by=former_district")>{move || tr("plan.by_former_district")}</a>
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
        <h2>{tr(match plan.grouped_by.as_str() {
            "commune" => "plan.by_commune",
            "former_district" => "plan.by_former_district",
            _ => "plan.by_district",
        })}</h2>
        {super::chart::bar_chart(&super::chart::district_bars(&plan), "plan-chart-district", tr("plan.chart.by_unit_title").replace("{year}", &plan.year.to_string()), lang)}
        {by_district(&plan, lang)}
        <h2>{move || tr("plan.by_industry")}</h2>
        {super::chart::bar_chart(&super::chart::industry_bars(&plan, lang), "plan-chart-industry", tr("plan.chart.by_industry_title").replace("{year}", &plan.year.to_string()), lang)}
        {by_industry(&plan, lang)}
        <h2>{tr(match plan.grouped_by.as_str() {
            "commune" => "plan.by_commune_industry",
            "former_district" => "plan.by_former_district_industry",
            _ => "plan.by_district_industry",
        })}</h2>
        {by_district_industry(&plan, lang)}
        <h2>{move || tr("plan.proposals")}</h2>
        {proposal_list(&plan, lang)}
    }
    .into_any()
}

/// The amount a cell shows: what is recommended where money is recommended,
/// what was requested where it is not (yet).
pub(super) fn cell_amount(source: &str, totals: Totals) -> (i64, bool) {
    super::contract::shown_amount(source, totals)
}

pub(super) fn source_cell(
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

pub(super) fn source_headers(lang: Lang) -> impl IntoView {
    SOURCES
        .into_iter()
        .map(|s| view! { <th class="num" data-source=s>{source_label(lang, s)}</th> })
        .collect_view()
}

/// Districts as rows, sources as columns, a total per district and for the province.
pub(super) fn by_district(plan: &Plan, lang: Lang) -> impl IntoView {
    // Photos are supervisors' to take away.
    let zips = crate::office::gate::opens_review();
    let former = plan.grouped_by == "former_district";
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
                    <td data-district=code.clone()>
                        // A former district spans units of another tree: no one place to zip.
                        {
                            let href = format!("/api/exports/photos.zip?district={code}&year={}", plan.year);
                            move || (zips() && !former).then(|| view! {
                                <DownloadLink testid="export-district-photos" class=""
                                    href=href.clone()
                                    label=tr("plan.photos_zip")/>
                            })
                        }
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
                        <th class="num">{move || tr("plan.total_count")}</th>
                        <th class="money">{move || tr("plan.total_recommended")}</th>
                        <th>{move || tr("plan.photos")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
                <tfoot>
                    <tr class="plan-total">
                        <th scope="row">{move || tr("plan.total")}</th>
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
                        <td class="money">{vnd(provincial.recommended.saturating_add(national.recommended))}</td>
                        <td></td>
                    </tr>
                </tfoot>
            </table>
        </div>
    }
}

/// Industry groups in the form's order, then any the form does not know.
pub(super) fn industries(plan: &Plan) -> Vec<String> {
    plan.industries()
}

pub(super) fn by_industry(plan: &Plan, lang: Lang) -> impl IntoView {
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
                        <th>{move || tr("plan.industry")}</th>
                        {source_headers(lang)}
                        <th class="num">{move || tr("plan.total_count")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

pub(super) fn by_district_industry(plan: &Plan, lang: Lang) -> impl IntoView {
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
                        <th>{move || tr("plan.industry")}</th>
                        {source_headers(lang)}
                        <th class="num">{move || tr("plan.total_count")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

pub(super) fn proposal_list(plan: &Plan, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let rows = plan
        .proposals
        .iter()
        .map(|p| {
            let funded = p.source == "provincial" || p.source == "national";
            let (href, title) = (format!("/review/proposals/{}", p.id), p.title.clone());
            view! {
                <tr data-testid="plan-proposal" data-proposal-id=p.id.clone() data-source=p.source.clone()>
                    <td>
                        <ReviewLink href=Some(href) text=title link_testid="plan-proposal-link" text_testid="plan-proposal-title"/>
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
                        <th>{move || tr("review.proposal")}</th>
                        <th>{tr(unit_header(&plan.grouped_by))}</th>
                        <th>{move || tr("plan.industry")}</th>
                        <th class="money">{move || tr("review.requested")}</th>
                        <th>{move || tr("plan.source_label")}</th>
                        <th class="money">{move || tr("plan.recommended")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// "45,3 %".
pub(super) fn percent_text(percent: f64) -> String {
    format!("{percent:.1} %").replace('.', ",")
}
