//! The visit list: its query kept in the URL (reload and back keep the
//! filters), filters by place across unit trees, counts per state, the page
//! of results and the exports of what is filtered.
//!
//! One file (about 535 lines): the filters, the counts and the table all read and write the one URL query (`ListNav`); apart, each would take it as a parameter.

use super::*;
use crate::model::unit_key;
use crate::office::date_input::DateInput;
use crate::office::download::DownloadLink;

/// The list's query as the URL holds it, so reload and back keep the filters.
pub(super) fn query_from(map: &ParamsMap) -> VisitQuery {
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
        per_page: contract::PER_PAGE,
    }
    .normalized()
}

/// The list's URL for a query: the exports' query string plus the page.
pub(super) fn list_url(q: &VisitQuery) -> String {
    let mut qs = contract::query_string(q);
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

pub(super) fn export_url(file: &str, q: &VisitQuery) -> String {
    let qs = contract::query_string(q);
    if qs.is_empty() {
        format!("/api/exports/{file}")
    } else {
        format!("/api/exports/{file}?{qs}")
    }
}

pub(super) fn non_empty(v: String) -> Option<String> {
    (!v.trim().is_empty()).then_some(v)
}

/// Where the list goes when a control changes: a new URL (so back works), on the
/// first page unless the change is the page itself.
#[derive(Clone, Copy)]
pub(super) struct ListNav {
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
    let page = Resource::new(move || query.get(), contract::search_visits);
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
                <DownloadLink testid="export-visits-xlsx" href=Signal::derive(move || query.with(|q| export_url("visits.xlsx", q)))
                    label=Signal::derive(move || tr("review.export_xlsx"))/>
                <DownloadLink testid="export-visits-csv" href=Signal::derive(move || query.with(|q| export_url("visits.csv", q)))
                    label=Signal::derive(move || tr("review.export_csv"))/>
                <DownloadLink testid="export-visits-photos" href=Signal::derive(move || query.with(|q| export_url("visit-photos.zip", q)))
                    label=Signal::derive(move || tr("review.export_photos"))/>
            </p>
            <details class="review-import">
                <summary>{move || tr("review.import_backup")}</summary>
                <p class="hint">{move || tr("review.import_hint")}</p>
                <crate::field::backup::ImportBackup/>
            </details>
        </div>
    }
}

