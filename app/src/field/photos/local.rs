//! A photo as the phone keeps it: the attach_photo metadata, the upload's
//! progress (URL and acknowledged offset, so it resumes after a dropped link, a
//! closed tab or a restart), and the server's verdict once pulled. The bytes
//! are a Blob stored beside it in IndexedDB. Pure logic, tested natively.
//!
//! One file (about 445 lines): the record, its outbox entries and the rules
//! for photos removed on another phone all read the same record's fields.

use crate::error::ErrorBody;
use crate::field::visits::local::OutboxEntry;
use crate::photos::{PhotoRecord, PhotoStatus};
use crate::sync::{Entity, Hlc, Mutation, MutationKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalPhoto {
    pub id: String,
    pub visit_id: String,
    pub field: String,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub caption: Option<String>,
    /// When the caption was written: the stamp of this phone's caption change,
    /// or the server's time for the caption it took from a pull. None for a
    /// caption kept by an older app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption_written: Option<Hlc>,
    pub taken_at_ms: Option<i64>,
    pub time_source: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub location_source: String,
    /// Pixel size of the stored (downscaled) file.
    pub width: u32,
    pub height: u32,
    /// What the camera's file weighed before the downscale.
    #[serde(default)]
    pub original_size: i64,
    pub created_at_ms: i64,
    /// The bytes are on this phone (a photo another phone took has none).
    #[serde(default)]
    pub has_blob: bool,
    #[serde(default)]
    pub upload: UploadState,
    /// The server's view, once pulled.
    #[serde(default)]
    pub server_status: Option<PhotoStatus>,
    #[serde(default)]
    pub problem: Option<ErrorBody>,
    /// The server's warnings about a usable photo (damaged EXIF ignored, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ErrorBody>,
}

/// Where the bytes' journey stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UploadState {
    /// The tus upload's URL once created.
    pub url: Option<String>,
    /// Bytes the server acknowledged.
    pub offset: i64,
    /// The server has every byte and the hash matched.
    pub done: bool,
    /// Why the last attempt failed (kept until the next success).
    pub error: Option<ErrorBody>,
    /// The server refused the bytes for good (e.g. over its size limit):
    /// retrying cannot help; the inspector retakes or removes the photo.
    #[serde(default)]
    pub refused: bool,
}

impl LocalPhoto {
    /// The `attach_photo` fields.
    pub fn attach_fields(&self) -> BTreeMap<String, Value> {
        let mut f = BTreeMap::new();
        f.insert("visit_id".into(), Value::from(self.visit_id.clone()));
        f.insert("field".into(), Value::from(self.field.clone()));
        f.insert("sha256".into(), Value::from(self.sha256.clone()));
        f.insert("size".into(), Value::from(self.size));
        f.insert(
            "content_type".into(),
            Value::from(self.content_type.clone()),
        );
        f.insert(
            "caption".into(),
            self.caption.clone().map_or(Value::Null, Value::from),
        );
        f.insert(
            "taken_at_ms".into(),
            self.taken_at_ms.map_or(Value::Null, Value::from),
        );
        f.insert("time_source".into(), Value::from(self.time_source.clone()));
        let num = |v: Option<f64>| v.filter(|x| x.is_finite()).map_or(Value::Null, Value::from);
        f.insert("lat".into(), num(self.lat));
        f.insert("lon".into(), num(self.lon));
        f.insert("accuracy_m".into(), num(self.accuracy_m));
        f.insert(
            "location_source".into(),
            Value::from(self.location_source.clone()),
        );
        f
    }

    /// Whether the sync engine should send (or resume sending) the bytes.
    pub fn needs_upload(&self) -> bool {
        self.has_blob && !self.upload.done && !self.upload.refused
    }

