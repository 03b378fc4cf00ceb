//! Login and the session. The login page posts to `/api/auth/login`, which binds
//! this phone's device to the user; the session cookie is HttpOnly, so the app
//! keeps who is logged in (and their device id) in IndexedDB to open offline.

/// Password hashing in a bounded number of slots with reused memory.
#[cfg(feature = "ssr")]
pub mod argon;
/// A login refused because the phone's own account was deactivated.
#[cfg(feature = "hydrate")]
mod disabled;
/// The header's logout button, which warns before leaving unsent changes.
pub mod logout;
/// Changing one's own password (required after an administrator set it).
pub mod password;
#[cfg(feature = "ssr")]
pub mod session;

pub use logout::LogoutButton;
pub use password::ChangePasswordPage;

use crate::field::backup::BackupButton;
use crate::field::client::{use_client, SyncAlert};
use crate::i18n::{use_locale, use_t};
use leptos::prelude::*;

/// Where a person goes once logged in: a password an administrator set is
/// replaced first; inspectors to their proposals, administrators without
/// field or review work to accounts, supervisors to the review list. The app
/// and the login form's redirect share it.
pub fn destination(user: &crate::model::UserInfo, must_change_password: bool) -> &'static str {
    use crate::model::Role;
    if must_change_password {
        "/account/password?required=1"
    } else if user.has(Role::Inspector) {
        "/"
    } else if user.has(Role::Supervisor) {
        "/review"
    } else {
        "/admin"
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let state = use_client();
    // Back from the HTML form's post (the app had not loaded): the name typed
    // and what went wrong come in the query; the password is typed again.
    let query = leptos_router::hooks::use_query_map();
    let typed = query
        .with_untracked(|q| q.get("username"))
        .unwrap_or_default();
    let refused = query.with_untracked(|q| {
        q.get("error").map(|code| {
            let body = crate::error::ErrorBody::new(&code, "");
            match q.get("retry_after_s").and_then(|s| s.parse::<u64>().ok()) {
                Some(wait) => body.with("retry_after_s", wait),
                None => body,
            }
        })
    });
    // Back from the form's successful post: the server holds the session; the
    // app binds this phone's device to it, then goes where a login goes.
    let signed_in = query.with_untracked(|q| q.get("signed_in").is_some());
    let username = RwSignal::new(typed.clone());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(refused);
    let busy = RwSignal::new(false);
    // False in the server's HTML and until the app runs: the page says it is
    // still loading, and the form posts by itself if tapped meanwhile.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let navigate = leptos_router::hooks::use_navigate();
    let adopting = RwSignal::new(signed_in);
    #[cfg(feature = "hydrate")]
    if signed_in {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match adopt_server_session(state).await {
                Ok(next) => navigate(next, Default::default()),
                Err(body) => {
                    error.set(Some(body));
                    adopting.set(false);
                }
            }
        });
    }
    // The server ended the session (401) but this phone still holds it: the
    // same person logs in again, and their queue goes out right after.
    let relogin = move || state.alert.get() == SyncAlert::Relogin && state.user.get().is_some();
    // The phone's device was revoked, or a login already said its account
    // is deactivated (kept across reloads): the page says it, with the
    // backup button, in its own lines (the banner stays off this page).
    let locked = move || match state.alert.get() {
        SyncAlert::Revoked(body) => state.user.get().map(|_| body),
        _ => None,
    };
    let shown = move || error.get().or_else(locked);
    Effect::new(move |_| {
        let relogin = state.alert.get() == SyncAlert::Relogin || locked().is_some();
        if let Some(user) = state.user.get().filter(|_| relogin) {
            if username.get_untracked().is_empty() {
                username.set(user.username);
            }
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let (u, p) = (username.get_untracked(), password.get_untracked());
        let navigate = navigate.clone();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let typed = u.clone();
            match login(state, u, p).await {
                Ok(home) => navigate(home, Default::default()),
                Err(body) => {
                    let body = disabled::after_refused_login(state, &typed, body).await;
                    error.set(Some(body));
                }
            }
            busy.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (u, p, navigate, state);
    };

    view! {
        <div class="login-card card">
            <h1>{move || tr("login.title")}</h1>
            <p class="muted">{move || tr("login.subtitle")}</p>
            <Show when=relogin>
                <p class="notice" data-testid="login-relogin-note">{move || tr("login.relogin_note")}</p>
            </Show>
            <p class="notice" role="status" data-testid="login-loading" hidden=move || hydrated.get() && !adopting.get()>
                {move || if adopting.get() { tr("login.finishing") } else { tr("login.app_loading") }}
            </p>
            // method and action make it a plain HTML form until the app has
            // loaded: a tap on a slow link logs in instead of wiping the fields.
            <form class="form" method="post" action="/api/auth/login" on:submit=submit>
                <div class="field">
                    <label for="username">{move || tr("login.username")}</label>
                    <input
                        id="username"
                        name="username"
                        data-testid="login-username"
                        autocomplete="username"
                        autocapitalize="none"
                        required
                        value=typed
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))
                    />
                </div>
                <PasswordField
                    id="password"
                    name="password"
                    testid="login-password"
                    label=Signal::derive(move || tr("login.password"))
                    autocomplete="current-password"
                    value=password
                />
                <Show when=move || shown().is_some()>
                    <p class="error-banner" role="alert" data-testid="login-error">
                        {move || shown().map(|b| crate::i18n::error_text(lang.get(), &b)).unwrap_or_default()}
                    </p>
                </Show>
                <div class="form-actions">
                    <button type="submit" class="btn btn-primary" data-testid="login-submit" disabled=move || busy.get()>
                        {move || tr("login.submit")}
                    </button>
                </div>
            </form>
            // The server refused this user's device on this phone (revoked), or
            // the account (deactivated): their queue can still leave as a file,
            // logged in or not.
            <Show when=move || shown().is_some_and(|b| b.code == "device.revoked" || b.code == "auth.account_disabled")>
                <BackupButton username=state
                    .user
                    .get_untracked()
                    .filter(|_| error.get_untracked().is_none())
                    .map(|u| u.username)
                    .unwrap_or_else(|| username.get_untracked())/>
            </Show>
        </div>
    }
}

