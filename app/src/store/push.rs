//! Push: a batch of one device's mutations applied exactly once, in one
//! transaction. `seq <= last_seq` is a duplicate and changes nothing; a gap
//! refuses the whole batch; a mutation that fails validation is stored as refused
//! and the device's queue moves past it. Import replays a phone's backup file
//! through the same code, deduplicated by mutation id.
//!
//! One file (about 655 lines): push and import walk the same seqs of one
//! device in one transaction, and their rules for a seq are read together.

use super::apply::{self, Author};
use super::{col, now_ms, users, Db, Engine, Tx};
use crate::error::{AppError, ErrorBody};
use crate::model::{Role, UserInfo};
use crate::sync::{
    hlc::MAX_FUTURE_SKEW_MS, ExportFile, Hlc, ImportResponse, Mutation, MutationResult,
    PushRequest, PushResponse, EXPORT_FORMAT,
};
use crate::sync::{Entity, MAX_BATCH, MUTATION_SCHEMA_VERSION};
use std::sync::Mutex;

/// Largest backup file import reads, in mutations.
pub const MAX_IMPORT: usize = 50_000;

/// The server's own clock: merged with every phone stamp it accepts and sent
/// back in every response.
#[derive(Debug, Default)]
pub struct ServerClock(Mutex<Hlc>);

impl ServerClock {
    pub fn now(&self) -> Hlc {
        let mut hlc = self.0.lock().unwrap_or_else(|p| p.into_inner());
        hlc.tick(now_ms())
    }

    /// The stamp the server records for a phone's mutation: the phone's own when
    /// plausible, or a fresh server stamp when the phone's clock runs more than
    /// 60 s ahead (the original is kept for audit).
    pub fn stamp(&self, phone: Hlc) -> (Hlc, Option<Hlc>) {
        self.stamp_at(phone, now_ms())
    }

    pub fn stamp_at(&self, phone: Hlc, now: i64) -> (Hlc, Option<Hlc>) {
        let mut hlc = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if phone.ms > now + MAX_FUTURE_SKEW_MS {
            (hlc.tick(now), Some(phone))
        } else {
            hlc.merge(phone, now);
            (phone, None)
        }
    }
}

/// A device counts its changes 1, 2, 3…: a seq below 1 is a broken client,
/// not a duplicate to wave through.
fn check_seqs(mutations: &[Mutation]) -> Result<(), AppError> {
    match mutations.iter().find(|m| m.seq < 1) {
        Some(m) => Err(AppError::BadRequest(format!(
            "seq must be 1 or more; mutation {} has seq {}",
            m.mutation_id, m.seq
        ))),
        None => Ok(()),
    }
}

fn check_schema(version: u32) -> Result<(), AppError> {
    // Not `version + 1`: u32::MAX would wrap to 0 and read as too old.
    if version < MUTATION_SCHEMA_VERSION.saturating_sub(1) {
        return Err(AppError::SchemaTooOld {
            got: version,
            min: MUTATION_SCHEMA_VERSION - 1,
        });
    }
    if version > MUTATION_SCHEMA_VERSION {
        return Err(AppError::BadRequest(format!(
            "schema version {version} is newer than this server's {MUTATION_SCHEMA_VERSION}"
        )));
    }
    Ok(())
}