    /// A short state for the UI and tests: waiting, uploading, sent, ok, bad, refused.
    pub fn state(&self) -> &'static str {
        match (self.server_status, &self.upload) {
            (Some(PhotoStatus::Bad), _) => "bad",
            (Some(PhotoStatus::Ok), _) => "ok",
            (_, u) if u.refused => "refused",
            (_, u) if u.done => "sent",
            (_, u) if u.offset > 0 => "uploading",
            _ => "waiting",
        }
    }

    /// Takes the server's view of this photo (status and verdict); the phone's
    /// own metadata and upload progress stay.
    pub fn absorb(&mut self, server: &PhotoRecord) {
        self.server_status = Some(server.status);
        self.problem = server.problem.clone();
        self.warnings = server.warnings.clone();
        if matches!(
            server.status,
            PhotoStatus::Ok | PhotoStatus::Bad | PhotoStatus::Received
        ) {
            self.upload.done = true;
            self.upload.offset = self.size;
            self.upload.error = None;
        }
        self.take_caption(server);
    }

    /// The server's caption where it was written later than this phone's (a
    /// caption is the last writer's by stamp, as on the server). A caption
    /// without a time on either side is the phone's, as before the times.
    fn take_caption(&mut self, server: &PhotoRecord) {
        match (server.caption_written, self.caption_written) {
            (Some(theirs), mine) if mine.is_none_or(|mine| theirs > mine) => {
                self.caption = server.caption.clone();
                self.caption_written = Some(theirs);
            }
            (Some(_), _) => {}
            (None, _) if self.caption.is_none() => self.caption = server.caption.clone(),
            (None, _) => {}
        }
    }

    /// A photo the phone first hears of from the server (another phone, a
    /// reinstall): metadata only, shown from the server's thumbnail.
    pub fn from_server(server: &PhotoRecord) -> LocalPhoto {
        let mut photo = LocalPhoto {
            id: server.id.clone(),
            visit_id: server.visit_id.clone(),
            field: server.field.clone(),
            sha256: server.sha256.clone(),
            size: server.size,
            content_type: server.content_type.clone(),
            caption: server.caption.clone(),
            caption_written: server.caption_written,
            taken_at_ms: server.taken_at_ms,
            time_source: server
                .time_source
                .clone()
                .unwrap_or_else(|| "device".into()),
            lat: server.lat,
            lon: server.lon,
            accuracy_m: server.accuracy_m,
            location_source: server
                .location_source
                .clone()
                .unwrap_or_else(|| "none".into()),
            width: server.width.unwrap_or(0) as u32,
            height: server.height.unwrap_or(0) as u32,
            original_size: server.size,
            created_at_ms: server.created_at_ms,
            has_blob: false,
            upload: UploadState::default(),
            server_status: None,
            problem: None,
            warnings: Vec::new(),
        };
        photo.absorb(server);
        photo
    }
}

/// The photo records of the server's `visit` this phone holds (`held`, any
/// visit's) that were removed on another phone: no longer in the server's
/// list, named by no answer of the phone's copy (`local`), and either without
/// their bytes here or with bytes the server had taken (it keeps the removed
/// original). A pull drops them, with their bytes. Kept, they stayed on this
/// phone's screen, and after a restore they counted as this phone's, so the
/// removal did not go again. Bytes the server never had stay.
pub fn removed_elsewhere<'a>(
    held: &'a [LocalPhoto],
    visit: &crate::model::VisitRecord,
    local: &crate::field::visits::local::LocalVisit,
) -> Vec<&'a LocalPhoto> {
    let names = |answers: &BTreeMap<String, Value>, id: &str| {
        answers.values().any(|v| {
            v.as_array()
                .is_some_and(|ids| ids.iter().any(|i| i.as_str() == Some(id)))
        })
    };
    let named = |id: &str| {
        names(&local.answers, id)
            || names(&local.saved, id)
            || local
                .rows
                .iter()
                .any(|r| names(&r.answers, id) || names(&r.saved, id))
    };
    held.iter()
        .filter(|p| {
            p.visit_id == visit.id
                // Bytes the server has acknowledged whole are the server's
                // too, also when it never listed the photo again (sent anew
                // after a restore to a server where another phone's recovery
                // had removed it).
                && (!p.has_blob || p.upload.done)
                && !visit.photos.iter().any(|s| s.id == p.id)
                && !named(&p.id)
        })
        .collect()
}

/// Takes out of a refused visit's kept answers (and their base) the photos
/// another phone removed: a photo this phone holds only from the server (no
/// bytes here, or bytes the server had taken) that the server lists no more.
/// Such a list then names only photos still there or taken here, and the
/// photo's record leaves at this pull (`removed_elsewhere`).
pub fn unlist_removed_elsewhere(
    visit: &mut crate::field::visits::local::LocalVisit,
    held: &[LocalPhoto],
    server: &crate::model::VisitRecord,
) {
    let gone: Vec<&str> = held
        .iter()
        .filter(|p| {
            p.visit_id == visit.id
                && (!p.has_blob || p.upload.done)
                && !server.photos.iter().any(|s| s.id == p.id)
        })
        .map(|p| p.id.as_str())
        .collect();
    if gone.is_empty() {
        return;
    }
    let unlist = |answers: &mut BTreeMap<String, Value>| {
        for value in answers.values_mut() {
            if let Value::Array(ids) = value {
                ids.retain(|id| !id.as_str().is_some_and(|id| gone.contains(&id)));
            }
        }
        answers.retain(|_, v| !matches!(v, Value::Array(ids) if ids.is_empty()));
    };
    unlist(&mut visit.answers);
    unlist(&mut visit.saved);
}

