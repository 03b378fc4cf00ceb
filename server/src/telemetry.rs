//! What a Prometheus server scrapes from one process: the recorder, every
//! measurement the server takes (named here, so the list of metrics is one
//! file), and `/metrics` itself.
//!
//! `/metrics` is off unless asked for. `--metrics-token` opens it on the app's
//! own address for a caller that sends `Authorization: Bearer <token>`;
//! `--metrics-addr` serves it with no token on an address of its own, one that
//! only the monitoring network reaches. Each process is scraped on its own:
//! counters are per process, as Prometheus expects.

use app::state::AppState;
use app::sync::MutationResult;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use std::time::Duration;

/// Seconds: from a cached page (1 ms) to a slow initial pull or a photo decode.
const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use (the router installs it, so
/// every measurement after start-up is kept).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("the bucket list is not empty")
            .install_recorder()
            .expect("khaosat installs the only metrics recorder")
    })
}

/// The SHA-256 of `--metrics-token`: what the server keeps, so the token is in
/// no log or debug print, and comparing digests leaks nothing of it by timing.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The text a scrape returns, with the gauges sampled now.
pub fn render(state: &AppState) -> String {
    let pool = &state.db.pool;
    gauge!("khaosat_db_pool_connections").set(pool.size() as f64);
    gauge!("khaosat_db_pool_idle_connections").set(pool.num_idle() as f64);
    gauge!("khaosat_db_pool_max_connections").set(pool.options().get_max_connections() as f64);
    gauge!("khaosat_photo_decodes_running").set(crate::images::decodes_running().0 as f64);
    let leads = state
        .runtime
        .leads_jobs
        .load(std::sync::atomic::Ordering::Relaxed);
    gauge!("khaosat_leads_background_jobs").set(if leads { 1.0 } else { 0.0 });
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}

fn text(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// `GET /metrics` on the app's address: only with the configured token.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = state.security.metrics_token else {
        return (
            StatusCode::NOT_FOUND,
            "metrics are off: start khaosat with --metrics-token or --metrics-addr",
        )
            .into_response();
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| token_digest(t.trim()));
    if offered != Some(expected) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"khaosat metrics\"")],
            "send the metrics token as Authorization: Bearer <token>",
        )
            .into_response();
    }
    text(render(&state))
}

/// The router of `--metrics-addr`: `/metrics` and nothing else, no token.
pub fn listener_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(state): State<AppState>| async move { text(render(&state)) }),
        )
        .with_state(state)
}

/// A request answered: counted and timed by its route (the route's pattern,
/// never the raw path, so the number of series stays bounded).
pub fn request(method: &str, route: &str, status: u16, took: Duration) {
    let (method, route) = (method.to_string(), route.to_string());
    counter!(
        "khaosat_http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    histogram!(
        "khaosat_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(took.as_secs_f64());
}

/// A push (or a phone's backup imported) applied: its batch, each mutation by
/// result, and the conflicts kept for a supervisor (one per lost field).
pub fn pushed(results: &[MutationResult]) {
    counter!("khaosat_push_batches_total").increment(1);
    let (mut applied, mut duplicate, mut refused, mut conflicts) = (0u64, 0u64, 0u64, 0u64);
    for result in results {
        match result {
            MutationResult::Applied { lost, .. } => {
                applied += 1;
                conflicts += lost.len() as u64;
            }
            MutationResult::Duplicate { .. } => duplicate += 1,
            MutationResult::Refused { .. } => refused += 1,
        }
    }
    counter!("khaosat_push_mutations_total", "result" => "applied").increment(applied);
    counter!("khaosat_push_mutations_total", "result" => "duplicate").increment(duplicate);
    counter!("khaosat_push_mutations_total", "result" => "refused").increment(refused);
    counter!("khaosat_conflicts_created_total").increment(conflicts);
}

/// A pull page served, with how many records it carried.
pub fn pulled(records: usize) {
    counter!("khaosat_pull_pages_total").increment(1);
    counter!("khaosat_pull_records_total").increment(records as u64);
}

pub fn upload_created() {
    counter!("khaosat_uploads_created_total").increment(1);
}

pub fn upload_bytes(n: usize) {
    counter!("khaosat_upload_bytes_total").increment(n as u64);
}

/// An upload some request is writing (or finishing): counted while it lives.
pub struct ActiveUpload(());

impl ActiveUpload {
    pub fn start() -> ActiveUpload {
        gauge!("khaosat_uploads_active").increment(1.0);
        ActiveUpload(())
    }
}

impl Drop for ActiveUpload {
    fn drop(&mut self) {
        gauge!("khaosat_uploads_active").decrement(1.0);
    }
}

/// The photo pipeline's verdict on one photo and how long it took.
pub fn photo_judged(verdict: Result<(), &'static str>, took: Duration) {
    let (verdict, problem) = match verdict {
        Ok(()) => ("ok", ""),
        Err(code) => ("bad", code),
    };
    counter!("khaosat_photo_verdicts_total", "verdict" => verdict, "problem" => problem)
        .increment(1);
    histogram!("khaosat_photo_processing_seconds", "verdict" => verdict).record(took.as_secs_f64());
}

pub fn login_failed() {
    counter!("khaosat_login_failures_total").increment(1);
}

/// A refusal by a limit: `login` (too many failed guesses), `connections`
/// (too many open from one address).
pub fn limited(limit: &'static str) {
    counter!("khaosat_rate_limit_refusals_total", "limit" => limit).increment(1);
}

/// One run of a background job (`compaction`, `upload_expiry`, `backup`,
/// `resume_photos`).
pub fn job_ran(job: &'static str, ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    counter!("khaosat_background_job_runs_total", "job" => job, "outcome" => outcome).increment(1);
}
