//! An XLSForm upload on the forms screen: the server converts the workbook,
//! and the administrator sees either every problem of the file, or the form
//! as the phone will draw it (in Vietnamese or English, conditions live as
//! answers are tried) before publishing it.

use super::contract::publish_form;
use super::contract::{XlsformImport, XlsformProblem};
use crate::error::{ErrorBody, FnError};
use crate::field::visits::field::FieldInput;
use crate::forms::expr;
use crate::forms::{Field, FieldType, FormDefinition};
use crate::i18n::{use_locale, use_t, Lang, Locale};
use crate::office::error_text;
use leptos::context::Provider;
use leptos::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;

#[cfg(feature = "hydrate")]
async fn convert(file: web_sys::File) -> Result<XlsformImport, ErrorBody> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| ErrorBody::new("forms.unreadable", ""))?;
    let bytes = js_sys::Uint8Array::new(&buffer);
    crate::field::client::http::post_bytes(
        "/api/forms/xlsform",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &bytes,
    )
    .await
    .map_err(|e| e.body())
}

/// Where an XLSForm problem is, then what it says, in the admin's language.
pub fn problem_line(lang: Lang, p: &XlsformProblem) -> String {
    let text = p.message.get(lang);
    match (p.sheet.as_str(), p.row, &p.column) {
        ("", _, _) | (_, 0, _) => text.to_string(),
        (sheet, row, Some(column)) => format!("{sheet} · {row} · {column}: {text}"),
        (sheet, row, None) => format!("{sheet} · {row}: {text}"),
    }
}

