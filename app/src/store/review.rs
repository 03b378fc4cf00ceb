//! Review transitions: commands the server checks against the current state,
//! never last-writer-wins fields (DESIGN.md, "Two kinds of state on a visit").
//!
//! ```text
//! in_progress ─submit→ submitted ─send back→ needs_changes ─submit→ submitted
//!                          ├─approve→ approved
//!                          └─reject→  rejected
//! ```

use super::{changes, col, now_ms, Db, Tx};
use crate::error::{AppError, ErrorBody};
use crate::model::{ReviewEvent, ReviewState, Role, UserInfo};

/// Whether `from → to` is a transition anyone may make; who may make it is
/// checked by the callers (the owner submits, a supervisor decides).
pub fn allowed(from: ReviewState, to: ReviewState) -> bool {
    use ReviewState::*;
    matches!(
        (from, to),
        (InProgress | NeedsChanges, Submitted) | (Submitted, NeedsChanges | Approved | Rejected)
    )
}

/// Whether an inspector may still change answers: not while a supervisor has it
/// and not after the decision.
pub fn editable(state: ReviewState) -> bool {
    matches!(state, ReviewState::InProgress | ReviewState::NeedsChanges)
}

pub(super) async fn record_transition(
    tx: &mut Tx,
    visit_id: &str,
    from: ReviewState,
    to: ReviewState,
    comment: Option<&str>,
    field: Option<&str>,
    actor: &super::audit::Actor,
) -> Result<(), AppError> {
    let user_id = actor.user_id.as_deref().unwrap_or_default();
    let now = now_ms();
    let submitted = (to == ReviewState::Submitted).then_some(now);
    // Only from the state the caller read: on PostgreSQL two decisions read
    // `submitted` at once, and the second would overwrite the first's, with
    // both transitions in the history.
    let moved = sqlx::query(
        "UPDATE visits SET review_state = $1, submitted_at = COALESCE($2, submitted_at)
         WHERE id = $3 AND review_state = $4",
    )
    .bind(to.as_str())
    .bind(submitted)
    .bind(visit_id)
    .bind(from.as_str())
    .execute(&mut **tx)
    .await?;
    if moved.rows_affected() == 0 {
        return Err(changed_meanwhile());
    }
    sqlx::query(
        "INSERT INTO review_events (visit_id, from_state, to_state, comment, field, user_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(visit_id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(comment.map(str::to_string))
    .bind(field.map(str::to_string))
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    super::audit::record(
        &mut **tx,
        actor,
        "review",
        "visit",
        visit_id,
        serde_json::json!({"from": from.as_str(), "to": to.as_str(), "comment": comment, "field": field}),
    )
    .await?;
    Ok(())
}

/// 409 `review.changed`: the visit moved on between what the supervisor saw
/// and the decision.
fn changed_meanwhile() -> AppError {
    AppError::Protocol {
        status: 409,
        body: ErrorBody::new(
            "review.changed",
            "the visit changed while you were deciding (someone else decided it, or the inspector sent it again): reload it and decide again",
        ),
    }
}

/// A supervisor's decision on a submitted visit: send back (with a comment the
/// inspector's phone receives on its next pull), approve or reject.
/// `seen_events`: how many review events the supervisor's page showed. A
/// visit sent back and submitted again since has more, and an approval of
/// answers the supervisor never saw is refused (`review.changed`).
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    db: &Db,
    user: &UserInfo,
    visit_id: &str,
    to: ReviewState,
    comment: Option<&str>,
    field: Option<&str>,
    seen_events: Option<usize>,
    ip: Option<&str>,
) -> Result<(), AppError> {
    if !user.has(Role::Supervisor) {
        return Err(AppError::Forbidden(
            "only a supervisor reviews visits".into(),
        ));
    }
    if !matches!(
        to,
        ReviewState::NeedsChanges | ReviewState::Approved | ReviewState::Rejected
    ) {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "review.bad_decision",
                format!(
                    "a supervisor can send back, approve or reject, not move to {}",
                    to.as_str()
                ),
            )
            .with("to", to.as_str()),
        ));
    }
    let comment = comment
        .map(str::trim)
        .filter(|c| !crate::domain::shows_nothing(c));
    if to == ReviewState::NeedsChanges && comment.is_none() {
        return Err(AppError::Invalid(ErrorBody::new(
            "review.comment_required",
            "say what the inspector must change",
        )));
    }
    let mut tx = db.begin_write().await?;
    if let Some(photo) = field.and_then(|f| f.strip_prefix("photo:")) {
        let found = sqlx::query(
            "SELECT 1 AS one FROM photos WHERE id = $1 AND visit_id = $2 AND deleted_at IS NULL",
        )
        .bind(photo)
        .bind(visit_id)
        .fetch_optional(&mut *tx)
        .await?;
        if found.is_none() {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "review.photo_not_on_visit",
                    "the comment is pinned to a photo that is not on this visit",
                )
                .with("photo", photo),
            ));
        }
    }
    let row = sqlx::query(
        "SELECT review_state, unit_path, owner_id, proposal_id FROM visits WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(visit_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::NotFound("visit".into()))?;
    if let Some(proposal) = col::<Option<String>>(&row, "proposal_id")? {
        super::years::check_decision_open(&mut tx, &proposal).await?;
    }
    let from = ReviewState::parse(&col::<String>(&row, "review_state")?)
        .unwrap_or(ReviewState::InProgress);
    if let Some(seen) = seen_events {
        let now: i64 = col(
            &sqlx::query("SELECT COUNT(*) AS n FROM review_events WHERE visit_id = $1")
                .bind(visit_id)
                .fetch_one(&mut *tx)
                .await?,
            "n",
        )?;
        if now != seen as i64 {
            return Err(changed_meanwhile());
        }
    }
    if !allowed(from, to) {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "review.bad_transition",
                format!(
                    "a visit that is {} cannot become {}",
                    from.as_str(),
                    to.as_str()
                ),
            )
            .with("from", from.as_str())
            .with("to", to.as_str()),
        ));
    }
    // An approval is of the answers as they stand: a conflict settled after
    // it would change an approved visit's answer behind the approval. Counted
    // here, after the state was read in this transaction, so a push that
    // submitted the visit is seen together with the conflicts it made.
    if to == ReviewState::Approved {
        let open = super::conflicts::open_count_for_visit(&mut tx, visit_id).await?;
        if open > 0 {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "review.conflicts_open",
                    format!("settle this visit's {open} conflicts before approving it"),
                )
                .with("count", open),
            ));
        }
    }
    let actor = super::audit::Actor {
        user_id: Some(user.id.clone()),
        ip: ip.map(str::to_string),
    };
    record_transition(&mut tx, visit_id, from, to, comment, field, &actor).await?;
    let path: Option<String> = col(&row, "unit_path")?;
    let owner: String = col(&row, "owner_id")?;
    changes::append(&mut tx, "visit", visit_id, path.as_deref(), Some(&owner)).await?;
    tx.commit().await?;
    Ok(())
}

