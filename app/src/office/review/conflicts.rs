//! Fields two phones edited concurrently: both values side by side, and the
//! supervisor's choice (or a value of their own), which syncs to the phones.

use super::detail::*;
use super::*;

/// The label and field of a conflict: a column of one row of a repeat group, or
/// a field of the visit.
pub(super) fn conflict_field(
    d: &VisitDetail,
    c: &ConflictView,
    lang: Lang,
) -> (String, Option<Field>) {
    if c.entity == "visit_row" {
        if let Some(row) = d.visit.rows.iter().find(|r| r.id == c.record_id) {
            let group = d.form.field(&row.group);
            let child = group.and_then(|g| g.fields.iter().find(|f| f.key == c.field));
            if let (Some(g), Some(child)) = (group, child) {
                let n = d
                    .visit
                    .rows
                    .iter()
                    .filter(|r| r.group == row.group)
                    .position(|r| r.id == row.id)
                    .unwrap_or(0)
                    + 1;
                let row_name = t(lang, "repeat.row").replace("{n}", &n.to_string());
                let label = format!(
                    "{} › {} › {}",
                    g.label.get(lang),
                    row_name,
                    child.label.get(lang)
                );
                return (label, Some(child.clone()));
            }
        }
    }
    match find_field(&d.form, &c.field, lang) {
        Some((label, field)) => (label, Some(field)),
        None => (c.field.clone(), None),
    }
}

pub(super) fn conflicts_view(
    d: &VisitDetail,
    conflicts: Vec<ConflictView>,
    decided: RwSignal<u32>,
    lang: Lang,
) -> impl IntoView {
    (!conflicts.is_empty()).then(|| {
        let items = conflicts
            .into_iter()
            .map(|c| {
                let (label, field) = conflict_field(d, &c, lang);
                view! { <ConflictItem conflict=c label=label field=field decided=decided lang=lang/> }
            })
            .collect_view();
        view! {
            <section class="conflicts-panel" data-testid="conflicts">
                <h2>{t(lang, "review.conflict.title")}</h2>
                <p class="hint">{t(lang, "review.conflict.hint")}</p>
                <ul class="conflict-list">{items}</ul>
            </section>
        }
    })
}

/// The text a value starts from in the edit box.
pub(super) fn editable_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A decimal as typed, and as the page shows it: "12.500" is twelve thousand
/// five hundred, "12,5" twelve and a half.
pub(super) fn parse_decimal(text: &str) -> Option<f64> {
    crate::money::decimal_as_typed(text)
}

/// The supervisor's own value for a field, as the JSON the field stores: text as
/// a string, numbers parsed, anything else typed as JSON.
pub(super) fn custom_value(kind: Option<FieldType>, text: &str) -> Result<Value, ErrorBody> {
    let not_a_number = || ErrorBody::new("conflict.not_a_number", "the value is not a number");
    match kind {
        Some(FieldType::Text | FieldType::LongText | FieldType::SelectOne | FieldType::YesNo) => {
            Ok(Value::String(text.to_string()))
        }
        // Typed as the page shows dates (dd/mm/yyyy), stored as the form does.
        Some(FieldType::Date) => crate::format::parse_date_vn(text)
            .map(Value::String)
            .ok_or_else(|| {
                ErrorBody::new(
                    "conflict.not_a_date",
                    "the value is not a date (dd/mm/yyyy)",
                )
            }),
        Some(FieldType::Integer | FieldType::Money) => match crate::money::parse_amount(text) {
            // An answer is never held at a number past an i64 either.
            Ok(Some(
                amount @ (crate::money::Amount::Whole(_) | crate::money::Amount::Fraction(_)),
            )) => Ok(amount.to_json()),
            _ => Err(not_a_number()),
        },
        Some(FieldType::Decimal) => parse_decimal(text)
            .map(Value::from)
            .ok_or_else(not_a_number),
        _ => serde_json::from_str(text)
            .map_err(|e| ErrorBody::new("conflict.bad_json", e.to_string())),
    }
}

