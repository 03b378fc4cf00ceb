//! The header (one status line for connection, sync and upload; a menu with the
//! office links, storage, language and logout) and the banners under it: a new
//! version ready, and what sync needs from the person.

use crate::auth::LogoutButton;
use crate::field::client::{use_client, SyncAlert, SyncStatus};
use crate::i18n::{use_t, Locale};
use crate::model::Role;
use leptos::prelude::*;

/// What the one status line says, most urgent first: no network, no server,
/// photo bytes travelling, a sync running, a failed sync, then the last result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Offline,
    Unreachable,
    Uploading,
    Syncing,
    Failed,
    Synced,
    Idle,
}

impl Line {
    fn of(online: bool, syncs: bool, reachable: bool, sync: &SyncStatus, uploading: bool) -> Line {
        match sync {
            _ if !online => Line::Offline,
            _ if !syncs => Line::Idle,
            _ if !reachable => Line::Unreachable,
            s if s.unreachable() => Line::Unreachable,
            _ if uploading => Line::Uploading,
            SyncStatus::Syncing => Line::Syncing,
            SyncStatus::Error(_) | SyncStatus::LoginRequired => Line::Failed,
            SyncStatus::Ok => Line::Synced,
            SyncStatus::Idle => Line::Idle,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Line::Offline => "offline",
            Line::Unreachable => "unreachable",
            Line::Uploading => "uploading",
            Line::Syncing => "syncing",
            Line::Failed => "error",
            Line::Synced => "ok",
            Line::Idle => "idle",
        }
    }
}

