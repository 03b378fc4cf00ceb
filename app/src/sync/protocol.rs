//! Messages of `/api/sync/push` and `/api/sync/pull`.

use super::Hlc;
use crate::forms::FormDefinition;
use crate::model::{AdminUnit, Facility, Proposal, VisitRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The mutation schema this build speaks. The server accepts this and the one before.
/// Version 2 added repeat-group rows, facilities, the submit command and `lost`;
/// version 3 photos (`attach_photo`).
pub const MUTATION_SCHEMA_VERSION: u32 = 3;
/// Most mutations in one push; the phone sends at most this many per request.
pub const MAX_BATCH: usize = 500;
/// Largest push body the server reads.
pub const MAX_PUSH_BYTES: usize = 2 * 1024 * 1024;
/// Most changes in one pull page.
pub const PULL_PAGE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum MutationKind {
    /// Set the given fields (creating the record if it does not exist).
    Upsert,
    /// Delete the record (a tombstone).
    Delete,
    /// Finalize a visit: the server checks required and conditional rules and moves
    /// it to `submitted`. A command, never a last-writer-wins field.
    Submit,
}

impl MutationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MutationKind::Upsert => "upsert",
            MutationKind::Delete => "delete",
            MutationKind::Submit => "submit",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Visit,
    /// A row of a repeat group: a child record of a visit with its own ID. Its
    /// first mutation carries `visit_id` and `group`.
    VisitRow,
    /// A facility: created on site when it is not yet registered, or corrected.
    Facility,
    /// A photo of a visit. Its first upsert is `attach_photo`: `visit_id`,
    /// `field`, `sha256`, `size`, `content_type`, and the caption, capture time
    /// and location with their sources; the bytes follow through tus.
    Photo,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Visit => "visit",
            Entity::VisitRow => "visit_row",
            Entity::Facility => "facility",
            Entity::Photo => "photo",
        }
    }
}

/// One change made on a phone. IDs are UUIDv7 made on the phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// The device's own counter: 1, 2, 3… without gaps.
    #[cfg_attr(feature = "ssr", schemars(range(min = 1)))]
    pub seq: i64,
    pub mutation_id: uuid::Uuid,
    pub kind: MutationKind,
    pub entity: Entity,
    pub record_id: uuid::Uuid,
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
    pub hlc: Hlc,
    /// The version of these fields the phone had seen when it made the change
    /// (0 for a new record); tells a concurrent edit from a later one.
    #[serde(default)]
    pub base_version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub device_id: uuid::Uuid,
    pub schema_version: u32,
    pub mutations: Vec<Mutation>,
    /// The server's log epoch this phone last synced with (`None` before its
    /// first sync). Another one means the server was restored from a backup:
    /// the push is refused with `sync.server_restored` before anything is
    /// applied, so the phone first sends again what the backup lacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MutationResult {
    Applied {
        seq: i64,
        mutation_id: uuid::Uuid,
        /// Fields where another phone's concurrent value won; this phone's value
        /// is kept in conflicts for a supervisor.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        lost: Vec<String>,
        /// The stamp the server gave the change instead of the phone's, whose
        /// clock ran more than a minute ahead. The phone records it as when
        /// the change's answers were written: after a restore, its own stamp
        /// would make an earlier answer look later than another phone's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stamped: Option<Hlc>,
    },
    /// Seen before (seq at or below the device's last_seq): nothing done again.
    Duplicate { seq: i64, mutation_id: uuid::Uuid },
    /// Failed validation: stored with the reason, and the queue moves on.
    Refused {
        seq: i64,
        mutation_id: uuid::Uuid,
        error: crate::error::ErrorBody,
    },
}

impl MutationResult {
    pub fn seq(&self) -> i64 {
        match self {
            MutationResult::Applied { seq, .. }
            | MutationResult::Duplicate { seq, .. }
            | MutationResult::Refused { seq, .. } => *seq,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct PushResponse {
    pub results: Vec<MutationResult>,
    pub last_seq: i64,
    pub server_hlc: Hlc,
    /// The server's log epoch (see [`PushRequest::epoch`]).
    #[serde(default)]
    pub epoch: String,
}

/// One record in a pull page: its current state, or its deletion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(tag = "entity", content = "record", rename_all = "snake_case")]
pub enum PulledRecord {
    Unit(AdminUnit),
    Form(FormDefinition),
    Facility(Facility),
    Proposal(Proposal),
    Visit(VisitRecord),
    /// The record was deleted; the phone drops its copy.
    Deleted(DeletedRecord),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct DeletedRecord {
    pub entity: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Change {
    /// Server change sequence; the next pull's cursor is the last one seen.
    pub seq: i64,
    #[serde(flatten)]
    pub record: PulledRecord,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct PullResponse {
    pub changes: Vec<Change>,
    pub cursor: i64,
    pub has_more: bool,
    pub server_hlc: Hlc,
    /// The server's log epoch: made when its database is created, made anew
    /// by every restore from a backup. A phone keeps it and sends it back.
    #[serde(default)]
    pub epoch: String,
}

/// `POST /api/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    pub device_id: Option<uuid::Uuid>,
}

/// `POST /api/auth/device`: bind this phone's device to a session the login
/// form opened before the app had loaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceRequest {
    pub device_id: uuid::Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct LoginResponse {
    pub user: crate::model::UserInfo,
    pub device_id: Option<uuid::Uuid>,
    /// An administrator set this password: the app asks for a new one before
    /// anything else (the server refuses other calls until then).
    #[serde(default)]
    pub must_change_password: bool,
}

/// `POST /api/auth/password`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// `GET /api/auth/me`: the user, and whether their password must change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct MeResponse {
    #[serde(flatten)]
    pub user: crate::model::UserInfo,
    #[serde(default)]
    pub must_change_password: bool,
}

/// `GET /api/health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
    pub engine: String,
}

/// `GET /api/ready`: whether this process can serve (200) or not (503), and
/// which of its dependencies answered. A load balancer takes a process out of
/// rotation on 503.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Ready {
    /// `ready` or `not_ready`.
    pub status: String,
    /// `ok`, or `unreachable`.
    pub database: String,
    /// `ok`, `unreachable`, or `not_this_database` (the store's marker differs).
    pub photo_store: String,
    /// Whether this process runs the background jobs now.
    pub runs_background_jobs: bool,
}

/// The field app's backup of its outbox ("Xuất dữ liệu"): replayed by
/// `POST /api/sync/import` under the original device and seqs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ExportFile {
    /// Always `khaosat-outbox`.
    #[cfg_attr(feature = "ssr", schemars(extend("const" = "khaosat-outbox")))]
    pub format: String,
    pub schema_version: u32,
    pub device_id: uuid::Uuid,
    /// Who was logged in on the phone (informative; the server trusts the device row).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub exported_at_ms: Option<i64>,
    pub mutations: Vec<Mutation>,
}

pub const EXPORT_FORMAT: &str = "khaosat-outbox";

/// Result of an import: per-mutation results (a seq already used by another
/// mutation is refused with `import.seq_taken`) and the device's new last_seq.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ImportResponse {
    pub results: Vec<MutationResult>,
    pub last_seq: i64,
    pub server_hlc: Hlc,
    /// Photos whose bytes came in the archive and completed them.
    #[serde(default)]
    pub photos: u64,
}
