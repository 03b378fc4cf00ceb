//! Exactly-once under duress: the same batch ten times at once, a response lost
//! after commit, bad input that must store nothing, old app versions, import of a
//! phone's backup, and tombstone compaction with its 410.
//!
//! One file (about 615 lines): every test compares what a push wrote through
//! the same snapshot and the same scripted phone.

use crate::helpers::{demo_proposal, TestApp};
use crate::phone::{statuses, Phone};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

/// Everything a push can write, to compare "before" and "after". The change log
/// is left out: a retried push appends a change on purpose (`apply::touch`), so
/// the phone pulls the merged state it may have missed; no data changes.
async fn snapshot(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    for sql in [
        "SELECT entity, record_id, field, value, version, hlc, device_id, mutation_id FROM field_values ORDER BY entity, record_id, field",
        "SELECT mutation_id, device_id, seq, status FROM mutations ORDER BY device_id, seq",
        "SELECT device_id, last_seq FROM devices ORDER BY device_id",
        "SELECT id, review_state, deleted_at FROM visits ORDER BY id",
        "SELECT entity, record_id, field, version FROM field_history ORDER BY entity, record_id, field, version",
        "SELECT COUNT(*) AS n FROM conflicts",
    ] {
        let rows = sqlx::query(sql).fetch_all(&app.db.pool).await.unwrap();
        for row in rows {
            use sqlx::{Column, Row};
            let mut v = serde_json::Map::new();
            for (i, c) in row.columns().iter().enumerate() {
                let value = row
                    .try_get::<Option<String>, _>(i)
                    .map(|s| json!(s))
                    .or_else(|_| row.try_get::<Option<i64>, _>(i).map(|n| json!(n)))
                    .unwrap();
                v.insert(c.name().to_string(), value);
            }
            out.push(Value::Object(v));
        }
    }
    out
}

fn batch(phone: &mut Phone, n: usize) -> Vec<Value> {
    let visit = uuid::Uuid::now_v7().to_string();
    let mut out = vec![phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 1}))];
    for i in 1..n {
        out.push(phone.mutation("visit", "upsert", &visit, json!({"workforce": 1 + i}), 0));
    }
    out
}

async fn the_same_batch_pushed_ten_times_at_once_applies_once(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let mutations = batch(&mut phone, 20);
    let body = serde_json::to_vec(&phone.body(&mutations)).unwrap();
    let pushes = (0..10).map(|_| {
        let router = app.router.clone();
        let body = body.clone();
        let cookie = phone.cookie.clone();
        tokio::spawn(async move {
            let request = Request::post("/api/sync/push")
                .header("content-type", "application/json")
                .header("cookie", cookie)
                .body(Body::from(body))
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        })
    });
    let mut applied = 0;
    for push in pushes {
        let (status, body) = push.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["last_seq"], 20);
        applied += body["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "applied")
            .count();
    }
    assert_eq!(
        applied, 20,
        "each mutation applied exactly once across the ten pushes"
    );
    let concurrent = snapshot(&app).await;

    // The shape of one application, and a further push changes nothing.
    let counts = app.counts().await;
    assert_eq!(counts["mutations"], 20);
    assert_eq!(counts["visits"], 1);
    assert_eq!(counts["field_values"], 1);
    let again = phone.push_ok(&app, &mutations).await;
    assert!(statuses(&again).iter().all(|s| s == "duplicate"));
    let after: Vec<Value> = snapshot(&app).await;
    // Only the device's last_seen_at may differ, and it is not in the snapshot.
    assert_eq!(concurrent, after);
}

async fn a_response_lost_after_commit_is_retried_into_duplicates(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let mutations = batch(&mut phone, 5);
    // A proxy that forwards the push, lets the server commit, then loses the answer.
    let lossy = app.router.clone().layer(axum::middleware::map_response(
        |_: axum::response::Response| async { StatusCode::BAD_GATEWAY },
    ));
    let request = Request::post("/api/sync/push")
        .header("content-type", "application/json")
        .header("cookie", &phone.cookie)
        .body(Body::from(
            serde_json::to_vec(&phone.body(&mutations)).unwrap(),
        ))
        .unwrap();
    assert_eq!(
        lossy.oneshot(request).await.unwrap().status(),
        StatusCode::BAD_GATEWAY
    );
    let committed = snapshot(&app).await;
    assert_eq!(app.counts().await["mutations"], 5, "the server did commit");
    // The phone never heard back, so it sends the same batch again.
    let retry = phone.push_ok(&app, &mutations).await;
    assert_eq!(statuses(&retry), vec!["duplicate"; 5]);
    assert_eq!(snapshot(&app).await, committed, "nothing applied twice");
}

