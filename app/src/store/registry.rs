//! The registry intake's reads and writes: what a file's rows are matched
//! against (a year's units, the facilities, the year's proposals) and the
//! columns only the intake sets (tax codes, external references).

use super::{col, Db, Tx};
use crate::error::AppError;

/// A facility as the intake matches it.
#[derive(Debug, Clone)]
pub struct FacilityKey {
    pub id: String,
    pub name: String,
    pub unit_tree: String,
    pub commune_code: Option<String>,
    pub tax_code: Option<String>,
}

/// A proposal of the year as the intake compares it.
#[derive(Debug, Clone)]
pub struct ProposalKey {
    pub id: String,
    pub facility_id: String,
    pub title: String,
    pub support_kind: String,
    pub requested_amount: i64,
    pub external_ref: Option<String>,
    pub status: String,
}

/// Every live facility.
pub async fn facilities(db: &Db) -> Result<Vec<FacilityKey>, AppError> {
    sqlx::query(
        "SELECT id, name, unit_tree, commune_code, tax_code FROM facilities WHERE deleted_at IS NULL ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(FacilityKey {
            id: col(r, "id")?,
            name: col(r, "name")?,
            unit_tree: col(r, "unit_tree")?,
            commune_code: col(r, "commune_code")?,
            tax_code: col(r, "tax_code")?,
        })
    })
    .collect()
}

/// The proposals of a year.
pub async fn proposals_of_year(db: &Db, year: i32) -> Result<Vec<ProposalKey>, AppError> {
    sqlx::query(
        "SELECT id, facility_id, title, support_kind, requested_amount, external_ref, status
         FROM proposals WHERE year = $1 ORDER BY id",
    )
    .bind(i64::from(year))
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(ProposalKey {
            id: col(r, "id")?,
            facility_id: col(r, "facility_id")?,
            title: col(r, "title")?,
            support_kind: col(r, "support_kind")?,
            requested_amount: col(r, "requested_amount")?,
            external_ref: col(r, "external_ref")?,
            status: col(r, "status")?,
        })
    })
    .collect()
}

/// The mapping pairs touching `tree`, either side: (old tree, old code, new
/// tree, new code).
pub async fn mappings_touching(
    db: &Db,
    tree: &str,
) -> Result<Vec<(String, String, String, String)>, AppError> {
    sqlx::query(
        "SELECT old_tree, old_code, new_tree, new_code FROM unit_mappings WHERE old_tree = $1 OR new_tree = $1",
    )
    .bind(tree)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok((
            col(r, "old_tree")?,
            col(r, "old_code")?,
            col(r, "new_tree")?,
            col(r, "new_code")?,
        ))
    })
    .collect()
}

pub async fn set_tax_code(tx: &mut Tx, facility_id: &str, tax_code: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE facilities SET tax_code = $1 WHERE id = $2")
        .bind(tax_code)
        .bind(facility_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_external_ref(
    tx: &mut Tx,
    proposal_id: &str,
    external_ref: &str,
) -> Result<(), AppError> {
    sqlx::query("UPDATE proposals SET external_ref = $1 WHERE id = $2")
        .bind(external_ref)
        .bind(proposal_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
