//! The restore recovery's rules, case by case (`resend.rs`).
//!
//! One file (about 690 lines): each rule (what goes again, what is left
//! alone, the order, photos, whose phone) is read beside the others, on the
//! same visit built once at the top.

use super::*;
use crate::field::visits::local::save;
use crate::model::VisitRow;
use crate::photos::PhotoRecord;
use serde_json::json;

const DEVICE: &str = "dev";
const VISIT: &str = "0190a000-0000-7000-8000-000000000001";
const ROW: &str = "0190a000-0000-7000-8000-000000000002";

/// The visit these tests start from, started at 1 s and never saved.
pub(super) fn new_visit() -> LocalVisit {
    LocalVisit::new(
        VISIT.into(),
        "khuyen-cong".into(),
        1,
        Some("p1".into()),
        Some("f1".into()),
        "ksv1".into(),
        1_000,
    )
}

/// A visit the phone saved twice (workforce, then main products and a row)
/// and that both saves reached the server before it was lost.
fn saved_visit() -> LocalVisit {
    let mut v = new_visit();
    let mut clock = Hlc::default();
    v.answers.insert("workforce".into(), json!(42));
    let (mut v, _) = save(&v, DEVICE, 1, &mut clock, 2_000);
    v.answers.insert("main_products".into(), json!("Gạch"));
    let mut row = LocalRow::new(ROW.into(), "machines".into(), 2_500);
    row.answers.insert("name".into(), json!("Máy ép"));
    v.rows.push(row);
    let (mut v, _) = save(&v, DEVICE, 3, &mut clock, 3_000);
    v.versions = [("workforce".into(), 1), ("main_products".into(), 1)].into();
    v
}

/// The visit's machine row as the server holds it: "Máy ép", version 1.
pub(super) fn server_row() -> VisitRow {
    VisitRow {
        id: ROW.into(),
        group: "machines".into(),
        answers: [("name".to_string(), json!("Máy ép"))].into(),
        versions: [("name".to_string(), 1)].into(),
        created_at_ms: 2_500,
        written: Default::default(),
    }
}

pub(crate) fn server_copy(answers: &[(&str, Value)], state: ReviewState) -> VisitRecord {
    VisitRecord {
        id: VISIT.into(),
        form_id: "khuyen-cong".into(),
        form_version: 1,
        proposal_id: Some("p1".into()),
        facility_id: Some("f1".into()),
        owner_id: "u".into(),
        review_state: state,
        answers: answers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        versions: answers.iter().map(|(k, _)| (k.to_string(), 1)).collect(),
        created_at_ms: 1_000,
        received_at_ms: 2_000,
        rows: vec![],
        review: vec![],
        photos: vec![],
        year_closed: false,
        open_conflicts: vec![],
        written: Default::default(),
    }
}

fn changes(local: &LocalVisit, server: Option<&VisitRecord>) -> Vec<OutboxEntry> {
    let mut clock = Hlc::default();
    visit_changes(local, server, false, DEVICE, 10, &mut clock, 9_000)
}

/// (entity, kind, fields) of each change, in order.
fn described(entries: &[OutboxEntry]) -> Vec<(Entity, MutationKind, Vec<String>)> {
    entries
        .iter()
        .map(|e| {
            (
                e.mutation.entity,
                e.mutation.kind,
                e.mutation.fields.keys().cloned().collect(),
            )
        })
        .collect()
}

#[test]
fn a_visit_the_server_lost_goes_again_whole_with_its_header_and_rows() {
    let local = saved_visit();
    let sent = changes(&local, None);
    let seqs: Vec<i64> = sent.iter().map(|e| e.mutation.seq).collect();
    assert_eq!(seqs, vec![10, 11, 12], "numbered from the seq asked for");
    let d = described(&sent);
    assert_eq!(d[0].0, Entity::Visit);
    assert!(
        d[0].2.contains(&"form_id".to_string()),
        "the first carries the header: {d:?}"
    );
    let visit_fields: Vec<String> = d
        .iter()
        .filter(|x| x.0 == Entity::Visit)
        .flat_map(|x| x.2.clone())
        .collect();
    assert!(visit_fields.contains(&"workforce".to_string()));
    assert!(visit_fields.contains(&"main_products".to_string()));
    let row = d
        .iter()
        .find(|x| x.0 == Entity::VisitRow)
        .expect("the row goes too");
    assert!(row.2.contains(&"visit_id".to_string()) && row.2.contains(&"name".to_string()));
    assert!(
        sent.iter().all(|e| e.mutation.base_version == 0),
        "new to this server"
    );
}