/// The transitions of a visit, oldest first, with the name of who made each.
pub async fn events<'c, E>(exec: E, visit_id: &str) -> Result<Vec<ReviewEvent>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "SELECT e.from_state, e.to_state, e.comment, e.field, u.display_name, e.at
         FROM review_events e JOIN users u ON u.id = e.user_id WHERE e.visit_id = $1 ORDER BY e.id",
    )
    .bind(visit_id)
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ReviewEvent {
                from: ReviewState::parse(&col::<String>(r, "from_state")?)
                    .unwrap_or(ReviewState::InProgress),
                to: ReviewState::parse(&col::<String>(r, "to_state")?)
                    .unwrap_or(ReviewState::InProgress),
                comment: col(r, "comment")?,
                field: col(r, "field")?,
                by: col(r, "display_name")?,
                at_ms: col(r, "at")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReviewState::*;

    #[test]
    fn only_the_documented_transitions_are_allowed() {
        let all = [InProgress, Submitted, NeedsChanges, Approved, Rejected];
        let mut ok = Vec::new();
        for from in all {
            for to in all {
                if allowed(from, to) {
                    ok.push((from, to));
                }
            }
        }
        assert_eq!(
            ok,
            vec![
                (InProgress, Submitted),
                (Submitted, NeedsChanges),
                (Submitted, Approved),
                (Submitted, Rejected),
                (NeedsChanges, Submitted),
            ]
        );
    }
}