/// A labelled, required password input bound to `value`, with an optional hint
/// that screen readers announce with the field. The login and the password page
/// share it.
#[component]
pub(crate) fn PasswordField(
    id: &'static str,
    testid: &'static str,
    label: Signal<String>,
    autocomplete: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] hint: Option<Signal<String>>,
    /// The form field's name, for a form that also posts without the app.
    #[prop(optional)]
    name: Option<&'static str>,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    let described_by = hint.is_some().then(|| hint_id.clone());
    view! {
        <div class="field">
            <label for=id>{move || label.get()}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id.clone()>{move || hint.get()}</p> })}
            <input
                id=id
                name=name
                type="password"
                data-testid=testid
                autocomplete=autocomplete
                aria-describedby=described_by
                required
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </div>
    }
}

/// Logs in, binds this phone's device for the user (reusing the one they had on
/// this phone, so their queue stays theirs) and returns where to go next.
#[cfg(feature = "hydrate")]
async fn login(
    state: crate::field::client::ClientState,
    username: String,
    password: String,
) -> Result<&'static str, crate::error::ErrorBody> {
    use crate::error::ErrorBody;
    use crate::field::client::http;
    use crate::sync::{LoginRequest, LoginResponse};
    let storage = |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    let db = crate::field::offline::db().await.map_err(storage)?;
    let key = username.trim().to_lowercase();
    let known = db.device_for(&key).await.map_err(storage)?;
    let request = LoginRequest {
        username: key.clone(),
        password,
        device_id: known.as_deref().and_then(|d| uuid::Uuid::parse_str(d).ok()),
    };
    // Nothing of a login waits on the phone: offline, it says so.
    let response: LoginResponse = http::post_json("/api/auth/login", &request)
        .await
        .map_err(|e| e.body_not_kept())?;
    let device = match known {
        Some(d) => d,
        // Typed otherwise than the account's name (its phone number, another
        // Unicode spelling): this phone's device is found by the name the
        // server answered, so a queue an earlier session left stays the
        // account's and goes out, then bound to the session as the plain
        // form's login is. A new device under the typed text stranded it.
        None => bind_device_of(&db, &response.user.username).await?,
    };
    let next = destination(&response.user, response.must_change_password);
    keep_session(
        &db,
        state,
        response.user,
        device,
        response.must_change_password,
    )
    .await?;
    Ok(next)
}

