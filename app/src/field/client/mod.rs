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
#[cfg(feature = "hydrate")]
mod restored;
/// The service worker's registration, updates and activation.
#[cfg(feature = "hydrate")]
mod service_worker;
/// localStorage and sessionStorage, failures read as absent.
#[cfg(feature = "hydrate")]
mod web_storage;

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
    /// The last run got no answer although the phone says it is online: Wi-Fi
    /// without internet, a captive portal, a server that is down.
    pub fn unreachable(&self) -> bool {
        matches!(self, SyncStatus::Error(body) if body.code == "network.unreachable")
    }

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
    /// Derived from `sync`: the banner to show (see `SyncAlert`).
    pub alert: Memo<SyncAlert>,
    /// While pushing: (mutations sent, mutations queued when the run began).
    pub progress: RwSignal<Option<(u32, u32)>>,
    /// While photo bytes travel: (bytes acknowledged, bytes of all photos to send).
    pub uploads: RwSignal<Option<(i64, i64)>>,
    /// Bumped whenever local data changed, so lists read IndexedDB again.
    pub data_version: RwSignal<u64>,
    /// A new version of the app has installed and waits for consent.
    pub update_ready: RwSignal<bool>,
    /// When the next automatic try runs after a failed sync (UTC ms), for the
    /// header's "the server cannot be reached, next try at …".
    pub retry_at: RwSignal<Option<i64>>,
    /// False from a sync run that got no answer until one that got any answer:
    /// the header keeps saying "server unreachable" while retries run.
    pub reachable: RwSignal<bool>,
}

impl ClientState {
    pub fn new() -> Self {
        let sync = RwSignal::new(SyncStatus::Idle);
        Self {
            loaded: RwSignal::new(false),
            user: RwSignal::new(None),
            device_id: RwSignal::new(None),
            online: RwSignal::new(true),
            sync,
            alert: Memo::new(move |previous: Option<&SyncAlert>| {
                previous.cloned().unwrap_or_default().after(&sync.get())
            }),
            progress: RwSignal::new(None),
            uploads: RwSignal::new(None),
            data_version: RwSignal::new(0),
            update_ready: RwSignal::new(false),
            retry_at: RwSignal::new(None),
            reachable: RwSignal::new(true),
        }
    }

    /// The user's id and this phone's device id, which every write of field
    /// data is stamped with; refused when nobody is logged in.
    pub fn who(&self) -> Result<(String, String), crate::error::ErrorBody> {
        let refuse = || crate::error::ErrorBody::new("auth.required", "log in");
        let user = self.user.get_untracked().ok_or_else(refuse)?;
        let device = self.device_id.get_untracked().ok_or_else(refuse)?;
        Ok((user.id, device))
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

/// What sync needs from the person, shown as a banner. Kept while a new run is
/// in progress, so the banner (and the backup button in it) does not flicker
/// off at every timer run.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SyncAlert {
    #[default]
    None,
    /// 401: the session ended; the queue is kept for the next login.
    Relogin,
    /// 403 `device.revoked`, or a login answered `auth.account_disabled` for
    /// the account this phone holds: it may no longer sync; back up its queue.
    Revoked(ErrorBody),
    /// 403 `auth.password_change_required`: an administrator reset the password.
    PasswordChange,
}

impl SyncAlert {
    /// The alert once sync reports `status`. A run in progress keeps the last
    /// alert; so does an error that says nothing about the account (no answer,
    /// a server fault). `Idle` is what login sets, so a login clears it.
    pub fn after(self, status: &SyncStatus) -> SyncAlert {
        match status {
            SyncStatus::Syncing => self,
            SyncStatus::Idle | SyncStatus::Ok => SyncAlert::None,
            // The account was deactivated (its sessions went with it): the
            // next runs' 401 must not turn that back into "log in again".
            SyncStatus::LoginRequired => match self {
                SyncAlert::Revoked(body) if body.code == "auth.account_disabled" => {
                    SyncAlert::Revoked(body)
                }
                _ => SyncAlert::Relogin,
            },
            SyncStatus::Error(body) => match body.code.as_str() {
                "device.revoked" | "auth.account_disabled" => SyncAlert::Revoked(body.clone()),
                "auth.password_change_required" => SyncAlert::PasswordChange,
                "network.unreachable" | "internal" | "http.status" => self,
                _ => SyncAlert::None,
            },
        }
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

/// First retry after a failed sync; doubles per failure up to `MAX_BACKOFF_MS`.
const FIRST_BACKOFF_MS: u32 = 2_000;
const MAX_BACKOFF_MS: u32 = 300_000;

/// Delay before retry number `failures` (1, 2, …): exponential with ±20 % jitter
/// (`jitter` in 0..1), so phones that lost the same link do not return in lockstep.
pub fn backoff_ms(failures: u32, jitter: f64) -> u32 {
    let base = FIRST_BACKOFF_MS.saturating_mul(1 << failures.saturating_sub(1).min(16));
    let base = base.min(MAX_BACKOFF_MS) as f64;
    (base * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))) as u32
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;
    use super::{SyncAlert, SyncStatus};
    use crate::error::ErrorBody;

