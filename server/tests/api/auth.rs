use crate::helpers::TestApp;
use axum::http::StatusCode;
use serde_json::json;

async fn login_sets_an_http_only_session_cookie_and_returns_the_user(app: TestApp) {
    let device = uuid::Uuid::now_v7().to_string();
    let response = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "ksv1", "password": "khaosat-demo", "device_id": device}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let set_cookie = response.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.starts_with("khaosat_session="));
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    let body = response.json();
    assert_eq!(body["user"]["username"], "ksv1");
    assert_eq!(body["user"]["roles"], json!(["inspector"]));
    assert_eq!(
        body["user"]["units"],
        json!(["bac-giang-2020/213", "bac-giang-2020/218"])
    );
    assert_eq!(body["device_id"], device);

    let me = app.get("/api/auth/me", Some(&response.cookie())).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["username"], "ksv1");
}

async fn a_wrong_password_and_an_unknown_user_get_the_same_answer(app: TestApp) {
    let wrong = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "ksv1", "password": "sai-mat-khau"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "nobody", "password": "sai-mat-khau"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json(), unknown.json());
    assert_eq!(wrong.json()["code"], "auth.bad_credentials");
    assert!(wrong.headers.get("set-cookie").is_none());
}

async fn a_device_of_another_user_is_refused_at_login(app: TestApp) {
    let (_, device) = app.login("ksv1").await;
    let response = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "ksv2", "password": "khaosat-demo", "device_id": device}),
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

async fn logout_ends_the_session(app: TestApp) {
    let (cookie, _) = app.login("ksv1").await;
    let out = app
        .post_json("/api/auth/logout", Some(&cookie), &json!({}))
        .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/auth/me", Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn malformed_login_json_is_a_400_with_a_reason(app: TestApp) {
    let response = app
        .request(
            axum::http::Method::POST,
            "/api/auth/login",
            None,
            Some(b"{\"username\":".to_vec()),
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.json()["code"], "request.malformed");
}

async fn the_cli_bootstrap_creates_a_user_who_can_log_in(app: TestApp) {
    app::store::users::create(
        &app.db,
        app::store::users::NewUser {
            username: "admin2",
            display_name: "Quản trị 2",
            password: "mot-mat-khau-dai",
            roles: &[app::model::Role::Administrator],
            units: &["bac-giang-2020/24".to_string()],
        },
    )
    .await
    .unwrap();
    let ok = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "admin2", "password": "mot-mat-khau-dai"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let short = app::store::users::create(
        &app.db,
        app::store::users::NewUser {
            username: "x",
            display_name: "x",
            password: "short",
            roles: &[],
            units: &[],
        },
    )
    .await;
    assert_eq!(short.unwrap_err().body().code, "user.password_too_short");
}

crate::engine_tests!(
    login_sets_an_http_only_session_cookie_and_returns_the_user,
    a_wrong_password_and_an_unknown_user_get_the_same_answer,
    a_device_of_another_user_is_refused_at_login,
    logout_ends_the_session,
    malformed_login_json_is_a_400_with_a_reason,
    the_cli_bootstrap_creates_a_user_who_can_log_in
);
