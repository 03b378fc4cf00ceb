//! Conflicts a supervisor settles: two phones edited one field concurrently, the
//! merge kept one value and filed the other here. The supervisor's choice is an
//! ordinary field write (a new version the phones pull), not a special state.

use super::{changes, col, now_ms, Db};
use crate::error::{AppError, ErrorBody};
use crate::model::{Role, UserInfo};
use crate::office::review::contract::ConflictView;
use crate::sync::Hlc;
use serde_json::Value;

/// The unresolved conflicts on a visit and its repeat-group rows, oldest first.
pub async fn open_for_visit(db: &Db, visit_id: &str) -> Result<Vec<ConflictView>, AppError> {
    open_where(
        db,
        "(c.record_id = $1 OR c.record_id IN (SELECT r.id FROM visit_rows r WHERE r.visit_id = $1))",
        visit_id,
    )
    .await
}

/// How many conflicts of a visit and its rows are open, inside a write
/// transaction (an approval counts after it has read the visit's state, so a
/// push that submitted the visit is seen with the conflicts it made).
pub async fn open_count_for_visit(tx: &mut super::Tx, visit_id: &str) -> Result<i64, AppError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM conflicts c WHERE c.resolved_at IS NULL AND
           (c.record_id = $1 OR c.record_id IN (SELECT r.id FROM visit_rows r WHERE r.visit_id = $1))",
    )
    .bind(visit_id)
    .fetch_one(&mut **tx)
    .await?;
    col(&row, "n")
}

/// The unresolved conflicts on a facility's fields (an office edit and a
/// phone's offline edit, or two phones), oldest first.
pub async fn open_for_facility(db: &Db, id: &str) -> Result<Vec<ConflictView>, AppError> {
    open_where(db, "c.entity = 'facility' AND c.record_id = $1", id).await
}

async fn open_where(db: &Db, records: &str, id: &str) -> Result<Vec<ConflictView>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT c.id, c.entity, c.record_id, c.field, c.base_version, c.winner_value, c.winner_hlc, c.loser_value,
                c.loser_hlc, COALESCE(wu.display_name, wo.display_name) AS winner_name,
                COALESCE(fv.version, 0) AS current_version,
                COALESCE(lu.display_name, lo.display_name) AS loser_name, h.value AS base_value
         FROM conflicts c
         LEFT JOIN devices wd ON wd.device_id = c.winner_device
         LEFT JOIN users wu ON wu.id = wd.user_id
         LEFT JOIN devices ld ON ld.device_id = c.loser_device
         LEFT JOIN users lu ON lu.id = ld.user_id
         LEFT JOIN users wo ON 'office:' || wo.id = c.winner_device
         LEFT JOIN users lo ON 'office:' || lo.id = c.loser_device
         LEFT JOIN field_history h ON h.entity = c.entity AND h.record_id = c.record_id AND h.field = c.field
              AND h.version = c.base_version
         LEFT JOIN field_values fv ON fv.entity = c.entity AND fv.record_id = c.record_id AND fv.field = c.field
         WHERE c.resolved_at IS NULL AND {records}
         ORDER BY c.id"
    ))
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str::<Value>(&s).ok());
    let at = |s: String| Hlc::decode(&s).map(|h| h.ms).unwrap_or(0);
    rows.iter()
        .map(|r| {
            Ok(ConflictView {
                id: col(r, "id")?,
                entity: col(r, "entity")?,
                record_id: col(r, "record_id")?,
                field: col(r, "field")?,
                base: json(col(r, "base_value")?),
                mine: json(col(r, "loser_value")?).unwrap_or(Value::Null),
                mine_by: col::<Option<String>>(r, "loser_name")?.unwrap_or_default(),
                mine_at_ms: at(col(r, "loser_hlc")?),
                theirs: json(col(r, "winner_value")?).unwrap_or(Value::Null),
                theirs_by: col::<Option<String>>(r, "winner_name")?.unwrap_or_default(),
                theirs_at_ms: at(col(r, "winner_hlc")?),
                version: col(r, "current_version")?,
            })
        })
        .collect()
}

