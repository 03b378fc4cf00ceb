//! The office's register of facilities: search (words, tax code, place across
//! trees), a facility's page, and deactivation. Registration and edits are in
//! `edit`, a proposal registered at a facility in `proposal`.

use super::audit::{self, Actor};
use super::{catalog, changes, col, now_ms, units, Db, Tx};
use crate::error::{AppError, ErrorBody};
use crate::model::{AdminUnit, UnitLevel};
use crate::office::registry::contract::{FacilityDetail, FacilityEntry, ProposalLine};
use serde_json::json;
use std::collections::HashMap;

/// A moved facility's open-year proposals moving with it.
pub mod carry;
/// Registration and the office's edits, merged per field.
mod edit;
/// A proposal registered at a facility from the office.
mod proposal;
pub use edit::save;
pub use proposal::create_proposal;

type Units = HashMap<(String, String), AdminUnit>;

/// "Phường Bắc Giang, Tỉnh Bắc Ninh": a unit and those above it.
fn place(units: &Units, tree: &str, code: &str) -> String {
    let mut names = Vec::new();
    let mut at = Some(code.to_string());
    while let Some(c) = at {
        let Some(u) = units.get(&(tree.to_string(), c)) else {
            break;
        };
        names.push(capitalized(&u.full_name()));
        at = u.parent.clone();
    }
    names.join(", ")
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

async fn unit_map(db: &Db) -> Result<Units, AppError> {
    Ok(units::all(db)
        .await?
        .into_iter()
        .map(|u| ((u.tree.clone(), u.code.clone()), u))
        .collect())
}

const COLUMNS: &str = "f.id, f.name, f.owner_name, f.address, f.unit_tree, f.commune_code, f.district_code,
    f.industry_group, f.phone, f.lat, f.lon, f.workforce, f.main_products, f.tax_code, f.deleted_at, f.created_by";

fn entry(
    row: &sqlx::any::AnyRow,
    units: &HashMap<(String, String), AdminUnit>,
) -> Result<FacilityEntry, AppError> {
    let facility = catalog::facility(row)?;
    let code = facility
        .commune_code
        .clone()
        .or(facility.district_code.clone())
        .unwrap_or_default();
    Ok(FacilityEntry {
        tax_code: col(row, "tax_code")?,
        place: place(units, &facility.unit_tree, &code),
        unit: crate::model::unit_key(&facility.unit_tree, &code),
        active: col::<Option<i64>>(row, "deleted_at")?.is_none(),
        found_on_site: col::<Option<String>>(row, "created_by")?.is_some(),
        facility,
    })
}

/// Facilities holding every word of `query` in their name, owner, address or
/// tax code, or placed where `query` names (across trees), by name.
pub async fn find(
    db: &Db,
    query: &str,
    inactive: bool,
    limit: usize,
) -> Result<Vec<FacilityEntry>, AppError> {
    let contains = |column: &str, n: usize| match db.engine {
        super::Engine::Sqlite => format!("instr({column}, ${n}) > 0"),
        super::Engine::Postgres => format!("strpos({column}, ${n}) > 0"),
    };
    let mut params: Vec<String> = Vec::new();
    let mut words = Vec::new();
    for word in crate::search::fold(query).split_whitespace().take(8) {
        params.push(word.to_string());
        let n = params.len();
        words.push(format!(
            "({} OR {})",
            contains("f.search", n),
            contains("COALESCE(f.tax_code, '')", n)
        ));
    }
    let mut places = Vec::new();
    for path in units::paths_named(db, query).await? {
        params.push(path);
        places.push(format!("a.path LIKE ${} || '%'", params.len()));
    }
    let mut clauses = Vec::new();
    if !inactive {
        clauses.push("f.deleted_at IS NULL".to_string());
    }
    match (words.is_empty(), places.is_empty()) {
        (true, _) => {}
        (false, true) => clauses.push(words.join(" AND ")),
        (false, false) => clauses.push(format!(
            "(({}) OR {})",
            words.join(" AND "),
            places.join(" OR ")
        )),
    }
    let where_clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    // The `limit` first facilities in Vietnamese order ("Đ" after "D", tones
    // in dictionary order), which neither engine's collation gives: every
    // match's name is read and ordered here, then the chosen rows whole.
    let sql = format!(
        "SELECT f.id, f.name FROM facilities f
         LEFT JOIN admin_units a ON a.tree = f.unit_tree AND a.code = COALESCE(f.commune_code, f.district_code)
         {where_clause}"
    );
    let mut q = sqlx::query(&sql);
    for p in &params {
        q = q.bind(p.as_str());
    }
    let mut named = Vec::new();
    for r in q.fetch_all(&db.pool).await? {
        let id: String = col(&r, "id")?;
        let name: String = col(&r, "name")?;
        named.push((crate::collation::key(&name), id));
    }
    named.sort_unstable();
    named.truncate(limit);
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=named.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM facilities f WHERE f.id IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for (_, id) in &named {
        q = q.bind(id.as_str());
    }
    let units = unit_map(db).await?;
    let mut by_id = std::collections::HashMap::new();
    for r in q.fetch_all(&db.pool).await? {
        let e = entry(&r, &units)?;
        by_id.insert(e.facility.id.clone(), e);
    }
    Ok(named
        .into_iter()
        .filter_map(|(_, id)| by_id.remove(&id))
        .collect())
}

async fn read_entry(
    tx: &mut Tx,
    units: &HashMap<(String, String), AdminUnit>,
    id: &str,
) -> Result<Option<FacilityEntry>, AppError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM facilities f WHERE f.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(|r| entry(r, units))
    .transpose()
}

