//! A visit's mutations: the header (form version, proposal or facility,
//! placement in scope), answers checked against the form, and the submit
//! with its required and conditional answers.
//!
//! One file (about 450 lines): the header, the answers (photo fields merged as sets) and the submit share the batch's head cache and the form checks.

use super::*;

/// A visit's header as the store keeps it.
#[derive(Clone)]
pub struct VisitHead {
    pub(super) owner_id: String,
    pub(super) form_id: String,
    pub(super) form_version: i64,
    pub(super) proposal_id: Option<String>,
    pub(super) facility_id: Option<String>,
    pub(super) unit_path: Option<String>,
    pub(super) deleted: bool,
    pub(super) state: ReviewState,
}

/// The header of a visit, read once per batch: most mutations of a batch edit
/// the same few visits. Whatever changes a header (create, delete, submit)
/// drops it from the batch's cache.
pub(super) async fn visit_head(
    tx: &mut Tx,
    who: &Author<'_>,
    id: &str,
) -> Result<Option<VisitHead>, AppError> {
    if let Some(head) = who.heads.lock().unwrap_or_else(|p| p.into_inner()).get(id) {
        return Ok(Some(head.clone()));
    }
    let head = read_visit_head(tx, id).await?;
    if let Some(h) = &head {
        who.heads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), h.clone());
    }
    Ok(head)
}

pub(super) fn forget_head(who: &Author<'_>, id: &str) {
    who.heads
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(id);
}

pub(super) async fn read_visit_head(tx: &mut Tx, id: &str) -> Result<Option<VisitHead>, AppError> {
    const HEAD: &str = "SELECT owner_id, form_id, form_version, proposal_id, facility_id, unit_path, deleted_at, review_state FROM visits WHERE id = $1";
    // On PostgreSQL the row stays locked to this batch: another phone's
    // submit, a supervisor's decision or a year's closing cannot land between
    // the checks made on this state and the answers written under it. SQLite
    // has one writer already.
    let sql = match crate::store::changes::engine_of(tx) {
        crate::store::Engine::Postgres => format!("{HEAD} FOR UPDATE"),
        crate::store::Engine::Sqlite => HEAD.to_string(),
    };
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await?;
    row.map(|row| {
        Ok(VisitHead {
            owner_id: col(&row, "owner_id")?,
            form_id: col(&row, "form_id")?,
            form_version: col(&row, "form_version")?,
            proposal_id: col(&row, "proposal_id")?,
            facility_id: col(&row, "facility_id")?,
            unit_path: col(&row, "unit_path")?,
            deleted: col::<Option<i64>>(&row, "deleted_at")?.is_some(),
            state: ReviewState::parse(&col::<String>(&row, "review_state")?)
                .unwrap_or(ReviewState::InProgress),
        })
    })
    .transpose()
}

/// The checks every change to an existing visit (or one of its rows) passes.
pub(super) fn may_change(
    head: &VisitHead,
    user: &UserInfo,
    kind: MutationKind,
) -> Result<(), ErrorBody> {
    if head.owner_id != user.id {
        return Err(refuse(
            "visit.not_yours",
            "this visit belongs to another inspector",
        ));
    }
    if head.deleted {
        return Err(refuse("visit.deleted", "this visit was deleted"));
    }
    if kind != MutationKind::Submit && !review::editable(head.state) {
        return Err(refuse(
            "visit.locked",
            format!(
                "this visit is {} and can no longer be changed on the phone",
                head.state.as_str()
            ),
        )
        .with("state", head.state.as_str()));
    }
    Ok(())
}

/// Checks answer fields against the form; returns them without header keys.
pub(super) fn check_answers<'m>(
    form: &FormDefinition,
    fields: &'m BTreeMap<String, Value>,
    skip: &[&str],
) -> Result<Vec<(&'m String, &'m Value)>, ErrorBody> {
    let mut answers = Vec::new();
    for (key, value) in fields {
        if skip.contains(&key.as_str()) {
            continue;
        }
        let Some(field) = form.field(key) else {
            return Err(refuse(
                "form.unknown_field",
                format!("form {} v{} has no field \"{key}\"", form.id, form.version),
            )
            .with("field", key.clone()));
        };
        rules::check_value(field, value)?;
        answers.push((key, value));
    }
    Ok(answers)
}

/// The keys of the form's photo fields: their answers merge as sets.
fn photo_keys(form: &FormDefinition) -> Vec<&str> {
    form.fields()
        .filter(|f| f.kind == FieldType::Photo)
        .map(|f| f.key.as_str())
        .collect()
}

pub(super) async fn load_form(
    tx: &mut Tx,
    who: &Author<'_>,
    form_id: &str,
    version: i64,
) -> Result<Result<std::sync::Arc<FormDefinition>, ErrorBody>, AppError> {
    let key = (form_id.to_string(), version);
    if let Some(form) = who
        .forms
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
    {
        return Ok(Ok(form.clone()));
    }
    let Some(form) = forms::get(&mut **tx, form_id, version).await? else {
        return Ok(Err(refuse(
            "visit.unknown_form",
            format!("no form {form_id} version {version}"),
        )));
    };
    let form = std::sync::Arc::new(form);
    who.forms
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, form.clone());
    Ok(Ok(form))
}

