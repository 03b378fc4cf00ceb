//! The phone's sync engine: drain the outbox in seq order in bounded batches,
//! then pull every page after the cursor. One leader per origin (Web Lock), so
//! two tabs never push the same seq twice. Runs on app open, on `online`, when the
//! page becomes visible, on a timer, after a save and on demand.

use super::{backoff_ms, browser, http, ClientState, SyncStatus};
use crate::error::ErrorBody;
use crate::field::offline::{self, OfflineError, Session};
use crate::sync::{PullResponse, PushRequest, PushResponse, MUTATION_SCHEMA_VERSION};
use leptos::prelude::Set;
use std::cell::Cell;

/// Mutations per push: well under the server's limit, small enough for a weak link.
const PUSH_BATCH: u32 = 100;
/// Re-sync while the app is open, in case an event was missed.
const TIMER_MS: u32 = 60_000;

thread_local! {
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    /// A sync was asked for while one ran (e.g. a save): run once more after it,
    /// so the new mutations leave the phone now rather than at the next timer.
    static AGAIN: Cell<bool> = const { Cell::new(false) };
    /// Failed runs in a row, for the retry backoff.
    static FAILURES: Cell<u32> = const { Cell::new(0) };
    /// A retry is already scheduled.
    static RETRY_PENDING: Cell<bool> = const { Cell::new(false) };
}

fn schedule_retry(state: ClientState) {
    if RETRY_PENDING.with(|p| p.replace(true)) {
        return;
    }
    let failures = FAILURES.with(|f| f.get());
    let delay = backoff_ms(failures, js_sys::Math::random());
    state
        .retry_at
        .set(Some(browser::now_ms() + i64::from(delay)));
    leptos::prelude::set_timeout(
        move || {
            RETRY_PENDING.with(|p| p.set(false));
            leptos::task::spawn_local(sync_now(state));
        },
        std::time::Duration::from_millis(delay as u64),
    );
}

pub(super) enum Failure {
    Offline(OfflineError),
    Http(http::HttpError),
}

impl From<OfflineError> for Failure {
    fn from(e: OfflineError) -> Self {
        Failure::Offline(e)
    }
}

impl From<http::HttpError> for Failure {
    fn from(e: http::HttpError) -> Self {
        Failure::Http(e)
    }
}

/// Wires the triggers once, at the root.
pub fn start(state: ClientState) {
    state.online.set(browser::is_online());
    browser::on_window_event("online", move || {
        state.online.set(true);
        leptos::task::spawn_local(sync_now(state));
    });
    browser::on_window_event("offline", move || state.online.set(false));
    browser::on_document_event("visibilitychange", move || {
        if browser::document_visible() {
            leptos::task::spawn_local(sync_now(state));
        }
    });
    leptos::prelude::set_interval(
        move || leptos::task::spawn_local(sync_now(state)),
        std::time::Duration::from_millis(TIMER_MS as u64),
    );
}

pub async fn sync_now(state: ClientState) {
    if RUNNING.with(|r| r.replace(true)) {
        AGAIN.with(|a| a.set(true));
        return;
    }
    loop {
        AGAIN.with(|a| a.set(false));
        if browser::is_online() {
            let retry = std::rc::Rc::new(Cell::new(false));
            let flag = retry.clone();
            browser::with_lock("khaosat-sync", move || async move {
                flag.set(run_reporting(state).await);
            })
            .await;
            if retry.get() {
                FAILURES.with(|f| f.set(f.get().saturating_add(1)));
                schedule_retry(state);
            } else {
                FAILURES.with(|f| f.set(0));
                state.retry_at.set(None);
            }
        }
        if !AGAIN.with(|a| a.get()) {
            break;
        }
    }
    RUNNING.with(|r| r.set(false));
}

/// One sync run; returns whether it failed in a way worth retrying soon (no
/// answer, or a server error). A refusal such as a revoked device waits for the
/// timer or the next trigger instead of hammering the server.
async fn run_reporting(state: ClientState) -> bool {
    let session = match offline::db().await {
        Ok(db) => db.session().await.ok().flatten(),
        Err(_) => None,
    };
    // Nobody logged in (the login page): nothing to send, and no sync code to load.
    let Some(session) = session else { return false };
    // Refused by the server until the password is changed: say so without
    // asking (the header's banner leads to the password page). Before the
    // check below: an administrator-only account that left the password page
    // has only this banner to lead it back.
    if session.must_change_password {
        state.sync.set(SyncStatus::Error(ErrorBody::new(
            "auth.password_change_required",
            "change the password an administrator set before syncing",
        )));
        return false;
    }
    // An administrator-only account has nothing to sync, and the server would
    // refuse it: asking would only put a permanent error in the header.
    if !session.user.syncs() {
        return false;
    }
    // Deactivated (a login said so): every request would be a 401.
    if session.account_disabled {
        state.sync.set(SyncStatus::Error(ErrorBody::new(
            "auth.account_disabled",
            "this account was deactivated; back up what the phone holds",
        )));
        return false;
    }
    run_for(session, state).await
}

