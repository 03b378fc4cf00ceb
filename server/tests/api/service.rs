//! Several server processes on one database, as an operator runs them: the
//! real binary started together on an empty database (migrations and the demo
//! run once), a process given another photo directory (refused), the
//! background jobs' lease (one holder, handed over on SIGTERM and after a
//! kill), and SIGTERM letting a push and an upload chunk in flight finish.
//!
//! One file (about 860 lines): every test here starts the real binary and
//! shares the small process harness at the top.

use crate::crash::{batch, http, login};
use crate::helpers::{fake_site, free_port};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `khaosat serve`, its port and its log file.
struct Process {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Process {
    fn start(dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Process {
        let port = free_port();
        let log = dir.join(format!("{name}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_khaosat"));
        command
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("LEPTOS_SITE_ROOT", fake_site(dir))
            .env_remove("KHAOSAT_DATABASE_URL")
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
            ));
        for (k, v) in env {
            command.env(k, v);
        }
        Process {
            child: command.spawn().unwrap(),
            port,
            log,
        }
    }

    /// Waits until `/api/health` answers 200; Err with the log when the process exits first.
    fn healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("exited with {status}: {}", self.log_text()));
            }
            if let Ok((200, _, _)) = http(
                self.port,
                "GET",
                "/api/health",
                None,
                None,
                Duration::from_secs(2),
            ) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("no answer within 60 s: {}", self.log_text()))
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn ready(&self) -> (u16, Value) {
        let (status, _, body) = http(
            self.port,
            "GET",
            "/api/ready",
            None,
            None,
            Duration::from_secs(10),
        )
        .unwrap();
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    fn leads_jobs(&self) -> bool {
        self.ready().1["runs_background_jobs"] == true
    }

    fn sigterm(&self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for a process sent SIGTERM to exit, and checks that the stop was
/// clean and gave the background jobs' lease up (holders are named `<pid>-…`);
/// left to run out, the lease would still be the process's for seconds.
fn exits_cleanly_letting_go_of_the_jobs(p: &mut Process, pg: &EmptyPostgres) {
    let pid = p.child.id();
    let exit = p.child.wait().unwrap();
    assert!(exit.success(), "a SIGTERM stop is clean: {exit}");
    let holder = pg.jobs_holder();
    assert!(
        !holder
            .as_deref()
            .is_some_and(|h| h.starts_with(&format!("{pid}-"))),
        "the stopped process still holds the jobs: {holder:?}"
    );
}

/// Waits (up to `secs`) until `check` holds.
fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not within {secs} s");
}

/// An empty PostgreSQL database of this test (not migrated), dropped after it.
struct EmptyPostgres {
    admin: String,
    name: String,
    url: String,
    rt: tokio::runtime::Runtime,
}

impl EmptyPostgres {
    fn create() -> EmptyPostgres {
        let admin = std::env::var("KHAOSAT_TEST_POSTGRES_URL")
            .expect("KHAOSAT_TEST_POSTGRES_URL is not set: run scripts/test.sh");
        let name = format!("khaosat_test_{}", uuid::Uuid::now_v7().simple());
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(app::store::testing::create_database(&admin, &name))
            .unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        let url = format!("{base}/{name}");
        EmptyPostgres {
            admin,
            name,
            url,
            rt,
        }
    }

    /// Who holds the background jobs' lease now.
    fn jobs_holder(&self) -> Option<String> {
        self.rt.block_on(async {
            let db = app::store::Db::connect(&self.url).await.unwrap();
            let holder =
                app::store::service::lease_holder(&db, server::jobs::LEASE, app::store::now_ms())
                    .await
                    .unwrap();
            db.pool.close().await;
            holder
        })
    }

    /// Sessions of this database inside an open transaction (a push held by
    /// the fault delay).
    fn open_transactions(&self) -> i64 {
        self.rt.block_on(async {
            let db = app::store::Db::connect(&self.admin).await.unwrap();
            let row = sqlx::query(
                "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'idle in transaction'",
            )
            .bind(&self.name)
            .fetch_one(&db.pool)
            .await
            .unwrap();
            app::store::col::<i64>(&row, "n").unwrap()
        })
    }
}

impl Drop for EmptyPostgres {
    fn drop(&mut self) {
        let _ = self
            .rt
            .block_on(app::store::testing::drop_database(&self.admin, &self.name));
    }
}

/// Four processes started at once with `--demo` on one empty database: all
/// serve, and exactly one loaded the demo (issue 19 saw one exit 5 times in 5).
fn started_together(dir: &Path, per_process: impl Fn(usize) -> Vec<String>) {
    let mut processes: Vec<Process> = (0..4)
        .map(|i| {
            let args = per_process(i);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            Process::start(dir, &format!("p{i}"), &args, &[])
        })
        .collect();
    for p in &mut processes {
        p.healthy().unwrap();
    }
    let seeded = processes
        .iter()
        .filter(|p| p.log_text().contains("demo data loaded"))
        .count();
    assert_eq!(seeded, 1, "the demo is loaded by one process");
    for p in &processes {
        let (status, body) = p.ready();
        assert_eq!(status, 200, "{body}");
        // The demo is whole: a demo inspector logs in on every process.
        login(p.port, &uuid::Uuid::now_v7().to_string());
    }
    let leaders = processes.iter().filter(|p| p.leads_jobs()).count();
    assert!(leaders <= 1, "{leaders} processes run the background jobs");
}

#[test]
fn sqlite_processes_started_together_on_an_empty_database_all_serve_and_seed_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").display().to_string();
    started_together(dir.path(), |_| {
        vec!["--demo".into(), "--data-dir".into(), data.clone()]
    });
}

