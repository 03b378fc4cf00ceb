use crate::helpers::{demo_proposal, visit_push, TestApp};
use axum::http::{Method, StatusCode};
use serde_json::json;

async fn a_supervisor_lists_synced_visits_with_their_answers(app: TestApp) {
    let (cookie, device) = app.login("ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let body = visit_push(
        &device,
        &visit,
        &demo_proposal("213"),
        1,
        &[
            ("workforce", json!(25)),
            ("main_products", json!("Nồi hơi công nghiệp")),
        ],
    );
    app.post_json("/api/sync/push", Some(&cookie), &body).await;

    let (supervisor, _) = app.login("giamsat").await;
    let list = app
        .request(
            Method::POST,
            "/rpc/list_visits",
            Some(&supervisor),
            Some(Vec::new()),
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let list = list.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], visit);
    assert_eq!(list[0]["inspector"], "Trần Văn Hùng");
    assert_eq!(list[0]["answers"], 2);

    // The server-rendered pages show it too.
    let page = app.get("/review", Some(&supervisor)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains(&visit),
        "the review page lists the visit"
    );
    // The pager's buttons are buttons, not view-macro source leaking as text.
    let html = page.text();
    let next = html
        .find("data-testid=\"page-next\"")
        .expect("a next-page button");
    let label = &html[next..next + html[next..].find("</button>").unwrap()];
    assert!(
        !label.contains("q.page") && label.contains("disabled"),
        "{label}"
    );
    let detail = app
        .get(&format!("/review/visits/{visit}"), Some(&supervisor))
        .await;
    assert!(detail.text().contains("Nồi hơi công nghiệp"));
}

async fn an_inspector_cannot_use_the_review_functions(app: TestApp) {
    let (cookie, _) = app.login("ksv1").await;
    let list = app
        .request(
            Method::POST,
            "/rpc/list_visits",
            Some(&cookie),
            Some(Vec::new()),
        )
        .await;
    assert!(list.status.is_client_error() || list.status.is_server_error());
    assert_eq!(
        list.json()["0"]["code"]
            .as_str()
            .or(list.json()["code"].as_str()),
        Some("auth.forbidden")
    );
    let anonymous = app
        .request(Method::POST, "/rpc/list_visits", None, Some(Vec::new()))
        .await;
    assert!(anonymous.text().contains("auth.required"));
}

crate::engine_tests!(
    a_supervisor_lists_synced_visits_with_their_answers,
    an_inspector_cannot_use_the_review_functions
);
