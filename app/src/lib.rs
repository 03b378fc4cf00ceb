//! khaosat's Leptos app: components, routes, server functions and the types both
//! sides share. Built twice: `hydrate` for the phone (wasm32) and `ssr` for the server.
#![recursion_limit = "256"]

/// Account administration: server functions and their types.
pub mod accounts;
/// Login page and the session that the server checks on every request.
pub mod auth;
/// The phone's backup file of its unsent changes, for a refused or handed-over phone.
pub mod backup;
/// Browser state shared by every screen: who is logged in, network and sync status.
pub mod client;
/// The supervisor's console as data: visit list query, conflicts, proposals and plan.
pub mod console;
/// Domain rules without SQL: usernames, phones, passwords, display names.
pub mod domain;
/// Error bodies `{code, params, message}` shared by server and phone, and the
/// server-side error enum that maps them to HTTP statuses.
/// Persistent storage, quota, stale unsynced data, the iOS seven-day wipe.
pub mod durability;
pub mod error;
/// Display helpers for VND and Vietnam time that must agree on both sides.
pub mod format;
/// Versioned survey form definitions and their validation rules.
pub mod forms;
/// Compiled-in locale files and the `t()` lookup (Vietnamese first).
pub mod i18n;
/// Domain types: administrative units, facilities, proposals, users and roles.
pub mod model;
/// Money as people type it: whole đồng, Vietnamese digit grouping.
pub mod money;
/// The office's capabilities (unit trees; later the registry, review, plan and
/// admin move here): server-side file intake and the checks behind it.
pub mod office;
/// Photos: the attach_photo record, statuses, EXIF and header parsing, and (on
/// the server) the storage interface.
pub mod photos;
/// The inspector's proposal list (what they were sent to survey).
pub mod proposals;
/// Root component, router and the HTML shell.
pub mod root;
/// The diacritic-insensitive search fold shared by server and phone.
pub mod search;
/// The sync contract: mutations, push/pull messages and the hybrid logical clock.
pub mod sync;
/// Visits: the survey form screen and the phone's list of its own visits.
pub mod visits;

/// Typed IndexedDB access for the phone (the only module that touches IndexedDB).
#[cfg(feature = "hydrate")]
pub mod offline;
/// The server's shared state (database, clock, options).
#[cfg(feature = "ssr")]
pub mod state;
/// All SQL and the merge engine; compiled only into the server.
#[cfg(feature = "ssr")]
pub mod store;

/// Entry point for server-rendered pages: attach to the HTML the server sent.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Waits for the chunk of a lazy (office) route before hydrating it.
    leptos::mount::hydrate_lazy(root::App);
}

/// Entry point for the offline shell: the service worker served a page without
/// server-rendered content, so the app builds its DOM from scratch.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(root::App);
}
