//! A visit finalized on another phone (or decided) while this phone changed
//! it offline: what this phone captured stays, until a send-back lets it go
//! or the inspector discards it.
//!
//! One file (about 575 lines): every case builds on the same refused visit
//! and server copies (`held`, `refused_offline_changes`), from the refusal
//! through the rebase to the discard.

use super::*;
use crate::error::ErrorBody;
use crate::field::visits::local::*;
use crate::field::visits::resend::tests::server_photo;
use crate::model::ReviewState;
use crate::model::{VisitRecord, VisitRow};
use crate::photos::PhotoRecord;
use crate::sync::{Entity, Hlc, MutationKind, MutationResult};
use serde_json::json;

const P0: &str = "0190a000-0000-7000-8000-0000000000a0";
const A1: &str = "0190a000-0000-7000-8000-0000000000a1";
const Q: &str = "0190a000-0000-7000-8000-0000000000b1";

fn photo(id: &str) -> PhotoRecord {
    PhotoRecord {
        id: id.into(),
        field: "photos".into(),
        ..server_photo()
    }
}

/// The server's copy: `workforce` 17 and the photos `list`, at version
/// `version`, in `state`.
fn held(id: &str, state: ReviewState, list: &[&str], version: i64) -> VisitRecord {
    VisitRecord {
        id: id.into(),
        form_id: "khuyen-cong".into(),
        form_version: 1,
        proposal_id: Some("p1".into()),
        facility_id: None,
        owner_id: "u".into(),
        review_state: state,
        answers: [
            ("workforce".to_string(), json!(17)),
            ("photos".to_string(), json!(list)),
        ]
        .into(),
        versions: [
            ("workforce".to_string(), version),
            ("photos".to_string(), version),
        ]
        .into(),
        created_at_ms: 0,
        received_at_ms: 0,
        rows: vec![],
        review: vec![],
        photos: list.iter().map(|id| photo(id)).collect(),
        year_closed: false,
        open_conflicts: vec![],
        written: Default::default(),
    }
}

/// `held` after the other phone wrote `visit_date` and `photos` at 5 s, after
/// this phone's save at 3 s; `workforce` as written at 1 s.
fn finalized_elsewhere(id: &str, state: ReviewState, list: &[&str], version: i64) -> VisitRecord {
    let mut v = held(id, state, list, version);
    v.answers.insert("visit_date".into(), json!("2020-06-15"));
    v.versions.insert("visit_date".into(), version);
    v.written = [
        ("workforce".to_string(), Hlc::new(1_000, 0)),
        ("photos".to_string(), Hlc::new(5_000, 0)),
        ("visit_date".to_string(), Hlc::new(5_000, 0)),
    ]
    .into();
    v
}

/// The server's refusal of every change in `out`, with `code`.
fn refuse_all(out: &[OutboxEntry], code: &str) -> Vec<MutationResult> {
    out.iter()
        .map(|e| MutationResult::Refused {
            seq: e.mutation.seq,
            mutation_id: e.mutation.mutation_id,
            error: ErrorBody::new(code, "refused"),
        })
        .collect()
}

/// The phone's copy after a pull of `[P0]`, then offline: workforce 99, P0
/// removed and Q taken, saved, and the push refused with `code`.
fn refused_offline_changes(code: &str) -> LocalVisit {
    let id = "0190a000-0000-7000-8000-000000000001";
    let mut v = absorb_server_copy(
        None,
        &held(id, ReviewState::InProgress, &[P0], 1),
        "ksv1",
        false,
    );
    assert_eq!(v.sync_state, SyncState::Synced);
    v.answers.insert("workforce".into(), json!(99));
    v.answers.insert("photos".into(), json!([Q]));
    v.removed_photos.push(P0.into());
    let mut clock = Hlc::default();
    let (saved, out) = save(&v, "dev", 5, &mut clock, 3_000);
    let refused = refuse_all(&out, code);
    let refs: Vec<&MutationResult> = refused.iter().collect();
    after_push(saved, &refs, false)
}

