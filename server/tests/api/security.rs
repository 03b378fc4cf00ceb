//! One file: the security tests share one request builder (`req`) that
//! the authorization matrix uses too; each test names the attack it checks.
//!
//! Security: sessions, login limits, CSRF, passwords, account administration,
//! the audit trail, response headers and hostile input. Every test names the
//! status and the error code it expects. The request helpers at the bottom are
//! shared with `authz_matrix`.
//!
//! One file (about 1,430 lines) because its request builder (`req`, `Req`,
//! `expect_error`) is what `authz_matrix`, `uploads`, `hardening`, `archive`, `console` and
//! `forms` import;
//! the next split moves those helpers into `helpers.rs` and the tests into
//! sessions / login limits / CSRF / accounts files.

use crate::authz_matrix::{all_routes, fixture, route_request, Caller};
use crate::helpers::{demo_proposal, TestApp, TestResponse};
use crate::phone::Phone;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::net::SocketAddr;

pub(crate) const PW: &str = "khaosat-demo";
/// The Host every CSRF test sends; the same origin is `http://{HOST}`.
pub(crate) const HOST: &str = "localhost:3000";
const EVIL: &str = "http://evil.example";
pub(crate) const JSON: &str = "application/json";
pub(crate) const FIRST: &str = "mat-khau-dau-tien-1";
const TEMP: &str = "mat-khau-tam-thoi-2";
const NEW: &str = "mat-khau-moi-cua-toi-3";
pub(crate) const WRONG: &str = "sai-mat-khau-bi-mat";
const DEMO_USERS: [&str; 7] = ["giamsat", "ksv1", "ksv2", "ksv3", "ksv4", "ksv5", "quantri"];
/// "nguyễn.văn" composed (NFC) and decomposed (NFD).
const NFC: &str = "nguy\u{1ec5}n.v\u{103}n";
const NFD: &str = "nguye\u{302}\u{303}n.va\u{306}n";

// ---- sessions ----

