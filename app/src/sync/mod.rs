//! The sync contract between phone and server (DESIGN.md, "Push" and "Pull").

/// Hybrid logical clock: orders edits across phones with unreliable clocks.
pub mod hlc;
/// Push and pull messages.
pub mod protocol;

pub use hlc::Hlc;
pub use protocol::*;