pub async fn push(
    db: &Db,
    clock: &ServerClock,
    user: &UserInfo,
    req: &PushRequest,
) -> Result<PushResponse, AppError> {
    check_schema(req.schema_version)?;
    check_seqs(&req.mutations)?;
    if req.mutations.len() > MAX_BATCH {
        return Err(AppError::TooLarge {
            what: "mutations in one push",
            limit: MAX_BATCH,
        });
    }
    let device_id = req.device_id.to_string();
    match users::device(db, &device_id).await? {
        None => {
            return Err(AppError::Forbidden(
                "unknown device; log in on this phone first".into(),
            ))
        }
        Some(d) if d.user_id != user.id => {
            return Err(AppError::Forbidden(
                "this device belongs to another user".into(),
            ))
        }
        Some(d) if d.revoked => return Err(AppError::device_revoked()),
        Some(d) => {
            let epoch = super::service::log_epoch(db).await?;
            if req.epoch.as_ref().is_some_and(|e| *e != epoch) {
                return Err(AppError::server_restored(&epoch, Some(d.last_seq)));
            }
        }
    }
    let (results, last_seq) =
        apply_batch_retrying(db, clock, user, &device_id, &req.mutations, Mode::Push).await?;
    Ok(PushResponse {
        results,
        last_seq,
        server_hlc: clock.now(),
        epoch: super::service::log_epoch(db).await?,
    })
}

/// Replays a phone's backup under its original device and seqs. Allowed for the
/// device's owner and for supervisors, also when the device was revoked.
pub async fn import(
    db: &Db,
    clock: &ServerClock,
    importer: &UserInfo,
    file: &ExportFile,
) -> Result<ImportResponse, AppError> {
    if file.format != EXPORT_FORMAT {
        return Err(AppError::BadRequest(format!(
            "this is not a khaosat backup (format \"{}\", expected \"{EXPORT_FORMAT}\")",
            file.format
        )));
    }
    // A file too old is the backup's fault, not the app's: a reload, which
    // the phone's general sentence advises, would not help.
    check_schema(file.schema_version).map_err(|e| match e {
        AppError::SchemaTooOld { .. } => AppError::Protocol {
            status: 409,
            body: e.body().with("reason", "backup_too_old"),
        },
        other => other,
    })?;
    check_seqs(&file.mutations)?;
    if file.mutations.len() > MAX_IMPORT {
        return Err(AppError::TooLarge {
            what: "mutations in one import",
            limit: MAX_IMPORT,
        });
    }
    let device_id = file.device_id.to_string();
    let device = users::device(db, &device_id)
        .await?
        .ok_or_else(|| AppError::NotFound("device".into()))?;
    if device.user_id != importer.id && !importer.has(Role::Supervisor) {
        return Err(AppError::Forbidden(
            "only the phone's owner or a supervisor may import its backup".into(),
        ));
    }
    // A phone that still syncs sends its own changes: a supervisor's import
    // for it would write answers in the inspector's name (and take the seqs
    // the phone's next changes need). A supervisor imports the backup of a
    // phone that can no longer sync: revoked, or its owner's account
    // deactivated.
    if device.user_id != importer.id && !device.revoked && device.owner_active {
        return Err(AppError::Protocol {
            status: 409,
            body: crate::error::ErrorBody::new(
                "import.device_live",
                "this phone still syncs: its owner sends its changes; a supervisor imports only a revoked phone's backup",
            ),
        });
    }
    let owner = users::info_by_id(db, &device.user_id)
        .await?
        .ok_or_else(|| AppError::Internal("device without owner".into()))?;
    let by_other = device.user_id != importer.id;
    let mut results = Vec::with_capacity(file.mutations.len());
    let mut last_seq = device.last_seq;
    // In seq order across the whole file, not only within each batch: a file
    // written backwards would otherwise apply an edit before its creation.
    let mut ordered = file.mutations.clone();
    ordered.sort_by_key(|m| m.seq);
    for chunk in ordered.chunks(MAX_BATCH) {
        let mode = Mode::Import { by_other };
        let (r, l) = apply_batch_retrying(db, clock, &owner, &device_id, chunk, mode).await?;
        results.extend(r);
        last_seq = l;
    }
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, action, entity, record_id, detail) VALUES ($1, $2, 'import', 'device', $3, $4)",
    )
    .bind(now_ms())
    .bind(&importer.id)
    .bind(&device_id)
    .bind(serde_json::json!({"mutations": file.mutations.len(), "last_seq": last_seq}).to_string())
    .execute(&db.pool)
    .await?;
    Ok(ImportResponse {
        results,
        last_seq,
        server_hlc: clock.now(),
        photos: 0,
    })
}

