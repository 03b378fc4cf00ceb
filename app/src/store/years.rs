//! Survey rounds. A year is opened by an administrator on a unit tree and a
//! form version; proposals are registered into an open year only, phones hold
//! the proposals of open years, and a closed year's visits are kept read-only.
//!
//! One file (about 420 lines): opening, moving, closing and reopening a year
//! are one state machine over `survey_years`, each step announcing the year's
//! proposals and visits to the phones through the same helpers.

use super::audit::{self, Actor};
use super::{catalog, changes, col, now_ms, Db, Tx};
use crate::error::{AppError, ErrorBody};
use crate::office::years::{CloseOutcome, SurveyYear, YearOpening};
use serde_json::json;

const COLUMNS: &str = "year, unit_tree, form_id, form_version, is_open, opened_at, closed_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<SurveyYear, AppError> {
    Ok(SurveyYear {
        year: col::<i64>(r, "year")? as i32,
        unit_tree: col(r, "unit_tree")?,
        form_id: col(r, "form_id")?,
        form_version: col::<i64>(r, "form_version")? as i32,
        open: col::<i64>(r, "is_open")? == 1,
        opened_at_ms: col(r, "opened_at")?,
        closed_at_ms: col(r, "closed_at")?,
    })
}

/// Every year, newest first.
pub async fn list(db: &Db) -> Result<Vec<SurveyYear>, AppError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM survey_years ORDER BY year DESC"
    ))
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn get<'c, E>(exec: E, year: i32) -> Result<Option<SurveyYear>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM survey_years WHERE year = $1"
    ))
    .bind(i64::from(year))
    .fetch_optional(exec)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The open year `year`, or the reason a proposal cannot be registered in it.
pub async fn open_year(tx: &mut Tx, year: i32) -> Result<SurveyYear, AppError> {
    match get(&mut **tx, year).await? {
        Some(y) if y.open => Ok(y),
        Some(_) => Err(AppError::Invalid(
            ErrorBody::new("year.closed", format!("the survey year {year} is closed"))
                .with("year", year),
        )),
        None => Err(AppError::Invalid(
            ErrorBody::new(
                "year.not_opened",
                format!(
                    "the survey year {year} has not been opened; an administrator opens it first"
                ),
            )
            .with("year", year),
        )),
    }
}

