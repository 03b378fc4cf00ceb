//! The register of facilities on `/registry`: a search (words, tax code or
//! a place in either tree), the facilities found, and the panel of the one
//! chosen or of a new one.

use super::contract::{find_facilities, registry_units, FacilityEntry};
use super::facility_panel::FacilityPanel;
use crate::i18n::{use_locale, use_t, Locale};
use crate::office::error_text;
use leptos::prelude::*;

/// Which facility the panel shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Chosen {
    New,
    Existing(String),
}

#[component]
pub fn FacilityRegister() -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let typed = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let inactive = RwSignal::new(false);
    let version = RwSignal::new(0u32);
    let chosen = RwSignal::new(None::<Chosen>);
    // "Saved" outlives the panel a save replaces (a new facility becomes an
    // existing one, and an existing one reloads), and ends when another opens.
    let saved = RwSignal::new(false);
    // In the browser only: the list follows the search, never the server's render.
    // Each answer names the search it answers: its marker (`data-query`) says
    // what the rows are for, not what was typed since.
    let found = LocalResource::new(move || {
        let (q, all) = (query.get(), inactive.get());
        version.track();
        async move { (q.clone(), find_facilities(q, all).await) }
    });
    let units = LocalResource::new(registry_units);
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        query.set(typed.get_untracked());
    };
    let row = move |e: FacilityEntry| {
        let id = e.facility.id.clone();
        let row_id = id.clone();
        let industry =
            crate::i18n::industry_label(lang.get_untracked(), &e.facility.industry_group);
        view! {
            <tr data-testid="facility-row" data-id=row_id data-active=e.active.to_string()>
                <td>{e.facility.name.clone()}
                    {(!e.active).then(|| view! { <span class="badge">{move || tr("registry.inactive_badge")}</span> })}
                </td>
                <td>{e.place.clone()}</td>
                <td>{industry}</td>
                <td>{e.tax_code.clone().unwrap_or_default()}</td>
                <td>
                    <button type="button" class="btn btn-small" data-testid="facility-open"
                        on:click=move |_| { saved.set(false); chosen.set(Some(Chosen::Existing(id.clone()))); }>
                        {move || tr("registry.open")}
                    </button>
                </td>
            </tr>
        }
    };
    view! {
        <section class="card facility-register" data-testid="facility-register">
            <h2>{move || tr("registry.facilities_title")}</h2>
            <form class="toolbar" role="search" on:submit=search>
                <label class="filter grow">
                    <span class="visually-hidden">{move || tr("registry.find")}</span>
                    <input type="search" data-testid="facility-search" prop:value=move || typed.get()
                        placeholder=move || tr("registry.find_placeholder")
                        on:input=move |ev| typed.set(event_target_value(&ev))/>
                </label>
                <label class="filter">
                    <input type="checkbox" data-testid="facility-show-inactive" prop:checked=move || inactive.get()
                        on:change=move |ev| inactive.set(event_target_checked(&ev))/>
                    <span>{move || tr("registry.show_inactive")}</span>
                </label>
                <button type="submit" class="btn btn-small btn-secondary" data-testid="facility-search-submit">
                    {move || tr("registry.find")}
                </button>
                <button type="button" class="btn btn-small btn-primary" data-testid="facility-new"
                    on:click=move |_| { saved.set(false); chosen.set(Some(Chosen::New)); }>
                    {move || tr("registry.new_facility")}
                </button>
            </form>
            {move || chosen.get().map(|c| view! {
                <FacilityPanel chosen=c units=units version=version saved=saved
                    on_saved=Callback::new(move |id: String| chosen.set(Some(Chosen::Existing(id))))
                    on_close=Callback::new(move |_| { saved.set(false); chosen.set(None); })/>
            })}
            {move || match found.get() {
                None => view! { <p class="hint">{move || tr("app.loading")}</p> }.into_any(),
                Some((_, Err(e))) => view! {
                    <p class="error-banner" role="alert">{error_text(lang.get(), &e.0)}</p>
                }.into_any(),
                Some((asked, Ok(list))) if list.is_empty() => view! {
                    <p class="hint" data-testid="facility-none" data-query=asked>{move || tr("registry.no_facilities")}</p>
                }.into_any(),
                Some((asked, Ok(mut list))) => {
                    // One more than shown says the list is cut.
                    let full = list.len() > super::contract::MAX_FOUND;
                    list.truncate(super::contract::MAX_FOUND);
                    let count = list.len().to_string();
                    view! {
                    {full.then(|| view! {
                        <p class="hint" data-testid="facility-more">
                            {tr("registry.more_facilities").replace("{count}", &super::contract::MAX_FOUND.to_string())}
                        </p>
                    })}
                    <div class="table-scroll">
                        <table class="table" data-testid="facility-list" data-query=asked data-count=count>
                            <thead><tr>
                                <th>{move || tr("registry.facility_name")}</th>
                                <th>{move || tr("registry.place")}</th>
                                <th>{move || tr("registry.industry")}</th>
                                <th>{move || tr("registry.tax_code")}</th>
                                <th></th>
                            </tr></thead>
                            <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    </div>
                    }.into_any()
                }
            }}
        </section>
    }
}
