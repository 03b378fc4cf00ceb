//! Facilities and proposals: the central proposal database the office keeps and
//! the phones receive (scoped to the inspector's units).
//!
//! One file (about 630 lines): facilities and proposals share their placement and path rules (a proposal is where its facility is); apart, each would import the other's.

use super::{changes, col, now_ms, units, Tx};
use crate::error::AppError;
use crate::model::{Facility, Proposal};
use crate::search::fold;
use sqlx::any::AnyRow;

async fn unit_path(tx: &mut Tx, tree: &str, code: &str) -> Result<String, AppError> {
    units::path_of(tx, tree, code)
        .await?
        .ok_or_else(|| unknown_unit(tree, code))
}

fn unknown_unit(tree: &str, code: &str) -> AppError {
    AppError::Invalid(
        crate::error::ErrorBody::new(
            "unit.unknown",
            format!("no administrative unit with code {code} in tree {tree}"),
        )
        .with("unit", code.to_string())
        .with("tree", tree.to_string()),
    )
}

/// The tree a record names its units in: its own, or for records from phones
/// that predate named trees, the oldest tree holding the code (the only one
/// there was).
async fn record_tree(tx: &mut Tx, tree: &str, code: &str) -> Result<String, AppError> {
    if !tree.is_empty() {
        return Ok(tree.to_string());
    }
    units::oldest_tree_with(tx, code)
        .await?
        .ok_or_else(|| unknown_unit(tree, code))
}

/// The tree and scope path of a record placed in `commune` or `district`
/// (the commune's when both), every named unit checked against the tree.
async fn placement(
    tx: &mut Tx,
    tree: &str,
    commune: Option<&str>,
    district: Option<&str>,
) -> Result<(String, String), AppError> {
    let Some(unit) = commune.or(district) else {
        return Err(AppError::Invalid(crate::error::ErrorBody::new(
            "unit.missing",
            "a facility or proposal needs a commune or a district",
        )));
    };
    let tree = record_tree(tx, tree, unit).await?;
    let path = unit_path(tx, &tree, unit).await?;
    if let (Some(_), Some(district)) = (commune, district) {
        unit_path(tx, &tree, district).await?;
    }
    Ok((tree, path))
}

pub async fn upsert_facility(tx: &mut Tx, f: &Facility) -> Result<(), AppError> {
    let (tree, path) = placement(
        tx,
        &f.unit_tree,
        f.commune_code.as_deref(),
        f.district_code.as_deref(),
    )
    .await?;
    let now = now_ms();
    sqlx::query(
        "INSERT INTO facilities (id, name, owner_name, address, unit_tree, commune_code, district_code, industry_group,
           phone, lat, lon, workforce, main_products, search, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, owner_name = excluded.owner_name,
           address = excluded.address, unit_tree = excluded.unit_tree, commune_code = excluded.commune_code,
           district_code = excluded.district_code,
           industry_group = excluded.industry_group, phone = excluded.phone, lat = excluded.lat, lon = excluded.lon,
           workforce = excluded.workforce, main_products = excluded.main_products, search = excluded.search,
           updated_at = excluded.updated_at",
    )
    .bind(&f.id)
    .bind(&f.name)
    .bind(f.owner_name.clone())
    .bind(f.address.clone())
    .bind(&tree)
    .bind(f.commune_code.clone())
    .bind(f.district_code.clone())
    .bind(&f.industry_group)
    .bind(f.phone.clone())
    .bind(f.lat)
    .bind(f.lon)
    .bind(f.workforce)
    .bind(f.main_products.clone())
    .bind(facility_search(f))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    changes::append(tx, "facility", &f.id, Some(&path), None).await
}

/// The scope path of a proposal: its facility's commune when that lies in the
/// unit that registered it (so an inspector of the commune, or of a unit the
/// commune maps to in another tree, sees it), else that unit's.
async fn proposal_path(
    tx: &mut Tx,
    unit_path: String,
    facility_id: &str,
) -> Result<String, AppError> {
    let facility = sqlx::query(
        "SELECT a.path FROM facilities f
         JOIN admin_units a ON a.tree = f.unit_tree AND a.code = COALESCE(f.commune_code, f.district_code)
         WHERE f.id = $1",
    )
    .bind(facility_id)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| col::<String>(&r, "path"))
    .transpose()?;
    Ok(facility
        .filter(|f| f.starts_with(&unit_path))
        .unwrap_or(unit_path))
}