/// Opens a year on a tree and a form version, or reopens a closed one (its
/// tree stays: its proposals were registered on it).
pub async fn open(db: &Db, actor: &Actor, req: &YearOpening) -> Result<SurveyYear, AppError> {
    if !(2000..=2100).contains(&req.year) {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "year.out_of_range",
                "a survey year is between 2000 and 2100",
            )
            .with("year", req.year),
        ));
    }
    let mut tx = db.begin_write().await?;
    let tree_known = sqlx::query("SELECT 1 AS one FROM unit_trees WHERE name = $1")
        .bind(&req.unit_tree)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !tree_known {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "year.unknown_tree",
                format!("there is no unit tree {}", req.unit_tree),
            )
            .with("tree", req.unit_tree.clone()),
        ));
    }
    let form_known = sqlx::query("SELECT 1 AS one FROM forms WHERE form_id = $1 AND version = $2")
        .bind(&req.form_id)
        .bind(i64::from(req.form_version))
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !form_known {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "year.unknown_form",
                format!(
                    "there is no form {} version {}",
                    req.form_id, req.form_version
                ),
            )
            .with("form", format!("{}@{}", req.form_id, req.form_version)),
        ));
    }
    let before = get(&mut *tx, req.year).await?;
    // A year is not opened on a tree a newer one replaced before it began
    // (the 2020 districts, abolished on 1 July 2025, for 2026): its
    // proposals would be registered on units that no longer exist. A year
    // already holding proposals reopens on its own tree (below).
    let holds_proposals = before.is_some() && has_proposals(&mut tx, req.year).await?;
    if !holds_proposals {
        let newer = sqlx::query(
            "SELECT DISTINCT t.name FROM unit_mappings m JOIN unit_trees t ON t.name = m.new_tree
             WHERE m.old_tree = $1 AND t.effective_from <= $2 ORDER BY t.name",
        )
        .bind(&req.unit_tree)
        .bind(format!("{:04}-01-01", req.year))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = newer {
            let newer: String = col(&row, "name")?;
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "year.tree_superseded",
                    format!(
                        "the unit tree {} was replaced by {newer} before {}: open the year on {newer}",
                        req.unit_tree, req.year
                    ),
                )
                .with("tree", req.unit_tree.clone())
                .with("newer", newer)
                .with("year", req.year),
            ));
        }
    }
    if let Some(b) = &before {
        // An open year may move to another form version (a form corrected
        // mid-campaign): visits already started keep theirs, new ones start
        // on it after the phones' next sync. The same request again is a
        // mistake worth saying.
        let same = b.unit_tree == req.unit_tree
            && b.form_id == req.form_id
            && b.form_version == req.form_version;
        // Only forward on the same form: visits begun offline on the year's
        // form stay valid (a form's versions keep their fields' meaning),
        // and another form would have them refused and filled again.
        if b.open && !same && (b.form_id != req.form_id || req.form_version < b.form_version) {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "year.form_not_newer",
                    format!(
                        "the open year {} surveys with {}@{}; it moves only to a newer version of that form",
                        req.year, b.form_id, b.form_version
                    ),
                )
                .with("year", req.year)
                .with("form", format!("{}@{}", b.form_id, b.form_version)),
            ));
        }
        if b.open && same {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "year.already_open",
                    format!("the survey year {} is open", req.year),
                )
                .with("year", req.year),
            ));
        }
        if b.unit_tree != req.unit_tree && has_proposals(&mut tx, req.year).await? {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "year.tree_fixed",
                    format!(
                        "the year {} has proposals on tree {}; it reopens on that tree",
                        req.year, b.unit_tree
                    ),
                )
                .with("tree", b.unit_tree.clone()),
            ));
        }
    }
    sqlx::query(
        "INSERT INTO survey_years (year, unit_tree, form_id, form_version, is_open, opened_by, opened_at, closed_at)
         VALUES ($1, $2, $3, $4, 1, $5, $6, NULL)
         ON CONFLICT (year) DO UPDATE SET unit_tree = excluded.unit_tree, form_id = excluded.form_id,
           form_version = excluded.form_version, is_open = 1, opened_by = excluded.opened_by,
           opened_at = excluded.opened_at, closed_at = NULL",
    )
    .bind(i64::from(req.year))
    .bind(&req.unit_tree)
    .bind(&req.form_id)
    .bind(i64::from(req.form_version))
    .bind(actor.user_id.clone())
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    // Phones need the year's form version even when it is not the newest, and
    // a reopened year's proposals again.
    changes::append(
        &mut tx,
        "form",
        &format!("{}@{}", req.form_id, req.form_version),
        None,
        None,
    )
    .await?;
    if before.is_some() {
        // Facilities that moved while the year was closed take its
        // proposals along now.
        super::facilities::carry::carry_year(&mut tx, actor, req.year).await?;
    }
    announce_proposals(&mut tx, req.year).await?;
    audit::record(
        &mut *tx,
        actor,
        "year.opened",
        "year",
        &req.year.to_string(),
        json!({"unit_tree": req.unit_tree, "form": format!("{}@{}", req.form_id, req.form_version),
               "reopened": before.as_ref().is_some_and(|b| !b.open),
               "form_before": before.as_ref().filter(|b| b.open)
                   .map(|b| format!("{}@{}", b.form_id, b.form_version))}),
    )
    .await?;
    tx.commit().await?;
    get(&db.pool, req.year)
        .await?
        .ok_or_else(|| AppError::Internal("the year just opened is missing".into()))
}

async fn has_proposals(tx: &mut Tx, year: i32) -> Result<bool, AppError> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM proposals WHERE year = $1 LIMIT 1")
            .bind(i64::from(year))
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
}

/// Appends a change for every proposal of the year at its scope path, so
/// phones in scope pull it again (as deleted once the year is closed).
async fn announce_proposals(tx: &mut Tx, year: i32) -> Result<(), AppError> {
    let ids = catalog::proposal_ids_of_year(tx, year).await?;
    for id in ids {
        let Some(p) = catalog::proposal_by_id(&mut **tx, &id).await? else {
            continue;
        };
        let path = catalog::stored_proposal_path(tx, &p).await?;
        changes::append(tx, "proposal", &id, Some(&path), None).await?;
    }
    // The year's visits are re-sent too: phones hold them read-only while
    // the year is closed, and editable again when it reopens.
    let visits = sqlx::query(
        "SELECT v.id, v.unit_path, v.owner_id FROM visits v JOIN proposals p ON p.id = v.proposal_id
         WHERE p.year = $1 AND v.deleted_at IS NULL ORDER BY v.id",
    )
    .bind(i64::from(year))
    .fetch_all(&mut **tx)
    .await?;
    for v in &visits {
        let id: String = col(v, "id")?;
        let path: Option<String> = col(v, "unit_path")?;
        let owner: String = col(v, "owner_id")?;
        changes::append(tx, "visit", &id, path.as_deref(), Some(&owner)).await?;
    }
    Ok(())
}

