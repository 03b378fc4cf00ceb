//! What the photo field writes on the phone: new photos from the picker or
//! the camera, the field's photo list, captions and removals, each with its
//! outbox entries in one IndexedDB transaction.

use super::local::LocalPhoto;
use crate::error::ErrorBody;
use crate::field::visits::local::LocalVisit;
use leptos::prelude::*;

/// The visit must exist on the server before its photos, and the field's
/// answer lists them after: save, then for each photo attach it (bytes,
/// record and change in one transaction, checked by hashing the stored bytes
/// back) and list it in the field's answer. Listed one by one: a batch takes
/// seconds per photo, and a tab closed or killed meanwhile (a phone short of
/// memory) must not leave stored, queued photos out of the answer, where the
/// finalize check and the server look for them.
#[cfg(feature = "hydrate")]
pub(super) async fn attach_files(
    state: crate::field::client::ClientState,
    visit: RwSignal<Option<LocalVisit>>,
    field: String,
    files: Vec<web_sys::File>,
    max_px: u32,
) -> Result<(), ErrorBody> {
    let storage = |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    let (user, device) = state.who()?;
    let current = visit
        .try_get_untracked()
        .flatten()
        .ok_or_else(|| ErrorBody::new("visit.missing", "no visit"))?;
    let saved = crate::field::visits::save_visit(state, current.clone(), false).await?;
    let visit_id = saved.id.clone();
    crate::field::visits::during_save::show_saved(visit, saved, &current);
    let db = crate::field::offline::db().await.map_err(storage)?;
    let mut failure = None;
    let held = db
        .photos(&user, Some(&visit_id))
        .await
        .map_err(storage)?
        .iter()
        .filter(|p| p.field == field)
        .count();
    let (take, left_out) = room(held, files.len());
    if left_out > 0 {
        failure = Some(
            ErrorBody::new(
                "photo.left_out",
                format!("the field holds at most {MAX_PER_FIELD} photos; {left_out} not added"),
            )
            .with("max", MAX_PER_FIELD)
            .with("count", left_out),
        );
    }
    for file in files.into_iter().take(take) {
        let now = crate::field::client::browser::now_ms();
        let id = crate::sync::new_uuid_v7(now).to_string();
        let captured = match crate::field::photos::capture::capture(
            &file,
            id.clone(),
            visit_id.clone(),
            field.clone(),
            max_px,
        )
        .await
        {
            Ok(c) => c,
            Err(e) => {
                failure = Some(e);
                continue;
            }
        };
        // A photo the phone could not store ends the batch; the ones
        // stored before it are listed already.
        let attached = db
            .attach_photo(
                &user,
                &captured.photo,
                &captured.blob,
                &device,
                now,
                |seq, hlc| {
                    crate::field::photos::local::attach_entry(
                        &captured.photo,
                        &device,
                        seq,
                        hlc,
                        crate::sync::new_uuid_v7(now),
                    )
                },
            )
            .await;
        let entry = match attached {
            Ok(entry) => entry,
            Err(e) => {
                failure = Some(storage(e));
                break;
            }
        };
        let stored = match db.photo_blob(&id).await {
            Ok(Some(blob)) => crate::field::photos::capture::blob_bytes(&blob).await.ok(),
            Ok(None) => None,
            Err(e) => {
                let _ = db.forget_photo(&user, &id, &entry).await;
                failure = Some(storage(e));
                break;
            }
        };
        let hash = match stored {
            Some(bytes) => crate::field::photos::capture::digest_hex("SHA-256", &bytes)
                .await
                .ok(),
            None => None,
        };
        if hash.as_deref() != Some(captured.photo.sha256.as_str()) {
            let _ = db.forget_photo(&user, &id, &entry).await;
            failure = Some(ErrorBody::new(
                "photo.storage_corrupt",
                "the phone stored this photo wrongly; take it again",
            ));
            continue;
        }
        let listed = set_field_photos(state, visit, &visit_id, &field, |ids| {
            // Listed already when the page came back mid-batch (`unlisted`).
            if !ids.contains(&id) {
                ids.push(id);
            }
        })
        .await;
        if let Err(e) = listed {
            failure = Some(e);
            break;
        }
    }
    failure.map_or(Ok(()), Err)
}

