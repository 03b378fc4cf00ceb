use crate::helpers::{demo_proposal, visit_push, TestApp};
use axum::http::StatusCode;
use serde_json::{json, Value};

fn of_entity<'a>(changes: &'a [Value], entity: &str) -> Vec<&'a Value> {
    changes.iter().filter(|c| c["entity"] == entity).collect()
}

async fn an_inspector_pulls_the_proposals_of_their_districts_only(app: TestApp) {
    // 213 (11 proposals of 2020) and 218 (none); through the mapping, the two
    // 2026 proposals of phường Bắc Giang (07210, formed from 213's wards).
    let (cookie, _) = app.login("ksv1").await;
    let changes = app.pull_all(&cookie).await;
    let proposals = of_entity(&changes, "proposal");
    assert_eq!(proposals.len(), 13);
    let (old, new): (Vec<&Value>, Vec<&Value>) =
        proposals.iter().partition(|p| p["record"]["year"] == 2020);
    assert_eq!(old.len(), 11);
    assert!(old.iter().all(|p| p["record"]["district_code"] == "213"));
    assert!(new
        .iter()
        .all(|p| p["record"]["unit_tree"] == "bac-ninh-2025"
            && p["record"]["commune_code"] == "07210"));
    // The 2020 facilities of 213, and the one registered in 07210 in 2026.
    let facilities = of_entity(&changes, "facility");
    assert_eq!(facilities.len(), 12);
    assert!(of_entity(&changes, "form")
        .iter()
        .any(|f| f["record"]["id"] == "khuyen-cong"));
    // Both real trees: 220 units of 2020 and 100 of 2025.
    assert_eq!(of_entity(&changes, "unit").len(), 320);

    let (cookie5, _) = app.login("ksv5").await; // 219 (3) and 220 (1)
    assert_eq!(
        of_entity(&app.pull_all(&cookie5).await, "proposal").len(),
        4
    );
}

async fn a_supervisor_pulls_all_42_proposals(app: TestApp) {
    // 37 of 2020 and 5 of 2026.
    let (cookie, _) = app.login("giamsat").await;
    assert_eq!(
        of_entity(&app.pull_all(&cookie).await, "proposal").len(),
        42
    );
}

async fn pages_are_bounded_and_the_cursor_moves_forward(app: TestApp) {
    let (cookie, _) = app.login("giamsat").await;
    let first = app
        .get("/api/sync/pull?cursor=0&limit=10", Some(&cookie))
        .await
        .json();
    assert_eq!(first["changes"].as_array().unwrap().len(), 10);
    assert_eq!(first["has_more"], true);
    let cursor = first["cursor"].as_i64().unwrap();
    let second = app
        .get(
            &format!("/api/sync/pull?cursor={cursor}&limit=10"),
            Some(&cookie),
        )
        .await
        .json();
    assert!(second["changes"][0]["seq"].as_i64().unwrap() > cursor);
}

async fn own_visits_come_back_and_other_inspectors_visits_do_not(app: TestApp) {
    let (cookie1, device1) = app.login("ksv1").await;
    let (cookie2, _) = app.login("ksv2").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let body = visit_push(
        &device1,
        &visit,
        &demo_proposal("213"),
        1,
        &[("workforce", json!(25))],
    );
    assert_eq!(
        app.post_json("/api/sync/push", Some(&cookie1), &body)
            .await
            .status,
        StatusCode::OK
    );

    let mine = app.pull_all(&cookie1).await;
    let visits = of_entity(&mine, "visit");
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0]["record"]["answers"]["workforce"], 25);
    assert_eq!(visits[0]["record"]["versions"]["workforce"], 1);
    assert!(of_entity(&app.pull_all(&cookie2).await, "visit").is_empty());
}

async fn pull_without_a_session_is_a_401(app: TestApp) {
    assert_eq!(
        app.get("/api/sync/pull?cursor=0", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (cookie, _) = app.login("ksv1").await;
    assert_eq!(
        app.get("/api/sync/pull?cursor=-1", Some(&cookie))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

crate::engine_tests!(
    an_inspector_pulls_the_proposals_of_their_districts_only,
    a_supervisor_pulls_all_42_proposals,
    pages_are_bounded_and_the_cursor_moves_forward,
    own_visits_come_back_and_other_inspectors_visits_do_not,
    pull_without_a_session_is_a_401,
    pull_pages_are_gzipped_for_clients_that_accept_it
);

/// Pull pages are large JSON: a phone that accepts gzip gets them compressed.
async fn pull_pages_are_gzipped_for_clients_that_accept_it(app: TestApp) {
    use tower::ServiceExt;
    let (cookie, _) = app.login("ksv1").await;
    let request = axum::http::Request::get("/api/sync/pull?cursor=0")
        .header("cookie", &cookie)
        .header("accept-encoding", "gzip")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let mut json = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut json)
        .unwrap();
    let page: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(!page["changes"].as_array().unwrap().is_empty());
    assert!(
        bytes.len() * 3 < json.len(),
        "{} compressed vs {} raw",
        bytes.len(),
        json.len()
    );
}