async fn a_login_renews_the_token_and_matches_usernames_case_insensitively(app: TestApp) {
    let first = login(&app, "ksv1", PW, "192.0.2.1:1000").await;
    ok(&first);
    let set_cookie = first.headers["set-cookie"].to_str().unwrap();
    assert!(set_cookie.starts_with("khaosat_session="), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let old = first.cookie();
    // A login that carries a session gets a new token: no session fixation.
    let second = req("POST", "/api/auth/login")
        .cookie(Some(&old))
        .json(&json!({"username": "KSV1", "password": PW}))
        .send(&app.router)
        .await;
    assert_eq!(ok(&second)["user"]["username"], "ksv1");
    let new = second.cookie();
    assert_ne!(new, old);
    expect_error(
        &app.get("/api/auth/me", Some(&old)).await,
        401,
        "auth.required",
    );
    assert_eq!(
        ok(&app.get("/api/auth/me", Some(&new)).await)["username"],
        "ksv1"
    );
}

async fn only_the_public_routes_answer_without_a_session(app: TestApp) {
    ok(&app.get("/api/health", None).await);
    ok(&app.get("/api/openapi.json", None).await);
    let page = app.get("/login", None).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(header(&page, "content-type").starts_with("text/html"));
    for (method, uri) in [
        ("GET", "/api/no-such-thing"),
        ("POST", "/api/no-such-thing"),
        ("GET", "/api/sync/pull?cursor=0"),
        ("POST", "/rpc/list_accounts"),
        ("POST", "/rpc/no_such_function"),
    ] {
        let r = req(method, uri).send(&app.router).await;
        assert_eq!(
            outcome(&r),
            (401_u16, "auth.required".to_string()),
            "{method} {uri}"
        );
    }
}

/// A method a documented path does not have is 405 with `Allow`, with or
/// without a session (the OpenAPI document lists every path's methods anyway);
/// a path no route has stays 401 without one.
async fn a_method_a_path_does_not_have_is_405_with_allow(app: TestApp) {
    let same = format!("http://{HOST}");
    for (method, uri) in [
        ("PUT", "/api/health"),
        ("GET", "/api/auth/login"),
        ("DELETE", "/api/auth/me"),
        ("PUT", "/api/photos/0190a0a0-0000-7000-8000-000000000000"),
    ] {
        let r = req(method, uri).origin(&same).send(&app.router).await;
        assert_eq!(r.status.as_u16(), 405, "{method} {uri}");
        assert!(
            !header(&r, "allow").is_empty(),
            "{method} {uri} says what it allows"
        );
    }
    let r = req("GET", "/api/photos").send(&app.router).await;
    assert_eq!(outcome(&r), (401_u16, "auth.required".to_string()));
}

// ---- login limits ----

/// A login carrying `device` (this phone or browser's id).
async fn login_on(
    app: &TestApp,
    username: &str,
    password: &str,
    peer: &str,
    device: &str,
) -> TestResponse {
    req("POST", "/api/auth/login")
        .json(&json!({"username": username, "password": password, "device_id": device}))
        .peer(peer)
        .send(&app.router)
        .await
}

async fn five_failures_from_one_address_lock_it_out_of_the_account(app: TestApp) {
    let guesser = "192.0.2.10:1000";
    for _ in 0..5 {
        let r = login(&app, "ksv1", WRONG, guesser).await;
        expect_error(&r, 401, "auth.bad_credentials");
    }
    // Even the right password, from there.
    expect_rate_limited(&login(&app, "ksv1", PW, guesser).await);
    // The owner, elsewhere, is not locked out by a stranger's guesses.
    ok(&login(&app, "ksv1", PW, "192.0.2.20:1000").await);
    // Another account is not affected.
    ok(&login(&app, "ksv2", PW, "192.0.2.21:1000").await);
}

async fn guesses_from_many_addresses_lock_the_account_but_not_its_owners_phone(app: TestApp) {
    // The owner's phone has logged in before: its device is bound to ksv1.
    let phone = uuid::Uuid::now_v7().to_string();
    ok(&login_on(&app, "ksv1", PW, "192.0.2.90:1000", &phone).await);
    for i in 0..20 {
        let r = login(&app, "ksv1", WRONG, &format!("198.51.100.{}:1000", 10 + i)).await;
        expect_error(&r, 401, "auth.bad_credentials");
    }
    // Twenty failures from anywhere: an unknown browser waits, wherever it is.
    expect_rate_limited(&login(&app, "ksv1", PW, "198.51.100.99:1000").await);
    // Another account's device does not count as ksv1's.
    let (_, other) = app.login("ksv2").await;
    expect_rate_limited(&login_on(&app, "ksv1", PW, "198.51.100.98:1000", &other).await);
    // The owner's own phone is not held by it.
    ok(&login_on(&app, "ksv1", PW, "198.51.100.99:1000", &phone).await);
}

async fn a_successful_login_clears_the_accounts_counter(app: TestApp) {
    let address = "192.0.2.30:1000";
    for _ in 0..4 {
        let r = login(&app, "ksv1", WRONG, address).await;
        expect_error(&r, 401, "auth.bad_credentials");
    }
    ok(&login(&app, "ksv1", PW, address).await);
    // Counting starts again: five more failures are answered, the sixth is not.
    for _ in 0..5 {
        let r = login(&app, "ksv1", WRONG, address).await;
        expect_error(&r, 401, "auth.bad_credentials");
    }
    expect_rate_limited(&login(&app, "ksv1", PW, address).await);
}

async fn twenty_failures_lock_an_address_but_not_an_owners_phone_behind_it(app: TestApp) {
    let phone = uuid::Uuid::now_v7().to_string();
    ok(&login_on(&app, "ksv2", PW, "192.0.2.69:1000", &phone).await);
    let address = "192.0.2.70:1000";
    for i in 0..20 {
        let r = login(&app, &format!("khong-co-{i}"), WRONG, address).await;
        expect_error(&r, 401, "auth.bad_credentials");
    }
    expect_rate_limited(&login(&app, "khong-co-20", WRONG, address).await);
    expect_rate_limited(&login(&app, "ksv2", PW, address).await);
    ok(&login(&app, "ksv2", PW, "192.0.2.71:1000").await);
    // Behind the same shared address (an office, a carrier), the owner's phone
    // still logs in.
    ok(&login_on(&app, "ksv2", PW, address, &phone).await);
    // Someone at the phone's address guesses ksv2's password: that address
    // is locked out of ksv2, the phone is not.
    let guesser = "192.0.2.72:1000";
    for _ in 0..5 {
        expect_error(
            &login(&app, "ksv2", WRONG, guesser).await,
            401,
            "auth.bad_credentials",
        );
    }
    expect_rate_limited(&login(&app, "ksv2", PW, guesser).await);
    ok(&login_on(&app, "ksv2", PW, guesser, &phone).await);
    // The phone's own guesses still count, against the phone.
    for _ in 0..5 {
        let r = login_on(&app, "ksv2", WRONG, guesser, &phone).await;
        expect_error(&r, 401, "auth.bad_credentials");
    }
    expect_rate_limited(&login_on(&app, "ksv2", PW, guesser, &phone).await);
}

async fn forwarded_for_counts_only_behind_a_trusted_proxy(app: TestApp) {
    let router = app.router_with_trusted_proxy("10.0.0.5".parse().unwrap());
    let attempt = |peer: &str, forwarded: &str, n: usize| {
        req("POST", "/api/auth/login")
            .json(&json!({"username": format!("khong-co-{n}"), "password": WRONG}))
            .header("x-forwarded-for", forwarded)
            .peer(peer)
    };
    for n in 0..20 {
        let r = attempt("10.0.0.5:41000", "203.0.113.7", n)
            .send(&router)
            .await;
        expect_error(&r, 401, "auth.bad_credentials");
    }
    expect_rate_limited(
        &attempt("10.0.0.5:41000", "203.0.113.7", 20)
            .send(&router)
            .await,
    );
    // Another client behind the proxy is free, so the proxy itself is not counted.
    let r = attempt("10.0.0.5:41001", "203.0.113.8", 21)
        .send(&router)
        .await;
    expect_error(&r, 401, "auth.bad_credentials");
    // From a peer that is not the proxy the header is ignored: counted under the peer.
    let r = attempt("198.51.100.9:5000", "203.0.113.7", 22)
        .send(&router)
        .await;
    expect_error(&r, 401, "auth.bad_credentials");
    for n in 23..42 {
        let forwarded = format!("203.0.113.{}", 20 + n);
        let r = attempt("198.51.100.9:5000", &forwarded, n)
            .send(&router)
            .await;
        expect_error(&r, 401, "auth.bad_credentials");
    }
    expect_rate_limited(
        &attempt("198.51.100.9:5000", "203.0.113.99", 42)
            .send(&router)
            .await,
    );
}

// ---- CSRF and the order of checks ----

async fn cross_origin_writes_are_refused_even_with_a_valid_session(app: TestApp) {
    let (ksv1, device) = app.login("ksv1").await;
    let (admin, _) = app.login("quantri").await;
    let before = accounts(&app, &admin).await.len();
    // Another site, a sandboxed frame, another port, and the same host under
    // another scheme: none is this app.
    for origin in [
        EVIL,
        "null",
        "http://localhost:3001",
        "https://localhost:3000",
        "https://localhost",
    ] {
        let requests = [
            req("POST", "/api/auth/logout")
                .cookie(Some(&ksv1))
                .json(&json!({})),
            req("POST", "/api/sync/push")
                .cookie(Some(&ksv1))
                .json(&empty_push(&device)),
            rpc("list_accounts", json!({})).cookie(Some(&admin)),
            rpc(
                "create_account",
                json!({"account": new_account("csrf.moi")}),
            )
            .cookie(Some(&admin)),
        ];
        for request in requests {
            let r = request.origin(origin).send(&app.router).await;
            expect_error(&r, 403, "csrf.origin");
        }
    }
    // Nothing happened: the session lives on and no account was made.
    ok(&app.get("/api/auth/me", Some(&ksv1)).await);
    assert_eq!(accounts(&app, &admin).await.len(), before);
}

async fn same_origin_and_origin_less_writes_pass_and_reads_are_not_checked(app: TestApp) {
    let (ksv1, device) = app.login("ksv1").await;
    let (admin, _) = app.login("quantri").await;
    let same = format!("http://{HOST}");
    let push = || {
        req("POST", "/api/sync/push")
            .cookie(Some(&ksv1))
            .json(&empty_push(&device))
    };
    ok(&push().origin(&same).send(&app.router).await);
    ok(&push().send(&app.router).await);
    let list = || rpc("list_accounts", json!({})).cookie(Some(&admin));
    ok(&list().origin(&same).send(&app.router).await);
    ok(&list().send(&app.router).await);
    for uri in ["/api/auth/me", "/api/sync/pull?cursor=0&limit=1"] {
        ok(&req("GET", uri)
            .cookie(Some(&ksv1))
            .origin(EVIL)
            .send(&app.router)
            .await);
    }
    let out = req("POST", "/api/auth/logout")
        .cookie(Some(&ksv1))
        .json(&json!({}));
    ok(&out.origin(&same).send(&app.router).await);
    expect_error(
        &app.get("/api/auth/me", Some(&ksv1)).await,
        401,
        "auth.required",
    );
}

async fn checks_run_in_order_size_authentication_origin_body_authorization(app: TestApp) {
    let (ksv1, _) = app.login("ksv1").await;
    let (admin, admin_device) = app.login("quantri").await;
    let junk = || b"{\"device_id\":".to_vec();
    let push = |cookie: Option<&str>| req("POST", "/api/sync/push").cookie(cookie);
    let send = |r: Req| r.send(&app.router);
    expect_error(
        &send(push(None).bytes(JSON, junk()).origin(EVIL)).await,
        401,
        "auth.required",
    );
    // A body over the route's limit is refused before anything else, the
    // session lookup included: it tells nothing but the published limit.
    let huge = vec![b' '; 3 * 1024 * 1024];
    expect_error(
        &send(push(None).bytes(JSON, huge)).await,
        413,
        "request.too_large",
    );
    let r = send(push(Some(&ksv1)).bytes(JSON, junk()).origin(EVIL)).await;
    expect_error(&r, 403, "csrf.origin");
    let r = send(push(Some(&ksv1)).bytes(JSON, junk())).await;
    expect_error(&r, 400, "request.malformed");
    // The body is judged before the role: an administrator gets 400, then 403.
    let r = send(push(Some(&admin)).bytes(JSON, junk())).await;
    expect_error(&r, 400, "request.malformed");
    let r = send(push(Some(&admin)).json(&empty_push(&admin_device))).await;
    expect_error(&r, 403, "auth.forbidden");
    let review = format!("/api/visits/{}/review", uuid::Uuid::now_v7());
    let r = send(req("POST", &review).cookie(Some(&ksv1)).bytes(JSON, junk())).await;
    expect_error(&r, 400, "request.malformed");
    let r = send(
        req("POST", &review)
            .cookie(Some(&ksv1))
            .json(&json!({"to": "approved"})),
    )
    .await;
    expect_error(&r, 403, "auth.forbidden");
}

// ---- passwords and accounts ----

async fn changing_the_password_ends_the_other_sessions(app: TestApp) {
    let (current, _) = app.login("ksv1").await;
    let (other, _) = app.login("ksv1").await;
    let r = change_password(&current, "khong-phai-mat-khau", NEW)
        .send(&app.router)
        .await;
    expect_error(&r, 422, "password.wrong_current");
    let r = change_password(&current, PW, "ngan")
        .send(&app.router)
        .await;
    expect_error(&r, 422, "user.password_too_short");
    let changed = change_password(&current, PW, NEW).send(&app.router).await;
    assert_eq!(ok(&changed), json!({"status": "ok"}));
    assert!(!changed.text().contains(NEW));
    ok(&app.get("/api/auth/me", Some(&current)).await);
    expect_error(
        &app.get("/api/auth/me", Some(&other)).await,
        401,
        "auth.required",
    );
    let r = login(&app, "ksv1", PW, "192.0.2.80:1000").await;
    expect_error(&r, 401, "auth.bad_credentials");
    let (_, body) = logged_in(&app, "ksv1", NEW, "192.0.2.81:1000").await;
    assert_eq!(body["must_change_password"], false);
}

async fn a_reset_password_ends_sessions_and_must_be_changed_before_anything_else(app: TestApp) {
    let fx = fixture(&app).await;
    let (admin, _) = app.login("quantri").await;
    let (old, _) = app.login("ksv1").await;
    let id = user_id(&app, &admin, "ksv1").await;
    let reset = call(
        &app,
        &admin,
        "reset_password",
        json!({"id": id, "new_password": TEMP}),
    )
    .await;
    assert!(!reset.text().contains(TEMP));
    assert_eq!(ok(&reset)["must_change_password"], true);
    expect_error(
        &app.get("/api/auth/me", Some(&old)).await,
        401,
        "auth.required",
    );
    let r = login(&app, "ksv1", PW, "192.0.2.82:1000").await;
    expect_error(&r, 401, "auth.bad_credentials");

    let (cookie, body) = logged_in(&app, "ksv1", TEMP, "192.0.2.83:1000").await;
    assert_eq!(body["must_change_password"], true);
    let device = body["device_id"].as_str().unwrap().to_string();
    ok(&app.get("/api/auth/me", Some(&cookie)).await);
    let caller = Caller {
        username: Some("ksv1"),
        cookie: Some(&cookie),
        device: &device,
    };
    let exempt = [
        "/api/auth/me",
        "/api/auth/logout",
        "/api/auth/password",
        "/api/auth/device",
    ];
    for (method, path, public) in all_routes() {
        if public || exempt.contains(&path.as_str()) {
            continue;
        }
        let r = route_request(&method, &path, &fx, &caller)
            .send(&app.router)
            .await;
        if method == "HEAD" {
            // A HEAD answer has no body to name the reason.
            assert_eq!(r.status, 403, "{method} {path}");
            continue;
        }
        let expected = (403_u16, "auth.password_change_required".to_string());
        assert_eq!(outcome(&r), expected, "{method} {path}: {}", r.text());
    }
    // Binding the phone's device is allowed before the change: a login by
    // the plain form (before the app loaded) or by phone number binds it
    // after the login, and was refused, leaving the phone without a session.
    ok(&req("POST", "/api/auth/device")
        .cookie(Some(&cookie))
        .json(&json!({"device_id": device}))
        .send(&app.router)
        .await);

    ok(&change_password(&cookie, TEMP, NEW).send(&app.router).await);
    ok(&req("POST", "/api/sync/push")
        .cookie(Some(&cookie))
        .json(&empty_push(&device))
        .send(&app.router)
        .await);
    ok(&app
        .get("/api/sync/pull?cursor=0&limit=1", Some(&cookie))
        .await);
    let (_, again) = logged_in(&app, "ksv1", NEW, "192.0.2.84:1000").await;
    assert_eq!(again["must_change_password"], false);

    // A page rendered on the server reads its data as its caller: with a
    // password still to change, a supervisor's review page carries none.
    let (boss, _) = app.login("giamsat").await;
    let listed = app.get("/review", Some(&boss)).await;
    assert!(
        listed.text().contains(&fx.visit),
        "the review page lists the visit"
    );
    let boss_id = user_id(&app, &admin, "giamsat").await;
    ok(&call(
        &app,
        &admin,
        "reset_password",
        json!({"id": boss_id, "new_password": TEMP}),
    )
    .await);
    let (temporary, _) = logged_in(&app, "giamsat", TEMP, "192.0.2.85:1000").await;
    for page in ["/review", &format!("/review/visits/{}", fx.visit), "/plan"] {
        let r = app.get(page, Some(&temporary)).await;
        assert_eq!(r.status, 403, "{page}: {}", r.text());
        assert!(
            !r.text().contains(&fx.visit),
            "{page} shows the visit: {}",
            r.text()
        );
    }
}

async fn a_deactivated_account_is_shut_out_at_once(app: TestApp) {
    let (admin, _) = app.login("quantri").await;
    let (ksv1, _) = app.login("ksv1").await;
    let id = user_id(&app, &admin, "ksv1").await;
    let off = call(
        &app,
        &admin,
        "set_account_active",
        json!({"id": id, "active": false}),
    )
    .await;
    assert_eq!(ok(&off)["active"], false);
    expect_error(
        &app.get("/api/auth/me", Some(&ksv1)).await,
        401,
        "auth.required",
    );
    let pull = app.get("/api/sync/pull?cursor=0", Some(&ksv1)).await;
    expect_error(&pull, 401, "auth.required");
    // A wrong password gets the answer an unknown user gets: nothing tells
    // that the account exists.
    let refused = login(&app, "ksv1", "mat-khau-sai", "192.0.2.85:1000").await;
    expect_error(&refused, 401, "auth.bad_credentials");
    let unknown = login(&app, "khong-ai-ca", "mat-khau-sai", "192.0.2.86:1000").await;
    assert_eq!(refused.json(), unknown.json());
    // The right password learns why: else the inspector retries until the
    // login limits lock the phone out.
    for _ in 0..3 {
        let disabled = login(&app, "ksv1", PW, "192.0.2.85:1000").await;
        expect_error(&disabled, 403, "auth.account_disabled");
    }
    let on = call(
        &app,
        &admin,
        "set_account_active",
        json!({"id": id, "active": true}),
    )
    .await;
    assert_eq!(ok(&on)["active"], true);
    logged_in(&app, "ksv1", PW, "192.0.2.87:1000").await;
}

async fn a_revoked_device_can_no_longer_sync_and_its_visits_stay(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let first = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 25}));
    phone.push_ok(&app, &[first]).await;
    let (admin, _) = app.login("quantri").await;
    let id = user_id(&app, &admin, "ksv1").await;
    let device = phone.device.clone();
    let device_row = |devices: Value| {
        let found = devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["device_id"] == device.as_str());
        found
            .cloned()
            .unwrap_or_else(|| panic!("device {device} not listed: {devices}"))
    };
    let before = ok(&call(&app, &admin, "list_devices", json!({"user_id": id})).await);
    assert!(device_row(before)["revoked_at_ms"].is_null());
    let revoked = call(&app, &admin, "revoke_device", json!({"device_id": device})).await;
    assert!(ok(&revoked)["revoked_at_ms"].is_i64());

    let next = phone.mutation("visit", "upsert", &visit, json!({"workforce": 30}), 1);
    expect_error(
        &phone.push(&app, std::slice::from_ref(&next)).await,
        403,
        "device.revoked",
    );
    let pull = app
        .get("/api/sync/pull?cursor=0", Some(&phone.cookie))
        .await;
    expect_error(&pull, 403, "device.revoked");

    // The revoked phone's session cannot get round it: it registers no new
    // device, and pushes under no other device of its user.
    let fresh = uuid::Uuid::now_v7().to_string();
    let bound = app
        .post_json(
            "/api/auth/device",
            Some(&phone.cookie),
            &json!({"device_id": fresh}),
        )
        .await;
    expect_error(&bound, 403, "device.revoked");
    let other = Phone::login(&app, "ksv1").await;
    for device in [fresh.clone(), other.device.clone()] {
        let mut body = phone.body(std::slice::from_ref(&next));
        body["device_id"] = json!(device);
        let pushed = app
            .post_json("/api/sync/push", Some(&phone.cookie), &body)
            .await;
        expect_error(&pushed, 403, "device.revoked");
    }
    let after = ok(&call(&app, &admin, "list_devices", json!({"user_id": id})).await);
    assert!(
        !after.to_string().contains(&fresh),
        "a refused session registered a device: {after}"
    );
    assert!(device_row(after)["revoked_at_ms"].is_i64());
    // A live phone of the same user pushes under its own device only.
    let mut other = other;
    let third = Phone::login(&app, "ksv1").await;
    let edit = other.mutation("visit", "upsert", &visit, json!({"workforce": 31}), 1);
    let mut body = other.body(std::slice::from_ref(&edit));
    body["device_id"] = json!(third.device);
    let pushed = app
        .post_json("/api/sync/push", Some(&other.cookie), &body)
        .await;
    assert_eq!(pushed.status.as_u16(), 403, "{}", pushed.text());
    assert_eq!(app.counts().await["mutations"], 1, "{}", pushed.text());
    other.push_ok(&app, &[edit]).await;
    assert_eq!(app.counts().await["visits"], 1);
    let (stored, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.answers["workforce"], json!(31));
}

