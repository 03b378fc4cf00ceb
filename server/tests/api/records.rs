//! The records a phone may write besides answers: repeat-group rows, the submit
//! command and the supervisor's decisions, facilities found on site; and which
//! form versions a phone receives.

use crate::helpers::{demo_proposal, TestApp};
use crate::phone::{complete_answers, statuses, Phone};
use axum::http::StatusCode;
use serde_json::{json, Value};

async fn visit_of(app: &TestApp, id: &str) -> app::model::VisitRecord {
    app::store::visits::record(&app.db.pool, id)
        .await
        .unwrap()
        .unwrap()
        .0
}

fn pulled<'a>(changes: &'a [Value], entity: &str, id: &str) -> Option<&'a Value> {
    changes.iter().rev().find(|c| {
        c["entity"] == entity && c["record"]["id"] == id
            || c["entity"] == "deleted"
                && c["record"]["entity"] == entity
                && c["record"]["id"] == id
    })
}

async fn repeat_rows_from_two_phones_are_separate_child_records(app: TestApp) {
    let mut a = Phone::login(&app, "ksv1").await;
    let mut b = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let create = a.new_visit(&visit, &demo_proposal("213"), json!({}));
    a.push_ok(&app, &[create]).await;
    let (row_a, row_b) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    let ma = a.mutation(
        "visit_row",
        "upsert",
        &row_a,
        json!({"visit_id": visit, "group": "equipment", "name": "Máy tiện CNC", "year_made": 2019}),
        0,
    );
    let mb = b.mutation(
        "visit_row",
        "upsert",
        &row_b,
        json!({"visit_id": visit, "group": "equipment", "name": "Máy hàn"}),
        0,
    );
    assert_eq!(statuses(&a.push_ok(&app, &[ma]).await), ["applied"]);
    assert_eq!(statuses(&b.push_ok(&app, &[mb]).await), ["applied"]);
    let v = visit_of(&app, &visit).await;
    assert_eq!(v.rows.len(), 2);
    assert_eq!(v.rows[0].answers["name"], "Máy tiện CNC");
    assert_eq!(v.rows[0].group, "equipment");

    // A row field is checked against the group's own fields.
    let bad = a.mutation(
        "visit_row",
        "upsert",
        &row_a,
        json!({"year_made": "năm ngoái"}),
        1,
    );
    let unknown = a.mutation("visit_row", "upsert", &row_a, json!({"workforce": 3}), 1);
    let not_a_group = a.mutation(
        "visit_row",
        "upsert",
        &uuid::Uuid::now_v7().to_string(),
        json!({"visit_id": visit, "group": "workforce", "name": "x"}),
        0,
    );
    let r = a.push_ok(&app, &[bad, unknown, not_a_group]).await;
    assert_eq!(statuses(&r), ["refused", "refused", "refused"]);
    assert_eq!(r[0]["error"]["code"], "form.expected_integer");
    assert_eq!(r[1]["error"]["code"], "form.unknown_field");
    assert_eq!(r[2]["error"]["code"], "row.unknown_group");

    let del = b.mutation("visit_row", "delete", &row_b, json!({}), 0);
    assert_eq!(statuses(&b.push_ok(&app, &[del]).await), ["applied"]);
    let v = visit_of(&app, &visit).await;
    assert_eq!(
        v.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [row_a.as_str()]
    );
    // The owner's phone receives the rows with the visit.
    let changes = app.pull_all(&a.cookie).await;
    let pulled = pulled(&changes, "visit", &visit).unwrap();
    assert_eq!(pulled["record"]["rows"].as_array().unwrap().len(), 1);
}

