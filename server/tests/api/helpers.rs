//! `spawn_app(engine)`: a fresh database with the demo loaded — a SQLite file in
//! a temp dir, or a PostgreSQL database of its own that is dropped afterwards,
//! each a copy of one loaded once per test run — and the real router; requests
//! go through `oneshot`, no socket.
//!
//! One file (about 450 lines): every test module imports its app, engines,
//! requests and demo fixtures from here, so they stay in one place.

use app::state::AppState;
use app::store::Db;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

pub struct TestApp {
    pub router: axum::Router,
    /// The database's URL (for tools such as `pg_dump`).
    pub url: String,
    pub state: app::state::AppState,
    pub db: Db,
    _dir: tempfile::TempDir,
    _postgres: Option<PostgresDatabase>,
}

#[derive(Debug, Clone, Copy)]
pub enum TestEngine {
    Sqlite,
    Postgres,
}

/// Runs each listed test (an `async fn(TestApp)`) once per engine: the store's
/// SQL may differ per engine, its behaviour may not.
#[macro_export]
macro_rules! engine_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::spawn_app($crate::helpers::TestEngine::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::spawn_app($crate::helpers::TestEngine::Postgres).await).await
                }
            )*
        }
    };
}

/// A database of one test on the shared PostgreSQL server, dropped with the test.
pub struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl PostgresDatabase {
    /// A new database name on the test server, and its URL.
    fn named() -> (String, String, String) {
        let admin_url = std::env::var("KHAOSAT_TEST_POSTGRES_URL").expect(
            "KHAOSAT_TEST_POSTGRES_URL is not set: run scripts/test.sh, which starts PostgreSQL and sets it",
        );
        let name = format!("khaosat_test_{}", uuid::Uuid::now_v7().simple());
        let base = admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(&admin_url);
        let url = format!("{base}/{name}");
        (admin_url, name, url)
    }

    /// An empty database (no tables): a restore target.
    pub async fn create_empty() -> (PostgresDatabase, String) {
        let (admin_url, name, url) = Self::named();
        app::store::testing::create_database(&admin_url, &name)
            .await
            .expect("create the test database");
        (PostgresDatabase { admin_url, name }, url)
    }

    /// A database with the migrations, bootstrap data and demo loaded.
    async fn create_seeded() -> (PostgresDatabase, String) {
        let (admin_url, name, url) = Self::named();
        app::store::testing::create_seeded_database(&admin_url, &name)
            .await
            .expect("create the test database");
        (PostgresDatabase { admin_url, name }, url)
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime; do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(app::store::testing::drop_database(&admin_url, &name))
        })
        .join();
    }
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The session cookie set by a login.
    pub fn cookie(&self) -> String {
        let set = self
            .headers
            .get(header::SET_COOKIE)
            .expect("a Set-Cookie header")
            .to_str()
            .unwrap();
        set.split(';').next().unwrap().to_string()
    }
}

/// Sends one request through a router and reads the whole answer.
pub async fn send(router: &axum::Router, request: Request<Body>) -> TestResponse {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    TestResponse {
        status,
        headers,
        body,
    }
}

/// An app over a database and photo store made elsewhere (a restored backup),
/// keeping `dir` and `postgres` alive with it.
pub fn app_over(
    db: Db,
    url: String,
    photos: Arc<app::photos::storage::Photos>,
    dir: tempfile::TempDir,
    postgres: Option<PostgresDatabase>,
) -> TestApp {
    let site = test_site(dir.path());
    let state = AppState {
        db: db.clone(),
        clock: Arc::new(Default::default()),
        leptos_options: site.leptos_options(),
        security: Default::default(),
        photos,
        runtime: Default::default(),
    };
    let router = server::routes::router(state.clone(), Arc::new(site));
    TestApp {
        router,
        url,
        state,
        db,
        _dir: dir,
        _postgres: postgres,
    }
}