/// A facility and every proposal registered at it, newest year first.
pub async fn detail(db: &Db, id: &str) -> Result<FacilityDetail, AppError> {
    let units = unit_map(db).await?;
    let mut tx = db.pool.begin().await?;
    let entry = read_entry(&mut tx, &units, id)
        .await?
        .ok_or_else(|| AppError::NotFound("facility".into()))?;
    let mut proposals = sqlx::query(
        "SELECT id, year, title, support_kind, requested_amount, status, active FROM proposals
         WHERE facility_id = $1",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| {
        Ok(ProposalLine {
            id: col(r, "id")?,
            year: col::<i64>(r, "year")? as i32,
            title: col(r, "title")?,
            support_kind: col(r, "support_kind")?,
            requested_amount: col(r, "requested_amount")?,
            status: col(r, "status")?,
            active: col::<i64>(r, "active")? == 1,
        })
    })
    .collect::<Result<Vec<_>, AppError>>()?;
    // Newest year first, then titles in Vietnamese order.
    proposals.sort_by_cached_key(|p| {
        (
            std::cmp::Reverse(p.year),
            crate::collation::key(&p.title),
            p.id.clone(),
        )
    });
    tx.commit().await?;
    Ok(FacilityDetail {
        entry,
        proposals,
        conflicts: crate::store::conflicts::open_for_facility(db, id).await?,
    })
}

/// The commune and district codes a facility placed in `unit` gets.
fn codes(
    unit: &AdminUnit,
    units: &HashMap<(String, String), AdminUnit>,
) -> (Option<String>, Option<String>) {
    match unit.level {
        UnitLevel::District => (None, Some(unit.code.clone())),
        _ => {
            let district = unit
                .parent
                .as_ref()
                .and_then(|p| units.get(&(unit.tree.clone(), p.clone())))
                .filter(|p| p.level == UnitLevel::District)
                .map(|p| p.code.clone());
            (Some(unit.code.clone()), district)
        }
    }
}

/// Deactivates a facility (phones drop it at their next pull; its visits
/// and proposals stay) or brings it back. A facility with work still under
/// way (an active proposal of an open year, a visit not yet decided) stays:
/// the phones doing that work need it.
pub async fn set_active(db: &Db, actor: &Actor, id: &str, active: bool) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query("SELECT deleted_at FROM facilities WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::NotFound("facility".into()))?;
    let is_active = col::<Option<i64>>(&row, "deleted_at")?.is_none();
    if is_active == active {
        return Ok(());
    }
    if !active {
        let open_proposals: i64 = col(
            &sqlx::query(
                "SELECT COUNT(*) AS n FROM proposals p JOIN survey_years y ON y.year = p.year
                 WHERE p.facility_id = $1 AND p.active = 1 AND y.is_open = 1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?,
            "n",
        )?;
        if open_proposals > 0 {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "facility.has_open_proposals",
                    "this facility has proposals in an open year; deactivate them first",
                )
                .with("count", open_proposals),
            ));
        }
        let open_visits: i64 = col(
            &sqlx::query(
                "SELECT COUNT(*) AS n FROM visits WHERE facility_id = $1 AND deleted_at IS NULL
                   AND review_state IN ('in_progress', 'submitted', 'needs_changes')",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?,
            "n",
        )?;
        if open_visits > 0 {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "facility.has_open_visits",
                    "visits of this facility are still in progress or awaiting review",
                )
                .with("count", open_visits),
            ));
        }
    }
    sqlx::query("UPDATE facilities SET deleted_at = $1, updated_at = $2 WHERE id = $3")
        .bind(if active { None } else { Some(now_ms()) })
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let path = catalog::facility_path(&mut tx, id).await?;
    changes::append(&mut tx, "facility", id, Some(&path), None).await?;
    audit::record(
        &mut *tx,
        actor,
        if active {
            "facility.reactivated"
        } else {
            "facility.deactivated"
        },
        "facility",
        id,
        json!({"old": {"active": !active}, "new": {"active": active}}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
