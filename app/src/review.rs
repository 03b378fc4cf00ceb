//! The supervisor's pages: the visit list with its filters, order, pages and
//! exports, and one visit with its answers rendered with the form version it was
//! filled in, beside its conflicts, what changed since a send-back, the distance
//! to the facility and the audit trail. Server-rendered from server functions
//! (the office is online).

use crate::accounts::AuditEntry;
use crate::console::{self, ConflictView, VisitPage, VisitQuery, VisitReviewExtras, VisitSort};
use crate::error::{ErrorBody, FnError};
use crate::forms::{Field, FieldType, FormDefinition};
use crate::i18n::{error_text, t, use_locale, use_t, Lang, Locale};
use crate::model::{ReviewState, VisitDetail, VisitSummary};
use crate::photos::PhotoRecord;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::params::ParamsMap;
use leptos_router::NavigateOptions;
use serde_json::Value;
use std::collections::BTreeSet;

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
/// field), approve or reject. Checked against the visit's current state.
#[server(prefix = "/rpc", endpoint = "decide_visit", input = Json)]
pub async fn decide_visit(
    id: String,
    to: crate::model::ReviewState,
    comment: Option<String>,
    field: Option<String>,
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

/// Industry groups of the register, in the form's order (`industry.<value>` labels).
pub const INDUSTRIES: [&str; 5] = [
    "processing",
    "building_materials",
    "mechanical",
    "handicrafts",
    "other",
];

/// The label of an industry group; an unknown group shows its code.
pub fn industry_label(lang: Lang, group: &str) -> String {
    let key = format!("industry.{group}");
    let label = t(lang, &key);
    if label == key {
        group.to_string()
    } else {
        label
    }
}

/// The list's query as the URL holds it, so reload and back keep the filters.
fn query_from(map: &ParamsMap) -> VisitQuery {
    let text = |k: &str| map.get(k).filter(|v| !v.trim().is_empty());
    let flag = |k: &str| map.get(k).and_then(|v| v.parse::<bool>().ok());
    VisitQuery {
        district: text("district"),
        commune: text("commune"),
        industry: text("industry"),
        inspector: text("inspector"),
        from: text("from"),
        to: text("to"),
        state: text("state").and_then(|s| ReviewState::parse(&s)),
        has_photos: flag("has_photos"),
        has_conflicts: flag("has_conflicts"),
        q: text("q"),
        sort: text("sort")
            .and_then(|s| VisitSort::parse(&s))
            .unwrap_or_default(),
        desc: flag("desc").unwrap_or(true),
        page: map.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        per_page: console::PER_PAGE,
    }
    .normalized()
}

/// The list's URL for a query: the exports' query string plus the page.
fn list_url(q: &VisitQuery) -> String {
    let mut qs = console::query_string(q);
    if q.page > 1 {
        if !qs.is_empty() {
            qs.push('&');
        }
        qs.push_str(&format!("page={}", q.page));
    }
    if qs.is_empty() {
        "/review".into()
    } else {
        format!("/review?{qs}")
    }
}

fn export_url(file: &str, q: &VisitQuery) -> String {
    let qs = console::query_string(q);
    if qs.is_empty() {
        format!("/api/exports/{file}")
    } else {
        format!("/api/exports/{file}?{qs}")
    }
}

fn non_empty(v: String) -> Option<String> {
    (!v.trim().is_empty()).then_some(v)
}

/// Where the list goes when a control changes: a new URL (so back works), on the
/// first page unless the change is the page itself.
#[derive(Clone, Copy)]
struct ListNav {
    query: Memo<VisitQuery>,
    go: Callback<String>,
}

impl ListNav {
    fn change(self, edit: impl FnOnce(&mut VisitQuery)) {
        let mut q = self.query.get_untracked();
        q.page = 1;
        edit(&mut q);
        if q != self.query.get_untracked() {
            self.go.run(list_url(&q));
        }
    }

    fn with<T>(self, read: impl FnOnce(&VisitQuery) -> T) -> T {
        self.query.with(read)
    }
}

#[component]
pub fn ReviewListPage() -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let query_map = use_query_map();
    let query = Memo::new(move |_| query_map.with(query_from));
    let navigate = use_navigate();
    let go = Callback::new(move |url: String| {
        navigate(
            &url,
            NavigateOptions {
                scroll: false,
                ..Default::default()
            },
        )
    });
    let nav = ListNav { query, go };
    let page = Resource::new(move || query.get(), console::search_visits);
    view! {
        <div class="console" data-testid="review-list-page">
            <h1>{move || tr("review.title")}</h1>
            <VisitFilters nav=nav/>
            <Transition fallback=|| view! { <crate::root::Loading/> }>
                {move || page.get().map(|result| match result {
                    Err(FnError(body)) => view! {
                        <p class="error-banner" data-testid="review-error">{error_text(lang.get(), &body)}</p>
                    }.into_any(),
                    Ok(p) => view! { <VisitResults page=p nav=nav/> }.into_any(),
                })}
            </Transition>
            <p class="export-links">
                <a class="btn btn-small btn-secondary" data-testid="export-visits-xlsx" download
                    href=move || query.with(|q| export_url("visits.xlsx", q))>{move || tr("review.export_xlsx")}</a>
                <a class="btn btn-small btn-secondary" data-testid="export-visits-csv" download
                    href=move || query.with(|q| export_url("visits.csv", q))>{move || tr("review.export_csv")}</a>
            </p>
            <details class="review-import">
                <summary>{move || tr("review.import_backup")}</summary>
                <p class="hint">{move || tr("review.import_hint")}</p>
                <crate::backup::ImportBackup/>
            </details>
        </div>
    }
}