/// Whether `m` touches only what `device` started: a visit it created (or a
/// new one), that visit's rows and photos, or a facility that does not exist
/// yet (one found on site).
async fn started_here(tx: &mut Tx, device: &str, m: &Mutation) -> Result<bool, AppError> {
    let id = m.record_id.to_string();
    let visit_of_fields = m
        .fields
        .get("visit_id")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    let visit = match m.entity {
        Entity::Visit => Some(id.clone()),
        Entity::VisitRow => visit_of(tx, "visit_rows", &id).await?.or(visit_of_fields),
        Entity::Photo => visit_of(tx, "photos", &id).await?.or(visit_of_fields),
        Entity::Facility => {
            let exists = sqlx::query("SELECT 1 AS one FROM facilities WHERE id = $1")
                .bind(&id)
                .fetch_optional(&mut **tx)
                .await?;
            return Ok(exists.is_none());
        }
    };
    let Some(visit) = visit else { return Ok(true) };
    let made_by = sqlx::query("SELECT device_id FROM visits WHERE id = $1")
        .bind(&visit)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| col::<String>(&r, "device_id"))
        .transpose()?;
    Ok(made_by.is_none_or(|d| d == device))
}

/// The visit a stored row or photo (`table`: a constant name) belongs to.
async fn visit_of(tx: &mut Tx, table: &'static str, id: &str) -> Result<Option<String>, AppError> {
    sqlx::query(&format!("SELECT visit_id FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| col::<String>(&r, "visit_id"))
        .transpose()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// From the phone's outbox: seqs must continue without a gap.
    Push,
    /// From a backup file, which may be partial: every mutation not yet seen is
    /// applied, and last_seq advances only over the seqs now present without a
    /// gap, so the phone can still push the missing ones later. `by_other`:
    /// a supervisor imports it, not the phone's owner.
    Import { by_other: bool },
}

/// How many times a batch PostgreSQL undid whole for meeting another write
/// of the same records (two phones editing one facility at once) is run again.
const RACE_RETRIES: usize = 3;

/// Runs a batch, and again with a fresh author when it met another write of
/// the same records and was undone whole, up to `RACE_RETRIES` times; then
/// 503, which the phone sends again. Never a 500 for two people at work.
async fn apply_batch_retrying(
    db: &Db,
    clock: &ServerClock,
    user: &UserInfo,
    device_id: &str,
    batch: &[Mutation],
    mode: Mode,
) -> Result<(Vec<MutationResult>, i64), AppError> {
    let _turn = match db.engine {
        Engine::Sqlite => Some(
            db.writers
                .acquire()
                .await
                .map_err(|_| AppError::Internal("the writers' turn was closed".into()))?,
        ),
        Engine::Postgres => None,
    };
    let mut attempt = 0;
    loop {
        let author = Author::new(user, device_id);
        match apply_batch(db, clock, &author, batch, mode).await {
            Err(e) if e.is_race() && attempt < RACE_RETRIES => {
                attempt += 1;
                tracing::info!(
                    "a push met another write of the same records; running it again ({attempt})"
                );
            }
            other => return other.map_err(AppError::race_lost),
        }
    }
}

async fn apply_batch(
    db: &Db,
    clock: &ServerClock,
    author: &Author<'_>,
    batch: &[Mutation],
    mode: Mode,
) -> Result<(Vec<MutationResult>, i64), AppError> {
    let mut mutations: Vec<&Mutation> = batch.iter().collect();
    mutations.sort_by_key(|m| m.seq);
    let device_id = author.device_id;

    let mut tx = db.begin_write().await?;
    let lock = match db.engine {
        Engine::Sqlite => "SELECT last_seq FROM devices WHERE device_id = $1",
        // Row lock: two pushes of one device serialise here.
        Engine::Postgres => "SELECT last_seq FROM devices WHERE device_id = $1 FOR UPDATE",
    };
    let row = sqlx::query(lock)
        .bind(device_id)
        .fetch_one(&mut *tx)
        .await?;
    let mut last_seq: i64 = col(&row, "last_seq")?;
    let mut results = Vec::with_capacity(mutations.len());
    let mut previous: Option<i64> = None;
    let mut retried = std::collections::BTreeSet::new();
    // Mutation ids already stored (imported from a backup before the phone
    // pushed, or an import replayed): one query per 100 instead of one each.
    let mut known = std::collections::HashSet::new();
    // Of those, the refused ones: a file replaying one is told again why,
    // not that the change is already there.
    let mut refused_ids = std::collections::HashMap::new();
    for chunk in mutations.chunks(100) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT mutation_id, status, error FROM mutations WHERE mutation_id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for m in chunk {
            q = q.bind(m.mutation_id.to_string());
        }
        for row in q.fetch_all(&mut *tx).await? {
            let id = col::<String>(&row, "mutation_id")?;
            if col::<String>(&row, "status")? == "refused" {
                refused_ids.insert(id.clone(), stored_refusal(&row)?);
            }
            known.insert(id);
        }
    }
    // The stored change at each seq this batch names: a seq at or below
    // last_seq is a retry only if it holds this very change, and a seq past it
    // that an import filled under another id means the backup was not this
    // phone's.
    // A retry of a refused change gets its refusal again: its first answer
    // may never have reached the phone (the page closed, the network cut),
    // and "duplicate" would tell it the change was kept.
    let mut ahead = std::collections::HashMap::new();
    let mut refusals = std::collections::HashMap::new();
    if mode == Mode::Push && !mutations.is_empty() {
        let (first, last) = (mutations[0].seq, mutations[mutations.len() - 1].seq);
        let rows = sqlx::query(
            "SELECT seq, mutation_id, status, error FROM mutations
             WHERE device_id = $1 AND seq >= $2 AND seq <= $3",
        )
        .bind(device_id)
        .bind(first)
        .bind(last)
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            let seq = col::<i64>(&row, "seq")?;
            if col::<String>(&row, "status")? == "refused" {
                refusals.insert(seq, stored_refusal(&row)?);
            }
            ahead.insert(seq, col::<String>(&row, "mutation_id")?);
        }
    }
    for m in mutations {
        let duplicate = MutationResult::Duplicate {
            seq: m.seq,
            mutation_id: m.mutation_id,
        };
        if previous == Some(m.seq) {
            // The same seq twice in one batch: the first one counts.
            results.push(duplicate);
            continue;
        }
        previous = Some(m.seq);
        let seen = known.contains(&m.mutation_id.to_string()).then_some(());
        match mode {
            Mode::Push => {
                let taken = ahead
                    .get(&m.seq)
                    .is_some_and(|id: &String| *id != m.mutation_id.to_string());
                if taken && m.seq <= last_seq + 1 {
                    // The log keeps one change per seq, so this one is refused
                    // (the phone keeps it and can still export it) and the queue
                    // moves on, instead of every retry failing.
                    results.push(MutationResult::Refused {
                        seq: m.seq,
                        mutation_id: m.mutation_id,
                        error: ErrorBody::new(
                            "sync.seq_taken",
                            format!(
                                "seq {} of this device already holds another change, imported from a backup",
                                m.seq
                            ),
                        )
                        .with("seq", m.seq),
                    });
                    last_seq = last_seq.max(m.seq);
                    continue;
                }
                if m.seq <= last_seq {
                    match refusals.get(&m.seq) {
                        Some(error) => results.push(MutationResult::Refused {
                            seq: m.seq,
                            mutation_id: m.mutation_id,
                            error: error.clone(),
                        }),
                        _ => {
                            retried.insert((m.entity.as_str(), m.record_id));
                            results.push(duplicate);
                        }
                    }
                    continue;
                }
                if m.seq != last_seq + 1 {
                    tx.rollback().await?;
                    return Err(AppError::SeqGap {
                        expected: last_seq + 1,
                        got: m.seq,
                    });
                }
                if seen.is_some() {
                    // Imported from a backup before the phone got to push it.
                    results.push(match refused_ids.get(&m.mutation_id.to_string()) {
                        Some(error) => MutationResult::Refused {
                            seq: m.seq,
                            mutation_id: m.mutation_id,
                            error: error.clone(),
                        },
                        None => duplicate,
                    });
                    last_seq = m.seq;
                    continue;
                }
            }
            Mode::Import { by_other } => {
                if let Some(error) = refused_ids.get(&m.mutation_id.to_string()) {
                    results.push(MutationResult::Refused {
                        seq: m.seq,
                        mutation_id: m.mutation_id,
                        error: error.clone(),
                    });
                    continue;
                }
                if seen.is_some() {
                    results.push(duplicate);
                    continue;
                }
                // Someone else's import writes in the phone's name: it may
                // only continue what this phone started, never reach into a
                // visit another phone made (the owner imports anything).
                if by_other && !started_here(&mut tx, device_id, m).await? {
                    results.push(MutationResult::Refused {
                        seq: m.seq,
                        mutation_id: m.mutation_id,
                        error: ErrorBody::new(
                            "import.not_this_phones",
                            "a supervisor's import changes only what this phone started; its owner imports the rest",
                        ),
                    });
                    continue;
                }
                let taken =
                    sqlx::query("SELECT 1 AS one FROM mutations WHERE device_id = $1 AND seq = $2")
                        .bind(device_id)
                        .bind(m.seq)
                        .fetch_optional(&mut *tx)
                        .await?;
                if taken.is_some() || m.seq <= last_seq || m.seq < 1 {
                    results.push(MutationResult::Refused {
                        seq: m.seq,
                        mutation_id: m.mutation_id,
                        error: ErrorBody::new(
                            "import.seq_taken",
                            format!("seq {} of this device already holds another change", m.seq),
                        )
                        .with("seq", m.seq),
                    });
                    continue;
                }
            }
        }
        let result = apply_one(&mut tx, clock, author, m).await?;
        known.insert(m.mutation_id.to_string());
        results.push(result);
        if mode == Mode::Push {
            last_seq = m.seq;
        }
    }
    // Buffered rows go in now: the import's seq walk below reads them.
    author.history.flush(&mut tx).await?;
    author.log.flush(&mut tx).await?;
    if matches!(mode, Mode::Import { .. }) {
        last_seq = contiguous_seq(&mut tx, device_id, last_seq).await?;
    }
    // A retry: the phone may have missed the merged state (see `apply::touch`).
    for (_, record) in &retried {
        let entity = batch
            .iter()
            .find(|m| m.record_id == *record)
            .map(|m| m.entity)
            .unwrap_or(crate::sync::Entity::Visit);
        apply::touch(&mut tx, author, entity, &record.to_string()).await?;
    }
    author.flush(&mut tx).await?;
    sqlx::query("UPDATE devices SET last_seq = $1, last_seen_at = $2 WHERE device_id = $3")
        .bind(last_seq)
        .bind(now_ms())
        .bind(device_id)
        .execute(&mut *tx)
        .await?;
    #[cfg(feature = "testing")]
    if let Some(delay) = fault_delay() {
        tokio::time::sleep(delay).await;
    }
    tx.commit().await?;
    Ok((results, last_seq))
}

