//! A repeat-group row of a visit (one machine, one product): created with
//! its visit and group, its answers checked against the group's fields.

use super::visit::*;
use super::*;

pub(super) async fn visit_row(
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
    refused!(crate::store::years::check_visit_writable(tx, head.proposal_id.as_deref()).await?);
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
        .bind(hlc.ms)
        .execute(&mut **tx)
        .await?;
    }
    let lost = merge_all(tx, who, "visit_row", &id, &answers, &[], m, hlc).await?;
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
