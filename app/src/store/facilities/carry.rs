//! A facility that moves takes its open years' proposals with it. A proposal
//! is placed where its facility is (`catalog::check_facility_there`); one
//! left behind would be counted in the old commune's plan and surveyed by
//! an inspector who can no longer see the facility. Every move site (the
//! office's edit, a phone's edit, a settled conflict) goes through here.

use super::proposal::units_for;
use crate::error::AppError;
use crate::model::{Proposal, UnitLevel};
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

/// What a move did to the facility's proposals.
#[derive(Debug, Default)]
pub struct Carried {
    /// Proposals moved to the facility's new place.
    pub moved: Vec<String>,
    /// Open-year proposals left where they were: the new place maps to no
    /// single unit of their year's tree, so the office chooses one.
    pub left: Vec<String>,
    /// The change-log entries the proposals owe: the old path where it
    /// changed, then the new one.
    pub entries: Vec<Entry>,
}

/// After the facility's new place is stored: each proposal of an open year
/// that is no longer where its facility is moves to the facility's unit in
/// its year's tree (the facility's own, or the one unit its place maps to).
/// A closed year's proposals stay: its plan is history.
pub async fn carry(
    tx: &mut Tx,
    actor: &Actor,
    facility_id: &str,
    before: Vec<(String, String)>,
) -> Result<Carried, AppError> {
    let mut out = Carried::default();
    let Some(facility) = catalog::facility_by_id(&mut **tx, facility_id).await? else {
        return Ok(out);
    };
    for (id, old_path) in before {
        let Some(p) = catalog::proposal_by_id(&mut **tx, &id).await? else {
            continue;
        };
        let open = crate::store::years::get(&mut **tx, p.year)
            .await?
            .is_some_and(|y| y.open);
        if open && catalog::is_away_from_facility(tx, &p).await? {
            // In the facility's own tree, a proposal the district registered
            // (no commune) moves to the facility's district, not its commune.
            let target = match (&p.commune_code, &facility.district_code) {
                (None, Some(district)) if facility.unit_tree == p.unit_tree => {
                    vec![district.clone()]
                }
                _ => units_for(tx, &facility, &p.unit_tree).await?,
            };
            match target.as_slice() {
                [code] => {
                    let (commune, district) = codes_of(tx, &p.unit_tree, code).await?;
                    sqlx::query(
                        "UPDATE proposals SET commune_code = $1, district_code = $2, updated_at = $3 WHERE id = $4",
                    )
                    .bind(commune.clone())
                    .bind(district.clone())
                    .bind(now_ms())
                    .bind(&id)
                    .execute(&mut **tx)
                    .await?;
                    audit::record(
                        &mut **tx,
                        actor,
                        "proposal.moved_with_facility",
                        "proposal",
                        &id,
                        serde_json::json!({
                            "old": {"commune_code": p.commune_code, "district_code": p.district_code},
                            "new": {"commune_code": commune, "district_code": district},
                        }),
                    )
                    .await?;
                    out.moved.push(id.clone());
                }
                _ => out.left.push(id.clone()),
            }
        }
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
            out.entries.push(entry(old_path));
        }
        out.entries.push(entry(path));
    }
    Ok(out)
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
        _ => Err(AppError::Invalid(
            crate::error::ErrorBody::new(
                "unit.unknown",
                format!("no commune or district {key} in tree {tree}"),
            )
            .with("unit", key.to_string())
            .with("tree", tree.to_string())
            .with("field", "unit"),
        )),
    }
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
        .ok_or_else(|| {
            AppError::Invalid(
                crate::error::ErrorBody::new(
                    "unit.unknown",
                    format!("no commune or district {code} in tree {tree}"),
                )
                .with("unit", code.to_string())
                .with("tree", tree.to_string())
                .with("field", "unit"),
            )
        })?;
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
/// facility (its new place maps to several units of the year's tree, or to
/// none directly): the units of that tree where the facility is, as
/// ("tree/code", label). Empty while the proposal is where its facility is.
pub async fn place_choices(tx: &mut Tx, p: &Proposal) -> Result<Vec<(String, String)>, AppError> {
    let open = crate::store::years::get(&mut **tx, p.year)
        .await?
        .is_some_and(|y| y.open);
    if !open || !catalog::is_away_from_facility(tx, p).await? {
        return Ok(Vec::new());
    }
    let Some(f) = catalog::facility_by_id(&mut **tx, &p.facility_id).await? else {
        return Ok(Vec::new());
    };
    let own = f.commune_code.or(f.district_code).unwrap_or_default();
    let related = units::related_paths(&mut **tx, &f.unit_tree, &own).await?;
    let rows =
        sqlx::query("SELECT code, level, path FROM admin_units WHERE tree = $1 ORDER BY code")
            .bind(&p.unit_tree)
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
    let mut out = Vec::new();
    for (code, level, path) in placed {
        if level != lowest || !related.iter().any(|r| path.starts_with(r.as_str())) {
            continue;
        }
        let key = crate::model::unit_key(&p.unit_tree, &code);
        if let Some(u) = units::get(&mut **tx, &key).await? {
            out.push((key, format!("{} ({})", u.full_name(), u.code)));
        }
    }
    Ok(out)
}
