//! What an outside review reached from input: stamps at the edge of the clock,
//! forms nested past reason, visits for the wrong facility, malformed sync and
//! server-function requests, declared bodies over their limit, oversized tus
//! metadata, lockout by spelling, rows without end, and a database at its
//! limit answering 500. Each was a defect.
//!
//! One file (about 525 lines): one review's findings, each a short test.

use crate::helpers::{demo_proposal, TestApp};
use crate::phone::{statuses, Phone};
use crate::security::{
    call, expect_error, expect_rate_limited, logged_in, login, new_account, ok, req, FIRST, JSON,
    WRONG,
};
use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};

async fn a_stamp_with_the_largest_counter_never_makes_the_server_emit_a_wider_one(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let mut m = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 3}));
    // Inside the 60 s window, so the server merges it into its own clock.
    let edge = format!("{:015}-999999", app::store::now_ms() + 5_000);
    m["hlc"] = json!(edge);
    let r = phone.push(&app, &[m]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(statuses(body["results"].as_array().unwrap()), ["applied"]);
    let server_hlc = body["server_hlc"].as_str().unwrap();
    let decoded = app::sync::Hlc::decode(server_hlc).expect("a stamp phones can decode");
    assert!(
        server_hlc.len() == 22 && server_hlc > edge.as_str(),
        "{server_hlc} after {edge}"
    );
    assert!(decoded > app::sync::Hlc::decode(&edge).unwrap());
    // Pulls carry the clock too; it keeps decoding and moving on.
    let pull = app
        .get("/api/sync/pull?cursor=0", Some(&phone.cookie))
        .await
        .json();
    let pulled = pull["server_hlc"].as_str().unwrap();
    assert!(app::sync::Hlc::decode(pulled).is_some() && pulled > server_hlc);
    // A wider counter is not a stamp at all.
    let mut bad = phone.mutation("visit", "upsert", &visit, json!({"workforce": 4}), 1);
    bad["hlc"] = json!(format!("{:015}-1000000", app::store::now_ms()));
    expect_error(&phone.push(&app, &[bad]).await, 400, "request.malformed");
}

async fn a_form_nested_past_reason_is_refused_with_a_form_error(app: TestApp) {
    let (admin, _) = app.login("quantri").await;
    let mut form: Value = serde_json::from_str(app::store::seed::DEFAULT_FORM).unwrap();
    form["version"] = json!(2);
    for (depth, reason) in [(40, "nested more than 32"), (5_000, "more than the 400")] {
        let deep = format!(
            "{}workforce > 1{}",
            "not (".repeat(depth),
            ")".repeat(depth)
        );
        form["sections"][0]["fields"][1]["relevant"] = json!(deep);
        let r = crate::security::rpc("publish_form", json!({"definition": form.to_string()}))
            .cookie(Some(&admin))
            .send(&app.router)
            .await;
        expect_error(&r, 422, "form.invalid_definition");
        assert!(r.text().contains(reason), "{}", r.text());
    }
    // The server is fine and nothing was stored.
    assert_eq!(app.get("/api/health", None).await.status, 200);
}

async fn a_visit_for_a_proposal_must_survey_that_proposals_facility(app: TestApp) {
    let demo: Value = serde_json::from_str(app::store::seed::DEMO_BAC_GIANG_2020).unwrap();
    let proposals = demo["proposals"].as_array().unwrap();
    let of = |district: &str| {
        proposals
            .iter()
            .find(|p| p["district_code"] == district)
            .unwrap()
            .clone()
    };
    let (here, elsewhere) = (of("213"), of("219"));
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let m = phone.new_visit(
        &visit,
        here["id"].as_str().unwrap(),
        json!({"facility_id": elsewhere["facility_id"], "workforce": 5}),
    );
    let results = phone.push_ok(&app, &[m]).await;
    assert_eq!(results[0]["status"], "refused", "{results:?}");
    assert_eq!(results[0]["error"]["code"], "visit.facility_mismatch");
    assert_eq!(results[0]["error"]["params"]["field"], "facility_id");
    assert_eq!(app.counts().await["visits"], 0);

    // The proposal's own facility is fine, and cannot be swapped afterwards.
    let visit = uuid::Uuid::now_v7().to_string();
    let m = phone.new_visit(
        &visit,
        here["id"].as_str().unwrap(),
        json!({"facility_id": here["facility_id"], "workforce": 5}),
    );
    assert_eq!(statuses(&phone.push_ok(&app, &[m]).await), ["applied"]);
    let swap = phone.mutation(
        "visit",
        "upsert",
        &visit,
        json!({"facility_id": elsewhere["facility_id"], "workforce": 6}),
        1,
    );
    let results = phone.push_ok(&app, &[swap]).await;
    assert_eq!(results[0]["error"]["code"], "visit.header_immutable");
    let again = phone.mutation(
        "visit",
        "upsert",
        &visit,
        json!({"proposal_id": elsewhere["id"], "workforce": 6}),
        1,
    );
    let results = phone.push_ok(&app, &[again]).await;
    assert_eq!(results[0]["error"]["code"], "visit.header_immutable");
}

