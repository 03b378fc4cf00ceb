//! What an outside probe of the API found the server did not check: text
//! holding U+0000 (a 500 on PostgreSQL that stuck a phone's queue), a found
//! facility's unit levels and blank name, a visit on another form than its
//! year's, a visit's start time, a district taken from an inspector that
//! stayed on his phone, and a moved facility's proposals that did. Each was a
//! defect.
//!
//! One file (about 510 lines): the tests share the scripted phones and the
//! demo's districts.

use crate::helpers::{demo_proposal, TestApp};
use crate::phone::{statuses, Phone};
use serde_json::{json, Value};

async fn text_holding_nul_is_refused_per_change_and_never_a_500(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let facility = uuid::Uuid::now_v7().to_string();
    let batch = [
        phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 4})),
        phone.mutation(
            "facility",
            "upsert",
            &facility,
            json!({"name": "Lò\u{0}gạch", "industry_group": "other", "district_code": "213"}),
            0,
        ),
        phone.mutation(
            "visit",
            "upsert",
            &visit,
            json!({"main_products": "Gạch\u{0}"}),
            0,
        ),
        phone.mutation("visit", "upsert", &visit, json!({"workforce": 5}), 0),
    ];
    let results = phone.push_ok(&app, &batch).await;
    assert_eq!(
        statuses(&results),
        ["applied", "refused", "refused", "applied"],
        "the queue moves past the bad changes"
    );
    assert_eq!(results[1]["error"]["code"], "text.nul");
    assert_eq!(results[1]["error"]["params"]["field"], "name");
    assert_eq!(results[2]["error"]["params"]["field"], "main_products");
    let (v, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.answers["workforce"], 5);

    // Anywhere else a NUL reaches the database it is the caller's input: a
    // 4xx on both engines, never a 500 (PostgreSQL cannot store it).
    let (boss, _) = app.login("giamsat").await;
    for uri in [
        "/api/exports/visits.csv?district=%00",
        "/api/exports/visits.csv?q=a%00b",
        "/api/exports/photos.zip?proposal=%00",
    ] {
        let r = app.get(uri, Some(&boss)).await;
        assert!(
            (200..500).contains(&r.status.as_u16()),
            "{uri}: {} {}",
            r.status,
            r.text()
        );
    }
    let r = app
        .post_json(
            "/api/visits/%00/review",
            Some(&boss),
            &json!({"decision": "approve"}),
        )
        .await;
    assert!(
        (400..500).contains(&r.status.as_u16()),
        "{} {}",
        r.status,
        r.text()
    );
    // Server functions, for both engines alike: SQLite would store it.
    for (name, args) in [
        ("find_facilities", json!({"query": "Lò\u{0}"})),
        (
            "decide_visit",
            json!({"visit_id": "x", "decision": {"SendBack": {"comment": "a\u{0}b"}}}),
        ),
    ] {
        let r = crate::security::call(&app, &boss, name, args).await;
        crate::security::expect_error(&r, 422, "text.nul");
    }
    let r = crate::security::call(&app, &boss, "find_facilities", json!({"query": "Lò"})).await;
    assert_ne!(r.status, 422, "{}", r.text());
    // Whatever the body says it is (a server function decodes it anyway),
    // and on the API's own JSON routes: nothing stores it on SQLite either.
    let r = crate::security::req("POST", "/rpc/find_facilities")
        .bytes("text/plain", br#"{"query":"a\u0000b"}"#.to_vec())
        .cookie(Some(&boss))
        .send(&app.router)
        .await;
    crate::security::expect_error(&r, 422, "text.nul");
    let r = app
        .post_json(
            &format!("/api/visits/{visit}/review"),
            Some(&boss),
            &json!({"to": "needs_changes", "comment": "sửa\u{0}lại"}),
        )
        .await;
    crate::security::expect_error(&r, 422, "text.nul");
    let r = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "ksv1\u{0}", "password": "khaosat-demo"}),
        )
        .await;
    crate::security::expect_error(&r, 422, "text.nul");
}

