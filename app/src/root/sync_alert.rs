//! The banner under the header that says what sync needs from the person.

use crate::field::backup::BackupButton;
use crate::field::client::{use_client, SyncAlert};
use crate::i18n::{use_t, Locale};
use leptos::prelude::*;
use leptos_router::components::A;

/// What sync needs from the person, under the header on every page: log in
/// again (401), back up a revoked phone (403 `device.revoked`), or choose a new
/// password. Only the alert and the user are tracked here; texts are reactive
/// inside, so a language switch does not remount the backup button.
#[component]
pub fn SyncAlertBanner() -> impl IntoView {
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
            // The login page says it, with its own backup button.
            SyncAlert::Revoked(_) if pathname.get() == "/login" => return None,
            SyncAlert::Revoked(body) => {
                // Reactivated since, the account gets in by logging in again.
                let disabled = body.code == "auth.account_disabled";
                view! {
                    <div class="error-banner" role="alert" data-testid="device-revoked-banner">
                        <p>{move || crate::i18n::error_text(lang.get(), &body)}</p>
                        {disabled.then(|| view! {
                            <p><A href="/login">{move || tr("sync.relogin_link")}</A></p>
                        })}
                        <BackupButton/>
                    </div>
                }
                .into_any()
            }
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