async fn create_account_refuses_bad_input_and_new_accounts_must_change_their_password(
    app: TestApp,
) {
    let (admin, _) = app.login("quantri").await;
    let before = accounts(&app, &admin).await.len();
    let cases = [
        ("username", json!("ksv1"), "user.exists"),
        ("password", json!("ngan-qua"), "user.password_too_short"),
        ("units", json!(["999"]), "user.unknown_unit"),
        ("roles", json!([]), "user.no_roles"),
        ("phone", json!("abc"), "user.bad_phone"),
    ];
    for (key, value, code) in cases {
        let mut account = new_account("kiemtra.moi");
        account[key] = value;
        let r = call(&app, &admin, "create_account", json!({"account": account})).await;
        expect_error(&r, 422, code);
        assert!(!r.text().contains(FIRST));
    }
    assert_eq!(accounts(&app, &admin).await.len(), before);

    let created = call(
        &app,
        &admin,
        "create_account",
        json!({"account": new_account("kiemtra.moi")}),
    )
    .await;
    let body = ok(&created);
    no_secret(&created, &[FIRST, "$argon2"]);
    assert_eq!(body["username"], "kiemtra.moi");
    assert_eq!(body["roles"], json!(["inspector"]));
    assert_eq!(body["active"], true);
    assert_eq!(body["must_change_password"], true);
    let listing = call(&app, &admin, "list_accounts", json!({})).await;
    assert_eq!(ok(&listing).as_array().unwrap().len(), before + 1);
    no_secret(&listing, &[FIRST, "$argon2"]);
    let (_, first_login) = logged_in(&app, "kiemtra.moi", FIRST, "192.0.2.88:1000").await;
    assert_eq!(first_login["must_change_password"], true);
}

