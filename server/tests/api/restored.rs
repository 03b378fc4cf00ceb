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

crate::engine_tests!(a_restored_server_tells_a_phone_what_it_lost);
