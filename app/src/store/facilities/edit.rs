//! The office registers a facility or edits one. Fields phones also edit go
//! through the same field-level merge as a phone's edit, so an office change
//! and a phone's offline edit of the same field meet as a kept conflict.

use super::{codes, read_entry, unit_map};
use crate::error::{AppError, ErrorBody};
use crate::model::{Facility, UnitLevel, UserInfo};
use crate::office::registry::contract::FacilityDraft;
use crate::office::registry::facility_check::check_draft;
use crate::store::audit::{self, Actor};
use crate::store::merge::{merge_field, Outcome, Write, HISTORY_COLUMNS};
use crate::store::{catalog, changes, col, now_ms, Db, Tx};
use crate::sync::Hlc;
use serde_json::{json, Value};

fn invalid(code: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid(ErrorBody::new(code, message))
}

async fn refuse_taken_tax_code(tx: &mut Tx, tax_code: &str, except: &str) -> Result<(), AppError> {
    let other = sqlx::query(
        "SELECT name FROM facilities WHERE tax_code = $1 AND id <> $2 AND deleted_at IS NULL",
    )
    .bind(tax_code)
    .bind(except)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = other {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "facility.tax_code_taken",
                "another facility has this tax code",
            )
            .with("field", "tax_code")
            .with("other", col::<String>(&row, "name")?),
        ));
    }
    Ok(())
}

