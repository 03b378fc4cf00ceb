//! The shared table of form rules and `relevant` expressions (tests/data/form_rules.json),
//! run natively and, with `--target wasm32-unknown-unknown --features hydrate`, in
//! headless Chromium: the phone and the server run the same code and must agree.

use app::forms::expr::{is_relevant, parse};
use app::forms::rules::check_value;
use app::forms::Field;
use serde_json::Value;
use std::collections::BTreeMap;

#[cfg(all(target_arch = "wasm32", feature = "hydrate"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const TABLE: &str = include_str!("data/form_rules.json");

fn table() -> Value {
    serde_json::from_str(TABLE).expect("form_rules.json parses")
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(
    all(target_arch = "wasm32", feature = "hydrate"),
    wasm_bindgen_test::wasm_bindgen_test
)]
fn every_rule_case_gives_the_expected_verdict() {
    let table = table();
    let cases = table["rules"].as_array().unwrap();
    assert!(cases.len() > 20);
    for (i, case) in cases.iter().enumerate() {
        let field: Field = serde_json::from_value(case["field"].clone()).unwrap();
        let got = match check_value(&field, &case["value"]) {
            Ok(()) => "ok".to_string(),
            Err(body) => {
                assert_eq!(
                    body.params.get("field").and_then(Value::as_str),
                    Some(field.key.as_str()),
                    "case {i}: the refusal names the field"
                );
                body.code
            }
        };
        assert_eq!(got, case["expect"].as_str().unwrap(), "case {i}: {case}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(
    all(target_arch = "wasm32", feature = "hydrate"),
    wasm_bindgen_test::wasm_bindgen_test
)]
fn every_expression_case_shows_or_hides_as_expected() {
    let table = table();
    for (i, case) in table["relevant"].as_array().unwrap().iter().enumerate() {
        let answers: BTreeMap<String, Value> =
            serde_json::from_value(case["answers"].clone()).unwrap();
        let expr = case["expr"].as_str().unwrap();
        assert!(parse(expr).is_ok(), "case {i}: {expr} parses");
        assert_eq!(
            is_relevant(Some(expr), &answers),
            case["shown"].as_bool().unwrap(),
            "case {i}: {case}"
        );
    }
    for bad in table["bad_expressions"].as_array().unwrap() {
        let bad = bad.as_str().unwrap();
        assert!(parse(bad).is_err(), "{bad:?} must not parse");
    }
}