async fn malformed_sync_requests_are_refused_not_waved_through(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    for seq in [0, -1] {
        let mut m = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 2}));
        m["seq"] = json!(seq);
        let r = phone.push(&app, &[m]).await;
        expect_error(&r, 400, "request.malformed");
        assert!(r.text().contains("seq must be 1 or more"), "{}", r.text());
    }
    assert_eq!(app.counts().await["mutations"], 0);
    // The body must say it is JSON: text/plain is what any web page can post.
    let body = serde_json::to_vec(&phone.body(&[])).unwrap();
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let r = req("POST", "/api/sync/push")
            .bytes(content_type, body.clone())
            .cookie(Some(&phone.cookie))
            .send(&app.router)
            .await;
        expect_error(&r, 415, "request.unsupported_media_type");
    }
    let r = req("POST", "/api/sync/push")
        .bytes("application/json; charset=utf-8", body)
        .cookie(Some(&phone.cookie))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    for limit in ["0", "-1", "1001", "x"] {
        let r = app
            .get(
                &format!("/api/sync/pull?cursor=0&limit={limit}"),
                Some(&phone.cookie),
            )
            .await;
        expect_error(&r, 400, "request.malformed");
    }
    assert_eq!(
        app.get("/api/sync/pull?cursor=0&limit=1", Some(&phone.cookie))
            .await
            .status,
        200
    );
    // HEAD of a public GET is public too.
    let r = req("HEAD", "/api/health").send(&app.router).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}

async fn malformed_server_function_input_is_a_400_with_the_json_error(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let (admin, _) = app.login("quantri").await;
    let deep = "[".repeat(200_000);
    let cases: Vec<(&str, &str, &'static str, Vec<u8>)> = vec![
        (
            "decide_visit",
            &boss,
            JSON,
            b"{\"id\":\"\xff\xfe\",\"to\":\"approved\"}".to_vec(),
        ),
        ("decide_visit", &boss, JSON, deep.clone().into_bytes()),
        (
            "set_budget",
            &admin,
            JSON,
            b"{\"year\":2020,\"amount\":1e400}".to_vec(),
        ),
        (
            "set_budget",
            &admin,
            JSON,
            b"{\"year\":99999999999,\"amount\":1}".to_vec(),
        ),
        (
            "get_visit",
            &boss,
            "application/x-www-form-urlencoded",
            b"id=%ff".to_vec(),
        ),
        (
            "get_visit",
            &boss,
            "application/x-www-form-urlencoded",
            b"nothing=1".to_vec(),
        ),
    ];
    for (name, cookie, content_type, body) in cases {
        let r = req("POST", &format!("/rpc/{name}"))
            .bytes(content_type, body)
            .cookie(Some(cookie))
            .send(&app.router)
            .await;
        assert_eq!(r.status, 400, "{name}: {}", r.text());
        assert_eq!(
            r.json()["code"],
            "request.malformed",
            "{name}: {}",
            r.text()
        );
    }
}

/// A body that never arrives: only its declared length can be judged.
fn never_sent(path: &str, length: u64, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .header("content-length", length.to_string());
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", cookie);
    }
    builder
        .body(Body::from_stream(futures_util::stream::pending::<
            Result<Vec<u8>, std::io::Error>,
        >()))
        .unwrap()
}

async fn a_declared_length_over_the_routes_limit_is_refused_before_reading(app: TestApp) {
    let (cookie, _) = app.login("ksv1").await;
    for (path, length, cookie, limit) in [
        ("/api/auth/login", 4_097, None, 4_096),
        ("/api/auth/login", 10_737_418_240, None, 4_096),
        (
            "/api/sync/push",
            10_737_418_240,
            Some(cookie.as_str()),
            app::sync::MAX_PUSH_BYTES,
        ),
        (
            "/rpc/list_visits",
            300_000,
            Some(cookie.as_str()),
            256 * 1024,
        ),
        ("/login", 1_000_000, None, 16 * 1024),
    ] {
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            crate::helpers::send(&app.router, never_sent(path, length, cookie)),
        )
        .await
        .unwrap_or_else(|_| panic!("{path}: no answer without the body"));
        expect_error(&answer, 413, "request.too_large");
        assert_eq!(answer.json()["params"]["limit"], limit, "{path}");
    }
    // Without a declared length the route's limit holds while reading.
    let big = json!({"username": "ksv1", "password": "x".repeat(8_000)});
    let r = req("POST", "/api/auth/login")
        .json(&big)
        .peer("192.0.2.201:1000")
        .send(&app.router)
        .await;
    expect_error(&r, 413, "request.too_large");
}

