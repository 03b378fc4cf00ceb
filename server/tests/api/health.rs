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

/// A page that does not exist is the app's "not found" (title, language, a
/// way home), not a bare line of text; a missing file stays a short 404.
async fn an_unknown_page_is_the_apps_not_found_page(app: TestApp) {
    use crate::security::req;
    let page = req("GET", "/khong-co-trang-nay")
        .header("accept", "text/html,application/xhtml+xml")
        .send(&app.router)
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // The same document the service worker serves for any page offline: the
    // app mounts in it and its router shows "not found" (the e2e walk checks
    // the title, language and text in Chromium).
    let shell = app.get("/offline-shell", None).await;
    assert_eq!(page.text(), shell.text());
    let file = req("GET", "/pkg/khong-co.js")
        .header("accept", "*/*")
        .send(&app.router)
        .await;
    assert_eq!(file.status, StatusCode::NOT_FOUND);
    assert!(file.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
}

crate::engine_tests!(
    an_unknown_page_is_the_apps_not_found_page,
    health_reports_status_version_and_engine,
    an_unknown_api_path_is_a_json_404,
    api_responses_are_never_cached
);
