//! A facility that moves takes its open years' proposals with it. A proposal
//! is placed where its facility is (`catalog::check_facility_there`); one
//! left behind would be counted in the old commune's plan and surveyed by
//! an inspector who can no longer see the facility. Every move site (the
//! office's edit, a phone's edit, a settled conflict, a reopened year) goes
//! through here, and a proposal's visits go where it goes.

use super::proposal::units_for;
use crate::error::{AppError, ErrorBody};
use crate::model::{Facility, Proposal, UnitLevel};
use crate::store::audit::{self, Actor};
use crate::store::changes::Entry;
use crate::store::{catalog, col, now_ms, units, Tx};

/// The scope path of each proposal of a facility, read before it moves, so
/// the phones of each old place hear that the proposal left.
pub async fn paths_before(
    tx: &mut Tx,
    facility_id: &str,
) -> Result<Vec<(String, String)>, AppError> {
    let mut out = Vec::new();
    for id in catalog::proposal_ids_of(tx, facility_id).await? {
        if let Some(p) = catalog::proposal_by_id(&mut **tx, &id).await? {
            let path = catalog::stored_proposal_path(tx, &p).await?;
            out.push((id, path));
        }
    }
    Ok(out)
}

/// After the facility's place is stored: each proposal of an open year that
/// is no longer where its facility is moves (see `carry_one`). A closed
/// year's proposals stay: its plan is history, until the year reopens.
/// Returns the change-log entries the proposals owe: the old path where it
/// changed, then the new one.
pub async fn carry(
    tx: &mut Tx,
    actor: &Actor,
    facility_id: &str,
    before: Vec<(String, String)>,
) -> Result<Vec<Entry>, AppError> {
    let mut out = Vec::new();
    let Some(facility) = catalog::facility_by_id(&mut **tx, facility_id).await? else {
        return Ok(out);
    };
    for (id, old_path) in before {
        let Some(p) = catalog::proposal_by_id(&mut **tx, &id).await? else {
            continue;
        };
        carry_one(tx, actor, &facility, &p).await?;
        let Some(p) = catalog::proposal_by_id(&mut **tx, &id).await? else {
            continue;
        };
        let path = catalog::stored_proposal_path(tx, &p).await?;
        let entry = |unit_path: String| Entry {
            entity: "proposal".into(),
            record_id: id.clone(),
            unit_path: Some(unit_path),
            owner_id: None,
        };
        if old_path != path {
            out.push(entry(old_path));
        }
        out.push(entry(path));
    }
    Ok(out)
}

/// A year reopens: its proposals whose facility moved while it was closed
/// go where the facility is now. The caller announces them afterwards.
pub async fn carry_year(tx: &mut Tx, actor: &Actor, year: i32) -> Result<(), AppError> {
    let ids = catalog::proposal_ids_of_year(tx, year).await?;
    for id in ids {
        let Some(p) = catalog::proposal_by_id(&mut **tx, &id).await? else {
            continue;
        };
        if let Some(f) = catalog::facility_by_id(&mut **tx, &p.facility_id).await? {
            carry_one(tx, actor, &f, &p).await?;
        }
    }
    Ok(())
}

