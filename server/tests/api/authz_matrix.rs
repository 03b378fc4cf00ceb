//! One file: the matrix and the request that reaches each route are read
//! together, row by row.
//!
//! Who may call what: one row per API route and per server function with the
//! outcome for each kind of caller, checked against the router's own table so
//! that a route added without a row fails. Then the data scope of inspectors:
//! what one inspector can see and touch of another's work.
//!
//! One file (about 680 lines): one matrix of every route and caller: splitting it would let a route escape it.

use crate::helpers::{demo_proposal, TestApp};
use crate::phone::{statuses, Phone};
use crate::security::{expect_error, login, no_leak, ok, outcome, req, rpc, Req, PW};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Decided past authorization: anything but 401, 403 or a server error.
    Allowed,
    /// Exactly this status, with `auth.required` (401) or `auth.forbidden` (403).
    Denied(u16),
}

const OK: Outcome = Outcome::Allowed;
const NO: Outcome = Outcome::Denied(403);
const ANON: Outcome = Outcome::Denied(401);

/// The callers, in the order of the columns of `MATRIX`: anonymous, inspector A
/// (units 213, 218), inspector B (223, 222), supervisor, administrator.
const CALLERS: [Option<&str>; 5] = [
    None,
    Some("ksv1"),
    Some("ksv2"),
    Some("giamsat"),
    Some("quantri"),
];

const PUBLIC: [Outcome; 5] = [OK, OK, OK, OK, OK];
const LOGGED_IN: [Outcome; 5] = [ANON, OK, OK, OK, OK];
const FIELD: [Outcome; 5] = [ANON, OK, OK, OK, NO];
const SUPERVISOR: [Outcome; 5] = [ANON, NO, NO, OK, NO];
const ADMIN: [Outcome; 5] = [ANON, NO, NO, NO, OK];
/// Both office roles: supervisors and administrators.
const OFFICE: [Outcome; 5] = [ANON, NO, NO, OK, OK];
/// Only the visit's inspector (ksv1) sends its photo bytes.
const OWNER: [Outcome; 5] = [ANON, OK, NO, NO, NO];
/// The visit's inspector and supervisors see its photos.
const OWNER_OR_SUPERVISOR: [Outcome; 5] = [ANON, OK, NO, OK, NO];