pub(super) async fn visit(
    tx: &mut Tx,
    who: &Author<'_>,
    m: &Mutation,
    hlc: Hlc,
) -> Result<Verdict, AppError> {
    let id = m.record_id.to_string();
    let user = who.user;
    let Some(head) = visit_head(tx, who, &id).await? else {
        return match m.kind {
            MutationKind::Upsert => create_visit(tx, who, m, hlc).await,
            MutationKind::Delete | MutationKind::Submit => Ok(Err(refuse(
                "visit.unknown",
                "there is no such visit on the server",
            ))),
        };
    };
    refused!(may_change(&head, user, m.kind));
    refused!(crate::store::years::check_visit_writable(tx, head.proposal_id.as_deref()).await?);
    for (key, stored) in [
        ("form_id", Value::from(head.form_id.clone())),
        ("form_version", Value::from(head.form_version)),
        ("proposal_id", Value::from(head.proposal_id.clone())),
        ("facility_id", Value::from(head.facility_id.clone())),
    ] {
        // A phone resends its header until the first push is acknowledged:
        // the same values are fine, other ones would move the visit.
        if let Some(sent) = m.fields.get(key).filter(|v| !v.is_null()) {
            if *sent != stored {
                return Ok(Err(refuse(
                    "visit.header_immutable",
                    format!("{key} of a visit cannot change"),
                )
                .with("field", key)));
            }
        }
    }
    let form = refused!(load_form(tx, who, &head.form_id, head.form_version).await?);
    let answers = refused!(check_answers(&form, &m.fields, RESERVED_KEYS));
    let lost = merge_all(tx, who, "visit", &id, &answers, &photo_keys(&form), m, hlc).await?;
    match m.kind {
        MutationKind::Upsert => {}
        MutationKind::Delete => {
            sqlx::query("UPDATE visits SET deleted_at = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(&id)
                .execute(&mut **tx)
                .await?;
            forget_head(who, &id);
        }
        MutationKind::Submit => {
            if !review::allowed(head.state, ReviewState::Submitted) {
                // The phone learns the state at its next pull; the office's
                // "reload the page" (review.bad_transition) means nothing there.
                return Ok(Err(refuse(
                    "visit.not_submittable",
                    format!(
                        "a visit that is {} cannot be submitted",
                        head.state.as_str()
                    ),
                )
                .with("from", head.state.as_str())));
            }
            let missing = missing_answers(tx, &id, &form).await?;
            if let Some(first) = missing.first() {
                return Ok(Err(refuse(
                    "visit.incomplete",
                    format!("required answers are missing: {}", missing.join(", ")),
                )
                .with("field", first.clone())
                .with("fields", missing.clone())));
            }
            review::record_transition(
                tx,
                &id,
                head.state,
                ReviewState::Submitted,
                None,
                None,
                &crate::store::audit::Actor {
                    user_id: Some(user.id.clone()),
                    ip: None,
                },
            )
            .await?;
            forget_head(who, &id);
        }
    }
    who.change(
        "visit",
        &id,
        head.unit_path.as_deref(),
        Some(&head.owner_id),
    );
    Ok(Ok(Applied { lost }))
}

/// Required answers (shown by their `relevant` rule) still missing from the
/// stored visit, including repeat groups without a live row and required
/// answers missing inside a live row (`group/field`).
pub(super) async fn missing_answers(
    tx: &mut Tx,
    id: &str,
    form: &FormDefinition,
) -> Result<Vec<String>, AppError> {
    let mut answers = BTreeMap::new();
    for row in sqlx::query(
        "SELECT field, value FROM field_values WHERE entity = 'visit' AND record_id = $1",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?
    {
        let value: String = col(&row, "value")?;
        answers.insert(
            col::<String>(&row, "field")?,
            serde_json::from_str(&value).unwrap_or(Value::Null),
        );
    }
    // Live rows with their answers (a row without answers yet has one NULL line).
    let mut rows: BTreeMap<String, (String, BTreeMap<String, Value>)> = BTreeMap::new();
    for row in sqlx::query(
        "SELECT r.id, r.group_key, v.field, v.value FROM visit_rows r \
         LEFT JOIN field_values v ON v.entity = 'visit_row' AND v.record_id = r.id \
         WHERE r.visit_id = $1 AND r.deleted_at IS NULL",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?
    {
        let entry = rows
            .entry(col::<String>(&row, "id")?)
            .or_insert_with(|| (String::new(), BTreeMap::new()));
        entry.0 = col::<String>(&row, "group_key")?;
        if let (Some(field), Some(value)) = (
            col::<Option<String>>(&row, "field")?,
            col::<Option<String>>(&row, "value")?,
        ) {
            entry
                .1
                .insert(field, serde_json::from_str(&value).unwrap_or(Value::Null));
        }
    }
    let live: Vec<rules::RowAnswers> = rows
        .values()
        .map(|(group, answers)| rules::RowAnswers { group, answers })
        .collect();
    Ok(rules::missing_required(form, &answers, &live))
}

pub(super) async fn create_visit(
    tx: &mut Tx,
    who: &Author<'_>,
    m: &Mutation,
    hlc: Hlc,
) -> Result<Verdict, AppError> {
    let id = m.record_id.to_string();
    let user = who.user;
    let Some(form_id) = m.fields.get("form_id").and_then(Value::as_str) else {
        return Ok(Err(refuse(
            "visit.header_missing",
            "a new visit needs form_id and form_version",
        )
        .with("field", "form_id")));
    };
    let Some(form_version) = m.fields.get("form_version").and_then(Value::as_i64) else {
        return Ok(Err(refuse(
            "visit.header_missing",
            "a new visit needs form_id and form_version",
        )
        .with("field", "form_version")));
    };
    let proposal_id = m
        .fields
        .get("proposal_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut facility_id = m
        .fields
        .get("facility_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    // The visit is placed where its proposal (or facility) is, in its tree.
    let (tree, district_code, path) = if let Some(pid) = &proposal_id {
        let Some(p) = catalog::proposal_by_id(&mut **tx, pid).await? else {
            return Ok(Err(refuse(
                "visit.unknown_proposal",
                format!("no proposal {pid}"),
            )
            .with("field", "proposal_id")));
        };
        // The visit surveys the proposal's own facility: another one (of
        // another district, say) would file evidence under the wrong place.
        if facility_id.as_ref().is_some_and(|f| *f != p.facility_id) {
            return Ok(Err(refuse(
                "visit.facility_mismatch",
                "this facility is not the proposal's; a visit for a proposal surveys the proposal's facility",
            )
            .with("field", "facility_id")
            .with("expected", p.facility_id.clone())));
        }
        facility_id.get_or_insert(p.facility_id.clone());
        let path = catalog::stored_proposal_path(tx, &p).await?;
        (p.unit_tree, p.district_code, path)
    } else if let Some(fid) = &facility_id {
        let Some(f) = catalog::facility_by_id(&mut **tx, fid).await? else {
            return Ok(Err(refuse(
                "visit.unknown_facility",
                format!("no facility {fid}"),
            )
            .with("field", "facility_id")));
        };
        let path = catalog::facility_path(tx, fid).await?;
        (f.unit_tree, f.district_code, path)
    } else {
        return Ok(Err(refuse(
            "visit.header_missing",
            "a new visit needs a proposal_id or a facility_id",
        )
        .with("field", "proposal_id")));
    };
    refused!(crate::store::years::check_visit_writable(tx, proposal_id.as_deref()).await?);
    if let Some(pid) = &proposal_id {
        // Any version of the year's form (a phone may still hold an older
        // one), never another form: the supervisor reads every visit of the
        // year against its questions.
        if let Some(expected) = crate::store::years::form_of_proposal(tx, pid).await? {
            if expected != form_id {
                return Ok(Err(refuse(
                    "visit.wrong_form",
                    format!("this proposal's year surveys with form {expected}, not {form_id}"),
                )
                .with("field", "form_id")
                .with("expected", expected)
                .with("form", form_id)));
            }
        }
    }
    if !in_scope(tx, user, &path).await? {
        return Ok(Err(refuse(
            "visit.out_of_scope",
            "this proposal is outside your districts",
        )));
    }
    let form = refused!(load_form(tx, who, form_id, form_version).await?);
    let answers = refused!(check_answers(&form, &m.fields, RESERVED_KEYS));
    // When the visit began, by the phone's clock if that is plausible (from
    // 2000 to the minute of skew the clock rules allow); else the change's
    // stamp if that is, else now. A phone whose clock is wrong still gets its
    // visit in: refusing it would strand the inspector's work over a setting.
    let now = now_ms();
    let plausible = |t: &i64| {
        (crate::photos::EARLIEST_CAPTURE_MS..=now + crate::sync::hlc::MAX_FUTURE_SKEW_MS)
            .contains(t)
    };
    let created_at = m
        .fields
        .get("started_at")
        .and_then(Value::as_i64)
        .filter(plausible)
        .or(Some(hlc.ms).filter(plausible))
        .unwrap_or(now);
    sqlx::query(
        "INSERT INTO visits (id, form_id, form_version, proposal_id, facility_id, owner_id, device_id, unit_tree,
           district_code, unit_path, review_state, created_at, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'in_progress', $11, $12)",
    )
    .bind(&id)
    .bind(form_id)
    .bind(form_version)
    .bind(proposal_id)
    .bind(facility_id)
    .bind(&user.id)
    .bind(who.device_id)
    .bind(&tree)
    .bind(district_code)
    .bind(&path)
    .bind(created_at)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    let lost = merge_all(tx, who, "visit", &id, &answers, &photo_keys(&form), m, hlc).await?;
    if !forms::is_current(tx, form_id, form_version).await? {
        // An older version now in use: the phones that see this visit need it too.
        let key = format!("{form_id}@{form_version}");
        who.change("form", &key, None, Some(&user.id));
    }
    who.change("visit", &id, Some(&path), Some(&user.id));
    Ok(Ok(Applied { lost }))
}
