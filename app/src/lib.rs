//! khaosat's Leptos app: components, routes, server functions and the types both
//! sides share. Built twice: `hydrate` for the phone (wasm32) and `ssr` for the server.
#![recursion_limit = "256"]

// The contract and domain both sides share: forms and their rules, the sync
// protocol and its clock, the domain model and its rules, errors, formatting,
// i18n, the search fold, photo records with EXIF and header parsing.

/// Login, logout and password pages, and the session the server checks on
/// every request (used by phone and office alike).
pub mod auth;
/// Vietnamese alphabetical order (đ after d, tones in dictionary order) as a
/// sort key, for the lists people read on both sides.
pub mod collation;
/// Domain rules without SQL: usernames, phones, passwords, display names.
pub mod domain;
/// Error bodies `{code, params, message}` shared by server and phone, and the
/// server-side error enum that maps them to HTTP statuses.
pub mod error;
/// Display helpers for VND and Vietnam time that must agree on both sides.
pub mod format;
/// Versioned survey form definitions and their validation rules.
pub mod forms;
/// Vietnamese compiled in, English fetched on demand in the browser.
pub mod i18n;
/// Domain types: administrative units, facilities, proposals, users and roles.
pub mod model;
/// Money as people type it: whole đồng, Vietnamese digit grouping.
pub mod money;
/// Only the newest of a page's async reads may show (IndexedDB on the phone,
/// a chosen file converted on the office's forms screen).
pub mod newest;
/// Photos: the attach_photo record, statuses, EXIF and header parsing, the
/// photo widgets, and (on the server) the storage interface.
pub mod photos;
/// The diacritic-insensitive search fold shared by server and phone.
pub mod search;
/// The sync contract: mutations, push/pull messages and the hybrid logical clock.
pub mod sync;

// The two apps.

/// The field app on the inspector's phone: home and proposals, visits, photo
/// capture and upload, the offline database, the sync engine, durability and
/// backup.
pub mod field;
/// The office console: review, plan, administration, the registry, unit trees
/// and years, each a folder with its contract (server functions and their
/// types), its components and, where it reads files, its checks.
pub mod office;
/// Root component, router (lazy field and office pages) and the HTML shell.
pub mod root;

// The server's side.

/// Every error code the source sends has its sentence in both languages.
#[cfg(all(test, feature = "ssr"))]
mod error_texts_tests;
/// The layout's rules, read from the source: the store imports no view, and
/// server functions live in contracts.
#[cfg(all(test, feature = "ssr"))]
mod layout_tests;
/// The office's text stays out of the phone's module, and the phone's code
/// needs none of it.
#[cfg(all(test, feature = "ssr"))]
mod locale_split_tests;
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
    // The chosen language's texts first: the server rendered the page in it.
    // Then: waits for the chunk of a lazy route before hydrating it, and
    // holds back state read from the browser until the whole page has
    // hydrated.
    wasm_bindgen_futures::spawn_local(async {
        i18n::load_chosen().await;
        root::hydration::hydrate_body();
    });
}

/// Entry point for the offline shell: the service worker served a page without
/// server-rendered content, so the app builds its DOM from scratch.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn mount() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        i18n::load_chosen().await;
        leptos::mount::mount_to_body(root::App);
    });
}
