//! The registry intake's commit, written in bulk: new facilities and
//! proposals with multi-row INSERTs, the few updates one by one, and the
//! change log last, so a 20,000-row file holds the change-log lock (which
//! every phone's push also takes) only for its final statements, not for
//! the whole import.

use super::changes::{self, Entry};
use super::rows::{Buffer, Param};
use super::{col, now_ms, Tx};
use crate::error::{AppError, ErrorBody};
use crate::model::{Facility, Proposal};
use crate::search::fold;
use std::collections::{BTreeSet, HashMap};

/// What a checked intake file writes.
#[derive(Debug, Default)]
pub struct Commit {
    /// New facilities with their tax codes.
    pub new_facilities: Vec<(Facility, Option<String>)>,
    /// Tax codes given to matched facilities that had none or another: (facility, tax code).
    pub tax_codes: Vec<(String, String)>,
    /// New proposals with their facility's name and external reference.
    pub new_proposals: Vec<(Proposal, String, Option<String>)>,
    /// Changed proposals, likewise.
    pub updated_proposals: Vec<(Proposal, String, Option<String>)>,
}

const FACILITY_COLUMNS: &[&str] = &[
    "id",
    "name",
    "owner_name",
    "address",
    "unit_tree",
    "commune_code",
    "district_code",
    "industry_group",
    "phone",
    "search",
    "created_at",
    "updated_at",
    "tax_code",
];

const PROPOSAL_COLUMNS: &[&str] = &[
    "id",
    "year",
    "unit_tree",
    "district_code",
    "commune_code",
    "facility_id",
    "title",
    "support_kind",
    "requested_amount",
    "status",
    "search",
    "created_at",
    "updated_at",
    "external_ref",
];

/// (tree, code) → path of every unit of `trees`.
async fn unit_paths(
    tx: &mut Tx,
    trees: &BTreeSet<String>,
) -> Result<HashMap<(String, String), String>, AppError> {
    let mut out = HashMap::new();
    for tree in trees {
        for row in sqlx::query("SELECT code, path FROM admin_units WHERE tree = $1")
            .bind(tree)
            .fetch_all(&mut **tx)
            .await?
        {
            out.insert((tree.clone(), col(&row, "code")?), col(&row, "path")?);
        }
    }
    Ok(out)
}

/// id → scope path of stored facilities.
async fn stored_facility_paths(
    tx: &mut Tx,
    ids: &BTreeSet<String>,
) -> Result<HashMap<String, String>, AppError> {
    let ids: Vec<&String> = ids.iter().collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT f.id, a.path FROM facilities f
             JOIN admin_units a ON a.tree = f.unit_tree AND a.code = COALESCE(f.commune_code, f.district_code)
             WHERE f.id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for row in q.fetch_all(&mut **tx).await? {
            out.insert(col(&row, "id")?, col(&row, "path")?);
        }
    }
    Ok(out)
}

fn place_of(
    paths: &HashMap<(String, String), String>,
    tree: &str,
    commune: &Option<String>,
    district: &Option<String>,
) -> Result<String, AppError> {
    let code = commune.clone().or(district.clone()).unwrap_or_default();
    paths
        .get(&(tree.to_string(), code.clone()))
        .cloned()
        .ok_or_else(|| AppError::Internal(format!("no unit {code} in tree {tree}")))
}

/// Writes a checked intake in one transaction (the caller commits).
/// Intake commits of every process take turns here (PostgreSQL; SQLite's
/// writers already do): a file is matched against the registry before its
/// transaction, so a second commit of the same file must see the first's.
const INTAKE_LOCK: i64 = 0x006b_6873_2d69_6e74; // "khs-int"

/// `registry.changed`: what the file was matched against changed before it
/// could be written (another commit of the same rows, from another office or
/// a double click); matching again decides anew.
pub fn changed() -> AppError {
    AppError::Invalid(ErrorBody::new(
        "registry.changed",
        "the registry changed while this file was being checked: check it again",
    ))
}