#[test]
fn postgres_processes_started_together_on_an_empty_database_all_serve_and_seed_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let pg = EmptyPostgres::create();
    let photos = dir.path().join("photos").display().to_string();
    let base = dir.path().to_path_buf();
    started_together(dir.path(), |i| {
        vec![
            "--demo".into(),
            "--database-url".into(),
            pg.url.clone(),
            "--data-dir".into(),
            base.join(format!("data{i}")).display().to_string(),
            "--photo-dir".into(),
            photos.clone(),
        ]
    });
}

#[test]
fn a_process_given_another_photo_directory_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").display().to_string();
    let first = dir.path().join("photos-a").display().to_string();
    let other = dir.path().join("photos-b").display().to_string();
    let with = |photos: &str| {
        vec!["--demo", "--data-dir", &data, "--photo-dir", photos]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let args = with(&first);
    let mut p = Process::start(
        dir.path(),
        "first",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
    );
    p.healthy().unwrap();
    let marker = std::fs::read_to_string(Path::new(&first).join("store-id")).unwrap();
    drop(p);

    let args = with(&other);
    let mut q = Process::start(
        dir.path(),
        "other",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
    );
    let refused = q
        .healthy()
        .expect_err("a process on another photo directory must not start");
    assert!(
        refused.contains("is not the one this database was started with"),
        "{refused}"
    );
    assert!(
        refused.contains(marker.trim()),
        "the message names the store to use: {refused}"
    );
    assert!(
        !Path::new(&other).join("store-id").exists(),
        "the wrong directory is not marked"
    );

    let args = with(&first);
    let mut r = Process::start(
        dir.path(),
        "again",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
    );
    r.healthy().unwrap();
    assert_eq!(r.ready().0, 200);
}

