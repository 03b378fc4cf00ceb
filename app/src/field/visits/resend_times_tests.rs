//! The restore recovery with the times answers were written (`resend::held`,
//! `resend::first_written`): two phones of one inspector that both changed an
//! answer after the backup keep the later answer, whichever recovers first.
//! Also the caption times, the server's stamps and a photo attached again.
//!
//! One file (about 435 lines): every test here starts from the same two
//! phones and restored server (`phone`, `restored`, `applied`); a second
//! file would copy them.

use super::*;
use crate::field::visits::local::{absorb_server_copy, save};
use crate::sync::MutationResult;
use serde_json::json;

const ROW: &str = "0190a000-0000-7000-8000-000000000002";

/// One of the inspector's phones: the visit as the backup holds it
/// (workforce 42 and a machine, saved at 2 s and pulled back), then the
/// phone's own change of workforce and of the machine's name at `at_ms`,
/// pushed and pulled before the server was lost (versions 3 and 2).
fn phone(workforce: i64, machine: &str, at_ms: i64) -> LocalVisit {
    phone_with_sent(workforce, machine, at_ms).0
}

/// `phone`, with the changes of its own save (acknowledged by the server).
fn phone_with_sent(workforce: i64, machine: &str, at_ms: i64) -> (LocalVisit, Vec<OutboxEntry>) {
    let mut v = super::tests::new_visit();
    let mut clock = Hlc::default();
    v.answers.insert("workforce".into(), json!(42));
    let mut row = LocalRow::new(ROW.into(), "machines".into(), 1_500);
    row.answers.insert("name".into(), json!("Máy ép"));
    v.rows.push(row);
    let (mut v, _) = save(&v, "dev", 1, &mut clock, 2_000);
    v.answers.insert("workforce".into(), json!(workforce));
    v.rows[0].answers.insert("name".into(), json!(machine));
    let (mut v, sent) = save(&v, "dev", 3, &mut clock, at_ms);
    v.versions.insert("workforce".into(), 3);
    v.rows[0].versions.insert("name".into(), 2);
    (v, sent)
}

/// The restored server's copy: what the backup held, written at 2 s.
fn restored() -> VisitRecord {
    let at = Hlc::new(2_000, 0);
    let mut server =
        super::tests::server_copy(&[("workforce", json!(42))], ReviewState::InProgress);
    server.written = [("workforce".to_string(), at)].into();
    server.rows = vec![crate::model::VisitRow {
        written: [("name".to_string(), at)].into(),
        ..super::tests::server_row()
    }];
    server
}

/// The restored server after another phone's resend set workforce to
/// `value` (version 2), written at `at_ms`.
fn restored_with_workforce(value: i64, at_ms: i64) -> VisitRecord {
    let mut server = restored();
    server.answers.insert("workforce".into(), json!(value));
    server.versions.insert("workforce".into(), 2);
    server
        .written
        .insert("workforce".into(), Hlc::new(at_ms, 0));
    server
}

fn changes(local: &LocalVisit, server: &VisitRecord) -> Vec<OutboxEntry> {
    // The recovery runs long after both changes: a fresh stamp would be 9 s.
    let mut clock = Hlc::new(8_000, 0);
    visit_changes(local, Some(server), false, "dev", 10, &mut clock, 9_000)
}

/// The server after taking `sent` as a phone's push: each value at the next
/// version, written at the change's time.
fn applied(mut server: VisitRecord, sent: &[OutboxEntry]) -> VisitRecord {
    for e in sent {
        let (answers, versions, written) = match e.mutation.entity {
            Entity::Visit => (
                &mut server.answers,
                &mut server.versions,
                &mut server.written,
            ),
            _ => {
                let row = &mut server.rows[0];
                (&mut row.answers, &mut row.versions, &mut row.written)
            }
        };
        for (k, v) in &e.mutation.fields {
            answers.insert(k.clone(), v.clone());
            *versions.entry(k.clone()).or_insert(0) += 1;
            written.insert(k.clone(), e.mutation.hlc);
        }
    }
    server
}

fn sent_values(sent: &[OutboxEntry]) -> Vec<(String, Value)> {
    sent.iter()
        .flat_map(|e| e.mutation.fields.clone())
        .collect()
}

#[test]
fn a_rebuilt_change_goes_with_the_time_its_answer_was_written() {
    let local = phone(60, "Máy cắt", 5_000);
    let sent = changes(&local, &restored());
    assert_eq!(
        sent_values(&sent),
        vec![
            ("workforce".to_string(), json!(60)),
            ("name".to_string(), json!("Máy cắt"))
        ]
    );
    for e in &sent {
        assert_eq!(
            e.mutation.hlc.ms, 5_000,
            "the phone's save, not the recovery's clock: {:?}",
            e.mutation
        );
    }
    assert_eq!(sent[0].mutation.hlc, local.written["workforce"]);
    assert_eq!(sent[1].mutation.hlc, local.rows[0].written["name"]);
}

