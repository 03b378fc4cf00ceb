//! The registry page (`/registry`, supervisors and administrators): the
//! template, an intake file's preview with every row's fate and every
//! problem, and the commit of the whole file.

use super::intake::{FacilityFate, IntakeReport, MatchedBy, ProposalFate};
use crate::error::{ErrorBody, FnError};
use crate::i18n::{use_locale, use_t, Locale};
use crate::office::download::DownloadLink;
use crate::office::error_text;
use leptos::prelude::*;

/// The file chosen, kept for the commit after the preview.
#[derive(Clone)]
struct Chosen {
    #[cfg(feature = "hydrate")]
    bytes: js_sys::Uint8Array,
}

#[cfg(feature = "hydrate")]
async fn send(bytes: &js_sys::Uint8Array, commit: bool) -> Result<IntakeReport, ErrorBody> {
    let xlsx = bytes.length() >= 2 && bytes.get_index(0) == b'P' && bytes.get_index(1) == b'K';
    let content_type = if xlsx {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else {
        "text/csv"
    };
    crate::field::client::http::post_bytes(
        &format!("/api/registry/intake?commit={commit}"),
        content_type,
        bytes,
    )
    .await
    .map_err(|e| e.body())
}

fn counts_text(tr: impl Fn(&str) -> String, r: &IntakeReport) -> String {
    let c = &r.counts;
    tr("registry.counts")
        .replace("{rows}", &c.rows.to_string())
        .replace("{new_facilities}", &c.new_facilities.to_string())
        .replace("{matched_facilities}", &c.matched_facilities.to_string())
        .replace("{new_proposals}", &c.new_proposals.to_string())
        .replace("{updated_proposals}", &c.updated_proposals.to_string())
        .replace("{unchanged_proposals}", &c.unchanged_proposals.to_string())
        .replace("{refused_rows}", &c.refused_rows.to_string())
}

#[component]
pub fn RegistryPage() -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    // Asked on the server too, so a caller who may not use the registry gets
    // its 401 or 403 with the page rather than an empty shell.
    let years = Resource::new(|| (), |_| crate::office::years::list_years());
    // The tools read units and facilities in the browser (local resources):
    // under a Suspense the server would wait on them for ever, so they stay
    // outside it and appear once the page has hydrated and the years came.
    let allowed = RwSignal::new(None::<Vec<i32>>);
    Effect::new(move |_| {
        if let Some(Ok(overview)) = years.get() {
            allowed.set(Some(overview.years.iter().map(|y| y.year).collect()));
        }
    });
    view! {
        <div class="console registry-page" data-testid="registry-page">
            <h1>{move || tr("registry.title")}</h1>
            <Suspense fallback=|| view! { <crate::root::Loading/> }>
                {move || years.get().map(|result| result.err().map(|FnError(body)| view! {
                    <p class="error-banner" role="alert" data-testid="registry-error">{error_text(lang.get(), &body)}</p>
                }))}
            </Suspense>
            {move || allowed.get().map(|years| view! { <RegistryTools years=years/> })}
        </div>
    }
}