#[test]
fn only_what_the_server_lacks_goes_again() {
    let local = saved_visit();
    // The backup was taken after the first save: it holds workforce only.
    let mut server = server_copy(&[("workforce", json!(42))], ReviewState::InProgress);
    let sent = changes(&local, Some(&server));
    let d = described(&sent);
    assert_eq!(
        d,
        vec![
            (
                Entity::Visit,
                MutationKind::Upsert,
                vec!["main_products".to_string()]
            ),
            (
                Entity::VisitRow,
                MutationKind::Upsert,
                vec![
                    "group".to_string(),
                    "name".to_string(),
                    "visit_id".to_string()
                ]
            ),
        ],
    );
    assert!(
        d.iter().all(|x| !x.2.contains(&"workforce".to_string())),
        "held already: {d:?}"
    );
    assert!(
        d.iter().all(|x| !x.2.contains(&"form_id".to_string())),
        "the server has the header"
    );
    // Everything there: nothing goes.
    server.answers.insert("main_products".into(), json!("Gạch"));
    server.rows.push(server_row());
    assert!(changes(&local, Some(&server)).is_empty());
}

#[test]
fn another_phones_answer_on_the_server_is_not_erased() {
    let local = saved_visit();
    let server = server_copy(
        &[
            ("workforce", json!(42)),
            ("main_products", json!("Gạch")),
            ("note", json!("từ máy khác")),
        ],
        ReviewState::InProgress,
    );
    let sent = changes(&local, Some(&server));
    assert!(
        sent.iter().all(|e| !e.mutation.fields.contains_key("note")),
        "the phone never saved `note`: {:?}",
        described(&sent)
    );
}

#[test]
fn the_draft_typed_since_the_last_save_is_not_saved_by_a_restore() {
    let mut local = saved_visit();
    local.answers.insert("workforce".into(), json!(99));
    let sent = changes(&local, None);
    let workforce: Vec<&Value> = sent
        .iter()
        .filter_map(|e| e.mutation.fields.get("workforce"))
        .collect();
    assert_eq!(
        workforce,
        vec![&json!(42)],
        "the saved value, not the draft"
    );
}

#[test]
fn a_changed_value_is_based_on_the_servers_version_unless_the_server_holds_a_newer_one() {
    // The phone pulled version 4 of workforce (its own 42, acknowledged
    // after the backup); the backup holds version 3, 40.
    let mut local = saved_visit();
    local.versions.insert("workforce".into(), 4);
    let mut server = server_copy(&[("workforce", json!(40))], ReviewState::InProgress);
    server.versions.insert("workforce".into(), 3);
    let sent = changes(&local, Some(&server));
    let w = sent
        .iter()
        .find(|e| e.mutation.fields.contains_key("workforce"))
        .expect("workforce differs");
    assert_eq!(w.mutation.fields["workforce"], json!(42));
    assert_eq!(
        w.mutation.base_version, 3,
        "a later edit, not a concurrent one"
    );
    // Another phone's 40 at version 3, which this phone (at version 1) never
    // pulled: newer than the phone's 42, and left as it is.
    local.versions.insert("workforce".into(), 1);
    let sent = changes(&local, Some(&server));
    assert!(
        sent.iter()
            .all(|e| !e.mutation.fields.contains_key("workforce")),
        "{:?}",
        described(&sent)
    );
}