/// The upload, the problems or the preview, and the publish button. `on_published`
/// runs after a successful publish (the version list reloads).
#[component]
pub fn XlsformSection(#[prop(into)] on_published: Callback<()>) -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let imported = RwSignal::new(None::<XlsformImport>);
    let error = RwSignal::new(None::<ErrorBody>);
    let busy = RwSignal::new(false);
    // A second file chosen while the first is converted: the first's answer,
    // if it comes last, is not shown (nor publishable) as if it were the second's.
    let reads = crate::newest::Reads::default();
    let publish = Action::new(|definition: &FormDefinition| {
        let text = serde_json::to_string(definition).unwrap_or_default();
        publish_form(text)
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = publish.value().get() {
            imported.set(None);
            on_published.run(());
        }
    });
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let input: Option<web_sys::HtmlInputElement> =
                ev.target().and_then(|t| t.dyn_into().ok());
            if let Some(file) = input.and_then(|i| i.files()).and_then(|f| f.get(0)) {
                busy.set(true);
                error.set(None);
                imported.set(None);
                publish.value().set(None);
                let read = reads.start();
                leptos::task::spawn_local(async move {
                    let Some(converted) = read.newest(convert(file)).await else {
                        return;
                    };
                    match converted {
                        Ok(i) => imported.set(Some(i)),
                        Err(body) => error.set(Some(body)),
                    }
                    busy.set(false);
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, &reads);
    };
    let problems = move || -> Vec<XlsformProblem> {
        error
            .get()
            .and_then(|b| b.params.get("problems").cloned())
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    };
    view! {
        <section class="admin-section" data-testid="xlsform-section">
            <h2>{move || tr("forms.xlsform")}</h2>
            <p class="hint">{move || tr("forms.xlsform_hint")}</p>
            <label for="xlsform-file">{move || tr("forms.xlsform_file")}</label>
            <input id="xlsform-file" type="file" data-testid="xlsform-file"
                accept=".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                on:click=crate::office::forget_chosen_file on:change=on_file/>
            <Show when=move || busy.get()>
                <p class="notice" role="status">{move || tr("forms.xlsform_reading")}</p>
            </Show>
            {move || error.get().map(|body| view! {
                <div class="error-banner" role="alert" data-testid="xlsform-error">
                    <p>{error_text(lang.get(), &body)}</p>
                    <ul>
                        {problems().into_iter().map(|p| {
                            let code = p.code.clone();
                            view! { <li data-testid="xlsform-problem" data-code=code>{move || problem_line(lang.get(), &p)}</li> }
                        }).collect_view()}
                    </ul>
                </div>
            })}
            {move || imported.get().map(|i| {
                let definition = i.definition.clone();
                view! {
                    <FormPreview imported=i/>
                    <button class="btn btn-primary" data-testid="xlsform-publish"
                        disabled=move || publish.pending().get()
                        on:click=move |_| { publish.dispatch(definition.clone()); }>
                        {move || tr("forms.publish")}
                    </button>
                }
            })}
            {move || publish.value().get().map(|result| match result {
                Ok(f) => view! {
                    <p class="notice" role="status" data-testid="xlsform-published">
                        {tr("forms.published_ok").replace("{id}", &f.id).replace("{version}", &f.version.to_string())}
                    </p>
                }.into_any(),
                Err(FnError(body)) => view! {
                    <p class="error-banner" role="alert" data-testid="xlsform-publish-error">{error_text(lang.get(), &body)}</p>
                }.into_any(),
            })}
        </section>
    }
}

/// The converted form drawn with the phone's own field inputs. Answers typed
/// here only drive the conditions; nothing is saved.
#[component]
fn FormPreview(imported: XlsformImport) -> impl IntoView {
    let tr = use_t();
    let Locale(admin_lang) = use_locale();
    let lang = RwSignal::new(admin_lang.get_untracked());
    let answers = RwSignal::new(BTreeMap::<String, Value>::new());
    let rows = RwSignal::new(BTreeMap::<String, Value>::new());
    let form = imported.definition;
    let notes = imported.notes;
    let count = notes.len();
    let title = form.title.clone();
    let header = format!("{} · v{}", form.id, form.version);
    let sections = form.sections;
    let switch = move |to: Lang| move |_| lang.set(to);
    view! {
        <div class="form-preview" data-testid="xlsform-preview" data-lang=move || lang.get().code()>
            <h3>{move || tr("forms.preview")} ": " {move || title.get(lang.get()).to_string()}</h3>
            <p class="muted">{header}</p>
            <div class="btn-group" role="group" aria-label=move || tr("forms.preview_language")>
                <button type="button" class="btn btn-small" data-testid="preview-lang-vi"
                    aria-pressed=move || (lang.get() == Lang::Vi).to_string() on:click=switch(Lang::Vi)>"Tiếng Việt"</button>
                <button type="button" class="btn btn-small" data-testid="preview-lang-en"
                    aria-pressed=move || (lang.get() == Lang::En).to_string() on:click=switch(Lang::En)>"English"</button>
            </div>
            {(!notes.is_empty()).then(|| view! {
                <details class="notice" data-testid="xlsform-notes">
                    <summary>{move || tr("forms.xlsform_notes").replace("{count}", &count.to_string())}</summary>
                    <ul>{notes.iter().cloned().map(|n| view! {
                        <li data-testid="xlsform-note">{move || problem_line(admin_lang.get(), &n)}</li>
                    }).collect_view()}</ul>
                </details>
            })}
            // The phone's inputs read the language from context: the preview's own,
            // provided before they are built.
            <Provider value=Locale(lang)>
                <PreviewSections sections=sections.clone() answers rows/>
            </Provider>
        </div>
    }
}

#[component]
fn PreviewSections(
    sections: Vec<crate::forms::Section>,
    answers: RwSignal<BTreeMap<String, Value>>,
    rows: RwSignal<BTreeMap<String, Value>>,
) -> impl IntoView {
    let Locale(lang) = use_locale();
    sections
        .into_iter()
        .map(|section| {
            let title = section.title.clone();
            let fields = section
                .fields
                .into_iter()
                .map(|f| preview_field(f, answers, rows))
                .collect_view();
            view! {
                <fieldset class="card preview-section" data-testid="preview-section" data-key=section.key.clone()>
                    <legend>{move || title.get(lang.get()).to_string()}</legend>
                    {fields}
                </fieldset>
            }
        })
        .collect_view()
}

/// One question with its condition applied; a repeat group shows one sample
/// row, its conditions on that row.
fn preview_field(
    field: Field,
    answers: RwSignal<BTreeMap<String, Value>>,
    rows: RwSignal<BTreeMap<String, Value>>,
) -> impl IntoView {
    let condition = expr::compile(field.relevant.as_deref());
    let shown_condition = condition.clone();
    let shown = Memo::new(move |_| answers.with(|a| expr::shown(shown_condition.as_ref(), a)));
    let set = move |(key, value): (String, Option<Value>)| {
        answers.update(|a| {
            match value {
                Some(v) => a.insert(key, v),
                None => a.remove(&key),
            };
        })
    };
    let relevant = field.relevant.clone();
    let key = field.key.clone();
    let body = if field.kind == FieldType::Repeat {
        let children = field
            .fields
            .iter()
            .cloned()
            .map(|child| {
                let condition = expr::compile(child.relevant.as_deref());
                let on_row = move || rows.with(|r| expr::shown(condition.as_ref(), r));
                let set_row = move |(key, value): (String, Option<Value>)| {
                    rows.update(|r| {
                        match value {
                            Some(v) => r.insert(key, v),
                            None => r.remove(&key),
                        };
                    })
                };
                let relevant = child.relevant.clone();
                let key = child.key.clone();
                view! {
                    <div data-testid="preview-field" data-key=key hidden=move || !on_row()>
                        <FieldInput field=child value=None on_change=set_row scope="row/"/>
                        {relevant.map(|r| view! { <p class="hint mono" data-testid="preview-condition">"⟂ " {r}</p> })}
                    </div>
                }
            })
            .collect_view();
        let label = field.label.clone();
        let Locale(lang) = use_locale();
        view! {
            <div class="repeat-preview">
                <h4>{move || label.get(lang.get()).to_string()}</h4>
                {children}
            </div>
        }
        .into_any()
    } else {
        view! { <FieldInput field=field value=None on_change=set/> }.into_any()
    };
    view! {
        <div data-testid="preview-field" data-key=key hidden=move || !shown.get()>
            {body}
            {relevant.map(|r| view! { <p class="hint mono" data-testid="preview-condition">"⟂ " {r}</p> })}
        </div>
    }
}
