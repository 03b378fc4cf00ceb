//! The root component, the router and the server-rendered HTML shell.

use crate::auth::{LoginPage, LogoutButton};
use crate::backup::BackupButton;
use crate::client::{use_client, ClientState, SyncAlert, SyncStatus};
use crate::i18n::{use_t, Lang, Locale};
use crate::model::Role;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path,
};
#[cfg(any(feature = "ssr", feature = "split"))]
use leptos_router::{Lazy, LazyRoute};

/// Pages whose code is not in the main WASM module. In a `--split` build
/// (`cargo leptos build --split --lib-features hydrate --lib-features split`)
/// the field's pages are one lazy function and the office's pages another, so
/// `/login` hydrates from the main module alone:
///
/// - `field_pages` (home, visit, password) and the other `field_…` pieces
///   (the sync run, the backup writer) are listed by the server in the
///   service worker's precache (`server/src/assets.rs` keeps manifest entries
///   named `field_…`): a phone opens them offline from a cold start.
/// - `office_pages` is fetched, then kept by the service worker, the first
///   time a supervisor or administrator opens any office page; a phone never
///   asks for it.
///
/// One lazy function per side rather than one per route: the splitter makes a
/// chunk for every set of split points that shares code, and ten routes made
/// 260 chunks (144 for the home page alone, each instantiated on its own,
/// four seconds of an offline start on a slow phone). Two sides make a handful.
///
/// Builds of the browser code without the splitter (the wasm tests) get plain
/// routes: a lazy function makes the module import the splitter's loader,
/// which only `--split` writes. The server always renders lazy routes (the
/// same markup, plus the chunks' preload links when the build has them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldPage {
    Home,
    Visit,
    Password,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfficePage {
    ReviewList,
    ReviewDetail,
    Proposal,
    Plan,
    Registry,
    Users,
    Forms,
}

#[cfg_attr(any(feature = "ssr", feature = "split"), leptos::lazy(field_pages))]
fn field_page(page: FieldPage) -> AnyView {
    match page {
        FieldPage::Home => view! { <crate::proposals::HomePage/> }.into_any(),
        FieldPage::Visit => view! { <crate::visits::VisitPage/> }.into_any(),
        FieldPage::Password => view! { <crate::auth::ChangePasswordPage/> }.into_any(),
    }
}

#[cfg_attr(any(feature = "ssr", feature = "split"), leptos::lazy(office_pages))]
fn office_page(page: OfficePage) -> AnyView {
    use crate::office::{admin, plan, registry, review};
    match page {
        OfficePage::ReviewList => view! { <review::ReviewListPage/> }.into_any(),
        OfficePage::ReviewDetail => view! { <review::ReviewDetailPage/> }.into_any(),
        OfficePage::Proposal => view! { <plan::ProposalPage/> }.into_any(),
        OfficePage::Plan => view! { <plan::PlanPage/> }.into_any(),
        OfficePage::Registry => view! { <registry::RegistryPage/> }.into_any(),
        OfficePage::Users => view! { <admin::AdminUsersPage/> }.into_any(),
        OfficePage::Forms => view! { <admin::FormsAdminPage/> }.into_any(),
    }
}

/// A route whose view is `$load($page)`: a lazy route where the splitter
/// runs, a plain view elsewhere (see above). `$preload` is the loader that
/// `#[lazy]` generates for `$load` (`__preload_<name>`).
macro_rules! lazy_page {
    ($route:ident, $load:ident, $preload:ident, $page:expr) => {
        #[cfg(any(feature = "ssr", feature = "split"))]
        struct $route;

        #[cfg(any(feature = "ssr", feature = "split"))]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_this: Self) -> AnyView {
                $load($page).await
            }

            // `hydrate_lazy` loads the matched route's chunk before it
            // hydrates; without this the page hydrates against nothing.
            async fn preload() {
                #[cfg(all(feature = "split", target_arch = "wasm32"))]
                $preload().await;
            }
        }

        #[cfg(not(any(feature = "ssr", feature = "split")))]
        #[allow(non_snake_case)]
        fn $route() -> impl IntoView {
            $load($page)
        }
    };
}

/// The view of a lazy page (see `lazy_page!`).
#[cfg(any(feature = "ssr", feature = "split"))]
macro_rules! lazy_view {
    ($route:ident) => {
        Lazy::<$route>::new()
    };
}
#[cfg(not(any(feature = "ssr", feature = "split")))]
macro_rules! lazy_view {
    ($route:ident) => {
        $route
    };
}

lazy_page!(
    FieldHomeRoute,
    field_page,
    __preload_field_page,
    FieldPage::Home
);
lazy_page!(
    FieldVisitRoute,
    field_page,
    __preload_field_page,
    FieldPage::Visit
);
lazy_page!(
    FieldPasswordRoute,
    field_page,
    __preload_field_page,
    FieldPage::Password
);
lazy_page!(
    ReviewListRoute,
    office_page,
    __preload_office_page,
    OfficePage::ReviewList
);
lazy_page!(
    ReviewDetailRoute,
    office_page,
    __preload_office_page,
    OfficePage::ReviewDetail
);
lazy_page!(
    ProposalRoute,
    office_page,
    __preload_office_page,
    OfficePage::Proposal
);
lazy_page!(
    PlanRoute,
    office_page,
    __preload_office_page,
    OfficePage::Plan
);
lazy_page!(
    RegistryRoute,
    office_page,
    __preload_office_page,
    OfficePage::Registry
);
lazy_page!(
    AdminRoute,
    office_page,
    __preload_office_page,
    OfficePage::Users
);
lazy_page!(
    FormsAdminRoute,
    office_page,
    __preload_office_page,
    OfficePage::Forms
);

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
                    <Route path=path!("/") view={lazy_view!(FieldHomeRoute)}/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/visits/:id") view={lazy_view!(FieldVisitRoute)}/>
                    <Route path=path!("/review") view={lazy_view!(ReviewListRoute)}/>
                    <Route path=path!("/review/visits/:id") view={lazy_view!(ReviewDetailRoute)}/>
                    <Route path=path!("/review/proposals/:id") view={lazy_view!(ProposalRoute)}/>
                    <Route path=path!("/plan") view={lazy_view!(PlanRoute)}/>
                    <Route path=path!("/registry") view={lazy_view!(RegistryRoute)}/>
                    <Route path=path!("/admin") view={lazy_view!(AdminRoute)}/>
                    <Route path=path!("/admin/forms") view={lazy_view!(FormsAdminRoute)}/>
                    <Route path=path!("/account/password") view={lazy_view!(FieldPasswordRoute)}/>
                </Routes>
            </main>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
fn start_in_browser(state: ClientState, locale: Locale) {
    use crate::client::{browser, engine};
    if let Some(lang) = browser::local_storage_get("khaosat.lang") {
        crate::i18n::switch(locale, Lang::parse(&lang));
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
