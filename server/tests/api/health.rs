use crate::helpers::spawn_app;
use axum::http::StatusCode;

#[tokio::test]
async fn health_reports_status_version_and_engine() {
    let app = spawn_app().await;
    let response = app.get("/api/health", None).await;
    assert_eq!(response.status, StatusCode::OK);
    let body = response.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["engine"], "sqlite");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn an_unknown_api_path_is_a_json_404() {
    let app = spawn_app().await;
    let response = app.get("/api/no-such-thing", None).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.json()["code"], "not_found");
}

#[tokio::test]
async fn api_responses_are_never_cached() {
    let app = spawn_app().await;
    let response = app.get("/api/health", None).await;
    assert_eq!(response.headers["cache-control"], "no-store");
}