/// The login form posted before the app loaded: the server holds a session
/// (cookie) that this phone does not know yet. Adopt it as a login from the app
/// would: this phone's device for the user (the one it had, so a queue left by
/// an earlier session stays theirs) is bound to the session and kept in
/// IndexedDB; returns where to go next.
#[cfg(feature = "hydrate")]
async fn adopt_server_session(
    state: crate::field::client::ClientState,
) -> Result<&'static str, crate::error::ErrorBody> {
    use crate::error::ErrorBody;
    use crate::field::client::http;
    let storage = |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    let db = crate::field::offline::db().await.map_err(storage)?;
    let me: crate::sync::MeResponse = http::get_json("/api/auth/me")
        .await
        .map_err(|e| e.body_not_kept())?;
    let device = bind_device_of(&db, &me.user.username).await?;
    let next = destination(&me.user, me.must_change_password);
    keep_session(&db, state, me.user, device, me.must_change_password).await?;
    Ok(next)
}

/// This phone's device for `username` (the one it had, so a queue left by an
/// earlier session stays theirs; else a new one), bound to the session.
#[cfg(feature = "hydrate")]
async fn bind_device_of(
    db: &crate::field::offline::OfflineDb,
    username: &str,
) -> Result<String, crate::error::ErrorBody> {
    use crate::error::ErrorBody;
    use crate::field::client::{browser, http};
    let storage = |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    let device = match db.device_for(username).await.map_err(storage)? {
        Some(d) => d,
        None => crate::sync::new_uuid_v7(browser::now_ms()).to_string(),
    };
    let request = crate::sync::DeviceRequest {
        device_id: uuid::Uuid::parse_str(&device)
            .map_err(|_| ErrorBody::new("internal", "device id is not a UUID"))?,
    };
    let _: serde_json::Value = http::post_json("/api/auth/device", &request)
        .await
        .map_err(|e| e.body_not_kept())?;
    Ok(device)
}

/// After either login: this phone's device for the user and the session go
/// into IndexedDB (so the app opens offline), then into the app's state, and
/// the queue syncs, unless the password an administrator set must be replaced
/// first: the server refuses sync until then (403
/// auth.password_change_required), and the password page syncs once it is
/// changed.
#[cfg(feature = "hydrate")]
async fn keep_session(
    db: &crate::field::offline::OfflineDb,
    state: crate::field::client::ClientState,
    user: crate::model::UserInfo,
    device: String,
    must_change_password: bool,
) -> Result<(), crate::error::ErrorBody> {
    let storage = |e: crate::field::offline::OfflineError| {
        crate::error::ErrorBody::new(e.code(), e.to_string())
    };
    db.set_device_for(&user.username, &device)
        .await
        .map_err(storage)?;
    let session = crate::field::offline::Session {
        user: user.clone(),
        device_id: device.clone(),
        must_change_password,
        account_disabled: false,
    };
    db.set_session(&session).await.map_err(storage)?;
    crate::field::client::browser::forget_seen_photos().await;
    state.device_id.set(Some(device));
    state.user.set(Some(user));
    state.sync.set(crate::field::client::SyncStatus::Idle);
    if !must_change_password {
        crate::field::client::request_sync(state);
    }
    Ok(())
}

/// Ends the session on the server and on the phone. Queued changes stay in the
/// outbox under this user's device and go out at their next login.
#[cfg(feature = "hydrate")]
pub async fn logout(state: crate::field::client::ClientState) {
    let _: Result<serde_json::Value, _> =
        crate::field::client::http::post_json("/api/auth/logout", &()).await;
    if let Ok(db) = crate::field::offline::db().await {
        let _ = db.clear_session().await;
    }
    crate::field::client::browser::forget_seen_photos().await;
    state.user.set(None);
    state.device_id.set(None);
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href("/login");
    }
}
