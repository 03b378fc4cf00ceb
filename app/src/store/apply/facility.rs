//! A facility's mutations from phones: fields checked, placed in a unit of
//! its tree within the inspector's scope, merged per field; deletion only of
//! one the inspector added on site and nobody uses.

use super::*;

/// What each facility field accepts.
pub(super) enum FacilityField {
    Text(usize),
    /// One of `model::INDUSTRIES`, as the office and the registry require.
    Industry,
    Unit,
    Phone,
    Coordinate(f64),
    Count,
}

pub(super) fn facility_field(key: &str) -> Option<FacilityField> {
    use FacilityField::*;
    Some(match key {
        "name" | "owner_name" => Text(200),
        "industry_group" => Industry,
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

pub(super) fn check_facility_value(key: &str, value: &Value) -> Result<(), ErrorBody> {
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
        FacilityField::Text(_) | FacilityField::Unit | FacilityField::Industry
            if !value.is_string() =>
        {
            bad(
                "form.expected_text",
                format!("field \"{key}\" expects text"),
            )
        }
        FacilityField::Text(_)
            if key == "name"
                && crate::domain::shows_nothing(value.as_str().unwrap_or_default()) =>
        {
            bad(
                "facility.name_required",
                "a facility needs a name".to_string(),
            )
        }
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
        FacilityField::Industry => {
            if crate::model::INDUSTRIES.contains(&value.as_str().unwrap_or_default()) {
                Ok(())
            } else {
                bad(
                    "facility.unknown_industry",
                    format!(
                        "field \"{key}\" must be one of {}",
                        crate::model::INDUSTRIES.join(", ")
                    ),
                )
            }
        }
        FacilityField::Phone => {
            if value
                .as_str()
                .is_some_and(crate::domain::Phone::accepts_as_sent)
            {
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

pub(super) async fn facility(
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
    for (key, code, wanted) in [
        (
            "district_code",
            &district,
            crate::model::UnitLevel::District,
        ),
        ("commune_code", &commune, crate::model::UnitLevel::Commune),
    ] {
        let Some(code) = code else { continue };
        let Some((p, level)) = units::place_of(tx, &tree, code).await? else {
            return Ok(Err(refuse(
                "unit.unknown",
                format!("no administrative unit with code {code} in tree {tree}"),
            )
            .with("unit", code.clone())
            .with("field", key)));
        };
        if level != wanted {
            // A commune in the district column would show in every export
            // and filter as a district.
            return Ok(Err(refuse(
                "facility.wrong_level",
                format!(
                    "{key} must name a {}; {code} is a {}",
                    wanted.as_str(),
                    level.as_str()
                ),
            )
            .with("unit", code.clone())
            .with("field", key)));
        }
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
    // Only a change of place can move the facility's proposals.
    let may_move = ["commune_code", "district_code", "unit_tree"]
        .iter()
        .any(|k| m.fields.contains_key(*k));
    let proposals_before = match &old_path {
        Some(_) if may_move => crate::store::facilities::carry::paths_before(tx, &id).await?,
        _ => Vec::new(),
    };
    let answers: Vec<(&String, &Value)> = m.fields.iter().collect();
    let lost = merge_all(tx, who, "facility", &id, &answers, &[], m, hlc).await?;
    catalog::materialize_facility(tx, &id).await?;
    let final_path = catalog::facility_path(tx, &id).await?;
    if let Some(old) = old_path.filter(|old| *old != final_path) {
        // It moved: phones of the old place must hear it left their scope.
        who.change("facility", &id, Some(&old), None);
    }
    // A new place: its open years' proposals follow.
    let actor = crate::store::audit::Actor {
        user_id: Some(user.id.clone()),
        ip: None,
    };
    let entries = crate::store::facilities::carry::carry(tx, &actor, &id, proposals_before).await?;
    for e in entries {
        who.change(&e.entity, &e.record_id, e.unit_path.as_deref(), None);
    }
    who.change("facility", &id, Some(&final_path), None);
    Ok(Ok(Applied { lost }))
}

/// Where a stored facility is, as a mutation on it starts.
pub(super) struct Placed {
    tree: String,
    district: Option<String>,
    commune: Option<String>,
    created_by: Option<String>,
}