#[rustfmt::skip]
const MATRIX: &[(&str, &str, [Outcome; 5])] = &[
    ("GET",  "/api/health",                PUBLIC),
    ("GET",  "/api/ready",                 PUBLIC),
    ("GET",  "/api/openapi.json",          PUBLIC),
    ("POST", "/api/auth/login",            PUBLIC),
    ("GET",  "/api/auth/me",               LOGGED_IN),
    ("POST", "/api/auth/device",           LOGGED_IN),
    ("POST", "/api/auth/logout",           LOGGED_IN),
    ("POST", "/api/auth/password",         LOGGED_IN),
    ("POST", "/api/sync/push",             FIELD),
    ("GET",  "/api/sync/pull",             FIELD),
    // The phone's owner (ksv1) or a supervisor.
    ("POST", "/api/sync/import",           [ANON, OK, NO, OK, NO]),
    ("POST", "/api/visits/{id}/review",    SUPERVISOR),
    ("OPTIONS", "/api/uploads/",           PUBLIC),
    ("POST", "/api/uploads/",              OWNER),
    ("OPTIONS", "/api/uploads",            PUBLIC),
    ("POST", "/api/uploads",               OWNER),
    ("OPTIONS", "/api/uploads/{id}",       PUBLIC),
    ("HEAD", "/api/uploads/{id}",          OWNER),
    ("PATCH", "/api/uploads/{id}",         OWNER),
    ("POST", "/api/uploads/{id}",          OWNER),
    ("DELETE", "/api/uploads/{id}",        OWNER),
    ("GET",  "/api/photos/{id}",           OWNER_OR_SUPERVISOR),
    ("GET",  "/api/photos/{id}/{size}",    OWNER_OR_SUPERVISOR),
    ("POST", "/rpc/list_visits",           SUPERVISOR),
    ("POST", "/rpc/search_visits",         SUPERVISOR),
    ("POST", "/rpc/visit_filter_choices",  SUPERVISOR),
    ("POST", "/rpc/visit_extras",          SUPERVISOR),
    ("POST", "/rpc/resolve_conflict",      SUPERVISOR),
    ("POST", "/rpc/get_proposal",          SUPERVISOR),
    ("POST", "/rpc/recommend",             SUPERVISOR),
    ("POST", "/rpc/get_plan",              [ANON, NO, NO, OK, OK]),
    ("POST", "/rpc/set_budget",            ADMIN),
    ("GET",  "/api/exports/visits.xlsx",   SUPERVISOR),
    ("GET",  "/api/exports/visits.csv",    SUPERVISOR),
    ("GET",  "/api/exports/plan.xlsx",     OFFICE),
    ("GET",  "/api/exports/plan.csv",      OFFICE),
    ("GET",  "/api/exports/photos.zip",    SUPERVISOR),
    ("GET",  "/api/exports/visit-photos.zip", SUPERVISOR),
    ("GET",  "/api/registry/template.xlsx", OFFICE),
    ("POST", "/api/registry/intake",       OFFICE),
    ("GET",  "/api/registry/export.xlsx",  OFFICE),
    ("POST", "/api/units/import",          ADMIN),
    ("POST", "/api/forms/xlsform",         ADMIN),
    ("GET",  "/api/forms/xlsform.xlsx",    ADMIN),
    ("POST", "/rpc/get_visit",             SUPERVISOR),
    ("POST", "/rpc/decide_visit",          SUPERVISOR),
    ("POST", "/rpc/list_forms",            ADMIN),
    ("POST", "/rpc/publish_form",          ADMIN),
    ("POST", "/rpc/list_accounts",         ADMIN),
    ("POST", "/rpc/create_account",        ADMIN),
    ("POST", "/rpc/update_account",        ADMIN),
    ("POST", "/rpc/set_account_active",    ADMIN),
    ("POST", "/rpc/reset_password",        ADMIN),
    ("POST", "/rpc/list_devices",          ADMIN),
    ("POST", "/rpc/revoke_device",         ADMIN),
    ("POST", "/rpc/assignable_units",      ADMIN),
    ("POST", "/rpc/audit_trail",           ADMIN),
    ("POST", "/rpc/list_years",            OFFICE),
    ("POST", "/rpc/open_year",             ADMIN),
    ("POST", "/rpc/close_year",            ADMIN),
    ("POST", "/rpc/list_unit_trees",       ADMIN),
    ("POST", "/rpc/update_proposal",       OFFICE),
    ("POST", "/rpc/set_proposal_active",   OFFICE),
    ("POST", "/rpc/find_facilities",       OFFICE),
    ("POST", "/rpc/get_facility",          OFFICE),
    ("POST", "/rpc/save_facility",         OFFICE),
    ("POST", "/rpc/set_facility_active",   OFFICE),
    ("POST", "/rpc/create_proposal",       OFFICE),
    ("POST", "/rpc/registry_units",        OFFICE),
];

async fn the_matrix_has_a_row_for_every_route_and_server_function(app: TestApp) {
    let _ = &app; // the server function registry is complete once the app exists
    let routes = all_routes();
    let served: BTreeSet<(String, String)> = routes
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    assert_eq!(
        served.len(),
        routes.len(),
        "a route is listed twice: {routes:?}"
    );
    let rows: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(rows.len(), MATRIX.len(), "a row is listed twice");
    assert_eq!(
        rows, served,
        "MATRIX must have exactly one row per route in server::api::ROUTES and per server function"
    );
    // Public in the route table means open to everyone in the matrix, and back.
    let public: BTreeSet<&str> = routes
        .iter()
        .filter(|r| r.2)
        .map(|r| r.1.as_str())
        .collect();
    let open: BTreeSet<&str> = MATRIX
        .iter()
        .filter(|r| r.2 == PUBLIC)
        .map(|r| r.1)
        .collect();
    assert_eq!(public, open);
    assert_eq!(
        open,
        BTreeSet::from([
            "/api/health",
            "/api/ready",
            "/api/openapi.json",
            "/api/auth/login",
            "/api/uploads/",
            "/api/uploads",
            "/api/uploads/{id}"
        ])
    );
}

