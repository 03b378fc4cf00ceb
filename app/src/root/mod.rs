//! The root component, the router and the server-rendered HTML shell.

use crate::auth::LoginPage;
use crate::field::client::ClientState;
use crate::i18n::{use_t, Locale};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
#[cfg(any(feature = "ssr", feature = "split"))]
use leptos_router::Lazy;
use leptos_router::{
    components::{Route, Router, Routes, A},
    path,
};

/// The lazy field and office pages, and the `lazy_view!` the routes use.
#[macro_use]
mod pages;
/// The header, and the banners under it on every page.
mod header;
/// When the server's HTML has been hydrated.
#[cfg(feature = "hydrate")]
pub(crate) mod hydration;
/// What sync needs from the person, under the header.
mod sync_alert;

use header::Header;
#[allow(unused_imports)]
use pages::*;

/// The document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang=crate::i18n::initial_lang().code()>
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
    let locale = Locale(RwSignal::new(crate::i18n::initial_lang()));
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
        crate::field::client::browser::set_html_attribute("lang", lang.code());
        let _ = lang;
    });

    view! {
        <Router>
            <PageTitle/>
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

/// The tab's title names the page first ("Phiếu khảo sát · Khảo sát khuyến
/// công"): every page had the same one, so tabs, history and a screen
/// reader's page announcement could not tell them apart.
#[component]
fn PageTitle() -> impl IntoView {
    let tr = use_t();
    let location = leptos_router::hooks::use_location();
    let text = move || {
        let app = tr("app.title");
        match page_title_key(&location.pathname.get()) {
            Some(key) => format!("{} · {app}", tr(key)),
            None => app,
        }
    };
    view! { <Title text=text/> }
}

/// The locale key naming the page at `path`.
pub(crate) fn page_title_key(path: &str) -> Option<&'static str> {
    let path = path.trim_end_matches('/');
    Some(match path {
        "" => "page.home",
        "/login" => "login.title",
        "/plan" => "plan.link",
        "/registry" => "registry.link",
        "/admin" => "admin.link",
        "/admin/forms" => "page.forms",
        "/account/password" => "page.password",
        "/review" => "page.review",
        p if p.starts_with("/visits/") || p.starts_with("/review/visits/") => "page.visit",
        p if p.starts_with("/review/proposals/") => "page.proposal",
        _ => return None,
    })
}

#[cfg(feature = "hydrate")]
fn start_in_browser(state: ClientState, locale: Locale) {
    use crate::field::client::{browser, engine};
    leptos::task::spawn_local(async move {
        // Read while the page's chunk loads; shown only once it has hydrated,
        // against the server's HTML (see `hydration`).
        let session = match crate::field::offline::db().await {
            Ok(db) => db.session().await.ok().flatten(),
            Err(_) => None,
        };
        hydration::finished().await;
        if let Some(lang) = browser::local_storage_get("khaosat.lang") {
            crate::i18n::switch(locale, crate::i18n::Lang::parse(&lang));
        }
        browser::register_service_worker(move || state.update_ready.set(true));
        engine::start(state);
        if let Some(session) = session {
            state.device_id.set(Some(session.device_id.clone()));
            state.user.set(Some(session.user));
        }
        state.loaded.set(true);
        browser::set_html_attribute("data-hydrated", "true");
        engine::sync_now(state).await;
    });
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

#[cfg(test)]
mod tests {
    use super::page_title_key;
    use crate::i18n::{t, Lang};

    /// Whether `lang`'s own file holds `key` (`t` falls back to Vietnamese).
    fn has(lang: Lang, key: &str) -> bool {
        let text = t(lang, key);
        text != key && (lang == Lang::Vi || text != t(Lang::Vi, key))
    }

    /// Every page the router knows has a title of its own, in both languages.
    #[test]
    fn every_page_names_itself_in_its_title() {
        let pages = [
            "/",
            "/login",
            "/visits/0190",
            "/review",
            "/review/visits/0190",
            "/review/proposals/p1",
            "/plan",
            "/registry",
            "/admin",
            "/admin/forms",
            "/account/password",
        ];
        let mut seen = std::collections::BTreeSet::new();
        for page in pages {
            let key = page_title_key(page).unwrap_or_else(|| panic!("{page} has no title"));
            for lang in [Lang::Vi, Lang::En] {
                assert!(has(lang, key), "{page} in {lang:?}");
            }
            seen.insert(t(Lang::Vi, key));
        }
        // The visit pages of the phone and the office share one name.
        assert_eq!(seen.len(), pages.len() - 1);
        assert_eq!(page_title_key("/nothing-here"), None);
    }
}
