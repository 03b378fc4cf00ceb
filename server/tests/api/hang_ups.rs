//! A phone that hangs up while its push is in flight (out of signal, a closed
//! tab): the server finishes or undoes the push, and leaves nothing locked.
//! Dropped half-way, a push could drop SQLite's `BEGIN IMMEDIATE` after the
//! lock was taken but before its transaction existed to roll back; the pooled
//! connection kept the write lock, and every write after it (the phone's
//! resend, other phones, logins) waited out the busy timeout and failed.

use crate::helpers::{demo_proposal, send, TestApp};
use crate::phone::Phone;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::StreamExt;
use serde_json::json;
use tower::ServiceExt;

async fn pushes_abandoned_mid_flight_leave_nothing_locked(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let first = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 1}));
    phone.push_ok(&app, &[first]).await;
    let rounds = 80;
    for i in 0..rounds {
        let change = phone.mutation("visit", "upsert", &visit, json!({"workforce": i + 2}), 0);
        let body = serde_json::to_vec(&phone.body(&[change])).unwrap();
        let request = || {
            Request::post("/api/sync/push")
                .header("content-type", "application/json")
                .header("cookie", phone.cookie.clone())
                .body(Body::from(body.clone()))
                .unwrap()
        };
        // Hung up after 0 to 4 ms: before the lock, holding it, or after the commit.
        let wait = std::time::Duration::from_micros((i % 20) * 200);
        let _ = tokio::time::timeout(wait, app.router.clone().oneshot(request())).await;
        // Having heard nothing, the phone sends the same change again.
        let again = send(&app.router, request()).await;
        assert_eq!(again.status, StatusCode::OK, "round {i}: {}", again.text());
    }
    // Every change applied once, the last one last.
    let row = sqlx::query("SELECT last_seq FROM devices WHERE device_id = $1")
        .bind(&phone.device)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(sqlx::Row::get::<i64, _>(&row, "last_seq"), phone.seq);
    let (cookie, _) = app.login("ksv2").await;
    assert!(
        !cookie.is_empty(),
        "a login after them still writes its session"
    );
    let pulled = app.pull_all(&phone.cookie).await;
    let workforce = pulled
        .iter()
        .rfind(|c| c["record"]["id"] == json!(visit))
        .map(|c| c["record"]["answers"]["workforce"].clone());
    assert_eq!(workforce, Some(json!(rounds + 1)));
}

/// A body that trickles a byte now and then never goes quiet for the idle
/// timeout, so it held its connection and task for as long as the trickle
/// lasted (a day for a login body at a byte every 25 s). Once its grace is
/// over, a body slower on average than the minimum rate is cut (408
/// `request.too_slow`); one that keeps the rate is read whole.
async fn a_body_that_trickles_in_is_cut_once_its_grace_is_over(app: TestApp) {
    let router = app.router_with_security(app::state::Security {
        body_grace: std::time::Duration::from_millis(300),
        body_min_rate: 1000,
        ..Default::default()
    });
    let login =
        serde_json::to_vec(&json!({"username": "ksv1", "password": "khaosat-demo"})).unwrap();
    let sent = |gap_ms: u64| {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            login.chunks(4).map(|c| Ok(c.to_vec())).collect();
        let stream = futures_util::stream::iter(chunks).then(move |chunk| async move {
            tokio::time::sleep(std::time::Duration::from_millis(gap_ms)).await;
            chunk
        });
        Request::post("/api/auth/login")
            .header("content-type", "application/json")
            .body(Body::from_stream(stream))
            .unwrap()
    };
    // Four bytes every 50 ms is 80 bytes a second: cut after the grace.
    let slow = send(&router, sent(50)).await;
    assert_eq!(slow.status, StatusCode::REQUEST_TIMEOUT, "{}", slow.text());
    assert_eq!(slow.json()["code"], "request.too_slow");
    // All at once: read whole, and the login goes through.
    let fast = send(&router, sent(0)).await;
    assert_eq!(fast.status, StatusCode::OK, "{}", fast.text());
}

/// SQLite has one writer: twelve phones pushing while the write lock is
/// held each took a pool connection to wait on it, and with eight in the
/// pool, a pull (or any session check) found none and failed after its
/// wait. Pushes now wait their turn holding no connection: reads go on.
#[tokio::test]
async fn pushes_waiting_on_sqlites_writer_leave_connections_to_readers() {
    use sqlx::Executor;
    let app = crate::helpers::spawn_app(crate::helpers::TestEngine::Sqlite).await;
    let mut phones = Vec::new();
    for _ in 0..12 {
        phones.push(Phone::login(&app, "ksv1").await);
    }
    let reader = Phone::login(&app, "ksv2").await;
    let mut holder = app.db.pool.acquire().await.unwrap();
    holder.execute("BEGIN IMMEDIATE").await.unwrap();
    let mut pushes = Vec::new();
    for mut phone in phones {
        let visit = uuid::Uuid::now_v7().to_string();
        let m = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 2}));
        let request = Request::post("/api/sync/push")
            .header("content-type", "application/json")
            .header("cookie", phone.cookie.clone())
            .body(Body::from(serde_json::to_vec(&phone.body(&[m])).unwrap()))
            .unwrap();
        pushes.push(tokio::spawn(app.router.clone().oneshot(request)));
    }
    // Let the pushes reach the database before asking.
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    let pull = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        app.get("/api/sync/pull?cursor=0&limit=5", Some(&reader.cookie)),
    )
    .await
    .expect("a pull waited for the pushes' connections");
    assert_eq!(pull.status, StatusCode::OK, "{}", pull.text());
    holder.execute("ROLLBACK").await.unwrap();
    drop(holder);
    for push in pushes {
        let answer = push.await.unwrap().unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }
}

crate::engine_tests!(
    pushes_abandoned_mid_flight_leave_nothing_locked,
    a_body_that_trickles_in_is_cut_once_its_grace_is_over,
);
