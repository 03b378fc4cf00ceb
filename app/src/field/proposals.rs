//! The inspector's home: the proposals of their districts (from IndexedDB, so it
//! works offline) with a diacritic-insensitive filter, and their own visits.
//!
//! One file (about 525 lines, 90 of them tests): the list's rows and the card
//! that shows one are read together.

use crate::field::client::use_client;
use crate::field::visits::VisitList;
use crate::i18n::use_t;
use crate::model::{AdminUnit, Facility, Proposal, Role};
use crate::root::Loading;
use leptos::prelude::*;

/// A proposal with what the list shows beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposalRow {
    pub proposal: Proposal,
    pub facility: Option<Facility>,
    pub district: Option<AdminUnit>,
    pub search: String,
    /// This inspector's visits of the proposal on this phone, newest first.
    pub visits: Vec<VisitMark>,
}

/// What a proposal's card says of one of its visits.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitMark {
    pub id: String,
    pub sync_state: &'static str,
    pub review_state: crate::model::ReviewState,
    pub updated_at_ms: i64,
}

/// Hangs each visit on its proposal's row, newest first.
pub fn attach_visits(
    rows: &mut [ProposalRow],
    mut visits: Vec<VisitMark>,
    proposal_of: impl Fn(&VisitMark) -> Option<String>,
) {
    visits.sort_by_key(|v| std::cmp::Reverse(v.updated_at_ms));
    for v in visits {
        if let Some(pid) = proposal_of(&v) {
            if let Some(row) = rows.iter_mut().find(|r| r.proposal.id == pid) {
                row.visits.push(v);
            }
        }
    }
}

pub fn rows(
    proposals: Vec<Proposal>,
    facilities: &[Facility],
    units: &[AdminUnit],
) -> Vec<ProposalRow> {
    let by_id: std::collections::HashMap<&str, &Facility> =
        facilities.iter().map(|f| (f.id.as_str(), f)).collect();
    let unit_of: std::collections::HashMap<(&str, &str), &AdminUnit> = units
        .iter()
        .map(|u| ((u.tree.as_str(), u.code.as_str()), u))
        .collect();
    // The facility's own place and the units above it, in its own tree: a
    // 2026 proposal is registered in a 2025 commune, and its facility is still
    // found by the 2020 district and commune an inspector knows it by.
    let place_of = |f: &Facility| {
        let mut names = Vec::new();
        let mut at = f
            .commune_code
            .as_deref()
            .or(f.district_code.as_deref())
            .and_then(|c| unit_of.get(&(f.unit_tree.as_str(), c)));
        while let Some(u) = at.filter(|_| names.len() < 4) {
            names.push(u.full_name());
            at = u
                .parent
                .as_deref()
                .and_then(|p| unit_of.get(&(f.unit_tree.as_str(), p)));
        }
        names.join(" ")
    };
    let mut rows: Vec<ProposalRow> = proposals
        .into_iter()
        .map(|p| {
            // Indexed lookups: a province's 10,000 proposals against as many
            // facilities would otherwise be 10⁸ comparisons on a phone.
            let facility = by_id.get(p.facility_id.as_str()).map(|f| (*f).clone());
            let district = p
                .registered_by()
                .and_then(|code| units.iter().find(|u| u.is(&p.unit_tree, code)))
                .cloned();
            let search = crate::search::fold(&format!(
                "{} {} {} {}",
                p.title,
                facility.as_ref().map(|f| f.name.as_str()).unwrap_or(""),
                district.as_ref().map(|d| d.full_name()).unwrap_or_default(),
                facility.as_ref().map(&place_of).unwrap_or_default()
            ));
            ProposalRow {
                proposal: p,
                facility,
                district,
                search,
                visits: Vec::new(),
            }
        })
        .collect();
    // Year by year (an open older year is work still to finish), then by the
    // unit that registered the proposal and its title.
    rows.sort_by_cached_key(|r| {
        (
            r.proposal.year,
            r.proposal.registered_by().unwrap_or_default().to_string(),
            // In Vietnamese order, as the office lists them: đ after d.
            crate::collation::key(&r.proposal.title),
        )
    });
    rows
}