/// Two processes on PostgreSQL sharing a photo directory; a push held open
/// by the fault delay when the first gets SIGTERM finishes and is answered,
/// the process exits, and the second takes the background jobs over.
///
/// Leases last 6 s here (30 s in a real server), so the last part, a killed
/// holder's lease running out, takes seconds. It is still long enough that a
/// process stalled by a busy machine keeps its lease while it renews every 2 s.
#[test]
fn sigterm_finishes_the_push_in_flight_and_hands_the_jobs_to_the_other_process() {
    const LEASE: (&str, &str) = ("KHAOSAT_FAULT_LEASE_MS", "6000");
    let dir = tempfile::tempdir().unwrap();
    let pg = EmptyPostgres::create();
    let args = |i: usize| on_shared_postgres(dir.path(), &pg, i);
    let a_args = args(0);
    let mut a = Process::start(
        dir.path(),
        "a",
        &a_args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[("KHAOSAT_FAULT_PUSH_DELAY_MS", "1500"), LEASE],
    );
    a.healthy().unwrap();
    eventually(30, "the first process takes the background jobs", || {
        a.leads_jobs()
    });
    let b_args = args(1);
    let mut b = Process::start(
        dir.path(),
        "b",
        &b_args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[LEASE],
    );
    b.healthy().unwrap();
    assert!(!b.leads_jobs(), "one process runs the background jobs");

    let device = uuid::Uuid::now_v7().to_string();
    let cookie = login(a.port, &device);
    let visit = uuid::Uuid::now_v7().to_string();
    let pushed = batch(&device, 1, &visit, &crate::helpers::demo_proposal("213"), 5);
    let port = a.port;
    let push = std::thread::spawn(move || {
        http(
            port,
            "POST",
            "/api/sync/push",
            Some(&cookie),
            Some(&pushed),
            Duration::from_secs(60),
        )
    });
    eventually(30, "the push holds its transaction open", || {
        pg.open_transactions() > 0
    });
    a.sigterm();
    let (status, _, body) = push
        .join()
        .unwrap()
        .expect("the push in flight is answered");
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert!(
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "applied"),
        "{answer}"
    );
    exits_cleanly_letting_go_of_the_jobs(&mut a, &pg);

    // The other process has the visit, and the background jobs within one renewal.
    let cookie = login(b.port, &device);
    let (status, _, _) = http(
        b.port,
        "GET",
        "/api/sync/pull?cursor=0&limit=500",
        Some(&cookie),
        None,
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(status, 200);
    eventually(
        25,
        "the second process takes the background jobs over",
        || b.leads_jobs(),
    );
    let log = a.log_text();
    assert!(
        log.contains("this process runs the background jobs"),
        "{log}"
    );

    // A killed leader: its lease runs out and the jobs come back to a live process.
    let c_args = args(2);
    let mut c = Process::start(
        dir.path(),
        "c",
        &c_args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[LEASE],
    );
    c.healthy().unwrap();
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    eventually(
        60,
        "a process takes the jobs over from a killed one",
        || c.leads_jobs(),
    );
}

/// The lease behind the background jobs, on each engine.
async fn a_lease_has_one_holder_until_it_runs_out_or_is_given_up(app: crate::helpers::TestApp) {
    use app::store::service::{drop_lease, lease_holder, take_lease};
    let db = &app.db;
    let t = 1_000_000;
    assert!(take_lease(db, "jobs", "a", t, 30_000).await.unwrap());
    assert!(
        !take_lease(db, "jobs", "b", t + 1, 30_000).await.unwrap(),
        "held by a"
    );
    // a renews; b still waits.
    assert!(take_lease(db, "jobs", "a", t + 10_000, 30_000)
        .await
        .unwrap());
    assert!(
        !take_lease(db, "jobs", "b", t + 35_000, 30_000)
            .await
            .unwrap(),
        "renewed until t + 40 s"
    );
    assert_eq!(
        lease_holder(db, "jobs", t + 35_000)
            .await
            .unwrap()
            .as_deref(),
        Some("a")
    );
    // a stops renewing: b takes over once it has run out.
    assert!(take_lease(db, "jobs", "b", t + 40_000, 30_000)
        .await
        .unwrap());
    assert!(!take_lease(db, "jobs", "a", t + 41_000, 30_000)
        .await
        .unwrap());
    // Given up: the next taker has it at once; another lease is independent.
    drop_lease(db, "jobs", "a").await.unwrap();
    assert_eq!(
        lease_holder(db, "jobs", t + 41_000)
            .await
            .unwrap()
            .as_deref(),
        Some("b"),
        "only the holder gives it up"
    );
    drop_lease(db, "jobs", "b").await.unwrap();
    assert!(take_lease(db, "jobs", "c", t + 42_000, 30_000)
        .await
        .unwrap());
    assert!(take_lease(db, "backups", "a", t + 42_000, 30_000)
        .await
        .unwrap());
}

