use crate::helpers::{demo_proposal, visit_push, TestApp};
use axum::http::{Method, StatusCode};
use serde_json::json;

async fn a_pushed_visit_is_stored_and_pushing_the_same_batch_again_changes_nothing(app: TestApp) {
    let (cookie, device) = app.login("ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let body = visit_push(
        &device,
        &visit,
        &demo_proposal("213"),
        1,
        &[
            ("workforce", json!(25)),
            ("main_products", json!("Nồi hơi")),
        ],
    );

    let first = app.post_json("/api/sync/push", Some(&cookie), &body).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let first = first.json();
    assert_eq!(first["last_seq"], 2);
    assert!(first["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "applied"));
    let after_first = app.counts().await;
    assert_eq!(after_first["visits"], 1);
    assert_eq!(after_first["field_values"], 2);

    let again = app.post_json("/api/sync/push", Some(&cookie), &body).await;
    assert_eq!(again.status, StatusCode::OK);
    let again = again.json();
    assert!(again["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "duplicate"));
    assert_eq!(again["last_seq"], 2);
    // A retry appends to the change log on purpose (so the phone pulls the merged
    // state); no data changes.
    let mut after_again = app.counts().await;
    let mut after_first = after_first;
    after_again.remove("change_log");
    after_first.remove("change_log");
    assert_eq!(after_again, after_first);

    let (stored, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.answers["workforce"], json!(25));
    assert_eq!(stored.answers["main_products"], json!("Nồi hơi"));
}

async fn a_gap_in_seqs_is_refused_and_nothing_is_applied(app: TestApp) {
    let (cookie, device) = app.login("ksv1").await;
    let body = visit_push(
        &device,
        &uuid::Uuid::now_v7().to_string(),
        &demo_proposal("213"),
        3,
        &[("workforce", json!(5))],
    );
    let response = app.post_json("/api/sync/push", Some(&cookie), &body).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(response.json()["code"], "sync.seq_gap");
    assert_eq!(response.json()["params"]["expected"], 1);
    assert_eq!(app.counts().await["visits"], 0);
}

async fn an_invalid_answer_is_refused_with_a_reason_and_the_queue_moves_on(app: TestApp) {
    let (cookie, device) = app.login("ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let body = visit_push(
        &device,
        &visit,
        &demo_proposal("213"),
        1,
        &[("workforce", json!(25)), ("workforce", json!("nhiều"))],
    );
    let response = app
        .post_json("/api/sync/push", Some(&cookie), &body)
        .await
        .json();
    assert_eq!(response["results"][0]["status"], "applied");
    assert_eq!(response["results"][1]["status"], "refused");
    assert_eq!(
        response["results"][1]["error"]["code"],
        "form.expected_integer"
    );
    assert_eq!(response["last_seq"], 2);
    let (stored, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.answers["workforce"], json!(25));
}

async fn an_inspector_cannot_create_a_visit_outside_their_districts(app: TestApp) {
    let (cookie, device) = app.login("ksv1").await;
    let body = visit_push(
        &device,
        &uuid::Uuid::now_v7().to_string(),
        &demo_proposal("219"),
        1,
        &[("workforce", json!(3))],
    );
    let response = app
        .post_json("/api/sync/push", Some(&cookie), &body)
        .await
        .json();
    assert_eq!(response["results"][0]["status"], "refused");
    assert_eq!(
        response["results"][0]["error"]["code"],
        "visit.out_of_scope"
    );
    assert_eq!(app.counts().await["visits"], 0);
    // The answer never reached the phone (its page closed mid-sync), so it
    // sends the batch again: the refusal is repeated, not called a duplicate
    // that the phone would take as kept.
    let again = app
        .post_json("/api/sync/push", Some(&cookie), &body)
        .await
        .json();
    assert_eq!(again["results"][0]["status"], "refused", "{again}");
    assert_eq!(again["results"][0]["error"]["code"], "visit.out_of_scope");
    assert_eq!(
        again["results"][0]["error"]["params"],
        response["results"][0]["error"]["params"]
    );
    assert_eq!(app.counts().await["visits"], 0);
}

async fn malformed_json_is_a_400_with_a_message_and_stores_nothing(app: TestApp) {
    let (cookie, _) = app.login("ksv1").await;
    let before = app.counts().await;
    let response = app
        .request(
            Method::POST,
            "/api/sync/push",
            Some(&cookie),
            Some(b"{\"device_id\": 12,".to_vec()),
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let body = response.json();
    assert_eq!(body["code"], "request.malformed");
    assert!(!body["message"].as_str().unwrap().is_empty());
    assert_eq!(app.counts().await, before);
}

async fn a_push_without_a_session_is_a_401_and_stores_nothing(app: TestApp) {
    let (_, device) = app.login("ksv1").await;
    let before = app.counts().await;
    let body = visit_push(
        &device,
        &uuid::Uuid::now_v7().to_string(),
        &demo_proposal("213"),
        1,
        &[("workforce", json!(25))],
    );
    let response = app.post_json("/api/sync/push", None, &body).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.json()["code"], "auth.required");
    // Even a malformed body without a session is judged on the session first.
    let garbage = app
        .request(
            Method::POST,
            "/api/sync/push",
            None,
            Some(b"not json".to_vec()),
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.counts().await, before);
}

async fn a_push_for_another_users_device_is_forbidden(app: TestApp) {
    let (_, device_of_ksv1) = app.login("ksv1").await;
    let (cookie_of_ksv2, _) = app.login("ksv2").await;
    let body = visit_push(
        &device_of_ksv1,
        &uuid::Uuid::now_v7().to_string(),
        &demo_proposal("223"),
        1,
        &[("workforce", json!(1))],
    );
    let response = app
        .post_json("/api/sync/push", Some(&cookie_of_ksv2), &body)
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(app.counts().await["visits"], 0);
}

async fn an_oversized_body_is_a_413_naming_the_limit(app: TestApp) {
    let (cookie, _) = app.login("ksv1").await;
    let huge = vec![b' '; app::sync::MAX_PUSH_BYTES + 10];
    let response = app
        .request(Method::POST, "/api/sync/push", Some(&cookie), Some(huge))
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.json()["params"]["limit"],
        app::sync::MAX_PUSH_BYTES
    );
}

async fn an_unknown_field_is_refused(app: TestApp) {
    let (cookie, device) = app.login("ksv1").await;
    let body = visit_push(
        &device,
        &uuid::Uuid::now_v7().to_string(),
        &demo_proposal("213"),
        1,
        &[("no_such_field", json!("x"))],
    );
    let response = app
        .post_json("/api/sync/push", Some(&cookie), &body)
        .await
        .json();
    assert_eq!(
        response["results"][0]["error"]["code"],
        "form.unknown_field"
    );
}

crate::engine_tests!(
    a_pushed_visit_is_stored_and_pushing_the_same_batch_again_changes_nothing,
    a_gap_in_seqs_is_refused_and_nothing_is_applied,
    an_invalid_answer_is_refused_with_a_reason_and_the_queue_moves_on,
    an_inspector_cannot_create_a_visit_outside_their_districts,
    malformed_json_is_a_400_with_a_message_and_stores_nothing,
    a_push_without_a_session_is_a_401_and_stores_nothing,
    a_push_for_another_users_device_is_forbidden,
    an_oversized_body_is_a_413_naming_the_limit,
    an_unknown_field_is_refused
);