/// Registers a facility (no `id`) or saves the office's edit of one; returns
/// its ID. Edits of fields phones also edit are merged like a phone's edit
/// made with the stored versions in view, so phones holding an older value
/// take the new one, and a phone's concurrent offline edit becomes a kept
/// conflict.
pub async fn save(
    db: &Db,
    user: &UserInfo,
    actor: &Actor,
    draft: &FacilityDraft,
) -> Result<String, AppError> {
    let units = unit_map(db).await?;
    let mut tx = db.begin_write().await?;
    // Read before the checks: a phone number left as stored is kept as is.
    let before = match &draft.id {
        Some(id) => Some(
            read_entry(&mut tx, &units, id)
                .await?
                .ok_or_else(|| AppError::NotFound("facility".into()))?,
        ),
        None => None,
    };
    let d = check_draft(
        draft,
        before.as_ref().and_then(|b| b.facility.phone.as_deref()),
    )?;
    let unit = units
        .get(&d.unit)
        .filter(|u| u.level != UnitLevel::Province)
        .ok_or_else(|| {
            AppError::Invalid(
                ErrorBody::new(
                    "unit.unknown",
                    format!("no commune or district {} in tree {}", d.unit.1, d.unit.0),
                )
                .with("unit", d.unit.1.clone())
                .with("tree", d.unit.0.clone())
                .with("field", "unit"),
            )
        })?;
    let (commune, district) = codes(unit, &units);
    let (Some(id), Some(before)) = (&draft.id, before) else {
        let id = crate::sync::new_uuid_v7(now_ms()).to_string();
        if let Some(t) = &d.tax_code {
            refuse_taken_tax_code(&mut tx, t, &id).await?;
        }
        let facility = Facility {
            id: id.clone(),
            name: d.name.clone(),
            owner_name: d.owner_name.clone(),
            address: d.address.clone(),
            unit_tree: unit.tree.clone(),
            commune_code: commune,
            district_code: district,
            industry_group: d.industry_group.clone(),
            phone: d.phone.clone(),
            lat: None,
            lon: None,
            workforce: None,
            main_products: d.main_products.clone(),
            versions: Default::default(),
        };
        catalog::upsert_facility(&mut tx, &facility).await?;
        if let Some(t) = &d.tax_code {
            crate::store::registry::set_tax_code(&mut tx, &id, t).await?;
        }
        audit::record(
            &mut *tx,
            actor,
            "facility.created",
            "facility",
            &id,
            json!({"new": facility_json(&facility, d.tax_code.as_deref())}),
        )
        .await?;
        tx.commit().await?;
        return Ok(id);
    };
    if !before.active {
        return Err(invalid(
            "facility.inactive",
            "this facility is deactivated; reactivate it before editing",
        ));
    }
    if unit.tree != before.facility.unit_tree {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "facility.tree_fixed",
                "a facility stays in the unit tree it was registered under",
            )
            .with("field", "unit")
            .with("tree", before.facility.unit_tree.clone()),
        ));
    }
    if let Some(t) = &d.tax_code {
        refuse_taken_tax_code(&mut tx, t, id).await?;
    }
    let old = &before.facility;
    let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::from);
    let wanted: [(&str, Value, Value); 8] = [
        ("name", old.name.clone().into(), d.name.clone().into()),
        ("owner_name", opt(&old.owner_name), opt(&d.owner_name)),
        ("address", opt(&old.address), opt(&d.address)),
        ("commune_code", opt(&old.commune_code), opt(&commune)),
        ("district_code", opt(&old.district_code), opt(&district)),
        (
            "industry_group",
            old.industry_group.clone().into(),
            d.industry_group.clone().into(),
        ),
        ("phone", opt(&old.phone), opt(&d.phone)),
        (
            "main_products",
            opt(&old.main_products),
            opt(&d.main_products),
        ),
    ];
    // With the form as it opened: only fields changed there.
    let touched = |field: &str| {
        let Some(shown) = &draft.shown else {
            return true;
        };
        match field {
            "name" => draft.name != shown.name,
            "owner_name" => draft.owner_name != shown.owner_name,
            "address" => draft.address != shown.address,
            "commune_code" | "district_code" => draft.unit != shown.unit,
            "industry_group" => draft.industry_group != shown.industry_group,
            "phone" => draft.phone != shown.phone,
            "main_products" => draft.main_products != shown.main_products,
            _ => true,
        }
    };
    let changed: Vec<&(&str, Value, Value)> = wanted
        .iter()
        .filter(|(field, o, n)| o != n && touched(field))
        .collect();
    let tax_changed = before.tax_code != d.tax_code
        && draft
            .shown
            .as_ref()
            .is_none_or(|shown| draft.tax_code != shown.tax_code);
    if changed.is_empty() && !tax_changed {
        return Ok(id.clone());
    }
    let old_path = catalog::facility_path(&mut tx, id).await?;
    let proposals_before = if changed
        .iter()
        .any(|(field, _, _)| matches!(*field, "commune_code" | "district_code"))
    {
        super::carry::paths_before(&mut tx, id).await?
    } else {
        Vec::new()
    };
    let history = crate::store::rows::Buffer::new("field_history", HISTORY_COLUMNS);
    let mutation_id = format!("office-{}", uuid::Uuid::now_v7());
    let device_id = format!("office:{}", user.id);
    for (field, _, value) in &changed {
        let version = sqlx::query(
            "SELECT version FROM field_values WHERE entity = 'facility' AND record_id = $1 AND field = $2",
        )
        .bind(id)
        .bind(*field)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| col::<i64>(&r, "version"))
        .transpose()?
        .unwrap_or(0);
        // The version the form showed: a phone's edit synced since it
        // opened meets this one as concurrent (a kept conflict). Without
        // the form's, the stored one: a plain replacement.
        let base_version = draft
            .shown
            .as_ref()
            .map_or(version, |s| s.versions.get(*field).copied().unwrap_or(0));
        let outcome = merge_field(
            &mut tx,
            &Write {
                entity: "facility",
                record_id: id,
                field,
                value,
                base_version,
                hlc: Hlc::new(now_ms(), 0),
                device_id: &device_id,
                mutation_id: &mutation_id,
                // The office orders its own writes by time.
                seq: now_ms(),
                history: &history,
                photo_set: false,
            },
        )
        .await?;
        if outcome != Outcome::Won && base_version == version {
            return Err(invalid(
                "facility.changed",
                "the facility changed while you were editing; reload it and try again",
            ));
        }
    }
    history.flush(&mut tx).await?;
    catalog::materialize_facility(&mut tx, id).await?;
    if tax_changed {
        sqlx::query("UPDATE facilities SET tax_code = $1 WHERE id = $2")
            .bind(d.tax_code.clone())
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let path = catalog::facility_path(&mut tx, id).await?;
    if path != old_path {
        // It moved: phones of the old place must hear it left their scope.
        changes::append(&mut tx, "facility", id, Some(&old_path), None).await?;
    }
    // A new commune or district (even one that leaves the path as it was:
    // a district set to match the commune): its proposals follow.
    let entries = super::carry::carry(&mut tx, actor, id, proposals_before).await?;
    changes::append_many(&mut tx, &entries).await?;
    changes::append(&mut tx, "facility", id, Some(&path), None).await?;
    let mut old_values = serde_json::Map::new();
    let mut new_values = serde_json::Map::new();
    for (field, o, n) in &changed {
        old_values.insert(field.to_string(), o.clone());
        new_values.insert(field.to_string(), n.clone());
    }
    if tax_changed {
        old_values.insert("tax_code".into(), json!(before.tax_code));
        new_values.insert("tax_code".into(), json!(d.tax_code));
    }
    audit::record(
        &mut *tx,
        actor,
        "facility.updated",
        "facility",
        id,
        json!({"old": old_values, "new": new_values}),
    )
    .await?;
    tx.commit().await?;
    Ok(id.clone())
}

fn facility_json(f: &Facility, tax_code: Option<&str>) -> Value {
    json!({
        "name": f.name, "owner_name": f.owner_name, "address": f.address,
        "unit_tree": f.unit_tree, "commune_code": f.commune_code, "district_code": f.district_code,
        "industry_group": f.industry_group, "phone": f.phone, "main_products": f.main_products,
        "tax_code": tax_code,
    })
}