/// The scope path of a stored proposal (see `proposal_path`).
pub async fn stored_proposal_path(tx: &mut Tx, p: &Proposal) -> Result<String, AppError> {
    let unit = p
        .commune_code
        .as_deref()
        .or(p.district_code.as_deref())
        .unwrap_or_default();
    let unit_path = units::path_of(tx, &p.unit_tree, unit)
        .await?
        .unwrap_or_default();
    proposal_path(tx, unit_path, &p.facility_id).await
}

/// A proposal is placed where its facility is: the facility's own unit (or a
/// unit above or below it), or in a newer or older tree what the mappings
/// join to it. Elsewhere, no inspector's scope would hold both, and the
/// proposal would sit in the plan with nobody able to survey it.
async fn check_facility_there(
    tx: &mut Tx,
    tree: &str,
    unit_path: &str,
    p: &Proposal,
) -> Result<(), AppError> {
    let Some(facility) = away_from_facility(tx, tree, unit_path, p).await? else {
        return Ok(());
    };
    let unit = p
        .commune_code
        .as_deref()
        .or(p.district_code.as_deref())
        .unwrap_or_default();
    Err(AppError::Invalid(
        crate::error::ErrorBody::new(
            "proposal.facility_elsewhere",
            "the proposal's commune is not where its facility is (nor what that place became)",
        )
        .with("facility", facility)
        .with("unit", unit.to_string()),
    ))
}

/// Whether a stored proposal is placed away from its facility (see
/// `check_facility_there`): after the facility moved, until it is carried.
pub async fn is_away_from_facility(tx: &mut Tx, p: &Proposal) -> Result<bool, AppError> {
    let (tree, unit_path) = placement(
        tx,
        &p.unit_tree,
        p.commune_code.as_deref(),
        p.district_code.as_deref(),
    )
    .await?;
    Ok(away_from_facility(tx, &tree, &unit_path, p)
        .await?
        .is_some())
}

/// The facility's name when `p`, placed at `unit_path` of `tree`, is not
/// where its facility is.
async fn away_from_facility(
    tx: &mut Tx,
    tree: &str,
    unit_path: &str,
    p: &Proposal,
) -> Result<Option<String>, AppError> {
    let facility = sqlx::query(
        "SELECT a.path, f.name, f.unit_tree FROM facilities f
         JOIN admin_units a ON a.tree = f.unit_tree AND a.code = COALESCE(f.commune_code, f.district_code)
         WHERE f.id = $1",
    )
    .bind(&p.facility_id)
    .fetch_optional(&mut **tx)
    .await?;
    // No facility (or one without a place) is refused where it is looked up.
    let Some(facility) = facility else {
        return Ok(None);
    };
    let facility_path: String = col(&facility, "path")?;
    let nested = |a: &str, b: &str| a.starts_with(b) || b.starts_with(a);
    if nested(&facility_path, unit_path) {
        return Ok(None);
    }
    // In one tree a place is itself; what it merged with later is elsewhere.
    if col::<String>(&facility, "unit_tree")? == tree {
        return Ok(Some(col::<String>(&facility, "name")?));
    }
    let unit = p
        .commune_code
        .as_deref()
        .or(p.district_code.as_deref())
        .unwrap_or_default();
    let related = units::related_paths(&mut **tx, tree, unit).await?;
    if related.iter().any(|r| nested(&facility_path, r)) {
        return Ok(None);
    }
    Ok(Some(col::<String>(&facility, "name")?))
}