/// Closes a year. Visits still in progress, submitted or sent back are
/// listed and the year stays open unless `confirm` is set.
pub async fn close(
    db: &Db,
    actor: &Actor,
    year: i32,
    confirm: bool,
) -> Result<CloseOutcome, AppError> {
    let mut tx = db.begin_write().await?;
    let y = open_year(&mut tx, year).await?;
    let unfinished: Vec<String> = sqlx::query(
        "SELECT v.id FROM visits v JOIN proposals p ON p.id = v.proposal_id
         WHERE p.year = $1 AND v.deleted_at IS NULL
           AND v.review_state IN ('in_progress', 'submitted', 'needs_changes')
         ORDER BY v.received_at",
    )
    .bind(i64::from(year))
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| col(r, "id"))
    .collect::<Result<_, _>>()?;
    if !unfinished.is_empty() && !confirm {
        drop(tx);
        let visits = super::console::summaries(db, &unfinished).await?;
        return Ok(CloseOutcome::Unfinished { visits });
    }
    sqlx::query("UPDATE survey_years SET is_open = 0, closed_at = $1 WHERE year = $2")
        .bind(now_ms())
        .bind(i64::from(year))
        .execute(&mut *tx)
        .await?;
    announce_proposals(&mut tx, year).await?;
    audit::record(
        &mut *tx,
        actor,
        "year.closed",
        "year",
        &year.to_string(),
        json!({"unit_tree": y.unit_tree, "unfinished_visits": unfinished.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(CloseOutcome::Closed)
}

/// Refuses an office decision (a review, a recommendation) on a proposal
/// whose year is closed: closing a year fixes its plan, and a decision made
/// after it would change that plan silently.
pub async fn check_decision_open(tx: &mut Tx, proposal_id: &str) -> Result<(), AppError> {
    match check_visit_writable(tx, Some(proposal_id)).await? {
        Ok(()) => Ok(()),
        Err(body) => {
            let year = body.params.get("year").cloned().unwrap_or_default();
            Err(plan_closed(year))
        }
    }
}

/// The refusal of any change to a closed year's plan.
pub fn plan_closed(year: impl Into<serde_json::Value> + std::fmt::Display) -> AppError {
    AppError::Invalid(
        ErrorBody::new(
            "year.closed",
            format!("the survey year {year} is closed; its plan is kept as it is"),
        )
        .with("year", year),
    )
}

/// Refuses a change to a visit of a proposal whose year is closed.
pub async fn check_visit_writable(
    tx: &mut Tx,
    proposal_id: Option<&str>,
) -> Result<Result<(), ErrorBody>, AppError> {
    let Some(id) = proposal_id else {
        return Ok(Ok(()));
    };
    let row = sqlx::query(
        "SELECT y.year FROM proposals p JOIN survey_years y ON y.year = p.year
         WHERE p.id = $1 AND y.is_open = 0",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some(r) => {
            let year: i64 = col(&r, "year")?;
            Err(ErrorBody::new(
                "year.closed",
                format!("the survey year {year} is closed; its visits are kept as they are"),
            )
            .with("year", year))
        }
        None => Ok(()),
    })
}

/// The form a proposal's year surveys with, when the year names one.
pub async fn form_of_proposal(tx: &mut Tx, proposal_id: &str) -> Result<Option<String>, AppError> {
    let row = sqlx::query(
        "SELECT y.form_id FROM proposals p JOIN survey_years y ON y.year = p.year WHERE p.id = $1",
    )
    .bind(proposal_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some(r) => col::<Option<String>>(&r, "form_id")?,
        None => None,
    })
}

/// Opens `year` on `tree` with the current default form when it is not open
/// yet (the demo and load-test data).
pub async fn ensure_open(db: &Db, year: i32, tree: &str) -> Result<(), AppError> {
    if get(&db.pool, year).await?.is_some_and(|y| y.open) {
        return Ok(());
    }
    let form = sqlx::query(
        "SELECT form_id, version FROM forms WHERE is_current = 1 ORDER BY form_id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await?;
    open(
        db,
        &Actor::default(),
        &YearOpening {
            year,
            unit_tree: tree.to_string(),
            form_id: col(&form, "form_id")?,
            form_version: col::<i64>(&form, "version")? as i32,
        },
    )
    .await
    .map(|_| ())
}
