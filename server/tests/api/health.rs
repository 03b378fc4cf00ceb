use crate::helpers::TestApp;
use axum::http::StatusCode;

async fn health_reports_status_version_and_engine(app: TestApp) {
    let response = app.get("/api/health", None).await;
    assert_eq!(response.status, StatusCode::OK);
    let body = response.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["engine"], app.db.engine.name());
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

async fn an_unknown_api_path_is_a_json_404(app: TestApp) {
    // Without a session every non-public path is 401: nothing is learnt by probing.
    let anonymous = app.get("/api/no-such-thing", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let (cookie, _) = app.login("ksv1").await;
    let response = app.get("/api/no-such-thing", Some(&cookie)).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.json()["code"], "not_found");
}

async fn api_responses_are_never_cached(app: TestApp) {
    let response = app.get("/api/health", None).await;
    assert_eq!(response.headers["cache-control"], "no-store");
}

crate::engine_tests!(
    health_reports_status_version_and_engine,
    an_unknown_api_path_is_a_json_404,
    api_responses_are_never_cached
);
