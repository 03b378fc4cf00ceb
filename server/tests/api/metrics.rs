//! `/metrics`: off unless configured, behind its token on the app's address,
//! and its counters move by exactly the work they count (a scrape before and
//! after each step; each test runs in its own process, so nothing else counts).

use crate::helpers::TestApp;
use crate::phone::statuses;
use crate::security::req;
use crate::uploads::{field, header, marked_jpeg};
use serde_json::json;
use std::collections::BTreeMap;

const TOKEN: &str = "scrape-token-7f3a9c";

fn with_token(app: &TestApp) -> axum::Router {
    app.router_with_security(app::state::Security {
        metrics_token: Some(server::telemetry::token_digest(TOKEN)),
        ..(*app.state.security).clone()
    })
}

/// One scrape: every sample as (name, labels, value).
struct Scrape(Vec<(String, BTreeMap<String, String>, f64)>);

impl Scrape {
    async fn of(router: &axum::Router) -> Scrape {
        let r = req("GET", "/metrics")
            .header("authorization", &format!("Bearer {TOKEN}"))
            .send(router)
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        Scrape::parse(&r.text())
    }

    fn parse(text: &str) -> Scrape {
        let mut samples = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').expect("name value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once('=').expect("label=value");
                    (k.to_string(), v.trim_matches('"').to_string())
                })
                .collect();
            samples.push((name.to_string(), labels, value.parse().expect("a number")));
        }
        Scrape(samples)
    }

    /// The sum of `name`'s samples whose labels include `with`.
    fn sum(&self, name: &str, with: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|(n, labels, _)| {
                n == name
                    && with
                        .iter()
                        .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }
}

async fn metrics_are_off_unless_configured_and_need_their_token(app: TestApp) {
    let r = req("GET", "/metrics").send(&app.router).await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("--metrics-token"), "{}", r.text());

    let router = with_token(&app);
    let r = req("GET", "/metrics").send(&router).await;
    assert_eq!(r.status, 401);
    assert!(header(&r, "www-authenticate").starts_with("Bearer"));
    let r = req("GET", "/metrics")
        .header("authorization", "Bearer not-the-token")
        .send(&router)
        .await;
    assert_eq!(r.status, 401);
    // A session is not a token: an administrator's cookie does not open it.
    let (admin, _) = app.login("quantri").await;
    let r = req("GET", "/metrics")
        .cookie(Some(&admin))
        .send(&router)
        .await;
    assert_eq!(r.status, 401);
    let r = req("GET", "/metrics")
        .header("authorization", &format!("Bearer {TOKEN}"))
        .send(&router)
        .await;
    assert_eq!(r.status, 200);
    assert!(header(&r, "content-type").starts_with("text/plain; version=0.0.4"));
    let scrape = Scrape::parse(&r.text());
    assert!(scrape.sum("khaosat_db_pool_max_connections", &[]) >= 1.0);
    assert!(scrape.sum("khaosat_db_pool_connections", &[]) >= 1.0);
}

async fn counters_move_with_logins_pushes_pulls_uploads_and_verdicts(app: TestApp) {
    let router = with_token(&app);
    let before = Scrape::of(&router).await;

    let r = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "ksv1", "password": "not-it"}),
        )
        .await;
    assert_eq!(r.status, 401);
    // A push of the visit, then one of its photo record.
    let mut f = field(&app, "ksv1").await;
    let bytes = marked_jpeg(800, 600);
    let photo = f.attach(&app, &bytes, json!({})).await;
    // An answer changed, then the same push again (a lost response): a duplicate.
    let visit = f.visit.clone();
    let m = f
        .phone
        .mutation("visit", "upsert", &visit, json!({"workforce": 30}), 0);
    assert_eq!(
        statuses(&f.phone.push_ok(&app, std::slice::from_ref(&m)).await),
        ["applied"]
    );
    assert_eq!(statuses(&f.phone.push_ok(&app, &[m]).await), ["duplicate"]);
    let changes = app.pull_all(&f.phone.cookie).await;
    let r = f.upload(&app, &photo, &bytes, 64 * 1024).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(f.photo(&app, &photo).await["status"], "ok");

    let after = Scrape::of(&router).await;
    let delta = |name: &str, with: &[(&str, &str)]| after.sum(name, with) - before.sum(name, with);
    assert_eq!(delta("khaosat_login_failures_total", &[]), 1.0);
    assert_eq!(delta("khaosat_push_batches_total", &[]), 4.0);
    assert_eq!(
        delta("khaosat_push_mutations_total", &[("result", "applied")]),
        3.0
    );
    assert_eq!(delta("khaosat_conflicts_created_total", &[]), 0.0);
    assert_eq!(
        delta("khaosat_push_mutations_total", &[("result", "duplicate")]),
        1.0
    );
    assert_eq!(
        delta("khaosat_push_mutations_total", &[("result", "refused")]),
        0.0
    );
    assert!(delta("khaosat_pull_pages_total", &[]) >= 1.0);
    assert_eq!(
        delta("khaosat_pull_records_total", &[]),
        changes.len() as f64
    );
    assert_eq!(delta("khaosat_uploads_created_total", &[]), 1.0);
    assert_eq!(delta("khaosat_upload_bytes_total", &[]), bytes.len() as f64);
    assert_eq!(after.sum("khaosat_uploads_active", &[]), 0.0);
    assert_eq!(
        delta("khaosat_photo_verdicts_total", &[("verdict", "ok")]),
        1.0
    );
    assert_eq!(
        delta(
            "khaosat_photo_processing_seconds_count",
            &[("verdict", "ok")]
        ),
        1.0
    );
    let push = [("route", "/api/sync/push"), ("method", "POST")];
    assert_eq!(
        delta(
            "khaosat_http_requests_total",
            &[push[0], push[1], ("status", "200")]
        ),
        4.0
    );
    assert_eq!(
        delta("khaosat_http_request_duration_seconds_count", &push),
        4.0
    );
    assert_eq!(
        delta(
            "khaosat_http_requests_total",
            &[("route", "/api/auth/login"), ("status", "401")]
        ),
        1.0
    );
    // Routes are patterns, never raw ids: one series for every upload.
    assert!(after
        .0
        .iter()
        .all(|(_, labels, _)| !labels.get("route").is_some_and(|r| r.contains(&photo))));
    assert!(
        delta(
            "khaosat_http_requests_total",
            &[("route", "/api/uploads/{id}"), ("method", "PATCH")]
        ) >= 1.0
    );
}

async fn login_limits_count_their_refusals(app: TestApp) {
    let router = with_token(&app);
    let before = Scrape::of(&router).await;
    let mut refused = 0;
    for _ in 0..8 {
        let r = app
            .post_json(
                "/api/auth/login",
                None,
                &json!({"username": "ksv2", "password": "wrong"}),
            )
            .await;
        if r.status == 429 {
            refused += 1;
        }
    }
    assert!(refused > 0, "the limit never refused");
    let after = Scrape::of(&router).await;
    assert_eq!(
        after.sum("khaosat_rate_limit_refusals_total", &[("limit", "login")])
            - before.sum("khaosat_rate_limit_refusals_total", &[("limit", "login")]),
        refused as f64
    );
}

crate::engine_tests!(
    metrics_are_off_unless_configured_and_need_their_token,
    counters_move_with_logins_pushes_pulls_uploads_and_verdicts,
    login_limits_count_their_refusals,
);
