//! Push: a batch of one device's mutations applied exactly once, in one
//! transaction. `seq <= last_seq` is a duplicate and changes nothing; a gap
//! refuses the whole batch; a mutation that fails validation is stored as refused
//! and the device's queue moves past it.

use super::{changes, col, now_ms, users, Db, Engine, Tx};
use crate::error::{AppError, ErrorBody};
use crate::forms::{definition::RESERVED_KEYS, rules};
use crate::model::{Role, UserInfo};
use crate::sync::{
    hlc::MAX_FUTURE_SKEW_MS, Entity, Hlc, Mutation, MutationKind, MutationResult, PushRequest,
    PushResponse,
};
use crate::sync::{MAX_BATCH, MUTATION_SCHEMA_VERSION};
use serde_json::Value;
use std::sync::Mutex;

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
    fn stamp(&self, phone: Hlc) -> (Hlc, Option<Hlc>) {
        let now = now_ms();
        let mut hlc = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if phone.ms > now + MAX_FUTURE_SKEW_MS {
            (hlc.tick(now), Some(phone))
        } else {
            hlc.merge(phone, now);
            (phone, None)
        }
    }
}

pub async fn push(
    db: &Db,
    clock: &ServerClock,
    user: &UserInfo,
    req: &PushRequest,
) -> Result<PushResponse, AppError> {
    if req.schema_version + 1 < MUTATION_SCHEMA_VERSION {
        return Err(AppError::SchemaTooOld {
            got: req.schema_version,
            min: MUTATION_SCHEMA_VERSION - 1,
        });
    }
    if req.schema_version > MUTATION_SCHEMA_VERSION {
        return Err(AppError::BadRequest(format!(
            "schema version {} is newer than this server's {MUTATION_SCHEMA_VERSION}",
            req.schema_version
        )));
    }
    if req.mutations.len() > MAX_BATCH {
        return Err(AppError::TooLarge {
            what: "mutations in one push",
            limit: MAX_BATCH,
        });
    }
    let device_id = req.device_id.to_string();
    let device = users::device(db, &device_id).await?;
    match device {
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
        Some(d) if d.revoked => return Err(AppError::Forbidden("this device was revoked".into())),
        Some(_) => {}
    }

    let mut mutations: Vec<&Mutation> = req.mutations.iter().collect();
    mutations.sort_by_key(|m| m.seq);

    let mut tx = db.begin_write().await?;
    let lock = match db.engine {
        Engine::Sqlite => "SELECT last_seq FROM devices WHERE device_id = $1",
        // Row lock: two pushes of one device serialise here.
        Engine::Postgres => "SELECT last_seq FROM devices WHERE device_id = $1 FOR UPDATE",
    };
    let row = sqlx::query(lock)
        .bind(&device_id)
        .fetch_one(&mut *tx)
        .await?;
    let mut last_seq: i64 = col(&row, "last_seq")?;
    let mut results = Vec::with_capacity(mutations.len());
    for m in mutations {
        if m.seq <= last_seq {
            results.push(MutationResult::Duplicate {
                seq: m.seq,
                mutation_id: m.mutation_id,
            });
            continue;
        }
        if m.seq != last_seq + 1 {
            tx.rollback().await?;
            return Err(AppError::SeqGap {
                expected: last_seq + 1,
                got: m.seq,
            });
        }
        let seen = sqlx::query("SELECT 1 AS one FROM mutations WHERE mutation_id = $1")
            .bind(m.mutation_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if seen.is_some() {
            results.push(MutationResult::Duplicate {
                seq: m.seq,
                mutation_id: m.mutation_id,
            });
            last_seq = m.seq;
            continue;
        }
        let (hlc, original) = clock.stamp(m.hlc);
        let outcome = match validate(&mut tx, user, m).await? {
            Ok(plan) => {
                apply(&mut tx, user, &device_id, m, hlc, plan).await?;
                Ok(())
            }
            Err(body) => Err(body),
        };
        let (status, error) = match &outcome {
            Ok(()) => ("applied", None),
            Err(body) => (
                "refused",
                Some(serde_json::to_string(body).unwrap_or_default()),
            ),
        };
        sqlx::query(
            "INSERT INTO mutations (mutation_id, device_id, seq, entity, record_id, kind, fields, hlc, original_hlc,
               base_version, status, error, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(m.mutation_id.to_string())
        .bind(&device_id)
        .bind(m.seq)
        .bind(m.entity.as_str())
        .bind(m.record_id.to_string())
        .bind(match m.kind {
            MutationKind::Upsert => "upsert",
            MutationKind::Delete => "delete",
        })
        .bind(serde_json::to_string(&m.fields).unwrap_or_default())
        .bind(hlc.encode())
        .bind(original.map(|h| h.encode()))
        .bind(m.base_version)
        .bind(status)
        .bind(error)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        results.push(match outcome {
            Ok(()) => MutationResult::Applied {
                seq: m.seq,
                mutation_id: m.mutation_id,
            },
            Err(error) => MutationResult::Refused {
                seq: m.seq,
                mutation_id: m.mutation_id,
                error,
            },
        });
        last_seq = m.seq;
    }
    sqlx::query("UPDATE devices SET last_seq = $1, last_seen_at = $2 WHERE device_id = $3")
        .bind(last_seq)
        .bind(now_ms())
        .bind(&device_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(PushResponse {
        results,
        last_seq,
        server_hlc: clock.now(),
    })
}

/// What validation found out about the visit, so `apply` need not ask again.
struct Plan {
    /// Header of a visit this mutation creates.
    create: Option<NewVisit>,
    unit_path: Option<String>,
    /// Answer fields to merge (header keys removed).
    answers: Vec<(String, Value)>,
}

struct NewVisit {
    form_id: String,
    form_version: i64,
    proposal_id: Option<String>,
    facility_id: Option<String>,
    district_code: String,
    created_at: i64,
}

fn refuse(code: &str, message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(code, message)
}

/// Paths of the units a user is assigned to; supervisors see everything.
async fn in_scope(tx: &mut Tx, user: &UserInfo, path: &str) -> Result<bool, AppError> {
    if user.has(Role::Supervisor) || user.has(Role::Administrator) {
        return Ok(true);
    }
    let rows = sqlx::query("SELECT a.path FROM user_units uu JOIN admin_units a ON a.code = uu.unit_code WHERE uu.user_id = $1")
        .bind(&user.id)
        .fetch_all(&mut **tx)
        .await?;
    for row in rows {
        let unit_path: String = col(&row, "path")?;
        if path.starts_with(&unit_path) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Checks one mutation. `Ok(Err(body))` is a refusal (stored, queue moves on);
/// `Err` is a failure of ours and aborts the batch.
async fn validate(
    tx: &mut Tx,
    user: &UserInfo,
    m: &Mutation,
) -> Result<Result<Plan, ErrorBody>, AppError> {
    match m.entity {
        Entity::Visit => validate_visit(tx, user, m).await,
    }
}

async fn validate_visit(
    tx: &mut Tx,
    user: &UserInfo,
    m: &Mutation,
) -> Result<Result<Plan, ErrorBody>, AppError> {
    let id = m.record_id.to_string();
    let existing = sqlx::query(
        "SELECT owner_id, form_id, form_version, unit_path, deleted_at FROM visits WHERE id = $1",
    )
    .bind(&id)
    .fetch_optional(&mut **tx)
    .await?;
    let (form_id, form_version, create, unit_path) = match existing {
        Some(row) => {
            let owner: String = col(&row, "owner_id")?;
            if owner != user.id {
                return Ok(Err(refuse(
                    "visit.not_yours",
                    "this visit belongs to another inspector",
                )));
            }
            if col::<Option<i64>>(&row, "deleted_at")?.is_some() {
                return Ok(Err(refuse("visit.deleted", "this visit was deleted")));
            }
            let form_id: String = col(&row, "form_id")?;
            let form_version: i64 = col(&row, "form_version")?;
            for (key, stored) in [
                ("form_id", Value::from(form_id.clone())),
                ("form_version", Value::from(form_version)),
            ] {
                if let Some(sent) = m.fields.get(key) {
                    if *sent != stored {
                        return Ok(Err(refuse(
                            "visit.header_immutable",
                            format!("{key} of a visit cannot change"),
                        )
                        .with("field", key)));
                    }
                }
            }
            (
                form_id,
                form_version,
                None,
                col::<Option<String>>(&row, "unit_path")?,
            )
        }
        None => {
            if m.kind == MutationKind::Delete {
                return Ok(Err(refuse(
                    "visit.unknown",
                    "there is no such visit to delete",
                )));
            }
            let Some(form_id) = m.fields.get("form_id").and_then(Value::as_str) else {
                return Ok(Err(refuse(
                    "visit.header_missing",
                    "a new visit needs form_id and form_version",
                )
                .with("field", "form_id")));
            };
            let Some(form_version) = m.fields.get("form_version").and_then(Value::as_i64) else {
                return Ok(Err(refuse(
                    "visit.header_missing",
                    "a new visit needs form_id and form_version",
                )
                .with("field", "form_version")));
            };
            let proposal_id = m
                .fields
                .get("proposal_id")
                .and_then(Value::as_str)
                .map(str::to_string);
            let mut facility_id = m
                .fields
                .get("facility_id")
                .and_then(Value::as_str)
                .map(str::to_string);
            let district_code = if let Some(pid) = &proposal_id {
                let Some(p) = super::catalog::proposal_by_id(&mut **tx, pid).await? else {
                    return Ok(Err(refuse(
                        "visit.unknown_proposal",
                        format!("no proposal {pid}"),
                    )
                    .with("field", "proposal_id")));
                };
                facility_id.get_or_insert(p.facility_id.clone());
                p.district_code
            } else if let Some(fid) = &facility_id {
                let Some(f) = super::catalog::facility_by_id(&mut **tx, fid).await? else {
                    return Ok(Err(refuse(
                        "visit.unknown_facility",
                        format!("no facility {fid}"),
                    )
                    .with("field", "facility_id")));
                };
                f.district_code
            } else {
                return Ok(Err(refuse(
                    "visit.header_missing",
                    "a new visit needs a proposal_id or a facility_id",
                )
                .with("field", "proposal_id")));
            };
            let path = super::units::path_of(tx, &district_code)
                .await?
                .unwrap_or_default();
            if !in_scope(tx, user, &path).await? {
                return Ok(Err(refuse(
                    "visit.out_of_scope",
                    "this proposal is outside your districts",
                )));
            }
            let created_at = m
                .fields
                .get("started_at")
                .and_then(Value::as_i64)
                .unwrap_or(m.hlc.ms);
            let create = NewVisit {
                form_id: form_id.to_string(),
                form_version,
                proposal_id,
                facility_id,
                district_code,
                created_at,
            };
            (form_id.to_string(), form_version, Some(create), Some(path))
        }
    };
    let Some(form) = super::forms::get(&mut **tx, &form_id, form_version).await? else {
        return Ok(Err(refuse(
            "visit.unknown_form",
            format!("no form {form_id} version {form_version}"),
        )));
    };
    let mut answers = Vec::new();
    for (key, value) in &m.fields {
        if RESERVED_KEYS.contains(&key.as_str()) {
            continue;
        }
        let Some(field) = form.field(key) else {
            return Ok(Err(refuse(
                "form.unknown_field",
                format!("form {form_id} v{form_version} has no field \"{key}\""),
            )
            .with("field", key.clone())));
        };
        if let Err(body) = rules::check_value(field, value) {
            return Ok(Err(body));
        }
        answers.push((key.clone(), value.clone()));
    }
    Ok(Ok(Plan {
        create,
        unit_path,
        answers,
    }))
}

async fn apply(
    tx: &mut Tx,
    user: &UserInfo,
    device_id: &str,
    m: &Mutation,
    hlc: Hlc,
    plan: Plan,
) -> Result<(), AppError> {
    let id = m.record_id.to_string();
    if let Some(v) = &plan.create {
        sqlx::query(
            "INSERT INTO visits (id, form_id, form_version, proposal_id, facility_id, owner_id, device_id, district_code,
               unit_path, review_state, created_at, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'in_progress', $10, $11)",
        )
        .bind(&id)
        .bind(&v.form_id)
        .bind(v.form_version)
        .bind(v.proposal_id.clone())
        .bind(v.facility_id.clone())
        .bind(&user.id)
        .bind(device_id)
        .bind(&v.district_code)
        .bind(plan.unit_path.clone())
        .bind(v.created_at)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    }
    if m.kind == MutationKind::Delete {
        sqlx::query("UPDATE visits SET deleted_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(&id)
            .execute(&mut **tx)
            .await?;
    }
    for (field, value) in &plan.answers {
        merge_field(tx, "visit", &id, field, value, m, hlc, device_id).await?;
    }
    changes::append(tx, "visit", &id, plan.unit_path.as_deref(), Some(&user.id)).await
}

/// Field-level last-writer-wins with kept conflicts (DESIGN.md, "Merge policy").
#[allow(clippy::too_many_arguments)]
async fn merge_field(
    tx: &mut Tx,
    entity: &str,
    record_id: &str,
    field: &str,
    value: &Value,
    m: &Mutation,
    hlc: Hlc,
    device_id: &str,
) -> Result<(), AppError> {
    let value_json = value.to_string();
    let stored = sqlx::query("SELECT value, version, hlc, device_id FROM field_values WHERE entity = $1 AND record_id = $2 AND field = $3")
        .bind(entity)
        .bind(record_id)
        .bind(field)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(stored) = stored else {
        sqlx::query(
            "INSERT INTO field_values (entity, record_id, field, value, version, hlc, device_id, mutation_id)
             VALUES ($1, $2, $3, $4, 1, $5, $6, $7)",
        )
        .bind(entity)
        .bind(record_id)
        .bind(field)
        .bind(&value_json)
        .bind(hlc.encode())
        .bind(device_id)
        .bind(m.mutation_id.to_string())
        .execute(&mut **tx)
        .await?;
        return Ok(());
    };
    let version: i64 = col(&stored, "version")?;
    let stored_hlc: String = col(&stored, "hlc")?;
    let stored_device: String = col(&stored, "device_id")?;
    let stored_value: String = col(&stored, "value")?;
    let concurrent = m.base_version < version;
    let incoming_wins =
        !concurrent || (hlc.encode(), device_id) > (stored_hlc.clone(), stored_device.as_str());
    if concurrent {
        let (winner, loser) = if incoming_wins {
            (
                (value_json.clone(), hlc.encode(), device_id.to_string()),
                (
                    stored_value.clone(),
                    stored_hlc.clone(),
                    stored_device.clone(),
                ),
            )
        } else {
            (
                (
                    stored_value.clone(),
                    stored_hlc.clone(),
                    stored_device.clone(),
                ),
                (value_json.clone(), hlc.encode(), device_id.to_string()),
            )
        };
        if winner.0 != loser.0 {
            sqlx::query(
                "INSERT INTO conflicts (entity, record_id, field, base_version, winner_value, winner_hlc, winner_device,
                   loser_value, loser_hlc, loser_device, loser_mutation_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(entity)
            .bind(record_id)
            .bind(field)
            .bind(m.base_version)
            .bind(winner.0)
            .bind(winner.1)
            .bind(winner.2)
            .bind(loser.0)
            .bind(loser.1)
            .bind(loser.2)
            .bind(m.mutation_id.to_string())
            .bind(now_ms())
            .execute(&mut **tx)
            .await?;
        }
    }
    if incoming_wins {
        sqlx::query(
            "UPDATE field_values SET value = $1, version = $2, hlc = $3, device_id = $4, mutation_id = $5
             WHERE entity = $6 AND record_id = $7 AND field = $8",
        )
        .bind(&value_json)
        .bind(version + 1)
        .bind(hlc.encode())
        .bind(device_id)
        .bind(m.mutation_id.to_string())
        .bind(entity)
        .bind(record_id)
        .bind(field)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