async fn bad_input_gets_a_clear_4xx_and_stores_nothing(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let other = Phone::login(&app, "ksv2").await;
    let before = snapshot(&app).await;
    let visit = uuid::Uuid::now_v7().to_string();
    // Unknown entity and wrong field types of the envelope: 400 naming the problem.
    let mut m = phone.new_visit(&visit, &demo_proposal("213"), json!({}));
    m["entity"] = json!("photo_album");
    let r = phone.push(&app, &[m]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("photo_album"),
        "{}",
        r.text()
    );
    let mut m = phone.new_visit(&visit, &demo_proposal("213"), json!({}));
    m["seq"] = json!("one");
    assert_eq!(phone.push(&app, &[m]).await.status, StatusCode::BAD_REQUEST);
    let r = app
        .request(
            axum::http::Method::POST,
            "/api/sync/push",
            Some(&phone.cookie),
            Some(b"{\"device_id\": ".to_vec()),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["code"], "request.malformed");
    // Too many mutations: 413 with the limit.
    let many: Vec<Value> = (0..app::sync::MAX_BATCH + 1)
        .map(|_| phone.mutation("visit", "upsert", &visit, json!({"workforce": 1}), 0))
        .collect();
    let r = phone.push(&app, &many).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["params"]["limit"], app::sync::MAX_BATCH);
    // Another user's device id: 403.
    let m = phone.new_visit(&visit, &demo_proposal("213"), json!({}));
    let mut body = phone.body(&[m]);
    body["device_id"] = json!(other.device);
    let r = app
        .post_json("/api/sync/push", Some(&phone.cookie), &body)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        snapshot(&app).await,
        before,
        "nothing stored by any of these"
    );

    // Well-formed but invalid values: refused one by one, the queue moves on, and
    // the refused values are nowhere in the answers.
    let mut phone = Phone::login(&app, "ksv1").await;
    let create = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 5}));
    let wrong_type = phone.mutation("visit", "upsert", &visit, json!({"workforce": "năm"}), 0);
    let out_of_range = phone.mutation("visit", "upsert", &visit, json!({"female_workers": -1}), 0);
    let unknown = phone.mutation("visit", "upsert", &visit, json!({"nickname": "x"}), 0);
    let too_long = phone.mutation(
        "visit",
        "upsert",
        &visit,
        json!({"team_members": "x".repeat(20_000)}),
        0,
    );
    let fine = phone.mutation("visit", "upsert", &visit, json!({"workforce": 6}), 0);
    let r = phone
        .push_ok(
            &app,
            &[create, wrong_type, out_of_range, unknown, too_long, fine],
        )
        .await;
    assert_eq!(
        statuses(&r),
        ["applied", "refused", "refused", "refused", "refused", "applied"]
    );
    let codes: Vec<&str> = r[1..5]
        .iter()
        .map(|r| r["error"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "form.expected_integer",
            "form.below_min",
            "form.unknown_field",
            "form.too_long"
        ]
    );
    let (v, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.answers.keys().collect::<Vec<_>>(), ["workforce"]);
    assert_eq!(v.answers["workforce"], 6);
}