/// The filter bar. Every control writes the URL; the URL is the only state.
#[component]
fn VisitFilters(nav: ListNav) -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let search = NodeRef::<leptos::html::Input>::new();
    let apply_search = move || {
        if let Some(input) = search.get_untracked() {
            nav.change(|q| q.q = non_empty(input.value()));
        }
    };
    view! {
        <form class="filter-bar" data-testid="review-filters" on:submit=move |ev| {
            ev.prevent_default();
            apply_search();
        }>
            <label class="filter filter-q">
                <span>{move || tr("review.filter.q")}</span>
                <input type="search" data-testid="filter-q" node_ref=search
                    placeholder=move || tr("review.filter.q_hint")
                    prop:value=move || nav.with(|q| q.q.clone().unwrap_or_default())
                    on:change=move |_| apply_search()/>
            </label>
            <UnitFilters nav=nav/>
            <label class="filter">
                <span>{move || tr("review.filter.industry")}</span>
                <select data-testid="filter-industry" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    nav.change(|q| q.industry = non_empty(v));
                }>
                    <option value="">{move || tr("review.filter.all")}</option>
                    {INDUSTRIES.into_iter().map(|g| view! {
                        <option value=g selected=move || nav.with(|q| q.industry.as_deref() == Some(g)) prop:selected=move || nav.with(|q| q.industry.as_deref() == Some(g))>
                            {move || industry_label(lang.get(), g)}
                        </option>
                    }).collect_view()}
                </select>
            </label>
            <label class="filter">
                <span>{move || tr("review.filter.from")}</span>
                <input type="date" data-testid="filter-from"
                    prop:value=move || nav.with(|q| q.from.clone().unwrap_or_default())
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        nav.change(|q| q.from = non_empty(v));
                    }/>
            </label>
            <label class="filter">
                <span>{move || tr("review.filter.to")}</span>
                <input type="date" data-testid="filter-to"
                    prop:value=move || nav.with(|q| q.to.clone().unwrap_or_default())
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        nav.change(|q| q.to = non_empty(v));
                    }/>
            </label>
            <label class="filter">
                <span>{move || tr("review.state")}</span>
                <select data-testid="filter-state" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    nav.change(|q| q.state = ReviewState::parse(&v));
                }>
                    <option value="">{move || tr("review.filter.all")}</option>
                    {STATES.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || nav.with(|q| q.state == Some(s)) prop:selected=move || nav.with(|q| q.state == Some(s))>
                            {move || tr(&format!("review_state.{}", s.as_str()))}
                        </option>
                    }).collect_view()}
                </select>
            </label>
            <label class="filter">
                <span>{move || tr("review.filter.photos")}</span>
                <select data-testid="filter-has-photos" on:change=move |ev| {
                    let v = event_target_value(&ev).parse().ok();
                    nav.change(|q| q.has_photos = v);
                }>
                    <option value="" selected=move || nav.with(|q| q.has_photos.is_none()) prop:selected=move || nav.with(|q| q.has_photos.is_none())>{move || tr("review.filter.all")}</option>
                    <option value="true" selected=move || nav.with(|q| q.has_photos == Some(true)) prop:selected=move || nav.with(|q| q.has_photos == Some(true))>{move || tr("review.filter.with_photos")}</option>
                    <option value="false" selected=move || nav.with(|q| q.has_photos == Some(false)) prop:selected=move || nav.with(|q| q.has_photos == Some(false))>{move || tr("review.filter.without_photos")}</option>
                </select>
            </label>
            <label class="filter">
                <span>{move || tr("review.filter.conflicts")}</span>
                <select data-testid="filter-has-conflicts" on:change=move |ev| {
                    let v = event_target_value(&ev).parse().ok();
                    nav.change(|q| q.has_conflicts = v);
                }>
                    <option value="" selected=move || nav.with(|q| q.has_conflicts.is_none()) prop:selected=move || nav.with(|q| q.has_conflicts.is_none())>{move || tr("review.filter.all")}</option>
                    <option value="true" selected=move || nav.with(|q| q.has_conflicts == Some(true)) prop:selected=move || nav.with(|q| q.has_conflicts == Some(true))>{move || tr("review.filter.with_conflicts")}</option>
                    <option value="false" selected=move || nav.with(|q| q.has_conflicts == Some(false)) prop:selected=move || nav.with(|q| q.has_conflicts == Some(false))>{move || tr("review.filter.without_conflicts")}</option>
                </select>
            </label>
            <label class="filter">
                <span>{move || tr("review.sort.label")}</span>
                <select data-testid="sort" on:change=move |ev| {
                    let v = VisitSort::parse(&event_target_value(&ev)).unwrap_or_default();
                    nav.change(|q| q.sort = v);
                }>
                    {VisitSort::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || nav.with(|q| q.sort == s) prop:selected=move || nav.with(|q| q.sort == s)>
                            {move || tr(&format!("review.sort.{}", s.as_str()))}
                        </option>
                    }).collect_view()}
                </select>
            </label>
            <div class="filter filter-actions">
                <button type="button" class="btn btn-small btn-secondary" data-testid="sort-desc"
                    aria-pressed=move || nav.with(|q| q.desc).to_string()
                    on:click=move |_| nav.change(|q| q.desc = !q.desc)>
                    {move || if nav.with(|q| q.desc) { tr("review.sort.desc") } else { tr("review.sort.asc") }}
                </button>
                <button type="submit" class="btn btn-small btn-primary" data-testid="filter-apply">
                    {move || tr("review.filter.apply")}
                </button>
                <a class="btn btn-small" href="/review" data-testid="filter-clear">{move || tr("review.filter.clear")}</a>
            </div>
        </form>
    }
}

