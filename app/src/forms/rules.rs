//! Checks one answer against its field: type, range, length, choice. Required and
//! conditional rules are checked at finalize, not here (DESIGN.md: an inspector may
//! save a half-filled form).
//!
//! One file (about 435 lines, half of them tests): every field type's check
//! in one `match`, so the phone and the server read the same rules.

use super::{Field, FieldType};
use crate::error::ErrorBody;
use serde_json::Value;

fn invalid(field: &Field, code: &str, message: String) -> ErrorBody {
    ErrorBody::new(code, message).with("field", field.key.clone())
}

/// `null` clears an answer and is always allowed here.
pub fn check_value(field: &Field, value: &Value) -> Result<(), ErrorBody> {
    if value.is_null() {
        return Ok(());
    }
    let key = &field.key;
    match field.kind {
        FieldType::Text | FieldType::LongText => {
            let s = value.as_str().ok_or_else(|| {
                invalid(field, "form.expected_text", format!("field \"{key}\" expects text"))
            })?;
            let len = s.chars().count();
            let max = field.max_length.unwrap_or(if field.kind == FieldType::Text { 500 } else { 10_000 });
            if len > max {
                return Err(invalid(
                    field,
                    "form.too_long",
                    format!("field \"{key}\" is {len} characters; the limit is {max}"),
                )
                .with("max", max));
            }
            if let Some(pattern) = &field.pattern {
                check_pattern(field, pattern, s)?;
            }
            if let Some(min) = field.min_length {
                if len < min && len > 0 {
                    return Err(invalid(
                        field,
                        "form.too_short",
                        format!("field \"{key}\" needs at least {min} characters"),
                    )
                    .with("min", min));
                }
            }
            Ok(())
        }
        FieldType::Integer | FieldType::Money => {
            let n = value.as_i64().ok_or_else(|| {
                invalid(field, "form.expected_integer", format!("field \"{key}\" expects a whole number"))
            })?;
            if field.kind == FieldType::Money && n < 0 {
                return Err(invalid(field, "form.negative_money", format!("field \"{key}\" cannot be negative")));
            }
            check_range(field, n as f64)
        }
        FieldType::Decimal => {
            let n = value.as_f64().filter(|n| n.is_finite()).ok_or_else(|| {
                invalid(field, "form.expected_number", format!("field \"{key}\" expects a number"))
            })?;
            check_range(field, n)
        }
        FieldType::Date => {
            let s = value.as_str().unwrap_or_default();
            if parse_iso_date(s).is_none() {
                return Err(invalid(field, "form.expected_date", format!("field \"{key}\" expects a date (YYYY-MM-DD)")));
            }
            Ok(())
        }
        FieldType::SelectOne => {
            let s = value.as_str().unwrap_or_default();
            if !field.choices.iter().any(|c| c.value == s) {
                return Err(invalid(field, "form.unknown_choice", format!("field \"{key}\" has no choice \"{s}\""))
                    .with("choice", s));
            }
            Ok(())
        }
        FieldType::SelectMany => {
            let items = value.as_array().ok_or_else(|| {
                invalid(field, "form.expected_list", format!("field \"{key}\" expects a list of choices"))
            })?;
            for item in items {
                let s = item.as_str().unwrap_or_default();
                if !field.choices.iter().any(|c| c.value == s) {
                    return Err(invalid(field, "form.unknown_choice", format!("field \"{key}\" has no choice \"{s}\""))
                        .with("choice", s));
                }
            }
            Ok(())
        }
        FieldType::YesNo => match value.as_str() {
            Some("yes") | Some("no") => Ok(()),
            _ => Err(invalid(field, "form.expected_yes_no", format!("field \"{key}\" expects \"yes\" or \"no\""))),
        },
        FieldType::Geopoint => {
            let lat = value.get("lat").and_then(Value::as_f64);
            let lon = value.get("lon").and_then(Value::as_f64);
            match (lat, lon) {
                (Some(lat), Some(lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => Ok(()),
                _ => Err(invalid(field, "form.expected_geopoint", format!("field \"{key}\" expects {{lat, lon}} in range"))),
            }
        }
        FieldType::Photo => {
            let ok = value.as_array().is_some_and(|a| a.iter().all(|v| v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())));
            if !ok {
                return Err(invalid(field, "form.expected_photo_ids", format!("field \"{key}\" expects a list of photo ids")));
            }
            let max = crate::photos::MAX_PER_FIELD;
            // Distinct photos: a list is a set, stored without repeats. Counted
            // only past the limit (the phone's lists never repeat a photo, and
            // this keeps a set's code out of its bundle's common path).
            let mut count = value.as_array().map_or(0, Vec::len);
            if count > max {
                let mut ids: Vec<&str> = value.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                ids.sort_unstable();
                ids.dedup();
                count = ids.len();
            }
            if count > max {
                return Err(invalid(field, "form.too_many_photos", format!("field \"{key}\" lists {count} photos; it holds at most {max}")).with("max", max));
            }
            Ok(())
        }
        FieldType::Note | FieldType::Repeat => Err(invalid(
            field,
            "form.not_answerable",
            format!("field \"{key}\" does not take a value (notes are read-only; repeat rows are their own records)"),
        )),
    }
}

/// A `pattern` must match the whole answer (anchored), as in XLSForm's `regex()`.
/// The same `regex-lite` engine runs on the phone and on the server, so a value the
/// phone accepts is never refused for its pattern.
fn check_pattern(field: &Field, pattern: &str, s: &str) -> Result<(), ErrorBody> {
    if s.is_empty() {
        return Ok(());
    }
    let re = compile_pattern(pattern).map_err(|e| {
        invalid(
            field,
            "form.bad_pattern",
            format!("field \"{}\": pattern does not compile: {e}", field.key),
        )
    })?;
    if re.is_match(s) {
        Ok(())
    } else {
        Err(invalid(
            field,
            "form.pattern",
            format!(
                "field \"{}\" does not match the pattern {pattern}",
                field.key
            ),
        )
        .with("pattern", pattern))
    }
}

/// Compiles a field pattern anchored at both ends, with a size limit so an
/// uploaded form cannot make every check slow.
pub fn compile_pattern(pattern: &str) -> Result<regex_lite::Regex, String> {
    regex_lite::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 16)
        .build()
        .map_err(|e| e.to_string())
}

