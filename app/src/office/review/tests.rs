//! Unit tests of the review pages' pure helpers.

use super::{conflicts::*, list::*};

use super::*;

#[test]
fn an_audit_detail_shows_old_to_new() {
    assert_eq!(
        audit_detail(r#"{"from": "submitted", "to": "approved"}"#),
        "submitted → approved"
    );
    assert_eq!(
        audit_detail(
            r#"{"old": {"recommendation": "provincial", "amount": 5, "rationale": null},
                "new": {"recommendation": "national", "amount": 7, "rationale": "x"}}"#
        ),
        "amount: 5 → 7; rationale: — → x; recommendation: provincial → national"
    );
    assert_eq!(audit_detail("not json"), "not json");
}

#[test]
fn distances_read_in_metres_then_kilometres_with_a_decimal_comma() {
    assert_eq!(distance_text(420.4), "420 m");
    assert_eq!(distance_text(3849.0), "3,8 km");
}

#[test]
fn a_custom_value_takes_the_fields_type() {
    assert_eq!(
        custom_value(Some(FieldType::Text), "Hòa Phát"),
        Ok(Value::from("Hòa Phát"))
    );
    assert_eq!(
        custom_value(Some(FieldType::Money), "1.500.000"),
        Ok(Value::from(1_500_000))
    );
    assert_eq!(
        custom_value(Some(FieldType::Decimal), "12,5"),
        Ok(Value::from(12.5))
    );
    assert_eq!(
        custom_value(Some(FieldType::Integer), "mười")
            .unwrap_err()
            .code,
        "conflict.not_a_number"
    );
    assert_eq!(
        custom_value(Some(FieldType::SelectMany), r#"["local"]"#),
        Ok(serde_json::json!(["local"]))
    );
}

#[test]
fn the_list_url_keeps_the_filters_and_the_page() {
    assert_eq!(list_url(&VisitQuery::default().normalized()), "/review");
    let q = VisitQuery {
        state: Some(ReviewState::Submitted),
        page: 2,
        ..Default::default()
    };
    assert_eq!(list_url(&q), "/review?state=submitted&page=2");
}
