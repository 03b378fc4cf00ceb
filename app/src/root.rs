//! The root component, the router and the server-rendered HTML shell.

use crate::auth::{ChangePasswordPage, LoginPage, LogoutButton};
use crate::backup::BackupButton;
use crate::client::{use_client, ClientState, SyncAlert, SyncStatus};
use crate::i18n::{use_t, Lang, Locale};
use crate::model::Role;
use crate::proposals::HomePage;
use crate::visits::VisitPage;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path,
};
#[cfg(any(feature = "ssr", feature = "split"))]
use leptos_router::{lazy_route, Lazy, LazyRoute};

/// An office page whose code the phone never loads: in a `--split` build
/// (`cargo leptos build --split --lib-features hydrate --lib-features split`)
/// each is a WASM chunk fetched, then cached by the service worker, the first
/// time a supervisor or administrator opens it. Builds of the browser code
/// without the splitter (the wasm tests) get plain routes: a lazy function
/// makes the module import the splitter's loader, which only `--split` writes.
/// The server always renders them as lazy routes (the same markup, plus the
/// chunks' preload links when the build has them).
macro_rules! office_route {
    ($route:ident, $page:path) => {
        #[cfg(any(feature = "ssr", feature = "split"))]
        struct $route;

        #[cfg(any(feature = "ssr", feature = "split"))]
        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }

        #[cfg(not(any(feature = "ssr", feature = "split")))]
        #[allow(non_snake_case)]
        fn $route() -> impl IntoView {
            view! { <$page/> }
        }
    };
}

/// The view of an office route (see `office_route!`).
#[cfg(any(feature = "ssr", feature = "split"))]
macro_rules! office_view {
    ($route:ident) => {
        Lazy::<$route>::new()
    };
}
#[cfg(not(any(feature = "ssr", feature = "split")))]
macro_rules! office_view {
    ($route:ident) => {
        $route
    };
}

office_route!(ReviewListRoute, crate::office::review::ReviewListPage);
office_route!(ReviewDetailRoute, crate::office::review::ReviewDetailPage);
office_route!(ProposalRoute, crate::office::plan::ProposalPage);
office_route!(PlanRoute, crate::office::plan::PlanPage);
office_route!(RegistryRoute, crate::office::registry::RegistryPage);
office_route!(AdminRoute, crate::office::admin::AdminUsersPage);
office_route!(FormsAdminRoute, crate::office::admin::FormsAdminPage);

/// The document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="vi">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="theme-color" content="#0b6e4f"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="icon" href="/icons/favicon.svg" type="image/svg+xml"/>
                <link rel="apple-touch-icon" href="/icons/icon-192.png"/>
                <leptos_meta::HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <leptos_meta::MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let locale = Locale(RwSignal::new(Lang::Vi));
    provide_context(locale);
    let state = ClientState::new();
    provide_context(state);

    // Browser only: read who is logged in from IndexedDB, wire sync, mark hydration.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        start_in_browser(state, locale);
    });
    Effect::new(move |_| {
        let lang = locale.0.get();
        #[cfg(feature = "hydrate")]
        crate::client::browser::set_html_attribute("lang", lang.code());
        let _ = lang;
    });

    let tr = use_t();
    view! {
        <Title text=move || tr("app.title")/>
        <Router>
            <Header/>
            <main class="page">
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=HomePage/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/visits/:id") view=VisitPage/>
                    <Route path=path!("/review") view={office_view!(ReviewListRoute)}/>
                    <Route path=path!("/review/visits/:id") view={office_view!(ReviewDetailRoute)}/>
                    <Route path=path!("/review/proposals/:id") view={office_view!(ProposalRoute)}/>
                    <Route path=path!("/plan") view={office_view!(PlanRoute)}/>
                    <Route path=path!("/registry") view={office_view!(RegistryRoute)}/>
                    <Route path=path!("/admin") view={office_view!(AdminRoute)}/>
                    <Route path=path!("/admin/forms") view={office_view!(FormsAdminRoute)}/>
                    <Route path=path!("/account/password") view=ChangePasswordPage/>
                </Routes>
            </main>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
fn start_in_browser(state: ClientState, locale: Locale) {
    use crate::client::{browser, engine};
    if let Some(lang) = browser::local_storage_get("khaosat.lang") {
        locale.0.set(Lang::parse(&lang));
    }
    browser::register_service_worker(move || state.update_ready.set(true));
    engine::start(state);
    leptos::task::spawn_local(async move {
        if let Ok(db) = crate::offline::db().await {
            if let Ok(Some(session)) = db.session().await {
                state.device_id.set(Some(session.device_id.clone()));
                state.user.set(Some(session.user));
            }
        }
        state.loaded.set(true);
        browser::set_html_attribute("data-hydrated", "true");
        engine::sync_now(state).await;
    });
}

#[component]
fn Header() -> impl IntoView {
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
        lang.set(next);
        #[cfg(feature = "hydrate")]
        crate::client::browser::local_storage_set("khaosat.lang", next.code());
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
                            max=move || state.uploads.get().map(|p| p.1.max(1) as f64).unwrap_or(1.0)
                            value=move || state.uploads.get().map(|p| p.0 as f64).unwrap_or(0.0)
                        ></progress>
                    </Show>
                    <button
                        class="btn btn-small btn-secondary"
                        data-testid="sync-button"
                        on:click=move |_| crate::client::request_sync(state)
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
                    crate::client::browser::activate_waiting_worker();
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

#[component]
fn NotFound() -> impl IntoView {
    let tr = use_t();
    view! {
        <div class="empty-state">
            <h1>{move || tr("app.not_found")}</h1>
            <A href="/">{move || tr("app.go_home")}</A>
        </div>
    }
}

/// Placeholder while IndexedDB is read after hydration: identical on the server
/// and in the first client render, so hydration never mismatches.
#[component]
pub fn Loading() -> impl IntoView {
    let tr = use_t();
    view! { <p class="muted" data-testid="loading">{move || tr("app.loading")}</p> }
}