/// Moves one proposal of an open year that is away from its facility to
/// the one unit `targets` gives. With several or none it stays, for the
/// office to place (`place_choices`); a closed year's, or one already
/// there, is left as it is.
async fn carry_one(
    tx: &mut Tx,
    actor: &Actor,
    facility: &Facility,
    p: &Proposal,
) -> Result<(), AppError> {
    if !year_open(tx, p.year).await? || !catalog::is_away_from_facility(tx, p).await? {
        return Ok(());
    }
    let targets = targets(tx, facility, p).await?;
    let [code] = targets.as_slice() else {
        return Ok(());
    };
    let (commune, district) = codes_of(tx, &p.unit_tree, code).await?;
    if (&commune, &district) == (&p.commune_code, &p.district_code) {
        return Ok(());
    }
    sqlx::query(
        "UPDATE proposals SET commune_code = $1, district_code = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(commune.clone())
    .bind(district.clone())
    .bind(now_ms())
    .bind(&p.id)
    .execute(&mut **tx)
    .await?;
    place_visits(tx, &p.id).await?;
    audit::record(
        &mut **tx,
        actor,
        "proposal.moved_with_facility",
        "proposal",
        &p.id,
        serde_json::json!({
            "old": {"commune_code": p.commune_code, "district_code": p.district_code},
            "new": {"commune_code": commune, "district_code": district},
        }),
    )
    .await?;
    Ok(())
}

async fn year_open(tx: &mut Tx, year: i32) -> Result<bool, AppError> {
    Ok(crate::store::years::get(&mut **tx, year)
        .await?
        .is_some_and(|y| y.open))
}

/// The units of the proposal's tree it may go to, where its facility is: in
/// the facility's own tree, its district for a proposal the district
/// registered (no commune) and its own unit otherwise; in another tree, what
/// the mappings join the facility's unit to (none, one or several).
async fn targets(tx: &mut Tx, facility: &Facility, p: &Proposal) -> Result<Vec<String>, AppError> {
    if facility.unit_tree == p.unit_tree && p.commune_code.is_none() {
        if let Some(district) = &facility.district_code {
            return Ok(vec![district.clone()]);
        }
    }
    units_for(tx, facility, &p.unit_tree).await
}

/// A proposal's visits are filed where it is: the review list's place
/// column and filters, and the photo exports by district, read the visit's.
pub async fn place_visits(tx: &mut Tx, proposal_id: &str) -> Result<(), AppError> {
    let Some(p) = catalog::proposal_by_id(&mut **tx, proposal_id).await? else {
        return Ok(());
    };
    let path = catalog::stored_proposal_path(tx, &p).await?;
    sqlx::query("UPDATE visits SET district_code = $1, unit_path = $2 WHERE proposal_id = $3")
        .bind(p.district_code.clone())
        .bind(path)
        .bind(proposal_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The (commune, district) columns of a proposal of `tree` placed at the
/// unit `key` ("tree/code") the office chose.
pub async fn codes_for_key(
    tx: &mut Tx,
    tree: &str,
    key: &str,
) -> Result<(Option<String>, Option<String>), AppError> {
    match key.split_once('/') {
        Some((t, code)) if t == tree && !code.is_empty() => codes_of(tx, tree, code).await,
        _ => Err(unknown_unit(tree, key)),
    }
}

fn unknown_unit(tree: &str, unit: &str) -> AppError {
    AppError::Invalid(
        ErrorBody::new(
            "unit.unknown",
            format!("no commune or district {unit} in tree {tree}"),
        )
        .with("unit", unit.to_string())
        .with("tree", tree.to_string())
        .with("field", "unit"),
    )
}

/// The (commune, district) columns of a proposal placed at `code` of `tree`.
async fn codes_of(
    tx: &mut Tx,
    tree: &str,
    code: &str,
) -> Result<(Option<String>, Option<String>), AppError> {
    let unit = units::get(&mut **tx, &crate::model::unit_key(tree, code))
        .await?
        .filter(|u| u.level != UnitLevel::Province)
        .ok_or_else(|| unknown_unit(tree, code))?;
    if unit.level == UnitLevel::District {
        return Ok((None, Some(unit.code)));
    }
    let district = match &unit.parent {
        Some(parent) => sqlx::query(
            "SELECT code FROM admin_units WHERE tree = $1 AND code = $2 AND level = 'district'",
        )
        .bind(tree)
        .bind(parent)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| col::<String>(&r, "code"))
        .transpose()?,
        None => None,
    };
    Ok((Some(unit.code), district))
}

/// Where the office may place a proposal of an open year left away from its
/// facility, as ("tree/code", label): the several units its facility's place
/// maps to, or, where it maps to none directly (a facility known only by
/// its district), the units of the year's tree where the facility is. Empty
/// while the proposal is where its facility is.
pub async fn place_choices(tx: &mut Tx, p: &Proposal) -> Result<Vec<(String, String)>, AppError> {
    if !year_open(tx, p.year).await? || !catalog::is_away_from_facility(tx, p).await? {
        return Ok(Vec::new());
    }
    let Some(f) = catalog::facility_by_id(&mut **tx, &p.facility_id).await? else {
        return Ok(Vec::new());
    };
    let mut codes = targets(tx, &f, p).await?;
    if codes.is_empty() {
        codes = related_units(tx, &f, &p.unit_tree).await?;
    }
    let mut out = Vec::new();
    for code in codes {
        let key = crate::model::unit_key(&p.unit_tree, &code);
        if let Some(u) = units::get(&mut **tx, &key).await? {
            out.push((key, format!("{} ({})", u.full_name(), u.code)));
        }
    }
    out.sort_by_cached_key(|(_, label)| crate::collation::key(label));
    Ok(out)
}

/// The units of `tree` at its lowest level (communes, or districts in a tree
/// without communes) that the mappings relate to the facility's place.
async fn related_units(tx: &mut Tx, f: &Facility, tree: &str) -> Result<Vec<String>, AppError> {
    let own = f
        .commune_code
        .clone()
        .or(f.district_code.clone())
        .unwrap_or_default();
    let related = units::related_paths(&mut **tx, &f.unit_tree, &own).await?;
    let rows =
        sqlx::query("SELECT code, level, path FROM admin_units WHERE tree = $1 ORDER BY code")
            .bind(tree)
            .fetch_all(&mut **tx)
            .await?;
    let mut placed = Vec::new();
    for r in &rows {
        placed.push((
            col::<String>(r, "code")?,
            col::<String>(r, "level")?,
            col::<String>(r, "path")?,
        ));
    }
    let lowest = if placed.iter().any(|(_, level, _)| level == "commune") {
        "commune"
    } else {
        "district"
    };
    Ok(placed
        .into_iter()
        .filter(|(_, level, path)| {
            level == lowest && related.iter().any(|r| path.starts_with(r.as_str()))
        })
        .map(|(code, _, _)| code)
        .collect())
}
