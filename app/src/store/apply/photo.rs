//! A photo's record: attached once with its fixed identity, then captions
//! and metadata, or removed.

use super::visit::*;
use super::*;

/// `attach_photo` (the first upsert of a photo), a caption or metadata edit,
/// or a removal. The photo's identity (visit, field, hash, size, type) is fixed
/// once attached: a retake is a new photo. The caption is last-writer-wins by
/// stamp, like an answer (two phones of one inspector may both caption it);
/// the other metadata by arrival, as only the photo's phone sends it.
///
/// A photo removed meanwhile (by another phone of the inspector) stays
/// removed, but a change that reaches it is still applied to its kept record:
/// a second removal is nothing new, and a caption typed on a phone that had
/// not heard of the removal is kept with the removed original, not refused
/// (a refusal left the visit marked refused on that phone for a change the
/// inspector could not redo).
pub(super) async fn photo(
    tx: &mut Tx,
    who: &Author<'_>,
    m: &Mutation,
    hlc: Hlc,
) -> Result<Verdict, AppError> {
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
    let existing = crate::store::photos::head(tx, &id).await?;
    let visit_id = match &existing {
        Some(head) => {
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
    refused!(crate::store::years::check_visit_writable(tx, head.proposal_id.as_deref()).await?);
    let bad = |k: &str, why: &str| {
        Ok(Err(
            refuse("photo.bad_value", format!("{k}: {why}")).with("field", k)
        ))
    };
    // Every check comes before the first write: a refused change leaves nothing.
    let meta = match photo_meta(&m.fields) {
        Ok(meta) => meta,
        Err((k, why)) => return bad(k, why),
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
        let max = crate::photos::MAX_PER_FIELD;
        if crate::store::photos::live_in_field(tx, &visit_id, field).await? >= max as i64 {
            return Ok(Err(refuse(
                "photo.too_many",
                format!(
                    "field \"{field}\" of this visit already holds {max} photos; remove one first"
                ),
            )
            .with("field", field.to_string())
            .with("max", max)));
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
        crate::store::photos::insert(
            tx,
            &crate::store::photos::NewPhoto {
                id: &id,
                visit_id: &visit_id,
                owner_id: &who.user.id,
                field,
                sha256: sha,
                size,
                content_type,
                created_at: hlc.ms,
            },
        )
        .await?;
    }
    crate::store::photos::set_meta(tx, &id, &meta, hlc).await?;
    let removed_before = existing.as_ref().is_some_and(|h| h.deleted);
    if m.kind == MutationKind::Delete && !removed_before {
        crate::store::photos::mark_deleted(tx, &id).await?;
        if let Some(head) = &existing {
            let mutation_id = m.mutation_id.to_string();
            let removal = Write {
                entity: "visit",
                record_id: &visit_id,
                field: &head.field,
                value: &Value::Null,
                base_version: m.base_version,
                hlc,
                device_id: who.device_id,
                mutation_id: &mutation_id,
                seq: m.seq,
                history: &who.history,
                photo_set: true,
            };
            crate::store::merge::remove_from_photo_set(tx, &removal, &id).await?;
        }
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
pub(super) const MAX_PHOTO_RECORD_BYTES: i64 = 1 << 30;

/// The metadata keys of a photo change, checked. `Some(None)` clears a value.
pub(super) fn photo_meta(
    fields: &BTreeMap<String, Value>,
) -> Result<crate::store::photos::PhotoMeta, (&'static str, &'static str)> {
    use crate::photos::{LOCATION_SOURCES, MAX_CAPTION, TIME_SOURCES};
    let mut meta = crate::store::photos::PhotoMeta::default();
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
    // A time before 2000 or over a day ahead is the phone's clock, not the
    // photo's: it is kept as unknown (the file's EXIF time may fill it in once
    // the bytes arrive), never a refusal, which would strand the photo on the
    // phone for good once its clock is fixed.
    let mut clock_wrong = false;
    if let Some(v) = opt("taken_at_ms") {
        let now = crate::store::now_ms();
        let v = v
            .map(|v| {
                v.as_i64()
                    .ok_or(("taken_at_ms", "must be a time in ms since 1970"))
            })
            .transpose()?;
        clock_wrong = v.is_some_and(|t| !crate::photos::plausible_capture_time(t, now));
        meta.taken_at_ms = Some(v.filter(|_| !clock_wrong));
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
    // A time the phone's own clock gave carries no zone to excuse it: ahead
    // of the server by more than the skew every other stamp is held to, it is
    // that clock running fast (a photo dated tomorrow in the supervisor's
    // list). The day's allowance stays for a camera's EXIF time, written in
    // the camera's zone.
    if meta.time_source == Some(Some("device".to_string()))
        && meta.taken_at_ms.flatten().is_some_and(|t| {
            t > crate::store::now_ms().saturating_add(crate::sync::hlc::MAX_FUTURE_SKEW_MS)
        })
    {
        clock_wrong = true;
        meta.taken_at_ms = Some(None);
    }
    if clock_wrong {
        meta.time_source = Some(None);
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
