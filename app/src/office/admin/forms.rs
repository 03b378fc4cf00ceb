//! Form versions for administrators: the list of published versions and the
//! upload of a new one (JSON). An invalid definition is refused with what is wrong
//! and where; a published version never changes, because visits were filled in with it.

use super::contract::{list_forms, publish_form};
use crate::error::FnError;
use crate::i18n::{use_locale, use_t};
use crate::office::download::DownloadLink;
use crate::office::error_text;
use crate::root::Loading;
use leptos::prelude::*;

#[component]
pub fn FormsAdminPage() -> impl IntoView {
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let reload = RwSignal::new(0u32);
    let forms = Resource::new(move || reload.get(), |_| list_forms());
    let text = RwSignal::new(String::new());
    let publish = Action::new(|definition: &String| publish_form(definition.clone()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = publish.value().get() {
            reload.update(|n| *n += 1);
            text.set(String::new());
        }
    });
    // Two files chosen in quick succession: the text box holds the second.
    let reads = crate::newest::Reads::default();
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let input: Option<web_sys::HtmlInputElement> =
                ev.target().and_then(|t| t.dyn_into().ok());
            if let Some(file) = input.and_then(|i| i.files()).and_then(|f| f.get(0)) {
                let read = reads.start();
                leptos::task::spawn_local(async move {
                    let found = read.newest(wasm_bindgen_futures::JsFuture::from(file.text()));
                    if let Some(Ok(value)) = found.await {
                        text.set(value.as_string().unwrap_or_default());
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, &reads);
    };
    view! {
        <h1>{move || tr("forms.title")}</h1>
        <p><a href="/admin">{move || tr("forms.back")}</a></p>
        <section class="admin-section">
            <h2>{move || tr("forms.versions")}</h2>
            <Transition fallback=|| view! { <Loading/> }>
                {move || forms.get().map(|result| match result {
                    Err(FnError(body)) => view! { <p class="error-banner" role="alert">{error_text(lang.get(), &body)}</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="data-table" data-testid="form-versions">
                            <thead><tr>
                                <th>{move || tr("forms.form")}</th>
                                <th class="num">{move || tr("forms.version")}</th>
                                <th class="num">{move || tr("forms.fields")}</th>
                                <th>{move || tr("forms.published")}</th>
                                <th></th>
                                <th></th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|f| view! {
                                    <tr data-testid="form-version" data-form=f.id.clone() data-version=f.version>
                                        <td>{f.title.get(lang.get()).to_string()} <div class="muted">{f.id.clone()}</div></td>
                                        <td class="num">{f.version}</td>
                                        <td class="num">{f.fields}</td>
                                        <td>{crate::format::datetime_vn(f.created_at_ms)}</td>
                                        <td>{f.current.then(|| view! { <span class="badge badge-synced">{move || tr("forms.current")}</span> })}</td>
                                        <td>
                                            <DownloadLink testid="form-xlsform" label=Signal::derive(move || tr("forms.download_xlsform"))
                                                href=format!("/api/forms/xlsform.xlsx?form_id={}&version={}", crate::office::query_value(&f.id), f.version)/>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Transition>
        </section>
        <super::form_preview::XlsformSection on_published=move |_| reload.update(|n| *n += 1)/>
        <section class="admin-section">
            <h2>{move || tr("forms.upload")}</h2>
            <p class="hint">{move || tr("forms.upload_hint")}</p>
            <label for="form-file">{move || tr("forms.file")}</label>
            <input id="form-file" type="file" accept="application/json,.json" data-testid="form-file" on:click=crate::office::forget_chosen_file on:change=on_file/>
            <label for="form-json">{move || tr("forms.json")}</label>
            <textarea id="form-json" rows="12" class="mono" data-testid="form-json"
                prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <button class="btn btn-primary" data-testid="form-publish"
                disabled=move || publish.pending().get() || text.with(|t| t.trim().is_empty())
                on:click=move |_| { publish.dispatch(text.get_untracked()); }>
                {move || tr("forms.publish")}
            </button>
            {move || publish.value().get().map(|result| match result {
                Ok(f) => view! {
                    <p class="notice" role="status" data-testid="form-published">
                        {tr("forms.published_ok").replace("{id}", &f.id).replace("{version}", &f.version.to_string())}
                    </p>
                }.into_any(),
                Err(FnError(body)) => view! {
                    <p class="error-banner" role="alert" data-testid="form-error">{error_text(lang.get(), &body)}</p>
                }.into_any(),
            })}
        </section>
    }
}
