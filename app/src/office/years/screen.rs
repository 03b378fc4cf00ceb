//! The years section of the admin screen: the list with each year's tree, form
//! and state; opening a year; closing one, which lists the unfinished visits
//! and asks before it closes anyway.

use super::{close_year, list_years, open_year, CloseOutcome, SurveyYear, YearOpening};
use crate::error::{ErrorBody, FnError};
use crate::i18n::{use_locale, use_t, Locale};
use crate::model::VisitSummary;
use crate::office::error_text;
use crate::office::gate::ReviewLink;
use crate::root::Loading;
use leptos::prelude::*;

#[component]
pub fn YearsSection() -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let reload = RwSignal::new(0u64);
    let overview = Resource::new(move || reload.get(), |_| list_years());
    let error = RwSignal::new(None::<ErrorBody>);
    let unfinished = RwSignal::new(None::<(i32, Vec<VisitSummary>)>);
    let year = RwSignal::new(String::new());
    let tree = RwSignal::new(String::new());
    let form = RwSignal::new(String::new());

    let open = Action::new(move |req: &YearOpening| {
        let req = req.clone();
        async move {
            match open_year(req).await {
                Ok(_) => {
                    error.set(None);
                    year.set(String::new());
                    reload.update(|v| *v += 1);
                }
                Err(FnError(body)) => error.set(Some(body)),
            }
        }
    });
    let close = Action::new(move |&(y, confirm): &(i32, bool)| async move {
        match close_year(y, confirm).await {
            Ok(CloseOutcome::Closed) => {
                error.set(None);
                unfinished.set(None);
                reload.update(|v| *v += 1);
            }
            Ok(CloseOutcome::Unfinished { visits }) => unfinished.set(Some((y, visits))),
            Err(FnError(body)) => error.set(Some(body)),
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(y) = year.get_untracked().trim().parse::<i32>() else {
            error.set(Some(ErrorBody::new("year.out_of_range", "")));
            return;
        };
        let form_key = form.get_untracked();
        let Some((form_id, Ok(version))) = form_key
            .rsplit_once('@')
            .map(|(id, v)| (id.to_string(), v.parse::<i32>()))
        else {
            error.set(Some(ErrorBody::new("year.unknown_form", "")));
            return;
        };
        open.dispatch(YearOpening {
            year: y,
            unit_tree: tree.get_untracked(),
            form_id,
            form_version: version,
        });
    };

    let row = move |y: SurveyYear| {
        let state = if y.open {
            tr("years.open")
        } else {
            tr("years.closed")
        };
        let number = y.year;
        view! {
            <tr data-testid="year-row" data-year=y.year.to_string() data-open=y.open.to_string()>
                <td><strong>{y.year}</strong></td>
                <td>{y.unit_tree.clone()}</td>
                <td>{format!("{} v{}", y.form_id, y.form_version)}</td>
                <td>{state}</td>
                <td>
                    <Show when=move || y.open>
                        <button type="button" class="btn" data-testid="year-close"
                            on:click=move |_| { close.dispatch((number, false)); }>
                            {move || tr("years.close")}
                        </button>
                    </Show>
                </td>
            </tr>
        }
    };

    view! {
        <section class="admin-section" data-testid="years-section">
            <h2>{move || tr("years.title")}</h2>
            <p class="hint">{move || tr("years.hint")}</p>
            <Show when=move || error.get().is_some()>
                <p class="error-banner" role="alert" data-testid="years-error">
                    {move || error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default()}
                </p>
            </Show>
            {move || unfinished.get().map(|(y, visits)| view! {
                <div class="card" role="alertdialog" data-testid="year-close-confirm">
                    <p>{tr("years.unfinished").replace("{year}", &y.to_string()).replace("{count}", &visits.len().to_string())}</p>
                    <ul>
                        {visits.into_iter().map(|v| view! {
                            <li data-testid="unfinished-visit">
                                <ReviewLink
                                    href=Some(format!("/review/visits/{}", v.id))
                                    text=v.proposal_title.clone().or(v.facility_name.clone()).unwrap_or_default()
                                    link_testid="unfinished-visit-link"/>
                                " — " {v.inspector.clone()}
                            </li>
                        }).collect_view()}
                    </ul>
                    <div class="admin-actions">
                        <button type="button" class="btn btn-danger" data-testid="year-close-anyway"
                            on:click=move |_| { close.dispatch((y, true)); }>
                            {move || tr("years.close_anyway")}
                        </button>
                        <button type="button" class="btn" on:click=move |_| unfinished.set(None)>
                            {move || tr("years.keep_open")}
                        </button>
                    </div>
                </div>
            })}
            <Transition fallback=|| view! { <Loading/> }>
                {move || overview.get().map(|result| match result {
                    Err(FnError(body)) => view! {
                        <p class="error-banner" role="alert">{error_text(lang.get(), &body)}</p>
                    }.into_any(),
                    Ok(o) => {
                        if tree.get_untracked().is_empty() {
                            tree.set(o.trees.last().cloned().unwrap_or_default());
                        }
                        if form.get_untracked().is_empty() {
                            form.set(o.forms.first().map(|(id, v)| format!("{id}@{v}")).unwrap_or_default());
                        }
                        view! {
                            <table class="table" data-testid="years-table">
                                <thead><tr>
                                    <th>{move || tr("years.year")}</th>
                                    <th>{move || tr("years.tree")}</th>
                                    <th>{move || tr("years.form")}</th>
                                    <th>{move || tr("years.state")}</th>
                                    <th></th>
                                </tr></thead>
                                <tbody>{o.years.into_iter().map(row).collect_view()}</tbody>
                            </table>
                            <form class="form form-inline" data-testid="year-open-form" on:submit=submit>
                                <div class="field">
                                    <label for="year-number">{move || tr("years.year")}</label>
                                    <input id="year-number" data-testid="year-number" inputmode="numeric" required
                                        prop:value=move || year.get() on:input=move |ev| year.set(event_target_value(&ev))/>
                                </div>
                                <div class="field">
                                    <label for="year-tree">{move || tr("years.tree")}</label>
                                    <select id="year-tree" data-testid="year-tree" on:change=move |ev| tree.set(event_target_value(&ev))>
                                        {o.trees.into_iter().map(|t| {
                                            let selected = tree.get_untracked() == t;
                                            view! { <option value=t.clone() selected=selected>{t.clone()}</option> }
                                        }).collect_view()}
                                    </select>
                                </div>
                                <div class="field">
                                    <label for="year-form">{move || tr("years.form")}</label>
                                    <select id="year-form" data-testid="year-form" on:change=move |ev| form.set(event_target_value(&ev))>
                                        {o.forms.into_iter().map(|(id, v)| {
                                            let key = format!("{id}@{v}");
                                            let selected = form.get_untracked() == key;
                                            view! { <option value=key.clone() selected=selected>{format!("{id} v{v}")}</option> }
                                        }).collect_view()}
                                    </select>
                                </div>
                                <button type="submit" class="btn btn-primary" data-testid="year-open">{move || tr("years.open_action")}</button>
                            </form>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
