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
    /// What the supervisor recommended without giving a reason for more than
    /// was asked: a request may not go below it.
    pub recommended_unexplained: Option<i64>,
    /// It has live visits or a recommendation: both were made at its
    /// facility, so a file may not move it to another one.
    pub held: bool,
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
        "SELECT id, facility_id, title, support_kind, requested_amount, external_ref, status,
                recommended_amount, recommendation_note,
                (SELECT COUNT(*) FROM visits v WHERE v.proposal_id = proposals.id
                   AND v.deleted_at IS NULL) AS visits
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
            recommended_unexplained: {
                let note: Option<String> = col(r, "recommendation_note")?;
                col::<Option<i64>>(r, "recommended_amount")?
                    .filter(|_| note.is_none_or(|n| crate::domain::shows_nothing(&n)))
            },
            held: col::<i64>(r, "visits")? > 0
                || col::<Option<i64>>(r, "recommended_amount")?.is_some(),
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

/// One proposal of a year as the intake template writes it: the export reads
/// back through the intake as a file that changes nothing.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub facility_name: String,
    pub owner_name: Option<String>,
    pub address: Option<String>,
    /// The proposal's commune, or its facility's when the facility is of the
    /// year's tree: a code the intake resolves in that tree.
    pub commune: Option<String>,
    pub tax_code: Option<String>,
    pub industry_group: String,
    pub phone: Option<String>,
    pub title: String,
    pub support_kind: String,
    pub requested_amount: i64,
    pub year: i32,
    pub external_ref: Option<String>,
    /// The unit it is placed in (its commune, else district): rows go by it.
    pub unit: String,
}

/// The proposals of a year with their facilities, in a stable order.
pub async fn export_rows(db: &Db, year: i32) -> Result<Vec<ExportRow>, AppError> {
    let mut rows = sqlx::query(
        "SELECT f.name, f.owner_name, f.address, f.tax_code, f.industry_group, f.phone,
                COALESCE(p.commune_code, CASE WHEN f.unit_tree = p.unit_tree THEN f.commune_code END) AS commune,
                p.title, p.support_kind, p.requested_amount, p.year, p.external_ref,
                COALESCE(p.commune_code, p.district_code) AS unit
         FROM proposals p JOIN facilities f ON f.id = p.facility_id
         WHERE p.year = $1 ORDER BY p.id",
    )
    .bind(i64::from(year))
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(ExportRow {
            facility_name: col(r, "name")?,
            owner_name: col(r, "owner_name")?,
            address: col(r, "address")?,
            commune: col(r, "commune")?,
            tax_code: col(r, "tax_code")?,
            industry_group: col(r, "industry_group")?,
            phone: col(r, "phone")?,
            title: col(r, "title")?,
            support_kind: col(r, "support_kind")?,
            requested_amount: col(r, "requested_amount")?,
            year: col::<i64>(r, "year")? as i32,
            external_ref: col(r, "external_ref")?,
            unit: col(r, "unit")?,
        })
    })
    .collect::<Result<Vec<_>, AppError>>()?;
    // Names and titles in Vietnamese alphabetical order within each unit.
    rows.sort_by_cached_key(|r| {
        (
            r.unit.clone(),
            crate::collation::key(&r.facility_name),
            crate::collation::key(&r.title),
        )
    });
    Ok(rows)
}

fn invalid(code: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid(crate::error::ErrorBody::new(code, message))
}

/// A proposal's title, kind of support and amount checked as the intake
/// checks them: (trimmed title, whole đồng).
pub fn check_edit(
    edit: &crate::office::registry::contract::ProposalEdit,
) -> Result<(String, i64), AppError> {
    use crate::office::registry::contract::SUPPORT_KINDS;
    let title = edit.title.trim();
    if title.is_empty() {
        return Err(invalid(
            "proposal.title_required",
            "a proposal needs a title",
        ));
    }
    if title.chars().count() > 300 {
        return Err(AppError::Invalid(
            crate::error::ErrorBody::new(
                "proposal.title_too_long",
                "a title is at most 300 characters",
            )
            .with("max", 300),
        ));
    }
    if !SUPPORT_KINDS.contains(&edit.support_kind.as_str()) {
        return Err(AppError::Invalid(
            crate::error::ErrorBody::new("proposal.unknown_support_kind", "not a kind of support")
                .with("value", edit.support_kind.clone()),
        ));
    }
    let amount = crate::money::whole_dong(&edit.requested_amount, "proposal")?;
    Ok((title.to_string(), amount))
}