async fn an_account_with_a_phone_logs_in_with_any_spelling_of_it(app: TestApp) {
    let (admin, _) = app.login("quantri").await;
    let mut account = new_account("kiemtra.sdt");
    account["phone"] = json!("0912345678");
    ok(&call(&app, &admin, "create_account", json!({"account": account})).await);
    for (i, phone) in ["0912345678", "0912 345 678", "+84912345678"]
        .into_iter()
        .enumerate()
    {
        let (_, body) = logged_in(&app, phone, FIRST, &format!("192.0.2.{}:1000", 140 + i)).await;
        assert_eq!(body["user"]["username"], "kiemtra.sdt", "{phone}");
    }
    let r = login(&app, "0912345678", WRONG, "192.0.2.145:1000").await;
    expect_error(&r, 401, "auth.bad_credentials");
}

/// Issue 17: the trail showed codes and UUIDs. Entries carry the record's
/// name, and the administrator narrows them by who, what and when.
async fn the_audit_trail_names_records_and_narrows_by_who_what_and_when(app: TestApp) {
    let (admin, _) = logged_in(&app, "quantri", PW, "192.0.2.94:1000").await;
    logged_in(&app, "ksv2", PW, "192.0.2.95:1000").await;
    ok(&call(
        &app,
        &admin,
        "create_account",
        json!({"account": new_account("kiemtra.loc")}),
    )
    .await);
    let trail = |filter: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let r = call(
                app,
                &admin,
                "audit_trail",
                json!({"limit": 100, "filter": filter}),
            )
            .await;
            ok(&r).as_array().unwrap().clone()
        }
    };
    let created = trail(json!({"action": "user.created"})).await;
    assert!(!created.is_empty());
    assert!(created.iter().all(|e| e["action"] == "user.created"));
    assert!(
        created.iter().any(|e| e["record_name"] == "Kiểm Tra"),
        "{created:?}"
    );
    let ksv2 = trail(json!({"user": "KSV2"})).await;
    assert!(
        !ksv2.is_empty() && ksv2.iter().all(|e| e["actor"] == "ksv2"),
        "{ksv2:?}"
    );
    let auth = trail(json!({"action": "auth"})).await;
    assert!(
        !auth.is_empty()
            && auth
                .iter()
                .all(|e| e["action"].as_str().unwrap().starts_with("auth."))
    );
    let today = app::format::date_vn(app::store::now_ms());
    let (d, m, y) = (&today[0..2], &today[3..5], &today[6..10]);
    let iso = format!("{y}-{m}-{d}");
    assert!(!trail(json!({"from": iso, "to": iso})).await.is_empty());
    assert!(trail(json!({"to": "2020-01-01"})).await.is_empty());
    let bad = call(
        &app,
        &admin,
        "audit_trail",
        json!({"limit": 5, "filter": {"from": "01/02/2026"}}),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.text());
    // Without a filter it is what it was.
    assert!(trail(json!({})).await.len() >= 3);
}