async fn submit_checks_required_answers_then_the_supervisor_decides(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let create = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 12}));
    let submit = phone.mutation("visit", "submit", &visit, json!({}), 0);
    let r = phone.push_ok(&app, &[create, submit]).await;
    assert_eq!(statuses(&r), ["applied", "refused"]);
    assert_eq!(r[1]["error"]["code"], "visit.incomplete");
    let missing = r[1]["error"]["params"]["fields"].as_array().unwrap();
    assert!(missing.contains(&json!("team_members")) && missing.contains(&json!("reason")));
    assert!(!missing.contains(&json!("workforce")));
    assert!(
        !missing.contains(&json!("name_actual")),
        "hidden by its rule, so not required"
    );

    // Fill everything in the submit itself, plus one machine row.
    let row = phone.mutation(
        "visit_row",
        "upsert",
        &uuid::Uuid::now_v7().to_string(),
        json!({"visit_id": visit, "group": "equipment", "name": "Lò hơi"}),
        0,
    );
    let submit = phone.mutation("visit", "submit", &visit, complete_answers(), 0);
    assert_eq!(
        statuses(&phone.push_ok(&app, &[row, submit]).await),
        ["applied", "applied"]
    );
    assert_eq!(
        visit_of(&app, &visit).await.review_state,
        app::model::ReviewState::Submitted
    );

    // Submitted: the phone can no longer change it.
    let late = phone.mutation("visit", "upsert", &visit, json!({"workforce": 13}), 0);
    let r = phone.push_ok(&app, &[late]).await;
    assert_eq!(r[0]["error"]["code"], "visit.locked");
    assert_eq!(visit_of(&app, &visit).await.answers["workforce"], 12);

    // An inspector cannot decide; a supervisor must say why when sending back.
    let uri = format!("/api/visits/{visit}/review");
    let r = app
        .post_json(&uri, Some(&phone.cookie), &json!({"to": "approved"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (boss, _) = app.login("giamsat").await;
    let r = app
        .post_json(&uri, Some(&boss), &json!({"to": "needs_changes"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["code"], "review.comment_required");
    let r = app.post_json(&uri, Some(&boss),
        &json!({"to": "needs_changes", "comment": "Ghi rõ công suất lò hơi", "field": "equipment"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app
        .post_json(&uri, Some(&boss), &json!({"to": "approved"}))
        .await;
    assert_eq!(
        r.json()["code"],
        "review.bad_transition",
        "not submitted any more"
    );

    // The phone hears it with the comment, edits and resubmits.
    let changes = app.pull_all(&phone.cookie).await;
    let v = &pulled(&changes, "visit", &visit).unwrap()["record"];
    assert_eq!(v["review_state"], "needs_changes");
    let last = v["review"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["comment"], "Ghi rõ công suất lò hơi");
    assert_eq!(last["field"], "equipment");
    let fix = phone.mutation("visit", "upsert", &visit, json!({"workforce": 14}), 0);
    let again = phone.mutation("visit", "submit", &visit, json!({}), 0);
    assert_eq!(
        statuses(&phone.push_ok(&app, &[fix, again]).await),
        ["applied", "applied"]
    );
    let r = app
        .post_json(
            &uri,
            Some(&boss),
            &json!({"to": "approved", "comment": "Đạt"}),
        )
        .await;
    assert_eq!(r.json()["review_state"], "approved");
    let v = visit_of(&app, &visit).await;
    assert_eq!(
        v.review.iter().map(|e| e.to.as_str()).collect::<Vec<_>>(),
        ["submitted", "needs_changes", "submitted", "approved"]
    );
}

async fn a_facility_found_on_site_is_created_edited_and_scoped(app: TestApp) {
    let mut ksv1 = Phone::login(&app, "ksv1").await;
    let id = uuid::Uuid::now_v7().to_string();
    let create = ksv1.mutation("facility", "upsert", &id, json!({
        "name": "Hộ kinh doanh Mây tre Tân Mỹ", "district_code": "213", "commune_code": "07201",
        "industry_group": "handicrafts", "phone": "0912 345 678", "lat": 21.27, "lon": 106.19, "workforce": 8
    }), 0);
    let outside = ksv1.mutation(
        "facility",
        "upsert",
        &uuid::Uuid::now_v7().to_string(),
        json!({
            "name": "Ngoài địa bàn", "district_code": "219", "industry_group": "processing"
        }),
        0,
    );
    let wrong_commune = ksv1.mutation("facility", "upsert", &uuid::Uuid::now_v7().to_string(), json!({
        "name": "Sai xã", "district_code": "218", "commune_code": "07201", "industry_group": "processing"
    }), 0);
    let bad_phone = ksv1.mutation("facility", "upsert", &id, json!({"phone": "gọi tôi"}), 0);
    // The office and the registry know five industry groups; a facility from a
    // phone is held to the same list, or the office could never edit it.
    let bad_industry = ksv1.mutation(
        "facility",
        "upsert",
        &id,
        json!({"industry_group": "bakery"}),
        0,
    );
    let r = ksv1
        .push_ok(
            &app,
            &[create, outside, wrong_commune, bad_phone, bad_industry],
        )
        .await;
    assert_eq!(
        statuses(&r),
        ["applied", "refused", "refused", "refused", "refused"]
    );
    assert_eq!(r[1]["error"]["code"], "facility.out_of_scope");
    assert_eq!(r[2]["error"]["code"], "facility.commune_outside_district");
    assert_eq!(r[3]["error"]["code"], "facility.bad_phone");
    assert_eq!(r[4]["error"]["code"], "facility.unknown_industry");
    let rename = ksv1.mutation(
        "facility",
        "upsert",
        &id,
        json!({"name": "HKD Mây tre đan Tân Mỹ"}),
        1,
    );
    assert_eq!(statuses(&ksv1.push_ok(&app, &[rename]).await), ["applied"]);
    let f = app::store::catalog::facility_by_id(&app.db.pool, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.name, "HKD Mây tre đan Tân Mỹ");
    assert_eq!(f.workforce, Some(8));

    // Pulled, with versions, by the inspector of the district only.
    let mine = app.pull_all(&ksv1.cookie).await;
    let f = pulled(&mine, "facility", &id).unwrap();
    assert_eq!(f["record"]["versions"]["name"], 2);
    let (ksv5, _) = app.login("ksv5").await;
    assert!(pulled(&app.pull_all(&ksv5).await, "facility", &id).is_none());

    // A supervisor moves it to Lục Ngạn: ksv1's phone drops it, ksv5's gets it.
    let mut boss = Phone::login(&app, "giamsat").await;
    let cursor1 = {
        let mut c = 0;
        loop {
            let p = app
                .get(&format!("/api/sync/pull?cursor={c}"), Some(&ksv1.cookie))
                .await
                .json();
            c = p["cursor"].as_i64().unwrap();
            if !p["has_more"].as_bool().unwrap() {
                break c;
            }
        }
    };
    let mv = boss.mutation(
        "facility",
        "upsert",
        &id,
        json!({"district_code": "219", "commune_code": null}),
        2,
    );
    assert_eq!(statuses(&boss.push_ok(&app, &[mv]).await), ["applied"]);
    let page = app
        .get(
            &format!("/api/sync/pull?cursor={cursor1}"),
            Some(&ksv1.cookie),
        )
        .await
        .json();
    let gone = pulled(page["changes"].as_array().unwrap(), "facility", &id).unwrap();
    assert_eq!(gone["entity"], "deleted");
    let theirs = app.pull_all(&ksv5).await;
    assert_eq!(
        pulled(&theirs, "facility", &id).unwrap()["record"]["district_code"],
        "219"
    );

    // Only a facility added in the field, and unused, can be deleted.
    let registered = demo_facility("213");
    let del = ksv1.mutation("facility", "delete", &registered, json!({}), 0);
    let r = ksv1.push_ok(&app, &[del]).await;
    assert_eq!(r[0]["error"]["code"], "facility.not_deletable");
}

fn demo_facility(district: &str) -> String {
    let demo: Value = serde_json::from_str(app::store::seed::DEMO_BAC_GIANG_2020).unwrap();
    demo["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["district_code"] == district)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn pull_sends_the_current_form_and_every_version_in_use(app: TestApp) {
    let mut ksv1 = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let create = ksv1.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 3}));
    ksv1.push_ok(&app, &[create]).await;
    let mut v2: app::forms::FormDefinition =
        serde_json::from_str(app::store::seed::DEFAULT_FORM).unwrap();
    v2.version = 2;
    assert!(app::store::forms::publish(&app.db, &v2).await.unwrap());
    // v3 becomes current; v2 is neither current, nor an open year's form (the
    // demo's years start visits on v1), nor in use.
    let mut v3 = v2.clone();
    v3.version = 3;
    assert!(app::store::forms::publish(&app.db, &v3).await.unwrap());
    let forms = |changes: Vec<Value>| {
        let mut v: Vec<i64> = changes
            .iter()
            .filter(|c| c["entity"] == "form")
            .map(|c| c["record"]["version"].as_i64().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        forms(app.pull_all(&ksv1.cookie).await),
        [1, 3],
        "v1 is used by ksv1's visit and the open years"
    );
    let (ksv5, _) = app.login("ksv5").await;
    assert_eq!(forms(app.pull_all(&ksv5).await), [1, 3], "nobody uses v2");
    let (boss, _) = app.login("giamsat").await;
    assert_eq!(forms(app.pull_all(&boss).await), [1, 3]);
}

/// What a phone sends for a change it withdrew when the inspector discarded
/// kept changes (a visit upsert without fields, under the change's seq):
/// refused while the visit is locked, and applied as nothing after a
/// send-back, so a discard queued before it never changes the visit.
async fn a_withdrawn_change_is_refused_while_locked_and_nothing_after_a_send_back(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let create = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 12}));
    let submit = phone.mutation("visit", "submit", &visit, complete_answers(), 0);
    assert_eq!(
        statuses(&phone.push_ok(&app, &[create, submit]).await),
        ["applied", "applied"]
    );
    let withdrawn = phone.mutation("visit", "upsert", &visit, json!({}), 0);
    let r = phone.push_ok(&app, &[withdrawn]).await;
    assert_eq!(r[0]["error"]["code"], "visit.locked");
    let (boss, _) = app.login("giamsat").await;
    let uri = format!("/api/visits/{visit}/review");
    let back = json!({"to": "needs_changes", "comment": "Bổ sung ảnh"});
    let r = app.post_json(&uri, Some(&boss), &back).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let before = visit_of(&app, &visit).await;
    let withdrawn = phone.mutation("visit", "upsert", &visit, json!({}), 0);
    assert_eq!(
        statuses(&phone.push_ok(&app, &[withdrawn]).await),
        ["applied"]
    );
    let after = visit_of(&app, &visit).await;
    assert_eq!(after.answers, before.answers);
    assert_eq!(after.versions, before.versions, "no answer written");
    assert_eq!(after.review_state, app::model::ReviewState::NeedsChanges);
}

crate::engine_tests!(
    a_withdrawn_change_is_refused_while_locked_and_nothing_after_a_send_back,
    repeat_rows_from_two_phones_are_separate_child_records,
    submit_checks_required_answers_then_the_supervisor_decides,
    a_facility_found_on_site_is_created_edited_and_scoped,
    pull_sends_the_current_form_and_every_version_in_use,
);
