//! The header (connection, sync and upload status, the office links, logout,
//! language) and the banners under it: a new version ready, and what sync
//! needs from the person.

use crate::auth::LogoutButton;
use crate::field::backup::BackupButton;
use crate::field::client::{use_client, SyncAlert, SyncStatus};
use crate::i18n::{use_t, Locale};
use crate::model::Role;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub(super) fn Header() -> impl IntoView {
    let state = use_client();
    let Locale(lang) = crate::i18n::use_locale();
    let tr = use_t();
    let sync_text = move || match state.sync.get() {
        SyncStatus::Idle => tr("sync.idle"),
        SyncStatus::Syncing => match state.progress.get() {
            Some((sent, total)) => format!("{} {sent}/{total}", tr("sync.syncing")),
            None => tr("sync.syncing"),
        },
        SyncStatus::Ok => tr("sync.ok"),
        SyncStatus::LoginRequired => tr("sync.login_required"),
        SyncStatus::Error(body) => crate::i18n::error_text(lang.get(), &body),
    };
    let toggle_lang = move |_| {
        let next = lang.get_untracked().other();
        #[cfg(feature = "hydrate")]
        crate::i18n::switch(Locale(lang), next);
        #[cfg(not(feature = "hydrate"))]
        lang.set(next);
    };
    view! {
        <header class="app-header" data-testid="app-header">
            <a href="/" class="app-title">{move || tr("app.short_title")}</a>
            <div class="header-actions">
                <span
                    class="network-status"
                    data-testid="network-status"
                    data-online=move || state.online.get().to_string()
                >
                    {move || if state.online.get() { tr("network.online") } else { tr("network.offline") }}
                </span>
                <Show when=move || state.user.get().is_some()>
                    <span class="sync-status" data-testid="sync-status" data-state=move || state.sync.get().as_str()>
                        {sync_text}
                    </span>
                    <Show when=move || state.progress.get().is_some()>
                        <progress
                            class="sync-progress"
                            data-testid="sync-progress"
                            max=move || state.progress.get().map(|p| p.1).unwrap_or(1)
                            value=move || state.progress.get().map(|p| p.0).unwrap_or(0)
                        ></progress>
                    </Show>
                    <Show when=move || state.uploads.get().is_some()>
                        <span class="upload-status" data-testid="upload-progress-text">
                            {move || {
                                let (done, total) = state.uploads.get().unwrap_or((0, 0));
                                tr("photo.uploads")
                                    .replace("{done}", &crate::format::megabytes(done))
                                    .replace("{total}", &crate::format::megabytes(total))
                            }}
                        </span>
                        <progress
                            class="sync-progress"
                            data-testid="upload-progress"
                            max=move || state.uploads.get().map(|p| p.1.max(1)).unwrap_or(1)
                            value=move || state.uploads.get().map(|p| p.0).unwrap_or(0)
                        ></progress>
                    </Show>
                    <button
                        class="btn btn-small btn-secondary"
                        data-testid="sync-button"
                        on:click=move |_| crate::field::client::request_sync(state)
                    >
                        {move || tr("sync.now")}
                    </button>
                    <span class="user-name" data-testid="user-name">
                        {move || state.user.get().map(|u| u.display_name).unwrap_or_default()}
                    </span>
                    <Show when=move || state.user.get().is_some_and(|u| u.has(Role::Supervisor))>
                        <a href="/review" class="btn btn-small" data-testid="review-link">{move || tr("review.link")}</a>
                    </Show>
                    // Administrators set the budget on the plan page.
                    <Show when=move || state.user.get().is_some_and(|u| u.has(Role::Supervisor) || u.has(Role::Administrator))>
                        <a href="/plan" class="btn btn-small" data-testid="plan-link">{move || tr("plan.link")}</a>
                        <a href="/registry" class="btn btn-small" data-testid="registry-link">{move || tr("registry.link")}</a>
                    </Show>
                    <Show when=move || state.user.get().is_some_and(|u| u.has(Role::Administrator))>
                        <a href="/admin" class="btn btn-small" data-testid="admin-link">{move || tr("admin.link")}</a>
                    </Show>
                    <LogoutButton/>
                </Show>
                <button class="btn btn-small lang-switch" data-testid="lang-switch" on:click=toggle_lang>
                    {move || tr("app.other_language")}
                </button>
            </div>
        </header>
        <SyncAlertBanner/>
        <UpdateBanner/>
    }
}

/// A new version is ready: it activates only when the person says so.
#[component]
fn UpdateBanner() -> impl IntoView {
    let state = use_client();
    let tr = use_t();
    view! {
        <Show when=move || state.update_ready.get()>
            <div class="notice update-banner" role="status" data-testid="update-banner">
                <span>{move || tr("app.update_ready")}</span>
                <button class="btn btn-primary btn-small" data-testid="update-now" on:click=move |_| {
                    #[cfg(feature = "hydrate")]
                    crate::field::client::browser::activate_waiting_worker();
                }>{move || tr("app.update_now")}</button>
            </div>
        </Show>
    }
}

/// What sync needs from the person, under the header on every page: log in
/// again (401), back up a revoked phone (403 `device.revoked`), or choose a new
/// password. Only the alert and the user are tracked here; texts are reactive
/// inside, so a language switch does not remount the backup button.
#[component]
fn SyncAlertBanner() -> impl IntoView {
    let state = use_client();
    let Locale(lang) = crate::i18n::use_locale();
    let tr = use_t();
    let pathname = leptos_router::hooks::use_location().pathname;
    move || {
        // Read the alert first so the memo stays subscribed (and keeps latching)
        // even while nobody is logged in.
        let alert = state.alert.get();
        state.user.get()?;
        let banner = match alert {
            SyncAlert::None => return None,
            SyncAlert::Relogin => view! {
                <div class="warning-banner" role="alert" data-testid="relogin-banner">
                    {move || tr("sync.relogin_banner")}
                    " "
                    <Show when=move || pathname.get() != "/login">
                        <A href="/login">{move || tr("sync.relogin_link")}</A>
                    </Show>
                </div>
            }
            .into_any(),
            SyncAlert::Revoked(body) => view! {
                <div class="error-banner" role="alert" data-testid="device-revoked-banner">
                    <p>{move || crate::i18n::error_text(lang.get(), &body)}</p>
                    <BackupButton/>
                </div>
            }
            .into_any(),
            SyncAlert::PasswordChange => view! {
                <div class="warning-banner" role="alert" data-testid="password-change-banner">
                    {move || tr("errors.auth.password_change_required")}
                    " "
                    <A href="/account/password?required=1">{move || tr("sync.change_password_link")}</A>
                </div>
            }
            .into_any(),
        };
        Some(banner)
    }
}