pub async fn upsert_proposal(tx: &mut Tx, p: &Proposal) -> Result<(), AppError> {
    // A proposal belongs to an open year and names units of the year's tree.
    let year = super::years::open_year(tx, p.year).await?;
    if !p.unit_tree.is_empty() && p.unit_tree != year.unit_tree {
        return Err(AppError::Invalid(
            crate::error::ErrorBody::new(
                "proposal.wrong_tree",
                format!(
                    "a proposal of {} uses units of tree {}",
                    p.year, year.unit_tree
                ),
            )
            .with("year", p.year)
            .with("tree", year.unit_tree.clone()),
        ));
    }
    let (tree, unit_path) = placement(
        tx,
        &year.unit_tree,
        p.commune_code.as_deref(),
        p.district_code.as_deref(),
    )
    .await?;
    // Checked when the proposal is placed or moved, not when its title or
    // amount is edited: a facility moved since keeps its proposals editable.
    let stored = proposal_by_id(&mut **tx, &p.id).await?;
    let placed_again = stored.as_ref().is_none_or(|old| {
        (&old.commune_code, &old.district_code, &old.facility_id)
            != (&p.commune_code, &p.district_code, &p.facility_id)
    });
    if placed_again {
        check_facility_there(tx, &tree, &unit_path, p).await?;
    }
    super::plan::check_requested_covers(tx, &p.id, p.requested_amount).await?;
    let path = proposal_path(tx, unit_path, &p.facility_id).await?;
    let old_path = match &stored {
        Some(old) => Some(stored_proposal_path(tx, old).await?),
        None => None,
    };
    let facility_name = sqlx::query("SELECT name FROM facilities WHERE id = $1")
        .bind(&p.facility_id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| col::<String>(&r, "name"))
        .transpose()?
        .ok_or_else(|| AppError::NotFound(format!("facility {}", p.facility_id)))?;
    let now = now_ms();
    sqlx::query(
        "INSERT INTO proposals (id, year, unit_tree, district_code, commune_code, facility_id, title, support_kind,
           requested_amount, status, search, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
         ON CONFLICT (id) DO UPDATE SET year = excluded.year, unit_tree = excluded.unit_tree,
           district_code = excluded.district_code, commune_code = excluded.commune_code,
           facility_id = excluded.facility_id, title = excluded.title, support_kind = excluded.support_kind,
           requested_amount = excluded.requested_amount, status = excluded.status, search = excluded.search,
           updated_at = excluded.updated_at",
    )
    .bind(&p.id)
    .bind(p.year as i64)
    .bind(&tree)
    .bind(p.district_code.clone())
    .bind(p.commune_code.clone())
    .bind(&p.facility_id)
    .bind(&p.title)
    .bind(&p.support_kind)
    .bind(p.requested_amount)
    .bind(&p.status)
    .bind(fold(&format!("{} {}", p.title, facility_name)))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if let Some(old) = old_path.filter(|old| *old != path) {
        // It moved: the phones of its old place must hear it left.
        changes::append(tx, "proposal", &p.id, Some(&old), None).await?;
    }
    changes::append(tx, "proposal", &p.id, Some(&path), None).await
}

const FACILITY_COLUMNS: &str = "id, name, owner_name, address, unit_tree, commune_code, district_code, industry_group, phone, lat, lon, workforce, main_products";

/// A facility from a row holding `FACILITY_COLUMNS`.
pub(super) fn facility(row: &AnyRow) -> Result<Facility, AppError> {
    Ok(Facility {
        id: col(row, "id")?,
        name: col(row, "name")?,
        owner_name: col(row, "owner_name")?,
        address: col(row, "address")?,
        unit_tree: col(row, "unit_tree")?,
        commune_code: col(row, "commune_code")?,
        district_code: col(row, "district_code")?,
        industry_group: col(row, "industry_group")?,
        phone: col(row, "phone")?,
        lat: col(row, "lat")?,
        lon: col(row, "lon")?,
        workforce: col(row, "workforce")?,
        main_products: col(row, "main_products")?,
        versions: Default::default(),
    })
}

/// The unit path a facility is scoped by: its commune's, else its district's.
/// The proposals of a facility, to announce with it when it moves: they are
/// announced at their facility's place, so the old place's phones must drop
/// them and the new place's receive them.
pub async fn proposal_ids_of(tx: &mut Tx, facility_id: &str) -> Result<Vec<String>, AppError> {
    sqlx::query("SELECT id FROM proposals WHERE facility_id = $1 ORDER BY id")
        .bind(facility_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| col(r, "id"))
        .collect()
}

/// Every proposal of a survey year, by ID.
pub async fn proposal_ids_of_year(tx: &mut Tx, year: i32) -> Result<Vec<String>, AppError> {
    sqlx::query("SELECT id FROM proposals WHERE year = $1 ORDER BY id")
        .bind(i64::from(year))
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| col(r, "id"))
        .collect()
}

