//! The merge policy through the real push endpoint: field-level last-writer-wins
//! with kept conflicts, a device's own edits in order, clock skew.

use crate::helpers::{demo_proposal, TestApp};
use crate::phone::{statuses, Phone};
use app::store::col;
use serde_json::{json, Value};

/// Two phones of one inspector: the second one has pulled the visit the first made.
async fn two_phones(app: &TestApp) -> (Phone, Phone, String) {
    let mut a = Phone::login(app, "ksv1").await;
    let b = Phone::login(app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let create = a.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 10}));
    assert_eq!(statuses(&a.push_ok(app, &[create]).await), ["applied"]);
    (a, b, visit)
}

async fn answers(app: &TestApp, visit: &str) -> (Value, Value) {
    let (v, _) = app::store::visits::record(&app.db.pool, visit)
        .await
        .unwrap()
        .unwrap();
    (json!(v.answers), json!(v.versions))
}

async fn conflicts(app: &TestApp) -> Vec<(String, String, String, String, String, i64)> {
    sqlx::query("SELECT field, winner_value, winner_device, loser_value, loser_device, base_version FROM conflicts ORDER BY id")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                col(r, "field").unwrap(),
                col(r, "winner_value").unwrap(),
                col(r, "winner_device").unwrap(),
                col(r, "loser_value").unwrap(),
                col(r, "loser_device").unwrap(),
                col(r, "base_version").unwrap(),
            )
        })
        .collect()
}

async fn edits_of_different_fields_from_two_phones_both_survive(app: TestApp) {
    let (mut a, mut b, visit) = two_phones(&app).await;
    let ma = a.mutation(
        "visit",
        "upsert",
        &visit,
        json!({"main_products": "Nồi hơi"}),
        0,
    );
    let mb = b.mutation("visit", "upsert", &visit, json!({"female_workers": 4}), 0);
    assert_eq!(statuses(&a.push_ok(&app, &[ma]).await), ["applied"]);
    assert_eq!(statuses(&b.push_ok(&app, &[mb]).await), ["applied"]);
    let (answers, _) = answers(&app, &visit).await;
    assert_eq!(answers["main_products"], "Nồi hơi");
    assert_eq!(answers["female_workers"], 4);
    assert_eq!(answers["workforce"], 10);
    assert!(conflicts(&app).await.is_empty());
}

async fn a_concurrent_edit_of_one_field_keeps_the_later_stamp_and_records_the_other(app: TestApp) {
    let (mut a, mut b, visit) = two_phones(&app).await;
    // Both saw version 1 of workforce; B's stamp is later.
    let ma = a.mutation("visit", "upsert", &visit, json!({"workforce": 20}), 1);
    b.skew_ms = 5_000;
    let mb = b.mutation("visit", "upsert", &visit, json!({"workforce": 30}), 1);
    // B arrives first; A's older stamp then loses although it arrived last.
    let rb = b.push_ok(&app, &[mb]).await;
    let ra = a.push_ok(&app, &[ma]).await;
    assert_eq!(statuses(&rb), ["applied"]);
    assert!(rb[0].get("lost").is_none());
    assert_eq!(ra[0]["status"], "applied");
    assert_eq!(
        ra[0]["lost"],
        json!(["workforce"]),
        "the phone hears its value lost"
    );
    let (answers, versions) = answers(&app, &visit).await;
    assert_eq!(answers["workforce"], 30);
    assert_eq!(versions["workforce"], 2);
    assert_eq!(
        conflicts(&app).await,
        vec![(
            "workforce".to_string(),
            "30".to_string(),
            b.device.clone(),
            "20".to_string(),
            a.device.clone(),
            1
        )]
    );
}

async fn a_concurrent_later_edit_wins_and_the_overwritten_value_is_kept(app: TestApp) {
    let (mut a, mut b, visit) = two_phones(&app).await;
    let mb = b.mutation("visit", "upsert", &visit, json!({"workforce": 30}), 1);
    a.skew_ms = 5_000;
    let ma = a.mutation("visit", "upsert", &visit, json!({"workforce": 20}), 1);
    b.push_ok(&app, &[mb]).await;
    let ra = a.push_ok(&app, &[ma]).await;
    assert!(ra[0].get("lost").is_none());
    let (answers, _) = answers(&app, &visit).await;
    assert_eq!(answers["workforce"], 20);
    let c = conflicts(&app).await;
    assert_eq!(c.len(), 1);
    assert_eq!((c[0].1.as_str(), c[0].3.as_str()), ("20", "30"));
    assert_eq!(
        c[0].4, b.device,
        "the loser is the phone that was overwritten"
    );
}

