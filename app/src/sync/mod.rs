//! The sync contract between phone and server (DESIGN.md, "Push" and "Pull").

/// The backup archive (a stored ZIP): written on the phone, read by the server.
pub mod archive;
/// Hybrid logical clock: orders edits across phones with unreliable clocks.
pub mod hlc;
/// Push and pull messages.
pub mod protocol;

pub use hlc::Hlc;
pub use protocol::*;