#[component]
pub fn HomePage() -> impl IntoView {
    let state = use_client();
    let tr = use_t();
    let navigate = leptos_router::hooks::use_navigate();
    // Not logged in on this phone: to the login page. Supervisors without an
    // inspector role go to the review list, administrators without either to
    // their accounts page.
    Effect::new(move |_| {
        if !state.loaded.get() {
            return;
        }
        match state.user.get() {
            None => navigate("/login", Default::default()),
            Some(u) if u.has(Role::Inspector) => {}
            Some(u) if u.has(Role::Supervisor) => navigate("/review", Default::default()),
            Some(_) => navigate("/admin", Default::default()),
        }
    });
    view! {
        <Show when=move || state.loaded.get() && state.user.get().is_some() fallback=|| view! { <Loading/> }>
            // The inspector's own visits and the phone's storage are one tap
            // away, not below every proposal.
            <nav class="home-sections" aria-label=move || tr("home.sections") data-testid="home-sections">
                <a href="#proposals" class="btn btn-small btn-secondary">{move || tr("home.proposals")}</a>
                <a href="#my-visits" class="btn btn-small btn-secondary" data-testid="jump-my-visits">{move || tr("home.my_visits")}</a>
                <a href="#storage" class="btn btn-small btn-secondary" data-testid="jump-storage">{move || tr("storage.title")}</a>
            </nav>
            <section id="proposals">
                <h1>{move || tr("home.proposals")}</h1>
                <ProposalList/>
                <crate::field::visits::OnSiteVisit/>
            </section>
            <section id="my-visits">
                <h2>{move || tr("home.my_visits")}</h2>
                <VisitList/>
            </section>
            <crate::field::durability::DurabilityPanel/>
            <section class="backup-section" data-testid="home-backup">
                <h2>{move || tr("home.backup_title")}</h2>
                <p class="muted">{move || tr("home.backup_hint")}</p>
                <crate::field::backup::BackupButton/>
                <crate::field::backup::ImportBackup/>
            </section>
        </Show>
    }
}

#[component]
fn ProposalList() -> impl IntoView {
    let state = use_client();
    let tr = use_t();
    let query = RwSignal::new(String::new());
    let rows = LocalResource::new(move || {
        let _ = state.data_version.get();
        let user = state.user.get();
        async move {
            let Some(user) = user else { return Vec::new() };
            load_rows(&user.id).await
        }
    });
    // Filtered once per change of the rows or the search, not per reader.
    let filtered = Memo::new(move |_| {
        let q = query.get();
        rows.get()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| crate::search::matches(&r.search, &q))
            .collect::<Vec<_>>()
    });
    // A province can hold 10,000 proposals: the list draws a page of them and
    // draws more on demand; the search always covers all of them.
    let shown = RwSignal::new(PAGE);
    Effect::new(move |_| {
        query.track();
        shown.set(PAGE);
    });
    let visible =
        move || filtered.with(|f| f.iter().take(shown.get()).cloned().collect::<Vec<_>>());
    let more = move || filtered.with(|f| f.len().saturating_sub(shown.get()));
    view! {
        // `data-loaded`: the rows have been read from the phone once; before
        // that every proposal is missing from the list.
        <div class="toolbar" data-testid="proposal-toolbar" data-loaded=move || rows.with(Option::is_some).to_string()>
            <input
                type="search"
                data-testid="proposal-search"
                aria-label=move || tr("home.search")
                placeholder=move || tr("home.search")
                prop:value=move || query.get()
                on:input=move |ev| query.set(event_target_value(&ev))
            />
            // What a search found, said to a screen reader as it changes (the
            // list itself changes silently). Empty until something is typed.
            <p class="visually-hidden" role="status" data-testid="proposal-search-count">
                {move || {
                    if query.with(|q| q.trim().is_empty()) {
                        return String::new();
                    }
                    match filtered.with(Vec::len) {
                        0 => tr("home.no_match"),
                        1 => tr("home.found_one"),
                        n => tr("home.found").replace("{n}", &n.to_string()),
                    }
                }}
            </p>
        </div>
        <Show
            when=move || filtered.with(|f| !f.is_empty())
            fallback=move || view! {
                <p class="empty-state" data-testid="proposal-list-empty">
                    {move || if query.with(|q| q.trim().is_empty()) { tr("home.no_proposals") } else { tr("home.no_match") }}
                </p>
            }
        >
            <ul class="list" data-testid="proposal-list">
                // Keyed by the visits too: a saved or reviewed visit redraws its card.
                <For each=visible key=|r| (r.proposal.id.clone(), r.visits.iter().map(|v| (v.id.clone(), v.sync_state, v.review_state.as_str())).collect::<Vec<_>>()) let:row>
                    <ProposalItem row=row/>
                </For>
            </ul>
            <Show when=move || { more() > 0 }>
                <button class="btn btn-secondary show-more" data-testid="show-more-proposals"
                    on:click=move |_| shown.update(|n| *n += PAGE)>
                    {move || {
                        let n = more().min(PAGE);
                        tr(if n == 1 { "home.show_more_one" } else { "home.show_more" })
                            .replace("{n}", &n.to_string())
                            .replace("{left}", &more().to_string())
                    }}
                </button>
            </Show>
        </Show>
    }
}

