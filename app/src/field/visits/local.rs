//! The phone's copy of a visit and the pure logic around it: turning an explicit
//! save into mutations, and taking in what the server sent. Plain types, no
//! browser APIs, so the same code runs in the wasm app and in native tests.
//!
//! One file (about 1,640 lines, half of it tests): the draft, its save into outbox mutations and the server copy it absorbs are one state machine; its invariants are tested together.

use crate::error::ErrorBody;
use crate::model::{ReviewEvent, ReviewState, VisitRecord, VisitRow};
use crate::sync::{Entity, Hlc, Mutation, MutationKind, MutationResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Where a visit stands between phone and server (phone only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Edited locally, never explicitly saved.
    #[default]
    Draft,
    /// Saved; mutations wait in the outbox.
    Queued,
    /// Everything saved has reached the server.
    Synced,
    /// The server refused a change; the reason is on the visit.
    Refused,
    /// The server kept another phone's value for a field this phone changed.
    Conflict,
}

impl SyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::Draft => "draft",
            SyncState::Queued => "queued",
            SyncState::Synced => "synced",
            SyncState::Refused => "refused",
            SyncState::Conflict => "conflict",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalVisit {
    pub id: String,
    pub form_id: String,
    pub form_version: i32,
    pub proposal_id: Option<String>,
    pub facility_id: Option<String>,
    /// The user who owns it (a shared phone keeps each user's visits apart).
    pub owner_username: String,
    /// The draft: what the inspector sees, autosaved.
    pub answers: BTreeMap<String, Value>,
    /// The answers as of the last explicit save (what the outbox carries).
    pub saved: BTreeMap<String, Value>,
    /// Per field, the server version this phone last saw: the base of its edits.
    pub versions: BTreeMap<String, i64>,
    /// Whether the header has gone into a mutation yet.
    pub header_sent: bool,
    pub sync_state: SyncState,
    pub refusal: Option<ErrorBody>,
    /// Fields two phones edited at once that no supervisor has decided yet:
    /// first from a push's answer (this phone's value lost), then from every
    /// pull (the server's list, whichever phone's value lost).
    #[serde(default)]
    pub lost_fields: Vec<String>,
    pub review_state: ReviewState,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The field in view when the draft was last written, to reopen it there.
    pub focus: Option<String>,
    /// Repeat-group rows (child records with their own IDs), in the order added.
    #[serde(default)]
    pub rows: Vec<LocalRow>,
    /// The supervisor's review transitions and comments, from the server.
    #[serde(default)]
    pub review: Vec<ReviewEvent>,
    /// Finalize was pressed; the submit command waits in the outbox.
    #[serde(default)]
    pub submit_queued: bool,
    /// A facility found on site (not in the register): its fields, sent as a
    /// facility record before the visit's header at the first save.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub new_facility: BTreeMap<String, Value>,
    #[serde(default)]
    pub facility_sent: bool,
    /// Its survey year is closed: kept for reading, no longer changed.
    #[serde(default)]
    pub year_closed: bool,
    /// The inspector finalized it and the server refused that save: sent
    /// again (from a backup), it goes finalized, as the inspector left it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub finalize_refused: bool,
    /// Its proposal's title as last seen here: the home list still names the
    /// visit once the proposal has left the phone (its year closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_title: Option<String>,
    /// Started on this phone (`Some(true)`) or first heard of from a pull
    /// (`Some(false)`); `None` for a visit stored before this was kept. A
    /// supervisor's phone holds everyone's visits: after a restore it sends
    /// again only its own (`resend`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_here: Option<bool>,
    /// Per key of `saved` (or cleared from it), when that value was written:
    /// this phone's save, or the server's time for a value a pull brought.
    /// After a restore, versions start again from the backup's; these times
    /// tell whose answer is the later (`resend`). Empty for a visit stored
    /// before they were kept: the versions decide then.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub written: BTreeMap<String, Hlc>,
    /// Photos the inspector removed from this visit on this phone. After a
    /// restore only these go again as removals: a photo the restored server
    /// holds that this phone never knew (another phone's, sent again by that
    /// phone's recovery) is not one it removed (`resend::photos_removed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_photos: Vec<String>,
    /// Of `removed_photos`, those the server still held at the last pull. A
    /// removal refused with the visit (finalized on another phone) goes
    /// again when the refused visit is saved after a send-back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removals_not_taken: Vec<String>,
    /// Rows this phone deleted that the server may still hold: a deletion
    /// refused with the visit goes again after a send-back (`refused`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_rows: Vec<String>,
    /// The phone's records of `removals_not_taken`, made from the server's:
    /// a discard of the kept changes shows those photos again, offline
    /// (`refused::discard`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_held: Vec<crate::field::photos::local::LocalPhoto>,
    /// The device's last queued seq when the inspector discarded the kept
    /// changes: refusals of what a logout or backup had queued before are
    /// about changes the visit no longer holds (`after_push`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discarded_through: Option<i64>,
}

/// One row of a repeat group on the phone: a draft like the visit's own answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalRow {
    pub id: String,
    pub group: String,
    pub answers: BTreeMap<String, Value>,
    pub saved: BTreeMap<String, Value>,
    pub versions: BTreeMap<String, i64>,
    /// Whether the row's header (visit_id, group) has gone into a mutation.
    pub header_sent: bool,
    /// Removed by the inspector; becomes a delete at the next save.
    pub deleted: bool,
    pub created_at_ms: i64,
    /// When each saved value was written, as for the visit's own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub written: BTreeMap<String, Hlc>,
}

impl LocalRow {
    pub fn new(id: String, group: String, now_ms: i64) -> Self {
        Self {
            id,
            group,
            answers: BTreeMap::new(),
            saved: BTreeMap::new(),
            versions: BTreeMap::new(),
            header_sent: false,
            deleted: false,
            created_at_ms: now_ms,
            written: BTreeMap::new(),
        }
    }

    fn unsaved(&self) -> bool {
        if self.deleted {
            self.header_sent
        } else {
            self.answers != self.saved || !self.header_sent
        }
    }
}

impl LocalVisit {
    pub fn new(
        id: String,
        form_id: String,
        form_version: i32,
        proposal_id: Option<String>,
        facility_id: Option<String>,
        owner: String,
        now_ms: i64,
    ) -> Self {
        Self {
            id,
            form_id,
            form_version,
            proposal_id,
            facility_id,
            owner_username: owner,
            answers: BTreeMap::new(),
            saved: BTreeMap::new(),
            versions: BTreeMap::new(),
            header_sent: false,
            sync_state: SyncState::Draft,
            refusal: None,
            lost_fields: Vec::new(),
            review_state: ReviewState::InProgress,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            focus: None,
            rows: Vec::new(),
            review: Vec::new(),
            submit_queued: false,
            new_facility: BTreeMap::new(),
            facility_sent: false,
            year_closed: false,
            finalize_refused: false,
            proposal_title: None,
            made_here: Some(true),
            written: BTreeMap::new(),
            removed_photos: Vec::new(),
            removals_not_taken: Vec::new(),
            removed_rows: Vec::new(),
            removed_held: Vec::new(),
            discarded_through: None,
        }
    }

    /// Whether the draft holds changes that no explicit save has captured.
    pub fn has_unsaved_changes(&self) -> bool {
        self.answers != self.saved
            || !self.header_sent
            || self.rows.iter().any(LocalRow::unsaved)
            || (!self.new_facility.is_empty() && !self.facility_sent)
    }

