//! Validation and application of one mutation, per entity. A refusal is
//! `Ok(Err(body))`: stored with its reason, and the device's queue moves on. An
//! `Err` is a failure of ours and aborts the whole batch.
//!
//! Per mutation the server checks types, ranges, lengths and ownership; required
//! and conditional rules wait for `submit` (an inspector may save half a form).
//!
//! One file (1301 lines): one mutation's application per entity shares the Author and verdict machinery; issue 16 splits it per entity.

use super::merge::{merge_field, Outcome, Write};
use super::{catalog, changes, col, forms, now_ms, review, units, Tx};
use crate::error::{AppError, ErrorBody};
use crate::forms::{definition::RESERVED_KEYS, rules, FieldType, FormDefinition};
use crate::model::{ReviewState, Role, UserInfo};
use crate::sync::{Entity, Hlc, Mutation, MutationKind};
use serde_json::Value;
use std::collections::BTreeMap;

/// The columns of a buffered mutation-log row.
pub const MUTATION_COLUMNS: &[&str] = &[
    "mutation_id",
    "device_id",
    "seq",
    "entity",
    "record_id",
    "kind",
    "fields",
    "hlc",
    "original_hlc",
    "base_version",
    "status",
    "error",
    "received_at",
];

/// Keys the first mutation of a repeat-group row carries besides its answers.
pub const ROW_HEADER_KEYS: &[&str] = &["visit_id", "group"];

/// What a phone needs to hear about an applied mutation.
pub struct Applied {
    /// Fields where a concurrent value from another phone won.
    pub lost: Vec<String>,
}

pub type Verdict = Result<Applied, ErrorBody>;

/// The author of a mutation: the device's owner (also during an import made by a
/// supervisor) and the device that made it; and the change-log entries the batch
/// owes, written once per record when the batch ends (a phone pulls a record's
/// current state, so one entry per record and batch is enough).
pub struct Author<'a> {
    pub user: &'a UserInfo,
    pub device_id: &'a str,
    pub changes: std::sync::Mutex<Vec<changes::Entry>>,
    /// Form versions are immutable: parse each once per batch, not per mutation.
    forms: std::sync::Mutex<BTreeMap<(String, i64), std::sync::Arc<FormDefinition>>>,
    /// Field-history and mutation-log rows, written together before commit.
    pub history: super::rows::Buffer,
    pub log: super::rows::Buffer,
    heads: std::sync::Mutex<std::collections::HashMap<String, VisitHead>>,
}

impl<'a> Author<'a> {
    pub fn new(user: &'a UserInfo, device_id: &'a str) -> Self {
        Author {
            user,
            device_id,
            changes: Default::default(),
            forms: Default::default(),
            history: super::rows::Buffer::new("field_history", super::merge::HISTORY_COLUMNS),
            log: super::rows::Buffer::new("mutations", MUTATION_COLUMNS),
            heads: Default::default(),
        }
    }

    fn change(&self, entity: &str, id: &str, path: Option<&str>, owner: Option<&str>) {
        let entry = changes::Entry {
            entity: entity.to_string(),
            record_id: id.to_string(),
            unit_path: path.map(str::to_string),
            owner_id: owner.map(str::to_string),
        };
        let mut pending = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = pending.iter().position(|e| *e == entry) {
            pending.remove(i);
        }
        pending.push(entry);
    }

    /// Writes the buffered history and mutation rows and the deferred change-log
    /// entries (call before commit).
    pub async fn flush(&self, tx: &mut Tx) -> Result<(), AppError> {
        self.history.flush(tx).await?;
        self.log.flush(tx).await?;
        self.flush_changes(tx).await
    }

    async fn flush_changes(&self, tx: &mut Tx) -> Result<(), AppError> {
        let pending = std::mem::take(&mut *self.changes.lock().unwrap_or_else(|p| p.into_inner()));
        changes::append_many(tx, &pending).await
    }
}

fn refuse(code: &str, message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(code, message)
}

