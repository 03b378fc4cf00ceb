//! Tests of `local.rs`, kept beside it so the module reads as code.

use super::*;

fn photo() -> LocalPhoto {
    LocalPhoto {
        id: "01900000-0000-7000-8000-000000000001".into(),
        visit_id: "01900000-0000-7000-8000-000000000002".into(),
        field: "evidence_photos".into(),
        sha256: "a".repeat(64),
        size: 1000,
        content_type: "image/jpeg".into(),
        caption: Some("Máy dập".into()),
        caption_written: None,
        taken_at_ms: Some(1_772_695_800_000),
        time_source: "exif".into(),
        lat: Some(21.27),
        lon: Some(106.19),
        accuracy_m: None,
        location_source: "exif".into(),
        width: 2048,
        height: 1536,
        original_size: 6_000_000,
        created_at_ms: 1_772_695_900_000,
        has_blob: true,
        upload: UploadState::default(),
        server_status: None,
        problem: None,
        warnings: Vec::new(),
    }
}

#[test]
fn attach_carries_every_key_the_server_accepts() {
    let e = attach_entry(&photo(), "dev", 7, Hlc::new(5, 0), uuid::Uuid::nil());
    assert_eq!(e.mutation.entity, Entity::Photo);
    assert_eq!(e.mutation.seq, 7);
    assert_eq!(e.visit_id, photo().visit_id);
    for key in e.mutation.fields.keys() {
        assert!(crate::photos::ATTACH_KEYS.contains(&key.as_str()), "{key}");
    }
    for key in crate::photos::FIXED_KEYS {
        assert!(e.mutation.fields.contains_key(*key), "{key}");
    }
    assert_eq!(e.mutation.fields["accuracy_m"], Value::Null);
}

#[test]
fn removal_is_a_delete_and_a_caption_edit_only_the_caption() {
    let p = photo();
    let d = change_entry(&p, "dev", 1, Hlc::new(1, 0), uuid::Uuid::nil(), true);
    assert_eq!(d.mutation.kind, MutationKind::Delete);
    assert!(d.mutation.fields.is_empty());
    let c = change_entry(&p, "dev", 2, Hlc::new(1, 0), uuid::Uuid::nil(), false);
    assert_eq!(c.mutation.fields.keys().collect::<Vec<_>>(), ["caption"]);
}

#[test]
fn base64_matches_the_standard_alphabet_and_padding() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(&[0xfb, 0xff, 0xfe]), "+//+");
    assert_eq!(base64("ảnh".as_bytes()), "4bqjbmg=");
}

#[test]
fn chunks_grow_on_success_and_shrink_on_failure_within_bounds() {
    let mut c = FIRST_CHUNK;
    for _ in 0..10 {
        c = next_chunk(c, true);
    }
    assert_eq!(c, MAX_CHUNK);
    for _ in 0..20 {
        c = next_chunk(c, false);
    }
    assert_eq!(c, MIN_CHUNK);
}

#[test]
fn answers_decide_between_continue_restart_refuse_and_retry() {
    assert_eq!(verdict_for(204, ""), UploadVerdict::Continue);
    assert_eq!(
        verdict_for(409, "upload.offset_mismatch"),
        UploadVerdict::Continue
    );
    assert_eq!(
        verdict_for(460, "upload.checksum_mismatch"),
        UploadVerdict::Continue
    );
    assert_eq!(
        verdict_for(460, "upload.sha256_mismatch"),
        UploadVerdict::Restart
    );
    assert_eq!(verdict_for(410, "upload.expired"), UploadVerdict::Restart);
    assert_eq!(verdict_for(404, "not_found"), UploadVerdict::Restart);
    assert_eq!(
        verdict_for(413, "request.too_large"),
        UploadVerdict::Refused
    );
    assert_eq!(verdict_for(0, ""), UploadVerdict::Retry);
    assert_eq!(verdict_for(503, ""), UploadVerdict::Retry);
}

#[test]
fn the_servers_verdict_is_absorbed_and_progress_counts_what_is_left() {
    let mut a = photo();
    a.upload.offset = 400;
    let mut b = photo();
    b.id = "b".into();
    assert_eq!(progress(&[a.clone(), b.clone()]), (400, 2000));
    assert_eq!(a.state(), "uploading");
    let server = PhotoRecord {
        id: a.id.clone(),
        visit_id: a.visit_id.clone(),
        field: a.field.clone(),
        sha256: a.sha256.clone(),
        size: a.size,
        content_type: a.content_type.clone(),
        caption: None,
        caption_written: None,
        taken_at_ms: None,
        time_source: None,
        lat: None,
        lon: None,
        accuracy_m: None,
        location_source: None,
        status: PhotoStatus::Bad,
        problem: Some(ErrorBody::new("photo.truncated", "cut")),
        warnings: Vec::new(),
        width: None,
        height: None,
        created_at_ms: 1,
    };
    a.absorb(&server);
    assert_eq!(a.state(), "bad");
    assert!(a.upload.done && !a.needs_upload());
    assert_eq!(
        a.caption.as_deref(),
        Some("Máy dập"),
        "the phone's caption stays"
    );
    let remote = LocalPhoto::from_server(&server);
    assert!(!remote.has_blob && !remote.needs_upload());
    assert_eq!(progress(&[a, b]), (1000, 2000));
}