fn entry(device_id: &str, visit_id: &str, mutation: Mutation) -> OutboxEntry {
    OutboxEntry {
        device_id: device_id.to_string(),
        visit_id: visit_id.to_string(),
        mutation,
    }
}

/// A change of one photo record: never on a base version (a photo's fields
/// are its own phone's, or the later caption's by stamp).
fn photo_mutation(
    kind: MutationKind,
    photo_id: &str,
    fields: BTreeMap<String, Value>,
    seq: i64,
    hlc: Hlc,
    mutation_id: uuid::Uuid,
) -> Mutation {
    Mutation {
        seq,
        mutation_id,
        kind,
        entity: Entity::Photo,
        record_id: uuid::Uuid::parse_str(photo_id).unwrap_or_default(),
        fields,
        hlc,
        base_version: 0,
    }
}

/// The outbox entry that attaches a photo.
pub fn attach_entry(
    photo: &LocalPhoto,
    device_id: &str,
    seq: i64,
    hlc: Hlc,
    mutation_id: uuid::Uuid,
) -> OutboxEntry {
    let fields = photo.attach_fields();
    let mutation = photo_mutation(
        MutationKind::Upsert,
        &photo.id,
        fields,
        seq,
        hlc,
        mutation_id,
    );
    entry(device_id, &photo.visit_id, mutation)
}

/// The removal of a photo this phone may no longer hold a record of (its
/// removal was refused with its visit, and sent again).
pub fn removal_entry(
    visit_id: &str,
    photo_id: &str,
    device_id: &str,
    seq: i64,
    hlc: Hlc,
    mutation_id: uuid::Uuid,
) -> OutboxEntry {
    let fields = BTreeMap::new();
    let mutation = photo_mutation(
        MutationKind::Delete,
        photo_id,
        fields,
        seq,
        hlc,
        mutation_id,
    );
    entry(device_id, visit_id, mutation)
}

/// A caption change, or (with `remove`) the photo's removal.
pub fn change_entry(
    photo: &LocalPhoto,
    device_id: &str,
    seq: i64,
    hlc: Hlc,
    mutation_id: uuid::Uuid,
    remove: bool,
) -> OutboxEntry {
    if remove {
        return removal_entry(&photo.visit_id, &photo.id, device_id, seq, hlc, mutation_id);
    }
    let mut fields = BTreeMap::new();
    fields.insert(
        "caption".into(),
        photo.caption.clone().map_or(Value::Null, Value::from),
    );
    let mutation = photo_mutation(
        MutationKind::Upsert,
        &photo.id,
        fields,
        seq,
        hlc,
        mutation_id,
    );
    entry(device_id, &photo.visit_id, mutation)
}

/// The chunk size of the next PATCH: start small on an unknown rural link,
/// double after each success up to `MAX_CHUNK`, halve after a failure.
pub const FIRST_CHUNK: u32 = 64 * 1024;
pub const MIN_CHUNK: u32 = 16 * 1024;
pub const MAX_CHUNK: u32 = 2 * 1024 * 1024;

pub fn next_chunk(current: u32, succeeded: bool) -> u32 {
    if succeeded {
        current.saturating_mul(2).min(MAX_CHUNK)
    } else {
        (current / 2).max(MIN_CHUNK)
    }
}

/// What an upload answer means for the photo.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadVerdict {
    /// Keep going (or retry soon) from this offset.
    Continue,
    /// The upload URL is gone (404/410) or the whole file did not match: start
    /// again from byte 0 with a new upload.
    Restart,
    /// The server will never take these bytes (413, 415, 422): stop and say why.
    Refused,
    /// No answer or a server error: retry later with backoff.
    Retry,
}

pub fn verdict_for(status: u16, code: &str) -> UploadVerdict {
    match status {
        200..=299 => UploadVerdict::Continue,
        // 409: ask HEAD for the real offset; 460 on a chunk: send it again.
        409 | 423 => UploadVerdict::Continue,
        460 if code == "upload.sha256_mismatch" => UploadVerdict::Restart,
        460 => UploadVerdict::Continue,
        404 | 410 => UploadVerdict::Restart,
        413 | 415 | 422 | 400 | 403 => UploadVerdict::Refused,
        _ => UploadVerdict::Retry,
    }
}

/// Total progress over photos still to send: (bytes acknowledged, bytes in all).
pub fn progress(photos: &[LocalPhoto]) -> (i64, i64) {
    photos
        .iter()
        .filter(|p| p.has_blob && !p.upload.refused && p.server_status != Some(PhotoStatus::Ok))
        .fold((0, 0), |(done, all), p| {
            let acked = if p.upload.done {
                p.size
            } else {
                p.upload.offset
            };
            (done + acked, all + p.size)
        })
}

/// Standard base64 with padding (tus headers), without a crate in the bundle.
pub fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "local_tests.rs"]
mod tests;