pub async fn facility_path(tx: &mut Tx, id: &str) -> Result<String, AppError> {
    let row = sqlx::query(
        "SELECT a.path FROM facilities f
         JOIN admin_units a ON a.tree = f.unit_tree AND a.code = COALESCE(f.commune_code, f.district_code)
         WHERE f.id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    col(&row, "path")
}

/// Field edits from phones are merged per field in `field_values`; this writes
/// the winning values into the facility's columns, which the office reads.
pub async fn materialize_facility(tx: &mut Tx, id: &str) -> Result<(), AppError> {
    let Some(mut f) = facility_by_id(&mut **tx, id).await? else {
        return Ok(());
    };
    let rows = sqlx::query(
        "SELECT field, value FROM field_values WHERE entity = 'facility' AND record_id = $1",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        let field: String = col(&row, "field")?;
        let value: serde_json::Value =
            serde_json::from_str(&col::<String>(&row, "value")?).unwrap_or_default();
        let text = || value.as_str().map(str::to_string);
        match field.as_str() {
            "name" => f.name = text().unwrap_or_default(),
            "owner_name" => f.owner_name = text(),
            "address" => f.address = text(),
            "commune_code" => f.commune_code = text(),
            "district_code" => f.district_code = text(),
            "industry_group" => f.industry_group = text().unwrap_or_default(),
            "phone" => f.phone = text(),
            "lat" => f.lat = value.as_f64(),
            "lon" => f.lon = value.as_f64(),
            "workforce" => f.workforce = value.as_i64(),
            "main_products" => f.main_products = text(),
            _ => {}
        }
    }
    // Place fields merge one by one, so a commune from one edit and a
    // district from an older one would put the facility in a commune outside
    // its district. The commune is the finer fact: its district follows it.
    if let Some(commune) = &f.commune_code {
        let district = sqlx::query(
            "SELECT d.code FROM admin_units c
             JOIN admin_units d ON d.tree = c.tree AND d.code = c.parent_code AND d.level = 'district'
             WHERE c.tree = $1 AND c.code = $2",
        )
        .bind(&f.unit_tree)
        .bind(commune)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(d) = district {
            f.district_code = Some(col(&d, "code")?);
        }
    }
    sqlx::query(
        "UPDATE facilities SET name = $1, owner_name = $2, address = $3, commune_code = $4, district_code = $5,
           industry_group = $6, phone = $7, lat = $8, lon = $9, workforce = $10, main_products = $11, search = $12,
           updated_at = $13 WHERE id = $14",
    )
    .bind(&f.name)
    .bind(f.owner_name.clone())
    .bind(f.address.clone())
    .bind(f.commune_code.clone())
    .bind(f.district_code.clone())
    .bind(&f.industry_group)
    .bind(f.phone.clone())
    .bind(f.lat)
    .bind(f.lon)
    .bind(f.workforce)
    .bind(f.main_products.clone())
    .bind(facility_search(&f))
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The folded text a facility is searched by.
pub fn facility_search(f: &Facility) -> String {
    fold(&format!(
        "{} {} {}",
        f.name,
        f.owner_name.as_deref().unwrap_or(""),
        f.address.as_deref().unwrap_or("")
    ))
}

const PROPOSAL_COLUMNS: &str =
    "id, year, unit_tree, district_code, commune_code, facility_id, title, support_kind, requested_amount, status";

fn proposal(row: &AnyRow) -> Result<Proposal, AppError> {
    Ok(Proposal {
        id: col(row, "id")?,
        year: col::<i64>(row, "year")? as i32,
        unit_tree: col(row, "unit_tree")?,
        district_code: col(row, "district_code")?,
        commune_code: col(row, "commune_code")?,
        facility_id: col(row, "facility_id")?,
        title: col(row, "title")?,
        support_kind: col(row, "support_kind")?,
        requested_amount: col(row, "requested_amount")?,
        status: col(row, "status")?,
        form_id: None,
        form_version: None,
    })
}

pub async fn facility_by_id<'c, E>(exec: E, id: &str) -> Result<Option<Facility>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row = sqlx::query(&format!(
        "SELECT {FACILITY_COLUMNS} FROM facilities WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(exec)
    .await?;
    row.as_ref().map(facility).transpose()
}

pub async fn proposal_by_id<'c, E>(exec: E, id: &str) -> Result<Option<Proposal>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row = sqlx::query(&format!(
        "SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(exec)
    .await?;
    row.as_ref().map(proposal).transpose()
}

