//! The checks a form definition passes before it is stored.

use super::*;

fn form_with(repeat: serde_json::Value) -> FormDefinition {
    serde_json::from_value(serde_json::json!({
        "id": "f", "version": 1, "title": {"vi": "F", "en": "F"},
        "sections": [{"key": "s", "title": {"vi": "S", "en": "S"}, "fields": [repeat]}]
    }))
    .unwrap()
}

fn machines(max_rows: Option<u32>) -> serde_json::Value {
    let mut field = serde_json::json!({
        "key": "machines", "type": "repeat", "label": {"vi": "Máy", "en": "Machines"},
        "fields": [{"key": "name", "type": "text", "label": {"vi": "Tên", "en": "Name"}}]
    });
    if let Some(n) = max_rows {
        field["max_rows"] = serde_json::json!(n);
    }
    field
}

#[test]
fn the_industry_field_offers_only_the_registers_groups() {
    let field = |values: &[&str]| {
        let choices: Vec<serde_json::Value> = values
            .iter()
            .map(|v| serde_json::json!({"value": v, "label": {"vi": v, "en": v}}))
            .collect();
        form_with(serde_json::json!({
            "key": "industry_group", "type": "select_one",
            "label": {"vi": "Ngành", "en": "Industry"}, "choices": choices
        }))
    };
    assert_eq!(field(&["processing", "handicrafts"]).check(), Ok(()));
    let err = field(&["processing", "textiles"]).check().unwrap_err();
    assert!(
        err.contains("\"textiles\"") && err.contains("handicrafts"),
        "{err}"
    );
}

#[test]
fn a_repeat_group_holds_200_rows_unless_its_form_says_otherwise() {
    let plain = form_with(machines(None));
    assert!(plain.check().is_ok());
    assert_eq!(plain.field("machines").unwrap().row_limit(), 200);
    let small = form_with(machines(Some(5)));
    assert!(small.check().is_ok());
    assert_eq!(small.field("machines").unwrap().row_limit(), 5);
}

#[test]
fn max_rows_outside_1_to_1000_or_off_a_repeat_group_is_refused() {
    for bad in [0, 1001] {
        let e = form_with(machines(Some(bad))).check().unwrap_err();
        assert!(e.contains("max_rows must be between 1 and 1000"), "{e}");
    }
    let on_text = form_with(serde_json::json!({
        "key": "name", "type": "text", "label": {"vi": "T", "en": "T"}, "max_rows": 3
    }));
    assert!(on_text
        .check()
        .unwrap_err()
        .contains("only to repeat groups"));
}

/// A hint is a promise about the rule: the example it gives passes the
/// field's checks, and it never says "no spaces" of a pattern that takes
/// them (the phone field said "viết liền" while "0912 345 678" passed).
#[test]
fn the_default_forms_hints_agree_with_their_rules() {
    let form: FormDefinition =
        serde_json::from_str(include_str!("../../../data/forms/khuyen-cong-v1.json")).unwrap();
    let mut examples = 0;
    for field in form.fields().filter(|f| f.pattern.is_some()) {
        let hint = field
            .hint
            .as_ref()
            .expect("a patterned field explains its pattern");
        let pattern = field.pattern.as_deref().unwrap();
        let takes_spaces =
            crate::forms::rules::check_value(field, &serde_json::json!("0912 345 678")).is_ok();
        for (text, marker, no_spaces) in [
            (&hint.vi, "ví dụ ", "viết liền"),
            (&hint.en, "e.g. ", "no spaces"),
        ] {
            assert!(
                !(takes_spaces && text.contains(no_spaces)),
                "{}: the hint {text:?} forbids spaces that {pattern:?} accepts",
                field.key
            );
            let example = text.split(marker).nth(1).expect("a hint with an example");
            let value = serde_json::json!(example.trim_end_matches('.'));
            assert!(
                crate::forms::rules::check_value(field, &value).is_ok(),
                "{}: the hint's example {example:?} fails {pattern:?}",
                field.key
            );
            examples += 1;
        }
    }
    assert!(examples >= 2, "the phone field's hint was not checked");
}

#[test]
fn a_repeats_questions_need_their_own_names_apart_from_the_row_header() {
    for key in ["group", "visit_id"] {
        let mut repeat = machines(None);
        repeat["fields"][0]["key"] = serde_json::json!(key);
        let why = form_with(repeat).check().unwrap_err();
        assert!(why.contains("reserved for the row header"), "{key}: {why}");
    }
    let mut repeat = machines(None);
    let twin = repeat["fields"][0].clone();
    repeat["fields"].as_array_mut().unwrap().push(twin);
    let why = form_with(repeat).check().unwrap_err();
    assert!(why.contains("\"name\" is used twice"), "{why}");
    assert!(form_with(machines(None)).check().is_ok());
}