async fn old_apps_are_told_to_update_and_the_previous_schema_still_syncs(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let m = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 2}));
    let mut body = phone.body(&[m]);
    body["schema_version"] = json!(app::sync::MUTATION_SCHEMA_VERSION - 2);
    let r = app
        .post_json("/api/sync/push", Some(&phone.cookie), &body)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["code"], "sync.update_app");
    assert!(r.json()["params"]["reason"].is_null(), "{}", r.text());
    assert_eq!(app.counts().await["mutations"], 0);
    // A backup file that old is the file's fault: a reload would not help.
    let old_file = json!({
        "format": "khaosat-outbox", "schema_version": app::sync::MUTATION_SCHEMA_VERSION - 2,
        "device_id": phone.device, "username": "ksv1", "mutations": body["mutations"]
    });
    let r = app
        .post_json("/api/sync/import", Some(&phone.cookie), &old_file)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.json()["code"], "sync.update_app");
    assert_eq!(r.json()["params"]["reason"], "backup_too_old");
    assert_eq!(app.counts().await["mutations"], 0);
    body["schema_version"] = json!(app::sync::MUTATION_SCHEMA_VERSION - 1);
    let r = app
        .post_json("/api/sync/push", Some(&phone.cookie), &body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

/// A deactivated account cannot log in to sync, so its phone's backup is
/// the only way in for its unsent work: a supervisor may import it. A change
/// the server refused, replayed from the file, is refused again with its
/// reason, never called a duplicate as if it were kept.
async fn a_deactivated_accounts_backup_is_imported_by_a_supervisor(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let first = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 1}));
    phone.push_ok(&app, std::slice::from_ref(&first)).await;
    let outside = uuid::Uuid::now_v7().to_string();
    let refused = phone.new_visit(&outside, &demo_proposal("219"), json!({"workforce": 3}));
    let results = phone.push_ok(&app, std::slice::from_ref(&refused)).await;
    assert_eq!(results[0]["error"]["code"], "visit.out_of_scope");
    let second = phone.mutation("visit", "upsert", &visit, json!({"workforce": 2}), 0);
    let file = json!({
        "format": "khaosat-outbox", "schema_version": app::sync::MUTATION_SCHEMA_VERSION,
        "device_id": phone.device, "username": "ksv1", "mutations": [refused, second]
    });
    let (admin, _) = app.login("quantri").await;
    let id = crate::security::user_id(&app, &admin, "ksv1").await;
    let off = crate::security::call(
        &app,
        &admin,
        "set_account_active",
        json!({"id": id, "active": false}),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text());
    let (boss, _) = app.login("giamsat").await;
    for expected in [["refused", "applied"], ["refused", "duplicate"]] {
        let r = app.post_json("/api/sync/import", Some(&boss), &file).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let results = r.json()["results"].as_array().unwrap().clone();
        assert_eq!(statuses(&results), expected);
        assert_eq!(results[0]["error"]["code"], "visit.out_of_scope");
    }
    let (stored, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.answers["workforce"], json!(2));
}

