//! The field app: what runs on the inspector's phone, offline first. Its pages
//! are one lazy chunk (`root::field_page`) that the service worker precaches.

/// The phone's backup file of its unsent changes, for a refused or handed-over phone.
pub mod backup;
/// Browser state shared by every screen (who is logged in, network and sync
/// status), the HTTP client and the sync engine.
pub mod client;
/// Persistent storage, quota, stale unsynced data, the iOS seven-day wipe.
pub mod durability;
/// Typed IndexedDB access for the phone (the only module that touches IndexedDB).
#[cfg(feature = "hydrate")]
pub mod offline;
/// Taking photos, keeping them with their upload's progress, sending the bytes.
pub mod photos;
/// The inspector's home: the proposals they were sent to survey, their visits.
pub mod proposals;
/// What a page kept in localStorage as it went away (a draft, a caption)
/// until IndexedDB has it.
#[cfg(feature = "hydrate")]
pub(crate) mod unloaded;
/// Visits: the survey form screen and the phone's list of its own visits.
pub mod visits;
