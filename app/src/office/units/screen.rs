//! The admin screen's unit trees: the loaded trees, and loading a tree or a
//! mapping file with every problem of a refused file listed by row and column.

use super::{list_unit_trees, TreeSummary};
use crate::error::{ErrorBody, FnError, RowProblem};
use crate::i18n::{use_locale, use_t, Locale};
use crate::office::error_text;
use crate::root::Loading;
use leptos::prelude::*;

#[cfg(feature = "hydrate")]
async fn upload(query: String, file: web_sys::File) -> Result<usize, ErrorBody> {
    #[derive(serde::Deserialize)]
    struct Loaded {
        rows: usize,
    }
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| ErrorBody::new("units.unreadable", ""))?;
    let bytes = js_sys::Uint8Array::new(&buffer);
    let loaded: Loaded = crate::field::client::http::post_bytes(
        &format!("/api/units/import?{query}"),
        "application/octet-stream",
        &bytes,
    )
    .await
    .map_err(|e| e.body())?;
    Ok(loaded.rows)
}

#[component]
pub fn UnitsSection() -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let reload = RwSignal::new(0u32);
    let trees = Resource::new(move || reload.get(), |_| list_unit_trees());
    let mapping = RwSignal::new(false);
    let tree = RwSignal::new(String::new());
    let effective = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let done = RwSignal::new(None::<usize>);
    let error = RwSignal::new(None::<ErrorBody>);

    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let input: Option<web_sys::HtmlInputElement> =
                ev.target().and_then(|t| t.dyn_into().ok());
            let Some(input) = input else { return };
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            let query = if mapping.get_untracked() {
                format!(
                    "from={}&to={}",
                    crate::office::query_value(&from.get_untracked()),
                    crate::office::query_value(&to.get_untracked())
                )
            } else {
                format!(
                    "tree={}&effective_from={}",
                    crate::office::query_value(tree.get_untracked().trim()),
                    crate::office::query_value(effective.get_untracked().trim())
                )
            };
            busy.set(true);
            done.set(None);
            error.set(None);
            leptos::task::spawn_local(async move {
                match upload(query, file).await {
                    Ok(rows) => {
                        done.set(Some(rows));
                        reload.update(|v| *v += 1);
                    }
                    Err(body) => error.set(Some(body)),
                }
                busy.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };

    let problems = move || -> Vec<RowProblem> {
        error
            .get()
            .and_then(|b| b.params.get("problems").cloned())
            .and_then(|p| serde_json::from_value(p).ok())
            .unwrap_or_default()
    };
    let tree_row = |t: TreeSummary| {
        view! {
            <tr data-testid="tree-row" data-tree=t.name.clone()>
                <td>{t.name.clone()}</td><td>{crate::format::iso_to_vn(&t.effective_from)}</td><td class="num">{t.units}</td>
            </tr>
        }
    };

    view! {
        <section class="admin-section" data-testid="units-section">
            <h2>{move || tr("units.title")}</h2>
            <p class="hint">{move || tr("units.hint")}</p>
            <Transition fallback=|| view! { <Loading/> }>
                {move || trees.get().map(|r| match r {
                    Err(FnError(body)) => view! { <p class="error-banner" role="alert">{error_text(lang.get(), &body)}</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="table" data-testid="trees-table">
                            <thead><tr>
                                <th>{move || tr("units.tree")}</th><th>{move || tr("units.effective_from")}</th><th>{move || tr("units.count")}</th>
                            </tr></thead>
                            <tbody>{list.into_iter().map(tree_row).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                })}
            </Transition>
            <div class="form form-inline">
                <label class="choice">
                    <input type="radio" name="units-kind" data-testid="units-kind-tree" prop:checked=move || !mapping.get()
                        on:change=move |_| mapping.set(false)/>
                    {move || tr("units.kind_tree")}
                </label>
                <label class="choice">
                    <input type="radio" name="units-kind" data-testid="units-kind-mapping" prop:checked=move || mapping.get()
                        on:change=move |_| mapping.set(true)/>
                    {move || tr("units.kind_mapping")}
                </label>
            </div>
            <Show when=move || !mapping.get() fallback=move || view! {
                <div class="form form-inline">
                    <div class="field">
                        <label for="units-from">{move || tr("units.from")}</label>
                        <input id="units-from" data-testid="units-from" prop:value=move || from.get() on:input=move |ev| from.set(event_target_value(&ev))/>
                    </div>
                    <div class="field">
                        <label for="units-to">{move || tr("units.to")}</label>
                        <input id="units-to" data-testid="units-to" prop:value=move || to.get() on:input=move |ev| to.set(event_target_value(&ev))/>
                    </div>
                </div>
            }>
                <div class="form form-inline">
                    <div class="field">
                        <label for="units-tree">{move || tr("units.tree")}</label>
                        <input id="units-tree" data-testid="units-tree" placeholder="bac-ninh-2025" prop:value=move || tree.get() on:input=move |ev| tree.set(event_target_value(&ev))/>
                    </div>
                    // Typed as dates are read here (dd/mm/yyyy), sent as ISO.
                    <label class="field">
                        <span>{move || tr("units.effective_from")}</span>
                        <crate::office::date_input::DateInput testid="units-effective"
                            value=Signal::derive(move || effective.get())
                            on_change=move |v| effective.set(v)/>
                    </label>
                </div>
            </Show>
            <label for="units-file" class="btn btn-small btn-primary">
                {move || if busy.get() { tr("units.loading") } else { tr("units.choose_file") }}
            </label>
            <input id="units-file" type="file" class="visually-hidden" data-testid="units-file" accept=".csv,.xlsx,text/csv"
                on:change=on_file disabled=move || busy.get()/>
            {move || done.get().map(|rows| view! {
                <p class="notice" role="status" data-testid="units-loaded">{tr("units.loaded").replace("{rows}", &rows.to_string())}</p>
            })}
            <Show when=move || error.get().is_some()>
                <div class="error-banner" role="alert" data-testid="units-error">
                    <p>{move || error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default()}</p>
                    <ul>
                        {move || problems().into_iter().map(|p| view! {
                            <li data-testid="units-problem">{crate::office::describe_problem(lang.get(), &p)}</li>
                        }).collect_view()}
                    </ul>
                </div>
            </Show>
        </section>
    }
}
