//! A server restored from a backup and the phones that synced after it: the
//! restored change log has a new epoch, and a phone that last synced with the
//! old one is refused (`sync.server_restored`) with what it needs to send
//! again, on each engine. The phone's side: `app/src/field/visits/resend.rs`.

use crate::backup::restored;
use crate::helpers::{demo_proposal, TestApp, TestEngine};
use crate::phone::{statuses, Phone};
use serde_json::{json, Value};

/// A phone that synced after the backup is told, at its next push or pull,
/// that the restored server is not the one it left (`sync.server_restored`),
/// with what it needs to send again: nothing is applied first, the device's
/// last seq on the restored server numbers what goes again, and a pull from 0
/// answers the new epoch.
async fn a_restored_server_tells_a_phone_what_it_lost(app: TestApp) {
    let engine = match app.db.engine {
        app::store::Engine::Sqlite => TestEngine::Sqlite,
        app::store::Engine::Postgres => TestEngine::Postgres,
    };
    let epoch_of =
        |r: &crate::helpers::TestResponse| r.json()["epoch"].as_str().unwrap().to_string();
    let mut phone = Phone::login(&app, "ksv1").await;
    let first = phone.new_visit(
        &uuid::Uuid::now_v7().to_string(),
        &demo_proposal("213"),
        json!({"workforce": 1}),
    );
    assert_eq!(statuses(&phone.push_ok(&app, &[first]).await), ["applied"]);
    let pulled = app
        .get("/api/sync/pull?cursor=0", Some(&phone.cookie))
        .await;
    let before = epoch_of(&pulled);
    assert!(!before.is_empty(), "a pull names the epoch");
    let to = tempfile::tempdir().unwrap();
    let target = to.path().join("backup");
    server::backup::backup(
        &app.db,
        &app.url,
        app.state.photos.storage.clone(),
        &target,
        None,
    )
    .await
    .unwrap();
    // Acknowledged after the backup: the restored server will lack it.
    let lost = phone.new_visit(
        &uuid::Uuid::now_v7().to_string(),
        &demo_proposal("213"),
        json!({"workforce": 2}),
    );
    assert_eq!(statuses(&phone.push_ok(&app, &[lost]).await), ["applied"]);

    let (copy, _) = restored(&target, engine, None).await;
    let with_epoch = |phone: &Phone, mutations: &[Value], epoch: &str| {
        let mut body = phone.body(mutations);
        body["epoch"] = json!(epoch);
        body
    };
    // The old server's epoch still holds there; the restored one has another.
    let same = app
        .post_json(
            "/api/sync/push",
            Some(&phone.cookie),
            &with_epoch(&phone, &[], &before),
        )
        .await;
    assert_eq!(same.status, 200, "{}", same.text());
    assert_eq!(epoch_of(&same), before);
    let next = phone.new_visit(
        &uuid::Uuid::now_v7().to_string(),
        &demo_proposal("213"),
        json!({"workforce": 3}),
    );
    let refused = copy
        .post_json(
            "/api/sync/push",
            Some(&phone.cookie),
            &with_epoch(&phone, std::slice::from_ref(&next), &before),
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.text());
    let body = refused.json();
    assert_eq!(body["code"], "sync.server_restored");
    assert_eq!(
        body["params"]["last_seq"], 1,
        "the restored server holds the first change only"
    );
    let after = body["params"]["epoch"].as_str().unwrap().to_string();
    assert_ne!(after, before);
    let pull = copy
        .get(
            &format!("/api/sync/pull?cursor=7&epoch={before}"),
            Some(&phone.cookie),
        )
        .await;
    assert_eq!(pull.status, 409, "{}", pull.text());
    assert_eq!(pull.json()["code"], "sync.server_restored");
    // Nothing of the refused push was applied.
    let (cookie, _) = copy.login("ksv1").await;
    let visits = |changes: Vec<Value>| changes.iter().filter(|c| c["entity"] == "visit").count();
    assert_eq!(visits(copy.pull_all(&cookie).await), 1);
    // The phone sends again, numbered after the restored server's last seq
    // and with its epoch: taken, and the pull with that epoch answers.
    let mut again = phone.new_visit(
        &uuid::Uuid::now_v7().to_string(),
        &demo_proposal("213"),
        json!({"workforce": 2}),
    );
    again["seq"] = json!(2);
    let mut next = next;
    next["seq"] = json!(3);
    let resent = copy
        .post_json(
            "/api/sync/push",
            Some(&phone.cookie),
            &with_epoch(&phone, &[again, next], &after),
        )
        .await;
    assert_eq!(resent.status, 200, "{}", resent.text());
    assert_eq!(resent.json()["last_seq"], 3);
    let pull = copy
        .get(
            &format!("/api/sync/pull?cursor=0&epoch={after}"),
            Some(&phone.cookie),
        )
        .await;
    assert_eq!(pull.status, 200, "{}", pull.text());
    assert_eq!(epoch_of(&pull), after);
    assert_eq!(visits(copy.pull_all(&cookie).await), 3);
    // A restart keeps the epoch; only a restore makes a new one.
    assert_eq!(
        app::store::service::ensure_log_epoch(&copy.db)
            .await
            .unwrap(),
        after
    );
}

/// A pulled visit names when each of its answers and its rows' answers was
/// written: the phone's stamp, also for a change sent again after a restore
/// with the time it was first written (older than what the server holds).
/// Two phones of one inspector recovering in turn compare these times, as
/// versions start again from the backup's (`field::visits::resend`).
async fn a_pulled_visit_names_when_each_answer_was_written(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let row = uuid::Uuid::now_v7().to_string();
    let first = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 5}));
    let machine = phone.mutation(
        "visit_row",
        "upsert",
        &row,
        json!({"visit_id": visit, "group": "equipment", "name": "Máy ép"}),
        0,
    );
    let stamps: Vec<String> = [&first, &machine]
        .iter()
        .map(|m| m["hlc"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        statuses(&phone.push_ok(&app, &[first, machine]).await),
        ["applied", "applied"]
    );
    let record = |changes: &[Value]| {
        changes
            .iter()
            .find(|c| c["entity"] == "visit" && c["record"]["id"] == visit)
            .map(|c| c["record"].clone())
            .expect("the visit is pulled")
    };
    let pulled = record(&app.pull_all(&phone.cookie).await);
    assert_eq!(pulled["written"]["workforce"], stamps[0], "{pulled}");
    assert_eq!(pulled["rows"][0]["written"]["name"], stamps[1], "{pulled}");
    // A change sent again with the time it was first written, an hour ago.
    let mut again = phone.mutation("visit", "upsert", &visit, json!({"workforce": 6}), 1);
    let hour_ago = app::sync::Hlc::new(app::store::now_ms() - 3_600_000, 0).encode();
    again["hlc"] = json!(hour_ago);
    assert_eq!(statuses(&phone.push_ok(&app, &[again]).await), ["applied"]);
    let pulled = record(&app.pull_all(&phone.cookie).await);
    assert_eq!(pulled["answers"]["workforce"], 6);
    assert_eq!(pulled["written"]["workforce"], hour_ago.as_str());
    // Typed as the phone reads it.
    let typed: app::model::VisitRecord = serde_json::from_value(pulled).unwrap();
    assert_eq!(typed.written["workforce"].encode(), hour_ago);
}

crate::engine_tests!(
    a_restored_server_tells_a_phone_what_it_lost,
    a_pulled_visit_names_when_each_answer_was_written,
);