use crate::photos::MAX_PER_FIELD;

/// Photos of `field` stored on this phone with their bytes that the visit's
/// answer does not list, removals aside: a batch cut short by a closed or
/// killed tab, between a photo's attach and its listing. The field lists them
/// when it opens (`list_unlisted`), or the finalize check and the server
/// would miss photos the inspector sees.
pub fn unlisted(photos: &[LocalPhoto], visit: &LocalVisit, field: &str) -> Vec<String> {
    let listed: Vec<String> = visit
        .answers
        .get(field)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    photos
        .iter()
        .filter(|p| p.visit_id == visit.id && p.field == field && p.has_blob)
        .filter(|p| !listed.contains(&p.id) && !visit.removed_photos.contains(&p.id))
        .map(|p| p.id.clone())
        .collect()
}

/// Adds `ids` (from `unlisted`) to the field's answer, once each.
#[cfg(feature = "hydrate")]
pub(super) async fn list_unlisted(
    state: crate::field::client::ClientState,
    visit: RwSignal<Option<LocalVisit>>,
    visit_id: &str,
    field: &str,
    ids: Vec<String>,
) -> Result<(), ErrorBody> {
    set_field_photos(state, visit, visit_id, field, |list| {
        for id in ids {
            if !list.contains(&id) {
                list.push(id);
            }
        }
    })
    .await
}