    /// Live rows per repeat group, for the finalize check.
    pub fn row_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for row in self.rows.iter().filter(|r| !r.deleted) {
            *counts.entry(row.group.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Whether the phone may still change it: the server refuses edits to a visit
    /// that is submitted, approved or rejected, or whose survey year is closed.
    pub fn editable(&self) -> bool {
        !self.submit_queued
            && !self.year_closed
            && matches!(
                self.review_state,
                ReviewState::InProgress | ReviewState::NeedsChanges
            )
    }

    /// Whether a draft kept in localStorage as its page went away
    /// (`field::unloaded`, stamped with the time it was kept) holds something
    /// this stored copy lacks. Not when the visit has left the inspector's
    /// hands, nor when this phone wrote a draft or a save after keeping it (the
    /// write begun as the page went, if it landed after all, or a later
    /// autosave): that write holds the kept text or newer, and the kept copy
    /// must not undo it. A pull does not stamp `updated_at_ms`, so a
    /// supervisor's change pulled meanwhile does not hide a kept draft.
    pub fn lacks_kept_draft(&self, kept: &LocalVisit) -> bool {
        self.editable() && self.updated_at_ms < kept.updated_at_ms
    }

    /// Whether its refusal has this code.
    pub fn refused_for(&self, code: &str) -> bool {
        self.refusal.as_ref().is_some_and(|r| r.code == code)
    }

    /// The supervisor's latest send-back, when the visit waits for changes.
    pub fn send_back(&self) -> Option<&ReviewEvent> {
        (self.review_state == ReviewState::NeedsChanges)
            .then(|| {
                self.review
                    .iter()
                    .rev()
                    .find(|e| e.to == ReviewState::NeedsChanges)
            })
            .flatten()
    }
}

/// The draft on screen written over the stored copy: only what the inspector
/// edits (answers, rows' answers, added and removed rows, the field in view)
/// comes from the screen; versions and sync state stay as the sync engine left them.
///
/// An answer saved into the stored copy by another writer since the screen
/// last saw a save (the photo field finishing after its page was left, a pull
/// taking in another phone's value) stands, unless the screen changed that
/// same answer: the screen's copy of it is only older, not an edit. Rows'
/// answers are merged the same way.
pub fn take_draft(mut stored: LocalVisit, screen: &LocalVisit) -> LocalVisit {
    stored.answers = merge_answers(
        (&screen.answers, &screen.saved),
        (&stored.answers, &stored.saved),
    );
    stored.focus = screen.focus.clone();
    for id in &screen.removed_photos {
        if !stored.removed_photos.contains(id) {
            stored.removed_photos.push(id.clone());
        }
    }
    let mut rows = Vec::with_capacity(screen.rows.len());
    for row in &screen.rows {
        match stored.rows.iter().find(|r| r.id == row.id) {
            Some(kept) => {
                let mut kept = kept.clone();
                kept.answers =
                    merge_answers((&row.answers, &row.saved), (&kept.answers, &kept.saved));
                kept.deleted = row.deleted;
                rows.push(kept);
            }
            None => rows.push(row.clone()),
        }
    }
    // A row the screen never saw (absorbed from the server meanwhile) stays.
    for row in &stored.rows {
        if !screen.rows.iter().any(|r| r.id == row.id) {
            rows.push(row.clone());
        }
    }
    stored.rows = rows;
    stored
}

/// A mutation waiting to be pushed, with what the phone needs to route its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub device_id: String,
    pub visit_id: String,
    pub mutation: Mutation,
}

impl OutboxEntry {
    /// Sorts by seq within a device (zero-padded so string order is seq order).
    pub fn key(&self) -> String {
        outbox_key(&self.device_id, self.mutation.seq)
    }
}

/// The refusal a phone gives itself after a restore, for corrections the
/// restored server holds the visit finalized against (`resend`).
pub const RESTORED_LOCKED: &str = "sync.restored_before_send_back";

/// The server's refusal of a change to a visit no longer the inspector's to
/// change (finalized on another phone, or decided).
pub const LOCKED: &str = "visit.locked";

pub fn outbox_key(device_id: &str, seq: i64) -> String {
    format!("{device_id}:{seq:012}")
}

/// An explicit save: one mutation per changed field of the visit and of each
/// repeat row (the first save of each also carries its header), a delete per
/// removed row, and with `submit` the finalize command last, numbered from `next_seq`. Returns the mutations and the
/// updated visit; the caller writes both and the new seq counter in ONE
/// transaction, so a crash leaves either all of it or none.
pub fn save(
    visit: &LocalVisit,
    device_id: &str,
    next_seq: i64,
    clock: &mut Hlc,
    now_ms: i64,
) -> (LocalVisit, Vec<OutboxEntry>) {
    save_with(visit, device_id, next_seq, clock, now_ms, false)
}

pub fn save_with(
    visit: &LocalVisit,
    device_id: &str,
    next_seq: i64,
    clock: &mut Hlc,
    now_ms: i64,
    submit: bool,
) -> (LocalVisit, Vec<OutboxEntry>) {
    let mut out = Vec::new();
    let mut seq = next_seq;
    let mut header_fields = BTreeMap::new();
    if !visit.header_sent {
        header_fields.insert("form_id".to_string(), Value::from(visit.form_id.clone()));
        header_fields.insert("form_version".to_string(), Value::from(visit.form_version));
        if let Some(p) = &visit.proposal_id {
            header_fields.insert("proposal_id".to_string(), Value::from(p.clone()));
        }
        if let Some(f) = &visit.facility_id {
            header_fields.insert("facility_id".to_string(), Value::from(f.clone()));
        }
        header_fields.insert("started_at".to_string(), Value::from(visit.created_at_ms));
    }
    let mut changed: Vec<(&String, Value)> = Vec::new();
    for (key, value) in &visit.answers {
        if visit.saved.get(key) != Some(value) {
            changed.push((key, value.clone()));
        }
    }
    for key in visit.saved.keys() {
        if !visit.answers.contains_key(key) {
            changed.push((key, Value::Null));
        }
    }
    let mut push_one = |out: &mut Vec<OutboxEntry>,
                        entity: Entity,
                        kind: MutationKind,
                        record_id: &str,
                        fields: BTreeMap<String, Value>,
                        base_version: i64,
                        seq: &mut i64| {
        out.push(OutboxEntry {
            device_id: device_id.to_string(),
            visit_id: visit.id.clone(),
            mutation: Mutation {
                seq: *seq,
                mutation_id: new_uuid_v7(now_ms),
                kind,
                entity,
                record_id: uuid::Uuid::parse_str(record_id).unwrap_or_else(|_| new_uuid_v7(now_ms)),
                fields,
                hlc: clock.tick(now_ms),
                base_version,
            },
        });
        *seq += 1;
    };
    if !visit.new_facility.is_empty() && !visit.facility_sent {
        if let Some(facility) = &visit.facility_id {
            push_one(
                &mut out,
                Entity::Facility,
                MutationKind::Upsert,
                facility,
                visit.new_facility.clone(),
                0,
                &mut seq,
            );
        }
    }
    let mut push = |out: &mut Vec<OutboxEntry>,
                    fields: BTreeMap<String, Value>,
                    base_version: i64,
                    seq: &mut i64| {
        push_one(
            out,
            Entity::Visit,
            MutationKind::Upsert,
            &visit.id,
            fields,
            base_version,
            seq,
        )
    };
    if changed.is_empty() && !header_fields.is_empty() {
        push(&mut out, header_fields.clone(), 0, &mut seq);
        header_fields.clear();
    }
    // When each changed value was written: its mutation's stamp.
    let mut written: Vec<(Option<&str>, &String, Hlc)> = Vec::new();
    for (key, value) in changed {
        let mut fields = std::mem::take(&mut header_fields);
        fields.insert(key.clone(), value);
        let base = visit.versions.get(key).copied().unwrap_or(0);
        push(&mut out, fields, base, &mut seq);
        written.extend(out.last().map(|e| (None, key, e.mutation.hlc)));
    }
    for row in &visit.rows {
        if row.deleted {
            if row.header_sent {
                push_one(
                    &mut out,
                    Entity::VisitRow,
                    MutationKind::Delete,
                    &row.id,
                    BTreeMap::new(),
                    0,
                    &mut seq,
                );
            }
            continue;
        }
        let mut header = BTreeMap::new();
        if !row.header_sent {
            header.insert("visit_id".to_string(), Value::from(visit.id.clone()));
            header.insert("group".to_string(), Value::from(row.group.clone()));
        }
        let mut changed: Vec<(&String, Value)> = row
            .answers
            .iter()
            .filter(|(k, v)| row.saved.get(*k) != Some(*v))
            .map(|(k, v)| (k, v.clone()))
            .collect();
        for key in row.saved.keys() {
            if !row.answers.contains_key(key) {
                changed.push((key, Value::Null));
            }
        }
        if changed.is_empty() && !header.is_empty() {
            push_one(
                &mut out,
                Entity::VisitRow,
                MutationKind::Upsert,
                &row.id,
                std::mem::take(&mut header),
                0,
                &mut seq,
            );
        }
        for (key, value) in changed {
            let mut fields = std::mem::take(&mut header);
            fields.insert(key.clone(), value);
            let base = row.versions.get(key).copied().unwrap_or(0);
            push_one(
                &mut out,
                Entity::VisitRow,
                MutationKind::Upsert,
                &row.id,
                fields,
                base,
                &mut seq,
            );
            written.extend(
                out.last()
                    .map(|e| (Some(row.id.as_str()), key, e.mutation.hlc)),
            );
        }
    }
    if submit {
        push_one(
            &mut out,
            Entity::Visit,
            MutationKind::Submit,
            &visit.id,
            BTreeMap::new(),
            0,
            &mut seq,
        );
    }
    let mut saved = visit.clone();
    saved.saved = visit.answers.clone();
    saved.header_sent = true;
    saved.updated_at_ms = now_ms.max(visit.updated_at_ms + 1);
    for row in visit.rows.iter().filter(|r| r.deleted && r.header_sent) {
        if !saved.removed_rows.contains(&row.id) {
            saved.removed_rows.push(row.id.clone());
        }
    }
    saved.rows.retain(|r| !r.deleted);
    if saved.facility_id.is_some() {
        saved.facility_sent = true;
    }
    for row in &mut saved.rows {
        row.saved = row.answers.clone();
        row.header_sent = true;
    }
    for (row_id, key, hlc) in written {
        let times = match row_id {
            None => Some(&mut saved.written),
            Some(id) => saved
                .rows
                .iter_mut()
                .find(|r| r.id == id)
                .map(|r| &mut r.written),
        };
        if let Some(times) = times {
            times.insert(key.clone(), hlc);
        }
    }
    if submit {
        saved.submit_queued = true;
    }
    if !out.is_empty() {
        saved.sync_state = SyncState::Queued;
        saved.refusal = None;
        saved.lost_fields.clear();
        saved.finalize_refused = false;
    }
    (saved, out)
}

/// What a push response settles: the outbox entries it answered (to delete) and,
/// per visit, the results that concern it. Results for seqs not in `sent` are
/// ignored: they cannot be routed.
pub fn settle_push<'a>(
    sent: &'a [OutboxEntry],
    results: &'a [MutationResult],
) -> (
    Vec<&'a OutboxEntry>,
    BTreeMap<String, Vec<&'a MutationResult>>,
) {
    let by_seq: BTreeMap<i64, &OutboxEntry> = sent.iter().map(|e| (e.mutation.seq, e)).collect();
    let mut done = Vec::new();
    let mut per_visit: BTreeMap<String, Vec<&MutationResult>> = BTreeMap::new();
    for result in results {
        if let Some(entry) = by_seq.get(&result.seq()) {
            done.push(*entry);
            per_visit
                .entry(entry.visit_id.clone())
                .or_default()
                .push(result);
        }
    }
    (done, per_visit)
}