/// Refuses with `changed()` when a facility this commit would create is in
/// the store already (same tax code, or same name in the same commune), or a
/// proposal with its reference.
async fn check_still_new(tx: &mut Tx, c: &Commit) -> Result<(), AppError> {
    if super::changes::engine_of(tx) == super::Engine::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(INTAKE_LOCK)
            .execute(&mut **tx)
            .await?;
    }
    for (f, tax_code) in &c.new_facilities {
        let found = sqlx::query(
            "SELECT 1 AS one FROM facilities WHERE deleted_at IS NULL AND (tax_code = $1
               OR (unit_tree = $2 AND commune_code = $3 AND name = $4)) LIMIT 1",
        )
        .bind(tax_code.clone())
        .bind(&f.unit_tree)
        .bind(f.commune_code.clone())
        .bind(&f.name)
        .fetch_optional(&mut **tx)
        .await?;
        if found.is_some() {
            return Err(changed());
        }
    }
    for (p, _, external_ref) in &c.new_proposals {
        let Some(reference) = external_ref else {
            continue;
        };
        let found = sqlx::query(
            "SELECT 1 AS one FROM proposals WHERE year = $1 AND external_ref = $2 LIMIT 1",
        )
        .bind(p.year)
        .bind(reference)
        .fetch_optional(&mut **tx)
        .await?;
        if found.is_some() {
            return Err(changed());
        }
    }
    Ok(())
}