#[test]
fn changes_refused_as_finalized_elsewhere_stay_in_view_and_not_sent() {
    let refused = refused_offline_changes(LOCKED);
    let id = refused.id.clone();
    let kept = absorb_server_copy(
        Some(refused),
        &held(&id, ReviewState::Submitted, &[P0], 2),
        "ksv1",
        false,
    );
    assert_eq!(kept.sync_state, SyncState::Refused, "not shown as synced");
    assert!(kept.refused_for(LOCKED));
    assert_eq!(kept.review_state, ReviewState::Submitted);
    assert!(!kept.editable());
    assert!(
        kept.has_unsaved_changes(),
        "unsent on the server's copy: a logout warns, a backup carries them"
    );
    assert_eq!(
        kept.answers["workforce"],
        json!(99),
        "the inspector's value"
    );
    assert_eq!(
        kept.answers["photos"],
        json!([Q]),
        "P0 stays removed, Q stays"
    );
    // A second pull changes nothing.
    let again = absorb_server_copy(
        Some(kept.clone()),
        &held(&id, ReviewState::Submitted, &[P0], 2),
        "ksv1",
        false,
    );
    assert_eq!(again, kept);
}

#[test]
fn a_send_back_makes_them_unsent_changes_with_the_other_phones_photos_kept() {
    let refused = refused_offline_changes(LOCKED);
    let id = refused.id.clone();
    let kept = absorb_server_copy(
        Some(refused),
        &finalized_elsewhere(&id, ReviewState::Submitted, &[P0, A1], 2),
        "ksv1",
        false,
    );
    // Sent back: A1 and the visit date came from the other phone before it
    // finalized.
    let sent_back = finalized_elsewhere(&id, ReviewState::NeedsChanges, &[P0, A1], 3);
    let back = absorb_server_copy(Some(kept), &sent_back, "ksv1", false);
    assert_eq!(
        back.answers["visit_date"],
        json!("2020-06-15"),
        "the other phone's answer"
    );
    // A second pull leaves it so.
    let back = absorb_server_copy(Some(back), &sent_back, "ksv1", false);
    assert!(back.editable());
    assert!(back.has_unsaved_changes());
    assert_eq!(
        back.answers["photos"],
        json!([A1, Q]),
        "the server's list less what was removed here, with what was taken here"
    );
    let mut clock = Hlc::default();
    let (_, out) = save(&back, "dev", 9, &mut clock, 9_000);
    let fields: BTreeMap<String, Value> =
        out.iter().flat_map(|e| e.mutation.fields.clone()).collect();
    assert_eq!(fields["workforce"], json!(99));
    assert_eq!(fields["photos"], json!([A1, Q]));
    assert!(
        !fields.contains_key("visit_date"),
        "nothing this phone did not change goes, and nothing is cleared: {fields:?}"
    );
    assert!(out.iter().all(|e| e.mutation.base_version == 3));
}

#[test]
fn a_decided_visit_keeps_them_too_and_a_phone_with_nothing_more_is_synced() {
    let refused = refused_offline_changes(LOCKED);
    let id = refused.id.clone();
    let decided = absorb_server_copy(
        Some(refused.clone()),
        &held(&id, ReviewState::Approved, &[P0], 2),
        "ksv1",
        false,
    );
    assert_eq!(decided.sync_state, SyncState::Refused);
    assert_eq!(decided.answers["photos"], json!([Q]));
    // The other phone finalized the very same answers: nothing is left out.
    let mut same = held(&id, ReviewState::Submitted, &[Q], 2);
    same.answers.insert("workforce".into(), json!(99));
    let synced = absorb_server_copy(Some(refused), &same, "ksv1", false);
    assert_eq!(synced.sync_state, SyncState::Synced);
    assert!(synced.refusal.is_none());
}

#[test]
fn an_answer_the_other_phone_wrote_later_is_the_servers() {
    let refused = refused_offline_changes(LOCKED);
    let id = refused.id.clone();
    let mut later = finalized_elsewhere(&id, ReviewState::NeedsChanges, &[P0], 3);
    later.answers.insert("workforce".into(), json!(40));
    later.written.insert("workforce".into(), Hlc::new(6_000, 0));
    let back = absorb_server_copy(Some(refused), &later, "ksv1", false);
    assert_eq!(back.answers["workforce"], json!(40));
    assert_eq!(
        back.answers["photos"],
        json!([Q]),
        "the photo taken here still goes"
    );
}

