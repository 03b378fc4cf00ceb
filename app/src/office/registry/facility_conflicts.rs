//! A facility's undecided conflicts in the register: the office's edit and a
//! phone's offline edit (or two phones' edits) of one field, side by side. The
//! supervisor keeps one of the two, which reaches the phones like any edit;
//! another value goes through the facility's form, with its unit and phone
//! rules.

use crate::error::{ErrorBody, FnError};
use crate::i18n::{use_locale, use_t, Lang, Locale};
use crate::model::AdminUnit;
use crate::office::error_text;
use crate::office::review::contract::{resolve_conflict, ConflictView};
use leptos::prelude::*;
use serde_json::Value;

/// The locale key of a facility field's name in the register.
pub(super) fn field_label_key(field: &str) -> &'static str {
    match field {
        "name" => "registry.facility_name",
        "owner_name" => "registry.owner_name",
        "address" => "registry.address",
        "commune_code" => "registry.commune",
        "district_code" => "registry.district",
        "industry_group" => "registry.industry",
        "phone" => "registry.phone",
        "main_products" => "registry.main_products",
        "workforce" => "registry.workforce",
        "lat" => "registry.latitude",
        "lon" => "registry.longitude",
        _ => "registry.other_field",
    }
}

/// A stored value as the office reads it: a unit by its name in the
/// facility's tree, an industry group by its label.
pub(super) fn shown(
    field: &str,
    value: &Value,
    tree: &str,
    units: &[AdminUnit],
    lang: Lang,
) -> String {
    let text = match value {
        Value::Null => return "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match field {
        "commune_code" | "district_code" => units
            .iter()
            .find(|u| u.is(tree, &text))
            .map(AdminUnit::full_name)
            .unwrap_or(text),
        "industry_group" => crate::i18n::industry_label(lang, &text),
        _ => text,
    }
}

#[component]
pub(super) fn FacilityConflicts(
    conflicts: Vec<ConflictView>,
    tree: String,
    units: Vec<AdminUnit>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let error = RwSignal::new(None::<ErrorBody>);
    let resolve = Action::new(move |(id, value, seen): &(i64, Value, i64)| {
        let (id, value, seen) = (*id, value.clone(), *seen);
        async move {
            match resolve_conflict(id, value, Some(seen)).await {
                Ok(()) => version.update(|v| *v += 1),
                Err(FnError(body)) => error.set(Some(body)),
            }
        }
    });
    let pending = resolve.pending();
    // Only a supervisor decides (`resolve_conflict`); an administrator sees
    // the values and who decides, not buttons that would only be refused.
    let decides = crate::field::client::use_client()
        .user
        .get_untracked()
        .is_some_and(|u| u.has(crate::model::Role::Supervisor));
    let lang_now = lang.get_untracked();
    let items = conflicts
        .into_iter()
        .map(|c| {
            let show = |v: &Value| shown(&c.field, v, &tree, &units, lang_now);
            let side = |label: &'static str, value: Value, by: String, at: i64, testid: &'static str| {
                let text = show(&value);
                let (id, seen) = (c.id, c.version);
                view! {
                    <dt>{move || tr(label)}</dt>
                    <dd>
                        <span class="conflict-value" data-testid=format!("{testid}-value")>{text}</span>
                        <span class="muted">{format!(" · {by} · {}", crate::format::datetime_vn(at))}</span>
                        {decides.then(|| view! {
                            <button type="button" class="btn btn-small btn-secondary" data-testid=testid
                                disabled=move || pending.get()
                                on:click=move |_| {
                                    error.set(None);
                                    resolve.dispatch((id, value.clone(), seen));
                                }>
                                {move || tr("review.conflict.pick")}
                            </button>
                        })}
                    </dd>
                }
            };
            let base = c.base.as_ref().map(&show).unwrap_or_else(|| "—".into());
            let label = field_label_key(&c.field);
            view! {
                <li class="conflict" data-testid="facility-conflict" data-field=c.field.clone()>
                    <h4>{move || tr(label)}</h4>
                    <dl class="conflict-values">
                        <dt>{move || tr("review.conflict.base")}</dt>
                        <dd>{base}</dd>
                        {side("review.conflict.mine", c.mine.clone(), c.mine_by.clone(), c.mine_at_ms, "facility-conflict-mine")}
                        {side("review.conflict.theirs", c.theirs.clone(), c.theirs_by.clone(), c.theirs_at_ms, "facility-conflict-theirs")}
                    </dl>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="conflicts-panel" data-testid="facility-conflicts">
            <h3>{move || tr("review.conflict.title")}</h3>
            <p class="hint" data-testid="facility-conflicts-hint">
                {move || tr(if decides { "registry.conflicts_hint" } else { "registry.conflicts_hint_supervisor" })}
            </p>
            <ul class="conflict-list">{items}</ul>
            {move || error.get().map(|body| view! {
                <p class="error-banner" role="alert" data-testid="facility-conflict-error">{error_text(lang.get(), &body)}</p>
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UnitLevel;
    use serde_json::json;

    #[test]
    fn a_facility_value_reads_as_the_office_names_it() {
        let ward = AdminUnit {
            tree: "bac-ninh-2025".into(),
            code: "07210".into(),
            name: "Bắc Giang".into(),
            kind: "phường".into(),
            level: UnitLevel::Commune,
            parent: None,
        };
        let units = [ward.clone()];
        let tree = "bac-ninh-2025";
        assert_eq!(
            shown("commune_code", &json!("07210"), tree, &units, Lang::Vi),
            ward.full_name()
        );
        assert_eq!(
            shown(
                "commune_code",
                &json!("07210"),
                "bac-giang-2020",
                &units,
                Lang::Vi
            ),
            "07210",
            "a code of another tree is not this unit"
        );
        assert_eq!(shown("workforce", &json!(12), tree, &units, Lang::Vi), "12");
        assert_eq!(shown("phone", &Value::Null, tree, &units, Lang::Vi), "—");
        assert_ne!(
            shown(
                "industry_group",
                &json!("mechanical"),
                tree,
                &units,
                Lang::Vi
            ),
            "mechanical"
        );
        for field in [
            "name",
            "phone",
            "commune_code",
            "district_code",
            "workforce",
            "lat",
            "lon",
        ] {
            assert_ne!(field_label_key(field), "registry.other_field", "{field}");
        }
    }
}