async fn the_audit_trail_records_who_did_what_from_where_and_never_a_password(app: TestApp) {
    let (admin, _) = logged_in(&app, "quantri", PW, "192.0.2.90:1000").await;
    let (ksv1, _) = logged_in(&app, "ksv1", PW, "192.0.2.91:1000").await;
    expect_error(
        &login(&app, "ksv1", WRONG, "192.0.2.92:1000").await,
        401,
        "auth.bad_credentials",
    );
    let out = req("POST", "/api/auth/logout")
        .cookie(Some(&ksv1))
        .json(&json!({}));
    ok(&out.peer("192.0.2.91:1000").send(&app.router).await);

    let created = call(
        &app,
        &admin,
        "create_account",
        json!({"account": new_account("kiemtra.nhatky")}),
    )
    .await;
    let id = ok(&created)["id"].as_str().unwrap().to_string();
    let update = json!({"update": {"id": id, "display_name": "Nhật Ký", "phone": null,
        "roles": ["inspector", "supervisor"], "units": ["218"]}});
    no_secret(
        &ok_response(call(&app, &admin, "update_account", update).await),
        &[FIRST],
    );
    for active in [false, true] {
        ok(&call(
            &app,
            &admin,
            "set_account_active",
            json!({"id": id, "active": active}),
        )
        .await);
    }
    let reset = call(
        &app,
        &admin,
        "reset_password",
        json!({"id": id, "new_password": TEMP}),
    )
    .await;
    no_secret(&ok_response(reset), &[TEMP]);
    let (user, body) = logged_in(&app, "kiemtra.nhatky", TEMP, "192.0.2.93:1000").await;
    ok(&change_password(&user, TEMP, NEW).send(&app.router).await);
    let device = body["device_id"].as_str().unwrap().to_string();
    ok(&call(&app, &admin, "revoke_device", json!({"device_id": device})).await);

    let trail = call(&app, &admin, "audit_trail", json!({"limit": 50})).await;
    no_secret(&trail, &[PW, FIRST, TEMP, NEW, WRONG, "$argon2"]);
    let entries = ok(&trail).as_array().unwrap().clone();
    assert!(
        entries
            .windows(2)
            .all(|w| w[0]["at_ms"].as_i64() >= w[1]["at_ms"].as_i64()),
        "newest first: {}",
        trail.text()
    );
    let ip = |e: &Value, address: &str| e["ip"].as_str().is_some_and(|ip| ip.contains(address));
    let by = |e: &Value, actor: &str| e["actor"] == actor;
    entry(&entries, "auth.login", |e| {
        by(e, "ksv1") && ip(e, "192.0.2.91")
    });
    let failed = entry(&entries, "auth.login_failed", |e| ip(e, "192.0.2.92"));
    assert!(
        failed["detail"].as_str().unwrap().contains("ksv1"),
        "{failed}"
    );
    entry(&entries, "auth.logout", |e| by(e, "ksv1"));
    for action in [
        "user.created",
        "user.updated",
        "user.deactivated",
        "user.reactivated",
        "user.password_reset",
    ] {
        entry(&entries, action, |e| {
            by(e, "quantri") && e["record_id"] == id.as_str()
        });
    }
    let updated = entry(&entries, "user.updated", |e| e["record_id"] == id.as_str());
    let detail = updated["detail"].as_str().unwrap();
    serde_json::from_str::<Value>(detail).expect("the detail is JSON");
    for old_and_new in ["213", "218", "inspector", "supervisor"] {
        assert!(detail.contains(old_and_new), "{detail}");
    }
    entry(&entries, "auth.password_changed", |e| {
        by(e, "kiemtra.nhatky")
    });
    entry(&entries, "device.revoked", |e| {
        by(e, "quantri") && e["record_id"] == device.as_str()
    });
}