async fn a_backup_file_is_imported_under_its_device_once(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let mut all = vec![phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 1}))];
    for n in 2..=6 {
        all.push(phone.mutation("visit", "upsert", &visit, json!({"workforce": n}), 0));
    }
    // Seqs 1–2 reached the server.
    phone.push_ok(&app, &all[..2]).await;
    let lost_device = phone.device.clone();
    let file = |mutations: &[Value]| {
        json!({
            "format": "khaosat-outbox", "schema_version": app::sync::MUTATION_SCHEMA_VERSION,
            "device_id": lost_device, "username": "ksv1", "mutations": mutations
        })
    };
    // While the phone still syncs, a supervisor may not import for it: the
    // changes would be written in the inspector's name.
    let (boss, _) = app.login("giamsat").await;
    let r = app
        .post_json("/api/sync/import", Some(&boss), &file(&all))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.json()["code"], "import.device_live");
    // Then the phone was lost and its device revoked.
    let revoked = app::store::accounts::revoke_device(&app.db, &Default::default(), &phone.device)
        .await
        .unwrap();
    assert!(revoked.revoked_at_ms.is_some());
    let r = phone.push(&app, &all[2..]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.json()["message"].as_str().unwrap().contains("revoked"));

    // Another inspector may not import it.
    let (ksv2, _) = app.login("ksv2").await;
    let r = app
        .post_json("/api/sync/import", Some(&ksv2), &file(&all))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A partial file (seq 4 missing) applies what it holds; last_seq stops at the gap.
    let partial: Vec<Value> = all.iter().filter(|m| m["seq"] != 4).cloned().collect();
    let r = app
        .post_json("/api/sync/import", Some(&boss), &file(&partial))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(
        statuses(body["results"].as_array().unwrap()),
        ["duplicate", "duplicate", "applied", "applied", "applied"]
    );
    assert_eq!(body["last_seq"], 3);
    // The whole file later: only seq 4 is new; the device is complete up to 6.
    let r = app
        .post_json("/api/sync/import", Some(&boss), &file(&all))
        .await
        .json();
    assert_eq!(
        statuses(r["results"].as_array().unwrap()),
        [
            "duplicate",
            "duplicate",
            "duplicate",
            "applied",
            "duplicate",
            "duplicate"
        ]
    );
    assert_eq!(r["last_seq"], 6);
    let (v, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        v.owner_id,
        app::store::users::device(&app.db, &phone.device)
            .await
            .unwrap()
            .unwrap()
            .user_id,
        "the visit stays the inspector's, not the importer's"
    );
    assert_eq!(
        v.answers["workforce"], 6,
        "the last edit by seq wins although seq 4 came in last"
    );
    // A file whose seq is taken by another change is refused for that entry.
    let mut forged = all[2].clone();
    forged["mutation_id"] = json!(uuid::Uuid::now_v7().to_string());
    let r = app
        .post_json("/api/sync/import", Some(&boss), &file(&[forged]))
        .await
        .json();
    assert_eq!(r["results"][0]["error"]["code"], "import.seq_taken");
    // Nor does a supervisor's file for the lost phone reach into a visit
    // ksv1 made on another phone: it would read as the inspector's edit.
    let mut other = Phone::login(&app, "ksv1").await;
    let theirs = uuid::Uuid::now_v7().to_string();
    let made = other.new_visit(&theirs, &demo_proposal("213"), json!({"workforce": 3}));
    other.push_ok(&app, &[made]).await;
    let forged = phone.mutation("visit", "upsert", &theirs, json!({"workforce": 99}), 0);
    let r = app
        .post_json(
            "/api/sync/import",
            Some(&boss),
            &file(std::slice::from_ref(&forged)),
        )
        .await
        .json();
    assert_eq!(
        r["results"][0]["error"]["code"], "import.not_this_phones",
        "{r}"
    );
    let (v, _) = app::store::visits::record(&app.db.pool, &theirs)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.answers["workforce"], 3, "nothing changed");
    // Not through the revoked phone's own session, which opens nothing now
    // (else a stolen phone would send its outbox in as a backup).
    let r = app
        .post_json(
            "/api/sync/import",
            Some(&phone.cookie),
            &file(std::slice::from_ref(&forged)),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.json()["code"], "device.revoked");
    // Its owner may, logged in elsewhere: the backup is theirs.
    let r = app
        .post_json("/api/sync/import", Some(&other.cookie), &file(&[forged]))
        .await;
    assert_ne!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = app
        .post_json(
            "/api/sync/import",
            Some(&boss),
            &json!({"format": "csv", "schema_version": 2,
        "device_id": phone.device, "mutations": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

/// ksv1's phone imports a backup file of `mutations` under its own device.
async fn import_own(
    app: &TestApp,
    phone: &Phone,
    mutations: &[Value],
) -> crate::helpers::TestResponse {
    let file = json!({
        "format": "khaosat-outbox", "schema_version": app::sync::MUTATION_SCHEMA_VERSION,
        "device_id": phone.device, "username": "ksv1", "mutations": mutations
    });
    app.post_json("/api/sync/import", Some(&phone.cookie), &file)
        .await
}

/// A backup file that fills a seq ahead of the phone with another change (not
/// this phone's backup): the phone's own change at that seq is refused, the
/// queue moves past it, and a retry is a duplicate, never a 500 on every retry.
async fn a_push_into_a_seq_an_import_filled_is_refused_and_moves_on(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let own = vec![
        phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 1})),
        phone.mutation("visit", "upsert", &visit, json!({"workforce": 2}), 0),
        phone.mutation("visit", "upsert", &visit, json!({"workforce": 3}), 0),
    ];
    let mut forged = own[1].clone();
    forged["mutation_id"] = json!(uuid::Uuid::now_v7().to_string());
    let r = import_own(&app, &phone, &[forged]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["last_seq"], 0, "seq 2 alone leaves a gap");

    let r = phone.push(&app, &own).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    let results = body["results"].as_array().unwrap();
    assert_eq!(statuses(results), ["applied", "refused", "applied"]);
    assert_eq!(results[1]["error"]["code"], "sync.seq_taken");
    assert_eq!(results[1]["error"]["params"]["seq"], 2);
    assert_eq!(body["last_seq"], 3);
    // A retry answers the same: the seq still holds the other change.
    let again = phone.push_ok(&app, &own).await;
    assert_eq!(statuses(&again), ["duplicate", "refused", "duplicate"]);
    assert_eq!(again[1]["error"]["code"], "sync.seq_taken");
    let (v, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.answers["workforce"], 3);

    // The import fills the phone's very next seq: that seq is no longer
    // "ahead", and the phone's own change there is still not a duplicate.
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let own = vec![
        phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 1})),
        phone.mutation("visit", "upsert", &visit, json!({"workforce": 2}), 0),
    ];
    let mut forged = own[0].clone();
    forged["mutation_id"] = json!(uuid::Uuid::now_v7().to_string());
    forged["record_id"] = json!(uuid::Uuid::now_v7().to_string());
    let r = import_own(&app, &phone, &[forged]).await;
    assert_eq!(r.json()["last_seq"], 1);
    let results = phone.push_ok(&app, &own).await;
    assert_eq!(statuses(&results), ["refused", "refused"]);
    assert_eq!(results[0]["error"]["code"], "sync.seq_taken");
    assert_eq!(results[1]["error"]["code"], "visit.header_missing");

    // A file of more than one batch, written backwards: applied in seq order
    // across batches, so no edit comes before its visit's creation.
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let mut all = vec![phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 0}))];
    for n in 1..=(app::sync::MAX_BATCH as i64 + 20) {
        all.push(phone.mutation("visit", "upsert", &visit, json!({"workforce": n}), 0));
    }
    all.reverse();
    let r = import_own(&app, &phone, &all).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    let refused = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "refused")
        .count();
    assert_eq!(refused, 0, "{}", body["results"][0]);
    assert_eq!(body["last_seq"], app::sync::MAX_BATCH as i64 + 21);
}