/// District, commune and inspector: their choices come from the server.
#[component]
fn UnitFilters(nav: ListNav) -> impl IntoView {
    let tr = use_t();
    let choices = Resource::new(|| (), |_| console::visit_filter_choices());
    view! {
        <Transition fallback=|| ()>
            {move || choices.get().map(|result| {
                let choices = result.unwrap_or_default();
                let districts = choices.districts.clone();
                let communes = StoredValue::new(choices.communes.clone());
                let inspectors = choices.inspectors.clone();
                view! {
                    <label class="filter">
                        <span>{move || tr("review.district")}</span>
                        <select data-testid="filter-district" on:change=move |ev| {
                            let v = event_target_value(&ev);
                            nav.change(|q| {
                                q.district = non_empty(v);
                                q.commune = None;
                            });
                        }>
                            <option value="">{move || tr("review.filter.all")}</option>
                            {districts.into_iter().map(|u| {
                                let code = u.code.clone();
                                let sel = Signal::derive(move || nav.with(|q| q.district.as_deref() == Some(code.as_str())));
                                view! {
                                    <option value=u.code.clone() selected=move || sel.get() prop:selected=move || sel.get()>
                                        {u.full_name()}
                                    </option>
                                }
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="filter">
                        <span>{move || tr("review.filter.commune")}</span>
                        <select data-testid="filter-commune" on:change=move |ev| {
                            let v = event_target_value(&ev);
                            nav.change(|q| q.commune = non_empty(v));
                        }>
                            <option value="">{move || tr("review.filter.all")}</option>
                            // Only the chosen district's communes; all of them before one is chosen.
                            {move || {
                                let district = nav.with(|q| q.district.clone());
                                communes.with_value(|all| all.iter()
                                    .filter(|c| district.is_none() || c.parent == district)
                                    .map(|u| {
                                        let code = u.code.clone();
                                        let sel = Signal::derive(move || nav.with(|q| q.commune.as_deref() == Some(code.as_str())));
                                        view! {
                                            <option value=u.code.clone() selected=move || sel.get() prop:selected=move || sel.get()>
                                                {u.full_name()}
                                            </option>
                                        }
                                    })
                                    .collect_view())
                            }}
                        </select>
                    </label>
                    <label class="filter">
                        <span>{move || tr("review.inspector")}</span>
                        <select data-testid="filter-inspector" on:change=move |ev| {
                            let v = event_target_value(&ev);
                            nav.change(|q| q.inspector = non_empty(v));
                        }>
                            <option value="">{move || tr("review.filter.all")}</option>
                            {inspectors.into_iter().map(|(id, name)| {
                                let key = id.clone();
                                let sel = Signal::derive(move || nav.with(|q| q.inspector.as_deref() == Some(key.as_str())));
                                view! {
                                    <option value=id selected=move || sel.get() prop:selected=move || sel.get()>
                                        {name}
                                    </option>
                                }
                            }).collect_view()}
                        </select>
                    </label>
                }
            })}
        </Transition>
    }
}

/// Counts per state, the table and the pager of one page of results.
#[component]
fn VisitResults(page: VisitPage, nav: ListNav) -> impl IntoView {
    let tr = use_t();
    let filtered = nav
        .query
        .with_untracked(|q| *q != VisitQuery::default().normalized());
    let pages = ((page.total.max(0) as u64).div_ceil(page.per_page.max(1) as u64)).max(1) as u32;
    let current = page.page.max(1);
    let table = if page.items.is_empty() {
        let empty = if filtered {
            "review.no_match"
        } else {
            "review.empty"
        };
        view! { <p class="empty-state" data-testid="review-empty">{tr(empty)}</p> }.into_any()
    } else {
        view! { <VisitTable items=page.items/> }.into_any()
    };
    let info = tr("review.page_info")
        .replace("{page}", &current.to_string())
        .replace("{pages}", &pages.to_string())
        .replace("{total}", &page.total.to_string());
    view! {
        <StateCounts counts=page.counts nav=nav/>
        {table}
        <nav class="pager" aria-label=tr("review.pages")>
            <button type="button" class="btn btn-small" data-testid="page-prev" disabled={current <= 1}
                on:click=move |_| nav.change(|q| q.page = current - 1)>{tr("review.page_prev")}</button>
            <span data-testid="page-info" data-page=current data-pages=pages data-total=page.total>{info}</span>
            <button type="button" class="btn btn-small" data-testid="page-next" disabled={current >= pages}
                on:click=move |_| nav.change(|q| q.page = current + 1)>{tr("review.page_next")}</button>
        </nav>
    }
}

/// "Chờ duyệt 12": a chip per state that filters the list to it.
#[component]
fn StateCounts(counts: std::collections::BTreeMap<String, i64>, nav: ListNav) -> impl IntoView {
    let tr = use_t();
    let all: i64 = counts.values().sum();
    let chips = STATES
        .into_iter()
        .map(|s| {
            let n = counts.get(s.as_str()).copied().unwrap_or(0);
            let active = nav.query.with_untracked(|q| q.state == Some(s));
            view! {
                <button type="button" class=format!("chip chip-{}", s.as_str().replace('_', "-"))
                    data-testid=format!("state-count-{}", s.as_str()) data-count=n
                    aria-pressed=active.to_string()
                    on:click=move |_| nav.change(|q| q.state = Some(s))>
                    {tr(&format!("review_state.{}", s.as_str()))} " " <span class="chip-count">{n}</span>
                </button>
            }
        })
        .collect_view();
    let none = nav.query.with_untracked(|q| q.state.is_none());
    view! {
        <div class="state-counts" role="group" aria-label=tr("review.state")>
            <button type="button" class="chip" data-testid="state-count-all" data-count=all
                aria-pressed=none.to_string()
                on:click=move |_| nav.change(|q| q.state = None)>
                {tr("review.filter.all")} " " <span class="chip-count">{all}</span>
            </button>
            {chips}
        </div>
    }
}

#[component]
fn VisitTable(items: Vec<VisitSummary>) -> impl IntoView {
    let tr = use_t();
    let rows = items
        .into_iter()
        .map(|v| {
            let conflicts_class = if v.open_conflicts > 0 { "num conflicts-open" } else { "num" };
            view! {
                <tr data-testid="review-visit-item" data-visit-id=v.id.clone()>
                    <td>{crate::format::datetime_vn(v.received_at_ms)}</td>
                    <td>
                        <a href=format!("/review/visits/{}", v.id)>
                            {v.proposal_title.clone().or(v.facility_name.clone()).unwrap_or_else(|| v.id.clone())}
                        </a>
                        <div class="muted">{v.facility_name.clone().unwrap_or_default()}</div>
                    </td>
                    <td>{v.district_name.clone().unwrap_or_default()}</td>
                    <td>{v.inspector.clone()}</td>
                    <td><StateBadge state=v.review_state/></td>
                    <td class="num" data-testid="visit-photos">{v.photos}</td>
                    <td class=conflicts_class data-testid="visit-conflicts">{v.open_conflicts}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="data-table" data-testid="review-visit-list">
                <thead>
                    <tr>
                        <th>{tr("review.received")}</th>
                        <th>{tr("review.proposal")}</th>
                        <th>{tr("review.district")}</th>
                        <th>{tr("review.inspector")}</th>
                        <th>{tr("review.state")}</th>
                        <th class="num">{tr("review.photos")}</th>
                        <th class="num">{tr("review.conflicts")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// A review state as a coloured badge (colour and border: never colour alone).
#[component]
pub fn StateBadge(state: ReviewState) -> impl IntoView {
    let tr = use_t();
    view! {
        <span class=format!("badge badge-{}", state.as_str().replace('_', "-")) data-state=state.as_str()>
            {move || tr(&format!("review_state.{}", state.as_str()))}
        </span>
    }
}

/// An answer as the supervisor reads it: choices by their label, money in VND.
fn show_answer(
    field: &crate::forms::Field,
    value: &serde_json::Value,
    lang: crate::i18n::Lang,
) -> String {
    let choice = |v: &str| {
        field
            .choices
            .iter()
            .find(|c| c.value == v)
            .map(|c| c.label.get(lang).to_string())
            .unwrap_or_else(|| v.to_string())
    };
    match (field.kind, value) {
        (FieldType::Money, serde_json::Value::Number(n)) => n
            .as_i64()
            .map(crate::format::vnd)
            .unwrap_or_else(|| n.to_string()),
        (FieldType::YesNo, serde_json::Value::String(s)) => {
            crate::i18n::t(lang, if s == "yes" { "field.yes" } else { "field.no" })
        }
        (FieldType::SelectOne, serde_json::Value::String(s)) => choice(s),
        (FieldType::SelectMany, serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str())
            .map(choice)
            .collect::<Vec<_>>()
            .join(", "),
        (FieldType::Date, serde_json::Value::String(s)) => {
            match crate::forms::rules::parse_iso_date(s) {
                Some((y, m, d)) => format!("{d:02}/{m:02}/{y:04}"),
                None => s.clone(),
            }
        }
        (_, serde_json::Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

#[component]
pub fn ReviewDetailPage() -> impl IntoView {
    let Locale(lang) = use_locale();
    let params = use_params_map();
    // Bumped after a decision or a resolved conflict: both resources load again.
    let decided = RwSignal::new(0u32);
    let key = move || (params.read().get("id").unwrap_or_default(), decided.get());
    let detail = Resource::new(key, |(id, _)| get_visit(id));
    let extras = Resource::new(key, |(id, _)| console::visit_extras(id));
    view! {
        <Suspense fallback=|| view! { <crate::root::Loading/> }>
            {move || {
                let (detail, extras) = (detail.get()?, extras.get()?);
                let lang = lang.get();
                Some(match detail {
                    Err(FnError(body)) => view! {
                        <p class="error-banner" data-testid="review-error">{error_text(lang, &body)}</p>
                    }.into_any(),
                    Ok(d) => view! { <VisitReview d=d extras=extras decided=decided lang=lang/> }.into_any(),
                })
            }}
        </Suspense>
    }
}

/// One visit and what the console knows beside it. Rendered again as a whole
/// when the language changes or the data loads again.
#[component]
fn VisitReview(
    d: VisitDetail,
    extras: Result<VisitReviewExtras, FnError>,
    decided: RwSignal<u32>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    // Without the extras the visit itself still reads; the banner says what is missing.
    let (x, extras_error) = match extras {
        Ok(x) => (x, None),
        Err(FnError(body)) => (VisitReviewExtras::default(), Some(body)),
    };
    let changed: BTreeSet<&str> = x.changed.iter().map(|c| c.field.as_str()).collect();
    let answers = d
        .form
        .fields()
        .filter(|f| f.kind != FieldType::Photo)
        .filter_map(|f| {
            d.visit
                .answers
                .get(&f.key)
                .filter(|v| !v.is_null())
                .map(|v| (f, v))
        })
        .map(|(f, v)| {
            let is_changed = changed.contains(f.key.as_str());
            let class = is_changed.then_some("changed");
            let flag = is_changed.then_some("true");
            view! {
                <dt class=class>{f.label.get(lang).to_string()}</dt>
                <dd class=class data-changed=flag data-testid=format!("answer-{}", f.key)>{show_answer(f, v, lang)}</dd>
            }
        })
        .collect_view();
    let proposal_link = d.visit.proposal_id.clone().map(|id| {
        view! {
            <p><a href=format!("/review/proposals/{id}") data-testid="proposal-link">{tr("review.open_proposal")}</a></p>
        }
    });
    let decision = (d.visit.review_state == ReviewState::Submitted).then(|| {
        view! {
            <ReviewDecision visit_id=d.visit.id.clone() form=d.form.clone() photos=d.visit.photos.clone() decided=decided/>
        }
    });
    view! {
        <article class="console visit-review" data-testid="review-visit-detail">
            <h1>{d.proposal.as_ref().map(|p| p.title.clone()).unwrap_or_else(|| tr("review.visit"))}</h1>
            <p>
                <span class=format!("badge badge-{}", d.visit.review_state.as_str().replace('_', "-")) data-testid="review-state" data-state=d.visit.review_state.as_str()>
                    {tr(&format!("review_state.{}", d.visit.review_state.as_str()))}
                </span>
            </p>
            <p class="muted">
                {d.facility.as_ref().map(|f| f.name.clone()).unwrap_or_default()}
                " · " {tr("review.inspector")} ": " {d.inspector.clone()}
                " · " {crate::format::datetime_vn(d.visit.received_at_ms)}
            </p>
            {d.proposal.as_ref().map(|p| view! {
                <p>{tr("review.requested")} ": " <span class="money">{crate::format::vnd(p.requested_amount)}</span></p>
            })}
            {proposal_link}
            <p class="muted">{format!("{} · v{}", d.form.title.get(lang), d.form.version)}</p>
            {extras_error.map(|body| view! {
                <p class="error-banner" data-testid="extras-error">{error_text(lang, &body)}</p>
            })}
            <div class="fact-panels">
                {team_view(&d, lang)}
                {location_view(&d, x.distance_m, lang)}
            </div>
            {changed_view(&d, &x, lang)}
            {conflicts_view(&d, x.conflicts.clone(), decided, lang)}
            <dl class="answer-list">{answers}</dl>
            {rows_view(&d, lang)}
            {(!d.visit.photos.is_empty()).then(|| view! {
                <h2>{tr("photo.gallery")}</h2>
                <crate::photos::view::PhotoGallery photos=d.visit.photos.clone() lang=lang/>
            })}
            <ReviewHistory events=d.visit.review.clone() form=d.form.clone() photos=d.visit.photos.clone() lang=lang/>
            {decision}
            <AuditList entries=x.audit.clone() testid="visit-audit"/>
            <a href="/review">{tr("review.back")}</a>
        </article>
    }
}

/// A value for reading: strings without quotes, nothing as a dash.
pub fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// A field by its key: a top-level field, or a column of a repeat group (keys of
/// row fields may come qualified, `equipment.name`). The label names the group.
fn find_field(form: &FormDefinition, key: &str, lang: Lang) -> Option<(String, Field)> {
    if let Some(f) = form.field(key) {
        return Some((f.label.get(lang).to_string(), f.clone()));
    }
    let leaf = key.rsplit(['.', '/']).next().unwrap_or(key);
    form.fields()
        .filter(|g| g.kind == FieldType::Repeat)
        .find_map(|g| {
            g.fields.iter().find(|c| c.key == leaf).map(|c| {
                (
                    format!("{} › {}", g.label.get(lang), c.label.get(lang)),
                    c.clone(),
                )
            })
        })
}

fn photo_label(photo: &PhotoRecord, index: usize, lang: Lang) -> String {
    let name = photo
        .caption
        .clone()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| (index + 1).to_string());
    t(lang, "review.photo_option").replace("{name}", &name)
}

/// What a review comment is about: a field, or a photo (`photo:<id>`).
fn about_label(form: &FormDefinition, photos: &[PhotoRecord], key: &str, lang: Lang) -> String {
    if let Some(id) = key.strip_prefix("photo:") {
        return match photos.iter().position(|p| p.id == id) {
            Some(i) => photo_label(&photos[i], i, lang),
            None => t(lang, "review.photo_option").replace("{name}", id),
        };
    }
    find_field(form, key, lang)
        .map(|(label, _)| label)
        .unwrap_or_else(|| key.to_string())
}

fn shown(field: Option<&Field>, value: &Value, lang: Lang) -> String {
    match field {
        Some(f) if !value.is_null() => show_answer(f, value, lang),
        _ => compact(value),
    }
}

fn answer_text(d: &VisitDetail, key: &str, lang: Lang) -> Option<String> {
    let value = d.visit.answers.get(key).filter(|v| !v.is_null())?;
    Some(shown(d.form.field(key), value, lang))
}

/// Who was there: the inspector, the team members and the facility's representative.
fn team_view(d: &VisitDetail, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let dash = || "—".to_string();
    view! {
        <section class="fact-panel" data-testid="visit-team">
            <h2>{tr("review.team.title")}</h2>
            <dl class="fact-list">
                <dt>{tr("review.inspector")}</dt>
                <dd data-testid="team-inspector">{d.inspector.clone()}</dd>
                <dt>{tr("review.team.members")}</dt>
                <dd data-testid="team-members">{answer_text(d, "team_members", lang).unwrap_or_else(dash)}</dd>
                <dt>{tr("review.team.representative")}</dt>
                <dd data-testid="team-representative">{answer_text(d, "facility_representative", lang).unwrap_or_else(dash)}</dd>
            </dl>
        </section>
    }
}

/// "420 m", "3,8 km": a decimal comma, as Vietnamese writes it.
pub fn distance_text(metres: f64) -> String {
    if metres.round() < 1000.0 {
        format!("{} m", metres.round() as i64)
    } else {
        format!("{:.1} km", metres / 1000.0).replace('.', ",")
    }
}

fn coords_text((lat, lon): (f64, f64)) -> String {
    format!("{lat:.6}, {lon:.6}")
}

/// Where the visit was recorded against where the facility is registered.
fn location_view(d: &VisitDetail, distance: Option<f64>, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let here = d.visit.answers.get("location").and_then(console::geopoint);
    let registered = d.facility.as_ref().and_then(|f| Some((f.lat?, f.lon?)));
    let distance = distance.or(match (here, registered) {
        (Some(a), Some(b)) => Some(console::distance_m(a.0, a.1, b.0, b.1)),
        _ => None,
    });
    let far = distance.is_some_and(|m| m > console::DISTANCE_WARNING_M);
    let none = || tr("review.location.none");
    view! {
        <section class="fact-panel" data-testid="visit-location">
            <h2>{tr("review.location.title")}</h2>
            <dl class="fact-list">
                <dt>{tr("review.location.recorded")}</dt>
                <dd data-testid="location-visit">{here.map(coords_text).unwrap_or_else(none)}</dd>
                <dt>{tr("review.location.registered")}</dt>
                <dd data-testid="location-facility">{registered.map(coords_text).unwrap_or_else(none)}</dd>
                <dt>{tr("review.location.distance")}</dt>
                <dd data-testid="visit-distance" class=far.then_some("distance-far")
                    data-metres=distance.map(|m| m.round() as i64)>
                    {distance.map(distance_text).unwrap_or_else(|| "—".into())}
                </dd>
            </dl>
            {far.then(|| view! {
                <p class="warning-banner" role="alert" data-testid="distance-warning">
                    {tr("review.location.far").replace("{limit}", &distance_text(console::DISTANCE_WARNING_M))}
                </p>
            })}
        </section>
    }
}

/// What the inspector changed after the visit was sent back.
fn changed_view(d: &VisitDetail, x: &VisitReviewExtras, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    (!x.changed.is_empty() || !x.new_photos.is_empty()).then(|| {
        let items = x
            .changed
            .iter()
            .map(|c| {
                let found = find_field(&d.form, &c.field, lang);
                let label = found
                    .as_ref()
                    .map(|(l, _)| l.clone())
                    .unwrap_or_else(|| c.field.clone());
                let field = found.as_ref().map(|(_, f)| f);
                let before = c
                    .before
                    .as_ref()
                    .map(|v| shown(field, v, lang))
                    .unwrap_or_else(|| "—".into());
                let after = shown(field, &c.after, lang);
                view! {
                    <li data-testid="changed-field" data-field=c.field.clone()>
                        <strong>{label}</strong> ": "
                        <del data-testid="changed-before">{before}</del>
                        " → "
                        <ins data-testid="changed-after">{after}</ins>
                    </li>
                }
            })
            .collect_view();
        let photos = (!x.new_photos.is_empty()).then(|| {
            view! {
                <p data-testid="changed-new-photos" data-count=x.new_photos.len()>
                    {tr("review.changed.new_photos").replace("{n}", &x.new_photos.len().to_string())}
                </p>
            }
        });
        view! {
            <section class="changed-panel" data-testid="changed-since-sendback">
                <h2>{tr("review.changed.title")}</h2>
                <ul class="changed-list">{items}</ul>
                {photos}
            </section>
        }
    })
}

/// The label and field of a conflict: a column of one row of a repeat group, or
/// a field of the visit.
fn conflict_field(d: &VisitDetail, c: &ConflictView, lang: Lang) -> (String, Option<Field>) {
    if c.entity == "visit_row" {
        if let Some(row) = d.visit.rows.iter().find(|r| r.id == c.record_id) {
            let group = d.form.field(&row.group);
            let child = group.and_then(|g| g.fields.iter().find(|f| f.key == c.field));
            if let (Some(g), Some(child)) = (group, child) {
                let n = d
                    .visit
                    .rows
                    .iter()
                    .filter(|r| r.group == row.group)
                    .position(|r| r.id == row.id)
                    .unwrap_or(0)
                    + 1;
                let row_name = t(lang, "repeat.row").replace("{n}", &n.to_string());
                let label = format!(
                    "{} › {} › {}",
                    g.label.get(lang),
                    row_name,
                    child.label.get(lang)
                );
                return (label, Some(child.clone()));
            }
        }
    }
    match find_field(&d.form, &c.field, lang) {
        Some((label, field)) => (label, Some(field)),
        None => (c.field.clone(), None),
    }
}

fn conflicts_view(
    d: &VisitDetail,
    conflicts: Vec<ConflictView>,
    decided: RwSignal<u32>,
    lang: Lang,
) -> impl IntoView {
    (!conflicts.is_empty()).then(|| {
        let items = conflicts
            .into_iter()
            .map(|c| {
                let (label, field) = conflict_field(d, &c, lang);
                view! { <ConflictItem conflict=c label=label field=field decided=decided lang=lang/> }
            })
            .collect_view();
        view! {
            <section class="conflicts-panel" data-testid="conflicts">
                <h2>{t(lang, "review.conflict.title")}</h2>
                <p class="hint">{t(lang, "review.conflict.hint")}</p>
                <ul class="conflict-list">{items}</ul>
            </section>
        }
    })
}

/// The text a value starts from in the edit box.
fn editable_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A decimal as typed: "12,5" or "1.234,5" (Vietnamese) or "12.5".
fn parse_decimal(text: &str) -> Option<f64> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let text = if text.contains(',') {
        text.replace('.', "").replace(',', ".")
    } else {
        text
    };
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The supervisor's own value for a field, as the JSON the field stores: text as
/// a string, numbers parsed, anything else typed as JSON.
fn custom_value(kind: Option<FieldType>, text: &str) -> Result<Value, ErrorBody> {
    let not_a_number = || ErrorBody::new("conflict.not_a_number", "the value is not a number");
    match kind {
        Some(
            FieldType::Text
            | FieldType::LongText
            | FieldType::Date
            | FieldType::SelectOne
            | FieldType::YesNo,
        ) => Ok(Value::String(text.to_string())),
        Some(FieldType::Integer | FieldType::Money) => match crate::plan::parse_amount(text) {
            Ok(Some(amount)) => Ok(amount.to_json()),
            _ => Err(not_a_number()),
        },
        Some(FieldType::Decimal) => parse_decimal(text)
            .map(Value::from)
            .ok_or_else(not_a_number),
        _ => serde_json::from_str(text)
            .map_err(|e| ErrorBody::new("conflict.bad_json", e.to_string())),
    }
}

/// One conflicted field: the value both phones started from, the one that lost
/// and the one stored, and the supervisor's choice.
#[component]
fn ConflictItem(
    conflict: ConflictView,
    label: String,
    field: Option<Field>,
    decided: RwSignal<u32>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let id = conflict.id;
    let resolve = Action::new(move |value: &Value| {
        let value = value.clone();
        async move {
            let result = console::resolve_conflict(id, value).await;
            if result.is_ok() {
                decided.update(|n| *n += 1);
            }
            result
        }
    });
    let pending = resolve.pending();
    let typed_error = RwSignal::new(None::<ErrorBody>);
    let custom = RwSignal::new(editable_text(&conflict.theirs));
    let kind = field.as_ref().map(|f| f.kind);
    let multiline = matches!(kind, Some(FieldType::LongText));
    let show = |v: &Value| shown(field.as_ref(), v, lang);
    let base = conflict
        .base
        .as_ref()
        .map(show)
        .unwrap_or_else(|| "—".into());
    let (mine, theirs) = (conflict.mine.clone(), conflict.theirs.clone());
    let pick = move |value: Value| {
        typed_error.set(None);
        resolve.dispatch(value);
    };
    let save = move |_| match custom_value(kind, &custom.get_untracked()) {
        Ok(value) => pick(value),
        Err(body) => typed_error.set(Some(body)),
    };
    let input_id = format!("conflict-custom-{id}");
    let editor = if multiline {
        view! {
            <textarea id=input_id.clone() rows="3" data-testid="conflict-custom"
                prop:value=move || custom.get() on:input=move |ev| custom.set(event_target_value(&ev))></textarea>
        }
        .into_any()
    } else {
        view! {
            <input id=input_id.clone() type="text" data-testid="conflict-custom"
                prop:value=move || custom.get() on:input=move |ev| custom.set(event_target_value(&ev))/>
        }
        .into_any()
    };
    view! {
        <li class="conflict" data-testid="conflict" data-field=conflict.field.clone() data-conflict-id=id>
            <h3>{label}</h3>
            <dl class="conflict-values">
                <dt>{tr("review.conflict.base")}</dt>
                <dd data-testid="conflict-base">{base}</dd>
                <dt>{tr("review.conflict.mine")}</dt>
                <dd>
                    <span class="conflict-value" data-testid="conflict-mine">{show(&mine)}</span>
                    <span class="muted">{format!(" · {} · {}", conflict.mine_by, crate::format::datetime_vn(conflict.mine_at_ms))}</span>
                    <button type="button" class="btn btn-small btn-secondary" data-testid="conflict-pick-mine"
                        disabled=move || pending.get() on:click=move |_| pick(mine.clone())>
                        {tr("review.conflict.pick")}
                    </button>
                </dd>
                <dt>{tr("review.conflict.theirs")}</dt>
                <dd>
                    <span class="conflict-value" data-testid="conflict-theirs">{show(&theirs)}</span>
                    <span class="muted">{format!(" · {} · {}", conflict.theirs_by, crate::format::datetime_vn(conflict.theirs_at_ms))}</span>
                    <button type="button" class="btn btn-small btn-secondary" data-testid="conflict-pick-theirs"
                        disabled=move || pending.get() on:click=move |_| pick(theirs.clone())>
                        {tr("review.conflict.pick")}
                    </button>
                </dd>
            </dl>
            <div class="conflict-custom">
                <label for=input_id>{tr("review.conflict.custom")}</label>
                {editor}
                <button type="button" class="btn btn-small btn-primary" data-testid="conflict-save"
                    disabled=move || pending.get() on:click=save>
                    {tr("review.conflict.save")}
                </button>
            </div>
            {move || {
                let server = resolve.value().get().and_then(|r| r.err()).map(|FnError(b)| b);
                typed_error.get().or(server).map(|body| view! {
                    <p class="error-banner" role="alert" data-testid="conflict-error">{error_text(lang, &body)}</p>
                })
            }}
        </li>
    }
}

/// Audit entries of a record: when, who, what, and the old → new values.
#[component]
pub fn AuditList(entries: Vec<AuditEntry>, testid: &'static str) -> impl IntoView {
    let tr = use_t();
    let body = if entries.is_empty() {
        view! { <p class="muted">{move || tr("review.audit.empty")}</p> }.into_any()
    } else {
        let rows = entries
            .into_iter()
            .map(|e| {
                view! {
                    <tr data-testid="audit-entry" data-action=e.action.clone()>
                        <td>{crate::format::datetime_vn(e.at_ms)}</td>
                        <td>{e.actor.clone().unwrap_or_else(|| tr("admin.audit.anonymous"))}</td>
                        <td><code>{e.action.clone()}</code></td>
                        <td class="audit-detail" title=e.detail.clone()>{audit_detail(&e.detail)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-scroll">
                <table class="data-table audit-table">
                    <thead>
                        <tr>
                            <th>{move || tr("admin.audit.at")}</th>
                            <th>{move || tr("admin.audit.actor")}</th>
                            <th>{move || tr("admin.audit.action")}</th>
                            <th>{move || tr("review.audit.detail")}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="audit-section" data-testid=testid>
            <h2>{move || tr("review.audit.title")}</h2>
            {body}
        </section>
    }
}

/// `{"from": a, "to": b}` or `{"old": a, "new": b}` as "a → b", other keys after it.
fn old_to_new(value: &Value) -> Option<String> {
    let map = value.as_object()?;
    let (old, new) = [("from", "to"), ("old", "new")]
        .into_iter()
        .find(|(a, b)| map.contains_key(*a) || map.contains_key(*b))?;
    let (before, after) = (
        map.get(old).unwrap_or(&Value::Null),
        map.get(new).unwrap_or(&Value::Null),
    );
    let mut text = record_change(before, after)
        .unwrap_or_else(|| format!("{} → {}", compact(before), compact(after)));
    let rest: Vec<String> = map
        .iter()
        .filter(|(k, _)| k.as_str() != old && k.as_str() != new)
        .map(|(k, v)| format!("{k}: {}", compact(v)))
        .collect();
    if !rest.is_empty() {
        text.push_str(&format!(" ({})", rest.join(", ")));
    }
    Some(text)
}

/// Two versions of a record (objects, or nothing before it existed) as the keys
/// that differ: "amount: 100 → 200; recommendation: provincial → national".
fn record_change(before: &Value, after: &Value) -> Option<String> {
    let empty = serde_json::Map::new();
    let (b, a) = match (before, after) {
        (Value::Null, Value::Object(a)) => (&empty, a),
        (Value::Object(b), Value::Object(a)) => (b, a),
        _ => return None,
    };
    let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    let parts: Vec<String> = keys
        .into_iter()
        .filter(|k| present(b, k) != present(a, k))
        .map(|k| {
            let side = |m: &serde_json::Map<String, Value>| {
                m.get(k).map(compact).unwrap_or_else(|| "—".into())
            };
            format!("{k}: {} → {}", side(b), side(a))
        })
        .collect();
    Some(parts.join("; "))
}

/// A key's value, with `null` the same as absent.
fn present<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

/// The audit detail (JSON text) in one short line.
pub fn audit_detail(detail: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(detail) else {
        return detail.to_string();
    };
    if let Some(text) = old_to_new(&value) {
        return text;
    }
    match &value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}: {}", old_to_new(v).unwrap_or_else(|| compact(v))))
            .collect::<Vec<_>>()
            .join("; "),
        other => compact(other),
    }
}

/// Rows of a repeat group shown at first, and added by each "more" tap: a
/// long inventory stays a page a supervisor can read and a phone can render.
const ROWS_PAGE: usize = 50;

/// Repeat-group rows (e.g. the machines), one table per group, paged.
fn rows_view(d: &VisitDetail, lang: crate::i18n::Lang) -> impl IntoView {
    d.form
        .fields()
        .filter(|f| f.kind == FieldType::Repeat)
        .filter_map(|group| {
            let rows: Vec<Vec<String>> = d
                .visit
                .rows
                .iter()
                .filter(|r| r.group == group.key)
                .map(|row| {
                    group
                        .fields
                        .iter()
                        .map(|c| {
                            row.answers
                                .get(&c.key)
                                .filter(|v| !v.is_null())
                                .map(|v| show_answer(c, v, lang))
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .collect();
            (!rows.is_empty()).then(|| {
                let head = group
                    .fields
                    .iter()
                    .map(|c| view! { <th>{c.label.get(lang).to_string()}</th> })
                    .collect_view();
                let total = rows.len();
                let shown = RwSignal::new(ROWS_PAGE.min(total));
                let rows = StoredValue::new(rows);
                let body = move || {
                    rows.with_value(|rows| {
                        rows.iter()
                            .take(shown.get())
                            .map(|cells| {
                                let cells = cells
                                    .iter()
                                    .map(|c| view! { <td>{c.clone()}</td> })
                                    .collect_view();
                                view! { <tr data-testid="review-row">{cells}</tr> }
                            })
                            .collect_view()
                    })
                };
                let key = group.key.clone();
                view! {
                    <h2>{group.label.get(lang).to_string()}</h2>
                    <p class="muted" data-testid=format!("review-rows-{key}-count")>
                        {move || t(lang, "review.rows_shown")
                            .replace("{shown}", &shown.get().to_string())
                            .replace("{total}", &total.to_string())}
                    </p>
                    <div class="table-scroll">
                        <table class="data-table" data-testid=format!("review-rows-{key}")>
                            <thead><tr>{head}</tr></thead>
                            <tbody>{body}</tbody>
                        </table>
                    </div>
                    <Show when=move || { shown.get() < total }>
                        <button type="button" class="btn" data-testid=format!("review-rows-{key}-more")
                            on:click=move |_| shown.update(|n| *n = (*n + ROWS_PAGE).min(total))>
                            {move || t(lang, "review.rows_more")
                                .replace("{n}", &ROWS_PAGE.min(total - shown.get()).to_string())}
                        </button>
                    </Show>
                }
            })
        })
        .collect_view()
}

#[component]
fn ReviewHistory(
    events: Vec<crate::model::ReviewEvent>,
    form: FormDefinition,
    photos: Vec<PhotoRecord>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    (!events.is_empty()).then(|| {
        let items = events
            .into_iter()
            .map(|e| {
                let about = e.field.as_deref().filter(|f| !f.is_empty()).map(|f| {
                    view! {
                        " · " {tr("review.about_field")} ": "
                        <span class="history-field" data-testid="history-field" data-field=f.to_string()>
                            {about_label(&form, &photos, f, lang)}
                        </span>
                    }
                });
                view! {
                    <li>
                        {crate::format::datetime_vn(e.at_ms)} " · " {e.by.clone()} ": "
                        {tr(&format!("review_state.{}", e.from.as_str()))} " → "
                        {tr(&format!("review_state.{}", e.to.as_str()))}
                        {about}
                        {e.comment.clone().map(|c| view! { <q>{c}</q> })}
                    </li>
                }
            })
            .collect_view();
        view! {
            <h2>{tr("review.history")}</h2>
            <ul class="review-history" data-testid="review-history">{items}</ul>
        }
    })
}

/// Send back with a comment (optionally about one field or photo), approve or reject.
#[component]
fn ReviewDecision(
    visit_id: String,
    form: FormDefinition,
    photos: Vec<PhotoRecord>,
    decided: RwSignal<u32>,
) -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let comment = RwSignal::new(String::new());
    let field = RwSignal::new(String::new());
    let decide = Action::new(move |to: &ReviewState| {
        let (id, to) = (visit_id.clone(), *to);
        let (c, f) = (comment.get_untracked(), field.get_untracked());
        async move {
            let result = decide_visit(id, to, Some(c), Some(f)).await;
            if result.is_ok() {
                decided.update(|n| *n += 1);
            }
            result
        }
    });
    let options = form
        .fields()
        .filter(|f| f.kind != FieldType::Note)
        .map(|f| {
            let (key, label) = (f.key.clone(), f.label.clone());
            view! { <option value=key>{move || label.get(lang.get()).to_string()}</option> }
        })
        .collect_view();
    let photo_options = photos
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let value = format!("photo:{}", p.id);
            view! { <option value=value>{move || photo_label(&p, i, lang.get())}</option> }
        })
        .collect_view();
    view! {
        <section class="review-decision" data-testid="review-decision">
            <h2>{move || tr("review.decide")}</h2>
            <label for="review-comment">{move || tr("review.comment")}</label>
            <textarea id="review-comment" rows="3" data-testid="review-comment"
                prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
            <label for="review-field">{move || tr("review.about_field")}</label>
            <select id="review-field" data-testid="review-field" on:change=move |ev| field.set(event_target_value(&ev))>
                <option value="">{move || tr("review.whole_visit")}</option>
                {options}
                {photo_options}
            </select>
            <div class="form-actions">
                <button class="btn" data-testid="review-send-back" disabled=move || decide.pending().get()
                    on:click=move |_| { decide.dispatch(ReviewState::NeedsChanges); }>{move || tr("review.send_back")}</button>
                <button class="btn btn-primary" data-testid="review-approve" disabled=move || decide.pending().get()
                    on:click=move |_| { decide.dispatch(ReviewState::Approved); }>{move || tr("review.approve")}</button>
                <button class="btn btn-danger" data-testid="review-reject" disabled=move || decide.pending().get()
                    on:click=move |_| { decide.dispatch(ReviewState::Rejected); }>{move || tr("review.reject")}</button>
            </div>
            {move || decide.value().get().and_then(|r| r.err()).map(|FnError(body)| view! {
                <p class="error-banner" role="alert" data-testid="review-decision-error">{error_text(lang.get(), &body)}</p>
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audit_detail_shows_old_to_new() {
        assert_eq!(
            audit_detail(r#"{"from": "submitted", "to": "approved"}"#),
            "submitted → approved"
        );
        assert_eq!(
            audit_detail(
                r#"{"old": {"recommendation": "provincial", "amount": 5, "rationale": null},
                    "new": {"recommendation": "national", "amount": 7, "rationale": "x"}}"#
            ),
            "amount: 5 → 7; rationale: — → x; recommendation: provincial → national"
        );
        assert_eq!(audit_detail("not json"), "not json");
    }

    #[test]
    fn distances_read_in_metres_then_kilometres_with_a_decimal_comma() {
        assert_eq!(distance_text(420.4), "420 m");
        assert_eq!(distance_text(3849.0), "3,8 km");
    }

    #[test]
    fn a_custom_value_takes_the_fields_type() {
        assert_eq!(
            custom_value(Some(FieldType::Text), "Hòa Phát"),
            Ok(Value::from("Hòa Phát"))
        );
        assert_eq!(
            custom_value(Some(FieldType::Money), "1.500.000"),
            Ok(Value::from(1_500_000))
        );
        assert_eq!(
            custom_value(Some(FieldType::Decimal), "12,5"),
            Ok(Value::from(12.5))
        );
        assert_eq!(
            custom_value(Some(FieldType::Integer), "mười")
                .unwrap_err()
                .code,
            "conflict.not_a_number"
        );
        assert_eq!(
            custom_value(Some(FieldType::SelectMany), r#"["local"]"#),
            Ok(serde_json::json!(["local"]))
        );
    }

    #[test]
    fn the_list_url_keeps_the_filters_and_the_page() {
        assert_eq!(list_url(&VisitQuery::default().normalized()), "/review");
        let q = VisitQuery {
            state: Some(ReviewState::Submitted),
            page: 2,
            ..Default::default()
        };
        assert_eq!(list_url(&q), "/review?state=submitted&page=2");
    }
}