#[test]
fn other_refusals_of_a_decided_visit_still_give_way_to_its_copy() {
    let refused = refused_offline_changes("year.closed");
    let id = refused.id.clone();
    let decided = absorb_server_copy(
        Some(refused),
        &held(&id, ReviewState::Approved, &[P0], 2),
        "ksv1",
        false,
    );
    assert_eq!(decided.sync_state, SyncState::Synced);
    assert_eq!(decided.answers["photos"], json!([P0]));
}

fn row(id: &str, name: &str, capacity: &str, at: i64) -> VisitRow {
    VisitRow {
        id: id.into(),
        group: "equipment".into(),
        answers: [
            ("name".to_string(), json!(name)),
            ("capacity".to_string(), json!(capacity)),
        ]
        .into(),
        versions: [("name".to_string(), 1), ("capacity".to_string(), 1)].into(),
        created_at_ms: 1,
        written: [
            ("name".to_string(), Hlc::new(at, 0)),
            ("capacity".to_string(), Hlc::new(at, 0)),
        ]
        .into(),
    }
}

const R1: &str = "0190a000-0000-7000-8000-0000000000c1";
const R2: &str = "0190a000-0000-7000-8000-0000000000c2";
const R3: &str = "0190a000-0000-7000-8000-0000000000c3";
const R4: &str = "0190a000-0000-7000-8000-0000000000c4";
const R5: &str = "0190a000-0000-7000-8000-0000000000c5";

/// Three machines on the server; this phone, offline at 3 s, renames the
/// first, deletes the second and adds a fourth; its push refused as locked.
/// The server's starting copy, the refused visit, and its clock.
fn rows_refused_offline(id: &str) -> (VisitRecord, LocalVisit, Hlc) {
    let mut start = held(id, ReviewState::InProgress, &[P0], 1);
    start.rows = vec![
        row(R1, "Máy 1", "5t", 1_000),
        row(R2, "Máy 2", "6t", 1_000),
        row(R3, "Máy 3", "7t", 1_000),
    ];
    let mut v = absorb_server_copy(None, &start, "ksv1", false);
    v.rows
        .iter_mut()
        .find(|r| r.id == R1)
        .unwrap()
        .answers
        .insert("name".into(), json!("B1"));
    v.rows.iter_mut().find(|r| r.id == R2).unwrap().deleted = true;
    let mut added = LocalRow::new(R4.into(), "equipment".into(), 3_000);
    added.answers.insert("name".into(), json!("B4"));
    v.rows.push(added);
    let mut clock = Hlc::default();
    let (saved, out) = save(&v, "dev", 5, &mut clock, 3_000);
    assert!(saved.removed_rows.contains(&R2.to_string()));
    let refused = refuse_all(&out, LOCKED);
    let refs: Vec<&MutationResult> = refused.iter().collect();
    (start, after_push(saved, &refs, false), clock)
}

#[test]
fn rows_are_rebased_too_and_a_refused_row_deletion_goes_again() {
    let id = "0190a000-0000-7000-8000-000000000001";
    let (_, refused, mut clock) = rows_refused_offline(id);
    // The other phone, at 5 s, sets the first machine's capacity, renames
    // the third and adds a fifth, then finalizes; later it is sent back.
    let mut there = held(id, ReviewState::Submitted, &[P0], 2);
    let mut r1 = row(R1, "Máy 1", "9t", 1_000);
    r1.written.insert("capacity".into(), Hlc::new(5_000, 0));
    let mut r3 = row(R3, "A3", "7t", 1_000);
    r3.written.insert("name".into(), Hlc::new(5_000, 0));
    there.rows = vec![
        r1,
        row(R2, "Máy 2", "6t", 1_000),
        r3,
        row(R5, "A5", "1t", 5_000),
    ];
    let kept = absorb_server_copy(Some(refused), &there, "ksv1", false);
    assert_eq!(kept.sync_state, SyncState::Refused);
    let back = absorb_server_copy(
        Some(kept),
        &VisitRecord {
            review_state: ReviewState::NeedsChanges,
            ..there
        },
        "ksv1",
        false,
    );
    let shown = |id: &str| back.rows.iter().find(|r| r.id == id).unwrap();
    assert_eq!(shown(R1).answers["name"], json!("B1"));
    assert_eq!(
        shown(R1).answers["capacity"],
        json!("9t"),
        "the other phone's later value"
    );
    assert_eq!(
        shown(R3).answers["name"],
        json!("A3"),
        "a row this phone left alone"
    );
    assert!(shown(R2).deleted, "still deleted here");
    assert_eq!(
        shown(R5).answers["name"],
        json!("A5"),
        "the other phone's new row"
    );
    assert_eq!(shown(R4).answers["name"], json!("B4"));
    let (_, out) = save(&back, "dev", 20, &mut clock, 9_000);
    let mut sent: Vec<(String, MutationKind, Vec<String>)> = out
        .iter()
        .filter(|e| e.mutation.entity == Entity::VisitRow)
        .map(|e| {
            (
                e.mutation.record_id.to_string(),
                e.mutation.kind,
                e.mutation.fields.keys().cloned().collect(),
            )
        })
        .collect();
    sent.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        sent,
        [
            (
                R1.to_string(),
                MutationKind::Upsert,
                vec!["name".to_string()]
            ),
            (R2.to_string(), MutationKind::Delete, vec![]),
            (
                R4.to_string(),
                MutationKind::Upsert,
                vec![
                    "group".to_string(),
                    "name".to_string(),
                    "visit_id".to_string()
                ]
            ),
        ]
    );
}