#[test]
fn an_answer_cleared_after_the_backup_is_cleared_again() {
    let mut local = saved_visit();
    // Saved with a phone number (version 2 pulled), then cleared and saved.
    local.versions.insert("phone".into(), 2);
    let server = server_copy(
        &[
            ("workforce", json!(42)),
            ("main_products", json!("Gạch")),
            ("phone", json!("0204 3854 123")),
        ],
        ReviewState::InProgress,
    );
    let mut server = VisitRecord {
        versions: [
            ("workforce".to_string(), 1),
            ("main_products".to_string(), 1),
            ("phone".to_string(), 2),
        ]
        .into(),
        ..server
    };
    let sent = changes(&local, Some(&server));
    let cleared: Vec<&Value> = sent
        .iter()
        .filter_map(|e| e.mutation.fields.get("phone"))
        .collect();
    assert_eq!(cleared, vec![&Value::Null], "{:?}", described(&sent));
    // Set by another phone at a version this phone never saw: kept.
    server.versions.insert("phone".into(), 3);
    let sent = changes(&local, Some(&server));
    assert!(sent
        .iter()
        .all(|e| !e.mutation.fields.contains_key("phone")));
}

#[test]
fn a_finalized_visit_is_finalized_again_unless_its_submit_waits_or_the_server_has_it() {
    let mut local = saved_visit();
    local.review_state = ReviewState::Submitted;
    let open = server_copy(&[("workforce", json!(42))], ReviewState::InProgress);
    let sent = changes(&local, Some(&open));
    assert_eq!(
        sent.last().map(|e| e.mutation.kind),
        Some(MutationKind::Submit),
        "the submit goes last"
    );
    let lost = changes(&local, None);
    assert_eq!(
        lost.last().map(|e| e.mutation.kind),
        Some(MutationKind::Submit)
    );
    let mut clock = Hlc::default();
    let waiting = visit_changes(&local, Some(&open), true, DEVICE, 10, &mut clock, 9_000);
    assert!(
        waiting
            .iter()
            .all(|e| e.mutation.kind != MutationKind::Submit),
        "the outbox holds it"
    );
    let submitted = server_copy(&[("workforce", json!(42))], ReviewState::Submitted);
    assert!(
        changes(&local, Some(&submitted)).is_empty(),
        "a submitted copy takes no edits: what it holds stands"
    );
}

#[test]
fn a_visit_never_saved_and_a_facility_found_on_site() {
    let mut draft = saved_visit();
    draft.header_sent = false;
    assert!(changes(&draft, None).is_empty(), "its own save sends it");
    let mut found = saved_visit();
    found.new_facility = [("name".to_string(), json!("Xưởng mới"))].into();
    found.facility_sent = true;
    let lost = changes(&found, None);
    assert_eq!(
        lost[0].mutation.entity,
        Entity::Facility,
        "before the visit that names it"
    );
    let held = server_copy(&[("workforce", json!(42))], ReviewState::InProgress);
    assert!(changes(&found, Some(&held))
        .iter()
        .all(|e| e.mutation.entity != Entity::Facility));
}

fn photo(done: bool, has_blob: bool) -> LocalPhoto {
    let mut p = LocalPhoto::from_server(&server_photo());
    p.has_blob = has_blob;
    p.upload.done = done;
    p
}

#[test]
fn photos_go_again_when_the_server_lacks_them_and_the_phone_has_the_bytes() {
    let mut server = server_copy(&[], ReviewState::InProgress);
    assert_eq!(
        photo_needs(&photo(true, true), None),
        PhotoResend::AttachAndBytes
    );
    assert_eq!(
        photo_needs(&photo(true, true), Some(&server)),
        PhotoResend::AttachAndBytes
    );
    assert_eq!(
        photo_needs(&photo(true, false), None),
        PhotoResend::Nothing,
        "no bytes here"
    );
    let mut held = PhotoRecord {
        status: PhotoStatus::Waiting,
        ..server_photo()
    };
    server.photos.push(held.clone());
    assert_eq!(
        photo_needs(&photo(true, true), Some(&server)),
        PhotoResend::Bytes
    );
    held.status = PhotoStatus::Ok;
    server.photos = vec![held];
    assert_eq!(
        photo_needs(&photo(true, true), Some(&server)),
        PhotoResend::Nothing
    );
    let again = upload_again(photo(true, true));
    assert!(again.needs_upload() && again.upload.url.is_none());
}

pub(crate) fn server_photo() -> PhotoRecord {
    PhotoRecord {
        id: "ph1".into(),
        visit_id: VISIT.into(),
        field: "photos".into(),
        sha256: "ab".into(),
        size: 10,
        content_type: "image/jpeg".into(),
        caption: None,
        caption_written: None,
        taken_at_ms: None,
        time_source: None,
        lat: None,
        lon: None,
        accuracy_m: None,
        location_source: None,
        status: PhotoStatus::Ok,
        problem: None,
        warnings: vec![],
        width: None,
        height: None,
        created_at_ms: 1,
    }
}

