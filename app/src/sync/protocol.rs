//! Messages of `/api/sync/push` and `/api/sync/pull`.

use super::Hlc;
use crate::forms::FormDefinition;
use crate::model::{AdminUnit, Facility, Proposal, VisitRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The mutation schema this build speaks. The server accepts this and the one before.
pub const MUTATION_SCHEMA_VERSION: u32 = 1;
/// Most mutations in one push; the phone sends at most this many per request.
pub const MAX_BATCH: usize = 500;
/// Largest push body the server reads.
pub const MAX_PUSH_BYTES: usize = 2 * 1024 * 1024;
/// Most changes in one pull page.
pub const PULL_PAGE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutationKind {
    /// Set the given fields (creating the record if it does not exist).
    Upsert,
    /// Delete the record (a tombstone).
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Visit,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Visit => "visit",
        }
    }
}

/// One change made on a phone. IDs are UUIDv7 made on the phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// The device's own counter: 1, 2, 3… without gaps.
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
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub device_id: uuid::Uuid,
    pub schema_version: u32,
    pub mutations: Vec<Mutation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MutationResult {
    Applied {
        seq: i64,
        mutation_id: uuid::Uuid,
    },
    /// Seen before (seq at or below the device's last_seq): nothing done again.
    Duplicate {
        seq: i64,
        mutation_id: uuid::Uuid,
    },
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
pub struct PushResponse {
    pub results: Vec<MutationResult>,
    pub last_seq: i64,
    pub server_hlc: Hlc,
}

/// One record in a pull page: its current state, or its deletion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct DeletedRecord {
    pub entity: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Server change sequence; the next pull's cursor is the last one seen.
    pub seq: i64,
    #[serde(flatten)]
    pub record: PulledRecord,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub changes: Vec<Change>,
    pub cursor: i64,
    pub has_more: bool,
    pub server_hlc: Hlc,
}

/// `POST /api/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    pub device_id: Option<uuid::Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginResponse {
    pub user: crate::model::UserInfo,
    pub device_id: Option<uuid::Uuid>,
}

/// `GET /api/health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub engine: String,
}