/// The highest seq reachable from `from` without a gap among stored mutations.
async fn contiguous_seq(tx: &mut Tx, device_id: &str, from: i64) -> Result<i64, AppError> {
    let rows =
        sqlx::query("SELECT seq FROM mutations WHERE device_id = $1 AND seq > $2 ORDER BY seq")
            .bind(device_id)
            .bind(from)
            .fetch_all(&mut **tx)
            .await?;
    let mut last = from;
    for row in rows {
        let seq: i64 = col(&row, "seq")?;
        if seq != last + 1 {
            break;
        }
        last = seq;
    }
    Ok(last)
}

async fn apply_one(
    tx: &mut Tx,
    clock: &ServerClock,
    author: &Author<'_>,
    m: &Mutation,
) -> Result<MutationResult, AppError> {
    let (hlc, original) = clock.stamp(m.hlc);
    // Validation refuses before writing, except a submit, which merges its
    // answers first and then checks the whole visit: a refused submit must leave
    // nothing behind, so it runs inside a savepoint.
    let guarded = m.kind == crate::sync::MutationKind::Submit;
    let buffered = author.history.len();
    if guarded {
        savepoint(tx, "SAVEPOINT mutation").await?;
    }
    let verdict = apply::apply(tx, author, m, hlc).await?;
    if guarded {
        if verdict.is_err() {
            savepoint(tx, "ROLLBACK TO SAVEPOINT mutation").await?;
            author.history.truncate(buffered);
        }
        savepoint(tx, "RELEASE SAVEPOINT mutation").await?;
    }
    let (status, error) = match &verdict {
        Ok(_) => ("applied", None),
        Err(body) => (
            "refused",
            Some(serde_json::to_string(body).unwrap_or_default()),
        ),
    };
    use super::rows::Param::{Int, MaybeText, Text};
    author.log.push(vec![
        Text(m.mutation_id.to_string()),
        Text(author.device_id.to_string()),
        Int(m.seq),
        Text(m.entity.as_str().to_string()),
        Text(m.record_id.to_string()),
        Text(m.kind.as_str().to_string()),
        Text(serde_json::to_string(&m.fields).unwrap_or_default()),
        Text(hlc.encode()),
        MaybeText(original.map(|h| h.encode())),
        Int(m.base_version),
        Text(status.to_string()),
        MaybeText(error),
        Int(now_ms()),
    ]);
    Ok(match verdict {
        Ok(applied) => MutationResult::Applied {
            seq: m.seq,
            mutation_id: m.mutation_id,
            lost: applied.lost,
            stamped: original.map(|_| hlc),
        },
        Err(error) => MutationResult::Refused {
            seq: m.seq,
            mutation_id: m.mutation_id,
            error,
        },
    })
}