/// One line on the phone: the title, one status (connection, sync, upload),
/// the sync button and a menu for everything else. Nothing in it wraps: a long
/// status is cut with an ellipsis and read in full in the menu.
#[component]
pub(super) fn Header() -> impl IntoView {
    let state = use_client();
    let Locale(lang) = crate::i18n::use_locale();
    let tr = use_t();
    let menu_open = RwSignal::new(false);
    let syncs = move || state.user.get().is_some_and(|u| u.syncs());
    let line = Memo::new(move |_| {
        state.sync.with(|s| {
            Line::of(
                state.online.get(),
                syncs(),
                state.reachable.get(),
                s,
                state.uploads.get().is_some(),
            )
        })
    });
    let retry_text = move || {
        state
            .retry_at
            .get()
            .map(|at| tr("network.retry_at").replace("{time}", &crate::format::time_vn(at)))
            .unwrap_or_default()
    };
    let network_text = move || match line.get() {
        Line::Offline => tr("network.offline"),
        Line::Unreachable => tr("network.unreachable"),
        _ => tr("network.online"),
    };
    let sync_text = move || match state.sync.get() {
        SyncStatus::Idle => tr("sync.idle"),
        SyncStatus::Syncing => match state.progress.get() {
            Some((sent, total)) => format!("{} {sent}/{total}", tr("sync.syncing")),
            None => tr("sync.syncing"),
        },
        SyncStatus::Ok => tr("sync.ok"),
        SyncStatus::LoginRequired | SyncStatus::Error(_) => tr("sync.failed"),
    };
    let upload_text = move || {
        let (done, total) = state.uploads.get().unwrap_or((0, 0));
        let vi = lang.get() == crate::i18n::Lang::Vi;
        let mb = |n| crate::format::in_notation(&crate::format::megabytes(n), vi);
        tr("photo.uploads")
            .replace("{done}", &mb(done))
            .replace("{total}", &mb(total))
    };
    // The whole story, in the menu (and as the line's accessible description).
    // Nothing done on an office page waits on the machine: whoever is there
    // (a supervisor syncs a phone too) must not be told, as on the phone's
    // pages, that the work is kept until the network returns.
    let location = leptos_router::hooks::use_location().pathname;
    let office = move || office_page(&location.get());
    let detail_text = move || match (line.get(), state.sync.get()) {
        (Line::Offline, _) if office() => tr("network.offline_detail_office"),
        (Line::Offline, _) => tr("network.offline_detail"),
        (Line::Unreachable, _) if office() => tr("network.unreachable_detail_office"),
        (Line::Unreachable, _) => format!("{} {}", tr("network.unreachable_detail"), retry_text()),
        (_, SyncStatus::LoginRequired) => match state.alert.get() {
            SyncAlert::Revoked(body) => crate::i18n::error_text(lang.get(), &body),
            _ => tr("sync.login_required"),
        },
        (_, SyncStatus::Error(body)) => crate::i18n::error_text(lang.get(), &body),
        (Line::Uploading, _) => upload_text(),
        _ => sync_text(),
    };
    let menu_button = NodeRef::<leptos::html::Button>::new();
    let toggle_lang = move |_| {
        menu_open.set(false);
        // On a phone the closed menu hides the switch that had the focus:
        // the menu's button takes it, where the keyboard can carry on.
        request_animation_frame(move || {
            if let Some(b) = menu_button.get_untracked() {
                if b.offset_parent().is_some() {
                    let _ = b.focus();
                }
            }
        });
        let next = lang.get_untracked().other();
        #[cfg(feature = "hydrate")]
        crate::i18n::switch(Locale(lang), next);
        #[cfg(not(feature = "hydrate"))]
        lang.set(next);
    };
    // A new page, or a tap anywhere outside the menu, closes it.
    let pathname = leptos_router::hooks::use_location().pathname;
    Effect::new(move |_| {
        pathname.track();
        menu_open.set(false);
    });
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::click, move |ev| {
            let inside = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|el| el.closest(".header-menu, .menu-button").ok().flatten())
                .is_some();
            if !inside && menu_open.get_untracked() {
                menu_open.set(false);
            }
        });
        on_cleanup(move || handle.remove());
    }
    let has = move |roles: &[Role]| {
        state
            .user
            .get()
            .is_some_and(|u| roles.iter().any(|r| u.has(*r)))
    };
    view! {
        <header class="app-header" data-testid="app-header" data-line=move || line.get().as_str()
            on:keydown=move |ev| if ev.key() == "Escape" { menu_open.set(false) }>
            <a href="/" class="app-title">{move || tr("app.short_title")}</a>
            <div class="status-line" data-testid="status-line" data-state=move || line.get().as_str()
                role="status" title=detail_text>
                <span class="network-status" data-testid="network-status"
                    data-online=move || state.online.get().to_string()
                    data-reachable=move || (line.get() != Line::Unreachable).to_string()
                    class:quiet=move || !matches!(line.get(), Line::Offline | Line::Unreachable)>
                    <span class="status-text">{network_text}</span>
                </span>
                <Show when=syncs>
                    <span class="sync-status" data-testid="sync-status" data-state=move || state.sync.get().as_str()
                        class:quiet=move || matches!(line.get(), Line::Offline | Line::Unreachable | Line::Uploading)>
                        {sync_text}
                    </span>
                    <Show when=move || state.uploads.get().is_some()>
                        <span class="upload-status" data-testid="upload-progress-text"
                            class:quiet=move || line.get() != Line::Uploading>
                            {upload_text}
                        </span>
                    </Show>
                </Show>
            </div>
            <Show when=syncs>
                <button class="btn icon-btn" data-testid="sync-button" title=move || tr("sync.now")
                    aria-label=move || tr("sync.now")
                    on:click=move |_| crate::field::client::request_sync(state)>
                    <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
                        <path fill="currentColor" d="M12 4V1L8 5l4 4V6a6 6 0 0 1 5.7 7.9l1.5 1.5A8 8 0 0 0 12 4zm-5.7 6.1L4.8 8.6A8 8 0 0 0 12 20v3l4-4-4-4v3a6 6 0 0 1-5.7-7.9z"/>
                    </svg>
                </button>
            </Show>
            <button class="btn icon-btn menu-button" data-testid="header-menu-button" node_ref=menu_button
                aria-controls="header-menu" aria-expanded=move || menu_open.get().to_string()
                aria-label=move || tr("app.menu")
                on:click=move |_| menu_open.update(|o| *o = !*o)>
                <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
                    <path fill="currentColor" d="M3 6h18v2H3zm0 5h18v2H3zm0 5h18v2H3z"/>
                </svg>
            </button>
            <nav id="header-menu" class="header-menu" class:open=move || menu_open.get()
                data-testid="header-menu" aria-label=move || tr("app.menu")>
                <Show when=move || state.user.get().is_some()>
                    <p class="menu-status" data-testid="status-detail">{detail_text}</p>
                    <span class="user-name" data-testid="user-name">
                        {move || state.user.get().map(|u| u.display_name).unwrap_or_default()}
                    </span>
                    <Show when=move || has(&[Role::Supervisor])>
                        <a href="/review" class="btn btn-small" data-testid="review-link">{move || tr("review.link")}</a>
                    </Show>
                    // Administrators set the budget on the plan page.
                    <Show when=move || has(&[Role::Supervisor, Role::Administrator])>
                        <a href="/plan" class="btn btn-small" data-testid="plan-link">{move || tr("plan.link")}</a>
                        <a href="/registry" class="btn btn-small" data-testid="registry-link">{move || tr("registry.link")}</a>
                    </Show>
                    <Show when=move || has(&[Role::Administrator])>
                        <a href="/admin" class="btn btn-small" data-testid="admin-link">{move || tr("admin.link")}</a>
                    </Show>
                    <Show when=move || has(&[Role::Inspector])>
                        <a href="/#storage" class="btn btn-small" data-testid="storage-link">{move || tr("app.storage_link")}</a>
                    </Show>
                </Show>
                // Its text is in the other language: screen readers say it so.
                <button class="btn btn-small lang-switch" data-testid="lang-switch" on:click=toggle_lang
                    lang=move || lang.get().other().code()>
                    {move || tr("app.other_language")}
                </button>
                <Show when=move || state.user.get().is_some()>
                    <LogoutButton/>
                </Show>
            </nav>
            <Show when=move || state.progress.get().is_some()>
                <progress
                    class="header-progress"
                    data-testid="sync-progress"
                    aria-label=move || tr("sync.syncing")
                    max=move || state.progress.get().map(|p| p.1).unwrap_or(1)
                    value=move || state.progress.get().map(|p| p.0).unwrap_or(0)
                ></progress>
            </Show>
            <Show when=move || state.uploads.get().is_some()>
                <progress
                    class="header-progress"
                    data-testid="upload-progress"
                    aria-label=upload_text
                    max=move || state.uploads.get().map(|p| p.1.max(1)).unwrap_or(1)
                    value=move || state.uploads.get().map(|p| p.0).unwrap_or(0)
                ></progress>
            </Show>
        </header>
        <super::sync_alert::SyncAlertBanner/>
        <UpdateBanner/>
    }
}

