//! One form field: the right input for its type, its label and hint in the
//! current language, and its own check while typing (the same rules the server
//! applies). Inputs hold their own text, so numbers can be typed as "12.500.000".
//!
//! One file (about 480 lines, a fifth of them tests): the parsing of what is
//! typed and the input that shows it are read together.

use crate::forms::{rules::check_value, Field, FieldType};
use crate::i18n::{error_text, use_locale, use_t};
use leptos::prelude::*;
use serde_json::Value;

/// Turns what the input holds into the answer stored for the field. Text that is
/// not a number stays text, so the check can say what is wrong with it.
pub fn parse_input(kind: FieldType, raw: &str) -> Option<Value> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    Some(match kind {
        FieldType::Integer | FieldType::Money => {
            // Dots and spaces only between groups of three digits: "2.5" or
            // "20.5" is not a whole number, and is not quietly read as 25.
            let number = trimmed.trim_end_matches('₫').trim_end();
            let (sign, digits) = match number.strip_prefix('-') {
                Some(rest) => (-1, rest),
                None => (1, number),
            };
            crate::money::grouped_digits(digits)
                .map(|n| Value::from(sign * n))
                .unwrap_or_else(|| Value::from(trimmed))
        }
        FieldType::Decimal => crate::money::decimal_as_typed(trimmed)
            .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
            .unwrap_or_else(|| Value::from(trimmed)),
        FieldType::Date => parse_vn_date(trimmed)
            .map(Value::from)
            .unwrap_or_else(|| Value::from(trimmed)),
        _ => Value::from(raw.to_string()),
    })
}

/// A date typed the Vietnamese way (dd/mm/yyyy, also d/m/yyyy, dd-mm-yyyy or
/// dd.mm.yyyy) as the ISO date the answer stores. `None` when it is no real date.
pub fn parse_vn_date(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split(['/', '-', '.']).map(str::trim).collect();
    let [d, m, y] = parts.as_slice() else {
        return None;
    };
    if y.len() != 4 {
        return None;
    }
    let iso = format!(
        "{:04}-{:02}-{:02}",
        y.parse::<i32>().ok()?,
        m.parse::<u32>().ok()?,
        d.parse::<u32>().ok()?
    );
    crate::forms::rules::parse_iso_date(&iso).map(|_| iso)
}

/// What the input shows for a stored answer of this type: dates as dd/mm/yyyy.
pub fn display_for(kind: FieldType, value: &Option<Value>) -> String {
    if let (FieldType::Decimal, Some(Value::Number(n))) = (kind, value) {
        // With the decimal comma it is typed with, and never "1000000000.0".
        if let Some(x) = n.as_f64() {
            return if x.fract() == 0.0 && x.abs() < 1e15 {
                format!("{}", x as i64)
            } else {
                x.to_string().replace('.', ",")
            };
        }
    }
    if kind == FieldType::Date {
        if let Some((y, m, d)) = value
            .as_ref()
            .and_then(Value::as_str)
            .and_then(crate::forms::rules::parse_iso_date)
        {
            return format!("{d:02}/{m:02}/{y:04}");
        }
    }
    display_value(value)
}

