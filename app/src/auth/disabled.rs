//! A login refused with `auth.account_disabled` for the account this phone
//! holds. Its sessions ended with it, so the phone would otherwise go on
//! saying "session expired, log in again". What the phone does depends on
//! what of the account the device still holds.

use leptos::prelude::*;

/// What the login page shows for a refused login, after the phone has taken
/// in what the refusal means for the account it holds: if the device still
/// holds its work, the refusal is kept (every page says it, with the backup
/// button, and no sync is asked for); if not, the kept session is forgotten
/// and the sentence offers no backup.
pub(super) async fn after_refused_login(
    state: crate::field::client::ClientState,
    typed: &str,
    body: crate::error::ErrorBody,
) -> crate::error::ErrorBody {
    let held = state
        .user
        .get_untracked()
        .filter(|h| h.username.eq_ignore_ascii_case(typed.trim()));
    match held {
        Some(h) if body.code == "auth.account_disabled" => {
            if holds_unsent(state, &h).await {
                keep_account_disabled(state, &body).await;
                body
            } else {
                forget_kept_session(state).await;
                crate::error::ErrorBody::new(
                    "auth.account_disabled_nothing_kept",
                    "this account was deactivated; nothing of it waits on this device",
                )
            }
        }
        _ => body,
    }
}

/// The account this phone holds was deactivated: said in the header and on
/// every page from now on, also after a reload, and no sync is asked for
/// (each would be a 401 that reads "log in again").
async fn keep_account_disabled(
    state: crate::field::client::ClientState,
    body: &crate::error::ErrorBody,
) {
    if let Ok(db) = crate::field::offline::db().await {
        if let Ok(Some(mut session)) = db.session().await {
            session.account_disabled = true;
            let _ = db.set_session(&session).await;
        }
    }
    state
        .sync
        .set(crate::field::client::SyncStatus::Error(body.clone()));
}

/// Whether this device holds anything of `user` not yet on the server: the
/// outbox (refused visits put back into it first, as a logout does) or a
/// photo still to upload. Unreadable storage counts as holding something.
async fn holds_unsent(
    state: crate::field::client::ClientState,
    user: &crate::model::UserInfo,
) -> bool {
    let Some(device) = state.device_id.get_untracked() else {
        return false;
    };
    if !user.syncs() {
        return false;
    }
    match crate::field::visits::requeue::before_logout(user.id.clone(), device).await {
        Ok(held) => held.queued > 0 || held.photos,
        Err(_) => true,
    }
}

/// The kept session of an account with nothing left on this device, ended
/// on the server: the pages ask for a login, not for a backup.
async fn forget_kept_session(state: crate::field::client::ClientState) {
    if let Ok(db) = crate::field::offline::db().await {
        let _ = db.clear_session().await;
    }
    state.user.set(None);
    state.device_id.set(None);
}