/// Whether an answer counts as given for `required`: not null, not blank text,
/// not an empty selection or photo list.
fn is_answered(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

/// A live row of a repeat group, as the finalize check sees it.
pub struct RowAnswers<'a> {
    pub group: &'a str,
    pub answers: &'a std::collections::BTreeMap<String, Value>,
}

/// The finalize check (DESIGN.md: required and conditional rules apply when a visit
/// is submitted, not on every save), the same on the phone and on the server.
/// `rows` are the live rows of every repeat group. A required field hidden by its
/// `relevant` rule is not required; a required repeat group needs a row, and each
/// row its own required answers (reported as `group/field`, `relevant` evaluated
/// on the row). Returns every missing key in form order, so the phone can list
/// them all at once.
pub fn missing_required(
    form: &super::FormDefinition,
    answers: &std::collections::BTreeMap<String, Value>,
    rows: &[RowAnswers<'_>],
) -> Vec<String> {
    let mut missing = Vec::new();
    for field in form.fields() {
        if !super::expr::is_relevant(field.relevant.as_deref(), answers) {
            continue;
        }
        if field.kind == FieldType::Repeat {
            let live: Vec<&RowAnswers> = rows.iter().filter(|r| r.group == field.key).collect();
            if field.required && live.is_empty() {
                missing.push(field.key.clone());
            }
            for child in field.fields.iter().filter(|c| c.required) {
                let gap = live.iter().any(|row| {
                    super::expr::is_relevant(child.relevant.as_deref(), row.answers)
                        && !is_answered(row.answers.get(&child.key))
                });
                if gap {
                    missing.push(format!("{}/{}", field.key, child.key));
                }
            }
            continue;
        }
        let given = field.kind == FieldType::Note || is_answered(answers.get(&field.key));
        if field.required && !given {
            missing.push(field.key.clone());
        }
    }
    missing
}

fn check_range(field: &Field, n: f64) -> Result<(), ErrorBody> {
    let key = &field.key;
    if let Some(min) = field.min {
        if n < min {
            return Err(invalid(
                field,
                "form.below_min",
                format!("field \"{key}\" must be at least {min}"),
            )
            .with("min", min));
        }
    }
    if let Some(max) = field.max {
        if n > max {
            return Err(invalid(
                field,
                "form.above_max",
                format!("field \"{key}\" must be at most {max}"),
            )
            .with("max", max));
        }
    }
    Ok(())
}

/// `YYYY-MM-DD` to (y, m, d), rejecting impossible dates.
pub fn parse_iso_date(s: &str) -> Option<(i32, u32, u32)> {
    // Exactly YYYY-MM-DD in ASCII digits: `u32::from_str` takes a leading
    // `+`, so "2024-+1-05" passed and was stored, out of order with the rest.
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    let mut parts = s.splitn(3, '-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if s.len() != 10 || !(1900..=2200).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][m as usize - 1];
    (1..=days).contains(&d).then_some((y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(kind: &str, extra: Value) -> Field {
        let mut v = json!({"key": "f", "type": kind, "label": {"vi": "F", "en": "F"},
            "choices": [{"value": "a", "label": {"vi": "A", "en": "A"}}]});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_photo_field_lists_at_most_its_limit_of_distinct_photos() {
        let photo = field("photo", json!({}));
        let ids = |n: usize| -> Vec<String> {
            (0..n)
                .map(|i| uuid::Uuid::from_u128(i as u128 + 1).to_string())
                .collect()
        };
        let max = crate::photos::MAX_PER_FIELD;
        assert!(check_value(&photo, &json!(ids(max))).is_ok());
        let e = check_value(&photo, &json!(ids(max + 1))).unwrap_err();
        assert_eq!(e.code, "form.too_many_photos");
        assert_eq!(e.params["max"], max);
        // Repeats are one photo: the list is a set.
        let twice: Vec<String> = ids(max)
            .into_iter()
            .flat_map(|id| [id.clone(), id])
            .collect();
        assert!(check_value(&photo, &json!(twice)).is_ok());
    }

    #[test]
    fn finalize_requires_relevant_required_answers_and_rows() {
        let form: crate::forms::FormDefinition = serde_json::from_value(json!({
            "id": "f", "version": 1, "title": {"vi": "F", "en": "F"},
            "sections": [{"key": "s", "title": {"vi": "S", "en": "S"}, "fields": [
                {"key": "name", "type": "text", "label": {"vi": "N", "en": "N"}, "required": true},
                {"key": "supported", "type": "yes_no", "label": {"vi": "S", "en": "S"}},
                {"key": "amount", "type": "money", "label": {"vi": "A", "en": "A"}, "required": true,
                 "relevant": "supported == 'yes'"},
                {"key": "machines", "type": "repeat", "label": {"vi": "M", "en": "M"}, "required": true,
                 "fields": [{"key": "model", "type": "text", "label": {"vi": "M", "en": "M"}, "required": true}]}
            ]}]
        }))
        .unwrap();
        let mut answers = std::collections::BTreeMap::new();
        assert_eq!(
            missing_required(&form, &answers, &[]),
            vec!["name", "machines"]
        );
        answers.insert("name".into(), json!("   "));
        answers.insert("supported".into(), json!("yes"));
        assert_eq!(
            missing_required(&form, &answers, &[]),
            vec!["name", "amount", "machines"]
        );
        answers.insert("name".into(), json!("Cơ sở"));
        answers.insert("supported".into(), json!("no"));
        let blank = std::collections::BTreeMap::new();
        let filled: std::collections::BTreeMap<String, Value> =
            [("model".to_string(), json!("Máy tiện"))].into();
        let row = |answers| RowAnswers {
            group: "machines",
            answers,
        };
        assert_eq!(
            missing_required(&form, &answers, &[row(&filled), row(&blank)]),
            vec!["machines/model"],
            "every live row needs its required answers"
        );
        assert!(missing_required(&form, &answers, &[row(&filled)]).is_empty());
    }

    #[test]
    fn an_integer_field_refuses_text_and_out_of_range_numbers() {
        let f = field("integer", json!({"min": 0, "max": 100}));
        assert!(check_value(&f, &json!(25)).is_ok());
        assert_eq!(
            check_value(&f, &json!("25")).unwrap_err().code,
            "form.expected_integer"
        );
        assert_eq!(
            check_value(&f, &json!(101)).unwrap_err().code,
            "form.above_max"
        );
        assert_eq!(
            check_value(&f, &json!(-1)).unwrap_err().code,
            "form.below_min"
        );
        assert_eq!(
            check_value(&f, &json!(2.5)).unwrap_err().code,
            "form.expected_integer"
        );
    }

    #[test]
    fn a_text_longer_than_its_limit_is_refused_counting_characters_not_bytes() {
        let f = field("text", json!({"max_length": 3}));
        assert!(check_value(&f, &json!("Lục")).is_ok());
        assert_eq!(
            check_value(&f, &json!("Lụcc")).unwrap_err().code,
            "form.too_long"
        );
    }

    #[test]
    fn select_fields_accept_only_their_choices() {
        assert!(check_value(&field("select_one", json!({})), &json!("a")).is_ok());
        assert!(check_value(&field("select_one", json!({})), &json!("b")).is_err());
        assert!(check_value(&field("select_many", json!({})), &json!(["a"])).is_ok());
        assert!(check_value(&field("select_many", json!({})), &json!(["a", "z"])).is_err());
    }

    #[test]
    fn money_is_whole_non_negative_dong() {
        let f = field("money", json!({}));
        assert!(check_value(&f, &json!(12_500_000)).is_ok());
        assert!(check_value(&f, &json!(-5)).is_err());
        assert!(check_value(&f, &json!(1.5)).is_err());
    }

    #[test]
    fn dates_must_exist() {
        let f = field("date", json!({}));
        assert!(check_value(&f, &json!("2020-02-29")).is_ok());
        assert!(check_value(&f, &json!("2019-02-29")).is_err());
        assert!(check_value(&f, &json!("23/12/2019")).is_err());
        // Ten characters, but not ten of the right ones.
        for odd in ["2024-+1-05", "2024-1-005", "+024-01-05", "2024-01-5 "] {
            assert!(check_value(&f, &json!(odd)).is_err(), "{odd}");
        }
    }

    #[test]
    fn null_clears_any_answer() {
        assert!(check_value(&field("integer", json!({})), &Value::Null).is_ok());
    }
}
