//! A server restored from a backup answers `sync.server_restored` (409): it
//! lacks what it acknowledged after the backup. Before anything else is sent,
//! the phone asks where the server's numbering of its changes stands, reads
//! the server's copy of every visit from cursor 0, and rebuilds its outbox
//! from what it holds (`offline::restored`); then it pulls from 0 as after a
//! 410, and keeps the new epoch. Runs inside the sync run's chunk.

use super::engine::Failure;
use super::http::{self, HttpError};
use crate::field::offline::{OfflineError, Session};
use crate::sync::{PullResponse, PulledRecord, PushRequest, PushResponse, MUTATION_SCHEMA_VERSION};
use std::collections::HashMap;

/// The refusal that starts it.
pub fn is_restored(e: &HttpError) -> bool {
    e.status() == 409 && e.body().code == "sync.server_restored"
}

/// Rebuilds the outbox for the restored server; returns how many changes
/// go again. Part of the sync run's chunk: a chunk of its own was tried
/// and made the home page's code 1.1 KB larger (BENCHMARKS.md).
pub(super) async fn resend(session: Session, now_ms: i64) -> Result<u32, Failure> {
    let db = crate::field::offline::db().await?;
    let device_id = uuid::Uuid::parse_str(&session.device_id)
        .map_err(|_| OfflineError::Decode("device id is not a UUID".into()))?;
    let session = &session;
    // An empty push without an epoch is answered, not refused: the device's
    // last seq on this server, and the server's epoch.
    let probe: PushResponse = http::post_json(
        "/api/sync/push",
        &PushRequest {
            device_id,
            schema_version: MUTATION_SCHEMA_VERSION,
            mutations: Vec::new(),
            epoch: None,
        },
    )
    .await?;
    let mut visits = HashMap::new();
    let mut cursor = 0;
    loop {
        let page: PullResponse = http::get_json(&format!(
            "/api/sync/pull?cursor={cursor}&epoch={}",
            probe.epoch
        ))
        .await?;
        for change in page.changes {
            match change.record {
                PulledRecord::Visit(v) => {
                    visits.insert(v.id.clone(), v);
                }
                PulledRecord::Deleted(d) if d.entity == "visit" => {
                    visits.remove(&d.id);
                }
                _ => {}
            }
        }
        if !page.has_more {
            break;
        }
        cursor = page.cursor;
    }
    let count = db
        .resend_after_restore(session, probe.last_seq, &visits, now_ms)
        .await?;
    db.reset_for_resync(session).await?;
    db.set_epoch(&session.user.id, &probe.epoch).await?;
    Ok(count)
}