async fn savepoint(tx: &mut Tx, sql: &str) -> Result<(), AppError> {
    sqlx::query(sql).execute(&mut **tx).await?;
    Ok(())
}

/// Fault injection for the crash test: `KHAOSAT_FAULT_PUSH_DELAY_MS` holds every
/// push transaction open that long before it commits, so a SIGKILL can be aimed
/// at an open transaction. Compiled only into test builds (feature `testing`).
#[cfg(feature = "testing")]
fn fault_delay() -> Option<std::time::Duration> {
    static DELAY: std::sync::OnceLock<Option<std::time::Duration>> = std::sync::OnceLock::new();
    *DELAY.get_or_init(|| {
        std::env::var("KHAOSAT_FAULT_PUSH_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(std::time::Duration::from_millis)
    })
}

/// A stored refusal's reason, as it was first answered.
fn stored_refusal(row: &sqlx::any::AnyRow) -> Result<ErrorBody, AppError> {
    Ok(col::<Option<String>>(row, "error")?
        .and_then(|e| serde_json::from_str::<ErrorBody>(&e).ok())
        .unwrap_or_else(|| ErrorBody::new("sync.refused", "this change was refused")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `version + 1` wrapped at u32::MAX: a schema from far ahead read as too old.
    #[test]
    fn a_schema_far_ahead_is_newer_not_too_old() {
        assert!(matches!(
            check_schema(u32::MAX),
            Err(AppError::BadRequest(_))
        ));
        assert!(check_schema(MUTATION_SCHEMA_VERSION).is_ok());
        if MUTATION_SCHEMA_VERSION >= 2 {
            assert!(matches!(
                check_schema(0),
                Err(AppError::SchemaTooOld { .. })
            ));
        }
    }
}