async fn an_old_cursor_after_compaction_gets_410_and_a_full_pull_works(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let (keep, gone) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    let a = phone.new_visit(&keep, &demo_proposal("213"), json!({"workforce": 1}));
    let b = phone.new_visit(&gone, &demo_proposal("213"), json!({"workforce": 2}));
    phone.push_ok(&app, &[a, b]).await;
    let old_cursor = app
        .get("/api/sync/pull?cursor=0&limit=1", Some(&phone.cookie))
        .await
        .json()["cursor"]
        .as_i64()
        .unwrap();
    let del = phone.mutation("visit", "delete", &gone, json!({}), 0);
    phone.push_ok(&app, &[del]).await;
    // Within retention nothing is removed and every cursor still works.
    let report = app::store::compact::compact(&app.db, app::store::now_ms() - 86_400_000)
        .await
        .unwrap();
    assert_eq!(report.visits, 0);
    assert_eq!(
        app.get(
            &format!("/api/sync/pull?cursor={old_cursor}"),
            Some(&phone.cookie)
        )
        .await
        .status,
        StatusCode::OK
    );
    // Past retention the tombstone goes, and a phone that never saw it must resync.
    let report = app::store::compact::compact(&app.db, app::store::now_ms() + 1)
        .await
        .unwrap();
    assert_eq!(report.visits, 1);
    let r = app
        .get(
            &format!("/api/sync/pull?cursor={old_cursor}"),
            Some(&phone.cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::GONE);
    assert_eq!(r.json()["code"], "sync.cursor_expired");
    let changes = app.pull_all(&phone.cookie).await;
    let visits: Vec<&Value> = changes.iter().filter(|c| c["entity"] == "visit").collect();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0]["record"]["id"], keep);
    assert!(app::store::visits::record(&app.db.pool, &gone)
        .await
        .unwrap()
        .is_none());
    // A cursor at the horizon or later is fine.
    let horizon = report.horizon;
    assert_eq!(
        app.get(
            &format!("/api/sync/pull?cursor={horizon}"),
            Some(&phone.cookie)
        )
        .await
        .status,
        StatusCode::OK
    );
}

crate::engine_tests!(
    a_deactivated_accounts_backup_is_imported_by_a_supervisor,
    a_push_into_a_seq_an_import_filled_is_refused_and_moves_on,
    the_same_batch_pushed_ten_times_at_once_applies_once,
    a_response_lost_after_commit_is_retried_into_duplicates,
    bad_input_gets_a_clear_4xx_and_stores_nothing,
    old_apps_are_told_to_update_and_the_previous_schema_still_syncs,
    a_backup_file_is_imported_under_its_device_once,
    an_old_cursor_after_compaction_gets_410_and_a_full_pull_works,
);
