//! A proposal registered at a facility from the office, placed in a unit of
//! its year's tree (the facility's own, or the one its commune maps to).

use super::{codes, unit_map};
use crate::error::{AppError, ErrorBody};
use crate::model::{Facility, UnitLevel};
use crate::office::registry::contract::NewProposal;
use crate::store::audit::{self, Actor};
use crate::store::{catalog, col, now_ms, Db, Tx};
use serde_json::json;

/// The unit (tree, code) a proposal of a year on `tree` is placed in when
/// the office names none: the facility's own, or the one unit its commune
/// maps to in that tree.
async fn proposal_unit(tx: &mut Tx, facility: &Facility, tree: &str) -> Result<String, AppError> {
    let mapped = units_for(tx, facility, tree).await?;
    match mapped.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(AppError::Invalid(
            ErrorBody::new(
                "proposal.unit_needed",
                format!("choose the commune of the year's tree ({tree}) for this proposal"),
            )
            .with("field", "unit")
            .with("candidates", mapped.join(", ")),
        )),
    }
}

/// The codes of `tree` where `facility` is: its own unit in its own tree,
/// else what the mappings join its unit to (none, one, or several).
pub(super) async fn units_for(
    tx: &mut Tx,
    facility: &Facility,
    tree: &str,
) -> Result<Vec<String>, AppError> {
    let own = facility
        .commune_code
        .clone()
        .or(facility.district_code.clone())
        .unwrap_or_default();
    if facility.unit_tree == tree {
        return Ok(vec![own]);
    }
    sqlx::query(
        "SELECT new_code AS code FROM unit_mappings WHERE old_tree = $1 AND old_code = $2 AND new_tree = $3
         UNION SELECT old_code AS code FROM unit_mappings WHERE new_tree = $1 AND new_code = $2 AND old_tree = $3",
    )
    .bind(&facility.unit_tree)
    .bind(&own)
    .bind(tree)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| col::<String>(r, "code"))
    .collect()
}

/// Registers a proposal at a facility in an open year, placed in a unit of
/// the year's tree; audited, and sent to the phones in scope.
pub async fn create_proposal(db: &Db, actor: &Actor, p: &NewProposal) -> Result<String, AppError> {
    let edit = crate::office::registry::contract::ProposalEdit {
        id: String::new(),
        title: p.title.clone(),
        support_kind: p.support_kind.clone(),
        requested_amount: p.requested_amount.clone(),
        unit: None,
        seen: None,
    };
    let (title, amount) = crate::store::registry::check_edit(&edit)?;
    let units = unit_map(db).await?;
    let mut tx = db.begin_write().await?;
    let year = crate::store::years::open_year(&mut tx, p.year).await?;
    let facility = catalog::facility_by_id(&mut *tx, &p.facility_id)
        .await?
        .ok_or_else(|| AppError::NotFound("facility".into()))?;
    let code = match p.unit.split_once('/') {
        Some((tree, code)) if tree == year.unit_tree => code.to_string(),
        Some(_) => {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "proposal.wrong_tree",
                    format!(
                        "a proposal of {} uses units of tree {}",
                        p.year, year.unit_tree
                    ),
                )
                .with("year", p.year)
                .with("tree", year.unit_tree.clone()),
            ))
        }
        None => proposal_unit(&mut tx, &facility, &year.unit_tree).await?,
    };
    let unit = units
        .get(&(year.unit_tree.clone(), code.clone()))
        .filter(|u| u.level != UnitLevel::Province)
        .ok_or_else(|| {
            AppError::Invalid(
                ErrorBody::new(
                    "unit.unknown",
                    format!("no commune or district {code} in tree {}", year.unit_tree),
                )
                .with("unit", code.clone())
                .with("tree", year.unit_tree.clone())
                .with("field", "unit"),
            )
        })?;
    let (commune, district) = codes(unit, &units);
    let id = crate::sync::new_uuid_v7(now_ms()).to_string();
    let proposal = crate::model::Proposal {
        id: id.clone(),
        year: p.year,
        unit_tree: year.unit_tree.clone(),
        district_code: district,
        commune_code: commune,
        facility_id: facility.id.clone(),
        title,
        support_kind: p.support_kind.clone(),
        requested_amount: amount,
        status: "registered".into(),
        form_id: None,
        form_version: None,
    };
    catalog::upsert_proposal(&mut tx, &proposal).await?;
    audit::record(
        &mut *tx,
        actor,
        "proposal.created",
        "proposal",
        &id,
        json!({"new": {
            "facility_id": proposal.facility_id, "year": proposal.year, "unit_tree": proposal.unit_tree,
            "commune_code": proposal.commune_code, "district_code": proposal.district_code,
            "title": proposal.title, "support_kind": proposal.support_kind,
            "requested_amount": proposal.requested_amount,
        }}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}
