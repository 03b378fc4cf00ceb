//! The checks a form definition passes before it is stored.
//!
//! One file (about 405 lines): every refused definition is a row of one table, each beside its reason.

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
    let err = field(&["processing", "textiles"])
        .check()
        .unwrap_err()
        .message;
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
        let e = form_with(machines(Some(bad))).check().unwrap_err().message;
        assert!(e.contains("max_rows must be between 1 and 1000"), "{e}");
    }
    let on_text = form_with(serde_json::json!({
        "key": "name", "type": "text", "label": {"vi": "T", "en": "T"}, "max_rows": 3
    }));
    assert!(on_text
        .check()
        .unwrap_err()
        .message
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
        let why = form_with(repeat).check().unwrap_err().message;
        assert!(why.contains("reserved for the row header"), "{key}: {why}");
    }
    let mut repeat = machines(None);
    let twin = repeat["fields"][0].clone();
    repeat["fields"].as_array_mut().unwrap().push(twin);
    let why = form_with(repeat).check().unwrap_err().message;
    assert!(why.contains("\"name\" is used twice"), "{why}");
    assert!(form_with(machines(None)).check().is_ok());
}

/// Every refusal of a definition has its own sentence in both languages,
/// filled in, with the English detail left out of the Vietnamese one.
#[cfg(feature = "ssr")]
#[test]
fn each_refusal_of_a_definition_is_worded_in_vietnamese_and_english() {
    use crate::i18n::{error_text, Lang};
    use serde_json::json;
    let text = |key: &str, kind: &str, extra: serde_json::Value| {
        let mut f = json!({"key": key, "type": kind, "label": {"vi": "T", "en": "T"}});
        if let (Some(f), Some(extra)) = (f.as_object_mut(), extra.as_object()) {
            f.extend(extra.clone());
        }
        f
    };
    let mut no_id = form_with(text("a", "text", json!({})));
    no_id.id = " ".into();
    let mut version = form_with(text("a", "text", json!({})));
    version.version = 0;
    let mut row_header = machines(None);
    row_header["fields"][0]["key"] = json!("group");
    let mut twice = form_with(text("a", "text", json!({})));
    let again = twice.sections[0].fields[0].clone();
    twice.sections[0].fields.push(again);
    let photo_in_repeat = json!({
        "key": "machines", "type": "repeat", "label": {"vi": "M", "en": "M"},
        "fields": [{"key": "pic", "type": "photo", "label": {"vi": "Ả", "en": "P"}}]
    });
    let mut huge_version = form_with(text("a", "text", json!({})));
    huge_version.version = i32::MAX;
    let long_label = "Nhãn rất dài ".repeat(200);
    let cases = [
        ("no_id", no_id),
        ("version", version),
        ("version_too_large", huge_version),
        (
            "label_too_long",
            form_with(json!({"key": "a", "type": "text", "label": {"vi": long_label, "en": "T"}})),
        ),
        (
            "length_range",
            form_with(text("a", "text", json!({"max_length": 4_294_967_296_u64}))),
        ),
        (
            "length_order",
            form_with(text("a", "text", json!({"min_length": 9, "max_length": 3}))),
        ),
        ("row_header_key", form_with(row_header)),
        ("key_format", form_with(text("Bad Key", "text", json!({})))),
        (
            "reserved_key",
            form_with(text("proposal_id", "text", json!({}))),
        ),
        ("key_twice", twice),
        ("no_choices", form_with(text("a", "select_one", json!({})))),
        (
            "industry",
            form_with(text(
                "industry_group",
                "select_one",
                json!({"choices": [{"value": "textiles", "label": {"vi": "D", "en": "T"}}]}),
            )),
        ),
        ("empty_repeat", form_with(text("m", "repeat", json!({})))),
        ("photo_in_repeat", form_with(photo_in_repeat)),
        (
            "min_above_max",
            form_with(text("n", "integer", json!({"min": 5, "max": 3}))),
        ),
        (
            "pattern_not_text",
            form_with(text("n", "integer", json!({"pattern": "[0-9]+"}))),
        ),
        (
            "bad_pattern",
            form_with(text("a", "text", json!({"pattern": "(["}))),
        ),
        (
            "bad_relevant",
            form_with(text("a", "text", json!({"relevant": "workforce >"}))),
        ),
        (
            "relevant_unknown_field",
            form_with(text(
                "a",
                "text",
                json!({"relevant": "name_confrmed == 'no'"}),
            )),
        ),
        (
            "max_rows_not_repeat",
            form_with(text("a", "text", json!({"max_rows": 3}))),
        ),
        ("max_rows_range", form_with(machines(Some(1001)))),
        (
            "max_px_not_photo",
            form_with(text("a", "text", json!({"max_px": 1000}))),
        ),
        (
            "max_px_range",
            form_with(text("p", "photo", json!({"max_px": 10}))),
        ),
    ];
    let json_error = DefinitionError::json(2, 7, "invalid type: integer".into());
    let written = json!({"id": "f", "version": 1, "title": {"vi": "T", "en": "T"},
        "sections": [], "descripton": "x"});
    let unknown = crate::forms::definition_error::unknown_key(
        &written,
        &serde_json::from_value(written.clone()).unwrap(),
    )
    .expect("an unknown key");
    let mut bodies = vec![("json", json_error.body()), ("unknown_key", unknown.body())];
    for (reason, form) in cases {
        let wrong = form.check().expect_err(reason);
        assert_eq!(wrong.reason, reason, "{}", wrong.message);
        bodies.push((reason, wrong.body()));
    }
    for (reason, body) in bodies {
        assert_eq!(body.code, "form.invalid_definition");
        let vi = error_text(Lang::Vi, &body);
        let en = error_text(Lang::En, &body);
        let general = crate::forms::definition_words::sentence("");
        assert_ne!(
            crate::forms::definition_words::sentence(reason),
            general,
            "{reason}: no sentence of its own"
        );
        for (lang, text) in [("vi", &vi), ("en", &en)] {
            assert!(!text.contains('{'), "{reason} ({lang}): unfilled: {text}");
        }
        assert!(!vi.contains(&body.message), "{reason}: English in {vi}");
        assert_ne!(vi, en, "{reason}");
    }
}