#[test]
fn the_rebuilt_changes_go_first_and_the_queue_follows_renumbered() {
    let local = saved_visit();
    let mut clock = Hlc::default();
    // The outbox: an upsert of the visit (covered), a row's delete and a submit (kept).
    let mut queued = save(&local, DEVICE, 20, &mut clock, 4_000).1;
    let mut with_answer = local.clone();
    with_answer.answers.insert("workforce".into(), json!(43));
    queued.extend(save(&with_answer, DEVICE, 21, &mut clock, 4_000).1);
    let mut submit = queued[0].clone();
    submit.mutation.kind = MutationKind::Submit;
    submit.mutation.entity = Entity::Visit;
    submit.mutation.fields.clear();
    queued.push(submit);
    let rebuilt_for: std::collections::BTreeSet<String> = [VISIT.to_string()].into();
    let kept: Vec<OutboxEntry> = queued
        .into_iter()
        .filter(|e| keep_queued(e, &rebuilt_for))
        .collect();
    assert_eq!(kept.len(), 1, "only the submit is not covered");
    let rebuilt = changes(&local, None);
    let n = rebuilt.len();
    let all = renumber(rebuilt, kept, 7);
    let seqs: Vec<i64> = all.iter().map(|e| e.mutation.seq).collect();
    assert_eq!(seqs, (8..8 + n as i64 + 1).collect::<Vec<_>>());
    assert_eq!(
        all.last().map(|e| e.mutation.kind),
        Some(MutationKind::Submit)
    );
    // A rebuilt finalize goes after the photos rebuilt with it.
    let mut finalized = saved_visit();
    finalized.review_state = ReviewState::Submitted;
    let mut rebuilt = changes(&finalized, None);
    assert_eq!(
        rebuilt.last().map(|e| e.mutation.kind),
        Some(MutationKind::Submit)
    );
    let mut attach = rebuilt[0].clone();
    attach.mutation.entity = Entity::Photo;
    rebuilt.push(attach);
    let kinds: Vec<(Entity, MutationKind)> = renumber(rebuilt, vec![], 0)
        .iter()
        .map(|e| (e.mutation.entity, e.mutation.kind))
        .collect();
    assert_eq!(
        kinds.last(),
        Some(&(Entity::Visit, MutationKind::Submit)),
        "{kinds:?}"
    );
    assert_eq!(kinds[kinds.len() - 2].0, Entity::Photo);
}

#[test]
fn a_supervisors_phone_sends_again_only_the_visits_it_started() {
    use crate::model::{Role, UserInfo};
    let user = |roles: Vec<Role>| UserInfo {
        id: "u".into(),
        username: "someone".into(),
        display_name: "Someone".into(),
        roles,
        units: vec![],
    };
    let (inspector, supervisor) = (user(vec![Role::Inspector]), user(vec![Role::Supervisor]));
    let started = saved_visit();
    assert_eq!(started.made_here, Some(true));
    // Pulled: another inspector's visit, on a supervisor's phone.
    let pulled = crate::field::visits::local::absorb_server_copy(
        None,
        &server_copy(&[("workforce", json!(5))], ReviewState::Submitted),
        "someone",
        false,
    );
    assert_eq!(pulled.made_here, Some(false));
    assert!(is_mine(&started, None, &supervisor));
    assert!(
        !is_mine(&pulled, None, &supervisor),
        "the server lost it, but it is not the supervisor's"
    );
    let mut legacy = pulled.clone();
    legacy.made_here = None;
    assert!(
        !is_mine(&legacy, None, &supervisor),
        "stored before the mark: not known to be its own"
    );
    assert!(
        is_mine(&legacy, None, &inspector),
        "an inspector's phone pulls only its own visits"
    );
    let theirs = VisitRecord {
        owner_id: "other".into(),
        ..server_copy(&[], ReviewState::InProgress)
    };
    assert!(
        !is_mine(&started, Some(&theirs), &inspector),
        "the server's copy names its owner"
    );
    assert!(is_mine(
        &pulled,
        Some(&server_copy(&[], ReviewState::InProgress)),
        &supervisor
    ));
}

