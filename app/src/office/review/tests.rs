//! Unit tests of the review pages' pure helpers.

use super::{conflicts::*, detail::*, list::*};

use super::*;

#[test]
fn an_audit_detail_shows_old_to_new() {
    assert_eq!(
        audit_detail(r#"{"from": "submitted", "to": "approved"}"#),
        "Chờ duyệt → Đã duyệt"
    );
    assert_eq!(
        audit_detail(
            r#"{"old": {"recommendation": "provincial", "amount": 5000000, "rationale": null},
                "new": {"recommendation": "national", "amount": 7000000, "rationale": "x"}}"#
        ),
        "số tiền: 5.000.000 ₫ → 7.000.000 ₫; lý do: — → x; hình thức hỗ trợ: Tỉnh hỗ trợ → Đề nghị quốc gia"
    );
    assert_eq!(audit_detail("not json"), "not json");
}

/// A new-user walk read "ksv1 | duyệt phiếu | in_progress → submitted
/// (comment: —, field: —)" for the inspector's own submit, and JSON for an
/// account's roles. Each step is named by where it took the visit.
#[test]
fn an_audit_entry_reads_in_words_not_codes() {
    let submit = r#"{"from": "in_progress", "to": "submitted", "comment": null, "field": null}"#;
    assert_eq!(entry_action_text(Lang::Vi, "review", submit), "gửi duyệt");
    assert_eq!(audit_detail(submit), "Đang thực hiện → Chờ duyệt");
    let back =
        r#"{"from": "submitted", "to": "needs_changes", "comment": "Thiếu ảnh", "field": null}"#;
    assert_eq!(
        entry_action_text(Lang::Vi, "review", back),
        "yêu cầu bổ sung"
    );
    assert_eq!(
        entry_action_text(Lang::En, "review", back),
        "sent a visit back"
    );
    assert_eq!(
        audit_detail(back),
        "Chờ duyệt → Cần bổ sung (nhận xét: Thiếu ảnh)"
    );
    assert_eq!(
        audit_detail(r#"{"new": {"roles": ["inspector"], "units": ["bac-giang-2020/213"]}}"#),
        "vai trò: — → Người khảo sát; địa bàn: — → 213"
    );
    assert_eq!(
        audit_detail_in(
            Lang::En,
            r#"{"device_id": "01a2b3c4-d5e6-7f00-8000-000000000000"}"#
        ),
        "phone: 01a2b3c4…"
    );
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
    // Typed back as the page shows it, a decimal is the same number.
    for x in [12500.0, 1234.75, 1_250_000.5, 0.5] {
        let shown = crate::format::readable_number(x, true);
        assert_eq!(
            custom_value(Some(FieldType::Decimal), &shown),
            Ok(Value::from(x)),
            "{shown}"
        );
    }
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
    // A date as the page shows dates, stored as the form stores them.
    assert_eq!(
        custom_value(Some(FieldType::Date), "05/03/2025"),
        Ok(Value::from("2025-03-05"))
    );
    assert_eq!(
        custom_value(Some(FieldType::Date), "mùng 5")
            .unwrap_err()
            .code,
        "conflict.not_a_date"
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
        "proposal.moved_with_facility",
        "recommend",
        "registry.imported",
        "units.tree_imported",
        "units.mapping_imported",
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

/// The send-back's "Về mục" list read "Ảnh: 2" for a photo without a
/// caption, as if "2" were its caption.
#[test]
fn a_photo_without_a_caption_is_named_by_its_place() {
    let mut photo: crate::photos::PhotoRecord = serde_json::from_value(serde_json::json!({
        "id": "p", "visit_id": "v", "field": "evidence_photos", "sha256": "0", "size": 1,
        "content_type": "image/jpeg", "caption": null, "taken_at_ms": null, "time_source": null,
        "lat": null, "lon": null, "accuracy_m": null, "location_source": null, "status": "ok",
        "width": null, "height": null, "created_at_ms": 0
    }))
    .unwrap();
    assert_eq!(
        photo_label(&photo, 1, Lang::Vi),
        "Ảnh 2 (chưa có chú thích)"
    );
    photo.caption = Some("\u{200B}".into());
    assert_eq!(photo_label(&photo, 0, Lang::En), "Photo 1 (no caption)");
    photo.caption = Some("Lò nung".into());
    assert_eq!(photo_label(&photo, 0, Lang::Vi), "Ảnh: Lò nung");
}

#[test]
fn a_hidden_answer_is_not_read_as_one() {
    let form: crate::forms::FormDefinition =
        serde_json::from_str(include_str!("../../../../data/forms/khuyen-cong-v1.json")).unwrap();
    let answers: std::collections::BTreeMap<String, Value> = [
        ("team_suggestion", serde_json::json!("not_supported")),
        ("suggested_amount", serde_json::json!(500_000_000)),
        ("not_supported_reason", serde_json::json!("Trùng đề án")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let keys: Vec<&str> = answered(&form, &answers)
        .map(|(f, _)| f.key.as_str())
        .collect();
    assert_eq!(keys, ["team_suggestion", "not_supported_reason"]);
}

#[test]
fn a_long_list_counts_its_visits_grouped() {
    use crate::i18n::Lang;
    let template = "Trang {page}/{pages} · {total} phiếu";
    assert_eq!(
        page_info(template, 1, 200, 10_000, Lang::Vi),
        "Trang 1/200 · 10.000 phiếu"
    );
    assert_eq!(page_info("{total}", 1, 1, 10_000, Lang::En), "10,000");
    assert_eq!(page_info("{total}", 1, 1, 7, Lang::Vi), "7");
    assert_eq!(page_info("{total}", 1, 1, 5_000, Lang::Vi), "5.000");
}

/// 2020's Bắc Giang has two xã Phúc Sơn (07318 in Tân Yên, 07630 in Lục
/// Nam): the commune filter showed two identical lines.
#[test]
fn communes_of_one_name_are_told_apart_by_their_district() {
    use crate::model::{AdminUnit, UnitLevel};
    let unit =
        |tree: &str, code: &str, kind: &str, name: &str, level, parent: Option<&str>| AdminUnit {
            tree: tree.into(),
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            level,
            parent: parent.map(Into::into),
        };
    let districts = vec![
        unit(
            "bac-giang-2020",
            "216",
            "huyện",
            "Tân Yên",
            UnitLevel::District,
            Some("24"),
        ),
        unit(
            "bac-giang-2020",
            "220",
            "huyện",
            "Lục Nam",
            UnitLevel::District,
            Some("24"),
        ),
    ];
    let communes = vec![
        unit(
            "bac-giang-2020",
            "07318",
            "xã",
            "Phúc Sơn",
            UnitLevel::Commune,
            Some("216"),
        ),
        unit(
            "bac-giang-2020",
            "07630",
            "xã",
            "Phúc Sơn",
            UnitLevel::Commune,
            Some("220"),
        ),
        unit(
            "bac-giang-2020",
            "07333",
            "xã",
            "Quang Trung",
            UnitLevel::Commune,
            Some("216"),
        ),
        unit(
            "bac-ninh-2025",
            "07333",
            "xã",
            "Quang Trung",
            UnitLevel::Commune,
            Some("24"),
        ),
    ];
    assert_eq!(
        commune_labels(&communes, &districts, true),
        [
            "xã Phúc Sơn — huyện Tân Yên (2020)",
            "xã Phúc Sơn — huyện Lục Nam (2020)",
            "xã Quang Trung (2020)",
            "xã Quang Trung (2025)",
        ]
    );
    assert_eq!(
        commune_labels(&communes[..1], &districts, false),
        ["xã Phúc Sơn"]
    );
}
