//! The real binary killed with SIGKILL in the middle of pushes. Each batch must be
//! applied entirely or not at all: after a restart the phone resends the batch it
//! got no answer for, and the answer is all `applied` (never committed) or all
//! `duplicate` (committed before the kill), never a mix. At the end every seq is
//! stored once and SQLite's integrity check passes.
//!
//! The server runs with `KHAOSAT_FAULT_PUSH_DELAY_MS`, which holds each push
//! transaction open before commit, so kills can be aimed at open transactions.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KILLS: usize = 24;
const HOLD_MS: u64 = 400;

struct Server {
    child: Child,
    port: u16,
}

fn start(data: &std::path::Path, site: &std::path::Path) -> Server {
    let port = crate::helpers::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .args([
            "serve",
            "--demo",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .env("LEPTOS_SITE_ROOT", site)
        .env("KHAOSAT_FAULT_PUSH_DELAY_MS", HOLD_MS.to_string())
        .env_remove("KHAOSAT_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok((200, _, _)) = http(
            port,
            "GET",
            "/api/health",
            None,
            None,
            Duration::from_secs(2),
        ) {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not start");
}

/// A minimal HTTP/1.1 client: (status, Set-Cookie, body).
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&Value>,
    timeout: Duration,
) -> std::io::Result<(u16, Option<String>, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(timeout))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    if let Some(c) = cookie {
        request.push_str(&format!("Cookie: {c}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no response"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let cookie = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .map(|l| l[11..].trim().split(';').next().unwrap().to_string());
    // Bodies are small; chunked encoding only wraps them.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&after[..n]);
            rest = &after[n + 2..];
        }
        out
    } else {
        rest.to_string()
    };
    Ok((status, cookie, body))
}

/// Logs the phone's user in on its device; returns the session cookie.
pub(crate) fn login(port: u16, device: &str) -> String {
    let body = json!({"username": "ksv1", "password": "khaosat-demo", "device_id": device});
    let (status, cookie, text) = http(
        port,
        "POST",
        "/api/auth/login",
        None,
        Some(&body),
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(status, 200, "{text}");
    cookie.expect("a session cookie")
}

/// Sends a batch the phone got no answer for; expects 200 and returns the body.
fn resend(port: u16, cookie: &str, batch: &Value) -> Value {
    let (status, _, body) = http(
        port,
        "POST",
        "/api/sync/push",
        Some(cookie),
        Some(batch),
        Duration::from_secs(30),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

pub(crate) fn batch(device: &str, first_seq: i64, visit: &str, proposal: &str, n: i64) -> Value {
    let mutations: Vec<Value> = (0..n)
        .map(|i| {
            let mut fields = json!({"workforce": first_seq + i});
            if first_seq + i == 1 {
                fields = json!({"form_id": "khuyen-cong", "form_version": 1, "proposal_id": proposal, "workforce": 1});
            }
            json!({"seq": first_seq + i, "mutation_id": uuid::Uuid::now_v7(), "kind": "upsert", "entity": "visit",
                   "record_id": visit, "fields": fields,
                   "hlc": app::sync::Hlc::new(app::store::now_ms(), i as u32).encode(), "base_version": 0})
        })
        .collect();
    json!({"device_id": device, "schema_version": app::sync::MUTATION_SCHEMA_VERSION, "mutations": mutations})
}

#[test]
fn sigkill_during_pushes_leaves_every_batch_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let site = crate::helpers::fake_site(dir.path());
    let proposal = crate::helpers::demo_proposal("213");
    let device = uuid::Uuid::now_v7().to_string();
    let visit = uuid::Uuid::now_v7().to_string();
    let per_batch = 40;
    let mut next_seq = 1i64;
    let mut pending: Option<Value> = None;
    let (mut kills, mut kills_in_transaction) = (0, 0);
    let mut rng = uuid::Uuid::now_v7().as_u128() as u64 | 1;
    let mut random = move |max: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % max
    };

    while kills < KILLS {
        let mut server = start(&data, &site);
        let cookie = login(server.port, &device);
        // First the batch left without an answer by the last kill: whole or nothing.
        if let Some(retry) = pending.take() {
            let body = resend(server.port, &cookie, &retry);
            let statuses: std::collections::BTreeSet<&str> = body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["status"].as_str().unwrap())
                .collect();
            assert!(
                statuses.len() == 1,
                "a batch was half applied: {statuses:?}"
            );
        }
        // Push until the kill; the killer aims inside the held-open transaction.
        let port = server.port;
        let body = batch(&device, next_seq, &visit, &proposal, per_batch);
        next_seq += per_batch;
        let cookie2 = cookie.clone();
        let sent = body.clone();
        let push = std::thread::spawn(move || {
            http(
                port,
                "POST",
                "/api/sync/push",
                Some(&cookie2),
                Some(&sent),
                Duration::from_secs(30),
            )
        });
        std::thread::sleep(Duration::from_millis(random(HOLD_MS + 150)));
        let answered = push.is_finished();
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        kills += 1;
        let outcome = push.join().unwrap();
        match outcome {
            Ok((200, _, _)) if answered => {}
            _ => {
                if !answered {
                    kills_in_transaction += 1;
                }
                pending = Some(body);
            }
        }
    }
    assert!(
        kills_in_transaction >= 10,
        "only {kills_in_transaction} of {kills} kills hit an open push"
    );

    // Converge: resend the unanswered batch, then check the database.
    let mut server = start(&data, &site);
    let cookie = login(server.port, &device);
    if let Some(retry) = pending.take() {
        resend(server.port, &cookie, &retry);
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db =
            app::store::Db::connect(&format!("sqlite://{}", data.join("khaosat.db").display()))
                .await
                .unwrap();
        let check = sqlx::query("PRAGMA integrity_check")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(
            app::store::col::<String>(&check, "integrity_check").unwrap(),
            "ok"
        );
        let device_row = app::store::users::device(&db, &device)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            device_row.last_seq,
            next_seq - 1,
            "every batch applied once in the end"
        );
        let n: i64 = app::store::col(
            &sqlx::query("SELECT COUNT(*) AS n FROM mutations WHERE device_id = $1")
                .bind(&device)
                .fetch_one(&db.pool)
                .await
                .unwrap(),
            "n",
        )
        .unwrap();
        assert_eq!(n, next_seq - 1);
        let (visit, _) = app::store::visits::record(&db.pool, &visit)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            visit.answers["workforce"],
            json!(next_seq - 1),
            "the last edit is the value"
        );
    });
}