/// Of `chosen` photos for a field that holds `held`: how many fit
/// (`MAX_PER_FIELD`, which the server also holds) and how many are left out.
pub(super) fn room(held: usize, chosen: usize) -> (usize, usize) {
    let take = chosen.min(MAX_PER_FIELD.saturating_sub(held));
    (take, chosen - take)
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// One list change at a time: a second photo chosen while the first is
    /// stored would otherwise read the list before the first is in it, and
    /// its save would leave the first out.
    static LIST_BUSY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The turn of one list change, given back when dropped (an error too). A
/// waiting change looks again every 50 ms: two photos at once are rare, and
/// an async lock would add its code to the phone's bundle.
#[cfg(feature = "hydrate")]
struct ListTurn;

#[cfg(feature = "hydrate")]
impl ListTurn {
    async fn take() -> Self {
        while LIST_BUSY.with(|busy| busy.replace(true)) {
            crate::field::client::browser::sleep_ms(50).await;
        }
        ListTurn
    }
}

#[cfg(feature = "hydrate")]
impl Drop for ListTurn {
    fn drop(&mut self) {
        LIST_BUSY.with(|busy| busy.set(false));
    }
}

/// Changes the field's list of photo IDs and saves the visit (one change).
/// Storing photos takes seconds, and the inspector may leave the visit
/// meanwhile: the page's signal is then gone (or shows another visit), and
/// the visit's copy on the phone is changed instead.
#[cfg(feature = "hydrate")]
pub(super) async fn set_field_photos(
    state: crate::field::client::ClientState,
    visit: RwSignal<Option<LocalVisit>>,
    visit_id: &str,
    field: &str,
    edit: impl FnOnce(&mut Vec<String>),
) -> Result<(), ErrorBody> {
    let _turn = ListTurn::take().await;
    let on_screen = visit
        .try_get_untracked()
        .flatten()
        .filter(|v| v.id == visit_id);
    let began = match on_screen {
        Some(v) => v,
        None => {
            let storage =
                |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
            let (user, _) = state.who()?;
            let db = crate::field::offline::db().await.map_err(storage)?;
            match db.visit(&user, visit_id).await.map_err(storage)? {
                Some(stored) => stored,
                None => return Ok(()),
            }
        }
    };
    let mut current = began.clone();
    let mut ids: Vec<String> = current
        .answers
        .get(field)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let before = ids.clone();
    edit(&mut ids);
    for gone in before.into_iter().filter(|id| !ids.contains(id)) {
        if !current.removed_photos.contains(&gone) {
            current.removed_photos.push(gone);
        }
    }
    if ids.is_empty() {
        current.answers.remove(field);
    } else {
        current
            .answers
            .insert(field.to_string(), serde_json::json!(ids));
    }
    let saved = crate::field::visits::save_visit(state, current, false).await?;
    crate::field::visits::during_save::show_saved(visit, saved, &began);
    Ok(())
}

/// Writes a caption and queues its change, in one transaction that reads the
/// photo's current record (see `OfflineDb::caption_photo`). `false` when the
/// photo is no longer on the phone.
#[cfg(feature = "hydrate")]
pub(super) async fn write_caption(
    state: crate::field::client::ClientState,
    photo_id: &str,
    caption: Option<String>,
) -> Result<bool, ErrorBody> {
    let storage = |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    let (user, device) = state.who()?;
    let db = crate::field::offline::db().await.map_err(storage)?;
    let now = crate::field::client::browser::now_ms();
    let written = db
        .caption_photo(
            &user,
            &device,
            photo_id,
            caption,
            crate::sync::new_uuid_v7(now),
            now,
        )
        .await
        .map_err(storage)?;
    Ok(written.is_some())
}

/// The photo's removal from the visit: its record and bytes go, the change is
/// queued, and the field's answer no longer lists it.
#[cfg(feature = "hydrate")]
pub(super) async fn remove_photo(
    state: crate::field::client::ClientState,
    visit: RwSignal<Option<LocalVisit>>,
    photo: LocalPhoto,
) -> Result<(), ErrorBody> {
    let storage = |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    let (user, device) = state.who()?;
    let db = crate::field::offline::db().await.map_err(storage)?;
    let now = crate::field::client::browser::now_ms();
    db.remove_photo(&user, &photo.id, &device, now, |seq, hlc| {
        crate::field::photos::local::change_entry(
            &photo,
            &device,
            seq,
            hlc,
            crate::sync::new_uuid_v7(now),
            true,
        )
    })
    .await
    .map_err(storage)?;
    set_field_photos(state, visit, &photo.visit_id, &photo.field, |ids| {
        ids.retain(|i| *i != photo.id)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_photos_the_answer_does_not_list_are_found_once_each() {
        let mut visit = LocalVisit::new(
            "v1".into(),
            "khuyen-cong".into(),
            1,
            None,
            None,
            "ksv1".into(),
            1,
        );
        visit
            .answers
            .insert("evidence_photos".into(), serde_json::json!(["p1"]));
        visit.removed_photos.push("p4".into());
        let photo = |id: &str, field: &str, has_blob: bool| {
            let mut p = LocalPhoto::from_server(&crate::photos::PhotoRecord {
                id: id.into(),
                visit_id: "v1".into(),
                field: field.into(),
                ..crate::field::visits::resend::tests::server_photo()
            });
            p.has_blob = has_blob;
            p
        };
        let photos = [
            photo("p1", "evidence_photos", true),  // listed
            photo("p2", "evidence_photos", true),  // cut short: unlisted
            photo("p3", "evidence_photos", false), // another phone's
            photo("p4", "evidence_photos", true),  // removed here
            photo("p5", "site_photos", true),      // another field
        ];
        assert_eq!(unlisted(&photos, &visit, "evidence_photos"), ["p2"]);
        visit.answers.remove("evidence_photos");
        assert_eq!(
            unlisted(&photos, &visit, "evidence_photos"),
            ["p1", "p2"],
            "an answer with no list at all"
        );
    }

    #[test]
    fn photos_beyond_the_fields_limit_are_left_out_and_counted() {
        assert_eq!(room(0, 3), (3, 0));
        assert_eq!(room(MAX_PER_FIELD - 2, 5), (2, 3));
        assert_eq!(room(MAX_PER_FIELD, 1), (0, 1));
        // More than the limit (held before the limit existed): none fit.
        assert_eq!(room(MAX_PER_FIELD + 4, 2), (0, 2));
    }
}
