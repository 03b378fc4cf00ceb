//! One file: every test publishes forms and pushes visits through the
//! same helpers; the XLSForm test ends with the same push rules.
//!
//! Form versions uploaded by an administrator, the rules a pushed answer must
//! keep (pattern, date), and the supervisor's send-back through the page's server
//! function reaching the phone's pull.

use crate::helpers::{demo_proposal, TestApp};
use crate::phone::{complete_answers, statuses, Phone};
use crate::security::{expect_error, ok, rpc};
use serde_json::{json, Value};

fn default_form() -> Value {
    serde_json::from_str(app::store::seed::DEFAULT_FORM).unwrap()
}

async fn publish(app: &TestApp, cookie: &str, definition: &str) -> crate::helpers::TestResponse {
    rpc("publish_form", json!({"definition": definition}))
        .cookie(Some(cookie))
        .send(&app.router)
        .await
}

async fn an_invalid_form_upload_is_refused_naming_the_field_and_the_problem(app: TestApp) {
    let (admin, _) = app.login("quantri").await;
    let before = app.counts().await;

    let r = publish(
        &app,
        &admin,
        "{\"id\": \"khuyen-cong\",\n \"version\": 2,\n \"title\": 7}",
    )
    .await;
    expect_error(&r, 422, "form.invalid_definition");
    assert!(
        r.json()["params"]["detail"]
            .as_str()
            .unwrap()
            .contains("line 3"),
        "{}",
        r.text()
    );

    let mut twice = default_form();
    twice["version"] = json!(2);
    twice["sections"][2]["fields"][1]["key"] = json!("workforce");
    let r = publish(&app, &admin, &twice.to_string()).await;
    expect_error(&r, 422, "form.invalid_definition");
    assert!(
        r.text().contains("\\\"workforce\\\" is used twice"),
        "{}",
        r.text()
    );

    let mut bad_pattern = default_form();
    bad_pattern["version"] = json!(2);
    bad_pattern["sections"][0]["fields"][8]["pattern"] = json!("[0-9");
    assert_eq!(bad_pattern["sections"][0]["fields"][8]["key"], "phone");
    let r = publish(&app, &admin, &bad_pattern.to_string()).await;
    expect_error(&r, 422, "form.invalid_definition");
    assert!(
        r.text().contains("\\\"phone\\\": pattern does not compile"),
        "{}",
        r.text()
    );

    let mut bad_rule = default_form();
    bad_rule["version"] = json!(2);
    bad_rule["sections"][1]["fields"][0]["relevant"] = json!("industry_group = 'other'");
    let r = publish(&app, &admin, &bad_rule.to_string()).await;
    expect_error(&r, 422, "form.invalid_definition");
    assert!(r.text().contains("relevant"), "{}", r.text());

    // Photo fields: max_px only on them and within range, never inside a row.
    let photo_at = |form: &serde_json::Value| -> (usize, usize) {
        for (s, section) in form["sections"].as_array().unwrap().iter().enumerate() {
            for (f, field) in section["fields"].as_array().unwrap().iter().enumerate() {
                if field["type"] == "photo" {
                    return (s, f);
                }
            }
        }
        panic!("the default form has a photo field")
    };
    let (ps, pf) = photo_at(&default_form());
    for (edit, expected) in [
        (
            json!({"max_px": 100}),
            "max_px must be between 320 and 8192",
        ),
        (
            json!({"type": "text", "max_px": 1024}),
            "max_px applies only to photo fields",
        ),
    ] {
        let mut form = default_form();
        form["version"] = json!(2);
        for (k, v) in edit.as_object().unwrap() {
            form["sections"][ps]["fields"][pf][k] = v.clone();
        }
        let r = publish(&app, &admin, &form.to_string()).await;
        expect_error(&r, 422, "form.invalid_definition");
        assert!(r.text().contains(expected), "{}", r.text());
    }
    let mut photo_in_row = default_form();
    photo_in_row["version"] = json!(2);
    let repeat = photo_in_row["sections"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .flat_map(|s| s["fields"].as_array_mut().unwrap().iter_mut())
        .find(|f| f["type"] == "repeat")
        .expect("the default form has a repeat group");
    repeat["fields"].as_array_mut().unwrap().push(json!({
        "key": "machine_photo", "type": "photo", "label": {"vi": "Ảnh máy", "en": "Machine photo"}
    }));
    let r = publish(&app, &admin, &photo_in_row.to_string()).await;
    expect_error(&r, 422, "form.invalid_definition");
    assert!(r.text().contains("inside a repeat group"), "{}", r.text());

    let mut changed_v1 = default_form();
    changed_v1["title"]["vi"] = json!("Phiếu khác");
    expect_error(
        &publish(&app, &admin, &changed_v1.to_string()).await,
        422,
        "form.version_exists",
    );

    assert_eq!(app.counts().await, before, "nothing stored");

    // An inspector may not publish.
    let (inspector, _) = app.login("ksv1").await;
    let mut v2 = default_form();
    v2["version"] = json!(2);
    expect_error(
        &publish(&app, &inspector, &v2.to_string()).await,
        403,
        "auth.forbidden",
    );
}

async fn a_new_version_reaches_phones_and_old_visits_keep_theirs(app: TestApp) {
    let mut ksv1 = Phone::login(&app, "ksv1").await;
    let old_visit = uuid::Uuid::now_v7().to_string();
    let create = ksv1.new_visit(&old_visit, &demo_proposal("213"), json!({"workforce": 4}));
    assert_eq!(statuses(&ksv1.push_ok(&app, &[create]).await), ["applied"]);

    let (admin, _) = app.login("quantri").await;
    let mut v2 = default_form();
    v2["version"] = json!(2);
    v2["sections"][2]["fields"].as_array_mut().unwrap().push(
        json!({"key": "seasonal_workers", "type": "integer", "min": 0,
            "label": {"vi": "Lao động thời vụ", "en": "Seasonal workers"}}),
    );
    let published = ok(&publish(&app, &admin, &v2.to_string()).await);
    assert_eq!(published["version"], 2);
    assert_eq!(published["current"], true);

    let list = ok(&rpc("list_forms", json!({}))
        .cookie(Some(&admin))
        .send(&app.router)
        .await);
    let versions: Vec<(i64, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["version"].as_i64().unwrap(),
                f["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [(2, true), (1, false)]);

    // Published is not yet used: the open year 2020 names v1, so a new
    // visit's proposal still says v1 until the administrator moves the year.
    let version_of_2020 = |changes: Vec<Value>| {
        changes
            .iter()
            .rev()
            .find(|c| c["entity"] == "proposal" && c["record"]["id"] == demo_proposal("213"))
            .map(|c| c["record"]["form_version"].clone())
    };
    let (before, cursor) = app.pull_from(&ksv1.cookie, 0).await;
    assert_eq!(version_of_2020(before), Some(json!(1)));
    let same = rpc(
        "open_year",
        json!({"request": {"year": 2020, "unit_tree": "bac-giang-2020", "form_id": "khuyen-cong", "form_version": 1}}),
    )
    .cookie(Some(&admin))
    .send(&app.router)
    .await;
    expect_error(&same, 422, "year.already_open");
    let moved = ok(&rpc(
        "open_year",
        json!({"request": {"year": 2020, "unit_tree": "bac-giang-2020", "form_id": "khuyen-cong", "form_version": 2}}),
    )
    .cookie(Some(&admin))
    .send(&app.router)
    .await);
    assert_eq!(
        (moved["form_version"].clone(), moved["open"].clone()),
        (json!(2), json!(true))
    );
    // Only forward, on the same form: back to v1 is refused.
    let back = rpc(
        "open_year",
        json!({"request": {"year": 2020, "unit_tree": "bac-giang-2020", "form_id": "khuyen-cong", "form_version": 1}}),
    )
    .cookie(Some(&admin))
    .send(&app.router)
    .await;
    expect_error(&back, 422, "year.form_not_newer");
    // The phone's next pull brings the year's proposals on v2.
    let (after, _) = app.pull_from(&ksv1.cookie, cursor).await;
    assert_eq!(version_of_2020(after), Some(json!(2)));

    // Going back to a lower version is refused.
    let mut v1_again = default_form();
    v1_again["version"] = json!(1);
    v1_again["title"]["en"] = json!("Older");
    let r = publish(&app, &admin, &v1_again.to_string()).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text());

    // The old visit still takes answers under v1; the new field exists only in v2.
    let more = ksv1.mutation("visit", "upsert", &old_visit, json!({"workforce": 5}), 1);
    assert_eq!(statuses(&ksv1.push_ok(&app, &[more]).await), ["applied"]);
    let unknown = ksv1.mutation(
        "visit",
        "upsert",
        &old_visit,
        json!({"seasonal_workers": 3}),
        0,
    );
    let results = ksv1.push_ok(&app, &[unknown]).await;
    assert_eq!(
        results[0]["error"]["code"], "form.unknown_field",
        "{results:?}"
    );

    // A new visit on v2 takes it.
    let new_visit = uuid::Uuid::now_v7().to_string();
    let mut create = ksv1.new_visit(
        &new_visit,
        &demo_proposal("213"),
        json!({"seasonal_workers": 3}),
    );
    create["fields"]["form_version"] = json!(2);
    assert_eq!(statuses(&ksv1.push_ok(&app, &[create]).await), ["applied"]);

    let forms: Vec<i64> = app
        .pull_all(&ksv1.cookie)
        .await
        .iter()
        .filter(|c| c["entity"] == "form")
        .map(|c| c["record"]["version"].as_i64().unwrap())
        .collect();
    assert!(forms.contains(&1) && forms.contains(&2), "{forms:?}");
}

async fn pushed_answers_that_break_a_rule_are_refused_naming_field_and_rule(app: TestApp) {
    let mut ksv1 = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let create = ksv1.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 4}));
    ksv1.push_ok(&app, &[create]).await;
    let cases = [
        ("phone", json!("gọi chủ cơ sở"), "form.pattern"),
        ("visit_date", json!("31/02/2020"), "form.expected_date"),
        ("visit_date", json!("2020-02-30"), "form.expected_date"),
        ("workforce", json!(-1), "form.below_min"),
        ("requested_amount", json!(1500.5), "form.expected_integer"),
    ];
    for (field, value, code) in cases {
        let m = ksv1.mutation("visit", "upsert", &visit, json!({ field: value }), 0);
        let results = ksv1.push_ok(&app, &[m]).await;
        assert_eq!(results[0]["status"], "refused", "{field}: {results:?}");
        assert_eq!(results[0]["error"]["code"], code, "{field}: {results:?}");
        assert_eq!(results[0]["error"]["params"]["field"], field, "{results:?}");
    }
    let fine = ksv1.mutation(
        "visit",
        "upsert",
        &visit,
        json!({"phone": "0204 3854 123", "visit_date": "2020-06-15"}),
        0,
    );
    assert_eq!(statuses(&ksv1.push_ok(&app, &[fine]).await), ["applied"]);
}

