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

/// The login page's HTML form, posted by the browser before the app loaded
/// (issue 17): the same login, answered with a redirect instead of JSON.
async fn the_login_form_logs_in_and_sends_the_page_back_to_be_adopted(app: TestApp) {
    use crate::security::req;
    let post = |body: &str, peer: &str| {
        req("POST", "/api/auth/login")
            .form(body)
            .peer(peer)
            .send(&app.router)
    };
    let cases = [
        ("ksv1", "/login?signed_in=1"),
        ("giamsat", "/login?signed_in=1"),
        ("quantri", "/login?signed_in=1"),
    ];
    for (i, (user, to)) in cases.into_iter().enumerate() {
        let r = post(
            &format!("username={user}&password=khaosat-demo"),
            &format!("192.0.2.{}:1000", 120 + i),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{user}: {}", r.text());
        assert_eq!(r.headers["location"], to, "{user}");
        let cookie = r.cookie();
        assert!(r.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("HttpOnly"));
        let me = app.get("/api/auth/me", Some(&cookie)).await;
        assert_eq!(me.json()["username"], user);
    }
}

async fn a_refused_login_form_goes_back_to_the_login_page_with_the_name_and_the_reason(
    app: TestApp,
) {
    use crate::security::req;
    let peer = "192.0.2.130:1000";
    let r = req("POST", "/api/auth/login")
        .form("username=Ksv1&password=sai+mat+khau")
        .peer(peer)
        .send(&app.router)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers["location"],
        "/login?error=auth.bad_credentials&username=Ksv1"
    );
    assert!(r.headers.get("set-cookie").is_none());
    // The same limits as the app's login: the fifth failure locks, and the form says how long.
    for _ in 0..4 {
        req("POST", "/api/auth/login")
            .form("username=ksv1&password=x")
            .peer(peer)
            .send(&app.router)
            .await;
    }
    let r = req("POST", "/api/auth/login")
        .form("username=ksv1&password=khaosat-demo")
        .peer(peer)
        .send(&app.router)
        .await;
    let location = r.headers["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("/login?error=auth.rate_limited&retry_after_s="),
        "{location}"
    );
    // A form without the fields is refused, and says so.
    let r = req("POST", "/api/auth/login")
        .form("user=ksv1")
        .peer("192.0.2.131:1000")
        .send(&app.router)
        .await;
    assert_eq!(r.headers["location"], "/login?error=request.malformed");
}

async fn a_login_form_from_another_site_is_refused(app: TestApp) {
    use crate::security::req;
    let r = req("POST", "/api/auth/login")
        .form("username=ksv1&password=khaosat-demo")
        .origin("https://evil.example")
        .send(&app.router)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.headers.get("set-cookie").is_none());
}

/// The app, loaded after a form login, binds this phone's device; then it syncs.
async fn the_app_binds_its_device_to_a_form_session(app: TestApp) {
    use crate::security::req;
    let r = req("POST", "/api/auth/login")
        .form("username=ksv1&password=khaosat-demo")
        .peer("192.0.2.140:1000")
        .send(&app.router)
        .await;
    let cookie = r.cookie();
    let device = uuid::Uuid::now_v7().to_string();
    let bound = app
        .post_json(
            "/api/auth/device",
            Some(&cookie),
            &json!({"device_id": device}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.text());
    assert_eq!(
        app.get("/api/sync/pull?cursor=0", Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    // Once bound, the session keeps its device.
    let other = uuid::Uuid::now_v7().to_string();
    let again = app
        .post_json(
            "/api/auth/device",
            Some(&cookie),
            &json!({"device_id": other}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.json()["code"], "auth.device_mismatch");
    // Another user's device is never taken over.
    let (_, ksv2_device) = app.login("ksv2").await;
    let r = req("POST", "/api/auth/login")
        .form("username=ksv1&password=khaosat-demo")
        .peer("192.0.2.141:1000")
        .send(&app.router)
        .await;
    let stolen = app
        .post_json(
            "/api/auth/device",
            Some(&r.cookie()),
            &json!({"device_id": ksv2_device}),
        )
        .await;
    assert_eq!(stolen.status, StatusCode::FORBIDDEN);
}

crate::engine_tests!(
    the_login_form_logs_in_and_sends_the_page_back_to_be_adopted,
    a_refused_login_form_goes_back_to_the_login_page_with_the_name_and_the_reason,
    a_login_form_from_another_site_is_refused,
    the_app_binds_its_device_to_a_form_session,
    login_sets_an_http_only_session_cookie_and_returns_the_user,
    a_wrong_password_and_an_unknown_user_get_the_same_answer,
    a_device_of_another_user_is_refused_at_login,
    logout_ends_the_session,
    malformed_login_json_is_a_400_with_a_reason,
    the_cli_bootstrap_creates_a_user_who_can_log_in
);