/// A visit after the server answered some of its mutations. A refusal shows its
/// reason; a field that lost a concurrent edit marks a conflict; otherwise the
/// visit is synced once none of its mutations is left in the outbox.
pub fn after_push(
    mut visit: LocalVisit,
    results: &[&MutationResult],
    still_queued: bool,
) -> LocalVisit {
    for result in results {
        match result {
            // Queued before a discard: the visit holds it no more.
            MutationResult::Refused { seq, .. }
                if visit
                    .discarded_through
                    .is_some_and(|through| *seq <= through) => {}
            MutationResult::Refused { error, .. } => {
                visit.sync_state = SyncState::Refused;
                // The first refusal since the save is the cause: the changes
                // after a refused header are refused only for lack of it
                // ("visit.header_missing", "visit.unknown"), which hid why.
                if visit.refusal.is_none() {
                    visit.refusal = Some(error.clone());
                }
                // The finalize was refused with it: the inspector can change
                // the visit and finalize again once the cause is gone (a
                // closed year reopened, a district given back).
                if visit.submit_queued {
                    visit.finalize_refused = true;
                }
                visit.submit_queued = false;
                // No pull has shown the visit on the server yet, so the refused
                // change may be the one that carried its header (a bad first
                // answer refuses the whole creation): the next save sends the
                // header and every answer again, and fixing the answer is then
                // enough. A visit the server holds just resends what it has.
                if visit.versions.is_empty() {
                    visit.header_sent = false;
                    visit.saved.clear();
                }
                for row in visit.rows.iter_mut().filter(|r| r.versions.is_empty()) {
                    row.header_sent = false;
                    row.saved.clear();
                }
            }
            MutationResult::Applied { lost, .. } if !lost.is_empty() => {
                for field in lost {
                    if !visit.lost_fields.contains(field) {
                        visit.lost_fields.push(field.clone());
                    }
                }
            }
            _ => {}
        }
    }
    if visit.sync_state == SyncState::Refused {
        return visit;
    }
    if !visit.lost_fields.is_empty() {
        visit.sync_state = SyncState::Conflict;
    } else if visit.sync_state == SyncState::Queued && !still_queued {
        visit.sync_state = SyncState::Synced;
    }
    visit
}

