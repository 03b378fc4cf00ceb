//! The supervisor's recommendation on a proposal, the year's plan built from
//! those recommendations alone, and the province's budget an administrator sets.
//!
//! One file (about 635 lines): a recommendation, the proposal page and
//! the plan's groupings read the same proposal and recommendation columns
//! through the same helpers (`record`, `former_districts`).

use super::{col, now_ms, Db, Tx};
use crate::error::{AppError, ErrorBody};
use crate::model::{Role, UserInfo};
use crate::money::whole_dong;
use crate::office::plan::contract::{
    Plan, PlanCell, PlanProposal, ProposalDetail, ProposalVisit, Recommendation,
    RecommendationRecord,
};
use serde_json::Value;

/// Longest rationale kept (a paragraph or two of a funding memo).
const MAX_RATIONALE: usize = 4000;

fn invalid(code: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid(ErrorBody::new(code, message))
}

fn record(row: &sqlx::any::AnyRow) -> Result<Option<RecommendationRecord>, AppError> {
    let rec: Option<String> = col(row, "recommendation")?;
    Ok(match rec.as_deref().and_then(Recommendation::parse) {
        Some(recommendation) => Some(RecommendationRecord {
            recommendation,
            amount: col::<Option<i64>>(row, "recommended_amount")?.unwrap_or(0),
            rationale: col(row, "recommendation_note")?,
            by: col(row, "recommended_by_name")?,
            at_ms: col(row, "recommended_at")?,
        }),
        None => None,
    })
}

async fn current<'c, E>(exec: E, id: &str) -> Result<(i64, Option<RecommendationRecord>), AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row = sqlx::query(
        "SELECT p.requested_amount, p.recommendation, p.recommended_amount, p.recommendation_note,
                u.display_name AS recommended_by_name, p.recommended_at
         FROM proposals p LEFT JOIN users u ON u.id = p.recommended_by WHERE p.id = $1",
    )
    .bind(id)
    .fetch_optional(exec)
    .await?
    .ok_or_else(|| AppError::NotFound("proposal".into()))?;
    Ok((col(&row, "requested_amount")?, record(&row)?))
}