pub async fn write(tx: &mut Tx, c: &Commit, actor: &super::audit::Actor) -> Result<(), AppError> {
    check_still_new(tx, c).await?;
    let now = now_ms();
    let mut years = BTreeSet::new();
    let mut trees = BTreeSet::new();
    for (f, _) in &c.new_facilities {
        trees.insert(f.unit_tree.clone());
    }
    for (p, _, _) in c.new_proposals.iter().chain(&c.updated_proposals) {
        trees.insert(p.unit_tree.clone());
        years.insert(p.year);
    }
    // A year closed since the file was checked takes nothing.
    for year in years {
        super::years::open_year(tx, year).await?;
    }
    let paths = unit_paths(tx, &trees).await?;
    let mut facility_paths: HashMap<String, String> = HashMap::new();
    let mut entries = Vec::new();

    let facilities = Buffer::new("facilities", FACILITY_COLUMNS);
    for (f, tax_code) in &c.new_facilities {
        let path = place_of(&paths, &f.unit_tree, &f.commune_code, &f.district_code)?;
        facilities.push(vec![
            Param::Text(f.id.clone()),
            Param::Text(f.name.clone()),
            Param::MaybeText(f.owner_name.clone()),
            Param::MaybeText(f.address.clone()),
            Param::Text(f.unit_tree.clone()),
            Param::MaybeText(f.commune_code.clone()),
            Param::MaybeText(f.district_code.clone()),
            Param::Text(f.industry_group.clone()),
            Param::MaybeText(f.phone.clone()),
            Param::Text(super::catalog::facility_search(f)),
            Param::Int(now),
            Param::Int(now),
            Param::MaybeText(tax_code.clone()),
        ]);
        entries.push(Entry {
            entity: "facility".into(),
            record_id: f.id.clone(),
            unit_path: Some(path.clone()),
            owner_id: None,
        });
        facility_paths.insert(f.id.clone(), path);
    }
    facilities.flush(tx).await?;
    for (id, tax_code) in &c.tax_codes {
        super::registry::set_tax_code(tx, id, tax_code).await?;
    }

    let stored: BTreeSet<String> = c
        .new_proposals
        .iter()
        .chain(&c.updated_proposals)
        .map(|(p, _, _)| p.facility_id.clone())
        .filter(|id| !facility_paths.contains_key(id))
        .collect();
    facility_paths.extend(stored_facility_paths(tx, &stored).await?);
    // A proposal is scoped where its facility is when that lies in the unit
    // it was registered in (see `catalog::proposal_path`).
    let scope = |p: &Proposal| -> Result<String, AppError> {
        let unit = place_of(&paths, &p.unit_tree, &p.commune_code, &p.district_code)?;
        Ok(facility_paths
            .get(&p.facility_id)
            .filter(|f| f.starts_with(&unit))
            .cloned()
            .unwrap_or(unit))
    };
    let proposals = Buffer::new("proposals", PROPOSAL_COLUMNS);
    for (p, facility_name, external_ref) in &c.new_proposals {
        proposals.push(vec![
            Param::Text(p.id.clone()),
            Param::Int(i64::from(p.year)),
            Param::Text(p.unit_tree.clone()),
            Param::MaybeText(p.district_code.clone()),
            Param::MaybeText(p.commune_code.clone()),
            Param::Text(p.facility_id.clone()),
            Param::Text(p.title.clone()),
            Param::Text(p.support_kind.clone()),
            Param::Int(p.requested_amount),
            Param::Text(p.status.clone()),
            Param::Text(fold(&format!("{} {facility_name}", p.title))),
            Param::Int(now),
            Param::Int(now),
            Param::MaybeText(external_ref.clone()),
        ]);
        entries.push(Entry {
            entity: "proposal".into(),
            record_id: p.id.clone(),
            unit_path: Some(scope(p)?),
            owner_id: None,
        });
    }
    proposals.flush(tx).await?;
    for (p, facility_name, external_ref) in &c.updated_proposals {
        super::plan::check_requested_covers(tx, &p.id, p.requested_amount).await?;
        let stored = super::catalog::proposal_by_id(&mut **tx, &p.id).await?;
        let old_path = match &stored {
            Some(old) => Some(super::catalog::stored_proposal_path(tx, old).await?),
            None => None,
        };
        // Each proposal's own trail says what a file changed on it, as an
        // edit on its page does (the import's entry holds only counts).
        let values = |p: &Proposal| {
            serde_json::json!({"title": p.title, "support_kind": p.support_kind,
                "requested_amount": p.requested_amount, "facility_id": p.facility_id,
                "commune_code": p.commune_code, "district_code": p.district_code})
        };
        if let Some(old) = stored.as_ref().filter(|old| values(old) != values(p)) {
            super::audit::record(
                &mut **tx,
                actor,
                "proposal.updated",
                "proposal",
                &p.id,
                serde_json::json!({"old": values(old), "new": values(p), "by": "registry.imported"}),
            )
            .await?;
        }
        sqlx::query(
            "UPDATE proposals SET unit_tree = $1, district_code = $2, commune_code = $3, facility_id = $4,
               title = $5, support_kind = $6, requested_amount = $7, search = $8, updated_at = $9,
               external_ref = COALESCE($10, external_ref)
             WHERE id = $11",
        )
        .bind(&p.unit_tree)
        .bind(p.district_code.clone())
        .bind(p.commune_code.clone())
        .bind(&p.facility_id)
        .bind(&p.title)
        .bind(&p.support_kind)
        .bind(p.requested_amount)
        .bind(fold(&format!("{} {facility_name}", p.title)))
        .bind(now)
        .bind(external_ref.clone())
        .bind(&p.id)
        .execute(&mut **tx)
        .await?;
        let path = scope(p)?;
        if let Some(old) = old_path.filter(|old| *old != path) {
            // It moved: the phones of its old place must hear it left.
            entries.push(Entry {
                entity: "proposal".into(),
                record_id: p.id.clone(),
                unit_path: Some(old),
                owner_id: None,
            });
        }
        entries.push(Entry {
            entity: "proposal".into(),
            record_id: p.id.clone(),
            unit_path: Some(path),
            owner_id: None,
        });
    }
    changes::append_many(tx, &entries).await
}
