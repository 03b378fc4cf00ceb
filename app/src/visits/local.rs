//! The phone's copy of a visit and the pure logic around it: turning an explicit
//! save into mutations, and taking in what the server sent. Plain types, no
//! browser APIs, so the same code runs in the wasm app and in native tests.

use crate::error::ErrorBody;
use crate::model::{ReviewState, VisitRecord};
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
    /// Fields whose value from this phone lost to a concurrent edit on another
    /// phone (kept in the server's conflicts for a supervisor).
    #[serde(default)]
    pub lost_fields: Vec<String>,
    pub review_state: ReviewState,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The field in view when the draft was last written, to reopen it there.
    pub focus: Option<String>,
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
        }
    }

    /// Whether the draft holds changes that no explicit save has captured.
    pub fn has_unsaved_changes(&self) -> bool {
        self.answers != self.saved || !self.header_sent
    }
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

pub fn outbox_key(device_id: &str, seq: i64) -> String {
    format!("{device_id}:{seq:012}")
}

/// An explicit save: one mutation per changed field (the first save also carries
/// the visit header), numbered from `next_seq`. Returns the mutations and the
/// updated visit; the caller writes both and the new seq counter in ONE
/// transaction, so a crash leaves either all of it or none.
pub fn save(
    visit: &LocalVisit,
    device_id: &str,
    next_seq: i64,
    clock: &mut Hlc,
    now_ms: i64,
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
    let mut push = |fields: BTreeMap<String, Value>, base_version: i64, seq: &mut i64| {
        out.push(OutboxEntry {
            device_id: device_id.to_string(),
            visit_id: visit.id.clone(),
            mutation: Mutation {
                seq: *seq,
                mutation_id: new_uuid_v7(now_ms),
                kind: MutationKind::Upsert,
                entity: Entity::Visit,
                record_id: uuid::Uuid::parse_str(&visit.id).unwrap_or_else(|_| new_uuid_v7(now_ms)),
                fields,
                hlc: clock.tick(now_ms),
                base_version,
            },
        });
        *seq += 1;
    };
    if changed.is_empty() && !header_fields.is_empty() {
        push(header_fields.clone(), 0, &mut seq);
        header_fields.clear();
    }
    for (key, value) in changed {
        let mut fields = std::mem::take(&mut header_fields);
        fields.insert(key.clone(), value);
        let base = visit.versions.get(key).copied().unwrap_or(0);
        push(fields, base, &mut seq);
    }
    let mut saved = visit.clone();
    saved.saved = visit.answers.clone();
    saved.header_sent = true;
    saved.updated_at_ms = now_ms;
    if !out.is_empty() {
        saved.sync_state = SyncState::Queued;
        saved.refusal = None;
        saved.lost_fields.clear();
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
            MutationResult::Refused { error, .. } => {
                visit.sync_state = SyncState::Refused;
                visit.refusal = Some(error.clone());
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

/// Takes in the server's copy of a visit. Versions and review state always come
/// from the server; answers only when this phone has nothing unsent for the
/// visit, so a pull can never overwrite what the inspector has not yet pushed.
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
        v.header_sent = true;
        v
    });
    visit.versions = server.versions.clone();
    visit.review_state = server.review_state;
    visit.header_sent = true;
    let untouched = visit.answers == visit.saved;
    if !pending && untouched {
        let answers: BTreeMap<String, Value> = server
            .answers
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if answers != visit.saved && visit.sync_state == SyncState::Synced {
            // Another phone's or a supervisor's value won on the server.
            visit.sync_state = SyncState::Synced;
        }
        visit.answers = answers.clone();
        visit.saved = answers;
    }
    if !pending && visit.sync_state == SyncState::Queued {
        visit.sync_state = SyncState::Synced;
    }
    visit
}

/// Whether a full resync (after the server answered 410) keeps this local visit.
/// Only a visit the server fully has may go: it comes back in the full pull if it
/// still exists. Anything unsent, unsaved, refused or in conflict stays.
pub fn keep_on_resync(visit: &LocalVisit, pending: bool) -> bool {
    pending || visit.has_unsaved_changes() || visit.sync_state != SyncState::Synced
}

/// A UUIDv7 from a millisecond timestamp and fresh randomness (the phone's
/// `Date.now()`, since `SystemTime` panics on wasm32).
pub fn new_uuid_v7(now_ms: i64) -> uuid::Uuid {
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        (now_ms / 1000) as u64,
        ((now_ms % 1000) * 1_000_000) as u32,
    );
    uuid::Uuid::new_v7(ts)
}

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
        let server = VisitRecord {
            id: v.id.clone(),
            form_id: v.form_id.clone(),
            form_version: 1,
            proposal_id: None,
            facility_id: None,
            owner_id: "u".into(),
            review_state: ReviewState::NeedsChanges,
            answers: [("workforce".to_string(), json!(25))].into(),
            versions: [("workforce".to_string(), 2)].into(),
            created_at_ms: 0,
            received_at_ms: 0,
            rows: vec![],
            review: vec![],
        };
        let merged = absorb_server_copy(Some(v), &server, "ksv1", true);
        assert_eq!(merged.answers["workforce"], json!(30));
        assert_eq!(merged.versions["workforce"], 2);
        assert_eq!(merged.review_state, ReviewState::NeedsChanges);
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
            },
            MutationResult::Applied {
                seq: 2,
                mutation_id: out[1].mutation.mutation_id,
                lost: vec!["workforce".into()],
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
    fn outbox_keys_sort_by_seq() {
        assert!(outbox_key("d", 9) < outbox_key("d", 10));
    }
}