/// Refuses a requested amount below what the supervisor already recommended
/// for the proposal, unless the recommendation gave its reason for more than
/// was asked (`recommend` refuses the same without a reason): otherwise an edit
/// of the request would leave the plan funding more than was asked, unexplained.
pub async fn check_requested_covers(
    tx: &mut Tx,
    proposal_id: &str,
    requested: i64,
) -> Result<(), AppError> {
    let row =
        sqlx::query("SELECT recommended_amount, recommendation_note FROM proposals WHERE id = $1")
            .bind(proposal_id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(row) = row else { return Ok(()) };
    let recommended: Option<i64> = col(&row, "recommended_amount")?;
    let reason: Option<String> = col(&row, "recommendation_note")?;
    match recommended {
        Some(amount) if amount > requested && reason.is_none_or(|r| crate::domain::shows_nothing(&r)) => {
            Err(AppError::Invalid(
                ErrorBody::new(
                    "proposal.requested_below_recommended",
                    format!(
                        "{requested} đồng is less than the {amount} already recommended: change the recommendation first"
                    ),
                )
                .with("requested", crate::format::vnd(requested))
                .with("recommended", crate::format::vnd(amount)),
            ))
        }
        _ => Ok(()),
    }
}

/// Records the supervisor's recommendation after checking it makes sense: an
/// amount for funding, a reason for more than was asked or for no support, and
/// an approved visit behind any funding.
// One argument per thing the page sends, as `review::decide` takes them.
#[allow(clippy::too_many_arguments)]
pub async fn recommend(
    db: &Db,
    user: &UserInfo,
    id: &str,
    recommendation: Recommendation,
    amount: Option<&Value>,
    rationale: Option<&str>,
    seen_at_ms: Option<i64>,
    ip: Option<&str>,
) -> Result<(), AppError> {
    if !user.has(Role::Supervisor) {
        return Err(AppError::Forbidden(
            "only a supervisor recommends funding".into(),
        ));
    }
    // A reason that shows nothing (spaces, a zero-width space) is no reason.
    let rationale = rationale
        .map(str::trim)
        .filter(|r| !crate::domain::shows_nothing(r));
    if rationale.is_some_and(|r| r.chars().count() > MAX_RATIONALE) {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "recommend.rationale_too_long",
                format!("the rationale is over {MAX_RATIONALE} characters"),
            )
            .with("max", MAX_RATIONALE as i64),
        ));
    }
    let amount = match amount.filter(|v| !v.is_null()) {
        Some(v) => Some(whole_dong(v, "recommend")?),
        None => None,
    };
    let mut tx = db.begin_write().await?;
    let (requested, old) = current(&mut *tx, id).await?;
    let made_at = old.as_ref().and_then(|r| r.at_ms).unwrap_or(0);
    let changed = || {
        AppError::Protocol {
        status: 409,
        body: ErrorBody::new(
            "recommend.changed",
            "another recommendation was made while this page was open: reload the proposal and decide again",
        ),
    }
    };
    if seen_at_ms.is_some_and(|seen| seen != made_at) {
        return Err(changed());
    }
    super::years::check_decision_open(&mut tx, id).await?;
    let amount = match recommendation {
        Recommendation::Provincial | Recommendation::National => {
            let amount = amount.filter(|a| *a > 0).ok_or_else(|| {
                invalid(
                    "recommend.amount_required",
                    "funding needs the recommended amount in đồng",
                )
            })?;
            if amount > requested && rationale.is_none() {
                return Err(AppError::Invalid(
                    ErrorBody::new(
                        "recommend.over_requested_needs_rationale",
                        format!(
                            "{amount} đồng is more than the {requested} requested: give the reason"
                        ),
                    )
                    .with("amount", crate::format::vnd(amount))
                    .with("requested", crate::format::vnd(requested)),
                ));
            }
            let approved = sqlx::query(
                "SELECT COUNT(*) AS n FROM visits WHERE proposal_id = $1 AND review_state = 'approved' AND deleted_at IS NULL",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            if col::<i64>(&approved, "n")? == 0 {
                return Err(invalid(
                    "recommend.needs_approved_visit",
                    "approve a visit of this proposal before recommending funding",
                ));
            }
            amount
        }
        Recommendation::NotSupported => {
            if amount.is_some_and(|a| a != 0) {
                return Err(invalid(
                    "recommend.not_supported_amount",
                    "a proposal that is not supported gets no amount",
                ));
            }
            if rationale.is_none() {
                return Err(invalid(
                    "recommend.rationale_required",
                    "say why the proposal is not supported",
                ));
            }
            0
        }
    };
    let now = now_ms();
    // Only over the recommendation read above: on PostgreSQL another one can
    // commit between that read and this write, and would be replaced unseen
    // (with an audit entry that says there was none before).
    let written = sqlx::query(
        "UPDATE proposals SET recommendation = $1, recommended_amount = $2, recommendation_note = $3,
           recommended_by = $4, recommended_at = $5, updated_at = $5
         WHERE id = $6 AND COALESCE(recommended_at, 0) = $7",
    )
    .bind(recommendation.as_str())
    .bind(amount)
    .bind(rationale.map(str::to_string))
    .bind(&user.id)
    .bind(now)
    .bind(id)
    .bind(made_at)
    .execute(&mut *tx)
    .await?;
    if written.rows_affected() == 0 {
        return Err(changed());
    }
    let summary = |r: &Option<RecommendationRecord>| {
        r.as_ref().map(|r| {
            serde_json::json!({
                "recommendation": r.recommendation.as_str(),
                "amount": r.amount,
                "rationale": r.rationale,
            })
        })
    };
    super::audit::record(
        &mut *tx,
        &super::audit::Actor {
            user_id: Some(user.id.clone()),
            ip: ip.map(str::to_string),
        },
        "recommend",
        "proposal",
        id,
        serde_json::json!({
            "old": summary(&old),
            "new": {"recommendation": recommendation.as_str(), "amount": amount, "rationale": rationale},
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The proposal with its facility, visits (with the team's suggestion), the
/// recommendation and its audit trail.
pub async fn proposal_detail(
    db: &Db,
    _user: &UserInfo,
    id: &str,
) -> Result<ProposalDetail, AppError> {
    let proposal = super::catalog::proposal_by_id(&db.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("proposal".into()))?;
    let facility = super::catalog::facility_by_id(&db.pool, &proposal.facility_id).await?;
    let unit = proposal
        .district_code
        .as_deref()
        .or(proposal.commune_code.as_deref())
        .unwrap_or_default();
    let district_name =
        super::units::get(&db.pool, &crate::model::unit_key(&proposal.unit_tree, unit))
            .await?
            .map(|u| u.full_name());
    let (_, recommendation) = current(&db.pool, id).await?;
    let rows = sqlx::query(
        "SELECT id, form_id, form_version FROM visits WHERE proposal_id = $1 AND deleted_at IS NULL
         ORDER BY received_at",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut form_of = std::collections::HashMap::new();
    for r in &rows {
        let visit: String = col(r, "id")?;
        form_of.insert(
            visit.clone(),
            (col::<String>(r, "form_id")?, col::<i64>(r, "form_version")?),
        );
        ids.push(visit);
    }
    let mut forms = std::collections::HashMap::new();
    let mut visits = Vec::new();
    for summary in super::console::summaries(db, &ids).await? {
        let answers: std::collections::BTreeMap<String, Value> = sqlx::query(
            "SELECT field, value FROM field_values WHERE entity = 'visit' AND record_id = $1",
        )
        .bind(&summary.id)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|a| {
            let value = serde_json::from_str(&col::<String>(a, "value")?).unwrap_or(Value::Null);
            Ok((col::<String>(a, "field")?, value))
        })
        .collect::<Result<_, AppError>>()?;
        let key = form_of.get(&summary.id);
        if let Some(k) = key.filter(|k| !forms.contains_key(*k)) {
            forms.insert(k.clone(), super::forms::get(&db.pool, &k.0, k.1).await?);
        }
        let form = key.and_then(|k| forms.get(k)).and_then(Option::as_ref);
        // An amount the form hides (the team suggested no support) is an answer
        // left from before, not a suggestion: the phone keeps it, the plan not.
        let amount_shown = form
            .and_then(|f| f.field("suggested_amount"))
            .is_none_or(|f| crate::forms::expr::is_relevant(f.relevant.as_deref(), &answers));
        visits.push(ProposalVisit {
            summary,
            team_suggestion: answers
                .get("team_suggestion")
                .and_then(Value::as_str)
                .map(str::to_string),
            suggested_amount: answers
                .get("suggested_amount")
                .and_then(Value::as_i64)
                .filter(|_| amount_shown),
        });
    }
    let active = sqlx::query("SELECT active FROM proposals WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .map(|r| col::<i64>(&r, "active"))??
        == 1;
    let place_choices = {
        let mut tx = db.pool.begin().await?;
        let choices = super::facilities::carry::place_choices(&mut tx, &proposal).await?;
        tx.rollback().await?;
        choices
    };
    Ok(ProposalDetail {
        place_choices,
        proposal,
        active,
        facility,
        district_name,
        visits,
        recommendation,
        audit: super::extras::without_addresses(
            super::audit::for_record(db, "proposal", id).await?,
        ),
    })
}

/// The districts of the older tree whose communes a mapping merged into unit
/// `code` of `tree` ("huyện Lục Ngạn", or several joined when the unit took
/// communes of more than one), as (codes, names) joined for one plan row.
async fn former_districts(
    db: &Db,
    tree: &str,
    code: &str,
) -> Result<Option<(String, String)>, AppError> {
    let rows = sqlx::query(
        "SELECT DISTINCT d.code, d.kind, d.name FROM unit_mappings m
         JOIN admin_units o ON o.tree = m.old_tree AND o.code = m.old_code
         JOIN admin_units d ON d.tree = o.tree AND d.code = o.parent_code AND d.level = 'district'
         WHERE m.new_tree = $1 AND m.new_code = $2 ORDER BY d.code",
    )
    .bind(tree)
    .bind(code)
    .fetch_all(&db.pool)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut codes = Vec::new();
    let mut names = Vec::new();
    for r in &rows {
        codes.push(col::<String>(r, "code")?);
        names.push(format!(
            "{} {}",
            col::<String>(r, "kind")?,
            col::<String>(r, "name")?
        ));
    }
    Ok(Some((codes.join("+"), names.join(" / "))))
}

/// The year's plan: cells by district (or commune, in trees without districts;
/// or former district with `former`) × industry group × funding source (or
/// `pending`), every proposal behind them, and the budget.
pub async fn plan(db: &Db, _user: &UserInfo, year: i32, former: bool) -> Result<Plan, AppError> {
    let tree = super::years::get(&db.pool, year)
        .await?
        .map(|y| y.unit_tree);
    let has_former = match &tree {
        Some(t) => sqlx::query("SELECT 1 AS one FROM unit_mappings WHERE new_tree = $1 LIMIT 1")
            .bind(t)
            .fetch_optional(&db.pool)
            .await?
            .is_some(),
        None => false,
    };
    let rows = sqlx::query(
        "SELECT p.id, p.title, f.name AS facility_name, COALESCE(p.district_code, p.commune_code) AS district_code,
                p.unit_tree, p.district_code IS NULL AS by_commune, d.kind AS district_kind,
                d.name AS district_name, f.industry_group, p.requested_amount,
                COALESCE(p.recommendation, 'pending') AS source, COALESCE(p.recommended_amount, 0) AS recommended,
                f.unit_tree AS facility_tree, fd.code AS facility_district, fd.kind AS facility_district_kind,
                fd.name AS facility_district_name
         FROM proposals p
         JOIN facilities f ON f.id = p.facility_id
         LEFT JOIN admin_units d ON d.tree = p.unit_tree AND d.code = COALESCE(p.district_code, p.commune_code)
         LEFT JOIN admin_units fd ON fd.tree = f.unit_tree AND fd.code = f.district_code AND fd.level = 'district'
         WHERE p.year = $1 AND p.active = 1",
    )
    .bind(i64::from(year))
    .fetch_all(&db.pool)
    .await?;
    let mut proposals = Vec::with_capacity(rows.len());
    let mut any_commune = false;
    let mut former_of: std::collections::HashMap<(String, String), Option<(String, String)>> =
        Default::default();
    for r in &rows {
        let kind: Option<String> = col(r, "district_kind")?;
        let name: Option<String> = col(r, "district_name")?;
        let mut code: String = col(r, "district_code")?;
        let mut name = name
            .map(|n| format!("{} {n}", kind.unwrap_or_default()))
            .unwrap_or_else(|| code.clone());
        // SQLite answers the IS NULL as an integer, PostgreSQL as a boolean.
        let by_commune = col::<bool>(r, "by_commune")
            .or_else(|_| col::<i64>(r, "by_commune").map(|n| n != 0))?;
        any_commune |= by_commune;
        // A facility registered on the older tree knows its own former
        // district: its row, rather than every district the new commune took
        // wards from ("thành phố Bắc Giang / huyện Tân Yên"), which the review
        // list's district filter would not match.
        let own_former: Option<String> = col(r, "facility_district")?;
        let facility_tree: String = col(r, "facility_tree")?;
        let proposal_tree: String = col(r, "unit_tree")?;
        if former && by_commune && facility_tree != proposal_tree && own_former.is_some() {
            let kind: Option<String> = col(r, "facility_district_kind")?;
            let fname: Option<String> = col(r, "facility_district_name")?;
            code = own_former.unwrap_or_default();
            name = format!("{} {}", kind.unwrap_or_default(), fname.unwrap_or_default());
        } else if former && by_commune {
            let unit_tree: String = col(r, "unit_tree")?;
            let key = (unit_tree, code.clone());
            if !former_of.contains_key(&key) {
                let found = former_districts(db, &key.0, &key.1).await?;
                former_of.insert(key.clone(), found);
            }
            if let Some((codes, names)) = &former_of[&key] {
                code = codes.clone();
                name = names.clone();
            }
        }
        proposals.push(PlanProposal {
            id: col(r, "id")?,
            title: col(r, "title")?,
            facility_name: col(r, "facility_name")?,
            district_name: name,
            district_code: code,
            industry_group: col(r, "industry_group")?,
            requested_amount: col(r, "requested_amount")?,
            source: col(r, "source")?,
            recommended_amount: col(r, "recommended")?,
        });
    }
    // By unit, then industry group in the form's order (as the plan's tables
    // read), then titles in Vietnamese alphabetical order (đ after d), which
    // neither engine's collation gives.
    proposals.sort_by_cached_key(|p| {
        (
            p.district_code.clone(),
            crate::model::INDUSTRIES
                .iter()
                .position(|g| *g == p.industry_group)
                .unwrap_or(crate::model::INDUSTRIES.len()),
            p.industry_group.clone(),
            crate::collation::key(&p.title),
            p.id.clone(),
        )
    });
    let mut cells: Vec<PlanCell> = Vec::new();
    for p in &proposals {
        match cells.iter_mut().find(|c| {
            c.district_code == p.district_code
                && c.industry_group == p.industry_group
                && c.source == p.source
        }) {
            Some(c) => {
                c.count += 1;
                // Saturating: amounts are capped at intake, but a plan must
                // never fail to add up because of one bad row.
                c.requested = c.requested.saturating_add(p.requested_amount);
                c.recommended = c.recommended.saturating_add(p.recommended_amount);
            }
            None => cells.push(PlanCell {
                district_code: p.district_code.clone(),
                district_name: p.district_name.clone(),
                industry_group: p.industry_group.clone(),
                source: p.source.clone(),
                count: 1,
                requested: p.requested_amount,
                recommended: p.recommended_amount,
            }),
        }
    }
    let budget = sqlx::query("SELECT amount FROM budgets WHERE year = $1")
        .bind(i64::from(year))
        .fetch_optional(&db.pool)
        .await?
        .map(|r| col::<i64>(&r, "amount"))
        .transpose()?;
    let grouped_by = match (former && has_former, any_commune) {
        (true, _) => "former_district",
        (false, true) => "commune",
        (false, false) => "district",
    };
    Ok(Plan {
        year,
        grouped_by: grouped_by.into(),
        has_former,
        cells,
        proposals,
        budget,
    })
}

/// An administrator sets the province's extension budget for a year.
pub async fn set_budget(
    db: &Db,
    user: &UserInfo,
    year: i32,
    amount: &Value,
    ip: Option<&str>,
) -> Result<(), AppError> {
    if !user.has(Role::Administrator) {
        return Err(AppError::Forbidden(
            "only an administrator sets the budget".into(),
        ));
    }
    if !(2000..=2100).contains(&year) {
        return Err(AppError::Invalid(
            ErrorBody::new("budget.bad_year", format!("{year} is not a plan year"))
                .with("year", i64::from(year)),
        ));
    }
    let amount = whole_dong(amount, "budget")?;
    let mut tx = db.begin_write().await?;
    // A closed year's plan is final, its budget with it.
    if super::years::get(&mut *tx, year)
        .await?
        .is_some_and(|y| !y.open)
    {
        return Err(super::years::plan_closed(year));
    }
    let old = sqlx::query("SELECT amount FROM budgets WHERE year = $1")
        .bind(i64::from(year))
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| col::<i64>(&r, "amount"))
        .transpose()?;
    let now = now_ms();
    sqlx::query(
        "INSERT INTO budgets (year, amount, updated_by, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (year) DO UPDATE SET amount = excluded.amount, updated_by = excluded.updated_by,
           updated_at = excluded.updated_at",
    )
    .bind(i64::from(year))
    .bind(amount)
    .bind(&user.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    super::audit::record(
        &mut *tx,
        &super::audit::Actor {
            user_id: Some(user.id.clone()),
            ip: ip.map(str::to_string),
        },
        "set_budget",
        "budget",
        &year.to_string(),
        serde_json::json!({"old": old, "new": amount}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(e: AppError) -> String {
        e.body().code
    }

    #[test]
    fn an_amount_must_be_a_whole_non_negative_number_of_dong() {
        assert_eq!(
            whole_dong(&json!(1_500_000), "recommend").unwrap(),
            1_500_000
        );
        assert_eq!(
            whole_dong(&json!(2.0e9), "recommend").unwrap(),
            2_000_000_000
        );
        assert_eq!(
            whole_dong(&json!("1.500.000"), "recommend").unwrap(),
            1_500_000
        );
        assert_eq!(
            code(whole_dong(&json!(1500.5), "recommend").unwrap_err()),
            "recommend.amount_not_whole"
        );
        assert_eq!(
            code(whole_dong(&json!("1500,5"), "budget").unwrap_err()),
            "budget.amount_not_whole"
        );
        assert_eq!(
            whole_dong(&json!("1 500 000"), "budget").unwrap(),
            1_500_000
        );
        for bad in ["1.5", "1500.5", "1.50.000", ".500", "12a", ""] {
            assert_eq!(
                code(whole_dong(&json!(bad), "budget").unwrap_err()),
                "budget.amount_not_whole",
                "{bad}"
            );
        }
        assert_eq!(
            code(whole_dong(&json!(i64::MAX), "recommend").unwrap_err()),
            "recommend.amount_too_large"
        );
        assert_eq!(
            code(whole_dong(&json!(-1), "recommend").unwrap_err()),
            "recommend.amount_negative"
        );
        assert_eq!(
            code(whole_dong(&json!(true), "recommend").unwrap_err()),
            "recommend.amount_not_whole"
        );
    }
}