async fn a_send_back_from_the_visit_page_reaches_the_phone_with_its_comment(app: TestApp) {
    let mut ksv1 = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let create = ksv1.new_visit(&visit, &demo_proposal("213"), complete_answers());
    let submit = ksv1.mutation("visit", "submit", &visit, json!({}), 0);
    assert_eq!(
        statuses(&ksv1.push_ok(&app, &[create, submit]).await),
        ["applied", "applied"]
    );

    let (supervisor, _) = app.login("giamsat").await;
    let decide = |to: &str, comment: Value| {
        rpc(
            "decide_visit",
            json!({"id": visit, "to": to, "comment": comment, "field": "workforce"}),
        )
        .cookie(Some(&supervisor))
    };
    // A send-back needs a comment; nothing changes without one.
    expect_error(
        &decide("needs_changes", json!("  ")).send(&app.router).await,
        422,
        "review.comment_required",
    );
    ok(&decide("needs_changes", json!("Kiểm tra lại số lao động"))
        .send(&app.router)
        .await);
    // Approving from "needs changes" is not a transition.
    expect_error(
        &decide("approved", Value::Null).send(&app.router).await,
        422,
        "review.bad_transition",
    );

    let changes = app.pull_all(&ksv1.cookie).await;
    let record = changes
        .iter()
        .rev()
        .find(|c| c["entity"] == "visit" && c["record"]["id"] == visit)
        .unwrap();
    assert_eq!(record["record"]["review_state"], "needs_changes");
    let last = record["record"]["review"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["comment"], "Kiểm tra lại số lao động");
    assert_eq!(last["field"], "workforce");

    // Fixed on the phone and resubmitted, it is submitted again.
    let fix = ksv1.mutation("visit", "upsert", &visit, json!({"workforce": 31}), 1);
    let again = ksv1.mutation("visit", "submit", &visit, json!({}), 0);
    assert_eq!(
        statuses(&ksv1.push_ok(&app, &[fix, again]).await),
        ["applied", "applied"]
    );
    ok(&decide("approved", Value::Null).send(&app.router).await);
}