/// A definition written by hand that serde refuses: the Vietnamese sentence
/// names what is wrong (a missing field, a type that does not exist, a file
/// cut short), not only where, and holds none of serde's English.
#[cfg(feature = "ssr")]
#[test]
fn a_definition_serde_refuses_says_what_is_wrong_in_each_language() {
    use crate::i18n::{error_text, Lang};
    let section = r#""sections": [{"key": "s", "title": {"vi": "S", "en": "S"}, "fields": [
        {"key": "a", "type": "checkbox", "label": {"vi": "A", "en": "A"}}]}]"#;
    let cases = [
        (
            r#"{"id": "f", "title": {"vi": "T", "en": "T"}, "sections": []}"#.to_string(),
            "thiếu trường «version»",
            "the field «version» is missing",
        ),
        (
            format!(r#"{{"id": "f", "version": 1, "title": {{"vi": "T", "en": "T"}}, {section}}}"#),
            "«checkbox» không phải một giá trị được dùng ở đây (chọn một trong: text, long_text",
            "«checkbox» is not a value used here",
        ),
        (
            r#"{"id": "f", "version": "1", "title": {"vi": "T", "en": "T"}, "sections": []}"#
                .to_string(),
            "một giá trị sai kiểu, ở đây cần một số nguyên",
            "a value of the wrong kind, where a whole number is needed",
        ),
        (
            r#"{"id": "f", "version": 1, "title": 3, "sections": []}"#.to_string(),
            "ở đây cần một đối tượng { … }",
            "where an object { … } is needed",
        ),
        (
            r#"{"id": "f", "version": 1, "title": {"vi": "T", "en": "T"}, "sections": {}}"#
                .to_string(),
            "ở đây cần một danh sách [ … ]",
            "where a list [ … ] is needed",
        ),
        (
            r#"{"id": 7, "version": 1, "title": {"vi": "T", "en": "T"}, "sections": []}"#
                .to_string(),
            "ở đây cần chữ trong dấu nháy",
            "where text in quotes",
        ),
        (
            r#"{"id": "f", "version": 1, "title": {"vi": "T""#.to_string(),
            "tệp dừng giữa chừng",
            "stops before its end",
        ),
        (
            r#"{"id": "f", "version": 1,, "title": {}}"#.to_string(),
            "sai cú pháp JSON",
            "a JSON syntax error",
        ),
        (
            r#"{"id": "f", "id": "g", "version": 1, "title": {"vi": "T", "en": "T"}, "sections": []}"#
                .to_string(),
            "trường «id» được viết hai lần",
            "the field «id» is written twice",
        ),
    ];
    for (text, vi_part, en_part) in cases {
        let e = serde_json::from_str::<crate::forms::FormDefinition>(&text).expect_err(&text);
        let body = DefinitionError::json(e.line(), e.column(), e.to_string()).body();
        let vi = error_text(Lang::Vi, &body);
        let en = error_text(Lang::En, &body);
        assert!(vi.contains(vi_part), "{text}\n{vi}");
        assert!(en.contains(en_part), "{text}\n{en}");
        assert!(
            vi.contains(&format!("dòng {}, cột {}", e.line(), e.column())),
            "{vi}"
        );
        for english in [
            "missing",
            "expected",
            "variant",
            "invalid",
            "EOF",
            "duplicate",
        ] {
            assert!(!vi.contains(english), "{text}\n{vi}");
        }
    }
}