async fn every_caller_gets_exactly_the_access_of_its_row(app: TestApp) {
    let fx = fixture(&app).await;
    // Logging out and logging in end the caller's session: those rows go last.
    let mut rows: Vec<_> = MATRIX.iter().collect();
    rows.sort_by_key(|(_, path, _)| match *path {
        "/api/auth/logout" => 1,
        "/api/auth/login" => 2,
        _ => 0,
    });
    let mut wrong = Vec::new();
    for (column, username) in CALLERS.into_iter().enumerate() {
        let session = match username {
            Some(username) => Some(app.login(username).await),
            None => None,
        };
        let caller = Caller {
            username,
            cookie: session.as_ref().map(|(cookie, _)| cookie.as_str()),
            device: session
                .as_ref()
                .map_or(fx.ksv1_device.as_str(), |(_, device)| device.as_str()),
        };
        for &&(method, path, expected) in &rows {
            let r = route_request(method, path, &fx, &caller)
                .send(&app.router)
                .await;
            let who = username.unwrap_or("anonymous");
            let (status, code) = outcome(&r);
            let right = match expected[column] {
                Outcome::Allowed => !matches!(status, 401 | 403) && status < 500,
                Outcome::Denied(denied) => {
                    let want = if denied == 401 {
                        "auth.required"
                    } else {
                        "auth.forbidden"
                    };
                    no_leak(&r);
                    // A HEAD answer has no body to carry the code.
                    status == denied && (method == "HEAD" || code == want)
                }
            };
            if !right {
                let text = r.text();
                wrong.push(format!(
                    "{who} {method} {path}: expected {:?}, got {status} {text}",
                    expected[column]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

async fn an_inspectors_pull_stays_inside_their_districts(app: TestApp) {
    let mut one = Phone::login(&app, "ksv1").await;
    let mut two = Phone::login(&app, "ksv2").await;
    let (v1, v2) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    let m1 = one.new_visit(&v1, &demo_proposal("213"), json!({"workforce": 25}));
    assert_eq!(statuses(&one.push_ok(&app, &[m1]).await), ["applied"]);
    let m2 = two.new_visit(&v2, &demo_proposal("223"), json!({"workforce": 7}));
    assert_eq!(statuses(&two.push_ok(&app, &[m2]).await), ["applied"]);

    // 2026 records are on the 2025 tree: the communes the mapping forms from
    // each inspector's 2020 districts.
    for (phone, districts, communes_2025, own, other) in [
        (&one, ["213", "218"], vec!["07210"], &v1, &v2),
        (&two, ["223", "222"], vec!["07795", "07840"], &v2, &v1),
    ] {
        let changes = app.pull_all(&phone.cookie).await;
        let scoped = [records(&changes, "facility"), records(&changes, "proposal")].concat();
        assert!(!scoped.is_empty());
        for record in scoped.into_iter().filter(|r| r.is_object()) {
            let allowed = match record["district_code"].as_str() {
                Some(district) => districts.contains(&district),
                None => communes_2025.contains(&record["commune_code"].as_str().unwrap()),
            };
            assert!(allowed, "{districts:?} pulled {record}");
        }
        let visits: Vec<&str> = records(&changes, "visit")
            .iter()
            .filter_map(|v| v["id"].as_str())
            .collect();
        assert_eq!(visits, [own.as_str()]);
        let all = serde_json::to_string(&changes).unwrap();
        assert!(
            !all.contains(other.as_str()),
            "the other inspector's visit leaked into a pull"
        );
    }
}

async fn another_inspector_can_neither_see_nor_review_nor_change_a_visit(app: TestApp) {
    let mut one = Phone::login(&app, "ksv1").await;
    let mut two = Phone::login(&app, "ksv2").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let secret = "Nồi hơi bí mật";
    let first = one.new_visit(
        &visit,
        &demo_proposal("213"),
        json!({"workforce": 25, "main_products": secret}),
    );
    one.push_ok(&app, &[first]).await;
    let as_two = |r: Req| r.cookie(Some(&two.cookie)).send(&app.router);

    let review =
        req("POST", &format!("/api/visits/{visit}/review")).json(&json!({"to": "approved"}));
    expect_error(&as_two(review).await, 403, "auth.forbidden");
    expect_error(
        &as_two(rpc("get_visit", json!({"id": visit}))).await,
        403,
        "auth.forbidden",
    );
    expect_error(
        &as_two(rpc("list_visits", json!({}))).await,
        403,
        "auth.forbidden",
    );
    let import = req("POST", "/api/sync/import").json(&export_file(&one.device));
    expect_error(&as_two(import).await, 403, "auth.forbidden");
    let push_as_one = req("POST", "/api/sync/push").json(&one.body(&[]));
    expect_error(&as_two(push_as_one).await, 403, "auth.forbidden");
    let pulled = app.pull_all(&two.cookie).await;
    assert!(!serde_json::to_string(&pulled).unwrap().contains(&visit));
    for page in ["/review".to_string(), format!("/review/visits/{visit}")] {
        let text = app.get(&page, Some(&two.cookie)).await.text();
        assert!(
            !text.contains(secret),
            "{page} shows another inspector's answers"
        );
    }

    // Through their own phone the change is refused, and nothing changes.
    let change = two.mutation("visit", "upsert", &visit, json!({"workforce": 99}), 1);
    let results = two.push_ok(&app, &[change]).await;
    assert_eq!(statuses(&results), ["refused"]);
    assert_eq!(results[0]["error"]["code"], "visit.not_yours");
    let (stored, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.answers["workforce"], json!(25));
}

/// The office's pages are rendered on the server with their data: a caller
/// who may not see one gets its status with it, not a 200 shell.
async fn an_office_page_answers_who_may_not_see_it_with_401_or_403(app: TestApp) {
    let (inspector, _) = app.login("ksv1").await;
    let (supervisor, _) = app.login("giamsat").await;
    for page in ["/review", "/plan", "/registry"] {
        let anonymous = app.get(page, None).await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{page}, no session"
        );
        let refused = app.get(page, Some(&inspector)).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{page}, an inspector"
        );
        for answer in [anonymous, refused] {
            assert!(
                !answer.text().contains("registry-file"),
                "{page} offers the intake to a caller who may not use it"
            );
        }
        let allowed = app.get(page, Some(&supervisor)).await;
        assert_eq!(allowed.status, StatusCode::OK, "{page}, the supervisor");
        // Never stored: Back after a logout must ask the server again.
        assert_eq!(
            allowed.headers[axum::http::header::CACHE_CONTROL],
            "no-store",
            "{page}"
        );
    }
    // The registry's tools render in the browser (its register reads units
    // there); the server sends the years they list with the page.
    let registry = app.get("/registry", Some(&supervisor)).await.text();
    assert!(
        registry.contains("\\\"year\\\":2026"),
        "the supervisor's registry page carries the years: {registry}"
    );
}

/// A lost phone revoked by an administrator: the cookie it holds opens
/// nothing any more, for an inspector as for a supervisor who logged in on it.
/// It may still say who it is and log out; a page renders as for nobody.
async fn a_revoked_phones_session_is_refused_everywhere_but_me_and_logout(app: TestApp) {
    let fx = fixture(&app).await;
    let mut rows: Vec<_> = MATRIX.iter().collect();
    rows.sort_by_key(|(_, path, _)| (*path == "/api/auth/logout") as u8);
    let mut wrong = Vec::new();
    for username in ["ksv1", "giamsat"] {
        let (cookie, device) = app.login(username).await;
        app::store::accounts::revoke_device(&app.db, &Default::default(), &device)
            .await
            .unwrap();
        let caller = Caller {
            username: Some(username),
            cookie: Some(&cookie),
            device: &device,
        };
        for &&(method, path, access) in &rows {
            if path == "/api/auth/login" {
                continue;
            }
            let r = route_request(method, path, &fx, &caller)
                .send(&app.router)
                .await;
            let (status, code) = outcome(&r);
            let right = match (access == PUBLIC, path) {
                (true, _) | (_, "/api/auth/me" | "/api/auth/logout") => status < 400,
                // A HEAD answer has no body to carry the code.
                _ => status == 403 && (method == "HEAD" || code == "device.revoked"),
            };
            if !right {
                wrong.push(format!("{username} {method} {path}: {status} {}", r.text()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The supervisor's page, with the revoked phone's cookie, is a page for
    // nobody: its data is not rendered into it.
    let (cookie, device) = app.login("giamsat").await;
    assert_eq!(
        app.get("/review", Some(&cookie)).await.status,
        StatusCode::OK
    );
    app::store::accounts::revoke_device(&app.db, &Default::default(), &device)
        .await
        .unwrap();
    let page = app.get("/review", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.text());
    // Logging in again with the stale cookie still reaches the login check.
    let again = req("POST", "/api/auth/login")
        .json(&json!({"username": "giamsat", "password": PW}))
        .cookie(Some(&cookie))
        .peer("192.0.2.251:1000")
        .send(&app.router)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
}

crate::engine_tests!(
    a_revoked_phones_session_is_refused_everywhere_but_me_and_logout,
    the_matrix_has_a_row_for_every_route_and_server_function,
    an_office_page_answers_who_may_not_see_it_with_401_or_403,
    every_caller_gets_exactly_the_access_of_its_row,
    an_inspectors_pull_stays_inside_their_districts,
    another_inspector_can_neither_see_nor_review_nor_change_a_visit
);

// ---- helpers (shared with security) ----

/// Every (method, path, public) the server answers: the API route table and the
/// registered server functions.
pub(crate) fn all_routes() -> Vec<(String, String, bool)> {
    let api = server::api::ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string(), r.public));
    let functions = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (method.as_str().to_string(), path.to_string(), false));
    api.chain(functions).collect()
}

/// What the requests of the matrix refer to.
pub(crate) struct Fixture {
    /// A visit of ksv1 (district 213), in progress.
    pub visit: String,
    /// ksv1's phone, which pushed `visit`.
    pub ksv1_device: String,
    /// Another phone of ksv1's, revoked (lost): a supervisor imports its backup.
    pub ksv1_lost_device: String,
    /// The account the administrator's calls change (nobody else uses it).
    pub ksv5_id: String,
    pub ksv5_device: String,
    /// A photo attached to `visit`, its size, and an upload of it by ksv1.
    pub photo: String,
    pub photo_len: usize,
    pub upload: String,
}

pub(crate) async fn fixture(app: &TestApp) -> Fixture {
    let mut phone = Phone::login(app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let first = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 25}));
    assert_eq!(statuses(&phone.push_ok(app, &[first]).await), ["applied"]);
    let ksv5 = ok(&login(app, "ksv5", PW, "192.0.2.250:1000").await);
    let bytes = crate::uploads::marked_jpeg(32, 32);
    let photo = uuid::Uuid::now_v7().to_string();
    let attach = phone.mutation(
        "photo",
        "upsert",
        &photo,
        json!({
        "visit_id": visit, "field": "evidence_photos", "sha256": crate::uploads::sha256_hex(&bytes),
        "size": bytes.len(), "content_type": "image/jpeg"}),
        0,
    );
    assert_eq!(statuses(&phone.push_ok(app, &[attach]).await), ["applied"]);
    let created = tus_create(&photo, bytes.len())
        .cookie(Some(&phone.cookie))
        .send(&app.router)
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let upload = crate::uploads::header(&created, "location");
    // A phone of ksv1's that was lost and revoked: its backup is what a
    // supervisor may import.
    let lost = Phone::login(app, "ksv1").await;
    app::store::accounts::revoke_device(&app.db, &Default::default(), &lost.device)
        .await
        .unwrap();
    Fixture {
        photo,
        photo_len: bytes.len(),
        upload,
        visit,
        ksv1_device: phone.device,
        ksv1_lost_device: lost.device,
        ksv5_id: ksv5["user"]["id"].as_str().unwrap().to_string(),
        ksv5_device: ksv5["device_id"].as_str().unwrap().to_string(),
    }
}

/// Who makes a request: anonymous callers have no cookie and use ksv1's phone.
pub(crate) struct Caller<'a> {
    pub username: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub device: &'a str,
}

/// A minimal well-formed request for a route, so that authorization decides.
pub(crate) fn route_request(method: &str, path: &str, fx: &Fixture, caller: &Caller) -> Req {
    let request = match (method, path) {
        ("GET", "/api/sync/pull") => req("GET", "/api/sync/pull?cursor=0&limit=1"),
        ("GET", "/api/exports/plan.xlsx" | "/api/exports/plan.csv") => {
            req("GET", &format!("{path}?year=2020"))
        }
        ("GET", "/api/exports/photos.zip") => req("GET", &format!("{path}?district=213")),
        ("GET", "/api/registry/export.xlsx") => req("GET", &format!("{path}?year=2026")),
        ("GET", "/api/forms/xlsform.xlsx") => req("GET", &format!("{path}?form_id=khuyen-cong&version=1")),
        ("GET", _) if !path.contains('{') => req("GET", path),
        ("POST", "/api/auth/login") => req("POST", path)
            .json(&json!({"username": caller.username.unwrap_or("ksv3"), "password": PW})),
        ("POST", "/api/auth/logout") => req("POST", path).json(&json!({})),
        // The device the caller's session already has: past authorization, a 200.
        ("POST", "/api/auth/device") => req("POST", path).json(&json!({"device_id": caller.device})),
        // A wrong current password: past authorization it is a 422.
        ("POST", "/api/auth/password") => req("POST", path)
            .json(&json!({"current_password": "khong-phai-mat-khau", "new_password": "mat-khau-moi-du-dai"})),
        ("POST", "/api/sync/push") => req("POST", path).json(&json!({
            "device_id": caller.device, "schema_version": app::sync::MUTATION_SCHEMA_VERSION, "mutations": []
        })),
        ("POST", "/api/sync/import") => req("POST", path).json(&export_file(&fx.ksv1_lost_device)),
        // A preview (no commit) of a file with one refused row: 200, nothing stored.
        ("POST", "/api/registry/intake") => req("POST", path).bytes(
            "text/csv",
            "Tên cơ sở,Xã/phường (mã hoặc tên),Nhóm ngành,Tên đề án,Hình thức hỗ trợ,Kinh phí đề nghị (đồng),Năm\nCơ sở A,99999,food,Đề án,machinery,1000000,2020\n"
                .as_bytes()
                .to_vec(),
        ),
        // A cycle: past authorization it is a 422 and nothing is stored.
        ("POST", "/api/units/import") => req("POST", "/api/units/import?tree=thu-nghiem&effective_from=2026-01-01").bytes(
            "text/csv",
            b"code,name,kind,level,parent_code\n1,A,huyen,district,2\n2,B,huyen,district,1\n".to_vec(),
        ),
        // Not a workbook: past authorization it is a 422 and nothing is stored.
        ("POST", "/api/forms/xlsform") => req("POST", path).bytes(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            b"not a workbook".to_vec(),
        ),
        // In progress → approved is not a transition: past authorization it is a 422.
        ("POST", "/api/visits/{id}/review") => {
            req("POST", &format!("/api/visits/{}/review", fx.visit)).json(&json!({"to": "approved"}))
        }
        ("POST", _) if path.starts_with("/rpc/") => {
            let name = &path["/rpc/".len()..];
            rpc(name, rpc_args(name, fx))
        }
        ("OPTIONS", "/api/uploads/" | "/api/uploads") => req("OPTIONS", path),
        ("OPTIONS", "/api/uploads/{id}") => req("OPTIONS", &fx.upload),
        ("POST", "/api/uploads/") => tus_create(&fx.photo, fx.photo_len),
        ("POST", "/api/uploads") => tus_create_at(path, &fx.photo, fx.photo_len),
        ("HEAD", "/api/uploads/{id}") => req("HEAD", &fx.upload).header("tus-resumable", "1.0.0"),
        ("PATCH", "/api/uploads/{id}") => req("PATCH", &fx.upload)
            .header("tus-resumable", "1.0.0")
            .header("upload-offset", "0")
            .bytes("application/offset+octet-stream", vec![0xFF]),
        ("POST", "/api/uploads/{id}") => req("POST", &fx.upload)
            .header("tus-resumable", "1.0.0")
            .header("x-http-method-override", "HEAD"),
        ("DELETE", "/api/uploads/{id}") => {
            req("DELETE", &fx.upload).header("tus-resumable", "1.0.0")
        }
        ("GET", "/api/photos/{id}") => req("GET", &format!("/api/photos/{}", fx.photo)),
        ("GET", "/api/photos/{id}/{size}") => {
            req("GET", &format!("/api/photos/{}/thumb", fx.photo))
        }
        _ => panic!("no request for {method} {path}: add one to route_request"),
    };
    request.cookie(caller.cookie)
}

/// A tus creation request for `photo` (no bytes yet).
fn tus_create(photo: &str, length: usize) -> Req {
    tus_create_at("/api/uploads/", photo, length)
}

/// The same at another spelling of the endpoint.
fn tus_create_at(endpoint: &str, photo: &str, length: usize) -> Req {
    use base64::Engine as _;
    req("POST", endpoint)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", &length.to_string())
        .header(
            "upload-metadata",
            &format!(
                "photo_id {}",
                base64::engine::general_purpose::STANDARD.encode(photo)
            ),
        )
}

fn rpc_args(name: &str, fx: &Fixture) -> Value {
    match name {
        "list_visits" | "list_accounts" | "assignable_units" => json!({}),
        "get_visit" => json!({"id": fx.visit}),
        // In progress → approved is not a transition: past authorization it is a 422.
        "decide_visit" => json!({"id": fx.visit, "to": "approved", "comment": null, "field": null}),
        "list_forms" => json!({}),
        // Version 1 again, unchanged: accepted as a no-op.
        "publish_form" => {
            json!({"definition": include_str!("../../../data/forms/khuyen-cong-v1.json")})
        }
        "create_account" => json!({"account": {"username": "ma.tran", "display_name": "Ma Trận",
            "phone": null, "password": "mat-khau-dau-tien-1", "roles": ["inspector"], "units": ["213"]}}),
        "update_account" => json!({"update": {"id": fx.ksv5_id, "display_name": "Ngô Văn Toàn",
            "phone": null, "roles": ["inspector"], "units": ["219", "220"]}}),
        "set_account_active" => json!({"id": fx.ksv5_id, "active": true}),
        "reset_password" => json!({"id": fx.ksv5_id, "new_password": "mat-khau-tam-thoi-9"}),
        "list_devices" => json!({"user_id": fx.ksv5_id}),
        "revoke_device" => json!({"device_id": fx.ksv5_device}),
        "audit_trail" => json!({"limit": 5}),
        "search_visits" => json!({"query": {"q": "nồi hơi"}}),
        "visit_filter_choices" => json!({}),
        "visit_extras" => json!({"id": fx.visit}),
        // No such conflict: past authorization it is a 404.
        "resolve_conflict" => json!({"id": 999_999, "value": "x"}),
        "get_proposal" => json!({"id": demo_proposal("213")}),
        // A fraction of a đồng: past authorization it is a 422.
        "recommend" => json!({"id": demo_proposal("213"), "recommendation": "provincial",
            "amount": 1.5, "rationale": null}),
        "get_plan" => json!({"year": "2020"}),
        "set_budget" => json!({"year": 2020, "amount": 1.5}),
        "list_years" | "list_unit_trees" | "registry_units" => json!({}),
        // A fraction of a đồng: past authorization it is a 422.
        "update_proposal" => json!({"edit": {"id": demo_proposal("213"), "title": "Đề án",
            "support_kind": "machinery", "requested_amount": 1.5}}),
        // No such proposal: past authorization it is a 404.
        "set_proposal_active" => {
            json!({"id": "01900000-0000-7000-8000-000000000000", "active": true})
        }
        "find_facilities" => json!({"query": "Hòa Phát", "inactive": false}),
        "get_facility" => json!({"id": "016ebef8-b438-704a-8191-9c86a9849b88"}),
        // An unknown unit: past authorization it is a 422.
        "save_facility" => {
            json!({"draft": {"id": null, "name": "Cơ sở", "owner_name": "", "address": "",
            "unit": "bac-giang-2020/99999", "industry_group": "other", "phone": "", "tax_code": "",
            "main_products": ""}})
        }
        // No such facility: past authorization it is a 404.
        "set_facility_active" => {
            json!({"id": "01900000-0000-7000-8000-000000000000", "active": true})
        }
        // A fraction of a đồng: past authorization it is a 422.
        "create_proposal" => {
            json!({"proposal": {"facility_id": "016ebef8-b438-704a-8191-9c86a9849b88",
            "year": 2020, "unit": "", "title": "Đề án", "support_kind": "machinery", "requested_amount": 1.5}})
        }
        // 2020 is open already: past authorization it is a 422.
        "open_year" => json!({"request": {"year": 2020, "unit_tree": "bac-giang-2020",
            "form_id": "khuyen-cong", "form_version": 1}}),
        // Never opened: past authorization it is a 422.
        "close_year" => json!({"year": 1999, "confirm": false}),
        _ => panic!("no arguments for server function {name}: add them to rpc_args"),
    }
}

/// The records of one entity in pulled changes.
fn records<'a>(changes: &'a [Value], entity: &str) -> Vec<&'a Value> {
    changes
        .iter()
        .filter(|c| c["entity"] == entity)
        .map(|c| &c["record"])
        .collect()
}

/// An empty backup file of a phone.
fn export_file(device: &str) -> Value {
    json!({"format": "khaosat-outbox", "schema_version": app::sync::MUTATION_SCHEMA_VERSION,
        "device_id": device, "username": "ksv1", "mutations": []})
}