pub async fn spawn_app(engine: TestEngine) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (postgres, url) = match engine {
        TestEngine::Sqlite => {
            let file = dir.path().join("khaosat.db");
            app::store::testing::copy_seeded_sqlite(&file)
                .await
                .expect("copy the seeded database");
            (None, format!("sqlite://{}", file.display()))
        }
        TestEngine::Postgres => {
            let (database, url) = PostgresDatabase::create_seeded().await;
            (Some(database), url)
        }
    };
    // Start-up as the server does it; the copy already holds the demo.
    let db = server::startup::open_database(dir.path(), &url)
        .await
        .unwrap();
    assert!(
        !app::store::seed::demo(&db).await.unwrap(),
        "the copy holds the demo"
    );
    let site = test_site(dir.path());
    let photos =
        Arc::new(app::photos::storage::Photos::on_disk(dir.path().join("photos")).unwrap());
    server::startup::check_photo_store(&db, photos.storage.clone())
        .await
        .unwrap();
    let state = AppState {
        db: db.clone(),
        clock: Arc::new(Default::default()),
        leptos_options: site.leptos_options(),
        security: Default::default(),
        photos: photos.clone(),
        runtime: Default::default(),
    };
    let router = server::routes::router(state.clone(), Arc::new(site));
    TestApp {
        router,
        url,
        state,
        db,
        _dir: dir,
        _postgres: postgres,
    }
}

/// A stand-in for the built site: the shell renders, the bundle files are fake.
fn test_site(root: &std::path::Path) -> server::assets::Site {
    server::assets::Site {
        root: root.to_path_buf(),
        js: "khaosat.js".into(),
        wasm: "khaosat.wasm".into(),
        css: "khaosat.css".into(),
        split: vec![],
        hash_file: None,
        version: "test".into(),
        service_worker: "// sw".into(),
        shell_html: "<!DOCTYPE html><html></html>".into(),
        deltas: Default::default(),
    }
}

impl TestApp {
    /// The same app and database behind a trusted reverse proxy at `proxy`.
    pub fn router_with_trusted_proxy(&self, proxy: std::net::IpAddr) -> axum::Router {
        let site = test_site(self._dir.path());
        let state = AppState {
            db: self.db.clone(),
            clock: Arc::new(Default::default()),
            leptos_options: site.leptos_options(),
            security: Arc::new(app::state::Security {
                trusted_proxies: vec![proxy],
                ..Default::default()
            }),
            photos: self.state.photos.clone(),
            runtime: Default::default(),
        };
        server::routes::router(state, Arc::new(site))
    }

    /// The same app and database with other security settings.
    pub fn router_with_security(&self, security: app::state::Security) -> axum::Router {
        let site = test_site(self._dir.path());
        let state = AppState {
            security: Arc::new(security),
            leptos_options: site.leptos_options(),
            ..self.state.clone()
        };
        server::routes::router(state, Arc::new(site))
    }

    /// The same app and database with other photo settings.
    pub fn router_with_photos(&self, photos: app::photos::storage::Photos) -> axum::Router {
        let site = test_site(self._dir.path());
        let state = AppState {
            photos: Arc::new(photos),
            leptos_options: site.leptos_options(),
            ..self.state.clone()
        };
        server::routes::router(state, Arc::new(site))
    }