fn in_list(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Many facilities at once for a pull page, each with whether it is deleted and
/// the unit paths it is seen from: its own place, and the place of each of its
/// proposals that phones hold (a 2026 proposal at a 2025 commune names where a
/// facility known only by its abolished district now is).
#[allow(clippy::type_complexity)]
pub async fn facilities_for_pull(
    db: &super::Db,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, (Facility, bool, Vec<String>)>, AppError> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(200) {
        let sql = format!(
            "SELECT {FACILITY_COLUMNS}, deleted_at,
               (SELECT a.path FROM admin_units a WHERE a.tree = facilities.unit_tree
                  AND a.code = COALESCE(facilities.commune_code, facilities.district_code)) AS path
             FROM facilities WHERE id IN ({})",
            in_list(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&db.pool).await? {
            let f = facility(&row)?;
            let deleted = col::<Option<i64>>(&row, "deleted_at")?.is_some();
            let path: Option<String> = col(&row, "path")?;
            out.insert(
                f.id.clone(),
                (f, deleted, path.into_iter().collect::<Vec<_>>()),
            );
        }
        let sql = format!(
            "SELECT p.facility_id, a.path FROM proposals p
             JOIN survey_years y ON y.year = p.year AND y.is_open = 1
             JOIN admin_units a ON a.tree = p.unit_tree
               AND a.code = COALESCE(p.commune_code, p.district_code)
             WHERE p.active = 1 AND p.facility_id IN ({})",
            in_list(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&db.pool).await? {
            let id: String = col(&row, "facility_id")?;
            if let Some((_, _, paths)) = out.get_mut(&id) {
                paths.push(col::<String>(&row, "path")?);
            }
        }
        let sql = format!(
            "SELECT record_id, field, version FROM field_values WHERE entity = 'facility' AND record_id IN ({})",
            in_list(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&db.pool).await? {
            let id: String = col(&row, "record_id")?;
            if let Some((f, _, _)) = out.get_mut(&id) {
                f.versions
                    .insert(col(&row, "field")?, col(&row, "version")?);
            }
        }
    }
    Ok(out)
}

/// Many proposals at once for a pull page, each with whether phones hold it
/// (its year is open and it is active), its year's form version filled in,
/// and the unit paths of its facility's place and of its own.
#[allow(clippy::type_complexity)]
pub async fn proposals_by_ids(
    db: &super::Db,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, (Proposal, bool, ProposalPlaces)>, AppError> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(200) {
        let columns = PROPOSAL_COLUMNS
            .split(", ")
            .map(|c| format!("p.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns}, y.form_id AS year_form, y.form_version AS year_form_version,
               COALESCE(y.is_open, 0) * p.active AS year_open,
               (SELECT a.path FROM facilities f JOIN admin_units a ON a.tree = f.unit_tree
                  AND a.code = COALESCE(f.commune_code, f.district_code)
                WHERE f.id = p.facility_id) AS path,
               (SELECT a.path FROM admin_units a WHERE a.tree = p.unit_tree
                  AND a.code = COALESCE(p.commune_code, p.district_code)) AS own_path
             FROM proposals p LEFT JOIN survey_years y ON y.year = p.year WHERE p.id IN ({})",
            in_list(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&db.pool).await? {
            let mut p = proposal(&row)?;
            p.form_id = col(&row, "year_form")?;
            p.form_version = col::<Option<i64>>(&row, "year_form_version")?.map(|v| v as i32);
            let open = col::<i64>(&row, "year_open")? == 1;
            let places = ProposalPlaces {
                facility: col(&row, "path")?,
                own: col(&row, "own_path")?,
            };
            out.insert(p.id.clone(), (p, open, places));
        }
    }
    Ok(out)
}

/// Where a proposal is seen from: its facility's place, and its own unit.
#[derive(Debug, Clone, Default)]
pub struct ProposalPlaces {
    pub facility: Option<String>,
    pub own: Option<String>,
}

impl ProposalPlaces {
    /// Whether a phone that sees what `visible` says holds the proposal: by
    /// its facility's place, or by its own unit, where its visits are pushed
    /// and its changes announced (`stored_proposal_path`) when the facility
    /// lies outside that unit (a facility known by an abolished district).
    pub fn seen(&self, visible: impl Fn(&str) -> bool) -> bool {
        self.facility.as_deref().is_some_and(&visible) || self.seen_by_own_unit_alone(visible)
    }

    /// Seen by its own unit where its facility's place is not: the phone
    /// needs the facility sent with it.
    pub fn seen_by_own_unit_alone(&self, visible: impl Fn(&str) -> bool) -> bool {
        let Some(own) = self.own.as_deref().filter(|o| !o.is_empty()) else {
            return false;
        };
        let outside = self.facility.as_deref().is_none_or(|f| !f.starts_with(own));
        outside && visible(own) && !self.facility.as_deref().is_some_and(&visible)
    }
}