/// A new version is ready: it activates only when the person says so.
/// Whether `path` is one of the office's pages, which keep nothing offline.
fn office_page(path: &str) -> bool {
    ["/review", "/plan", "/registry", "/admin"].iter().any(|p| {
        path == *p
            || path
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

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

#[cfg(test)]
mod tests {
    use super::{Line, SyncStatus};
    use crate::error::ErrorBody;

    #[test]
    fn the_office_pages_are_told_apart_from_the_phones() {
        for path in [
            "/review",
            "/review/visits/x",
            "/plan",
            "/registry",
            "/admin/forms",
        ] {
            assert!(super::office_page(path), "{path}");
        }
        for path in [
            "/",
            "/visits/x",
            "/login",
            "/account/password",
            "/reviewer",
            "/planet",
        ] {
            assert!(!super::office_page(path), "{path}");
        }
    }

    #[test]
    fn the_status_line_says_the_most_urgent_state_first() {
        let unreachable = SyncStatus::Error(ErrorBody::new("network.unreachable", ""));
        let refused = SyncStatus::Error(ErrorBody::new("auth.forbidden", ""));
        // (online, syncs, reachable, status, uploading) → line
        let cases = [
            (false, true, false, &unreachable, true, Line::Offline),
            (true, false, true, &refused, false, Line::Idle),
            (true, true, true, &unreachable, false, Line::Unreachable),
            // A retry running after no answer still says the server is unreachable.
            (
                true,
                true,
                false,
                &SyncStatus::Syncing,
                true,
                Line::Unreachable,
            ),
            (
                true,
                true,
                true,
                &SyncStatus::Syncing,
                true,
                Line::Uploading,
            ),
            (true, true, true, &SyncStatus::Syncing, false, Line::Syncing),
            (true, true, true, &refused, false, Line::Failed),
            (
                true,
                true,
                true,
                &SyncStatus::LoginRequired,
                false,
                Line::Failed,
            ),
            (true, true, true, &SyncStatus::Ok, false, Line::Synced),
            (true, true, true, &SyncStatus::Idle, false, Line::Idle),
        ];
        for (online, syncs, reachable, status, uploading, line) in cases {
            assert_eq!(
                Line::of(online, syncs, reachable, status, uploading),
                line,
                "{online} {syncs} {reachable} {status:?} {uploading}"
            );
        }
    }
}
