//! The sync contract between phone and server (DESIGN.md, "Push" and "Pull").

/// The backup archive (a stored ZIP): written on the phone, read by the server.
pub mod archive;
/// Hybrid logical clock: orders edits across phones with unreliable clocks.
pub mod hlc;
/// Push and pull messages.
pub mod protocol;

pub use hlc::Hlc;
pub use protocol::*;

/// A UUIDv7 from a millisecond timestamp and fresh randomness (the phone's
/// `Date.now()`, since `SystemTime` panics on wasm32): record and mutation ids
/// on both sides.
pub fn new_uuid_v7(now_ms: i64) -> uuid::Uuid {
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        (now_ms / 1000) as u64,
        ((now_ms % 1000) * 1_000_000) as u32,
    );
    uuid::Uuid::new_v7(ts)
}