/// A photo record of visit `visit` on this phone: `taken` here and never
/// listed by the server, or the server's.
fn on_phone(visit: &str, id: &str, taken: bool) -> crate::field::photos::local::LocalPhoto {
    let mut p = crate::field::photos::local::LocalPhoto::from_server(&PhotoRecord {
        visit_id: visit.into(),
        ..photo(id)
    });
    if taken {
        p.server_status = None;
        p.has_blob = true;
    }
    p
}

#[test]
fn kept_changes_no_save_can_send_can_be_discarded_back_to_the_servers_copy() {
    let refused = refused_offline_changes(LOCKED);
    let id = refused.id.clone();
    let server = held(&id, ReviewState::Approved, &[P0], 2);
    let mut kept = absorb_server_copy(Some(refused), &server, "ksv1", false);
    hold_removed(&mut kept, &server);
    assert_eq!(kept.removals_not_taken, [P0]);
    assert!(discardable(&kept));
    let photos = [
        on_phone(&id, Q, true),
        on_phone(&id, P0, false),
        on_phone("other", A1, true),
    ];
    assert_eq!(
        super::kept(&kept, &photos),
        Kept {
            changes: 2,
            photos: 1
        },
        "workforce and P0's removal; Q, not another visit's photo"
    );
    assert!(never_taken(&photos[0]) && !never_taken(&photos[1]));

    let shown_again = discard(&mut kept);
    assert_eq!(
        shown_again,
        [crate::field::photos::local::LocalPhoto::from_server(
            &photo(P0)
        )],
        "the removed photo's record comes back, as the server has it"
    );
    assert_eq!(kept.answers, given(&server.answers));
    assert_eq!(kept.sync_state, SyncState::Synced);
    assert!(kept.refusal.is_none() && !kept.finalize_refused);
    assert!(!kept.has_unsaved_changes(), "a logout no longer counts it");
    assert!(
        !kept.removed_photos.contains(&P0.to_string()),
        "a pull lists P0 again"
    );
    assert!(kept.removals_not_taken.is_empty() && kept.removed_held.is_empty());
    assert!(!discardable(&kept));
    let (_, out) = save(&kept, "dev", 30, &mut Hlc::default(), 9_000);
    assert!(
        out.is_empty(),
        "nothing of it goes at a later save: {out:?}"
    );
    // The next pull of the same copy leaves it so.
    let again = absorb_server_copy(Some(kept.clone()), &server, "ksv1", false);
    assert_eq!(again.answers, kept.answers);
    assert_eq!(again.sync_state, SyncState::Synced);
}