    /// The same app and database, served with another built site.
    pub fn router_with_site(&self, site: server::assets::Site) -> axum::Router {
        let state = AppState {
            db: self.db.clone(),
            clock: Arc::new(Default::default()),
            leptos_options: site.leptos_options(),
            security: Default::default(),
            photos: self.state.photos.clone(),
            runtime: Default::default(),
        };
        server::routes::router(state, Arc::new(site))
    }

    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        cookie: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(cookie) = cookie {
            builder = builder.header(header::COOKIE, cookie);
        }
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        send(&self.router, request).await
    }

    pub async fn post_json(&self, uri: &str, cookie: Option<&str>, body: &Value) -> TestResponse {
        self.request(
            Method::POST,
            uri,
            cookie,
            Some(serde_json::to_vec(body).unwrap()),
        )
        .await
    }

    pub async fn get(&self, uri: &str, cookie: Option<&str>) -> TestResponse {
        self.request(Method::GET, uri, cookie, None).await
    }

    /// Logs in a demo user with a fresh device; returns (cookie, device id).
    pub async fn login(&self, username: &str) -> (String, String) {
        let device = uuid::Uuid::now_v7().to_string();
        let response = self
            .post_json("/api/auth/login", None, &serde_json::json!({"username": username, "password": "khaosat-demo", "device_id": device}))
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        (response.cookie(), device)
    }

    /// Pulls every page for a user.
    pub async fn pull_all(&self, cookie: &str) -> Vec<Value> {
        self.pull_from(cookie, 0).await.0
    }

    /// Pulls every page after `cursor`, as a phone that synced before does;
    /// returns the changes and the cursor it ends at.
    pub async fn pull_from(&self, cookie: &str, mut cursor: i64) -> (Vec<Value>, i64) {
        let mut changes = Vec::new();
        loop {
            let page = self
                .get(&format!("/api/sync/pull?cursor={cursor}"), Some(cookie))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            let page = page.json();
            changes.extend(page["changes"].as_array().unwrap().iter().cloned());
            cursor = page["cursor"].as_i64().unwrap();
            if !page["has_more"].as_bool().unwrap() {
                return (changes, cursor);
            }
        }
    }

    pub async fn counts(&self) -> std::collections::BTreeMap<&'static str, i64> {
        app::store::visits::table_counts(&self.db).await.unwrap()
    }
}

/// The id of the first proposal of a district in the demo.
pub fn demo_proposal(district: &str) -> String {
    let demo: Value = serde_json::from_str(app::store::seed::DEMO_BAC_GIANG_2020).unwrap();
    demo["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["district_code"] == district)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A push body creating a visit for `proposal` with the given answers (one
/// mutation per answer, the first carrying the header), seqs from `first_seq`.
pub fn visit_push(
    device: &str,
    visit_id: &str,
    proposal: &str,
    first_seq: i64,
    answers: &[(&str, Value)],
) -> Value {
    let mut mutations = Vec::new();
    for (i, (key, value)) in answers.iter().enumerate() {
        let mut fields = serde_json::Map::new();
        if i == 0 {
            fields.insert("form_id".into(), "khuyen-cong".into());
            fields.insert("form_version".into(), 1.into());
            fields.insert("proposal_id".into(), proposal.into());
        }
        fields.insert(key.to_string(), value.clone());
        mutations.push(serde_json::json!({
            "seq": first_seq + i as i64,
            "mutation_id": uuid::Uuid::now_v7().to_string(),
            "kind": "upsert",
            "entity": "visit",
            "record_id": visit_id,
            "fields": fields,
            "hlc": app::sync::Hlc::new(app::store::now_ms(), i as u32).encode(),
            "base_version": 0
        }));
    }
    serde_json::json!({"device_id": device, "schema_version": app::sync::MUTATION_SCHEMA_VERSION, "mutations": mutations})
}

/// A free loopback port, for tests that start the real binary.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A stand-in for the built site under `dir` (the binary refuses to start
/// without one), for tests that start the real binary.
pub fn fake_site(dir: &std::path::Path) -> std::path::PathBuf {
    let site = dir.join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    for f in ["khaosat.js", "khaosat.wasm", "khaosat.css"] {
        std::fs::write(site.join("pkg").join(f), "/* test */").unwrap();
    }
    std::fs::write(
        site.join("sw.js"),
        "// __KHAOSAT_VERSION__ __KHAOSAT_PRECACHE__",
    )
    .unwrap();
    site
}