#[test]
fn two_phones_of_one_inspector_keep_the_later_answer_whichever_recovers_first() {
    let older = phone(60, "Máy cắt", 5_000);
    let newer = phone(75, "Máy hàn", 6_000);
    // The later phone first: the earlier one then leaves its answers alone.
    let server = applied(restored(), &changes(&newer, &restored()));
    let after = changes(&older, &server);
    assert!(after.is_empty(), "{:?}", sent_values(&after));
    // The earlier phone first: the later one then sends its own.
    let server = applied(restored(), &changes(&older, &restored()));
    let after = changes(&newer, &server);
    assert_eq!(
        sent_values(&after),
        vec![
            ("workforce".to_string(), json!(75)),
            ("name".to_string(), json!("Máy hàn"))
        ]
    );
    assert!(after.iter().all(|e| e.mutation.hlc.ms == 6_000));
}

#[test]
fn a_phone_whose_clock_ran_ahead_leaves_a_later_answer_alone() {
    // Its clock 10 min ahead: the server re-stamped its change at 5 s, and the
    // pull after that push was lost. Another phone changed both answers at
    // 6 s and recovered first.
    let (mut ahead, sent) = phone_with_sent(60, "Máy cắt", 605_000);
    let acked: Vec<MutationResult> = sent
        .iter()
        .map(|e| MutationResult::Applied {
            seq: e.mutation.seq,
            mutation_id: e.mutation.mutation_id,
            lost: vec![],
            stamped: Some(Hlc::new(5_000, 0)),
        })
        .collect();
    let stamps = crate::field::visits::stamps::take_server_stamps;
    stamps(&mut ahead, &sent, &acked.iter().collect::<Vec<_>>());
    let newer = phone(75, "Máy hàn", 6_000);
    let server = applied(restored(), &changes(&newer, &restored()));
    let after = changes(&ahead, &server);
    assert!(after.is_empty(), "{:?}", sent_values(&after));
}

#[test]
fn an_answer_made_on_the_restored_server_later_stays() {
    // Another phone changed workforce on the restored server at 7 s, from
    // version 1; the phone's own change (5 s) is older and is not sent.
    let server = restored_with_workforce(80, 7_000);
    let local = phone(60, "Máy cắt", 5_000);
    let sent = changes(&local, &server);
    assert_eq!(
        sent_values(&sent),
        vec![("name".to_string(), json!("Máy cắt"))]
    );
}

#[test]
fn without_the_phones_times_the_versions_decide() {
    // A visit stored before the times were kept.
    let mut local = phone(60, "Máy cắt", 5_000);
    local.written.clear();
    local.rows[0].written.clear();
    let mut server = restored();
    server.versions.insert("workforce".into(), 4);
    let sent = changes(&local, &server);
    assert_eq!(
        sent_values(&sent),
        vec![("name".to_string(), json!("Máy cắt"))],
        "version 4 is above the 3 this phone saw: the server's stands"
    );
}

#[test]
fn a_save_and_a_pull_keep_when_each_value_was_written() {
    let local = phone(60, "Máy cắt", 5_000);
    assert_eq!(local.written["workforce"].ms, 5_000);
    assert_eq!(local.rows[0].written["name"].ms, 5_000);
    // A cleared answer keeps when it was cleared.
    let mut cleared = local.clone();
    cleared.answers.remove("workforce");
    let mut clock = Hlc::new(5_000, 0);
    let (cleared, out) = save(&cleared, "dev", 5, &mut clock, 6_500);
    assert_eq!(out[0].mutation.fields["workforce"], Value::Null);
    assert_eq!(cleared.written["workforce"].ms, 6_500);
    // A pull takes the server's times with its values.
    let mut server = restored();
    server.answers.insert("workforce".into(), json!(90));
    server
        .written
        .insert("workforce".into(), Hlc::new(7_000, 3));
    let pulled = absorb_server_copy(Some(local), &server, "ksv1", false);
    assert_eq!(pulled.saved["workforce"], json!(90));
    assert_eq!(pulled.written["workforce"], Hlc::new(7_000, 3));
    assert_eq!(pulled.rows[0].written["name"].ms, 2_000);
}