/// Stores the supervisor's value for a conflicted field and marks this
/// conflict and the open ones on that field recorded before it resolved. A
/// conflict recorded after it (a phone's edit that lost meanwhile, which
/// moves no version) stays open: its value was never shown. The value is checked against the field's
/// definition in the form version the visit used. `seen_version`: the
/// field's version the supervisor's page showed (`ConflictView::version`);
/// an edit synced since is not overwritten by a choice made without it
/// (`conflict.changed`).
pub async fn resolve(
    db: &Db,
    user: &UserInfo,
    conflict_id: i64,
    value: &Value,
    seen_version: Option<i64>,
    ip: Option<&str>,
) -> Result<(), AppError> {
    if !user.has(Role::Supervisor) {
        return Err(AppError::Forbidden(
            "only a supervisor resolves conflicts".into(),
        ));
    }
    let mut tx = db.begin_write().await?;
    let c = sqlx::query(
        "SELECT entity, record_id, field, winner_value, loser_value, resolved_at FROM conflicts WHERE id = $1",
    )
    .bind(conflict_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::NotFound("conflict".into()))?;
    if col::<Option<i64>>(&c, "resolved_at")?.is_some() {
        return Err(AppError::Invalid(ErrorBody::new(
            "conflict.resolved",
            "this conflict was already resolved; reload the visit",
        )));
    }
    let entity: String = col(&c, "entity")?;
    let record_id: String = col(&c, "record_id")?;
    let field: String = col(&c, "field")?;
    let settles = match entity.as_str() {
        "visit" | "visit_row" => {
            Settles::Visit(check_visit_value(&mut tx, &entity, &record_id, &field, value).await?)
        }
        "facility" => {
            // Each value was checked when it was written; another goes
            // through the facility's own form, with its unit and phone rules.
            let one_of = ["winner_value", "loser_value"].iter().any(|side| {
                col::<String>(&c, side)
                    .ok()
                    .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                    .is_some_and(|v| &v == value)
            });
            if !one_of {
                return Err(AppError::Invalid(ErrorBody::new(
                    "conflict.facility_value",
                    "a facility's conflict is settled with one of its two values; for another, choose one and edit the facility",
                )));
            }
            Settles::Facility {
                old_path: super::catalog::facility_path(&mut tx, &record_id).await?,
                proposals: if matches!(field.as_str(), "commune_code" | "district_code") {
                    super::facilities::carry::paths_before(&mut tx, &record_id).await?
                } else {
                    Vec::new()
                },
            }
        }
        _ => {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "conflict.not_a_visit",
                    "only conflicts on a visit's answers or a facility are resolved here",
                )
                .with("entity", entity),
            ))
        }
    };
    let current = sqlx::query(
        "SELECT value, version FROM field_values WHERE entity = $1 AND record_id = $2 AND field = $3",
    )
    .bind(&entity)
    .bind(&record_id)
    .bind(&field)
    .fetch_optional(&mut *tx)
    .await?;
    let (old, version) = match &current {
        Some(r) => (
            serde_json::from_str::<Value>(&col::<String>(r, "value")?).unwrap_or(Value::Null),
            col::<i64>(r, "version")?,
        ),
        None => (Value::Null, 0),
    };
    if seen_version.is_some_and(|seen| seen != version) {
        return Err(field_changed());
    }
    let history = super::rows::Buffer::new("field_history", super::merge::HISTORY_COLUMNS);
    let mutation_id = format!("office-{}", uuid::Uuid::now_v7());
    // The supervisor has seen the stored version (base = version), so this is a
    // plain replacement whatever the clocks say, never a new conflict.
    let outcome = super::merge::merge_field(
        &mut tx,
        &super::merge::Write {
            entity: &entity,
            record_id: &record_id,
            field: &field,
            value,
            base_version: version,
            hlc: Hlc::new(now_ms(), 0),
            device_id: &format!("office:{}", user.id),
            mutation_id: &mutation_id,
            // The office "device" orders its own writes by time: a later
            // resolution by the same supervisor must replace an earlier one.
            seq: now_ms(),
            history: &history,
            // A supervisor's choice is a plain replacement (the stored
            // version was seen), of a photo list as of any value.
            photo_set: matches!(&settles, Settles::Visit(v) if v.photos),
        },
    )
    .await?;
    if outcome != super::merge::Outcome::Won {
        // A phone's edit landed in between: nothing is written (the
        // transaction is dropped); the supervisor looks again.
        return Err(field_changed());
    }
    history.flush(&mut tx).await?;
    sqlx::query(
        "UPDATE conflicts SET resolved_at = $1, resolved_by = $2
         WHERE entity = $3 AND record_id = $4 AND field = $5 AND resolved_at IS NULL AND id <= $6",
    )
    .bind(now_ms())
    .bind(&user.id)
    .bind(&entity)
    .bind(&record_id)
    .bind(&field)
    .bind(conflict_id)
    .execute(&mut *tx)
    .await?;
    let actor = super::audit::Actor {
        user_id: Some(user.id.clone()),
        ip: ip.map(str::to_string),
    };
    let detail = serde_json::json!({"field": field, "record": record_id, "old": old, "new": value});
    match settles {
        Settles::Visit(visit) => {
            super::audit::record(
                &mut *tx,
                &actor,
                "resolve_conflict",
                "visit",
                &visit.id,
                detail,
            )
            .await?;
            changes::append(
                &mut tx,
                "visit",
                &visit.id,
                visit.path.as_deref(),
                Some(&visit.owner),
            )
            .await?;
        }
        Settles::Facility {
            old_path,
            proposals,
        } => {
            super::audit::record(
                &mut *tx,
                &actor,
                "resolve_conflict",
                "facility",
                &record_id,
                detail,
            )
            .await?;
            super::catalog::materialize_facility(&mut tx, &record_id).await?;
            let path = super::catalog::facility_path(&mut tx, &record_id).await?;
            if path != old_path {
                // It moved: phones of the old place must hear it left their scope.
                changes::append(&mut tx, "facility", &record_id, Some(&old_path), None).await?;
            }
            // A settled commune or district: its open years' proposals follow.
            let entries =
                super::facilities::carry::carry(&mut tx, &actor, &record_id, proposals).await?;
            changes::append_many(&mut tx, &entries).await?;
            changes::append(&mut tx, "facility", &record_id, Some(&path), None).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// What a resolved conflict tells: the visit it belongs to, or the facility.
enum Settles {
    Visit(VisitOf),
    Facility {
        old_path: String,
        /// Its proposals' scope paths before it settles (see `carry`).
        proposals: Vec<(String, String)>,
    },
}

/// 422 `conflict.changed`: the field moved on from what the supervisor saw.
fn field_changed() -> AppError {
    AppError::Invalid(ErrorBody::new(
        "conflict.changed",
        "the field changed while you were choosing; reload the visit and choose again",
    ))
}

struct VisitOf {
    id: String,
    path: Option<String>,
    owner: String,
    /// The field is a photo field: the chosen list goes without removed
    /// photos and photos of other visits (`merge::merge_field`).
    photos: bool,
}

/// Checks a value for a visit's field against the form version the visit
/// used; returns the visit the field belongs to.
async fn check_visit_value(
    tx: &mut super::Tx,
    entity: &str,
    record_id: &str,
    field: &str,
    value: &Value,
) -> Result<VisitOf, AppError> {
    let visit_id: String = if entity == "visit_row" {
        sqlx::query("SELECT visit_id FROM visit_rows WHERE id = $1")
            .bind(record_id)
            .fetch_one(&mut **tx)
            .await
            .map(|r| col(&r, "visit_id"))??
    } else {
        record_id.to_string()
    };
    let visit = sqlx::query(
        "SELECT form_id, form_version, unit_path, owner_id, review_state, proposal_id FROM visits WHERE id = $1",
    )
    .bind(&visit_id)
    .fetch_one(&mut **tx)
    .await?;
    // A closed year's answers stay as its plan was made on them.
    if let Some(proposal) = col::<Option<String>>(&visit, "proposal_id")? {
        super::years::check_decision_open(tx, &proposal).await?;
    }
    // A decided visit's answers are the ones decided on.
    let state: String = col(&visit, "review_state")?;
    if state == "approved" || state == "rejected" {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "conflict.visit_decided",
                "this visit was already decided; its answers stay as they were decided",
            )
            .with("state", state),
        ));
    }
    let form = super::forms::get_by_key(
        &mut **tx,
        &format!(
            "{}@{}",
            col::<String>(&visit, "form_id")?,
            col::<i64>(&visit, "form_version")?
        ),
    )
    .await?
    .ok_or_else(|| AppError::Internal("the visit's form is missing".into()))?;
    let definition = form
        .fields()
        .flat_map(|f| std::iter::once(f).chain(f.fields.iter()))
        .find(|f| f.key == field);
    let photos = definition.is_some_and(|d| d.kind == crate::forms::FieldType::Photo);
    if let Some(definition) = definition {
        // The rule's own code (form.expected_date, form.too_long…): the
        // office words each in the supervisor's language; the English
        // sentence and the field's key stay out of the page.
        crate::forms::rules::check_value(definition, value).map_err(AppError::Invalid)?;
    }
    Ok(VisitOf {
        id: visit_id,
        path: col(&visit, "unit_path")?,
        owner: col(&visit, "owner_id")?,
        photos,
    })
}