/// Takes in the server's copy of a visit. Review state always comes from the
/// server; answers only when this phone has nothing unsent for the visit, so a
/// pull can never overwrite what the inspector has not yet pushed. Versions
/// come with the values they number (`keep_seen_versions`).
pub fn absorb_server_copy(
    local: Option<LocalVisit>,
    server: &VisitRecord,
    owner_username: &str,
    pending: bool,
) -> LocalVisit {
    let mut visit = local.unwrap_or_else(|| {
        let mut v = LocalVisit::new(
            server.id.clone(),
            server.form_id.clone(),
            server.form_version,
            server.proposal_id.clone(),
            server.facility_id.clone(),
            owner_username.to_string(),
            server.created_at_ms,
        );
        // Made elsewhere (another phone, an imported backup): what the server has.
        v.header_sent = true;
        v.sync_state = SyncState::Synced;
        v.made_here = Some(false);
        v
    });
    let seen = Seen::of(&visit);
    visit.versions = server.versions.clone();
    visit.review_state = server.review_state;
    visit.review = server.review.clone();
    visit.year_closed = server.year_closed;
    visit.header_sent = true;
    if !pending {
        // The submit command has been answered (accepted or refused).
        visit.submit_queued = false;
    }
    for row in &mut visit.rows {
        if let Some(theirs) = server.rows.iter().find(|r| r.id == row.id) {
            row.versions = theirs.versions.clone();
            row.header_sent = true;
        }
    }
    // Deleted there: nothing left to send again.
    visit
        .removed_rows
        .retain(|id| server.rows.iter().any(|r| r.id == *id));
    // Changes the server refused are kept, not overwritten by its copy:
    // rebased on what it holds, they are unsent changes that the next save
    // sends again (after a closed year reopens, after a send-back). A visit
    // another phone finalized meanwhile, or a supervisor decided, keeps them
    // in view, marked not sent, while they hold anything the server lacks:
    // dropping them would lose photos and answers taken on site for being
    // late (`refused`).
    if !pending && visit.sync_state == SyncState::Refused {
        let open = matches!(
            server.review_state,
            ReviewState::InProgress | ReviewState::NeedsChanges
        );
        if open || visit.refused_for(LOCKED) {
            let mut kept = visit.clone();
            super::refused::rebase(&mut kept, server);
            if open || super::refused::holds_more_than(&kept, server) {
                return kept;
            }
        }
    }
    // Corrections a restored server holds no send-back for: kept in view
    // until a supervisor sends the visit back again (`resend`).
    if !pending && visit.sync_state == SyncState::Refused && visit.refused_for(RESTORED_LOCKED) {
        return visit;
    }
    if !pending && visit.sync_state == SyncState::Refused {
        // Submitted or decided on the server meanwhile: its copy is the visit,
        // and the refused values would only show answers it never took.
        visit.answers = visit.saved.clone();
        for row in &mut visit.rows {
            row.answers = row.saved.clone();
        }
        visit.sync_state = SyncState::Synced;
        visit.refusal = None;
    }
    let untouched = visit.answers == visit.saved && !visit.rows.iter().any(LocalRow::unsaved);
    if !pending && untouched {
        visit.rows = server.rows.iter().map(row_from_server).collect();
    }
    if !pending && untouched {
        let answers = given(&server.answers);
        if answers != visit.saved && visit.sync_state == SyncState::Synced {
            // Another phone's or a supervisor's value won on the server.
            visit.sync_state = SyncState::Synced;
        }
        visit.answers = answers.clone();
        visit.saved = answers;
        visit.written = server.written.clone();
    } else {
        if !pending {
            take_answers_left_alone(&mut visit, server);
        }
        keep_seen_versions(&mut visit, server, &seen);
    }
    if !pending && visit.sync_state == SyncState::Queued {
        visit.sync_state = SyncState::Synced;
    }
    if !pending {
        // The server's word on what is undecided. A push tells only the phone
        // whose value lost, and only if it pushed last: under the HLC order an
        // edit pushed later can win, and the phone that pushed first learns
        // from this list. A decided field leaves it, with the decided value.
        visit.lost_fields = server.open_conflicts.clone();
        if visit.lost_fields.is_empty() && visit.sync_state == SyncState::Conflict {
            visit.sync_state = SyncState::Synced;
        } else if !visit.lost_fields.is_empty() && visit.sync_state == SyncState::Synced {
            visit.sync_state = SyncState::Conflict;
        }
    }
    visit
}

/// A pull into a visit with a draft open (typed, not saved) and nothing
/// queued: the server's values come in for the answers the draft left
/// alone, so a supervisor's decision or another phone's answer shows while
/// the inspector types elsewhere; the typed answers stay as typed. (With
/// changes queued, `saved` holds values the server may not have yet, and
/// nothing is taken until they are answered.)
fn take_answers_left_alone(visit: &mut LocalVisit, server: &VisitRecord) {
    let theirs = given(&server.answers);
    let keys: Vec<String> = theirs.keys().chain(visit.saved.keys()).cloned().collect();
    for key in keys {
        if visit.answers.get(&key) != visit.saved.get(&key) {
            continue;
        }
        match theirs.get(&key) {
            Some(value) => {
                visit.answers.insert(key.clone(), value.clone());
                visit.saved.insert(key.clone(), value.clone());
            }
            None => {
                visit.answers.remove(&key);
                visit.saved.remove(&key);
            }
        }
        match server.written.get(&key) {
            Some(at) => visit.written.insert(key, *at),
            None => visit.written.remove(&key),
        };
    }
}

/// The versions a phone's copy held before a pull: the versions of values it
/// has taken in (or written itself), per field and per row.
struct Seen {
    visit: BTreeMap<String, i64>,
    rows: Vec<(String, BTreeMap<String, i64>)>,
}

impl Seen {
    fn of(visit: &LocalVisit) -> Self {
        Self {
            visit: visit.versions.clone(),
            rows: visit
                .rows
                .iter()
                .map(|r| (r.id.clone(), r.versions.clone()))
                .collect(),
        }
    }
}

/// After a pull that left the answers alone (something unsent or unsaved):
/// a field whose value there is not the one this phone holds as saved keeps
/// the version this phone saw (0 for none). An edit of it then reaches the
/// server as concurrent with the value it never showed, which is kept as a
/// conflict; with the server's version it would look made on top of that
/// value and overwrite it silently (another phone's answer, a supervisor's
/// decision, a photo another phone added to the list).
fn keep_seen_versions(visit: &mut LocalVisit, server: &VisitRecord, seen: &Seen) {
    let theirs = given(&server.answers);
    for (key, version) in &mut visit.versions {
        if theirs.get(key) != visit.saved.get(key) {
            *version = seen.visit.get(key).copied().unwrap_or(0);
        }
    }
    for row in &mut visit.rows {
        let Some(there) = server.rows.iter().find(|r| r.id == row.id) else {
            continue;
        };
        let theirs = given(&there.answers);
        let before = seen
            .rows
            .iter()
            .find(|(id, _)| *id == row.id)
            .map(|(_, v)| v);
        for (key, version) in &mut row.versions {
            if theirs.get(key) != row.saved.get(key) {
                *version = before.and_then(|b| b.get(key)).copied().unwrap_or(0);
            }
        }
    }
}

/// The screen's answers, except where the stored copy's saved value moved on
/// from what the screen last saw saved and the screen left that answer alone.
/// Each side is (answers, saved).
fn merge_answers(
    (screen, screen_saved): (&BTreeMap<String, Value>, &BTreeMap<String, Value>),
    (stored, stored_saved): (&BTreeMap<String, Value>, &BTreeMap<String, Value>),
) -> BTreeMap<String, Value> {
    let mut answers = screen.clone();
    // Each key once; no set type, which would add its code to the phone's bundle.
    let keys = stored_saved.keys().chain(
        screen_saved
            .keys()
            .filter(|k| !stored_saved.contains_key(*k)),
    );
    for key in keys {
        let base = screen_saved.get(key);
        if stored_saved.get(key) != base && screen.get(key) == base {
            match stored.get(key) {
                Some(theirs) => answers.insert(key.clone(), theirs.clone()),
                None => answers.remove(key),
            };
        }
    }
    answers
}