/// Proposal cards drawn at a time.
const PAGE: usize = 100;

/// What the phone knows of the catalog in a user's scope: proposals, facilities
/// and units (empty when IndexedDB cannot be read).
#[cfg(feature = "hydrate")]
pub async fn load_catalog(user_id: &str) -> (Vec<Proposal>, Vec<Facility>, Vec<AdminUnit>) {
    let Ok(db) = crate::field::offline::db().await else {
        return Default::default();
    };
    (
        db.proposals(user_id).await.unwrap_or_default(),
        db.facilities(user_id).await.unwrap_or_default(),
        db.units().await.unwrap_or_default(),
    )
}

#[cfg(feature = "hydrate")]
async fn load_rows(user_id: &str) -> Vec<ProposalRow> {
    let (proposals, facilities, units) = load_catalog(user_id).await;
    let mut rows = rows(proposals, &facilities, &units);
    let visits = match crate::field::offline::db().await {
        Ok(db) => db.visits(user_id).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let owner: std::collections::HashMap<String, String> = visits
        .iter()
        .filter_map(|v| Some((v.id.clone(), v.proposal_id.clone()?)))
        .collect();
    let marks = visits
        .iter()
        .map(|v| VisitMark {
            id: v.id.clone(),
            sync_state: v.sync_state.as_str(),
            review_state: v.review_state,
            updated_at_ms: v.updated_at_ms,
        })
        .collect();
    attach_visits(&mut rows, marks, |m| owner.get(&m.id).cloned());
    rows
}

#[cfg(not(feature = "hydrate"))]
async fn load_rows(_user_id: &str) -> Vec<ProposalRow> {
    Vec::new()
}

#[component]
fn ProposalItem(row: ProposalRow) -> impl IntoView {
    let tr = use_t();
    let state = use_client();
    let navigate = leptos_router::hooks::use_navigate();
    let proposal_id = row.proposal.id.clone();
    let facility_id = row.proposal.facility_id.clone();
    let latest = row.visits.first().map(|v| v.id.clone());
    let has_visit = latest.is_some();
    // A second visit of the same proposal is easy to start by mistake: ask.
    let asking = RwSignal::new(false);
    // The question takes the focus on its safe answer, and gives it back to
    // the button that asked: a removed button left the keyboard nowhere.
    let start_button = NodeRef::<leptos::html::Button>::new();
    let no_button = NodeRef::<leptos::html::Button>::new();
    let ask = move || {
        asking.set(true);
        request_animation_frame(move || {
            if let Some(b) = no_button.get_untracked() {
                let _ = b.focus();
            }
        });
    };
    // A double tap must make one visit: the second tap lands while the first
    // is still writing to IndexedDB.
    let starting = RwSignal::new(false);
    // A start that made no visit (no form on the phone yet, or IndexedDB
    // refused the write) says so instead of turning the button back on.
    let failed = RwSignal::new(false);
    let start = {
        let navigate = navigate.clone();
        move || {
            if starting.get_untracked() {
                return;
            }
            starting.set(true);
            failed.set(false);
            let (proposal_id, facility_id, navigate) =
                (proposal_id.clone(), facility_id.clone(), navigate.clone());
            #[cfg(feature = "hydrate")]
            leptos::task::spawn_local(async move {
                let made = crate::field::visits::start_visit(state, proposal_id, facility_id).await;
                match made {
                    Some(id) => navigate(&format!("/visits/{id}"), Default::default()),
                    None => {
                        let _ = starting.try_set(false);
                        let _ = failed.try_set(true);
                    }
                }
            });
            #[cfg(not(feature = "hydrate"))]
            let _ = (proposal_id, facility_id, navigate, state);
        }
    };
    let start_again = start.clone();
    let question_id = format!("again-{}", row.proposal.id);
    let marks = row
        .visits
        .iter()
        .map(|v| {
            let review = v.review_state.as_str();
            view! {
                <span class=format!("badge badge-sync badge-{}", v.sync_state)
                    data-testid="proposal-visit-sync" data-state=v.sync_state>
                    {let key = format!("sync_state.{}", v.sync_state); move || tr(&key)}
                </span>
                <span class=format!("badge badge-{}", review.replace('_', "-"))
                    data-testid="proposal-visit-review" data-state=review>
                    {let key = format!("review_state.{review}"); move || tr(&key)}
                </span>
            }
        })
        .collect_view();
    view! {
        <li class="list-item" data-testid="proposal-item" data-proposal-id=row.proposal.id.clone()
            data-visits=row.visits.len()>
            <div class="item-title">{row.proposal.title.clone()}</div>
            <div class="item-meta">
                {row.facility.as_ref().map(|f| f.name.clone()).unwrap_or_default()}
                " · "
                {row.district.as_ref().map(|d| d.full_name()).unwrap_or_default()}
                " · "
                <span class="money">{crate::format::vnd(row.proposal.requested_amount)}</span>
            </div>
            <div class="item-badges">
                {marks}
                {latest.map(|id| view! {
                    <a class="btn btn-primary btn-small" data-testid="open-visit" href=format!("/visits/{id}")>
                        {move || tr("home.open_visit")}
                    </a>
                })}
                <button class=if has_visit { "btn btn-secondary btn-small" } else { "btn btn-primary btn-small" }
                    data-testid="start-visit" disabled=move || starting.get() node_ref=start_button
                    on:click=move |_| if has_visit { ask() } else { start() }>
                    {move || if has_visit { tr("home.start_again") } else { tr("home.start_visit") }}
                </button>
            </div>
            <Show when=move || failed.get()>
                <p class="error" role="alert" data-testid="start-visit-failed">{move || tr("home.start_failed")}</p>
            </Show>
            <Show when=move || asking.get()>
                <div class="confirm-panel" role="alertdialog" aria-labelledby=question_id.clone()
                    data-testid="confirm-new-visit-panel">
                    <p id=question_id.clone()>{move || tr("home.start_again_question")}</p>
                    <div class="admin-actions">
                        <button class="btn btn-primary btn-small" data-testid="confirm-new-visit" on:click={
                            let start_again = start_again.clone();
                            move |_| {
                                asking.set(false);
                                start_again();
                            }
                        }>{move || tr("home.start_again_yes")}</button>
                        <button class="btn btn-secondary btn-small" data-testid="cancel-new-visit" node_ref=no_button
                            on:click=move |_| {
                                asking.set(false);
                                if let Some(b) = start_button.get_untracked() {
                                    let _ = b.focus();
                                }
                            }>{move || tr("home.start_again_no")}</button>
                    </div>
                </div>
            </Show>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::{attach_visits, rows, ProposalRow, VisitMark};
    use crate::model::{Proposal, ReviewState};

    fn row(id: &str) -> ProposalRow {
        let proposal: Proposal = serde_json::from_value(serde_json::json!({
            "id": id, "facility_id": "f", "year": 2026, "title": id, "requested_amount": 1,
            "unit_tree": "t", "support_kind": "k", "status": "s"
        }))
        .unwrap();
        ProposalRow {
            proposal,
            facility: None,
            district: None,
            search: String::new(),
            visits: Vec::new(),
        }
    }

    fn mark(id: &str, at: i64) -> VisitMark {
        VisitMark {
            id: id.into(),
            sync_state: "synced",
            review_state: ReviewState::InProgress,
            updated_at_ms: at,
        }
    }

    /// The phone lists a district's proposals in Vietnamese order, as the
    /// office does: "Đóng" after "Dụng", not before it (folded) or after
    /// "Xây" (bytes).
    #[test]
    fn a_districts_proposals_read_in_vietnamese_order() {
        let proposals = ["Xây lò", "Đóng tàu", "dệt vải", "Dụng cụ"]
            .iter()
            .map(|t| row(t).proposal)
            .collect();
        let titles: Vec<String> = rows(proposals, &[], &[])
            .into_iter()
            .map(|r| r.proposal.title)
            .collect();
        assert_eq!(titles, ["dệt vải", "Dụng cụ", "Đóng tàu", "Xây lò"]);
    }

    /// A 2026 proposal registered in a 2025 commune is found by the 2020
    /// commune and district its facility is known by, without diacritics.
    #[test]
    fn a_proposal_is_found_by_its_facilitys_former_place() {
        let unit = |tree: &str, code: &str, name: &str, kind: &str, parent: Option<&str>| {
            serde_json::from_value::<crate::model::AdminUnit>(serde_json::json!({
                "tree": tree, "code": code, "name": name, "kind": kind,
                "level": if parent.is_some() { "commune" } else { "district" }, "parent": parent
            }))
            .unwrap()
        };
        let units = [
            unit("bac-giang-2020", "216", "Tân Yên", "huyện", None),
            unit("bac-giang-2020", "07366", "Quế Nham", "xã", Some("216")),
            unit("bac-ninh-2025", "07228", "Đa Mai", "phường", None),
        ];
        let facility: crate::model::Facility = serde_json::from_value(serde_json::json!({
            "id": "f", "name": "Xưởng sấy vải", "unit_tree": "bac-giang-2020",
            "commune_code": "07366", "industry_group": "processing"
        }))
        .unwrap();
        let mut proposal = row("Hỗ trợ lò sấy").proposal;
        proposal.unit_tree = "bac-ninh-2025".into();
        proposal.commune_code = Some("07228".into());
        let found = rows(vec![proposal], &[facility], &units);
        for phrase in ["que nham", "tan yen", "da mai", "xuong say"] {
            assert!(
                found[0].search.contains(phrase),
                "{phrase} in {}",
                found[0].search
            );
        }
    }

    #[test]
    fn each_card_gets_its_own_visits_newest_first() {
        let mut rows = vec![row("p1"), row("p2")];
        let owner = |m: &VisitMark| match m.id.as_str() {
            "a" | "c" => Some("p1".to_string()),
            "b" => Some("p2".to_string()),
            _ => None,
        };
        attach_visits(
            &mut rows,
            vec![mark("a", 1), mark("b", 2), mark("c", 3), mark("lone", 4)],
            owner,
        );
        let ids = |r: &ProposalRow| r.visits.iter().map(|v| v.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&rows[0]), ["c", "a"]);
        assert_eq!(ids(&rows[1]), ["b"]);
    }
}