crate::engine_tests!(a_lease_has_one_holder_until_it_runs_out_or_is_given_up);

/// `--backup-every` on the process running the background jobs: backups
/// appear on schedule, complete (with a manifest), and only the newest
/// `--backup-keep` stay.
#[test]
fn scheduled_backups_are_written_by_the_jobs_holder_and_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").display().to_string();
    let backups = dir.path().join("backups");
    let args = [
        "--demo",
        "--data-dir",
        &data,
        "--backup-dir",
        &backups.display().to_string(),
        "--backup-every",
        "1s",
        "--backup-keep",
        "2",
    ]
    .map(String::from);
    // What a backup killed part way leaves: a directory without a manifest,
    // and an encrypted backup's plaintext staging copy beside the database.
    let unfinished = backups.join("backup-1");
    std::fs::create_dir_all(&unfinished).unwrap();
    std::fs::write(unfinished.join("khaosat.db"), b"a partial copy").unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let staging = dir.path().join("data").join("khaosat.backup-0190aaaa");
    std::fs::write(&staging, b"plaintext of the whole database").unwrap();
    let mut p = Process::start(
        dir.path(),
        "scheduled",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
    );
    p.healthy().unwrap();
    eventually(60, "three scheduled backups", || {
        p.log_text().matches("scheduled backup:").count() >= 3
    });
    // Stopped, so no backup is between its manifest and the pruning.
    p.sigterm();
    p.child.wait().unwrap();
    let kept: Vec<_> = std::fs::read_dir(&backups)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("manifest.json").exists())
        .collect();
    assert!(kept.len() <= 2, "only the newest two stay: {kept:?}");
    assert!(!unfinished.exists(), "an unfinished backup stays");
    assert!(!staging.exists(), "a plaintext staging copy stays");
    let manifest = server::backup::read_manifest(&kept[0].path()).unwrap();
    assert_eq!(manifest.engine, "sqlite");
    assert!(manifest.records["users"] > 0);
}

/// One JSON log line per request with its id (also sent back), route,
/// status, duration and user; no password or session token anywhere; the
/// same requests counted on `--metrics-addr`.
#[test]
fn requests_are_logged_once_each_with_an_id_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").display().to_string();
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let args = [
        "--demo",
        "--log-format",
        "json",
        "--data-dir",
        &data,
        "--metrics-addr",
        &metrics_addr,
    ];
    let mut p = Process::start(dir.path(), "logged", &args, &[]);
    p.healthy().unwrap();
    let device = uuid::Uuid::now_v7().to_string();
    let cookie = login(p.port, &device);
    let token = cookie.split_once('=').unwrap().1.to_string();
    let (status, _, _) = http(
        p.port,
        "GET",
        "/api/auth/me",
        Some(&cookie),
        None,
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(status, 200);
    // The id comes back in a header (a proxy's own id is kept).
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: from-the-proxy-1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-request-id: from-the-proxy-1"),
        "{answer}"
    );
    // The metrics address answers with no token and counts the same requests;
    // the app's address does not serve them without a token configured.
    let get = |port: u16, path: &str| http(port, "GET", path, None, None, Duration::from_secs(10));
    let (status, _, metrics) = get(metrics_port, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(
        metrics.contains(
            r#"khaosat_http_requests_total{method="GET",route="/api/auth/me",status="200"} 1"#
        ),
        "{metrics}"
    );
    eventually(30, "the jobs holder resumes stalled photos once", || {
        get(metrics_port, "/metrics")
            .unwrap()
            .2
            .contains(r#"khaosat_background_job_runs_total{job="resume_photos",outcome="ok"} 1"#)
    });
    assert_eq!(get(p.port, "/metrics").unwrap().0, 404);
    p.sigterm();
    p.child.wait().unwrap();

    let log = p.log_text();
    assert!(
        !log.contains("khaosat-demo"),
        "the demo password is in the log"
    );
    assert!(!log.contains(&token), "a session token is in the log");
    let requests: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "khaosat::request")
        .collect();
    let me = requests
        .iter()
        .find(|r| r["fields"]["route"] == "/api/auth/me")
        .unwrap_or_else(|| panic!("no line for /api/auth/me in {log}"));
    assert_eq!(me["fields"]["status"], 200);
    assert_eq!(me["fields"]["method"], "GET");
    assert!(!me["fields"]["user"].as_str().unwrap().is_empty(), "{me}");
    assert!(
        me["fields"]["ms"].as_str().unwrap().parse::<f64>().unwrap() >= 0.0,
        "{me}"
    );
    assert_eq!(me["fields"]["request_id"].as_str().unwrap().len(), 32);
    let login_line = requests
        .iter()
        .find(|r| r["fields"]["route"] == "/api/auth/login")
        .unwrap();
    assert_eq!(login_line["fields"]["status"], 200);
    assert!(requests
        .iter()
        .any(|r| r["fields"]["request_id"] == "from-the-proxy-1"));
    assert_eq!(
        requests
            .iter()
            .filter(|r| r["fields"]["route"] == "/api/auth/me")
            .count(),
        1,
        "one line per request"
    );
}