pub async fn apply(
    tx: &mut Tx,
    who: &Author<'_>,
    m: &Mutation,
    hlc: Hlc,
) -> Result<Verdict, AppError> {
    match m.entity {
        Entity::Visit => visit(tx, who, m, hlc).await,
        Entity::VisitRow => visit_row(tx, who, m, hlc).await,
        Entity::Facility => facility(tx, who, m, hlc).await,
        Entity::Photo => photo(tx, who, m).await,
    }
}

/// Whether a unit path lies under one of the user's scope paths (their units
/// and those mapped to them in other trees); supervisors and administrators
/// see the whole province.
pub async fn in_scope(tx: &mut Tx, user: &UserInfo, path: &str) -> Result<bool, AppError> {
    if user.has(Role::Supervisor) || user.has(Role::Administrator) {
        return Ok(true);
    }
    let paths = super::units::scope_paths(&mut **tx, &user.id).await?;
    Ok(paths.iter().any(|p| path.starts_with(p.as_str())))
}

/// Merges answer fields and returns those this phone lost.
async fn merge_all(
    tx: &mut Tx,
    who: &Author<'_>,
    entity: &str,
    record_id: &str,
    answers: &[(&String, &Value)],
    m: &Mutation,
    hlc: Hlc,
) -> Result<Vec<String>, AppError> {
    let mutation_id = m.mutation_id.to_string();
    let device_id = who.device_id;
    let mut lost = Vec::new();
    for (field, value) in answers {
        let outcome = merge_field(
            tx,
            &Write {
                entity,
                record_id,
                field,
                value,
                base_version: m.base_version,
                hlc,
                device_id,
                mutation_id: &mutation_id,
                seq: m.seq,
                history: &who.history,
            },
        )
        .await?;
        if outcome == Outcome::Lost {
            lost.push((*field).clone());
        }
    }
    Ok(lost)
}

/// A visit's header as the store keeps it.
#[derive(Clone)]
pub struct VisitHead {
    owner_id: String,
    form_id: String,
    form_version: i64,
    proposal_id: Option<String>,
    facility_id: Option<String>,
    unit_path: Option<String>,
    deleted: bool,
    state: ReviewState,
}