/// The server's copy of `photo` with its caption written at `at`.
fn record_of(photo: &LocalPhoto, caption: &str, at: Option<Hlc>) -> PhotoRecord {
    let mut record = crate::field::visits::resend::tests::server_photo();
    record.id = photo.id.clone();
    record.caption = Some(caption.into());
    record.caption_written = at;
    record
}

#[test]
fn a_pulled_caption_replaces_the_phones_only_when_written_later() {
    let mut mine = photo();
    mine.caption_written = Some(Hlc::new(5_000, 0));
    // Another phone of the inspector captioned it later: the phone shows that.
    let later = record_of(&mine, "Máy dập, cổng bắc", Some(Hlc::new(6_000, 0)));
    let mut took = mine.clone();
    took.absorb(&later);
    assert_eq!(took.caption.as_deref(), Some("Máy dập, cổng bắc"));
    assert_eq!(took.caption_written, later.caption_written);
    // The server's is older (this phone's change is on its way): it stays.
    let older = record_of(&mine, "Máy", Some(Hlc::new(4_000, 0)));
    let mut kept = mine.clone();
    kept.absorb(&older);
    assert_eq!(kept.caption.as_deref(), Some("Máy dập"));
    assert_eq!(kept.caption_written, mine.caption_written);
    // Without the server's time (a caption from before the times): the
    // phone's own caption stays, as before.
    let untimed = record_of(&mine, "Máy", None);
    let mut kept = mine.clone();
    kept.absorb(&untimed);
    assert_eq!(kept.caption.as_deref(), Some("Máy dập"));
    // A phone without a time takes a timed caption.
    let mut old_app = photo();
    old_app.absorb(&later);
    assert_eq!(old_app.caption.as_deref(), Some("Máy dập, cổng bắc"));
}

#[test]
fn a_photo_removed_on_another_phone_leaves_this_phones_records() {
    use crate::field::visits::local::LocalVisit;
    let taken_here = photo();
    let mut from_elsewhere = photo();
    from_elsewhere.id = "01900000-0000-7000-8000-0000000000e1".into();
    from_elsewhere.has_blob = false;
    let mut still_there = from_elsewhere.clone();
    still_there.id = "01900000-0000-7000-8000-0000000000e2".into();
    let mut other_visit = from_elsewhere.clone();
    other_visit.id = "01900000-0000-7000-8000-0000000000e3".into();
    other_visit.visit_id = "01900000-0000-7000-8000-0000000000ff".into();
    // Taken here, its bytes taken by the server, then removed elsewhere.
    let mut sent_from_here = photo();
    sent_from_here.id = "01900000-0000-7000-8000-0000000000e4".into();
    sent_from_here.upload.done = true;
    sent_from_here.server_status = Some(PhotoStatus::Ok);
    // Sent again after a restore, its bytes acknowledged, and never listed
    // by the server since (another phone's recovery removed it).
    let mut sent_again = sent_from_here.clone();
    sent_again.id = "01900000-0000-7000-8000-0000000000e5".into();
    sent_again.server_status = None;
    let held = vec![
        taken_here.clone(),
        from_elsewhere.clone(),
        still_there.clone(),
        other_visit,
        sent_from_here.clone(),
        sent_again.clone(),
    ];
    // The server lists only `still_there`. The photo taken here and not yet
    // taken by the server is gone from it too, but only this phone has its
    // bytes (its record may still be on its way): it stays.
    let mut server = crate::field::visits::resend::tests::server_copy(
        &[],
        crate::model::ReviewState::InProgress,
    );
    server.id = taken_here.visit_id.clone();
    server.photos = vec![record_of(&still_there, "", None)];
    let mut local = LocalVisit::new(
        server.id.clone(),
        "khuyen-cong".into(),
        1,
        None,
        None,
        "ksv1".into(),
        1_000,
    );
    let ids = |v: Vec<&LocalPhoto>| v.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(removed_elsewhere(&held, &server, &local)),
        vec![
            from_elsewhere.id.clone(),
            sent_from_here.id.clone(),
            sent_again.id.clone()
        ]
    );
    // Still named by an answer here (a draft or a save not yet sent): kept.
    local.answers.insert(
        "evidence_photos".into(),
        serde_json::json!([
            from_elsewhere.id.clone(),
            sent_from_here.id.clone(),
            sent_again.id.clone()
        ]),
    );
    assert!(removed_elsewhere(&held, &server, &local).is_empty());
    // Kept in a refused visit's answer, they are unlisted there, and then
    // leave; the photo taken here and the one still there stay listed.
    local.saved = local.answers.clone();
    local.answers.insert(
        "evidence_photos".into(),
        serde_json::json!([
            taken_here.id.clone(),
            from_elsewhere.id.clone(),
            still_there.id.clone(),
            sent_from_here.id.clone()
        ]),
    );
    unlist_removed_elsewhere(&mut local, &held, &server);
    assert_eq!(
        local.answers["evidence_photos"],
        serde_json::json!([taken_here.id.clone(), still_there.id.clone()])
    );
    assert!(
        !local.saved.contains_key("evidence_photos"),
        "an emptied list goes"
    );
    assert_eq!(
        ids(removed_elsewhere(&held, &server, &local)),
        vec![
            from_elsewhere.id.clone(),
            sent_from_here.id.clone(),
            sent_again.id.clone()
        ]
    );
}