async fn upload_metadata_is_bounded(app: TestApp) {
    let f = crate::uploads::field(&app, "ksv1").await;
    let photo = uuid::Uuid::now_v7().to_string();
    let long = crate::uploads::Field::create(&f, &photo, 100);
    let padding = format!(",note {}", "QUFB".repeat(20_000));
    let meta = format!("photo_id {}{padding}", base64_of(photo.as_bytes()));
    let r = long
        .replace_header("upload-metadata", &meta)
        .send(&app.router)
        .await;
    expect_error(&r, 413, "request.too_large");
    let many: Vec<String> = (0..20).map(|i| format!("k{i} YQ==")).collect();
    let meta = format!(
        "photo_id {},{}",
        base64_of(photo.as_bytes()),
        many.join(",")
    );
    let r = crate::uploads::Field::create(&f, &photo, 100)
        .replace_header("upload-metadata", &meta)
        .send(&app.router)
        .await;
    expect_error(&r, 413, "request.too_large");
    let twice = format!(
        "photo_id {},photo_id {}",
        base64_of(photo.as_bytes()),
        base64_of(photo.as_bytes())
    );
    let r = crate::uploads::Field::create(&f, &photo, 100)
        .replace_header("upload-metadata", &twice)
        .send(&app.router)
        .await;
    expect_error(&r, 400, "request.malformed");
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn every_spelling_of_a_phone_login_shares_one_failure_counter(app: TestApp) {
    let (admin, _) = app.login("quantri").await;
    let mut account = new_account("kiemtra.khoa");
    account["phone"] = json!("0912345678");
    ok(&call(&app, &admin, "create_account", json!({"account": account})).await);
    // One wrong guess per spelling, from one address.
    let spellings = [
        "0912345678",
        "+84912345678",
        "84912345678",
        "0912 345 678",
        "0912.345.678",
    ];
    for spelling in spellings {
        let r = login(&app, spelling, WRONG, "192.0.2.150:1000").await;
        expect_error(&r, 401, "auth.bad_credentials");
    }
    // Five failures lock the account from there, whatever it is called next.
    for spelling in ["0912-345-678", "kiemtra.khoa", "+84 912 345 678"] {
        expect_rate_limited(&login(&app, spelling, FIRST, "192.0.2.150:1000").await);
    }
    // An unknown name keeps a counter of its own: nothing leaks through it.
    let r = login(&app, "0987654321", WRONG, "192.0.2.170:1000").await;
    expect_error(&r, 401, "auth.bad_credentials");
    // Another account is untouched.
    let _ = logged_in(&app, "ksv2", crate::security::PW, "192.0.2.171:1000").await;
}

async fn rows_of_a_repeat_group_stop_at_the_forms_cap_and_the_page_pages_them(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let first = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 5}));
    phone.push_ok(&app, &[first]).await;
    let limit = app::forms::definition::DEFAULT_MAX_ROWS as usize;
    let text = "máy ".repeat(35);
    let mut rows = Vec::new();
    for i in 0..limit + 5 {
        rows.push(phone.mutation(
            "visit_row",
            "upsert",
            &uuid::Uuid::now_v7().to_string(),
            json!({"visit_id": visit, "group": "equipment", "name": format!("{i} {text}")}),
            0,
        ));
    }
    let mut results = Vec::new();
    for batch in rows.chunks(app::sync::MAX_BATCH) {
        results.extend(phone.push_ok(&app, batch).await);
    }
    let applied = results.iter().filter(|r| r["status"] == "applied").count();
    assert_eq!(
        applied,
        limit,
        "{:?}",
        results.iter().find(|r| r["status"] != "applied")
    );
    let refused: Vec<&Value> = results
        .iter()
        .filter(|r| r["status"] == "refused")
        .collect();
    assert_eq!(refused.len(), 5);
    assert_eq!(refused[0]["error"]["code"], "row.too_many");
    assert_eq!(refused[0]["error"]["params"]["max"], limit);
    let (boss, _) = app.login("giamsat").await;
    let page = app
        .get(&format!("/review/visits/{visit}"), Some(&boss))
        .await;
    assert_eq!(
        page.status,
        200,
        "{}",
        page.text().chars().take(300).collect::<String>()
    );
    let html = page.text();
    assert_eq!(
        html.matches("data-testid=\"review-row\"").count(),
        50,
        "the first page of rows"
    );
    assert!(html.contains("review-rows-equipment-more"));
}