/// What an input shows for a stored answer.
pub fn display_value(value: &Option<Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

#[component]
pub fn FieldInput(
    field: Field,
    value: Option<Value>,
    #[prop(into)] on_change: Callback<(String, Option<Value>)>,
    /// Distinguishes the same field in several repeat rows (`{row id}/`).
    #[prop(optional, into)]
    scope: String,
) -> impl IntoView {
    let crate::i18n::Locale(lang) = use_locale();
    let tr = use_t();
    let error = RwSignal::new(None::<crate::error::ErrorBody>);
    let key = field.key.clone();
    let testid = format!("field-{}", field.key);
    let id = format!("f-{}{}", scope.replace('/', "-"), field.key);
    let data_field = format!("{scope}{}", field.key);
    let check = {
        let field = field.clone();
        move |v: &Option<Value>| error.set(v.as_ref().and_then(|v| check_value(&field, v).err()))
    };
    check(&value);
    let current = RwSignal::new(value.clone());
    let emit = {
        let key = key.clone();
        let check = check.clone();
        move |v: Option<Value>| {
            check(&v);
            current.set(v.clone());
            on_change.run((key.clone(), v));
        }
    };
    let kind = field.kind;
    let label = field.label.clone();
    let hint = field.hint.clone();
    let required = field.required;
    // Said to a screen reader too (the red star is hidden from it).
    let aria_required = required.then_some("true");
    // Checkboxes and the point's two boxes are a group named by the label.
    let label_id = format!("{id}-label");
    // The hint and the error are read with the input (the error also marks
    // it invalid), not only seen beside it.
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described_by = {
        let has_hint = field.hint.is_some() && kind != FieldType::Note;
        let (hint_id, error_id) = (hint_id.clone(), error_id.clone());
        move || {
            let mut ids: Vec<&str> = Vec::new();
            if has_hint {
                ids.push(&hint_id);
            }
            if error.with(Option::is_some) {
                ids.push(&error_id);
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    let invalid = move || error.with(Option::is_some).then_some("true");
    let constraint_message = StoredValue::new(field.constraint_message.clone());
    let initial = display_for(field.kind, &value);

    let input = match kind {
        FieldType::Note => view! { <p class="notice">{move || hint.clone().unwrap_or_else(|| label.clone()).get(lang.get()).to_string()}</p> }.into_any(),
        FieldType::LongText => {
            let emit = emit.clone();
            view! {
                <textarea id=id.clone() data-testid=testid.clone() rows="4" aria-required=aria_required
                    aria-invalid=invalid aria-describedby=described_by.clone()
                    on:input=move |ev| emit(parse_input(kind, &event_target_value(&ev)))>{initial.clone()}</textarea>
            }
            .into_any()
        }
        FieldType::SelectOne | FieldType::YesNo => {
            // Yes/no labels come from the locale at render time: English is
            // fetched on demand in the browser, so it may arrive after this.
            let choices: Vec<(String, Result<crate::forms::Text, &'static str>)> = if kind == FieldType::YesNo {
                vec![("yes".into(), Err("field.yes")), ("no".into(), Err("field.no"))]
            } else {
                field.choices.iter().map(|c| (c.value.clone(), Ok(c.label.clone()))).collect()
            };
            let emit = emit.clone();
            let options = choices
                .into_iter()
                .map(|(value, text)| {
                    let selected = value == initial;
                    let label = move || match &text {
                        Ok(text) => text.get(lang.get()).to_string(),
                        Err(key) => tr(key),
                    };
                    view! { <option value=value.clone() selected=selected>{label}</option> }
                })
                .collect_view();
            view! {
                <select id=id.clone() data-testid=testid.clone() aria-required=aria_required
                    aria-invalid=invalid aria-describedby=described_by.clone()
                    on:change=move |ev| emit(parse_input(kind, &event_target_value(&ev)))>
                    <option value="">{move || tr("field.choose")}</option>
                    {options}
                </select>
            }
            .into_any()
        }
        FieldType::SelectMany => {
            let selected = RwSignal::new(match &value {
                Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect::<Vec<_>>(),
                _ => Vec::new(),
            });
            let boxes = field
                .choices
                .iter()
                .map(|c| {
                    let value = c.value.clone();
                    let text = c.label.clone();
                    let checked = selected.with_untracked(|s| s.contains(&value));
                    let emit = emit.clone();
                    let box_id = format!("{}-{}", testid, c.value);
                    view! {
                        <label class="choice">
                            <input type="checkbox" data-testid=box_id checked=checked on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                selected.update(|s| {
                                    s.retain(|v| v != &value);
                                    if on {
                                        s.push(value.clone());
                                    }
                                });
                                let now = selected.get_untracked();
                                emit(if now.is_empty() { None } else { Some(Value::from(now)) });
                            }/>
                            {move || text.get(lang.get()).to_string()}
                        </label>
                    }
                })
                .collect_view();
            view! { <div role="group" aria-labelledby=label_id.clone() data-testid=testid.clone()>{boxes}</div> }.into_any()
        }
        FieldType::Geopoint => {
            let coordinate = |name: &str| {
                value
                    .as_ref()
                    .and_then(|v| v.get(name))
                    .and_then(Value::as_f64)
                    .map(|x| x.to_string())
                    .unwrap_or_default()
            };
            let lat = RwSignal::new(coordinate("lat"));
            let lon = RwSignal::new(coordinate("lon"));
            let accuracy = RwSignal::new(value.as_ref().and_then(|v| v.get("accuracy")).and_then(Value::as_f64));
            let locating = RwSignal::new(false);
            let gps_error = RwSignal::new(None::<&'static str>);
            let emit_point = {
                let emit = emit.clone();
                move || {
                    let parse = |s: String| s.trim().replace(',', ".").parse::<f64>().ok();
                    match (parse(lat.get_untracked()), parse(lon.get_untracked())) {
                        (Some(a), Some(b)) => {
                            let mut point = serde_json::json!({"lat": a, "lon": b});
                            if let Some(acc) = accuracy.get_untracked().filter(|a| a.is_finite()) {
                                point["accuracy"] = serde_json::json!(acc.round());
                            }
                            emit(Some(point))
                        }
                        _ if lat.get_untracked().trim().is_empty() && lon.get_untracked().trim().is_empty() => emit(None),
                        _ => emit(Some(Value::from("?"))),
                    }
                }
            };
            let emit_lat = emit_point.clone();
            let emit_lon = emit_point.clone();
            let accuracy_id = format!("{testid}-accuracy");
            let gps_error_id = format!("{testid}-gps-error");
            let locate = move |_| {
                locating.set(true);
                gps_error.set(None);
                #[cfg(feature = "hydrate")]
                {
                    let emit_point = emit_point.clone();
                    leptos::task::spawn_local(async move {
                        match crate::field::client::browser::current_position(20_000).await {
                            Ok(fix) => {
                                lat.set(format!("{:.6}", fix.lat));
                                lon.set(format!("{:.6}", fix.lon));
                                accuracy.set(Some(fix.accuracy));
                                emit_point();
                            }
                            Err(key) => gps_error.set(Some(key)),
                        }
                        locating.set(false);
                    });
                }
            };
            view! {
                <div class="geopoint" role="group" aria-labelledby=label_id.clone() data-testid=testid.clone()>
                    <button type="button" class="btn" data-testid=format!("{testid}-gps") on:click=locate disabled=move || locating.get()>
                        {move || if locating.get() { tr("geo.locating") } else { tr("geo.use_gps") }}
                    </button>
                    <Show when=move || accuracy.get().is_some_and(|a| a.is_finite())>
                        <p class="hint" data-testid=accuracy_id.clone()>
                            {move || tr("geo.accuracy").replace("{m}", &format!("{:.0}", accuracy.get().unwrap_or_default()))}
                        </p>
                    </Show>
                    <Show when=move || gps_error.get().is_some()>
                        <p class="field-error" role="alert" data-testid=gps_error_id.clone()>
                            {move || gps_error.get().map(&tr).unwrap_or_default()}
                        </p>
                    </Show>
                    <div class="geopoint-manual">
                        <input inputmode="decimal" aria-label=move || tr("field.latitude") placeholder=move || tr("field.latitude")
                            data-testid=format!("{testid}-lat") prop:value=move || lat.get()
                            on:input=move |ev| { lat.set(event_target_value(&ev)); accuracy.set(None); emit_lat(); }/>
                        <input inputmode="decimal" aria-label=move || tr("field.longitude") placeholder=move || tr("field.longitude")
                            data-testid=format!("{testid}-lon") prop:value=move || lon.get()
                            on:input=move |ev| { lon.set(event_target_value(&ev)); accuracy.set(None); emit_lon(); }/>
                    </div>
                </div>
            }
            .into_any()
        }
        FieldType::Photo | FieldType::Repeat => {
            // Repeat groups are rendered by the visit page (rows are records of their
            // own); photo capture arrives with the photo issue.
            view! { <p class="notice muted" data-testid=testid.clone()>{move || tr("field.photo_later")}</p> }.into_any()
        }
        _ => {
            let (input_type, mode) = match kind {
                FieldType::Date => ("text", "numeric"),
                FieldType::Integer | FieldType::Money => ("text", "numeric"),
                FieldType::Decimal => ("text", "decimal"),
                _ => ("text", "text"),
            };
            let emit = emit.clone();
            let placeholder = (kind == FieldType::Date).then_some("dd/mm/yyyy");
            view! {
                <input id=id.clone() type=input_type inputmode=mode data-testid=testid.clone() value=initial.clone() placeholder=placeholder
                    aria-required=aria_required aria-invalid=invalid aria-describedby=described_by.clone()
                    on:input=move |ev| emit(parse_input(kind, &event_target_value(&ev)))/>
            }
            .into_any()
        }
    };

    let label_view = (kind != FieldType::Note).then(|| {
        let label = field.label.clone();
        let for_id = id.clone();
        view! {
            <label for=for_id id=label_id.clone()>
                {move || label.get(lang.get()).to_string()}
                {required.then(|| view! { <span class="required" aria-hidden="true">" *"</span> })}
            </label>
        }
    });
    let hint_view = (kind != FieldType::Note)
        .then(|| field.hint.clone())
        .flatten()
        .map(|h| view! { <p class="hint" id=hint_id>{move || h.get(lang.get()).to_string()}</p> });
    // Money is typed as digits; the amount is echoed as people read it (12.500.000 ₫).
    let money_view = (kind == FieldType::Money).then(|| {
        view! {
            <p class="hint money" data-testid=format!("{testid}-formatted")>
                {move || current.get().and_then(|v| v.as_i64()).map(crate::format::vnd).unwrap_or_default()}
            </p>
        }
    });
    // A decimal is echoed as it was read, in the reader's own notation: typed
    // "1,250" by someone who meant twelve hundred and fifty (the English way)
    // is 1,25 here, and said so rather than stored unseen.
    let decimal_view = (kind == FieldType::Decimal).then(|| {
        view! {
            <p class="hint money" data-testid=format!("{testid}-read")>
                {move || current.get().and_then(|v| v.as_f64()).map(|n| {
                    tr("field.read_as").replace(
                        "{n}",
                        &crate::format::readable_number(n, lang.get() == crate::i18n::Lang::Vi),
                    )
                }).unwrap_or_default()}
            </p>
        }
    });
    view! {
        <div class="field" data-field=data_field data-key=key>
            {label_view}
            {hint_view}
            {input}
            {money_view}
            {decimal_view}
            <Show when=move || error.get().is_some()>
                <p class="field-error" role="alert" id=error_id.clone()>{move || error.get().map(|b| constraint_message.with_value(|own| match own {
                    // The form's own words for a broken rule; a wrong type keeps the generic text.
                    Some(m) if is_rule_error(&b.code) => m.get(lang.get()).to_string(),
                    _ => error_text(lang.get(), &b),
                })).unwrap_or_default()}</p>
            </Show>
        </div>
    }
}

/// Errors that come from the field's constraint (range, length, pattern), which
/// the form may word itself, as opposed to an answer of the wrong type.
pub fn is_rule_error(code: &str) -> bool {
    matches!(
        code,
        "form.below_min" | "form.above_max" | "form.too_long" | "form.too_short" | "form.pattern"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_may_be_typed_with_thousands_dots() {
        assert_eq!(
            parse_input(FieldType::Money, "12.500.000"),
            Some(Value::from(12_500_000))
        );
        assert_eq!(
            parse_input(FieldType::Integer, " 25 "),
            Some(Value::from(25))
        );
        assert_eq!(
            parse_input(FieldType::Integer, "abc"),
            Some(Value::from("abc"))
        );
        assert_eq!(parse_input(FieldType::Integer, "  "), None);
        assert_eq!(
            parse_input(FieldType::Money, "1 500 000 ₫"),
            Some(Value::from(1_500_000))
        );
        assert_eq!(parse_input(FieldType::Integer, "-3"), Some(Value::from(-3)));
    }

    #[test]
    fn a_decimal_point_in_a_whole_number_is_not_read_as_grouping() {
        // "20.5" was read as 205 and "2.5" workers as 25, with no word said.
        for typed in ["20.5", "2.5", "1.50", "12.5000", "1.000.00"] {
            assert_eq!(
                parse_input(FieldType::Integer, typed),
                Some(Value::from(typed)),
                "{typed}"
            );
        }
    }

    #[test]
    fn dates_are_typed_day_first_and_stored_iso() {
        assert_eq!(parse_vn_date("05/03/2025").as_deref(), Some("2025-03-05"));
        assert_eq!(parse_vn_date("5/3/2025").as_deref(), Some("2025-03-05"));
        assert_eq!(parse_vn_date("29.02.2024").as_deref(), Some("2024-02-29"));
        assert_eq!(parse_vn_date("29/02/2023"), None);
        assert_eq!(
            parse_vn_date("2025-03-05"),
            None,
            "ISO typed by hand is not day-first"
        );
        assert_eq!(
            parse_input(FieldType::Date, "31/12/2024"),
            Some(Value::from("2024-12-31"))
        );
        assert_eq!(
            parse_input(FieldType::Date, "31/13/2024"),
            Some(Value::from("31/13/2024"))
        );
        assert_eq!(
            display_for(FieldType::Date, &Some(Value::from("2024-12-31"))),
            "31/12/2024"
        );
    }

    #[test]
    fn decimals_accept_a_comma() {
        assert_eq!(
            parse_input(FieldType::Decimal, "2,5"),
            Some(serde_json::json!(2.5))
        );
        // Dots in groups of three are thousands, as in an integer field beside it.
        assert_eq!(
            parse_input(FieldType::Decimal, "1.500"),
            Some(serde_json::json!(1500.0))
        );
        assert_eq!(
            parse_input(FieldType::Decimal, "1.500,5"),
            Some(serde_json::json!(1500.5))
        );
    }
}