    fn error(code: &str) -> SyncStatus {
        SyncStatus::Error(ErrorBody::new(code, "x"))
    }

    #[test]
    fn a_revoked_device_stays_alerted_while_the_next_run_is_in_progress() {
        let alert = SyncAlert::None.after(&error("device.revoked"));
        assert!(matches!(alert, SyncAlert::Revoked(_)));
        let alert = alert.after(&SyncStatus::Syncing);
        assert!(matches!(alert, SyncAlert::Revoked(_)));
        let alert = alert.after(&error("network.unreachable"));
        assert!(matches!(alert, SyncAlert::Revoked(_)));
    }

    #[test]
    fn a_login_or_a_good_sync_clears_the_alert() {
        let alert = SyncAlert::None.after(&SyncStatus::LoginRequired);
        assert_eq!(alert, SyncAlert::Relogin);
        assert_eq!(alert.clone().after(&SyncStatus::Idle), SyncAlert::None);
        assert_eq!(alert.after(&SyncStatus::Ok), SyncAlert::None);
    }

    #[test]
    fn a_deactivated_account_is_not_asked_to_log_in_again() {
        let alert = SyncAlert::Relogin.after(&error("auth.account_disabled"));
        assert!(matches!(&alert, SyncAlert::Revoked(b) if b.code == "auth.account_disabled"));
        // The sync runs after it still get 401: the alert stays.
        let alert = alert.after(&SyncStatus::Syncing);
        let alert = alert.after(&SyncStatus::LoginRequired);
        assert!(matches!(&alert, SyncAlert::Revoked(b) if b.code == "auth.account_disabled"));
        // A revoked device whose session then ends is asked to log in.
        let revoked = SyncAlert::None.after(&error("device.revoked"));
        assert_eq!(
            revoked.after(&SyncStatus::LoginRequired),
            SyncAlert::Relogin
        );
        // Reactivated, a login clears it.
        assert_eq!(alert.after(&SyncStatus::Idle), SyncAlert::None);
    }

    #[test]
    fn a_password_reset_asks_for_a_new_password() {
        assert_eq!(
            SyncAlert::Relogin.after(&error("auth.password_change_required")),
            SyncAlert::PasswordChange
        );
    }

    #[test]
    fn retries_back_off_exponentially_up_to_five_minutes() {
        assert_eq!(backoff_ms(1, 0.5), 2_000);
        assert_eq!(backoff_ms(2, 0.5), 4_000);
        assert_eq!(backoff_ms(5, 0.5), 32_000);
        assert_eq!(backoff_ms(30, 0.5), 300_000);
        assert!(backoff_ms(3, 0.0) < backoff_ms(3, 1.0));
        assert!(backoff_ms(3, 1.0) <= 9_600);
    }
}