// ---- response headers ----

async fn security_headers_are_on_api_error_and_html_responses(app: TestApp) {
    let api = app.get("/api/health", None).await;
    ok(&api);
    let error = app.get("/api/auth/me", None).await;
    expect_error(&error, 401, "auth.required");
    let page = app.get("/login", None).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(header(&page, "content-type").starts_with("text/html"));
    for r in [&api, &error, &page] {
        let csp = header(r, "content-security-policy");
        for part in [
            "default-src 'self'",
            "'wasm-unsafe-eval'",
            "frame-ancestors 'none'",
            "img-src 'self' blob:",
            "object-src 'none'",
        ] {
            assert!(csp.contains(part), "{part} missing from {csp}");
        }
        assert!(!script_src(csp).contains("'unsafe-inline'"), "{csp}");
        assert!(!csp.contains("'nonce-"), "{csp}");
        assert_eq!(header(r, "x-content-type-options"), "nosniff");
        assert!(!header(r, "referrer-policy").is_empty());
        let permissions = header(r, "permissions-policy");
        assert!(permissions.contains("camera=(self)"), "{permissions}");
        assert!(permissions.contains("geolocation=(self)"), "{permissions}");
        assert!(header(r, "x-frame-options").eq_ignore_ascii_case("DENY"));
    }
}

async fn every_inline_script_is_allowed_by_its_hash(app: TestApp) {
    let page = app.get("/login", None).await;
    assert_eq!(page.status.as_u16(), 200);
    let csp = header(&page, "content-security-policy").to_string();
    let allowed: BTreeSet<&str> = script_src(&csp).split_whitespace().collect();
    let html = page.text();
    // leptos_axum puts a per-request nonce attribute on its script; the policy
    // must not honour nonces (a page cached by the service worker keeps an old one).
    assert!(
        !csp.contains("'nonce-"),
        "no nonces: the CSP lists hashes: {csp}"
    );
    assert!(
        html.contains("<script"),
        "the page has its hydration script"
    );
    for script in inline_scripts(&html) {
        let hash = format!("'sha256-{}'", base64(&Sha256::digest(script.as_bytes())));
        assert!(
            allowed.contains(hash.as_str()),
            "{hash} of {script:?} is not in {csp}"
        );
    }
}

// ---- hostile input ----

async fn sql_in_a_login_is_just_a_wrong_password(app: TestApp) {
    let attempts = [
        ("' OR 1=1 --", "' OR 1=1 --"),
        ("\"; DROP TABLE users; --", "x"),
        ("ksv1' --", "' OR '1'='1"),
    ];
    for (i, (username, password)) in attempts.into_iter().enumerate() {
        let r = login(
            &app,
            username,
            password,
            &format!("192.0.2.{}:1000", 100 + i),
        )
        .await;
        expect_error(&r, 401, "auth.bad_credentials");
    }
    let (admin, _) = app.login("quantri").await;
    let names: BTreeSet<String> = accounts(&app, &admin)
        .await
        .iter()
        .map(|a| a["username"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        DEMO_USERS
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    );
}

async fn oversized_and_non_utf8_bodies_are_refused_without_internals(app: TestApp) {
    let big = json!({"username": "ksv1", "password": "x".repeat(5000)});
    let r = req("POST", "/api/auth/login")
        .json(&big)
        .peer("192.0.2.110:1000")
        .send(&app.router)
        .await;
    expect_error(&r, 413, "request.too_large");
    let invalid = b"{\"username\":\"\xff\xfe\",\"password\":\"\xc3\x28\"}".to_vec();
    let r = req("POST", "/api/auth/login")
        .bytes(JSON, invalid.clone())
        .peer("192.0.2.111:1000")
        .send(&app.router)
        .await;
    expect_error(&r, 400, "request.malformed");
    let (ksv1, _) = app.login("ksv1").await;
    let r = req("POST", "/api/sync/push")
        .cookie(Some(&ksv1))
        .bytes(JSON, invalid)
        .send(&app.router)
        .await;
    expect_error(&r, 400, "request.malformed");
}

async fn hostile_ids_are_simply_not_found(app: TestApp) {
    let (supervisor, _) = app.login("giamsat").await;
    for id in ["../../etc/passwd", "' OR 1=1", "' OR '1'='1' --"] {
        let r = call(&app, &supervisor, "get_visit", json!({"id": id})).await;
        expect_error(&r, 404, "not_found");
    }
    for id in ["..%2F..%2Fetc%2Fpasswd", "%27%20OR%201%3D1"] {
        let r = req("POST", &format!("/api/visits/{id}/review"))
            .cookie(Some(&supervisor))
            .json(&json!({"to": "approved"}))
            .send(&app.router)
            .await;
        expect_error(&r, 404, "not_found");
    }
}

async fn an_overlong_display_name_is_refused_and_nothing_is_stored(app: TestApp) {
    let (admin, _) = app.login("quantri").await;
    let before = accounts(&app, &admin).await.len();
    let mut account = new_account("ten.dai");
    account["display_name"] = json!("a".repeat(10_000));
    let r = call(&app, &admin, "create_account", json!({"account": account})).await;
    expect_error(&r, 422, "user.bad_display_name");
    assert_eq!(accounts(&app, &admin).await.len(), before);
    // The limit is 200 characters, not bytes.
    account["display_name"] = json!("ệ".repeat(200));
    let created = ok(&call(&app, &admin, "create_account", json!({"account": account})).await);
    assert_eq!(
        created["display_name"].as_str().unwrap().chars().count(),
        200
    );
    assert_eq!(accounts(&app, &admin).await.len(), before + 1);
}

async fn usernames_are_compared_after_nfc_normalisation(app: TestApp) {
    assert_ne!(NFC, NFD);
    let (admin, _) = app.login("quantri").await;
    let before = accounts(&app, &admin).await.len();
    ok(&call(
        &app,
        &admin,
        "create_account",
        json!({"account": new_account(NFC)}),
    )
    .await);
    let (_, body) = logged_in(&app, NFD, FIRST, "192.0.2.120:1000").await;
    assert_eq!(body["user"]["username"], NFC);
    for spelling in [NFD.to_string(), NFC.to_uppercase()] {
        let r = call(
            &app,
            &admin,
            "create_account",
            json!({"account": new_account(&spelling)}),
        )
        .await;
        expect_error(&r, 422, "user.exists");
    }
    assert_eq!(accounts(&app, &admin).await.len(), before + 1);
}

/// Two administrators demoting each other at once (PostgreSQL) both
/// committed, and a change made by no administrator (the command line)
/// could take the last one away: no one was left to manage the accounts.
async fn the_last_active_administrator_stays(app: TestApp) {
    use app::model::Role;
    use app::office::admin::contract::{AccountSummary, AccountUpdate};
    use app::store::accounts::{list, set_active, update_account};
    use app::store::audit::Actor;
    let find = |all: &[AccountSummary], name: &str| {
        all.iter().find(|a| a.username == name).unwrap().clone()
    };
    let all = list(&app.db).await.unwrap();
    let (quantri, giamsat) = (find(&all, "quantri"), find(&all, "giamsat"));
    let with = |a: &AccountSummary, roles: Vec<Role>| AccountUpdate {
        id: a.id.clone(),
        display_name: a.display_name.clone(),
        phone: a.phone.clone(),
        roles,
        units: a.units.clone(),
    };
    let nobody = Actor::default();
    let refused = update_account(&app.db, &nobody, &with(&quantri, vec![Role::Supervisor]))
        .await
        .unwrap_err();
    assert_eq!(refused.body().code, "user.last_administrator");
    let refused = set_active(&app.db, &nobody, &quantri.id, false)
        .await
        .unwrap_err();
    assert_eq!(refused.body().code, "user.last_administrator");
    let admin_of = |a: &AccountSummary| Actor {
        user_id: Some(a.id.clone()),
        ip: None,
    };
    for round in 0..6 {
        update_account(
            &app.db,
            &nobody,
            &with(&giamsat, vec![Role::Supervisor, Role::Administrator]),
        )
        .await
        .unwrap();
        let (by_quantri, by_giamsat) = (admin_of(&quantri), admin_of(&giamsat));
        let (demote_giamsat, demote_quantri) = (
            with(&giamsat, vec![Role::Supervisor]),
            with(&quantri, vec![Role::Supervisor]),
        );
        let (_, _) = tokio::join!(
            update_account(&app.db, &by_quantri, &demote_giamsat),
            update_account(&app.db, &by_giamsat, &demote_quantri),
        );
        let admins = list(&app.db)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.active && a.roles.contains(&Role::Administrator))
            .count();
        assert!(admins >= 1, "round {round}: no administrator left");
        update_account(&app.db, &nobody, &with(&quantri, vec![Role::Administrator]))
            .await
            .unwrap();
    }
}