#[test]
fn a_visit_first_heard_of_from_a_pull_is_not_finalized_again_here() {
    let mut pulled = saved_visit();
    pulled.review_state = ReviewState::Submitted;
    pulled.made_here = Some(false);
    assert!(
        changes(&pulled, None)
            .iter()
            .all(|e| e.mutation.kind != MutationKind::Submit),
        "the phone holding its photos finalizes it"
    );
    pulled.made_here = None;
    assert_eq!(
        changes(&pulled, None).last().map(|e| e.mutation.kind),
        Some(MutationKind::Submit),
        "stored before the mark: as before"
    );
}

#[test]
fn a_caption_changed_and_a_photo_removed_after_the_backup_go_again() {
    let mut server = server_copy(&[("workforce", json!(42))], ReviewState::InProgress);
    server.photos.push(PhotoRecord {
        caption: Some("Cổng xưởng".into()),
        ..server_photo()
    });
    let mut mine = photo(true, true);
    mine.caption = Some("Cổng xưởng, phía bắc".into());
    assert!(caption_lost(&mine, Some(&server)));
    mine.caption = Some("Cổng xưởng".into());
    assert!(!caption_lost(&mine, Some(&server)));
    let locked = server_copy(&[], ReviewState::Submitted);
    assert!(
        !caption_lost(&mine, Some(&locked)),
        "a locked visit takes no caption"
    );

    // Removed here: kept as removed, not held, not named by the answer.
    let mut local = saved_visit();
    local.versions.insert("photos".into(), 2);
    server.versions.insert("photos".into(), 1);
    server.answers.insert("photos".into(), json!(["ph1"]));
    let none = std::collections::BTreeSet::new();
    let ids = |v: Vec<&PhotoRecord>| v.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
    assert!(
        photos_removed(&local, &none, &server).is_empty(),
        "never known here (another phone's photo): not removed here, though this phone's list lacks it"
    );
    local.removed_photos.push("ph1".into());
    assert_eq!(
        ids(photos_removed(&local, &none, &server)),
        vec!["ph1".to_string()]
    );
    // Held, or named by the answer: kept.
    let held: std::collections::BTreeSet<String> = ["ph1".to_string()].into();
    assert!(photos_removed(&local, &held, &server).is_empty());
    local.saved.insert("photos".into(), json!(["ph1"]));
    assert!(photos_removed(&local, &none, &server).is_empty());
}

#[test]
fn a_photo_list_naming_a_photo_the_server_lacks_goes_on_no_base_version() {
    // The restored server's list (a sibling's recovery) is later than this
    // phone's, but lacks this phone's photo: the list goes again, as a set.
    let mine = "01a24b00-0000-7000-8000-000000000001";
    let mut local = saved_visit();
    local.saved.insert("photos".into(), json!([mine]));
    local.answers = local.saved.clone();
    local.versions.insert("photos".into(), 1);
    let mut server = server_copy(&[("workforce", json!(42))], ReviewState::InProgress);
    server.photos.push(server_photo());
    server.answers.insert("photos".into(), json!(["ph1"]));
    server.versions.insert("photos".into(), 4);
    let sent = changes(&local, Some(&server));
    let list = sent
        .iter()
        .find(|e| e.mutation.fields.contains_key("photos"))
        .expect("the list goes");
    assert_eq!(list.mutation.fields["photos"], json!([mine]));
    assert_eq!(
        list.mutation.base_version, 0,
        "merged as a set on the server"
    );
    // The server's list already names it: nothing to send.
    server.answers.insert("photos".into(), json!(["ph1", mine]));
    assert!(changes(&local, Some(&server))
        .iter()
        .all(|e| !e.mutation.fields.contains_key("photos")));
}