/// The header of a visit, read once per batch: most mutations of a batch edit
/// the same few visits. Whatever changes a header (create, delete, submit)
/// drops it from the batch's cache.
async fn visit_head(
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

fn forget_head(who: &Author<'_>, id: &str) {
    who.heads
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(id);
}

async fn read_visit_head(tx: &mut Tx, id: &str) -> Result<Option<VisitHead>, AppError> {
    let row = sqlx::query(
        "SELECT owner_id, form_id, form_version, proposal_id, facility_id, unit_path, deleted_at, review_state FROM visits WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
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
fn may_change(head: &VisitHead, user: &UserInfo, kind: MutationKind) -> Result<(), ErrorBody> {
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
fn check_answers<'m>(
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

async fn load_form(
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

macro_rules! refused {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(body) => return Ok(Err(body)),
        }
    };
}

async fn visit(tx: &mut Tx, who: &Author<'_>, m: &Mutation, hlc: Hlc) -> Result<Verdict, AppError> {
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
    refused!(super::years::check_visit_writable(tx, head.proposal_id.as_deref()).await?);
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
    let lost = merge_all(tx, who, "visit", &id, &answers, m, hlc).await?;
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
                return Ok(Err(refuse(
                    "review.bad_transition",
                    format!(
                        "a visit that is {} cannot be submitted",
                        head.state.as_str()
                    ),
                )
                .with("from", head.state.as_str())
                .with("to", "submitted")));
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
                &super::audit::Actor {
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
async fn missing_answers(
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

async fn create_visit(
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
    refused!(super::years::check_visit_writable(tx, proposal_id.as_deref()).await?);
    if !in_scope(tx, user, &path).await? {
        return Ok(Err(refuse(
            "visit.out_of_scope",
            "this proposal is outside your districts",
        )));
    }
    let form = refused!(load_form(tx, who, form_id, form_version).await?);
    let answers = refused!(check_answers(&form, &m.fields, RESERVED_KEYS));
    let created_at = m
        .fields
        .get("started_at")
        .and_then(Value::as_i64)
        .unwrap_or(m.hlc.ms);
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
    let lost = merge_all(tx, who, "visit", &id, &answers, m, hlc).await?;
    if !forms::is_current(tx, form_id, form_version).await? {
        // An older version now in use: the phones that see this visit need it too.
        let key = format!("{form_id}@{form_version}");
        who.change("form", &key, None, Some(&user.id));
    }
    who.change("visit", &id, Some(&path), Some(&user.id));
    Ok(Ok(Applied { lost }))
}

async fn visit_row(
    tx: &mut Tx,
    who: &Author<'_>,
    m: &Mutation,
    hlc: Hlc,
) -> Result<Verdict, AppError> {
    let id = m.record_id.to_string();
    let existing =
        sqlx::query("SELECT visit_id, group_key, deleted_at FROM visit_rows WHERE id = $1")
            .bind(&id)
            .fetch_optional(&mut **tx)
            .await?;
    let sent_visit = m.fields.get("visit_id").and_then(Value::as_str);
    let sent_group = m.fields.get("group").and_then(Value::as_str);
    let (visit_id, group, exists) = match existing {
        Some(row) => {
            if col::<Option<i64>>(&row, "deleted_at")?.is_some() {
                return Ok(Err(refuse("row.deleted", "this row was deleted")));
            }
            let visit_id: String = col(&row, "visit_id")?;
            let group: String = col(&row, "group_key")?;
            if sent_visit.is_some_and(|v| v != visit_id) || sent_group.is_some_and(|g| g != group) {
                return Ok(Err(refuse(
                    "row.header_immutable",
                    "a row cannot move to another visit or group",
                )));
            }
            (visit_id, group, true)
        }
        None => {
            if m.kind != MutationKind::Upsert {
                return Ok(Err(refuse(
                    "row.unknown",
                    "there is no such row on the server",
                )));
            }
            let (Some(v), Some(g)) = (sent_visit, sent_group) else {
                return Ok(Err(refuse(
                    "row.header_missing",
                    "a new row needs visit_id and group",
                )
                .with(
                    "field",
                    if sent_visit.is_none() {
                        "visit_id"
                    } else {
                        "group"
                    },
                )));
            };
            (v.to_string(), g.to_string(), false)
        }
    };
    if m.kind == MutationKind::Submit {
        return Ok(Err(refuse(
            "row.not_submittable",
            "submit the visit, not one of its rows",
        )));
    }
    let Some(head) = visit_head(tx, who, &visit_id).await? else {
        return Ok(Err(refuse(
            "visit.unknown",
            "there is no such visit on the server",
        )));
    };
    refused!(may_change(&head, who.user, MutationKind::Upsert));
    refused!(super::years::check_visit_writable(tx, head.proposal_id.as_deref()).await?);
    let form = refused!(load_form(tx, who, &head.form_id, head.form_version).await?);
    let Some(group_field) = form.field(&group).filter(|f| f.kind == FieldType::Repeat) else {
        return Ok(Err(refuse(
            "row.unknown_group",
            format!(
                "form {} v{} has no repeat group \"{group}\"",
                form.id, form.version
            ),
        )
        .with("field", group.clone())));
    };
    let child_form = FormDefinition {
        id: form.id.clone(),
        version: form.version,
        title: form.title.clone(),
        sections: vec![crate::forms::definition::Section {
            key: group.clone(),
            title: group_field.label.clone(),
            fields: group_field.fields.clone(),
        }],
    };
    let answers = refused!(check_answers(&child_form, &m.fields, ROW_HEADER_KEYS));
    if !exists && m.kind == MutationKind::Upsert {
        let limit = group_field.row_limit();
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM visit_rows WHERE visit_id = $1 AND group_key = $2 AND deleted_at IS NULL",
        )
        .bind(&visit_id)
        .bind(&group)
        .fetch_one(&mut **tx)
        .await?;
        if live as usize >= limit {
            return Ok(Err(refuse(
                "row.too_many",
                format!("repeat group \"{group}\" already has {live} rows, the most this form allows ({limit})"),
            )
            .with("field", group.clone())
            .with("max", limit)));
        }
    }
    if !exists {
        sqlx::query(
            "INSERT INTO visit_rows (id, visit_id, group_key, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&visit_id)
        .bind(&group)
        .bind(m.hlc.ms)
        .execute(&mut **tx)
        .await?;
    }
    let lost = merge_all(tx, who, "visit_row", &id, &answers, m, hlc).await?;
    match m.kind {
        MutationKind::Delete => {
            sqlx::query("UPDATE visit_rows SET deleted_at = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(&id)
                .execute(&mut **tx)
                .await?;
        }
        MutationKind::Submit | MutationKind::Upsert => {}
    }
    // A row travels inside its visit: the phone pulls the visit again.
    who.change(
        "visit",
        &visit_id,
        head.unit_path.as_deref(),
        Some(&head.owner_id),
    );
    Ok(Ok(Applied { lost }))
}

/// What each facility field accepts.
enum FacilityField {
    Text(usize),
    Unit,
    Phone,
    Coordinate(f64),
    Count,
}

fn facility_field(key: &str) -> Option<FacilityField> {
    use FacilityField::*;
    Some(match key {
        "name" | "owner_name" | "industry_group" => Text(200),
        "address" => Text(500),
        "main_products" => Text(1000),
        "commune_code" | "district_code" | "unit_tree" => Unit,
        "phone" => Phone,
        "lat" => Coordinate(90.0),
        "lon" => Coordinate(180.0),
        "workforce" => Count,
        _ => return None,
    })
}

fn check_facility_value(key: &str, value: &Value) -> Result<(), ErrorBody> {
    let Some(kind) = facility_field(key) else {
        return Err(refuse(
            "form.unknown_field",
            format!("a facility has no field \"{key}\""),
        )
        .with("field", key));
    };
    if value.is_null() {
        return if matches!(key, "name" | "district_code" | "industry_group") {
            Err(refuse(
                "facility.required",
                format!("a facility's {key} cannot be cleared"),
            )
            .with("field", key))
        } else {
            Ok(())
        };
    }
    let bad = |code: &str, message: String| Err(refuse(code, message).with("field", key));
    match kind {
        FacilityField::Text(_) | FacilityField::Unit if !value.is_string() => bad(
            "form.expected_text",
            format!("field \"{key}\" expects text"),
        ),
        FacilityField::Text(max) => {
            let len = value.as_str().unwrap_or_default().chars().count();
            if len > max {
                Err(refuse(
                    "form.too_long",
                    format!("field \"{key}\" is {len} characters; the limit is {max}"),
                )
                .with("field", key)
                .with("max", max))
            } else {
                Ok(())
            }
        }
        FacilityField::Unit => Ok(()),
        FacilityField::Phone => {
            let ok = value.as_str().is_some_and(|s| {
                let digits = s.chars().filter(char::is_ascii_digit).count();
                (8..=15).contains(&digits)
                    && s.chars()
                        .all(|c| c.is_ascii_digit() || " +.-()".contains(c))
            });
            if ok {
                Ok(())
            } else {
                bad(
                    "facility.bad_phone",
                    format!("field \"{key}\" expects a phone number of 8 to 15 digits"),
                )
            }
        }
        FacilityField::Coordinate(limit) => match value.as_f64() {
            Some(x) if (-limit..=limit).contains(&x) => Ok(()),
            _ => bad(
                "form.expected_number",
                format!("field \"{key}\" expects a number from -{limit} to {limit}"),
            ),
        },
        FacilityField::Count => match value.as_i64() {
            Some(n) if (0..=1_000_000).contains(&n) => Ok(()),
            _ => bad(
                "form.expected_integer",
                format!("field \"{key}\" expects a whole number from 0 to 1000000"),
            ),
        },
    }
}

async fn facility(
    tx: &mut Tx,
    who: &Author<'_>,
    m: &Mutation,
    hlc: Hlc,
) -> Result<Verdict, AppError> {
    let id = m.record_id.to_string();
    let user = who.user;
    if m.kind == MutationKind::Submit {
        return Ok(Err(refuse(
            "facility.not_submittable",
            "only visits are submitted",
        )));
    }
    for (key, value) in &m.fields {
        refused!(check_facility_value(key, value));
    }
    let existing = sqlx::query(
        "SELECT unit_tree, district_code, commune_code, created_by, deleted_at FROM facilities WHERE id = $1",
    )
    .bind(&id)
    .fetch_optional(&mut **tx)
    .await?;
    let current = match &existing {
        Some(row) => {
            if col::<Option<i64>>(row, "deleted_at")?.is_some() {
                return Ok(Err(refuse("facility.deleted", "this facility was deleted")));
            }
            Some(Placed {
                tree: col(row, "unit_tree")?,
                district: col(row, "district_code")?,
                commune: col(row, "commune_code")?,
                created_by: col(row, "created_by")?,
            })
        }
        None => None,
    };
    if current.is_none() {
        if m.kind != MutationKind::Upsert {
            return Ok(Err(refuse(
                "facility.unknown",
                "there is no such facility on the server",
            )));
        }
        for key in ["name", "industry_group"] {
            if m.fields.get(key).is_none_or(Value::is_null) {
                return Ok(Err(refuse(
                    "facility.required",
                    format!("a new facility needs {key}"),
                )
                .with("field", key)));
            }
        }
    }
    let old_path = match &current {
        Some(_) => Some(catalog::facility_path(tx, &id).await?),
        None => None,
    };
    if let Some(old) = &old_path {
        if !in_scope(tx, user, old).await? {
            return Ok(Err(refuse(
                "facility.out_of_scope",
                "this facility is outside your districts",
            )));
        }
    }
    let field = |key: &str| match m.fields.get(key) {
        Some(Value::String(c)) => Some(Some(c.clone())),
        Some(_) => Some(None),
        None => None,
    };
    let district =
        field("district_code").unwrap_or_else(|| current.as_ref().and_then(|c| c.district.clone()));
    let commune =
        field("commune_code").unwrap_or_else(|| current.as_ref().and_then(|c| c.commune.clone()));
    let Some(unit) = commune.clone().or(district.clone()) else {
        return Ok(Err(refuse(
            "facility.required",
            "a facility needs a district_code or a commune_code",
        )
        .with("field", "district_code")));
    };
    // The tree is fixed when the facility is made: the phone names it, or (a
    // phone that predates named trees) it is the oldest tree holding the code.
    let tree = match (&current, field("unit_tree")) {
        (Some(c), Some(Some(t))) if t != c.tree => {
            return Ok(Err(refuse(
                "facility.tree_fixed",
                "a facility stays in the unit tree it was registered under",
            )
            .with("field", "unit_tree")))
        }
        (Some(c), _) => c.tree.clone(),
        (None, Some(Some(t))) => t,
        (None, _) => units::oldest_tree_with(tx, &unit)
            .await?
            .unwrap_or_default(),
    };
    // Where it will be after this change: both codes must exist in the tree,
    // the commune must lie in the district, and the place must be in scope.
    let mut paths = Vec::new();
    for (key, code) in [("district_code", &district), ("commune_code", &commune)] {
        let Some(code) = code else { continue };
        let Some(p) = units::path_of(tx, &tree, code).await? else {
            return Ok(Err(refuse(
                "unit.unknown",
                format!("no administrative unit with code {code} in tree {tree}"),
            )
            .with("unit", code.clone())
            .with("field", key)));
        };
        paths.push(p);
    }
    if let [district_path, commune_path] = paths.as_slice() {
        if !commune_path.starts_with(district_path.as_str()) {
            return Ok(Err(refuse(
                "facility.commune_outside_district",
                format!(
                    "commune {} is not in district {}",
                    commune.clone().unwrap_or_default(),
                    district.clone().unwrap_or_default()
                ),
            )
            .with("field", "commune_code")));
        }
    }
    let path = paths.pop().expect("one unit at least");
    if !in_scope(tx, user, &path).await? {
        return Ok(Err(refuse(
            "facility.out_of_scope",
            "this facility is outside your districts",
        )));
    }
    if m.kind == MutationKind::Delete {
        let created_by = current.as_ref().and_then(|c| c.created_by.clone());
        if created_by.as_deref() != Some(user.id.as_str()) {
            return Ok(Err(refuse(
                "facility.not_deletable",
                "only a facility you added in the field can be deleted; registered ones stay",
            )));
        }
        let used = sqlx::query(
            "SELECT 1 AS one FROM proposals WHERE facility_id = $1
             UNION ALL SELECT 1 AS one FROM visits WHERE facility_id = $1 AND deleted_at IS NULL",
        )
        .bind(&id)
        .fetch_optional(&mut **tx)
        .await?;
        if used.is_some() {
            return Ok(Err(refuse(
                "facility.in_use",
                "this facility has proposals or visits; it cannot be deleted",
            )));
        }
        sqlx::query("UPDATE facilities SET deleted_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(&id)
            .execute(&mut **tx)
            .await?;
        who.change("facility", &id, Some(&path), None);
        return Ok(Ok(Applied { lost: vec![] }));
    }
    let now = now_ms();
    if current.is_none() {
        sqlx::query(
            "INSERT INTO facilities (id, name, unit_tree, district_code, commune_code, industry_group, search,
               created_at, updated_at, created_by)
             VALUES ($1, '', $2, $3, $4, '', '', $5, $5, $6)",
        )
        .bind(&id)
        .bind(&tree)
        .bind(district.clone())
        .bind(commune.clone())
        .bind(now)
        .bind(&user.id)
        .execute(&mut **tx)
        .await?;
    }
    let answers: Vec<(&String, &Value)> = m.fields.iter().collect();
    let lost = merge_all(tx, who, "facility", &id, &answers, m, hlc).await?;
    catalog::materialize_facility(tx, &id).await?;
    let final_path = catalog::facility_path(tx, &id).await?;
    if let Some(old) = old_path.filter(|old| *old != final_path) {
        // It moved: phones of the old place must hear it left their scope.
        who.change("facility", &id, Some(&old), None);
    }
    who.change("facility", &id, Some(&final_path), None);
    Ok(Ok(Applied { lost }))
}

/// Where a stored facility is, as a mutation on it starts.
struct Placed {
    tree: String,
    district: Option<String>,
    commune: Option<String>,
    created_by: Option<String>,
}

/// Appends a change for a record so the phones that see it pull it again. Used
/// when a push turns out to be a retry (duplicates): the phone may have pulled
/// the record while its own change was still queued, kept its local answers,
/// and would otherwise never receive the merged state.
pub async fn touch(
    tx: &mut Tx,
    who: &Author<'_>,
    entity: crate::sync::Entity,
    record_id: &str,
) -> Result<(), AppError> {
    match entity {
        Entity::Visit | Entity::VisitRow => {
            let visit_id = if entity == Entity::VisitRow {
                let row = sqlx::query("SELECT visit_id FROM visit_rows WHERE id = $1")
                    .bind(record_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                match row {
                    Some(r) => col::<String>(&r, "visit_id")?,
                    None => return Ok(()),
                }
            } else {
                record_id.to_string()
            };
            if let Some(head) = visit_head(tx, who, &visit_id).await? {
                who.change(
                    "visit",
                    &visit_id,
                    head.unit_path.as_deref(),
                    Some(&head.owner_id),
                );
            }
        }
        Entity::Photo => {
            if let Some(photo) = super::photos::head(tx, record_id).await? {
                if let Some(head) = visit_head(tx, who, &photo.visit_id).await? {
                    who.change(
                        "visit",
                        &photo.visit_id,
                        head.unit_path.as_deref(),
                        Some(&head.owner_id),
                    );
                }
            }
        }
        Entity::Facility => {
            let exists = sqlx::query("SELECT 1 AS one FROM facilities WHERE id = $1")
                .bind(record_id)
                .fetch_optional(&mut **tx)
                .await?;
            if exists.is_some() {
                let path = catalog::facility_path(tx, record_id).await?;
                who.change("facility", record_id, Some(&path), None);
            }
        }
    }
    Ok(())
}

/// `attach_photo` (the first upsert of a photo), a caption or metadata edit,
/// or a removal. The photo's identity (visit, field, hash, size, type) is fixed
/// once attached: a retake is a new photo. Metadata is last-writer-wins by
/// arrival, which is enough for a caption only its inspector edits.
async fn photo(tx: &mut Tx, who: &Author<'_>, m: &Mutation) -> Result<Verdict, AppError> {
    use crate::photos::{self, ATTACH_KEYS, FIXED_KEYS};
    let id = m.record_id.to_string();
    if m.kind == MutationKind::Submit {
        return Ok(Err(refuse(
            "photo.not_submittable",
            "submit the visit, not one of its photos",
        )));
    }
    if let Some(key) = m.fields.keys().find(|k| !ATTACH_KEYS.contains(&k.as_str())) {
        return Ok(Err(refuse(
            "photo.unknown_key",
            format!(
                "a photo has no \"{key}\"; allowed: {}",
                ATTACH_KEYS.join(", ")
            ),
        )
        .with("field", key.clone())));
    }
    let text = |k: &str| m.fields.get(k).and_then(Value::as_str);
    let existing = super::photos::head(tx, &id).await?;
    let visit_id = match &existing {
        Some(head) => {
            if head.deleted {
                return Ok(Err(refuse("photo.deleted", "this photo was removed")));
            }
            let fixed = [
                ("visit_id", Value::from(head.visit_id.clone())),
                ("field", Value::from(head.field.clone())),
                ("sha256", Value::from(head.sha256.clone())),
                ("size", Value::from(head.size)),
                ("content_type", Value::from(head.content_type.clone())),
            ];
            for (k, v) in fixed {
                if m.fields.get(k).is_some_and(|sent| *sent != v) {
                    return Ok(Err(refuse(
                        "photo.fixed",
                        format!(
                            "a photo's {k} cannot change once attached; a retake is a new photo"
                        ),
                    )
                    .with("field", k)));
                }
            }
            head.visit_id.clone()
        }
        None => {
            if m.kind != MutationKind::Upsert {
                return Ok(Err(refuse(
                    "photo.unknown",
                    "there is no such photo on the server",
                )));
            }
            if let Some(k) = FIXED_KEYS.iter().find(|k| !m.fields.contains_key(**k)) {
                return Ok(Err(refuse(
                    "photo.header_missing",
                    format!("attach_photo needs {}", FIXED_KEYS.join(", ")),
                )
                .with("field", *k)));
            }
            match text("visit_id").map(uuid::Uuid::parse_str) {
                Some(Ok(v)) => v.to_string(),
                _ => {
                    return Ok(Err(refuse("photo.bad_value", "visit_id must be a UUID")
                        .with("field", "visit_id")))
                }
            }
        }
    };
    let Some(head) = visit_head(tx, who, &visit_id).await? else {
        return Ok(Err(refuse(
            "visit.unknown",
            "there is no such visit on the server",
        )));
    };
    refused!(may_change(&head, who.user, MutationKind::Upsert));
    refused!(super::years::check_visit_writable(tx, head.proposal_id.as_deref()).await?);
    let bad = |k: &str, why: &str| {
        Ok(Err(
            refuse("photo.bad_value", format!("{k}: {why}")).with("field", k)
        ))
    };
    if existing.is_none() {
        let form = refused!(load_form(tx, who, &head.form_id, head.form_version).await?);
        let field = text("field").unwrap_or_default();
        if !form
            .fields()
            .any(|f| f.key == field && f.kind == FieldType::Photo)
        {
            return Ok(Err(refuse(
                "photo.unknown_field",
                format!(
                    "form {} v{} has no photo field \"{field}\"",
                    form.id, form.version
                ),
            )
            .with("field", field.to_string())));
        }
        let sha = text("sha256").unwrap_or_default();
        if !photos::is_sha256_hex(sha) {
            return bad("sha256", "must be 64 lowercase hex digits");
        }
        let size = m.fields.get("size").and_then(Value::as_i64).unwrap_or(0);
        if !(1..=MAX_PHOTO_RECORD_BYTES).contains(&size) {
            return bad("size", "must be a whole number of bytes above 0");
        }
        let content_type = text("content_type").unwrap_or_default();
        if !photos::ACCEPTED_TYPES.contains(&content_type) {
            return bad(
                "content_type",
                "must be image/jpeg, image/png or image/webp",
            );
        }
        super::photos::insert(
            tx,
            &super::photos::NewPhoto {
                id: &id,
                visit_id: &visit_id,
                owner_id: &who.user.id,
                field,
                sha256: sha,
                size,
                content_type,
                created_at: m.hlc.ms,
            },
        )
        .await?;
    }
    let meta = match photo_meta(&m.fields) {
        Ok(meta) => meta,
        Err((k, why)) => return bad(k, why),
    };
    super::photos::set_meta(tx, &id, &meta).await?;
    if m.kind == MutationKind::Delete {
        super::photos::mark_deleted(tx, &id).await?;
    }
    who.change(
        "visit",
        &visit_id,
        head.unit_path.as_deref(),
        Some(&head.owner_id),
    );
    Ok(Ok(Applied { lost: Vec::new() }))
}

/// A sanity bound on the size a record may announce; the deployment's own
/// (smaller) limit is enforced when the bytes arrive.
const MAX_PHOTO_RECORD_BYTES: i64 = 1 << 30;

/// The metadata keys of a photo change, checked. `Some(None)` clears a value.
fn photo_meta(
    fields: &BTreeMap<String, Value>,
) -> Result<super::photos::PhotoMeta, (&'static str, &'static str)> {
    use crate::photos::{LOCATION_SOURCES, MAX_CAPTION, TIME_SOURCES};
    let mut meta = super::photos::PhotoMeta::default();
    let opt = |k: &str| fields.get(k).map(|v| (!v.is_null()).then_some(v));
    if let Some(v) = opt("caption") {
        let v = v
            .map(|v| v.as_str().ok_or(("caption", "must be text")))
            .transpose()?;
        if v.is_some_and(|c| c.chars().count() > MAX_CAPTION) {
            return Err(("caption", "is longer than 500 characters"));
        }
        meta.caption = Some(v.map(|c| c.trim().to_string()));
    }
    if let Some(v) = opt("taken_at_ms") {
        // Photos older than 2000 or a day in the future are a broken clock.
        let now = super::now_ms();
        let v = v
            .map(|v| {
                v.as_i64()
                    .filter(|t| crate::photos::plausible_capture_time(*t, now))
            })
            .map(|t| {
                t.ok_or((
                    "taken_at_ms",
                    "must be a time in ms since 1970 between 2000 and now",
                ))
            })
            .transpose()?;
        meta.taken_at_ms = Some(v);
    }
    for (key, allowed, slot) in [
        ("time_source", TIME_SOURCES, &mut meta.time_source),
        (
            "location_source",
            LOCATION_SOURCES,
            &mut meta.location_source,
        ),
    ] {
        if let Some(v) = opt(key) {
            let v = v
                .map(|v| {
                    v.as_str()
                        .filter(|s| allowed.contains(s))
                        .ok_or((key, "is not a known source"))
                })
                .transpose()?;
            *slot = Some(v.map(str::to_string));
        }
    }
    for (key, range, slot) in [
        ("lat", (-90.0, 90.0), &mut meta.lat),
        ("lon", (-180.0, 180.0), &mut meta.lon),
        ("accuracy_m", (0.0, 1.0e7), &mut meta.accuracy_m),
    ] {
        if let Some(v) = opt(key) {
            let v = v
                .map(|v| {
                    v.as_f64()
                        .filter(|x| x.is_finite() && *x >= range.0 && *x <= range.1)
                        .ok_or((key, "is not a number in range"))
                })
                .transpose()?;
            *slot = Some(v);
        }
    }
    Ok(meta)
}