async fn a_found_facility_names_units_at_their_level_and_has_a_name(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let cases = [
        // A commune in the district's place, and a district in the commune's.
        (
            json!({"name": "Xưởng A", "industry_group": "other", "district_code": "07201"}),
            "facility.wrong_level",
        ),
        (
            json!({"name": "Xưởng B", "industry_group": "other", "district_code": "213", "commune_code": "213"}),
            "facility.wrong_level",
        ),
        (
            json!({"name": "   ", "industry_group": "other", "district_code": "213"}),
            "facility.name_required",
        ),
        // Only characters that print nothing: zero-width space, joiner, BOM.
        (
            json!({"name": "\u{200B}\u{200D}\u{FEFF}", "industry_group": "other", "district_code": "213"}),
            "facility.name_required",
        ),
    ];
    for (fields, code) in cases {
        let id = uuid::Uuid::now_v7().to_string();
        let m = phone.mutation("facility", "upsert", &id, fields.clone(), 0);
        let results = phone.push_ok(&app, &[m]).await;
        assert_eq!(results[0]["error"]["code"], code, "{fields}");
        assert!(
            app::store::catalog::facility_by_id(&app.db.pool, &id)
                .await
                .unwrap()
                .is_none(),
            "{fields}"
        );
    }
    let id = uuid::Uuid::now_v7().to_string();
    let m = phone.mutation(
        "facility",
        "upsert",
        &id,
        json!({"name": "Xưởng C", "industry_group": "other", "district_code": "213", "commune_code": "07201"}),
        0,
    );
    assert_eq!(statuses(&phone.push_ok(&app, &[m]).await), ["applied"]);
    // A rename to blanks later is refused too.
    let m = phone.mutation("facility", "upsert", &id, json!({"name": " "}), 0);
    assert_eq!(
        phone.push_ok(&app, &[m]).await[0]["error"]["code"],
        "facility.name_required"
    );
}

async fn a_visit_uses_its_years_form_and_a_plausible_start(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    // Another form, published: not the one the 2020 year surveys with.
    let mut other: Value = serde_json::from_str(app::store::seed::DEFAULT_FORM).unwrap();
    other["id"] = json!("other-form");
    other["version"] = json!(1);
    let other: app::forms::FormDefinition = serde_json::from_value(other).unwrap();
    app::store::forms::publish(&app.db, &other).await.unwrap();
    let visit = uuid::Uuid::now_v7().to_string();
    let mut m = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 1}));
    m["fields"]["form_id"] = json!("other-form");
    let results = phone.push_ok(&app, &[m]).await;
    assert_eq!(results[0]["error"]["code"], "visit.wrong_form");
    assert_eq!(results[0]["error"]["params"]["expected"], "khuyen-cong");

    // A start time from a broken clock is replaced by the change's stamp,
    // and by the server's time when the phone's clock is far behind too.
    let before = app::store::now_ms();
    let mut behind = Phone::login(&app, "ksv1").await;
    behind.skew_ms = -(before - 473_385_600_000); // the phone thinks it is 1985
    let within = |stored: i64| (before - 60_000..=app::store::now_ms() + 60_000).contains(&stored);
    for (started_at, late) in [
        (Some(-1), true),
        (None, true),
        (Some(before + 3_600_000), false),
        (Some(i64::MAX), false),
        (Some(i64::MIN), false),
        (Some(0), false),
    ] {
        let who = if late { &mut behind } else { &mut phone };
        let stored = start_stored(&app, who, started_at).await;
        assert!(
            within(stored),
            "started_at {started_at:?} stored as {stored}"
        );
    }
    // A plausible one is kept as the phone said.
    let started = before - 3 * 86_400_000;
    assert_eq!(start_stored(&app, &mut phone, Some(started)).await, started);
}

/// A new visit pushed with this `started_at` (or none): the start stored.
async fn start_stored(app: &TestApp, phone: &mut Phone, started_at: Option<i64>) -> i64 {
    let visit = uuid::Uuid::now_v7().to_string();
    let mut m = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 1}));
    if let Some(t) = started_at {
        m["fields"]["started_at"] = json!(t);
    }
    assert_eq!(statuses(&phone.push_ok(app, &[m]).await), ["applied"]);
    let (v, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    v.created_at_ms
}

/// A demo account as the administrator's list shows it.
async fn account_of(app: &TestApp, username: &str) -> app::office::admin::contract::AccountSummary {
    app::store::accounts::list(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.username == username)
        .unwrap()
}

/// The administrator gives `account` these roles and units.
async fn reassign(
    app: &TestApp,
    account: &app::office::admin::contract::AccountSummary,
    roles: Vec<app::model::Role>,
    units: Vec<String>,
) {
    app::store::accounts::update_account(
        &app.db,
        &Default::default(),
        &app::office::admin::contract::AccountUpdate {
            id: account.id.clone(),
            display_name: account.display_name.clone(),
            phone: account.phone.clone(),
            roles,
            units,
        },
    )
    .await
    .unwrap();
}