/// The server's answers that hold a value (a cleared answer is null there,
/// absent on the phone).
pub(super) fn given(answers: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    answers
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(super) fn row_from_server(row: &VisitRow) -> LocalRow {
    let answers = given(&row.answers);
    LocalRow {
        id: row.id.clone(),
        group: row.group.clone(),
        saved: answers.clone(),
        answers,
        versions: row.versions.clone(),
        header_sent: true,
        deleted: false,
        created_at_ms: row.created_at_ms,
        written: row.written.clone(),
    }
}

/// Whether a full resync (after the server answered 410) keeps this local visit.
/// Only a visit the server fully has may go: it comes back in the full pull if it
/// still exists. Anything unsent, unsaved, refused or in conflict stays.
pub fn keep_on_resync(visit: &LocalVisit, pending: bool) -> bool {
    pending || visit.has_unsaved_changes() || visit.sync_state != SyncState::Synced
}

pub use crate::sync::new_uuid_v7;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn visit() -> LocalVisit {
        LocalVisit::new(
            "019000000000-7000-8000-000000000001".replace("019000000000-", "01900000-0000-"),
            "khuyen-cong".into(),
            1,
            Some("p1".into()),
            None,
            "ksv1".into(),
            1_000,
        )
    }

    /// The server's copy of `v` as a pull brings it: sent back for changes,
    /// with `workforce` at `workforce_version`.
    fn server_copy(v: &LocalVisit, workforce: Value, workforce_version: i64) -> VisitRecord {
        VisitRecord {
            id: v.id.clone(),
            form_id: v.form_id.clone(),
            form_version: 1,
            proposal_id: None,
            facility_id: None,
            owner_id: "u".into(),
            review_state: ReviewState::NeedsChanges,
            answers: [("workforce".to_string(), workforce)].into(),
            versions: [("workforce".to_string(), workforce_version)].into(),
            created_at_ms: 0,
            received_at_ms: 0,
            rows: vec![],
            review: vec![],
            photos: vec![],
            year_closed: false,
            open_conflicts: vec![],
            written: Default::default(),
        }
    }

    #[test]
    fn a_kept_draft_applies_only_while_no_later_write_landed_and_the_visit_is_editable() {
        let stored = visit(); // last written at 1_000
        let mut kept = visit();
        kept.answers.insert("main_products".into(), json!("Gốm"));
        kept.updated_at_ms = 1_500;
        assert!(
            stored.lacks_kept_draft(&kept),
            "the reload dropped the write"
        );

        let mut written_after = stored.clone();
        written_after.updated_at_ms = 1_500;
        assert!(
            !written_after.lacks_kept_draft(&kept),
            "a write at the same ms"
        );
        written_after.updated_at_ms = 1_600;
        assert!(
            !written_after.lacks_kept_draft(&kept),
            "a later autosave holds newer text"
        );

        let mut submitted = stored.clone();
        submitted.submit_queued = true;
        assert!(!submitted.lacks_kept_draft(&kept));
        let mut approved = stored.clone();
        approved.review_state = ReviewState::Approved;
        assert!(!approved.lacks_kept_draft(&kept));

        // A pull that took in a supervisor's change does not stamp the time.
        let server = server_copy(&stored, json!(25), 2);
        let pulled = absorb_server_copy(Some(stored.clone()), &server, "ksv1", false);
        assert_eq!(pulled.answers["workforce"], json!(25));
        assert!(pulled.lacks_kept_draft(&kept));
    }

    #[test]
    fn the_first_save_carries_the_header_and_one_mutation_per_field() {
        let mut v = visit();
        v.answers.insert("workforce".into(), json!(25));
        v.answers.insert("main_products".into(), json!("Nồi hơi"));
        let mut clock = Hlc::default();
        let (saved, out) = save(&v, "dev", 7, &mut clock, 2_000);
        assert_eq!(
            out.iter().map(|e| e.mutation.seq).collect::<Vec<_>>(),
            vec![7, 8]
        );
        assert_eq!(out[0].mutation.fields["form_id"], json!("khuyen-cong"));
        assert!(!out[1].mutation.fields.contains_key("form_id"));
        assert_eq!(saved.sync_state, SyncState::Queued);
        assert!(!saved.has_unsaved_changes());
        assert!(out[0].mutation.hlc < out[1].mutation.hlc);
    }

    #[test]
    fn saving_again_without_changes_makes_no_mutations() {
        let mut v = visit();
        v.answers.insert("workforce".into(), json!(25));
        let mut clock = Hlc::default();
        let (saved, _) = save(&v, "dev", 1, &mut clock, 2_000);
        let (_, again) = save(&saved, "dev", 2, &mut clock, 3_000);
        assert!(again.is_empty());
    }

    #[test]
    fn a_cleared_answer_becomes_null_with_its_base_version() {
        let mut v = visit();
        v.header_sent = true;
        v.saved.insert("workforce".into(), json!(25));
        v.versions.insert("workforce".into(), 3);
        let mut clock = Hlc::default();
        let (_, out) = save(&v, "dev", 1, &mut clock, 2_000);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].mutation.fields["workforce"], Value::Null);
        assert_eq!(out[0].mutation.base_version, 3);
    }

    #[test]
    fn a_pull_never_overwrites_unsent_answers() {
        let mut v = visit();
        v.header_sent = true;
        v.answers.insert("workforce".into(), json!(30));
        let server = server_copy(&v, json!(25), 2);
        let fresh = absorb_server_copy(None, &server, "ksv1", false);
        assert_eq!(
            fresh.sync_state,
            SyncState::Synced,
            "a visit made elsewhere is synced, not a draft"
        );
        assert_eq!(fresh.answers["workforce"], json!(25));
        assert!(!fresh.has_unsaved_changes());
        let merged = absorb_server_copy(Some(v), &server, "ksv1", true);
        assert_eq!(merged.answers["workforce"], json!(30));
        // Its 25 was not taken in: the phone has seen no version of it.
        assert_eq!(merged.versions["workforce"], 0);
        assert_eq!(merged.review_state, ReviewState::NeedsChanges);
    }

    #[test]
    fn a_visit_of_a_closed_year_is_kept_for_reading_only() {
        let mut v = visit();
        v.header_sent = true;
        v.answers.insert("workforce".into(), json!(30));
        v.saved = v.answers.clone();
        assert!(v.editable());
        let server = VisitRecord {
            review_state: ReviewState::InProgress,
            year_closed: true,
            ..server_copy(&v, json!(30), 1)
        };
        let closed = absorb_server_copy(Some(v), &server, "ksv1", false);
        assert!(!closed.editable());
        assert_eq!(closed.answers["workforce"], json!(30), "its answers stay");
        let reopened = absorb_server_copy(
            Some(closed),
            &VisitRecord {
                year_closed: false,
                ..server
            },
            "ksv1",
            false,
        );
        assert!(reopened.editable());
    }

    #[test]
    fn push_results_route_to_their_visits() {
        let mut v = visit();
        v.answers.insert("workforce".into(), json!(25));
        v.answers.insert("main_products".into(), json!("Nồi"));
        let mut clock = Hlc::default();
        let (saved, out) = save(&v, "dev", 1, &mut clock, 2_000);
        let results = vec![
            MutationResult::Applied {
                seq: 1,
                mutation_id: out[0].mutation.mutation_id,
                lost: vec![],
                stamped: None,
            },
            MutationResult::Applied {
                seq: 2,
                mutation_id: out[1].mutation.mutation_id,
                lost: vec!["workforce".into()],
                stamped: None,
            },
            MutationResult::Duplicate {
                seq: 99,
                mutation_id: out[1].mutation.mutation_id,
            },
        ];
        let (done, per_visit) = settle_push(&out, &results);
        assert_eq!(done.len(), 2, "a result for an unknown seq settles nothing");
        let after = after_push(saved.clone(), &per_visit[&saved.id], false);
        assert_eq!(after.sync_state, SyncState::Conflict);
        assert_eq!(after.lost_fields, vec!["workforce".to_string()]);

        let clean = after_push(saved.clone(), &per_visit[&saved.id][..1], true);
        assert_eq!(
            clean.sync_state,
            SyncState::Queued,
            "still queued: not synced yet"
        );
        let clean = after_push(saved.clone(), &per_visit[&saved.id][..1], false);
        assert_eq!(clean.sync_state, SyncState::Synced);

        let refused = MutationResult::Refused {
            seq: 1,
            mutation_id: out[0].mutation.mutation_id,
            error: ErrorBody::new("form.too_long", "too long"),
        };
        let after = after_push(saved, &[&refused], false);
        assert_eq!(after.sync_state, SyncState::Refused);
        assert_eq!(after.refusal.unwrap().code, "form.too_long");
    }

    #[test]
    fn a_refused_first_save_sends_the_header_and_every_answer_again() {
        let mut v = visit();
        v.answers.insert("visit_date".into(), json!("-5"));
        v.answers.insert("workforce".into(), json!(15));
        let mut clock = Hlc::default();
        let (saved, out) = save(&v, "dev", 1, &mut clock, 2_000);
        assert_eq!(out[0].mutation.fields["form_id"], json!("khuyen-cong"));
        let refused = MutationResult::Refused {
            seq: 1,
            mutation_id: out[0].mutation.mutation_id,
            error: ErrorBody::new("form.expected_date", "not a date"),
        };
        let mut fixed = after_push(saved, &[&refused], false);
        fixed
            .answers
            .insert("visit_date".into(), json!("2026-12-05"));
        let (_, again) = save(&fixed, "dev", 2, &mut clock, 3_000);
        // One mutation per answer; the first carries the header.
        assert_eq!(again[0].mutation.fields["form_id"], json!("khuyen-cong"));
        let fields: BTreeMap<String, Value> = again
            .iter()
            .flat_map(|e| e.mutation.fields.clone())
            .collect();
        assert_eq!(fields["visit_date"], json!("2026-12-05"));
        assert_eq!(
            fields["workforce"],
            json!(15),
            "the refused change's other answers"
        );

        // Once a pull has shown the visit on the server, a refusal resends
        // only what changed.
        let mut known = fixed.clone();
        known.versions.insert("workforce".into(), 1);
        known.header_sent = true;
        known.saved = known.answers.clone();
        let after = after_push(known, &[&refused], false);
        assert!(after.header_sent);
        assert_eq!(after.saved, after.answers);
    }

    /// A network time correction set the clock back an hour after the last
    /// write: the kept draft of the page that then went away, compared by
    /// stamp, was older than that write and thrown away on the next open.
    #[test]
    fn a_write_after_the_clock_went_back_is_still_the_later_one() {
        let mut v = visit();
        v.updated_at_ms = 10 * 3_600_000;
        v.answers.insert("workforce".into(), json!(15));
        let mut clock = Hlc::default();
        let (saved, _) = save_with(&v, "dev", 1, &mut clock, 9 * 3_600_000, false);
        assert!(saved.updated_at_ms > v.updated_at_ms);
    }

    #[test]
    fn a_refusal_names_its_cause_and_frees_a_finalized_visit() {
        let mut v = visit();
        v.answers.insert("workforce".into(), json!(15));
        let mut clock = Hlc::default();
        let (saved, out) = save_with(&v, "dev", 1, &mut clock, 2_000, true);
        assert!(saved.submit_queued && !saved.editable());
        let refused = |e: &OutboxEntry, code: &str| MutationResult::Refused {
            seq: e.mutation.seq,
            mutation_id: e.mutation.mutation_id,
            error: ErrorBody::new(code, "x"),
        };
        // The header is refused for a closed year; the finalize then finds no
        // visit. The first is the reason.
        let results = [
            refused(&out[0], "year.closed"),
            refused(out.last().unwrap(), "visit.unknown"),
        ];
        let after = after_push(saved, &results.iter().collect::<Vec<_>>(), false);
        assert_eq!(after.refusal.as_ref().unwrap().code, "year.closed");
        assert!(after.editable(), "finalized again once the year reopens");
        assert!(after.finalize_refused, "a backup sends it finalized");
        assert!(
            after.has_unsaved_changes(),
            "the header and answers go again"
        );
        let (again, out) = save_with(&after, "dev", 3, &mut clock, 3_000, true);
        assert_eq!(out[0].mutation.fields["form_id"], json!("khuyen-cong"));
        assert_eq!(out.last().unwrap().mutation.kind, MutationKind::Submit);
        assert!(again.refusal.is_none() && !again.finalize_refused);
    }

    #[test]
    fn answers_the_server_refused_outlive_its_copy_and_go_again() {
        let mut v = visit();
        v.answers.insert("workforce".into(), json!(17));
        let mut clock = Hlc::default();
        let (saved, _) = save(&v, "dev", 1, &mut clock, 2_000);
        let held = absorb_server_copy(Some(saved), &server_copy(&v, json!(17), 1), "ksv1", false);
        assert_eq!(held.sync_state, SyncState::Synced);
        // Offline, 99 is saved; the year closes before the push.
        let mut edited = held;
        edited.answers.insert("workforce".into(), json!(99));
        let (saved, out) = save(&edited, "dev", 2, &mut clock, 3_000);
        let refused = MutationResult::Refused {
            seq: out[0].mutation.seq,
            mutation_id: out[0].mutation.mutation_id,
            error: ErrorBody::new("year.closed", "closed"),
        };
        let after = after_push(saved, &[&refused], false);
        let closed = VisitRecord {
            year_closed: true,
            ..server_copy(&v, json!(17), 1)
        };
        let pulled = absorb_server_copy(Some(after.clone()), &closed, "ksv1", false);
        assert_eq!(
            pulled.answers["workforce"],
            json!(99),
            "the inspector's value"
        );
        assert_eq!(
            pulled.saved["workforce"],
            json!(17),
            "what the server holds"
        );
        assert_eq!(pulled.sync_state, SyncState::Refused);
        assert_eq!(pulled.refusal.as_ref().unwrap().code, "year.closed");
        let pulled_again = pulled.clone();
        // Reopened: the next save sends 99 again, on the server's version.
        let reopened =
            absorb_server_copy(Some(pulled), &server_copy(&v, json!(17), 1), "ksv1", false);
        let (_, again) = save(&reopened, "dev", 3, &mut clock, 4_000);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].mutation.fields["workforce"], json!(99));
        assert_eq!(again[0].mutation.base_version, 1);
        // A visit the supervisor has decided is the server's copy.
        let approved = VisitRecord {
            review_state: ReviewState::Approved,
            ..server_copy(&v, json!(17), 1)
        };
        let decided = absorb_server_copy(Some(after), &approved, "ksv1", false);
        assert_eq!(decided.answers["workforce"], json!(17));
        // Also once a pull had kept the refused value as unsent.
        let kept = absorb_server_copy(Some(pulled_again), &approved, "ksv1", false);
        assert_eq!(kept.answers["workforce"], json!(17));
        assert_eq!(kept.sync_state, SyncState::Synced);
        assert!(kept.refusal.is_none() && !kept.has_unsaved_changes());
    }

    #[test]
    fn a_lost_field_shows_until_a_supervisor_decides_it() {
        let mut v = visit();
        v.answers.insert("workforce".into(), json!(15));
        let mut clock = Hlc::default();
        let (saved, out) = save(&v, "dev", 1, &mut clock, 2_000);
        let lost = MutationResult::Applied {
            seq: 1,
            mutation_id: out[0].mutation.mutation_id,
            lost: vec!["workforce".into()],
            stamped: None,
        };
        let after = after_push(saved, &[&lost], false);
        assert_eq!(after.sync_state, SyncState::Conflict);
        // The pull right after the push: the other phone's 12 is stored, and
        // the conflict is open.
        let open = VisitRecord {
            open_conflicts: vec!["workforce".into()],
            review_state: ReviewState::InProgress,
            ..server_copy(&after, json!(12), 2)
        };
        let waiting = absorb_server_copy(Some(after), &open, "ksv1", false);
        assert_eq!(waiting.sync_state, SyncState::Conflict);
        assert_eq!(waiting.lost_fields, vec!["workforce".to_string()]);
        // Still open while this phone has something unsent for the visit.
        let decided = VisitRecord {
            open_conflicts: vec![],
            ..server_copy(&waiting, json!(13), 3)
        };
        let unsent = absorb_server_copy(Some(waiting.clone()), &decided, "ksv1", true);
        assert_eq!(unsent.sync_state, SyncState::Conflict);
        // Decided: the phone takes the supervisor's value and says no more.
        let settled = absorb_server_copy(Some(waiting), &decided, "ksv1", false);
        assert_eq!(settled.sync_state, SyncState::Synced);
        assert!(settled.lost_fields.is_empty());
        assert_eq!(settled.answers["workforce"], json!(13));
    }

    #[test]
    fn a_phone_whose_value_lost_after_its_push_hears_it_from_the_pull() {
        // Its push was applied; a concurrent edit pushed later from another
        // phone won under the HLC order.
        let mut v = visit();
        v.header_sent = true;
        v.answers.insert("workforce".into(), json!(12));
        v.saved = v.answers.clone();
        v.sync_state = SyncState::Synced;
        let open = VisitRecord {
            open_conflicts: vec!["workforce".into()],
            review_state: ReviewState::InProgress,
            ..server_copy(&v, json!(15), 3)
        };
        let told = absorb_server_copy(Some(v), &open, "ksv1", false);
        assert_eq!(told.sync_state, SyncState::Conflict);
        assert_eq!(told.lost_fields, vec!["workforce".to_string()]);
        assert_eq!(
            told.answers["workforce"],
            json!(15),
            "the stored value shows"
        );
    }

    #[test]
    fn a_full_resync_drops_only_what_the_server_has() {
        let mut v = visit();
        v.header_sent = true;
        v.sync_state = SyncState::Synced;
        assert!(!keep_on_resync(&v, false));
        assert!(keep_on_resync(&v, true), "queued mutations keep it");
        let mut draft = v.clone();
        draft.answers.insert("workforce".into(), json!(3));
        assert!(keep_on_resync(&draft, false), "unsaved edits keep it");
        let mut refused = v.clone();
        refused.sync_state = SyncState::Refused;
        assert!(keep_on_resync(&refused, false));
        assert!(keep_on_resync(&visit(), false), "a never-sent draft stays");
    }

    #[test]
    fn rows_become_child_mutations_after_the_visit_and_submit_comes_last() {
        let mut v = visit();
        v.answers.insert("workforce".into(), json!(25));
        let mut row = LocalRow::new(
            "01900000-0000-7000-8000-0000000000a1".into(),
            "equipment".into(),
            1_500,
        );
        row.answers.insert("machine_name".into(), json!("Máy cưa"));
        row.answers.insert("machine_year".into(), json!(2019));
        v.rows.push(row);
        let mut clock = Hlc::default();
        let (saved, out) = save_with(&v, "dev", 1, &mut clock, 2_000, true);
        let kinds: Vec<_> = out
            .iter()
            .map(|e| (e.mutation.entity, e.mutation.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (Entity::Visit, MutationKind::Upsert),
                (Entity::VisitRow, MutationKind::Upsert),
                (Entity::VisitRow, MutationKind::Upsert),
                (Entity::Visit, MutationKind::Submit),
            ]
        );
        assert_eq!(out[1].mutation.fields["visit_id"], json!(v.id));
        assert_eq!(out[1].mutation.fields["group"], json!("equipment"));
        assert!(
            !out[2].mutation.fields.contains_key("group"),
            "the header goes once"
        );
        assert!(
            out.iter().all(|e| e.visit_id == v.id),
            "row results route to the visit"
        );
        assert!(saved.submit_queued && !saved.editable());
        assert!(!saved.has_unsaved_changes());

        // Removing a sent row is a delete; removing a never-sent row is nothing.
        let mut next = saved.clone();
        next.submit_queued = false;
        next.rows[0].deleted = true;
        next.rows.push({
            let mut r = LocalRow::new(
                "01900000-0000-7000-8000-0000000000a2".into(),
                "equipment".into(),
                3_000,
            );
            r.deleted = true;
            r
        });
        let (after, out) = save(&next, "dev", 5, &mut clock, 4_000);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].mutation.kind, MutationKind::Delete);
        assert_eq!(out[0].mutation.seq, 5);
        assert!(after.rows.is_empty());
    }

    #[test]
    fn a_facility_found_on_site_goes_before_the_visit_that_names_it() {
        let mut v = visit();
        v.facility_id = Some("01900000-0000-7000-8000-0000000000f1".into());
        v.new_facility
            .insert("name".into(), json!("Xưởng mộc Hòa Bình"));
        v.new_facility.insert("district_code".into(), json!("213"));
        v.new_facility
            .insert("industry_group".into(), json!("handicrafts"));
        assert!(v.has_unsaved_changes());
        let mut clock = Hlc::default();
        let (saved, out) = save(&v, "dev", 1, &mut clock, 2_000);
        assert_eq!(out[0].mutation.entity, Entity::Facility);
        assert_eq!(
            out[0].mutation.record_id.to_string(),
            "01900000-0000-7000-8000-0000000000f1"
        );
        assert_eq!(out[1].mutation.entity, Entity::Visit);
        assert_eq!(
            out[1].mutation.fields["facility_id"],
            json!("01900000-0000-7000-8000-0000000000f1")
        );
        assert!(saved.facility_sent);
        let (_, again) = save(&saved, "dev", 3, &mut clock, 3_000);
        assert!(again.is_empty(), "the facility is sent once");
    }

    #[test]
    fn the_screen_draft_keeps_the_sync_engines_versions() {
        let mut stored = visit();
        let mut row = LocalRow::new("r1".into(), "equipment".into(), 1);
        row.versions.insert("machine_name".into(), 4);
        row.header_sent = true;
        stored.rows.push(row.clone());
        stored.versions.insert("workforce".into(), 2);
        let mut screen = visit();
        let mut edited = row.clone();
        edited.versions.clear();
        edited
            .answers
            .insert("machine_name".into(), json!("Lò sấy"));
        screen.rows.push(edited);
        screen
            .rows
            .push(LocalRow::new("r2".into(), "equipment".into(), 2));
        screen.answers.insert("workforce".into(), json!(9));
        screen.focus = Some("r2/machine_name".into());
        let merged = take_draft(stored, &screen);
        assert_eq!(merged.versions["workforce"], 2);
        assert_eq!(merged.rows[0].versions["machine_name"], 4);
        assert_eq!(merged.rows[0].answers["machine_name"], json!("Lò sấy"));
        assert_eq!(merged.rows.len(), 2);
        assert_eq!(merged.focus.as_deref(), Some("r2/machine_name"));
    }

    #[test]
    fn an_answer_saved_by_another_writer_stands_unless_the_screen_changed_it() {
        let mut screen = visit();
        screen.answers.insert("workforce".into(), json!(25));
        screen.answers.insert("owner".into(), json!("Lê Văn B"));
        screen.saved = screen.answers.clone();
        // Saved meanwhile by the photo field, with the page gone: a new photo
        // list, a new owner and the workforce cleared.
        let mut stored = screen.clone();
        stored
            .answers
            .insert("evidence_photos".into(), json!(["ph-1"]));
        stored.answers.insert("owner".into(), json!("Lê Thị C"));
        stored.answers.remove("workforce");
        stored.saved = stored.answers.clone();
        // The screen, loaded before that save, changes only the owner.
        screen.answers.insert("owner".into(), json!("Lê Văn Bình"));

        let merged = take_draft(stored.clone(), &screen);
        assert_eq!(merged.answers["evidence_photos"], json!(["ph-1"]));
        assert!(!merged.answers.contains_key("workforce"));
        assert_eq!(merged.answers["owner"], json!("Lê Văn Bình"));
        assert_eq!(merged.saved, stored.saved);
        let (_, out) = save(&merged, "dev", 1, &mut Hlc::default(), 2_000);
        let sent: Vec<_> = out
            .iter()
            .flat_map(|e| e.mutation.fields.keys().cloned())
            .filter(|k| {
                k != "form_id" && k != "form_version" && k != "proposal_id" && k != "started_at"
            })
            .collect();
        assert_eq!(sent, ["owner"], "only the inspector's edit is sent");
    }

    #[test]
    fn a_rows_answer_taken_in_by_a_pull_is_not_undone_by_the_next_autosave() {
        let mut row = LocalRow::new("r1".into(), "equipment".into(), 1);
        row.answers.insert("machine_name".into(), json!("Lò sấy"));
        row.answers.insert("power_kw".into(), json!(15));
        row.saved = row.answers.clone();
        row.header_sent = true;
        let mut screen = visit();
        screen.rows.push(row.clone());
        // A pull took in a supervisor's correction of the power.
        let mut stored = screen.clone();
        stored.rows[0].answers.insert("power_kw".into(), json!(18));
        stored.rows[0].saved = stored.rows[0].answers.clone();
        // The screen, still waiting for its autosave, renamed the machine.
        screen.rows[0]
            .answers
            .insert("machine_name".into(), json!("Lò sấy gỗ"));

        let merged = take_draft(stored, &screen);
        assert_eq!(merged.rows[0].answers["power_kw"], json!(18));
        assert_eq!(merged.rows[0].answers["machine_name"], json!("Lò sấy gỗ"));
    }

    #[test]
    fn a_value_the_pull_did_not_take_keeps_the_version_this_phone_saw() {
        // Saved here at version 1 (25), typed since (30, not saved), and the
        // main products saved here too; a pull brings another phone's 40 at
        // version 2 and this phone's own products at version 3.
        let mut v = visit();
        v.header_sent = true;
        v.saved.insert("workforce".into(), json!(25));
        v.saved.insert("main_products".into(), json!("Gốm"));
        v.versions.insert("workforce".into(), 1);
        v.answers = v.saved.clone();
        v.answers.insert("workforce".into(), json!(30));
        let mut row = LocalRow::new("r1".into(), "equipment".into(), 1);
        row.header_sent = true;
        row.answers.insert("power_kw".into(), json!(15));
        row.saved = row.answers.clone();
        row.versions.insert("power_kw".into(), 1);
        v.rows.push(row);
        let mut server = server_copy(&v, json!(40), 2);
        server.answers.insert("main_products".into(), json!("Gốm"));
        server.versions.insert("main_products".into(), 3);
        server.rows = vec![VisitRow {
            id: "r1".into(),
            group: "equipment".into(),
            answers: [("power_kw".to_string(), json!(18))].into(),
            versions: [("power_kw".to_string(), 2)].into(),
            created_at_ms: 1,
            written: Default::default(),
        }];

        for pending in [false, true] {
            let pulled = absorb_server_copy(Some(v.clone()), &server, "ksv1", pending);
            assert_eq!(
                pulled.answers["workforce"],
                json!(30),
                "the typed answer stays"
            );
            assert_eq!(pulled.versions["workforce"], 1, "40 was never shown");
            assert_eq!(
                pulled.versions["main_products"], 3,
                "its own value, numbered"
            );
            assert_eq!(pulled.rows[0].versions["power_kw"], 1);
            // So the save reaches the server as concurrent with the 40.
            let (_, out) = save(&pulled, "dev", 1, &mut Hlc::default(), 2_000);
            let sent = out
                .iter()
                .find(|e| e.mutation.fields.contains_key("workforce"))
                .unwrap();
            assert_eq!(sent.mutation.base_version, 1);
        }

        // Nothing unsent or unsaved: the pull takes the values and their versions.
        let mut clean = v.clone();
        clean.answers = clean.saved.clone();
        let pulled = absorb_server_copy(Some(clean), &server, "ksv1", false);
        assert_eq!(pulled.answers["workforce"], json!(40));
        assert_eq!(pulled.versions["workforce"], 2);
        assert_eq!(pulled.rows[0].versions["power_kw"], 2);
    }

    #[test]
    fn a_pull_shows_what_changed_elsewhere_beside_a_draft_and_keeps_the_draft() {
        // Saved and synced: 12 workers (version 3). A draft is open: the
        // main products typed, not saved. The supervisor decided 13 (version 4).
        let mut v = visit();
        v.header_sent = true;
        v.saved.insert("workforce".into(), json!(12));
        v.versions.insert("workforce".into(), 3);
        v.answers = v.saved.clone();
        v.answers.insert("main_products".into(), json!("Bàn ghế"));
        let mut server = server_copy(&v, json!(13), 4);
        server.review_state = ReviewState::InProgress;
        let pulled = absorb_server_copy(Some(v.clone()), &server, "ksv1", false);
        assert_eq!(pulled.answers["workforce"], json!(13), "the decision shows");
        assert_eq!(pulled.saved["workforce"], json!(13));
        assert_eq!(pulled.versions["workforce"], 4);
        assert_eq!(
            pulled.answers["main_products"],
            json!("Bàn ghế"),
            "the draft stays"
        );
        assert!(!pulled.saved.contains_key("main_products"));
        // The save then sends only what was typed.
        let (_, out) = save(&pulled, "dev", 1, &mut Hlc::default(), 2_000);
        let sent: Vec<_> = out
            .iter()
            .flat_map(|e| e.mutation.fields.keys().cloned())
            .collect();
        assert_eq!(sent, ["main_products"]);

        // With changes queued, nothing is taken until they are answered.
        let queued = absorb_server_copy(Some(v), &server, "ksv1", true);
        assert_eq!(queued.answers["workforce"], json!(12));
        assert_eq!(queued.versions["workforce"], 3);
    }

    #[test]
    fn outbox_keys_sort_by_seq() {
        assert!(outbox_key("d", 9) < outbox_key("d", 10));
    }
}