/// One conflicted field: the value both phones started from, the one that lost
/// and the one stored, and the supervisor's choice.
#[component]
pub(super) fn ConflictItem(
    conflict: ConflictView,
    label: String,
    field: Option<Field>,
    decided: RwSignal<u32>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let (id, seen) = (conflict.id, conflict.version);
    let kind = field.as_ref().map(|f| f.kind);
    let prefill = editable_text(&conflict.theirs);
    let prefill = if kind == Some(FieldType::Date) {
        crate::format::iso_to_vn(&prefill)
    } else {
        prefill
    };
    let custom = crate::office::kept_text::KeptText::new(format!("conflict.{id}"), prefill);
    let resolve = Action::new(move |value: &Value| {
        let value = value.clone();
        async move {
            let result = contract::resolve_conflict(id, value, Some(seen)).await;
            if result.is_ok() {
                custom.sent();
                decided.update(|n| *n += 1);
            }
            result
        }
    });
    let pending = resolve.pending();
    let typed_error = RwSignal::new(None::<ErrorBody>);
    let multiline = matches!(kind, Some(FieldType::LongText));
    let show = |v: &Value| shown(field.as_ref(), v, lang);
    let base = conflict
        .base
        .as_ref()
        .map(show)
        .unwrap_or_else(|| "—".into());
    let (mine, theirs) = (conflict.mine.clone(), conflict.theirs.clone());
    let pick = move |value: Value| {
        typed_error.set(None);
        resolve.dispatch(value);
    };
    let save = move |_| match custom_value(kind, &custom.get_untracked()) {
        Ok(value) => pick(value),
        Err(body) => typed_error.set(Some(body)),
    };
    let input_id = format!("conflict-custom-{id}");
    let editor = if multiline {
        view! {
            <textarea id=input_id.clone() rows="3" data-testid="conflict-custom"
                prop:value=move || custom.get() on:input=move |ev| custom.set(event_target_value(&ev))></textarea>
        }
        .into_any()
    } else {
        view! {
            <input id=input_id.clone() type="text" data-testid="conflict-custom"
                prop:value=move || custom.get() on:input=move |ev| custom.set(event_target_value(&ev))/>
        }
        .into_any()
    };
    view! {
        <li class="conflict" data-testid="conflict" data-field=conflict.field.clone() data-conflict-id=id>
            <h3>{label}</h3>
            <dl class="conflict-values">
                <dt>{move || tr("review.conflict.base")}</dt>
                <dd data-testid="conflict-base">{base}</dd>
                <dt>{move || tr("review.conflict.mine")}</dt>
                <dd>
                    <span class="conflict-value" data-testid="conflict-mine">{show(&mine)}</span>
                    <span class="muted">{format!(" · {} · {}", conflict.mine_by, crate::format::datetime_vn(conflict.mine_at_ms))}</span>
                    <button type="button" class="btn btn-small btn-secondary" data-testid="conflict-pick-mine"
                        disabled=move || pending.get() on:click=move |_| pick(mine.clone())>
                        {move || tr("review.conflict.pick")}
                    </button>
                </dd>
                <dt>{move || tr("review.conflict.theirs")}</dt>
                <dd>
                    <span class="conflict-value" data-testid="conflict-theirs">{show(&theirs)}</span>
                    <span class="muted">{format!(" · {} · {}", conflict.theirs_by, crate::format::datetime_vn(conflict.theirs_at_ms))}</span>
                    <button type="button" class="btn btn-small btn-secondary" data-testid="conflict-pick-theirs"
                        disabled=move || pending.get() on:click=move |_| pick(theirs.clone())>
                        {move || tr("review.conflict.pick")}
                    </button>
                </dd>
            </dl>
            <div class="conflict-custom">
                <label for=input_id>{move || tr("review.conflict.custom")}</label>
                {editor}
                <button type="button" class="btn btn-small btn-primary" data-testid="conflict-save"
                    disabled=move || pending.get() on:click=save>
                    {move || tr("review.conflict.save")}
                </button>
            </div>
            {move || {
                let server = resolve.value().get().and_then(|r| r.err()).map(|FnError(b)| b);
                typed_error.get().or(server).map(|body| view! {
                    <p class="error-banner" role="alert" data-testid="conflict-error">{error_text(lang, &body)}</p>
                })
            }}
        </li>
    }
}