#[test]
fn only_changes_no_save_can_send_are_discardable() {
    let id = "0190a000-0000-7000-8000-000000000001";
    let locked = |state| {
        let mut v = absorb_server_copy(
            Some(refused_offline_changes(LOCKED)),
            &held(id, state, &[P0], 2),
            "ksv1",
            false,
        );
        hold_removed(&mut v, &held(id, state, &[P0], 2));
        v
    };
    assert!(
        discardable(&locked(ReviewState::Submitted)),
        "until a send-back"
    );
    assert!(discardable(&locked(ReviewState::Rejected)));
    assert!(
        !discardable(&locked(ReviewState::NeedsChanges)),
        "sent back: a save sends them, and the inspector may edit them back"
    );
    // A closed year's refusal waits for the year to reopen: kept, sendable later.
    let mut closed = refused_offline_changes("sync.year_closed");
    closed.year_closed = true;
    assert!(!discardable(&closed));
    let mut restored = refused_offline_changes(LOCKED);
    restored.review_state = ReviewState::Submitted;
    restored.refusal = Some(ErrorBody::new(RESTORED_LOCKED, "restored"));
    assert!(discardable(&restored));
    let mut queued = restored.clone();
    queued.sync_state = SyncState::Queued;
    assert!(
        !discardable(&queued),
        "requeued by a backup: its push decides first"
    );
}

#[test]
fn a_discard_takes_rows_back_to_the_servers() {
    let id = "0190a000-0000-7000-8000-000000000001";
    let (start, refused, _) = rows_refused_offline(id);
    let server = VisitRecord {
        review_state: ReviewState::Submitted,
        ..start.clone()
    };
    let mut kept = absorb_server_copy(Some(refused), &server, "ksv1", false);
    assert_eq!(
        super::kept(&kept, &[]),
        Kept {
            changes: 3,
            photos: 0
        }
    );
    discard(&mut kept);
    let rows: Vec<(&str, &Value, bool)> = kept
        .rows
        .iter()
        .map(|r| (r.id.as_str(), &r.answers["name"], r.deleted))
        .collect();
    assert_eq!(
        rows,
        [
            (R1, &json!("Máy 1"), false),
            (R2, &json!("Máy 2"), false),
            (R3, &json!("Máy 3"), false)
        ],
        "the server's rows, in its order (the deleted one was dropped here)"
    );
    assert!(kept.removed_rows.is_empty());
    assert!(!kept.has_unsaved_changes());
}

#[test]
fn refusals_of_what_was_queued_before_a_discard_leave_the_visit_alone() {
    let refused = refused_offline_changes(LOCKED);
    let id = refused.id.clone();
    let server = held(&id, ReviewState::Approved, &[P0], 2);
    let mut visit = absorb_server_copy(Some(refused), &server, "ksv1", false);
    discard(&mut visit);
    visit.discarded_through = Some(40);
    let refusal = |seq| MutationResult::Refused {
        seq,
        mutation_id: uuid::Uuid::from_u128(seq as u128),
        error: ErrorBody::new(LOCKED, "refused"),
    };
    let before = refusal(38);
    let after = after_push(visit.clone(), &[&before], false);
    assert_eq!(after.sync_state, SyncState::Synced);
    assert!(after.refusal.is_none());
    let later = refusal(41);
    let after = after_push(visit, &[&later], false);
    assert_eq!(
        after.sync_state,
        SyncState::Refused,
        "a change made after it"
    );
}

#[test]
fn a_withdrawn_change_keeps_its_seq_and_no_save_makes_one() {
    let mut refused = refused_offline_changes(LOCKED);
    refused.answers.insert("workforce".into(), json!(100));
    let mut clock = Hlc::default();
    let (_, mut out) = save(&refused, "dev", 30, &mut clock, 9_000);
    let mut fresh = LocalVisit::new(
        A1.into(),
        "khuyen-cong".into(),
        1,
        None,
        None,
        "ksv1".into(),
        1,
    );
    fresh.answers.insert("workforce".into(), json!(1));
    out.extend(save(&fresh, "dev", 40, &mut clock, 9_000).1);
    assert_eq!(
        out.len(),
        2,
        "the answer; a new visit's first save, its header"
    );
    assert!(
        !out.iter().any(withdrawn),
        "a save's changes are never taken for withdrawn ones"
    );
    let mut entry = out[0].clone();
    let key = entry.key();
    withdraw(&mut entry);
    assert!(withdrawn(&entry));
    assert_eq!(entry.key(), key, "the same seq: no gap");
    assert_eq!(entry.mutation.record_id.to_string(), refused.id);
    assert_eq!(entry.mutation.entity, Entity::Visit);
    assert!(entry.mutation.fields.is_empty());
}
