//! What every screen of the phone app shares: who is logged in, whether the
//! network is there, and where sync stands. Lives in signals provided at the root;
//! the browser-only parts (HTTP, sync engine, events) compile only for `hydrate`.

use crate::error::ErrorBody;
use crate::model::UserInfo;
use leptos::prelude::*;

#[cfg(feature = "hydrate")]
pub mod browser;
#[cfg(feature = "hydrate")]
pub mod engine;
#[cfg(feature = "hydrate")]
pub mod http;

#[derive(Debug, Clone, PartialEq)]
pub enum SyncStatus {
    Idle,
    Syncing,
    Ok,
    /// The last sync failed; the code is translated for the inspector.
    Error(ErrorBody),
    /// The session ended: the queue is kept and waits for a new login.
    LoginRequired,
}

impl SyncStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            SyncStatus::Idle => "idle",
            SyncStatus::Syncing => "syncing",
            SyncStatus::Ok => "ok",
            SyncStatus::Error(_) | SyncStatus::LoginRequired => "error",
        }
    }
}

#[derive(Clone, Copy)]
pub struct ClientState {
    /// False until IndexedDB has been read after hydration (the server never knows).
    pub loaded: RwSignal<bool>,
    pub user: RwSignal<Option<UserInfo>>,
    pub device_id: RwSignal<Option<String>>,
    pub online: RwSignal<bool>,
    pub sync: RwSignal<SyncStatus>,
    /// Bumped whenever local data changed, so lists read IndexedDB again.
    pub data_version: RwSignal<u64>,
}

impl ClientState {
    pub fn new() -> Self {
        Self {
            loaded: RwSignal::new(false),
            user: RwSignal::new(None),
            device_id: RwSignal::new(None),
            online: RwSignal::new(true),
            sync: RwSignal::new(SyncStatus::Idle),
            data_version: RwSignal::new(0),
        }
    }

    pub fn bump(&self) {
        self.data_version.update(|v| *v += 1);
    }
}

impl Default for ClientState {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_client() -> ClientState {
    expect_context::<ClientState>()
}

/// Asks for a sync now (no-op during server rendering).
pub fn request_sync(state: ClientState) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(engine::sync_now(state));
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}
