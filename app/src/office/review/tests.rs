//! Unit tests of the review pages' pure helpers.

use super::{conflicts::*, detail::*, list::*};

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

fn field_of(kind: &str) -> Field {
    serde_json::from_value(serde_json::json!({
        "key": "k", "type": kind, "label": {"vi": "K", "en": "K"},
        "choices": [{"value": "co_khi", "label": {"vi": "Cơ khí", "en": "Mechanical"}}]
    }))
    .unwrap()
}

/// Issue 17: the supervisor read `{"accuracy":12.0,"lat":…}` and "350.5" for
/// a decimal typed "350,5". Every type reads as a person writes it.
#[test]
fn every_answer_type_reads_as_a_person_writes_it() {
    use serde_json::json;
    let show = |kind: &str, v: Value| show_answer(&field_of(kind), &v, Lang::Vi);
    assert_eq!(show("decimal", json!(350.5)), "350,5");
    assert_eq!(show("decimal", json!(12345.25)), "12.345,25");
    // Whole numbers under 10.000 as written: a year reads 2008, not 2.008.
    assert_eq!(show("integer", json!(2008)), "2008");
    assert_eq!(show("integer", json!(12500)), "12.500");
    assert_eq!(show("money", json!(12500000)), "12.500.000 ₫");
    assert_eq!(show("date", json!("2026-06-15")), "15/06/2026");
    assert_eq!(show("select_one", json!("co_khi")), "Cơ khí");
    assert_eq!(show("select_many", json!(["co_khi"])), "Cơ khí");
    assert_eq!(show("yes_no", json!("yes")), "Có");
    assert_eq!(show("yes_no", json!(false)), "Không");
    assert_eq!(
        show(
            "geopoint",
            json!({"lat": 21.38123, "lon": 106.55012, "accuracy": 12.0})
        ),
        "21.381230, 106.550120 (sai số ± 12 m)"
    );
    assert_eq!(
        show("geopoint", json!({"lat": 21.0, "lon": 106.0})),
        "21.000000, 106.000000"
    );
    assert_eq!(show("photo", json!(["a", "b"])), "2 ảnh");
    assert_eq!(
        map_url((21.38123, 106.55012)),
        "https://www.openstreetmap.org/?mlat=21.381230&mlon=106.550120#map=17/21.381230/106.550120"
    );
}

/// Every action the server records reads as words in both languages (the
/// trail showed `auth.login`, `review`, `recommend`).
#[test]
fn every_recorded_action_reads_as_words() {
    let actions = [
        "auth.login",
        "auth.login_failed",
        "auth.logout",
        "auth.password_changed",
        "auth.device_bound",
        "device.revoked",
        "facility.created",
        "facility.updated",
        "facility.deactivated",
        "facility.reactivated",
        "form.publish",
        "proposal.created",
        "proposal.updated",
        "proposal.deactivated",
        "proposal.reactivated",
        "recommend",
        "registry.imported",
        "resolve_conflict",
        "review",
        "set_budget",
        "user.created",
        "user.updated",
        "user.deactivated",
        "user.reactivated",
        "user.password_reset",
        "year.opened",
        "year.closed",
        "import",
    ];
    for action in actions {
        for lang in [Lang::Vi, Lang::En] {
            assert_ne!(
                action_text(lang, action),
                action,
                "{action} has no {lang:?} words"
            );
        }
    }
    assert_eq!(action_text(Lang::Vi, "review"), "duyệt phiếu");
    assert_eq!(action_text(Lang::Vi, "some.new_action"), "some.new_action");
}
