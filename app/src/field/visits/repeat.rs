//! One repeat group of the visit form: its rows (child records, each with its
//! own ID) and the buttons to add and remove rows.

use super::field::FieldInput;
use super::local::LocalVisit;
use crate::i18n::{use_locale, use_t};
use leptos::prelude::*;

/// One repeat group: its rows (child records, each with its own ID) and the
/// buttons to add and remove rows. Rows re-render only when added or removed.
#[component]
pub(super) fn RepeatGroup(
    field: crate::forms::Field,
    visit: RwSignal<Option<LocalVisit>>,
    #[prop(into)] on_change: Callback<(String, String, Option<serde_json::Value>)>,
    #[prop(into)] on_add: Callback<String>,
    #[prop(into)] on_remove: Callback<String>,
) -> impl IntoView {
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let group = field.key.clone();
    let ids = {
        let group = group.clone();
        Memo::new(move |_| {
            visit.with(|v| {
                v.as_ref()
                    .map(|v| {
                        v.rows
                            .iter()
                            .filter(|r| r.group == group && !r.deleted)
                            .map(|r| r.id.clone())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        })
    };
    let label = field.label.clone();
    let hint = field.hint.clone();
    let children = field.fields.clone();
    let add_group = group.clone();
    let limit = field.row_limit();
    let full = move || ids.with(|all| all.len() >= limit);
    let full_id = format!("repeat-{group}-full");
    view! {
        <fieldset class="repeat" data-testid=format!("repeat-{group}") data-field=group.clone()>
            <legend>{move || label.get(lang.get()).to_string()}</legend>
            {hint.map(|h| view! { <p class="hint">{move || h.get(lang.get()).to_string()}</p> })}
            <For each=move || ids.get() key=|id| id.clone() let:id>
                {
                    let answers = visit.with_untracked(|v| {
                        v.as_ref()
                            .and_then(|v| v.rows.iter().find(|r| r.id == id))
                            .map(|r| r.answers.clone())
                            .unwrap_or_default()
                    });
                    let fields = children
                        .iter()
                        .map(|child| {
                            let row_id = id.clone();
                            view! {
                                <FieldInput
                                    field=child.clone()
                                    value=answers.get(&child.key).cloned()
                                    scope=format!("{id}/")
                                    on_change=move |(k, v): (String, Option<serde_json::Value>)| on_change.run((row_id.clone(), k, v))
                                />
                            }
                        })
                        .collect_view();
                    let number = {
                        let id = id.clone();
                        move || ids.with(|all| all.iter().position(|x| *x == id).map(|p| p + 1).unwrap_or(0))
                    };
                    let confirming = RwSignal::new(false);
                    let remove_id = id.clone();
                    view! {
                        <div class="repeat-row" data-testid="repeat-row" data-row-id=id.clone()>
                            <div class="repeat-row-head">
                                <strong>{move || tr("repeat.row").replace("{n}", &number().to_string())}</strong>
                                <button type="button" class="btn btn-small" data-testid="repeat-row-remove"
                                    on:click=move |_| {
                                        if confirming.get_untracked() {
                                            on_remove.run(remove_id.clone());
                                        } else {
                                            confirming.set(true);
                                        }
                                    }>
                                    {move || if confirming.get() { tr("repeat.remove_confirm") } else { tr("repeat.remove") }}
                                </button>
                            </div>
                            {fields}
                        </div>
                    }
                }
            </For>
            <button type="button" class="btn" data-testid=format!("repeat-{group}-add")
                prop:disabled=full
                on:click=move |_| if !full() { on_add.run(add_group.clone()) }>
                {move || tr("repeat.add")}
            </button>
            <Show when=full>
                <p class="hint" data-testid=full_id.clone()>
                    {move || tr("repeat.full").replace("{max}", &limit.to_string())}
                </p>
            </Show>
        </fieldset>
    }
}