#[test]
fn corrections_the_restored_server_holds_finalized_against_stay_on_the_phone() {
    use crate::field::visits::local::{absorb_server_copy, SyncState, RESTORED_LOCKED};
    // Finalized with 25 (version 1, in the backup), sent back, corrected to
    // 31 (version 2) and finalized again; the restored server holds 25.
    let mut local = saved_visit();
    local.answers.insert("workforce".into(), json!(31));
    local.saved.insert("workforce".into(), json!(31));
    local.versions.insert("workforce".into(), 2);
    local.review_state = ReviewState::Submitted;
    let restored = server_copy(
        &[("workforce", json!(25)), ("main_products", json!("Gạch"))],
        ReviewState::Submitted,
    );
    assert!(
        changes(&local, Some(&restored)).is_empty(),
        "a finalized copy takes no edits"
    );
    let kept = kept_against_locked(&local, &restored).expect("the correction is not on the server");
    assert_eq!(kept.answers["workforce"], json!(31), "in view");
    assert_eq!(kept.saved["workforce"], json!(25), "as an unsent change");
    assert_eq!(kept.sync_state, SyncState::Refused);
    assert!(kept.refused_for(RESTORED_LOCKED) && kept.finalize_refused);
    // The pull from 0 keeps it while the server holds it finalized…
    let pulled = absorb_server_copy(Some(kept.clone()), &restored, "ksv1", false);
    assert_eq!(pulled.answers["workforce"], json!(31));
    assert!(pulled.refused_for(RESTORED_LOCKED));
    // …and once a supervisor sends it back, it is the inspector's to save.
    let sent_back = server_copy(
        &[("workforce", json!(25)), ("main_products", json!("Gạch"))],
        ReviewState::NeedsChanges,
    );
    let open = absorb_server_copy(Some(pulled), &sent_back, "ksv1", false);
    assert_eq!(open.answers["workforce"], json!(31));
    assert!(open.has_unsaved_changes() && open.editable());
    // Nothing differs: nothing kept.
    local.saved.insert("workforce".into(), json!(25));
    local.answers.insert("workforce".into(), json!(25));
    assert!(kept_against_locked(&local, &restored).is_none());
    // Another device's newer value on the server: not the phone's to keep.
    let mut newer = restored.clone();
    newer.versions.insert("workforce".into(), 5);
    local.saved.insert("workforce".into(), json!(31));
    assert!(kept_against_locked(&local, &newer).is_none());
}

#[test]
fn a_null_on_the_server_is_a_cleared_answer_not_a_difference() {
    let local = saved_visit();
    let mut server = server_copy(
        &[
            ("workforce", json!(42)),
            ("main_products", json!("Gạch")),
            ("phone", Value::Null),
        ],
        ReviewState::InProgress,
    );
    server.rows.push(server_row());
    assert!(
        changes(&local, Some(&server)).is_empty(),
        "{:?}",
        described(&changes(&local, Some(&server)))
    );
    server.review_state = ReviewState::Submitted;
    assert!(
        kept_against_locked(&local, &server).is_none(),
        "nothing of the phone's is missing there"
    );
}

#[test]
fn a_photo_list_names_only_photos_the_restored_server_can_hold() {
    // Another phone took `theirs` after the backup and removed it; this
    // phone pulled it before the removal and holds no bytes of it.
    let (mine, theirs) = (
        "01a24b00-0000-7000-8000-000000000001",
        "01a24b00-0000-7000-8000-000000000002",
    );
    let mut local = saved_visit();
    local
        .saved
        .insert("photos".into(), json!(["ph1", mine, theirs]));
    local.saved.insert("tags".into(), json!(["a", "b"]));
    let mut server = server_copy(&[("workforce", json!(42))], ReviewState::InProgress);
    server.photos.push(server_photo());
    let with_bytes: std::collections::BTreeSet<String> = [mine.to_string()].into();
    let cut = recoverable_lists(&local, Some(&server), &with_bytes);
    assert_eq!(
        cut.saved["photos"],
        json!(["ph1", mine]),
        "held there, or its bytes here"
    );
    assert_eq!(cut.saved["tags"], json!(["a", "b"]), "not a photo list");
    assert_eq!(
        local.saved["photos"],
        json!(["ph1", mine, theirs]),
        "the phone's own copy stays"
    );
    // A server without the visit: only this phone's photos with bytes.
    local.saved.insert("photos".into(), json!([mine, theirs]));
    let lacking = recoverable_lists(&local, None, &with_bytes);
    assert_eq!(lacking.saved["photos"], json!([mine]));
}
