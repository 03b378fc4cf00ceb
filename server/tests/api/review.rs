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

/// Review events of `visit`.
async fn events(app: &TestApp, visit: &str) -> i64 {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM review_events WHERE visit_id = $1")
        .bind(visit)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    app::store::col(&row, "n").unwrap()
}

/// A decision is taken on the visit the supervisor saw. Two supervisors
/// deciding one submitted visit at once make one decision: on PostgreSQL
/// both read "submitted" and both were taken, two transitions in the history
/// and the last commit's state standing. And an approval from a page opened
/// before a send-back and a new submission is refused, not taken for answers
/// nobody reviewed.
async fn a_decision_is_taken_on_the_visit_the_supervisor_saw(app: TestApp) {
    let mut phone = crate::phone::Phone::login(&app, "ksv1").await;
    let (boss, _) = app.login("giamsat").await;
    let (other, _) = app.login("giamsat").await;
    let uri = |visit: &str| format!("/api/visits/{visit}/review");
    for _ in 0..6 {
        let visit =
            crate::console::submitted(&app, &mut phone, &demo_proposal("213"), json!({})).await;
        let (at, approve, reject) = (
            uri(&visit),
            json!({"to": "approved"}),
            json!({"to": "rejected", "comment": "Không đạt"}),
        );
        let (approved, rejected) = tokio::join!(
            app.post_json(&at, Some(&boss), &approve),
            app.post_json(&at, Some(&other), &reject),
        );
        let answers = [&approved, &rejected];
        let taken = answers
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count();
        assert_eq!(
            taken,
            1,
            "{} {} / {} {}",
            approved.status,
            approved.text(),
            rejected.status,
            rejected.text()
        );
        for refused in answers.iter().filter(|r| r.status != StatusCode::OK) {
            let code = refused.json()["code"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            assert!(
                code == "review.changed" || code == "review.bad_transition",
                "{code}"
            );
        }
        assert_eq!(
            events(&app, &visit).await,
            2,
            "submitted, then one decision"
        );
    }

    let visit = crate::console::submitted(&app, &mut phone, &demo_proposal("213"), json!({})).await;
    // The page showed one event (the submission); then a send-back and a new one.
    crate::console::decide(
        &app,
        &boss,
        &visit,
        "needs_changes",
        "Số lao động chưa khớp",
    )
    .await;
    let fix = phone.mutation("visit", "upsert", &visit, json!({"workforce": 31}), 0);
    let again = phone.mutation("visit", "submit", &visit, json!({}), 0);
    phone.push_ok(&app, &[fix, again]).await;
    let stale = app
        .post_json(
            &uri(&visit),
            Some(&other),
            &json!({"to": "approved", "seen_events": 1}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text());
    assert_eq!(stale.json()["code"], "review.changed");
    assert_eq!(events(&app, &visit).await, 3);
    let fresh = app
        .post_json(
            &uri(&visit),
            Some(&other),
            &json!({"to": "approved", "seen_events": 3}),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.text());
}

crate::engine_tests!(
    a_supervisor_lists_synced_visits_with_their_answers,
    an_inspector_cannot_use_the_review_functions,
    a_decision_is_taken_on_the_visit_the_supervisor_saw
);