async fn an_edit_made_after_seeing_the_current_version_is_not_a_conflict(app: TestApp) {
    let (_a, mut b, visit) = two_phones(&app).await;
    // B pulled version 1 and edits it: an ordinary later edit, whatever the stamps.
    b.skew_ms = -3_600_000;
    let mb = b.mutation("visit", "upsert", &visit, json!({"workforce": 11}), 1);
    b.push_ok(&app, &[mb]).await;
    assert_eq!(answers(&app, &visit).await.0["workforce"], 11);
    assert!(conflicts(&app).await.is_empty());
}

async fn one_phones_successive_edits_apply_in_order_without_conflicts(app: TestApp) {
    let (mut a, _b, visit) = two_phones(&app).await;
    // The phone has not pulled since: every edit still says base 0.
    let edits: Vec<Value> = (1..=5)
        .map(|n| a.mutation("visit", "upsert", &visit, json!({"workforce": 10 + n}), 0))
        .collect();
    a.push_ok(&app, &edits).await;
    let (answers, versions) = answers(&app, &visit).await;
    assert_eq!(answers["workforce"], 15);
    assert_eq!(versions["workforce"], 6);
    assert!(conflicts(&app).await.is_empty());
}

/// A at −2 h and B at +2 h edit the same field: B's stamp is re-stamped to the
/// server's clock (it is more than 60 s ahead), which is still later than A's, so
/// B wins whichever arrives first, and A's value is in conflicts.
async fn skewed_clocks_give_a_deterministic_winner_in_either_order(app: TestApp) {
    for b_first in [true, false] {
        let (mut a, mut b, visit) = two_phones(&app).await;
        a.skew_ms = -2 * 3_600_000;
        b.skew_ms = 2 * 3_600_000;
        let ma = a.mutation("visit", "upsert", &visit, json!({"workforce": 200}), 1);
        let mb = b.mutation("visit", "upsert", &visit, json!({"workforce": 300}), 1);
        if b_first {
            b.push_ok(&app, &[mb]).await;
            a.push_ok(&app, &[ma]).await;
        } else {
            a.push_ok(&app, &[ma]).await;
            b.push_ok(&app, &[mb]).await;
        }
        assert_eq!(
            answers(&app, &visit).await.0["workforce"],
            300,
            "b_first = {b_first}"
        );
        let c = conflicts(&app).await;
        let last = c.last().unwrap();
        assert_eq!(
            (last.3.as_str(), last.4.as_str()),
            ("200", a.device.as_str())
        );
        sqlx::query("DELETE FROM conflicts")
            .execute(&app.db.pool)
            .await
            .unwrap();
    }
}

async fn a_clock_ten_years_ahead_is_restamped_and_does_not_poison_the_server(app: TestApp) {
    let (mut a, _b, visit) = two_phones(&app).await;
    a.skew_ms = 10 * 365 * 86_400_000;
    let m = a.mutation("visit", "upsert", &visit, json!({"workforce": 99}), 1);
    let sent_hlc = m["hlc"].as_str().unwrap().to_string();
    let response = a.push(&app, &[m]).await;
    let body = response.json();
    let server_hlc = app::sync::Hlc::decode(body["server_hlc"].as_str().unwrap()).unwrap();
    let now = app::store::now_ms();
    assert!(
        server_hlc.ms <= now + 1_000,
        "server clock unharmed: {server_hlc:?} vs {now}"
    );
    let row =
        sqlx::query("SELECT hlc, original_hlc FROM mutations WHERE seq = 2 AND device_id = $1")
            .bind(&a.device)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let stored: String = col(&row, "hlc").unwrap();
    let original: Option<String> = col(&row, "original_hlc").unwrap();
    assert_eq!(
        original.as_deref(),
        Some(sent_hlc.as_str()),
        "the phone's stamp is kept for audit"
    );
    assert!(app::sync::Hlc::decode(&stored).unwrap().ms <= now + 1_000);
    // The answer names the stamp kept, so the phone records when its answer
    // was written as the server holds it (a restore's recovery compares them).
    assert_eq!(
        body["results"][0]["stamped"].as_str(),
        Some(stored.as_str()),
        "{body}"
    );
    // A later honest edit from another phone still wins over it.
    let mut c = Phone::login(&app, "ksv1").await;
    let mc = c.mutation("visit", "upsert", &visit, json!({"workforce": 7}), 1);
    let honest = c.push(&app, &[mc]).await.json();
    assert!(
        honest["results"][0].get("stamped").is_none(),
        "a plausible stamp is kept and not named: {honest}"
    );
    assert_eq!(answers(&app, &visit).await.0["workforce"], 7);
}

