//! One question row of the survey sheet: its type (with khaosat's markers),
//! texts, requirement, constraint, appearance and parameters, each checked
//! where it stands so that the problem names its cell.

use super::convert::Ctx;
use super::read::Sheet;
use super::xpath;
use crate::forms::{Choice, Field, FieldType, Text};
use crate::office::sheet::Row;
use std::collections::HashMap;

/// Appearances that only change how a question looks; the phone draws every
/// question its own way, so these change nothing that is collected.
pub(super) const LOOK_ONLY: &[&str] = &[
    "minimal",
    "horizontal",
    "horizontal-compact",
    "compact",
    "likert",
    "field-list",
    "quick",
    "thousands-sep",
    "numbers",
    "no-calendar",
    "label",
    "list-nolabel",
    "placement-map",
    "maps",
    "table-list",
    "columns",
    "columns-pack",
    "autocomplete",
    "search",
    "w1",
    "w2",
    "w3",
    "w4",
    "w5",
    "w6",
];

pub(super) fn field_type(
    ctx: &mut Ctx,
    sheet: &Sheet,
    row: &Row,
    kind: &str,
    lists: &HashMap<String, Vec<Choice>>,
) -> Option<(FieldType, Vec<Choice>)> {
    let at = |name: &str| sheet.at(row.number, Some(name));
    let marked = |name: &str| is_yes(sheet.cell(row, name, None)).unwrap_or(false);
    let money = marked("bind::khaosat:money");
    let yes_no = marked("bind::khaosat:yes_no");
    let words: Vec<&str> = kind.split(' ').collect();
    let found = match words.as_slice() {
        ["text"] if appearances(sheet, row).contains(&"multiline") => FieldType::LongText,
        ["text"] => FieldType::Text,
        ["integer"] if money => FieldType::Money,
        ["integer"] => FieldType::Integer,
        ["decimal"] => FieldType::Decimal,
        ["date"] => FieldType::Date,
        ["geopoint"] => FieldType::Geopoint,
        ["image"] => FieldType::Photo,
        ["note"] => FieldType::Note,
        [select @ ("select_one" | "select_multiple"), list]
        | ["select", select @ ("one" | "multiple"), list] => {
            let many = select.ends_with("multiple");
            let Some(choices) = lists.get(*list) else {
                ctx.problem(at("type"), "xlsform.unknown_list", &[("list", *list)]);
                return None;
            };
            if yes_no && !many {
                let values: Vec<&str> = choices.iter().map(|c| c.value.as_str()).collect();
                if values != ["yes", "no"] && values != ["no", "yes"] {
                    ctx.problem(
                        at("bind::khaosat:yes_no"),
                        "xlsform.yes_no_list",
                        &[("list", *list)],
                    );
                    return None;
                }
                return Some((FieldType::YesNo, Vec::new()));
            }
            let kind = if many {
                FieldType::SelectMany
            } else {
                FieldType::SelectOne
            };
            return Some((kind, choices.clone()));
        }
        [select, _, "or_other"] if select.starts_with("select_") => {
            ctx.problem(at("type"), "xlsform.type.or_other", &[("type", kind)]);
            return None;
        }
        [t, ..] => {
            let code = match *t {
                "calculate"
                | "hidden"
                | "acknowledge"
                | "time"
                | "datetime"
                | "range"
                | "geotrace"
                | "geoshape"
                | "barcode"
                | "audio"
                | "video"
                | "file"
                | "select_one_from_file"
                | "select_multiple_from_file"
                | "rank" => {
                    format!("xlsform.type.{t}")
                }
                _ => "xlsform.type".to_string(),
            };
            ctx.problem(at("type"), &code, &[("type", kind)]);
            return None;
        }
        [] => return None,
    };
    if money && found != FieldType::Money {
        ctx.problem(
            at("bind::khaosat:money"),
            "xlsform.marker",
            &[("marker", "bind::khaosat:money"), ("type", "integer")],
        );
    }
    if yes_no {
        ctx.problem(
            at("bind::khaosat:yes_no"),
            "xlsform.marker",
            &[("marker", "bind::khaosat:yes_no"), ("type", "select_one")],
        );
    }
    Some((found, Vec::new()))
}

fn appearances<'a>(sheet: &Sheet, row: &'a Row) -> Vec<&'a str> {
    sheet
        .cell(row, "appearance", None)
        .split_whitespace()
        .collect()
}

/// Whether a text pulls in an answer (`${field}`), which khaosat's fixed
/// labels cannot do.
pub(super) fn refers(text: &Text) -> bool {
    text.vi.contains("${") || text.en.contains("${")
}

/// `yes`/`true()` and `no`/`false()` (any case); `None` for anything else.
fn is_yes(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "yes" | "true" | "true()" | "1" => Some(true),
        "" | "no" | "false" | "false()" | "0" => Some(false),
        _ => None,
    }
}