/// A raw HTTP request with tus headers; returns (status, lower-cased head).
fn tus(
    port: u16,
    method: &str,
    path: &str,
    cookie: &str,
    headers: &[(&str, String)],
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\nCookie: {cookie}\r\nContent-Length: 0\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn header_value(head: &str, name: &str) -> Option<String> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(|v| v.trim().to_string())
}

/// SIGTERM while an upload chunk is half sent: the process stops taking
/// connections but receives the rest of the chunk and answers it; the phone
/// then resumes on the other process from that offset, and the photo is whole.
#[test]
fn sigterm_lets_an_upload_chunk_in_flight_finish_and_the_upload_resumes_elsewhere() {
    use base64::Engine as _;
    use sha2::Digest as _;
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let pg = EmptyPostgres::create();
    let args = |i: usize| on_shared_postgres(dir.path(), &pg, i);
    let (a_args, b_args) = (args(0), args(1));
    let mut a = Process::start(dir.path(), "a", &strs(&a_args), &[]);
    a.healthy().unwrap();
    let mut b = Process::start(dir.path(), "b", &strs(&b_args), &[]);
    b.healthy().unwrap();

    // A visit with a photo record, pushed through the first process.
    let device = uuid::Uuid::now_v7().to_string();
    let cookie = login(a.port, &device);
    let visit = uuid::Uuid::now_v7().to_string();
    let mut pushed = batch(&device, 1, &visit, &crate::helpers::demo_proposal("213"), 1);
    let bytes = crate::object_store::noise_jpeg(1000, 90);
    assert!(bytes.len() > 1_000_000, "{}", bytes.len());
    let photo = uuid::Uuid::now_v7().to_string();
    pushed["mutations"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "seq": 2, "mutation_id": uuid::Uuid::now_v7(), "kind": "upsert", "entity": "photo",
            "record_id": photo, "base_version": 0,
            "hlc": app::sync::Hlc::new(app::store::now_ms(), 9).encode(),
            "fields": {"visit_id": visit, "field": "evidence_photos",
                       "sha256": hex::encode(sha2::Sha256::digest(&bytes)), "size": bytes.len(),
                       "content_type": "image/jpeg", "caption": "Máy dập"}
        }));
    let (status, _, body) = http(
        a.port,
        "POST",
        "/api/sync/push",
        Some(&cookie),
        Some(&pushed),
        Duration::from_secs(30),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("refused"), "{body}");

    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let (status, head) = tus(
        a.port,
        "POST",
        "/api/uploads/",
        &cookie,
        &[
            ("Upload-Length", bytes.len().to_string()),
            ("Upload-Metadata", format!("photo_id {}", b64(&photo))),
        ],
    );
    assert_eq!(status, 201, "{head}");
    let location = header_value(&head, "location").expect("a location");

    // One PATCH for the first 800 KB; 600 KB of it sent, then SIGTERM.
    let chunk = 800_000;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", a.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let head = format!("PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\nCookie: {cookie}\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {chunk}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&bytes[..600_000]).unwrap();
    stream.flush().unwrap();
    // The bytes are arriving: the other process sees the offset move.
    let offset_on_b = || {
        let (status, head) = tus(b.port, "HEAD", &location, &cookie, &[]);
        assert_eq!(status, 200, "{head}");
        header_value(&head, "upload-offset")
            .unwrap()
            .parse::<usize>()
            .unwrap()
    };
    eventually(30, "the first blocks of the chunk are acknowledged", || {
        offset_on_b() > 0
    });
    a.sigterm();
    eventually(30, "the stopping process takes no new connections", || {
        std::net::TcpStream::connect(("127.0.0.1", a.port)).is_err()
    });
    stream.write_all(&bytes[600_000..chunk]).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let answer = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 204"), "{answer}");
    assert_eq!(
        header_value(&answer, "upload-offset"),
        Some(chunk.to_string())
    );
    exits_cleanly_letting_go_of_the_jobs(&mut a, &pg);

    // The phone resumes on the other process from the offset it was given.
    assert_eq!(offset_on_b(), chunk);
    let cookie_b = login(b.port, &device);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", b.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let rest = &bytes[chunk..];
    let head = format!("PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\nCookie: {cookie_b}\r\nUpload-Offset: {chunk}\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n", rest.len());
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(rest).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let answer = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 204"), "{answer}");
    let (status, _, body) = http(
        b.port,
        "GET",
        &format!("/api/photos/{photo}"),
        Some(&cookie_b),
        None,
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let record: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(record["status"], "ok", "{record}");
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The real binary with `--photo-store s3://…` and the usual `AWS_*`
/// variables, against s3s-fs: it marks the bucket, says it is ready, and a
/// process given another prefix (or a local directory) refuses to start.
#[test]
fn a_process_keeps_photos_in_object_storage_and_refuses_another_prefix() {
    let s3 = crate::object_store::S3Server::start();
    let endpoint = s3.endpoint();
    let env = s3.env(&endpoint);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").display().to_string();
    let with = |store: &str| {
        vec![
            "--demo".to_string(),
            "--data-dir".into(),
            data.clone(),
            "--photo-store".into(),
            store.to_string(),
        ]
    };
    let args = with("s3://khaosat/tinh");
    let mut p = Process::start(dir.path(), "s3", &strs(&args), &env);
    p.healthy().unwrap();
    let (status, ready) = p.ready();
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["photo_store"], "ok", "{ready}");
    drop(p);

    let args = with("s3://khaosat/tinh-khac");
    let mut q = Process::start(dir.path(), "other-prefix", &strs(&args), &env);
    let refused = q.healthy().expect_err("another prefix must not start");
    assert!(refused.contains("s3://khaosat/tinh-khac"), "{refused}");
    let args = vec!["--demo".to_string(), "--data-dir".into(), data.clone()];
    let mut r = Process::start(dir.path(), "local", &strs(&args), &env);
    let refused = r.healthy().expect_err("a local directory must not start");
    assert!(
        refused.contains("is not the one this database was started with"),
        "{refused}"
    );

    let args = with("s3://khaosat/tinh");
    let mut again = Process::start(dir.path(), "again", &strs(&args), &env);
    again.healthy().unwrap();
}

/// `serve` arguments of process `i` of several on one PostgreSQL database and
/// one photo directory.
fn on_shared_postgres(dir: &Path, pg: &EmptyPostgres, i: usize) -> Vec<String> {
    vec![
        "--demo".to_string(),
        "--database-url".into(),
        pg.url.clone(),
        "--data-dir".into(),
        dir.join(format!("data{i}")).display().to_string(),
        "--photo-dir".into(),
        dir.join("photos").display().to_string(),
    ]
}
