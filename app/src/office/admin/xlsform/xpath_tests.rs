//! The XPath translations, one construct per test.

use super::*;
use crate::office::admin::xlsform::constraint::{pattern_from_regex, regex_from_pattern};

fn kinds(name: &str) -> Option<FieldType> {
    match name {
        "support" => Some(FieldType::SelectMany),
        "size" | "owner_confirmed" => Some(FieldType::SelectOne),
        "workers" => Some(FieldType::Integer),
        "name" => Some(FieldType::Text),
        _ => None,
    }
}

#[test]
fn relevant_conditions_people_write_become_khaosat_expressions() {
    for (xpath, khaosat) in [
        ("${owner_confirmed} = 'no'", "owner_confirmed == 'no'"),
        ("${size} != \"large\"", "size != 'large'"),
        (
            "${workers} >= 10 and ${workers} < 300",
            "workers >= 10 and workers < 300",
        ),
        (
            "${workers} <= -1 or ${workers} > 2.5",
            "workers <= -1 or workers > 2.5",
        ),
        ("not(${size} = 'small')", "not (size == 'small')"),
        (
            "selected(${support}, 'machines')",
            "selected(support, 'machines')",
        ),
        (
            "(${size} = 'a' or ${size} = 'b') and ${name} != ''",
            "(size == 'a' or size == 'b') and name != ''",
        ),
        ("${size}='a'", "size == 'a'"),
        ("${workers} > 0 = true()", "workers > 0 == true"),
    ] {
        let got = relevant(xpath, kinds);
        if xpath.ends_with("true()") {
            assert_eq!(got.unwrap_err().code, "xlsform.xpath_chain");
            continue;
        }
        assert_eq!(got.as_deref(), Ok(khaosat), "{xpath}");
        assert_eq!(
            to_xpath(khaosat).replace(' ', ""),
            xpath.replace(' ', "").replace('"', "'")
        );
    }
}

#[test]
fn what_a_phone_could_not_do_the_same_way_is_refused_by_name() {
    for (xpath, code) in [
        ("${size} = 'a' + 1", "xlsform.xpath_arithmetic"),
        ("count(${support}) > 1", "xlsform.xpath_function"),
        ("string-length(${name}) > 3", "xlsform.xpath_function"),
        ("${missing} = 'a'", "xlsform.unknown_field"),
        ("${support} = 'machines'", "xlsform.compare_multiple"),
        ("selected(${name}, 'a')", "xlsform.selected_not_choice"),
        ("/data/size = 'a'", "xlsform.xpath_path"),
        ("${size} = 'a' or", "xlsform.xpath_syntax"),
        (". > 3", "xlsform.xpath_dot"),
        ("${size} = \"it's\"", "xlsform.xpath_quote"),
        ("${size} = 'a' div 2", "xlsform.xpath_word"),
        ("${owner_confirmed}", "xlsform.bare_field"),
        (
            "${workers} > 3 and not(${owner_confirmed})",
            "xlsform.bare_field",
        ),
    ] {
        assert_eq!(relevant(xpath, kinds).unwrap_err().code, code, "{xpath}");
    }
}

#[test]
fn constraints_set_range_length_and_pattern() {
    let l = constraint(". >= 0 and . <= 500", FieldType::Integer).unwrap();
    assert_eq!((l.min, l.max), (Some(0.0), Some(500.0)));
    let l = constraint(". > 0 and . < 10", FieldType::Money).unwrap();
    assert_eq!((l.min, l.max), (Some(1.0), Some(9.0)));
    assert_eq!(
        constraint(". > 0.5", FieldType::Decimal).unwrap_err().code,
        "xlsform.constraint_bound"
    );
    let l = constraint(
        "regex(., '^0[0-9]{9}$') and string-length(.) <= 10",
        FieldType::Text,
    )
    .unwrap();
    assert_eq!(l.pattern.as_deref(), Some("0[0-9]{9}"));
    assert_eq!(l.max_length, Some(10));
    assert_eq!(
        constraint(". >= 1 and . >= 2", FieldType::Integer)
            .unwrap_err()
            .code,
        "xlsform.constraint_twice"
    );
    assert_eq!(
        constraint(". != 3", FieldType::Integer).unwrap_err().code,
        "xlsform.constraint_bound"
    );
    // A length past any answer was cast and one added: a panic in a debug
    // build, a minimum of 0 in a release one.
    assert_eq!(
        constraint("string-length(.) > 99999999999999999999", FieldType::Text)
            .unwrap_err()
            .code,
        "xlsform.length_too_large"
    );
    assert_eq!(
        constraint("regex(., 'a')", FieldType::Integer)
            .unwrap_err()
            .code,
        "xlsform.constraint_type"
    );
    assert_eq!(
        constraint(". >= ${other}", FieldType::Integer)
            .unwrap_err()
            .code,
        "xlsform.constraint_shape"
    );
}

#[test]
fn an_unanchored_regex_keeps_odks_find_semantics() {
    use crate::forms::rules::compile_pattern;
    let p = pattern_from_regex("[0-9]");
    let re = compile_pattern(&p).unwrap();
    assert!(re.is_match("abc 7 def") && !re.is_match("abc"));
    let p = pattern_from_regex("^a|b$");
    let re = compile_pattern(&p).unwrap();
    assert!(re.is_match("axx") && re.is_match("xxb") && !re.is_match("xax"));
    for khaosat in ["0[0-9 ]{9,12}", "a|b", "(x)(y)", "[^a]+", r"\d+\$"] {
        assert_eq!(pattern_from_regex(&regex_from_pattern(khaosat)), khaosat);
    }
}