/// Whether `name` can be a khaosat field key (snake_case ASCII); the offer is
/// what it could be renamed to.
fn key_offer(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        return None;
    }
    let mut offer: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if offer.starts_with(|c: char| c.is_ascii_digit()) || offer.is_empty() {
        offer.insert_str(0, "q_");
    }
    Some(offer)
}

pub(super) fn field_of(
    ctx: &mut Ctx,
    sheet: &Sheet,
    row: &Row,
    kind: FieldType,
    choices: Vec<Choice>,
) -> Option<Field> {
    let cell = |name: &str| sheet.cell(row, name, None);
    let at = |name: &str| sheet.at(row.number, Some(name));
    let name = cell("name").to_string();
    let mut ok = true;
    if name.is_empty() {
        ctx.problem(at("name"), "xlsform.no_name", &[]);
        ok = false;
    } else if let Some(offer) = key_offer(&name) {
        ctx.problem(
            at("name"),
            "xlsform.bad_name",
            &[("name", &name), ("offer", &offer)],
        );
        ok = false;
    } else if crate::forms::definition::RESERVED_KEYS.contains(&name.as_str()) {
        ctx.problem(at("name"), "xlsform.reserved_name", &[("name", &name)]);
        ok = false;
    } else if !ctx.claim(&name, at("name"), row.number) {
        ok = false;
    }
    let label = ctx.text(sheet, row, "label");
    let hint = ctx.text(sheet, row, "hint");
    if label.is_none() && !(kind == FieldType::Note && hint.is_some()) {
        ctx.problem(at("label"), "xlsform.no_label", &[("name", &name)]);
        ok = false;
    }
    let required_message = ctx.text(sheet, row, "required_message");
    let constraint_message = ctx.text(sheet, row, "constraint_message");
    for (column, text) in [
        ("label", &label),
        ("hint", &hint),
        ("required_message", &required_message),
        ("constraint_message", &constraint_message),
    ] {
        if text.as_ref().is_some_and(refers) {
            ctx.problem(at(column), "xlsform.label_reference", &[("column", column)]);
            ok = false;
        }
    }
    let required = match is_yes(cell("required")) {
        Some(r) => r && kind != FieldType::Note,
        None => {
            ctx.problem(
                at("required"),
                "xlsform.required",
                &[("value", cell("required"))],
            );
            false
        }
    };
    let mut limits = xpath::Limits::default();
    let constraint = cell("constraint");
    if !constraint.is_empty() {
        match xpath::constraint(constraint, kind) {
            Ok(l) => limits = l,
            Err(f) => {
                ctx.problem(at("constraint"), f.code, &[("found", &f.found)]);
                ok = false;
            }
        }
    }
    for look in appearances(sheet, row) {
        if look == "multiline" && matches!(kind, FieldType::LongText) {
            continue;
        }
        if LOOK_ONLY.contains(&look) || look == "multiline" {
            ctx.notes.push(
                at("appearance").problem("xlsform.appearance_ignored", &[("appearance", look)]),
            );
        } else {
            ctx.problem(
                at("appearance"),
                "xlsform.appearance",
                &[("appearance", look)],
            );
            ok = false;
        }
    }
    let mut max_px = None;
    for param in cell("parameters")
        .split([' ', ';', ','])
        .filter(|p| !p.is_empty())
    {
        match param.split_once('=') {
            Some(("max-pixels", n)) if kind == FieldType::Photo => match n.parse::<u32>() {
                Ok(n) => max_px = Some(n),
                Err(_) => {
                    ctx.problem(at("parameters"), "xlsform.parameters", &[("found", param)]);
                    ok = false;
                }
            },
            _ => {
                ctx.problem(at("parameters"), "xlsform.parameters", &[("found", param)]);
                ok = false;
            }
        }
    }
    let rows_cell = cell("bind::khaosat:max_rows");
    let max_rows = match (rows_cell.is_empty(), rows_cell.parse::<u32>()) {
        (true, _) => None,
        (false, Ok(n)) if kind == FieldType::Repeat => Some(n),
        _ => {
            ctx.problem(
                at("bind::khaosat:max_rows"),
                "xlsform.max_rows",
                &[("value", rows_cell)],
            );
            ok = false;
            None
        }
    };
    let label = label.or(hint.clone()).unwrap_or_default();
    ok.then(|| Field {
        key: name,
        kind,
        label,
        hint,
        required,
        min: limits.min,
        max: limits.max,
        min_length: limits.min_length,
        max_length: limits.max_length,
        pattern: limits.pattern,
        choices,
        relevant: None,
        fields: Vec::new(),
        max_px,
        max_rows,
        required_message,
        constraint_message,
    })
}