/// The filter bar. Every control writes the URL; the URL is the only state.
#[component]
pub(super) fn VisitFilters(nav: ListNav) -> impl IntoView {
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
                <DateInput testid="filter-from"
                    value=Signal::derive(move || nav.with(|q| q.from.clone().unwrap_or_default()))
                    on_change=move |v| nav.change(|q| q.from = non_empty(v))/>
            </label>
            <label class="filter">
                <span>{move || tr("review.filter.to")}</span>
                <DateInput testid="filter-to"
                    value=Signal::derive(move || nav.with(|q| q.to.clone().unwrap_or_default()))
                    on_change=move |v| nav.change(|q| q.to = non_empty(v))/>
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

/// A unit as a filter choice: its full name, with its tree's year ("phường
/// Đa Mai (2025)") when units of several trees are offered.
fn choice_label(u: &crate::model::AdminUnit, several_trees: bool) -> String {
    with_year(u.full_name(), u, several_trees)
}

fn with_year(label: String, u: &crate::model::AdminUnit, several_trees: bool) -> String {
    let year: String = u
        .tree
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    if several_trees && year.len() == 4 {
        format!("{label} ({})", year.chars().rev().collect::<String>())
    } else {
        label
    }
}

/// Each commune's label. A name two communes of one tree share (2020's xã
/// Phúc Sơn is in Tân Yên and in Lục Nam) also names its district, or the
/// supervisor picks one of two identical lines by chance.
pub(super) fn commune_labels(
    communes: &[crate::model::AdminUnit],
    districts: &[crate::model::AdminUnit],
    several_trees: bool,
) -> Vec<String> {
    let mut seen = std::collections::HashMap::<(&str, String), usize>::new();
    for u in communes {
        *seen.entry((u.tree.as_str(), u.full_name())).or_default() += 1;
    }
    communes
        .iter()
        .map(|u| {
            let name = u.full_name();
            let shared = seen[&(u.tree.as_str(), name.clone())] > 1;
            let district = u
                .parent
                .as_ref()
                .and_then(|p| districts.iter().find(|d| d.tree == u.tree && &d.code == p));
            let label = match district {
                Some(d) if shared => format!("{name} — {}", d.full_name()),
                _ => name,
            };
            with_year(label, u, several_trees)
        })
        .collect()
}

/// District, commune and inspector: their choices come from the server.
#[component]
pub(super) fn UnitFilters(nav: ListNav) -> impl IntoView {
    let tr = use_t();
    let choices = Resource::new(|| (), |_| contract::visit_filter_choices());
    view! {
        <Transition fallback=|| ()>
            {move || choices.get().map(|result| {
                let choices = result.unwrap_or_default();
                let districts = choices.districts.clone();
                // Codes are reused across unit trees (2020's phường Hoàng Văn
                // Thụ and 2025's phường Bắc Giang are both 07210): a choice is
                // the unit's key, and its label names the tree's year when
                // the lists hold more than one tree.
                let several_trees = choices.districts.iter().chain(&choices.communes)
                    .map(|u| u.tree.as_str()).collect::<std::collections::HashSet<_>>().len() > 1;
                let labels = commune_labels(&choices.communes, &choices.districts, several_trees);
                let communes = StoredValue::new(choices.communes.clone().into_iter().zip(labels).collect::<Vec<_>>());
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
                                let key = unit_key(&u.tree, &u.code);
                                let value = key.clone();
                                let sel = Signal::derive(move || nav.with(|q| q.district.as_deref() == Some(key.as_str())));
                                view! {
                                    <option value=value selected=move || sel.get() prop:selected=move || sel.get()>
                                        {choice_label(&u, several_trees)}
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
                                    .filter(|(c, _)| district.is_none() || c.parent.as_ref().map(|p| unit_key(&c.tree, p)) == district)
                                    .map(|(u, label)| {
                                        let key = unit_key(&u.tree, &u.code);
                                        let value = key.clone();
                                        let sel = Signal::derive(move || nav.with(|q| q.commune.as_deref() == Some(key.as_str())));
                                        view! {
                                            <option value=value selected=move || sel.get() prop:selected=move || sel.get()>
                                                {label.clone()}
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
pub(super) fn VisitResults(page: VisitPage, nav: ListNav) -> impl IntoView {
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
        view! { <p class="empty-state" data-testid="review-empty">{move || tr(empty)}</p> }
            .into_any()
    } else {
        view! { <VisitTable items=page.items/> }.into_any()
    };
    let total = page.total;
    let Locale(lang) = use_locale();
    let info = move || page_info(&tr("review.page_info"), current, pages, total, lang.get());
    view! {
        <StateCounts counts=page.counts nav=nav/>
        {table}
        <nav class="pager" aria-label=move || tr("review.pages")>
            <button type="button" class="btn btn-small" data-testid="page-prev" disabled={current <= 1}
                on:click=move |_| nav.change(|q| q.page = current - 1)>{move || tr("review.page_prev")}</button>
            <span data-testid="page-info" data-page=current data-pages=pages data-total=page.total>{info}</span>
            <button type="button" class="btn btn-small" data-testid="page-next" disabled={current >= pages}
                on:click=move |_| nav.change(|q| q.page = current + 1)>{move || tr("review.page_next")}</button>
        </nav>
    }
}

/// "Trang 1/200 · 10.000 phiếu": numbers grouped the way the language writes them.
pub(super) fn page_info(
    template: &str,
    page: impl std::fmt::Display,
    pages: impl std::fmt::Display,
    total: i64,
    lang: crate::i18n::Lang,
) -> String {
    let grouped = crate::format::thousands(total);
    let grouped = match lang {
        crate::i18n::Lang::Vi => grouped,
        _ => grouped.replace('.', ","),
    };
    template
        .replace("{page}", &page.to_string())
        .replace("{pages}", &pages.to_string())
        .replace("{total}", &grouped)
}

/// "Chờ duyệt 12": a chip per state that filters the list to it.
#[component]
pub(super) fn StateCounts(
    counts: std::collections::BTreeMap<String, i64>,
    nav: ListNav,
) -> impl IntoView {
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
                    {move || tr(&format!("review_state.{}", s.as_str()))} " " <span class="chip-count">{n}</span>
                </button>
            }
        })
        .collect_view();
    let none = nav.query.with_untracked(|q| q.state.is_none());
    view! {
        <div class="state-counts" role="group" aria-label=move || tr("review.state")>
            <button type="button" class="chip" data-testid="state-count-all" data-count=all
                aria-pressed=none.to_string()
                on:click=move |_| nav.change(|q| q.state = None)>
                {move || tr("review.filter.all")} " " <span class="chip-count">{all}</span>
            </button>
            {chips}
        </div>
    }
}

#[component]
pub(super) fn VisitTable(items: Vec<VisitSummary>) -> impl IntoView {
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
                        <th>{move || tr("review.received")}</th>
                        <th>{move || tr("review.proposal")}</th>
                        <th>{move || tr("review.district")}</th>
                        <th>{move || tr("review.inspector")}</th>
                        <th>{move || tr("review.state")}</th>
                        <th class="num">{move || tr("review.photos")}</th>
                        <th class="num">{move || tr("review.conflicts")}</th>
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
