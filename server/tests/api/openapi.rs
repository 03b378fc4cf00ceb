//! `/api/openapi.json` describes the sync API, and real responses match it: each
//! response below is validated against the schema the document gives for its
//! path, method and status.

use crate::helpers::{demo_proposal, TestApp, TestResponse};
use crate::phone::Phone;
use axum::http::StatusCode;
use serde_json::{json, Value};

fn schema_for(doc: &Value, path: &str, method: &str, status: u16) -> Value {
    let schema = doc["paths"][path][method]["responses"][status.to_string()]["content"]
        ["application/json"]["schema"]
        .clone();
    assert!(
        !schema.is_null(),
        "the document has no {status} response for {method} {path}"
    );
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
        "components": doc["components"].clone(),
    })
}

fn conforms(doc: &Value, path: &str, method: &str, response: &TestResponse) -> Result<(), String> {
    let schema = schema_for(doc, path, method, response.status.as_u16());
    let validator = jsonschema::validator_for(&schema).map_err(|e| format!("bad schema: {e}"))?;
    let body = response.json();
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{method} {path} {}: {errors:?}\n{body}",
            response.status
        ))
    }
}

async fn real_responses_match_the_openapi_document(app: TestApp) {
    let r = app.get("/api/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK, "public, like /api/health");
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/api/sync/push", "/api/sync/pull", "/api/sync/import"] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    let check = |path: &str, method: &str, response: &TestResponse| {
        conforms(&doc, path, method, response).unwrap_or_else(|e| panic!("{e}"));
    };

    check("/api/health", "get", &app.get("/api/health", None).await);
    let login = app.post_json("/api/auth/login", None, &json!({"username": "ksv1", "password": "khaosat-demo", "device_id": uuid::Uuid::now_v7()})).await;
    check("/api/auth/login", "post", &login);
    let bad_login = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "ksv1", "password": "sai"}),
        )
        .await;
    check("/api/auth/login", "post", &bad_login);
    check(
        "/api/auth/me",
        "get",
        &app.get("/api/auth/me", Some(&login.cookie())).await,
    );

    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let create = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 4}));
    let refused = phone.mutation("visit", "upsert", &visit, json!({"workforce": "bốn"}), 0);
    let push = phone.push(&app, &[create.clone(), refused]).await;
    check("/api/sync/push", "post", &push);
    check("/api/sync/push", "post", &phone.push(&app, &[create]).await); // duplicates
    let gap = phone.mutation("visit", "upsert", &visit, json!({"workforce": 5}), 0);
    let mut gap = gap;
    gap["seq"] = json!(99);
    check("/api/sync/push", "post", &phone.push(&app, &[gap]).await); // 409
    check(
        "/api/sync/push",
        "post",
        &app.post_json("/api/sync/push", None, &json!({})).await,
    ); // 401
    check(
        "/api/sync/pull",
        "get",
        &app.get("/api/sync/pull?cursor=0", Some(&phone.cookie))
            .await,
    );
    check(
        "/api/sync/pull",
        "get",
        &app.get("/api/sync/pull?cursor=-1", Some(&phone.cookie))
            .await,
    );
    let import = app
        .post_json(
            "/api/sync/import",
            Some(&phone.cookie),
            &json!({
        "format": "khaosat-outbox", "schema_version": app::sync::MUTATION_SCHEMA_VERSION,
        "device_id": phone.device, "mutations": []}),
        )
        .await;
    check("/api/sync/import", "post", &import);

    // The check can fail: a response missing a required member is caught.
    let mut broken = push;
    let mut body = broken.json();
    body.as_object_mut().unwrap().remove("last_seq");
    broken.body = serde_json::to_vec(&body).unwrap();
    assert!(conforms(&doc, "/api/sync/push", "post", &broken).is_err());
}

crate::engine_tests!(real_responses_match_the_openapi_document);