#[test]
fn a_phone_that_pushed_without_pulling_after_still_sends_its_later_answer() {
    // The phone saved 60 at 5 s and pushed, but never pulled after: it
    // still knows version 1. On the restored server, a sibling phone's
    // resend of an earlier answer (4 s) made it version 2. By versions the
    // server's would stand; by time the phone's is the later.
    let mut local = phone(60, "Máy cắt", 5_000);
    local.versions.insert("workforce".into(), 1);
    let server = restored_with_workforce(55, 4_000);
    let sent = changes(&local, &server);
    assert_eq!(sent[0].mutation.fields["workforce"], json!(60));
    assert_eq!(sent[0].mutation.base_version, 2, "on top of the server's");
}

#[test]
fn a_photo_removed_here_goes_whatever_the_times() {
    // This phone removed the photo at 5 s: its saved list is empty.
    let mut local = phone(60, "Máy cắt", 5_000);
    local.written.insert("photos".into(), Hlc::new(5_000, 1));
    local.versions.insert("photos".into(), 1);
    local.removed_photos.push("ph1".into());
    let mut server = restored();
    server.photos.push(super::tests::server_photo());
    server.answers.insert("photos".into(), json!(["ph1"]));
    server.versions.insert("photos".into(), 2);
    let none = std::collections::BTreeSet::new();
    let removed = |local: &LocalVisit, server: &VisitRecord| {
        photos_removed(local, &none, server)
            .iter()
            .map(|p| p.id.clone())
            .collect::<Vec<_>>()
    };
    // A removal is final: it goes whether the server's list is from the
    // backup (3 s) or a sibling set it later (6 s).
    server.written.insert("photos".into(), Hlc::new(3_000, 0));
    assert_eq!(removed(&local, &server), ["ph1"]);
    server.written.insert("photos".into(), Hlc::new(6_000, 0));
    assert_eq!(removed(&local, &server), ["ph1"]);
    // A photo this phone never had, with its own list later than the
    // server's: not a removal of this phone's.
    local.removed_photos.clear();
    server.written.insert("photos".into(), Hlc::new(3_000, 0));
    assert!(removed(&local, &server).is_empty());
}

/// `phone(60, "Máy cắt", 5_000)` that then pulled and, at `at_ms`, set the
/// answer and the machine back to what the backup holds, and cleared
/// `main_products`, which its sibling had set at 5 s.
fn set_back(at_ms: i64) -> LocalVisit {
    let mut v = phone(60, "Máy cắt", 5_000);
    v.saved.insert("main_products".into(), json!("Gạch"));
    v.written.insert("main_products".into(), Hlc::new(5_000, 1));
    v.answers = v.saved.clone();
    v.answers.insert("workforce".into(), json!(42));
    v.answers.remove("main_products");
    v.rows[0].answers.insert("name".into(), json!("Máy ép"));
    let mut clock = Hlc::new(5_000, 9);
    save(&v, "dev", 7, &mut clock, at_ms).0
}

#[test]
fn an_answer_set_back_to_the_backups_value_later_still_wins() {
    let mut earlier = phone(60, "Máy cắt", 5_000);
    earlier
        .answers
        .insert("main_products".into(), json!("Gạch"));
    let mut clock = Hlc::new(5_000, 0);
    let earlier = save(&earlier, "dev", 5, &mut clock, 5_000).0;
    let later = set_back(6_000);
    // The later phone recovers first: its values equal the backup's, but
    // they go again, with their time, as does the clearing the backup
    // cannot show (it never held main_products).
    let sent = changes(&later, &restored());
    assert_eq!(
        sent_values(&sent),
        vec![
            ("workforce".to_string(), json!(42)),
            ("main_products".to_string(), Value::Null),
            ("name".to_string(), json!("Máy ép"))
        ]
    );
    assert!(sent.iter().all(|e| e.mutation.hlc.ms == 6_000));
    // The earlier phone then finds every one of them later than its own.
    let server = applied(restored(), &sent);
    let after = changes(&earlier, &server);
    assert!(after.is_empty(), "{:?}", sent_values(&after));
    // Where the server holds the same value written later, nothing goes.
    let mut newer = restored();
    newer.written.insert("workforce".into(), Hlc::new(7_000, 0));
    newer.rows[0]
        .written
        .insert("name".into(), Hlc::new(7_000, 0));
    newer.answers.insert("main_products".into(), Value::Null);
    newer
        .written
        .insert("main_products".into(), Hlc::new(7_000, 0));
    assert!(changes(&later, &newer).is_empty());
}

#[test]
fn a_visit_the_server_lacks_goes_with_its_clearings() {
    let later = set_back(6_000);
    let mut clock = Hlc::new(8_000, 0);
    let sent = visit_changes(&later, None, false, "dev", 10, &mut clock, 9_000);
    let cleared: Vec<&OutboxEntry> = sent
        .iter()
        .filter(|e| e.mutation.fields.get("main_products") == Some(&Value::Null))
        .collect();
    assert_eq!(cleared.len(), 1, "{:?}", sent_values(&sent));
    assert_eq!(
        cleared[0].mutation.hlc.ms, 6_000,
        "with the time it was cleared"
    );
}