async fn behind_a_tls_proxy_only_the_configured_public_origin_may_write(app: TestApp) {
    let (cookie, device) = app.login("ksv1").await;
    let router = app.router_with_security(app::state::Security {
        public_origins: vec!["https://khaosat.example:443".into()],
        ..Default::default()
    });
    let push = |origin: &str| {
        req("POST", "/api/sync/push")
            .cookie(Some(&cookie))
            .json(&json!({"device_id": device, "schema_version": app::sync::MUTATION_SCHEMA_VERSION, "mutations": []}))
            // The proxy forwards to the plain-HTTP server under its own Host.
            .header("host", "127.0.0.1:3000")
            .header("origin", origin)
    };
    assert_eq!(
        push("https://khaosat.example").send(&router).await.status,
        200
    );
    for foreign in [
        "http://khaosat.example",
        "https://khaosat.example:8443",
        "http://127.0.0.1:3000",
        "https://evil.example",
    ] {
        expect_error(&push(foreign).send(&router).await, 403, "csrf.origin");
    }
}

/// Each push holds its body and its parse (many times its size) until it is
/// applied: 200 phones each sending the largest at once took gigabytes.
/// Past the process's bytes in flight the next waits a little, then is told
/// to come back (503 with Retry-After), nothing of it applied.
async fn pushes_past_the_bytes_in_flight_are_told_to_come_back(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let m = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 8}));
    let room = 100;
    let held = app
        .state
        .runtime
        .push_bytes
        .try_acquire_many((app::state::Runtime::PUSH_BYTES_IN_FLIGHT - room) as u32)
        .unwrap();
    let before = app.counts().await;
    let r = phone.push(&app, std::slice::from_ref(&m)).await;
    assert!(phone.body(std::slice::from_ref(&m)).to_string().len() > room);
    expect_error(&r, 503, "server.busy");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(
        app.counts().await,
        before,
        "a push refused for load applied something"
    );
    drop(held);
    assert_eq!(statuses(&phone.push_ok(&app, &[m]).await), ["applied"]);
}

crate::engine_tests!(
    pushes_past_the_bytes_in_flight_are_told_to_come_back,
    behind_a_tls_proxy_only_the_configured_public_origin_may_write,
    a_stamp_with_the_largest_counter_never_makes_the_server_emit_a_wider_one,
    a_form_nested_past_reason_is_refused_with_a_form_error,
    a_visit_for_a_proposal_must_survey_that_proposals_facility,
    malformed_sync_requests_are_refused_not_waved_through,
    malformed_server_function_input_is_a_400_with_the_json_error,
    a_declared_length_over_the_routes_limit_is_refused_before_reading,
    upload_metadata_is_bounded,
    every_spelling_of_a_phone_login_shares_one_failure_counter,
    rows_of_a_repeat_group_stop_at_the_forms_cap_and_the_page_pages_them,
);

/// 200 phones at once can leave a request with no database connection in
/// time, or SQLite still locked after its busy timeout. That is load, not a
/// fault: 503 with Retry-After (`server.busy`), so a phone waits and sends
/// again, never a 500 it would report as a failure.
#[test]
fn a_database_at_its_limit_answers_busy_not_a_failure() {
    use axum::response::IntoResponse;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let busy = |e: app::error::AppError| {
        assert_eq!(e.status(), 503, "{e:?}");
        assert_eq!(e.body().code, "server.busy");
        let response = e.into_response();
        assert!(response.headers().contains_key("retry-after"));
    };
    busy(sqlx::Error::PoolTimedOut.into());
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("locked.db").display()
    );
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .unwrap();
        let mut holder = pool.acquire().await.unwrap();
        let mut waiter = pool.acquire().await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut *holder)
            .await
            .unwrap();
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut *waiter)
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *holder)
            .await
            .unwrap();
        let locked = sqlx::query("INSERT INTO t (x) VALUES (1)")
            .execute(&mut *waiter)
            .await
            .unwrap_err();
        busy(locked.into());
        // Any other database error stays a 500.
        let other = sqlx::query("SELECT * FROM no_such_table")
            .execute(&mut *waiter)
            .await
            .unwrap_err();
        assert_eq!(app::error::AppError::from(other).status(), 500);
    });
}