/// The register, the template and the intake, for a caller allowed to use
/// them; `years` (newest first) are the years whose registry downloads.
#[component]
fn RegistryTools(years: Vec<i32>) -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let busy = RwSignal::new(false);
    let chosen = StoredValue::new(None::<Chosen>);
    let report = RwSignal::new(None::<IntakeReport>);
    let error = RwSignal::new(None::<ErrorBody>);
    // The year whose registry downloads: the newest, until another is chosen.
    let export_year = RwSignal::new(years.first().map(i32::to_string).unwrap_or_default());

    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let input: Option<web_sys::HtmlInputElement> =
                ev.target().and_then(|t| t.dyn_into().ok());
            let Some(file) = input
                .as_ref()
                .and_then(|i| i.files())
                .and_then(|f| f.get(0))
            else {
                return;
            };
            busy.set(true);
            report.set(None);
            error.set(None);
            leptos::task::spawn_local(async move {
                let read = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
                match read {
                    Ok(buffer) => {
                        let bytes = js_sys::Uint8Array::new(&buffer);
                        match send(&bytes, false).await {
                            Ok(r) => {
                                chosen.set_value(Some(Chosen { bytes }));
                                report.set(Some(r));
                            }
                            Err(body) => error.set(Some(body)),
                        }
                    }
                    Err(_) => error.set(Some(ErrorBody::new("registry.unreadable", ""))),
                }
                busy.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let commit = move |_| {
        #[cfg(not(feature = "hydrate"))]
        let _ = chosen;
        #[cfg(feature = "hydrate")]
        {
            let Some(file) = chosen.get_value() else {
                return;
            };
            busy.set(true);
            leptos::task::spawn_local(async move {
                match send(&file.bytes, true).await {
                    Ok(r) => report.set(Some(r)),
                    Err(body) => error.set(Some(body)),
                }
                busy.set(false);
            });
        }
    };

    view! {
        <div class="registry-tools">
            <super::FacilityRegister/>
            <h2>{move || tr("registry.intake_title")}</h2>
            <p class="hint">{move || tr("registry.hint")}</p>
            <div class="toolbar">
                <DownloadLink testid="registry-template" href="/api/registry/template.xlsx".to_string()
                    label=Signal::derive(move || tr("registry.template"))/>
                <label class="filter">
                    <span>{move || tr("plan.year")}</span>
                    <select data-testid="registry-year" on:change=move |ev| export_year.set(event_target_value(&ev))>
                        {years.into_iter().map(|y| {
                            let value = y.to_string();
                            let selected = export_year.get_untracked() == value;
                            view! { <option value=value.clone() selected=selected>{value.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <DownloadLink testid="registry-export"
                    href=Signal::derive(move || format!("/api/registry/export.xlsx?year={}", export_year.get()))
                    label=Signal::derive(move || tr("registry.export").replace("{year}", &export_year.get()))/>
                <label for="registry-file" class="btn btn-small btn-primary">
                    {move || if busy.get() { tr("registry.uploading") } else { tr("registry.choose_file") }}
                </label>
                <input id="registry-file" type="file" class="visually-hidden" data-testid="registry-file"
                    accept=".xlsx,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                    on:click=crate::office::forget_chosen_file on:change=on_file disabled=move || busy.get()/>
            </div>
            <Show when=move || error.get().is_some()>
                <p class="error-banner" role="alert" data-testid="registry-error">
                    {move || error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default()}
                </p>
            </Show>
            {move || report.get().map(|r| {
                let summary = counts_text(tr, &r);
                let committed = r.committed;
                let can_commit = !r.committed && r.problems.is_empty()
                    && (r.counts.new_proposals + r.counts.updated_proposals + r.counts.new_facilities) > 0;
                let problems = r.problems.clone();
                let rows = r.rows.clone();
                view! {
                    <section class="card" data-testid="registry-report" data-committed=committed.to_string()
                        data-new-proposals=r.counts.new_proposals.to_string()
                        data-refused=r.counts.refused_rows.to_string()>
                        <p role="status" data-testid="registry-counts">{summary}</p>
                        {committed.then(|| view! {
                            <p class="notice" data-testid="registry-committed">{tr("registry.committed")
                                .replace("{new_proposals}", &r.counts.new_proposals.to_string())
                                .replace("{updated_proposals}", &r.counts.updated_proposals.to_string())
                                .replace("{new_facilities}", &r.counts.new_facilities.to_string())}</p>
                        })}
                        {(!problems.is_empty()).then(|| view! {
                            <h2>{move || tr("registry.problems")}</h2>
                            <ul class="problems" data-testid="registry-problems">
                                {problems.into_iter().map(|p| {
                                    let text = crate::office::describe_problem(lang.get_untracked(), &p);
                                    view! { <li data-testid="registry-problem" data-row=p.row.to_string()>{text}</li> }
                                }).collect_view()}
                            </ul>
                        })}
                        {can_commit.then(|| view! {
                            <button type="button" class="btn btn-primary" data-testid="registry-commit"
                                on:click=commit disabled=move || busy.get()>{move || tr("registry.commit")}</button>
                        })}
                        <div class="table-scroll">
                            <table class="table" data-testid="registry-rows">
                                <thead><tr>
                                    <th>{move || tr("registry.row")}</th>
                                    <th>{move || tr("registry.commune")}</th>
                                    <th>{move || tr("registry.facility")}</th>
                                    <th>{move || tr("registry.proposal")}</th>
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|f| {
                                        let facility = match &f.facility {
                                            FacilityFate::New { name } => format!("{} — {name}", tr("registry.fate.new_facility")),
                                            FacilityFate::SameAsRow { row, name } => format!("{} — {name}",
                                                tr("registry.fate.same_as_row").replace("{row}", &row.to_string())),
                                            FacilityFate::Matched { name, by, .. } => format!("{} — {name}", tr(match by {
                                                MatchedBy::TaxCode => "registry.fate.matched_tax_code",
                                                MatchedBy::Name => "registry.fate.matched_name",
                                            })),
                                        };
                                        let proposal = match &f.proposal {
                                            ProposalFate::New => tr("registry.fate.new_proposal"),
                                            ProposalFate::Update { fields, .. } => tr("registry.fate.update").replace("{fields}", &fields.join(", ")),
                                            ProposalFate::Unchanged { .. } => tr("registry.fate.unchanged"),
                                        };
                                        view! {
                                            <tr data-testid="registry-row" data-row=f.row.to_string()>
                                                <td>{f.row}</td>
                                                <td>{f.commune.clone()}</td>
                                                <td>{facility}</td>
                                                <td>{proposal}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    </section>
                }
            })}
        </div>
    }
}
