//! What the server process shares with every request and server function.

use crate::store::{push::ServerClock, Db};
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Arc<ServerClock>,
    pub leptos_options: LeptosOptions,
    /// Send the session cookie with `Secure` (served over HTTPS, or behind a TLS proxy).
    pub secure_cookies: bool,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