#[test]
fn a_finalize_acknowledged_but_never_pulled_goes_again() {
    // Finalized and acknowledged; the pull that would have shown it
    // submitted was lost, so the phone still reads it open.
    let mut local = phone(60, "Máy cắt", 5_000);
    local.submit_queued = true;
    let sent = changes(&local, &restored());
    assert_eq!(
        sent.last().map(|e| e.mutation.kind),
        Some(MutationKind::Submit),
        "{:?}",
        sent_values(&sent)
    );
    // Still queued in the outbox: that submit goes, not a second one.
    let mut clock = Hlc::new(8_000, 0);
    let queued = visit_changes(
        &local,
        Some(&restored()),
        true,
        "dev",
        10,
        &mut clock,
        9_000,
    );
    assert!(queued
        .iter()
        .all(|e| e.mutation.kind != MutationKind::Submit));
}

#[test]
fn a_caption_goes_again_from_the_phone_that_wrote_it_later() {
    use crate::field::photos::local::LocalPhoto;
    let mut server = restored();
    server.photos.push(crate::photos::PhotoRecord {
        caption: Some("Cổng".into()),
        caption_written: Some(Hlc::new(2_000, 0)),
        ..super::tests::server_photo()
    });
    // The photo's phone (its bytes are here) captioned it at 5 s; its
    // sibling, which has no bytes, captioned it again at 6 s.
    let mut taker = LocalPhoto::from_server(&server.photos[0]);
    taker.has_blob = true;
    taker.caption = Some("Cổng xưởng".into());
    taker.caption_written = Some(Hlc::new(5_000, 0));
    let mut sibling = LocalPhoto::from_server(&server.photos[0]);
    sibling.caption = Some("Cổng phía bắc".into());
    sibling.caption_written = Some(Hlc::new(6_000, 0));
    assert!(caption_lost(&taker, Some(&server)));
    assert!(
        caption_lost(&sibling, Some(&server)),
        "a phone without the bytes sends its caption too"
    );
    let after = |phone: &LocalPhoto| {
        let mut after = server.clone();
        after.photos[0].caption = phone.caption.clone();
        after.photos[0].caption_written = phone.caption_written;
        after
    };
    // The sibling first: the photo's phone leaves the later caption alone.
    assert!(!caption_lost(&taker, Some(&after(&sibling))));
    // The photo's phone first: the sibling's later caption still goes.
    assert!(caption_lost(&sibling, Some(&after(&taker))));
    // Captions without times (an older app): only the photo's phone sends.
    sibling.caption_written = None;
    taker.caption_written = None;
    assert!(!caption_lost(&sibling, Some(&server)));
    assert!(caption_lost(&taker, Some(&server)));
}

#[test]
fn a_photo_attached_again_keeps_its_time_and_its_captions() {
    use crate::field::photos::local::LocalPhoto;
    let mut photo = LocalPhoto::from_server(&super::tests::server_photo());
    photo.created_at_ms = 4_000;
    photo.caption = Some("Cổng xưởng".into());
    photo.caption_written = Some(Hlc::new(5_000, 1));
    let mut clock = Hlc::new(8_000, 0);
    let sent = attach_again(&photo, "dev", &mut clock, 9_000);
    let kinds: Vec<_> = sent
        .iter()
        .map(|e| (e.mutation.fields.contains_key("sha256"), e.mutation.hlc))
        .collect();
    // The record when it was taken, then the caption when it was written: a
    // sibling's caption written at 4.5 s loses to it, one at 5.5 s wins.
    assert_eq!(
        kinds,
        vec![(true, Hlc::new(4_000, 0)), (false, Hlc::new(5_000, 1))]
    );
    assert_eq!(sent[1].mutation.fields["caption"], json!("Cổng xưởng"));
    // No caption: the attach alone, at the photo's time, so a sibling's
    // caption written since (the server lacked the photo) is later.
    photo.caption = None;
    photo.caption_written = None;
    let sent = attach_again(&photo, "dev", &mut clock, 9_000);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].mutation.hlc, Hlc::new(4_000, 0));
    // A caption without a time: one attach, stamped now, as before.
    photo.caption = Some("Cổng xưởng".into());
    let sent = attach_again(&photo, "dev", &mut clock, 9_000);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].mutation.hlc.ms, 9_000);
    assert_eq!(sent[0].mutation.fields["caption"], json!("Cổng xưởng"));
}