async fn finalize_needs_the_required_answers_inside_every_live_row(app: TestApp) {
    let mut ksv1 = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let create = ksv1.new_visit(&visit, &demo_proposal("213"), complete_answers());
    let row = uuid::Uuid::now_v7().to_string();
    let machine = ksv1.mutation(
        "visit_row",
        "upsert",
        &row,
        json!({"visit_id": visit, "group": "equipment", "year_made": 2018}),
        0,
    );
    let submit = ksv1.mutation("visit", "submit", &visit, json!({}), 0);
    let results = ksv1.push_ok(&app, &[create, machine, submit]).await;
    assert_eq!(statuses(&results), ["applied", "applied", "refused"]);
    assert_eq!(results[2]["error"]["code"], "visit.incomplete");
    assert_eq!(
        results[2]["error"]["params"]["fields"],
        json!(["equipment/name"])
    );

    let named = ksv1.mutation(
        "visit_row",
        "upsert",
        &row,
        json!({"name": "Máy tiện CNC"}),
        0,
    );
    let again = ksv1.mutation("visit", "submit", &visit, json!({}), 0);
    assert_eq!(
        statuses(&ksv1.push_ok(&app, &[named, again]).await),
        ["applied", "applied"]
    );
}

// ---- XLSForm ----

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const KOBO_STYLE: &[u8] = include_bytes!("../../../app/tests/xlsform/kobo_style.xlsx");