async fn a_district_taken_from_an_inspector_leaves_his_phone(app: TestApp) {
    let (cookie, _) = app.login("ksv5").await;
    let (first, cursor) = app.pull_from(&cookie, 0).await;
    let in_220 = |c: &Value| {
        matches!(c["entity"].as_str(), Some("facility" | "proposal"))
            && c["record"]["district_code"] == "220"
    };
    let held: std::collections::BTreeSet<(String, String)> = first
        .iter()
        .filter(|c| in_220(c))
        .map(|c| {
            (
                c["entity"].as_str().unwrap().to_string(),
                c["record"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        held.iter().any(|(e, _)| e == "proposal"),
        "the demo gives ksv5 a proposal in Sơn Động (220)"
    );
    let account = account_of(&app, "ksv5").await;
    let keep: Vec<String> = account
        .units
        .iter()
        .filter(|u| !u.ends_with("220"))
        .cloned()
        .collect();
    assert_eq!(keep.len(), account.units.len() - 1, "{:?}", account.units);
    reassign(&app, &account, account.roles.clone(), keep).await;
    let (after, _) = app.pull_from(&cookie, cursor).await;
    let deleted: std::collections::BTreeSet<(String, String)> = after
        .iter()
        .filter(|c| c["entity"] == "deleted")
        .map(|c| {
            (
                c["record"]["entity"].as_str().unwrap().to_string(),
                c["record"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(deleted, held, "every record of Sơn Động leaves the phone");
    assert!(
        !after.iter().any(in_220),
        "nothing of Sơn Động is sent again"
    );
    // Lục Ngạn (219) stays: a fresh pull still holds it, and no 220.
    let fresh = app.pull_all(&cookie).await;
    assert!(fresh.iter().any(|c| c["record"]["district_code"] == "219"));
    assert!(!fresh.iter().any(in_220));
}

/// A supervisor who pulled the province on a phone, then made an inspector
/// of one district: the phone kept every record of the province for good
/// (scopes compare unit paths, and "everything" was never one). The next
/// pull now takes away what the new role may not see.
async fn a_supervisor_made_an_inspector_keeps_only_the_new_scope(app: TestApp) {
    let mut ksv1 = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let m = ksv1.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 5}));
    ksv1.push_ok(&app, &[m]).await;
    let boss = Phone::login(&app, "giamsat").await;
    let (first, cursor) = app.pull_from(&boss.cookie, 0).await;
    let district = |c: &Value| c["record"]["district_code"].as_str().map(str::to_string);
    assert!(first.iter().any(|c| c["record"]["id"] == visit.as_str()));
    assert!(first
        .iter()
        .any(|c| district(c).is_some_and(|d| d != "213")));
    let account = account_of(&app, "giamsat").await;
    reassign(
        &app,
        &account,
        vec![app::model::Role::Inspector],
        vec!["213".into()],
    )
    .await;
    let (after, _) = app.pull_from(&boss.cookie, cursor).await;
    // What the phone holds once it has applied the pull.
    let mut held: std::collections::BTreeMap<(String, String), Value> = Default::default();
    for c in first.iter().chain(after.iter()) {
        if c["entity"] == "deleted" {
            let key = (
                c["record"]["entity"].as_str().unwrap().to_string(),
                c["record"]["id"].as_str().unwrap().to_string(),
            );
            held.remove(&key);
        } else if let Some(id) = c["record"]["id"].as_str() {
            held.insert(
                (c["entity"].as_str().unwrap().to_string(), id.to_string()),
                c.clone(),
            );
        }
    }
    assert!(
        !held.contains_key(&("visit".to_string(), visit.clone())),
        "another inspector's visit stays on the phone"
    );
    let outside: Vec<_> = held
        .values()
        .filter(|c| matches!(c["entity"].as_str(), Some("facility" | "proposal")))
        .filter(|c| district(c).is_some_and(|d| d != "213"))
        .collect();
    assert!(outside.is_empty(), "records outside 213 stay: {outside:?}");
    assert!(
        held.values()
            .any(|c| c["entity"] == "proposal" && district(c).as_deref() == Some("213")),
        "the new district's proposals stay"
    );
}

/// The mirror: an inspector made supervisor. Her phone's cursor was past the
/// province's records, and no unit path was gained, so it kept only her
/// old district for good.
async fn an_inspector_made_a_supervisor_gets_the_province(app: TestApp) {
    let ksv5 = Phone::login(&app, "ksv5").await;
    let (first, cursor) = app.pull_from(&ksv5.cookie, 0).await;
    let district = |c: &Value| c["record"]["district_code"].as_str().map(str::to_string);
    assert!(
        !first
            .iter()
            .any(|c| c["entity"] == "proposal" && district(c).as_deref() == Some("213")),
        "ksv5 starts without 213"
    );
    let account = account_of(&app, "ksv5").await;
    reassign(
        &app,
        &account,
        vec![app::model::Role::Supervisor],
        vec!["219".into(), "220".into()],
    )
    .await;
    let (after, _) = app.pull_from(&ksv5.cookie, cursor).await;
    assert!(
        after
            .iter()
            .any(|c| c["entity"] == "proposal" && district(c).as_deref() == Some("213")),
        "the province's proposals reach the promoted phone"
    );
}

/// A facility moved to another district takes its proposals along: the old
/// district's phone drops them, the new one's receives them, and an
/// incremental pull agrees with a fresh one.
async fn a_moved_facility_takes_its_proposals_along(app: TestApp) {
    let (ksv5, _) = app.login("ksv5").await;
    let (ksv1, _) = app.login("ksv1").await;
    let proposal = demo_proposal("219");
    let (first, cursor5) = app.pull_from(&ksv5, 0).await;
    let facility = first
        .iter()
        .find(|c| c["entity"] == "proposal" && c["record"]["id"] == proposal)
        .expect("ksv5 holds the Lục Ngạn proposal")["record"]["facility_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, cursor1) = app.pull_from(&ksv1, 0).await;
    let mut office = Phone::login(&app, "giamsat").await;
    let m = office.mutation(
        "facility",
        "upsert",
        &facility,
        json!({"district_code": "213", "commune_code": "07201"}),
        0,
    );
    assert_eq!(statuses(&office.push_ok(&app, &[m]).await), ["applied"]);

    let (left, _) = app.pull_from(&ksv5, cursor5).await;
    let gone = |entity: &str, id: &str| {
        left.iter().any(|c| {
            c["entity"] == "deleted" && c["record"]["entity"] == entity && c["record"]["id"] == id
        })
    };
    assert!(
        gone("facility", &facility) && gone("proposal", &proposal),
        "{left:?}"
    );
    let (came, _) = app.pull_from(&ksv1, cursor1).await;
    assert!(came
        .iter()
        .any(|c| c["entity"] == "proposal" && c["record"]["id"] == proposal));
    assert!(!app
        .pull_all(&ksv5)
        .await
        .iter()
        .any(|c| c["entity"] == "proposal" && c["record"]["id"] == proposal));
    assert!(app
        .pull_all(&ksv1)
        .await
        .iter()
        .any(|c| c["entity"] == "proposal" && c["record"]["id"] == proposal));
}

/// Approving a visit with a conflict still open let the conflict's later
/// settlement change an approved answer behind the approval: it is refused
/// until every conflict is settled.
async fn a_visit_is_approved_only_once_its_conflicts_are_settled(app: TestApp) {
    let mut a = Phone::login(&app, "ksv1").await;
    let mut b = Phone::login(&app, "ksv1").await;
    let (boss, _) = app.login("giamsat").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let create = a.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 10}));
    a.push_ok(&app, &[create]).await;
    let mine = a.mutation("visit", "upsert", &visit, json!({"workforce": 12}), 1);
    a.push_ok(&app, &[mine]).await;
    let theirs = b.mutation("visit", "upsert", &visit, json!({"workforce": 15}), 1);
    b.push_ok(&app, &[theirs]).await;
    let mut answers = crate::phone::complete_answers();
    answers.as_object_mut().unwrap().remove("workforce");
    let submit = a.mutation("visit", "submit", &visit, answers, 0);
    assert_eq!(statuses(&a.push_ok(&app, &[submit]).await), ["applied"]);

    let approve = |boss: String, visit: String| {
        let app = &app;
        async move {
            app.post_json(
                &format!("/api/visits/{visit}/review"),
                Some(&boss),
                &json!({"to": "approved", "comment": ""}),
            )
            .await
        }
    };
    let r = approve(boss.clone(), visit.clone()).await;
    crate::security::expect_error(&r, 422, "review.conflicts_open");
    assert_eq!(r.json()["params"]["count"], 1);
    let extras = crate::security::call(&app, &boss, "visit_extras", json!({"id": visit})).await;
    let id = extras.json()["conflicts"][0]["id"].as_i64().unwrap();
    let r = crate::security::call(
        &app,
        &boss,
        "resolve_conflict",
        json!({"id": id, "value": 13}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = approve(boss.clone(), visit.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

crate::engine_tests!(
    a_visit_is_approved_only_once_its_conflicts_are_settled,
    a_moved_facility_takes_its_proposals_along,
    text_holding_nul_is_refused_per_change_and_never_a_500,
    a_found_facility_names_units_at_their_level_and_has_a_name,
    a_visit_uses_its_years_form_and_a_plausible_start,
    a_district_taken_from_an_inspector_leaves_his_phone,
    a_supervisor_made_an_inspector_keeps_only_the_new_scope,
    an_inspector_made_a_supervisor_gets_the_province,
);