crate::engine_tests!(
    the_last_active_administrator_stays,
    a_login_renews_the_token_and_matches_usernames_case_insensitively,
    only_the_public_routes_answer_without_a_session,
    a_method_a_path_does_not_have_is_405_with_allow,
    five_failures_from_one_address_lock_it_out_of_the_account,
    guesses_from_many_addresses_lock_the_account_but_not_its_owners_phone,
    a_successful_login_clears_the_accounts_counter,
    twenty_failures_lock_an_address_but_not_an_owners_phone_behind_it,
    forwarded_for_counts_only_behind_a_trusted_proxy,
    cross_origin_writes_are_refused_even_with_a_valid_session,
    same_origin_and_origin_less_writes_pass_and_reads_are_not_checked,
    checks_run_in_order_size_authentication_origin_body_authorization,
    changing_the_password_ends_the_other_sessions,
    a_reset_password_ends_sessions_and_must_be_changed_before_anything_else,
    a_deactivated_account_is_shut_out_at_once,
    a_revoked_device_can_no_longer_sync_and_its_visits_stay,
    create_account_refuses_bad_input_and_new_accounts_must_change_their_password,
    an_account_with_a_phone_logs_in_with_any_spelling_of_it,
    the_audit_trail_records_who_did_what_from_where_and_never_a_password,
    the_audit_trail_names_records_and_narrows_by_who_what_and_when,
    security_headers_are_on_api_error_and_html_responses,
    every_inline_script_is_allowed_by_its_hash,
    sql_in_a_login_is_just_a_wrong_password,
    oversized_and_non_utf8_bodies_are_refused_without_internals,
    hostile_ids_are_simply_not_found,
    an_overlong_display_name_is_refused_and_nothing_is_stored,
    usernames_are_compared_after_nfc_normalisation
);

// ---- helpers (shared with authz_matrix) ----

/// A request under construction: headers, body and the TCP peer it comes from.
pub(crate) struct Req {
    method: Method,
    uri: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    peer: Option<SocketAddr>,
}

pub(crate) fn req(method: &str, uri: &str) -> Req {
    Req {
        method: Method::from_bytes(method.as_bytes()).unwrap(),
        uri: uri.to_string(),
        headers: Vec::new(),
        body: Vec::new(),
        peer: None,
    }
}

impl Req {
    pub(crate) fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    /// The request with one header set anew (any earlier value dropped).
    pub(crate) fn replace_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self.header(name, value)
    }

    pub(crate) fn cookie(self, cookie: Option<&str>) -> Self {
        match cookie {
            Some(cookie) => self.header("cookie", cookie),
            None => self,
        }
    }

    pub(crate) fn bytes(mut self, content_type: &'static str, body: Vec<u8>) -> Self {
        self.body = body;
        self.header("content-type", content_type)
    }

    pub(crate) fn json(self, body: &Value) -> Self {
        self.bytes(JSON, serde_json::to_vec(body).unwrap())
    }

    pub(crate) fn form(self, body: &str) -> Self {
        self.bytes(
            "application/x-www-form-urlencoded",
            body.as_bytes().to_vec(),
        )
    }

    /// As a browser sends it: this Origin, and `HOST` as the Host.
    pub(crate) fn origin(self, origin: &str) -> Self {
        self.header("host", HOST).header("origin", origin)
    }

    /// The TCP peer, as `axum::serve(...into_make_service_with_connect_info)` sets it.
    pub(crate) fn peer(mut self, peer: &str) -> Self {
        self.peer = Some(peer.parse().unwrap());
        self
    }

    pub(crate) async fn send(self, router: &axum::Router) -> TestResponse {
        let mut builder = Request::builder()
            .method(self.method)
            .uri(self.uri.as_str());
        for (name, value) in &self.headers {
            builder = builder.header(*name, value.as_str());
        }
        let mut request = builder.body(Body::from(self.body)).unwrap();
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        crate::helpers::send(router, request).await
    }
}