async fn convert(app: &TestApp, cookie: &str, bytes: Vec<u8>) -> crate::helpers::TestResponse {
    crate::security::req("POST", "/api/forms/xlsform")
        .bytes(XLSX, bytes)
        .cookie(Some(cookie))
        .send(&app.router)
        .await
}

/// The Kobo-style workbook converts, publishes through `publish_form`, comes
/// back as an XLSForm of itself, and a visit pushed against it is judged by
/// its rules: the regex constraint, required answers inside rows, and a
/// `selected()` condition deciding what finalize asks for.
async fn an_xlsform_is_converted_published_exported_and_its_rules_hold(app: TestApp) {
    let (admin, _) = app.login("quantri").await;
    let before = app.counts().await;

    let r = convert(&app, &admin, KOBO_STYLE.to_vec()).await;
    let imported = ok(&r);
    let definition = imported["definition"].clone();
    assert_eq!(definition["id"], "khuyen-cong");
    assert_eq!(definition["version"], 2);
    let codes: Vec<&str> = imported["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "xlsform.setting_ignored",
            "xlsform.metadata",
            "xlsform.metadata",
            "xlsform.metadata"
        ]
    );
    assert_eq!(app.counts().await, before, "a conversion stores nothing");

    let (inspector, _) = app.login("ksv1").await;
    let r = convert(&app, &inspector, KOBO_STYLE.to_vec()).await;
    expect_error(&r, 403, "auth.forbidden");

    // Every problem of a refused file at once, in both languages.
    let r = convert(&app, &admin, b"not a workbook".to_vec()).await;
    expect_error(&r, 422, "forms.xlsform_refused");
    let problems = &r.json()["params"]["problems"];
    assert_eq!(problems[0]["code"], "xlsform.unreadable");
    assert!(problems[0]["message"]["vi"]
        .as_str()
        .unwrap()
        .starts_with("Không đọc được tệp"));
    let too_big = vec![b'x'; app::office::admin::xlsform::MAX_XLSFORM_BYTES + 1];
    assert_eq!(convert(&app, &admin, too_big).await.status.as_u16(), 413);

    let published = ok(&publish(&app, &admin, &definition.to_string()).await);
    assert_eq!(
        (
            published["version"].as_i64(),
            published["current"].as_bool()
        ),
        (Some(2), Some(true))
    );

    // The published version downloads as a workbook that converts to itself.
    let r = crate::security::req(
        "GET",
        "/api/forms/xlsform.xlsx?form_id=khuyen-cong&version=2",
    )
    .cookie(Some(&admin))
    .send(&app.router)
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    let again = ok(&convert(&app, &admin, r.body.clone()).await);
    assert_eq!(again["definition"], definition);
    let missing = crate::security::req(
        "GET",
        "/api/forms/xlsform.xlsx?form_id=khuyen-cong&version=9",
    )
    .cookie(Some(&admin))
    .send(&app.router)
    .await;
    assert_eq!(missing.status.as_u16(), 404);

    // A phone's visit on version 2 is held to the file's rules.
    let mut ksv1 = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let answers = |phone: &str| {
        json!({"nguoi_tra_loi": "Nguyễn Thị Hoa", "so_lao_dong": 12, "ho_tro": ["dao_tao"],
               "de_xuat": "no", "dien_thoai": phone, "form_version": 2})
    };
    let bad = ksv1.new_visit(&visit, &demo_proposal("213"), answers("912"));
    let results = ksv1.push_ok(&app, &[bad]).await;
    assert_eq!(results[0]["error"]["code"], "form.pattern", "{results:?}");
    let create = ksv1.new_visit(&visit, &demo_proposal("213"), answers("0912345678"));
    let row = uuid::Uuid::now_v7().to_string();
    let machine = ksv1.mutation(
        "visit_row",
        "upsert",
        &row,
        json!({"visit_id": visit, "group": "may", "tinh_trang": "hong"}),
        0,
    );
    let submit = ksv1.mutation("visit", "submit", &visit, json!({}), 0);
    let results = ksv1.push_ok(&app, &[create, machine, submit]).await;
    assert_eq!(statuses(&results), ["applied", "applied", "refused"]);
    assert_eq!(
        results[2]["error"]["params"]["fields"],
        json!(["may/ten_may"])
    );

    // Asking for machinery makes its question required (selected()).
    let more = ksv1.mutation(
        "visit",
        "upsert",
        &visit,
        json!({"ho_tro": ["dao_tao", "may_moc"]}),
        1,
    );
    let named = ksv1.mutation(
        "visit_row",
        "upsert",
        &row,
        json!({"ten_may": "Máy nghiền"}),
        1,
    );
    let submit = ksv1.mutation("visit", "submit", &visit, json!({}), 0);
    let results = ksv1.push_ok(&app, &[more, named, submit]).await;
    assert_eq!(statuses(&results), ["applied", "applied", "refused"]);
    assert_eq!(
        results[2]["error"]["params"]["fields"],
        json!(["may_moc_khac"])
    );
    let answered = ksv1.mutation(
        "visit",
        "upsert",
        &visit,
        json!({"may_moc_khac": "Máy ép"}),
        2,
    );
    let submit = ksv1.mutation("visit", "submit", &visit, json!({}), 0);
    assert_eq!(
        statuses(&ksv1.push_ok(&app, &[answered, submit]).await),
        ["applied", "applied"]
    );
}

crate::engine_tests!(
    an_xlsform_is_converted_published_exported_and_its_rules_hold,
    finalize_needs_the_required_answers_inside_every_live_row,
    an_invalid_form_upload_is_refused_naming_the_field_and_the_problem,
    a_new_version_reaches_phones_and_old_visits_keep_theirs,
    pushed_answers_that_break_a_rule_are_refused_naming_field_and_rule,
    a_send_back_from_the_visit_page_reaches_the_phone_with_its_comment
);