/// The run itself. In a `--split` build this is a chunk (`field_sync_run`,
/// precached like the field pages): push, pull and photo upload with their
/// serde code are not part of what `/login` downloads.
#[cfg_attr(feature = "split", leptos::lazy(field_sync_run))]
async fn run_for(session: Session, state: ClientState) -> bool {
    state.sync.set(SyncStatus::Syncing);
    let outcome = run(&session, state).await;
    state.progress.set(None);
    let retry = matches!(&outcome, Err(Failure::Http(e)) if e.status() == 0 || e.status() >= 500);
    state
        .reachable
        .set(!matches!(&outcome, Err(Failure::Http(e)) if e.status() == 0));
    state.sync.set(match outcome {
        Ok(()) => SyncStatus::Ok,
        Err(Failure::Http(e)) if e.status() == 401 => SyncStatus::LoginRequired,
        Err(Failure::Http(e)) => SyncStatus::Error(e.body()),
        Err(Failure::Offline(e)) => SyncStatus::Error(ErrorBody::new(e.code(), e.to_string())),
    });
    state.bump();
    retry
}

async fn pull_page(cursor: i64, epoch: Option<&str>) -> Result<PullResponse, http::HttpError> {
    let epoch = epoch.map(|e| format!("&epoch={e}")).unwrap_or_default();
    http::get_json(&format!("/api/sync/pull?cursor={cursor}{epoch}")).await
}

/// One run; a server restored from a backup since the last one first gets
/// again what it lacks (`restored`), once per run.
async fn run(session: &Session, state: ClientState) -> Result<(), Failure> {
    let db = offline::db().await?;
    let device_id = uuid::Uuid::parse_str(&session.device_id)
        .map_err(|_| OfflineError::Decode("device id is not a UUID".into()))?;
    match exchange(&db, session, device_id, state).await {
        // Not an error to show: the run goes on ("syncing") while it resends.
        Err(Failure::Http(e)) if super::restored::is_restored(&e) => {
            super::restored::resend(session.clone(), browser::now_ms()).await?;
            state.bump();
            exchange(&db, session, device_id, state).await
        }
        other => other,
    }
}

async fn exchange(
    db: &offline::OfflineDb,
    session: &Session,
    device_id: uuid::Uuid,
    state: ClientState,
) -> Result<(), Failure> {
    let epoch = db.epoch(&session.user.id).await?;
    // Records first, then photo bytes.
    let total = db.outbox_len(&session.device_id).await?;
    let mut sent = 0u32;
    loop {
        let batch = db.outbox(&session.device_id, PUSH_BATCH).await?;
        if batch.is_empty() {
            break;
        }
        state
            .progress
            .set(Some((sent, total.max(sent + batch.len() as u32))));
        let request = PushRequest {
            device_id,
            schema_version: MUTATION_SCHEMA_VERSION,
            mutations: batch.iter().map(|e| e.mutation.clone()).collect(),
            epoch: epoch.clone(),
        };
        let response: PushResponse = http::post_json("/api/sync/push", &request).await?;
        db.apply_push_results(
            &session.user.id,
            &session.device_id,
            &batch,
            &response.results,
        )
        .await?;
        db.merge_clock(response.server_hlc, browser::now_ms())
            .await?;
        sent += batch.len() as u32;
        state.bump();
    }
    state.progress.set(None);
    let pulled = pull_all(db, session, epoch.as_deref(), state).await;
    match &pulled {
        Err(Failure::Http(e)) if e.status() == 0 || e.status() == 401 => return pulled,
        Err(Failure::Http(e)) if super::restored::is_restored(e) => return pulled,
        Err(Failure::Offline(_)) => return pulled,
        // A pull this version cannot read (a newer server's record kind) or a
        // server error must not keep the photos on the phone: their bytes go
        // anyway, every record they belong to having been pushed above.
        _ => {}
    }
    // Photo bytes after every record; then the verdicts of finished photos.
    let uploads = crate::field::photos::upload::run(session, state).await;
    pulled?;
    if uploads.completed {
        pull_all(db, session, epoch.as_deref(), state).await?;
    }
    if uploads.network_failed {
        return Err(Failure::Http(http::HttpError::Network));
    }
    Ok(())
}

/// Every pull page after the cursor, stored as it arrives.
async fn pull_all(
    db: &offline::OfflineDb,
    session: &Session,
    epoch: Option<&str>,
    state: ClientState,
) -> Result<(), Failure> {
    let mut resynced = false;
    let cursor = db.cursor(&session.user.id).await?;
    let mut response = pull_page(cursor, epoch).await;
    loop {
        let page = match response {
            // The server compacted deletions this phone never saw: start over
            // from 0, keeping everything not yet on the server.
            Err(e) if e.status() == 410 && !resynced => {
                db.reset_for_resync(session).await?;
                resynced = true;
                state.bump();
                response = pull_page(0, epoch).await;
                continue;
            }
            other => other?,
        };
        if !page.has_more {
            db.apply_pull(session, &page, browser::now_ms()).await?;
            // The first pull learns the epoch; a restore is told by a 409
            // before any page, so a page never brings another one.
            if epoch.is_none() && !page.epoch.is_empty() {
                db.set_epoch(&session.user.id, &page.epoch).await?;
            }
            break;
        }
        // Fetch the next page while this one is stored: the network and
        // IndexedDB work at the same time.
        let (stored, next) = futures::join!(
            db.apply_pull(session, &page, browser::now_ms()),
            pull_page(page.cursor, epoch)
        );
        stored?;
        response = next;
    }
    Ok(())
}
