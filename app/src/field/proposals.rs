//! The inspector's home: the proposals of their districts (from IndexedDB, so it
//! works offline) with a diacritic-insensitive filter, and their own visits.

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
}

pub fn rows(
    proposals: Vec<Proposal>,
    facilities: &[Facility],
    units: &[AdminUnit],
) -> Vec<ProposalRow> {
    let mut rows: Vec<ProposalRow> = proposals
        .into_iter()
        .map(|p| {
            let facility = facilities.iter().find(|f| f.id == p.facility_id).cloned();
            let district = p
                .registered_by()
                .and_then(|code| units.iter().find(|u| u.is(&p.unit_tree, code)))
                .cloned();
            let search = crate::search::fold(&format!(
                "{} {} {}",
                p.title,
                facility.as_ref().map(|f| f.name.as_str()).unwrap_or(""),
                district.as_ref().map(|d| d.full_name()).unwrap_or_default()
            ));
            ProposalRow {
                proposal: p,
                facility,
                district,
                search,
            }
        })
        .collect();
    // Year by year (an open older year is work still to finish), then by the
    // unit that registered the proposal and its title.
    rows.sort_by(|a, b| {
        let key = |r: &ProposalRow| {
            (
                r.proposal.year,
                r.proposal.registered_by().unwrap_or_default().to_string(),
                r.proposal.title.clone(),
            )
        };
        key(a).cmp(&key(b))
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
            <section>
                <h1>{move || tr("home.proposals")}</h1>
                <ProposalList/>
                <crate::field::visits::OnSiteVisit/>
            </section>
            <section>
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
    let filtered = move || {
        let q = query.get();
        rows.get()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| crate::search::matches(&r.search, &q))
            .collect::<Vec<_>>()
    };
    view! {
        <div class="toolbar">
            <input
                type="search"
                data-testid="proposal-search"
                placeholder=move || tr("home.search")
                prop:value=move || query.get()
                on:input=move |ev| query.set(event_target_value(&ev))
            />
        </div>
        <Show
            when=move || !filtered().is_empty()
            fallback=move || view! { <p class="empty-state">{move || tr("home.no_proposals")}</p> }
        >
            <ul class="list" data-testid="proposal-list">
                <For each=filtered key=|r| r.proposal.id.clone() let:row>
                    <ProposalItem row=row/>
                </For>
            </ul>
        </Show>
    }
}

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
    rows(proposals, &facilities, &units)
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
    let start = move |_| {
        let (proposal_id, facility_id, navigate) =
            (proposal_id.clone(), facility_id.clone(), navigate.clone());
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Some(id) =
                crate::field::visits::start_visit(state, proposal_id, facility_id).await
            {
                navigate(&format!("/visits/{id}"), Default::default());
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (proposal_id, facility_id, navigate, state);
    };
    view! {
        <li class="list-item" data-testid="proposal-item" data-proposal-id=row.proposal.id.clone()>
            <div class="item-title">{row.proposal.title.clone()}</div>
            <div class="item-meta">
                {row.facility.as_ref().map(|f| f.name.clone()).unwrap_or_default()}
                " · "
                {row.district.as_ref().map(|d| d.full_name()).unwrap_or_default()}
                " · "
                <span class="money">{crate::format::vnd(row.proposal.requested_amount)}</span>
            </div>
            <div class="item-badges">
                <button class="btn btn-primary btn-small" data-testid="start-visit" on:click=start>
                    {move || tr("home.start_visit")}
                </button>
            </div>
        </li>
    }
}