/// Server functions whose arguments are form-encoded (`PostUrl`); the others take JSON.
const FORM_FNS: [&str; 8] = [
    "list_visits",
    "get_visit",
    "list_accounts",
    "assignable_units",
    "visit_filter_choices",
    "visit_extras",
    "get_proposal",
    "get_plan",
];

/// A call of server function `name` with `args` (an object of argument names).
pub(crate) fn rpc(name: &str, args: Value) -> Req {
    let request = req("POST", &format!("/rpc/{name}"));
    if !FORM_FNS.contains(&name) {
        return request.json(&args);
    }
    let pairs: Vec<String> = args
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v.as_str().unwrap())))
        .collect();
    request.form(&pairs.join("&"))
}

pub(crate) async fn call(app: &TestApp, cookie: &str, name: &str, args: Value) -> TestResponse {
    rpc(name, args).cookie(Some(cookie)).send(&app.router).await
}

/// A login with a fresh device id from `peer`.
pub(crate) async fn login(
    app: &TestApp,
    username: &str,
    password: &str,
    peer: &str,
) -> TestResponse {
    let device = uuid::Uuid::now_v7().to_string();
    req("POST", "/api/auth/login")
        .json(&json!({"username": username, "password": password, "device_id": device}))
        .peer(peer)
        .send(&app.router)
        .await
}

/// A login that must succeed: (cookie, response body).
pub(crate) async fn logged_in(
    app: &TestApp,
    username: &str,
    password: &str,
    peer: &str,
) -> (String, Value) {
    let r = login(app, username, password, peer).await;
    let body = ok(&r);
    (r.cookie(), body)
}

fn change_password(cookie: &str, current: &str, new: &str) -> Req {
    req("POST", "/api/auth/password")
        .cookie(Some(cookie))
        .json(&json!({"current_password": current, "new_password": new}))
}

fn empty_push(device: &str) -> Value {
    json!({"device_id": device, "schema_version": app::sync::MUTATION_SCHEMA_VERSION, "mutations": []})
}

pub(crate) fn new_account(username: &str) -> Value {
    json!({"username": username, "display_name": "Kiểm Tra", "phone": null, "password": FIRST,
        "roles": ["inspector"], "units": ["213"]})
}

async fn accounts(app: &TestApp, admin: &str) -> Vec<Value> {
    let list = ok(&call(app, admin, "list_accounts", json!({})).await);
    list.as_array().unwrap().clone()
}

pub(crate) async fn user_id(app: &TestApp, admin: &str, username: &str) -> String {
    let all = accounts(app, admin).await;
    let user = all
        .iter()
        .find(|a| a["username"] == username)
        .expect("the account");
    user["id"].as_str().unwrap().to_string()
}

/// The first audit entry with `action` that satisfies `matches`.
fn entry<'a>(entries: &'a [Value], action: &str, matches: impl Fn(&Value) -> bool) -> &'a Value {
    entries
        .iter()
        .find(|e| e["action"] == action && matches(e))
        .unwrap_or_else(|| panic!("no matching {action} entry in {entries:#?}"))
}

/// 200 and the JSON body.
#[track_caller]
pub(crate) fn ok(r: &TestResponse) -> Value {
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    r.json()
}

#[track_caller]
fn ok_response(r: TestResponse) -> TestResponse {
    ok(&r);
    r
}

/// Status and error code (empty when the body is not an error body).
pub(crate) fn outcome(r: &TestResponse) -> (u16, String) {
    let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (
        r.status.as_u16(),
        body["code"].as_str().unwrap_or("").to_string(),
    )
}

/// An error of this status and code, with a well-formed body that leaks nothing.
#[track_caller]
pub(crate) fn expect_error(r: &TestResponse, status: u16, code: &str) {
    assert_eq!(outcome(r), (status, code.to_string()), "{}", r.text());
    let body = r.json();
    assert!(
        body["message"].is_string() && body["params"].is_object(),
        "{body}"
    );
    no_leak(r);
}

/// No SQL, engine names, file paths or panics in a body.
#[track_caller]
pub(crate) fn no_leak(r: &TestResponse) {
    let text = r.text();
    let lower = text.to_lowercase();
    assert!(!text.contains("SELECT"), "{text}");
    for word in [
        "sqlite", "postgres", "/tmp", "panicked", ".rs:", "/home/", "src/",
    ] {
        assert!(!lower.contains(word), "{word} in {text}");
    }
}

#[track_caller]
fn no_secret(r: &TestResponse, secrets: &[&str]) {
    let text = r.text();
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[track_caller]
pub(crate) fn expect_rate_limited(r: &TestResponse) {
    expect_error(r, 429, "auth.rate_limited");
    let after: u64 = header(r, "retry-after")
        .parse()
        .expect("Retry-After in whole seconds");
    assert!(after >= 1);
    assert!(
        r.json()["params"]["retry_after_s"]
            .as_u64()
            .is_some_and(|s| s >= 1),
        "{}",
        r.text()
    );
    assert!(r.headers.get("set-cookie").is_none());
}

#[track_caller]
fn header<'a>(r: &'a TestResponse, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header: {:?}", r.headers))
        .to_str()
        .unwrap()
}

/// The sources a CSP allows scripts from: script-src, else default-src.
fn script_src(csp: &str) -> &str {
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
    };
    directive("script-src")
        .or_else(|| directive("default-src"))
        .unwrap_or("")
}

/// The exact text of every `<script>` without a `src` attribute.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let tag = &rest[start + "<script".len()..];
        let open_end = tag.find('>').expect("an unclosed <script> tag");
        let body = &tag[open_end + 1..];
        let close = body
            .find("</script>")
            .expect("a <script> without </script>");
        if !tag[..open_end].contains("src=") {
            scripts.push(&body[..close]);
        }
        rest = &body[close + "</script>".len()..];
    }
    scripts
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn base64_matches_the_rfc_4648_examples() {
    let cases = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foobar", "Zm9vYmFy"),
    ];
    for (plain, encoded) in cases {
        assert_eq!(base64(plain.as_bytes()), encoded);
    }
}