/// Two phones of one inspector caption one photo: the caption with the later
/// stamp stays whichever arrives last, like an answer, and the photo record
/// names when its caption was written (a restore's recovery compares it).
async fn the_later_caption_stays_whichever_phone_sends_it_last(app: TestApp) {
    for later_first in [true, false] {
        let (mut a, mut b, visit) = two_phones(&app).await;
        let photo = uuid::Uuid::now_v7().to_string();
        let attach = a.mutation(
            "photo",
            "upsert",
            &photo,
            json!({
            "visit_id": visit, "field": "evidence_photos",
            "sha256": crate::uploads::sha256_hex(photo.as_bytes()), "size": 1_000,
            "content_type": "image/jpeg", "caption": "Cổng"}),
            0,
        );
        assert_eq!(statuses(&a.push_ok(&app, &[attach]).await), ["applied"]);
        let earlier = a.mutation(
            "photo",
            "upsert",
            &photo,
            json!({"caption": "Cổng xưởng"}),
            0,
        );
        b.skew_ms = 5_000;
        let later = b.mutation(
            "photo",
            "upsert",
            &photo,
            json!({"caption": "Cổng phía bắc"}),
            0,
        );
        let later_hlc = later["hlc"].as_str().unwrap().to_string();
        let (first, second) = if later_first { (&b, &a) } else { (&a, &b) };
        let (m1, m2) = if later_first {
            (later, earlier)
        } else {
            (earlier, later)
        };
        assert_eq!(statuses(&first.push_ok(&app, &[m1]).await), ["applied"]);
        assert_eq!(statuses(&second.push_ok(&app, &[m2]).await), ["applied"]);
        let got = app
            .get(&format!("/api/photos/{photo}"), Some(&a.cookie))
            .await
            .json();
        assert_eq!(
            got["caption"], "Cổng phía bắc",
            "later_first = {later_first}"
        );
        assert_eq!(got["caption_written"], later_hlc.as_str());
    }
}

/// Two phones editing one facility at the same moment. On PostgreSQL the
/// second write of a new field row failed on its key, two writes of one
/// version on the history's key, and batches taking rows in opposite orders
/// deadlocked: a 500, and the whole batch undone. A batch undone for meeting
/// another is now run again; every push is answered, every edit kept or
/// recorded as a conflict.
async fn two_phones_editing_one_facility_at_once_are_both_answered(app: TestApp) {
    let mut a = Phone::login(&app, "ksv1").await;
    let mut b = Phone::login(&app, "ksv1").await;
    let facility = uuid::Uuid::now_v7().to_string();
    let create = a.mutation(
        "facility",
        "upsert",
        &facility,
        json!({"name": "Xưởng gò hàn", "industry_group": "other", "district_code": "213", "commune_code": "07201"}),
        0,
    );
    assert_eq!(statuses(&a.push_ok(&app, &[create]).await), ["applied"]);
    for round in 0..8 {
        let one = [a.mutation(
            "facility",
            "upsert",
            &facility,
            json!({"address": format!("Thôn {round}")}),
            1,
        )];
        let two = [
            b.mutation(
                "facility",
                "upsert",
                &facility,
                json!({"owner_name": format!("Chủ {round}")}),
                1,
            ),
            b.mutation(
                "facility",
                "upsert",
                &facility,
                json!({"address": format!("Xóm {round}")}),
                1,
            ),
        ];
        let (ra, rb) = tokio::join!(a.push(&app, &one), b.push(&app, &two));
        for r in [&ra, &rb] {
            assert_eq!(r.status, 200, "round {round}: {}", r.text());
            for result in r.json()["results"].as_array().unwrap() {
                assert_ne!(result["status"], "refused", "round {round}: {result}");
            }
        }
    }
    let stored = sqlx::query("SELECT COUNT(*) AS n FROM mutations WHERE record_id = $1")
        .bind(&facility)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let n: i64 = col(&stored, "n").unwrap();
    assert_eq!(n, 1 + 8 * 3, "every edit is in the log once");
}

crate::engine_tests!(
    two_phones_editing_one_facility_at_once_are_both_answered,
    the_later_caption_stays_whichever_phone_sends_it_last,
    edits_of_different_fields_from_two_phones_both_survive,
    a_concurrent_edit_of_one_field_keeps_the_later_stamp_and_records_the_other,
    a_concurrent_later_edit_wins_and_the_overwritten_value_is_kept,
    an_edit_made_after_seeing_the_current_version_is_not_a_conflict,
    one_phones_successive_edits_apply_in_order_without_conflicts,
    skewed_clocks_give_a_deterministic_winner_in_either_order,
    a_clock_ten_years_ahead_is_restamped_and_does_not_poison_the_server,
);
