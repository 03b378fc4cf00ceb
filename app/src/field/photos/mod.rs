//! Photos on the phone: taking them, keeping them with their upload's
//! progress, and sending the bytes. The record both sides share is
//! `crate::photos`.

/// A photo's caption as typed: written after a pause, on leaving, when hidden.
mod caption;
/// Capture on the phone: downscale with the browser's decoder, hash, metadata.
#[cfg(feature = "hydrate")]
pub mod capture;
/// What the photo field writes: new photos, captions, removals.
#[cfg(feature = "hydrate")]
mod edit;
/// The photo field on the visit form.
pub mod field;
/// A photo as the phone keeps it, with its upload's progress.
pub mod local;
/// The phone's tus client: resumable, adaptive, one photo never blocks another.
#[cfg(feature = "hydrate")]
pub mod upload;