/// Changes a proposal's title, kind of support and requested amount, with the
/// same checks as the intake; audited old → new, and sent to phones in scope.
pub async fn update_proposal(
    db: &Db,
    actor: &super::audit::Actor,
    edit: &crate::office::registry::contract::ProposalEdit,
) -> Result<(), AppError> {
    let (title, amount) = check_edit(edit)?;
    let mut tx = db.begin_write().await?;
    // On PostgreSQL two saves read the row at once; the second waits here for
    // the first, then compares what its page saw with what that one wrote.
    if db.engine == super::Engine::Postgres {
        sqlx::query("SELECT id FROM proposals WHERE id = $1 FOR UPDATE")
            .bind(&edit.id)
            .execute(&mut *tx)
            .await?;
    }
    let Some(before) = super::catalog::proposal_by_id(&mut *tx, &edit.id).await? else {
        return Err(AppError::NotFound("proposal".into()));
    };
    // A closed year's registry is history: its proposals stay as they were.
    super::years::open_year(&mut tx, before.year).await?;
    if let Some(seen) = &edit.seen {
        if (&seen.title, &seen.support_kind, seen.requested_amount)
            != (&before.title, &before.support_kind, before.requested_amount)
        {
            return Err(AppError::Protocol {
                status: 409,
                body: crate::error::ErrorBody::new(
                    "proposal.changed",
                    "someone changed this proposal while the page was open: reload it and make the change again",
                ),
            });
        }
    }
    let mut after = crate::model::Proposal {
        title,
        support_kind: edit.support_kind.clone(),
        requested_amount: amount,
        ..before.clone()
    };
    if let Some(key) = edit.unit.as_deref().filter(|k| !k.is_empty()) {
        place_where_offered(&mut tx, &before, &mut after, key).await?;
    }
    if after == before {
        return Ok(());
    }
    super::catalog::upsert_proposal(&mut tx, &after).await?;
    super::facilities::carry::place_visits(&mut tx, &after.id).await?;
    let mut old = serde_json::json!({"title": before.title, "support_kind": before.support_kind, "requested_amount": before.requested_amount});
    let mut new = serde_json::json!({"title": after.title, "support_kind": after.support_kind, "requested_amount": after.requested_amount});
    if (&before.commune_code, &before.district_code) != (&after.commune_code, &after.district_code)
    {
        old["commune_code"] = serde_json::json!(before.commune_code);
        old["district_code"] = serde_json::json!(before.district_code);
        new["commune_code"] = serde_json::json!(after.commune_code);
        new["district_code"] = serde_json::json!(after.district_code);
    }
    super::audit::record(
        &mut *tx,
        actor,
        "proposal.updated",
        "proposal",
        &edit.id,
        serde_json::json!({"old": old, "new": new}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Places a proposal the office chose a unit for. A proposal's place follows
/// its facility; the office places only one a move left away from it, and
/// only in a unit its page offered (`carry::place_choices`).
async fn place_where_offered(
    tx: &mut super::Tx,
    before: &crate::model::Proposal,
    after: &mut crate::model::Proposal,
    key: &str,
) -> Result<(), AppError> {
    use super::facilities::carry;
    let (commune, district) = carry::codes_for_key(tx, &before.unit_tree, key).await?;
    if (&commune, &district) == (&before.commune_code, &before.district_code) {
        return Ok(());
    }
    let choices = carry::place_choices(tx, before).await?;
    if choices.is_empty() {
        return Err(invalid(
            "proposal.place_follows_facility",
            "a proposal is placed where its facility is; move the facility instead",
        ));
    }
    if !choices.iter().any(|(k, _)| k == key) {
        let facility = super::catalog::facility_by_id(&mut **tx, &before.facility_id)
            .await?
            .map(|f| f.name)
            .unwrap_or_default();
        return Err(AppError::Invalid(
            crate::error::ErrorBody::new(
                "proposal.facility_elsewhere",
                "the proposal's commune is not where its facility is; choose one of the places offered",
            )
            .with("facility", facility)
            .with("unit", key.to_string()),
        ));
    }
    after.commune_code = commune;
    after.district_code = district;
    Ok(())
}

/// Deactivates (or reactivates) a proposal: phones drop it at their next pull
/// (it arrives as deleted), its visits and history stay.
pub async fn set_proposal_active(
    db: &Db,
    actor: &super::audit::Actor,
    id: &str,
    active: bool,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let Some(p) = super::catalog::proposal_by_id(&mut *tx, id).await? else {
        return Err(AppError::NotFound("proposal".into()));
    };
    super::years::open_year(&mut tx, p.year).await?;
    let changed = sqlx::query("UPDATE proposals SET active = $1 WHERE id = $2 AND active <> $1")
        .bind(i64::from(active))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Ok(());
    }
    let path = super::catalog::stored_proposal_path(&mut tx, &p).await?;
    super::changes::append(&mut tx, "proposal", id, Some(&path), None).await?;
    super::audit::record(
        &mut *tx,
        actor,
        if active {
            "proposal.reactivated"
        } else {
            "proposal.deactivated"
        },
        "proposal",
        id,
        serde_json::json!({"old": {"active": !active}, "new": {"active": active}}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