/// A key serde passes over ("requird": true, misspelt) would publish a form
/// whose question is optional without a word; it is refused, naming the
/// item. A key left at its default (false, empty, null) is no loss, and the
/// forms the app ships hold no unknown key.
#[cfg(feature = "ssr")]
#[test]
fn a_misspelt_key_of_a_definition_is_refused_with_its_item() {
    use crate::forms::definition_error::unknown_key;
    use serde_json::json;
    let form = |field: serde_json::Value| {
        json!({"id": "f", "version": 1, "title": {"vi": "T", "en": "T"}, "sections": [
            {"key": "s", "title": {"vi": "S", "en": "S"}, "fields": [field]}]})
    };
    let check = |written: serde_json::Value| {
        unknown_key(&written, &serde_json::from_value(written.clone()).unwrap())
    };
    let misspelt = form(
        json!({"key": "a", "type": "text", "label": {"vi": "A", "en": "A"},
        "requird": true}),
    );
    let wrong = check(misspelt).expect("requird is refused");
    assert_eq!(wrong.reason, "unknown_key");
    let body = wrong.body();
    let vi = crate::i18n::error_text(crate::i18n::Lang::Vi, &body);
    assert!(vi.contains("«requird»") && vi.contains("mục «a»"), "{vi}");
    for harmless in [json!(false), json!(null), json!([]), json!("")] {
        let written = form(
            json!({"key": "a", "type": "text", "label": {"vi": "A", "en": "A"},
            "requird": harmless}),
        );
        assert!(check(written).is_none());
    }
    let known = form(
        json!({"key": "a", "type": "select_one", "label": {"vi": "A", "en": "A"},
        "required": true, "hint": {"vi": "H", "en": "H"}, "choices": [
            {"value": "x", "label": {"vi": "X", "en": "X"}}]}),
    );
    assert!(check(known).is_none());
    // The default form, and the definitions the XLSForm fixtures expect.
    let mut shipped = vec![crate::store::seed::DEFAULT_FORM.to_string()];
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/xlsform");
    for entry in std::fs::read_dir(fixtures).unwrap().flatten() {
        if entry.path().to_string_lossy().ends_with(".json") {
            shipped.push(std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    let mut read_count = 0;
    for text in shipped {
        let whole: serde_json::Value = serde_json::from_str(&text).unwrap();
        // An expected import holds its definition under "definition".
        let written = whole.get("definition").cloned().unwrap_or(whole);
        let Ok(read) = serde_json::from_value(written.clone()) else {
            continue;
        };
        read_count += 1;
        let found = unknown_key(&written, &read);
        assert!(found.is_none(), "{found:?}");
    }
    assert!(read_count >= 3, "only {read_count} definitions read");
}
