//! Pages whose code is not in the main WASM module. In a `--split` build
//! (`cargo leptos build --split --lib-features hydrate --lib-features split`)
//! the field's pages are one lazy function and the office's pages another, so
//! `/login` hydrates from the main module alone:
//!
//! - `field_pages` (home, visit, password) and the other `field_…` pieces
//!   (the sync run, the backup writer) are listed by the server in the
//!   service worker's precache (`server/src/assets.rs` keeps manifest entries
//!   named `field_…`): a phone opens them offline from a cold start.
//! - `office_pages` is fetched, then kept by the service worker, the first
//!   time a supervisor or administrator opens any office page; a phone never
//!   asks for it.
//!
//! One lazy function per side rather than one per route: the splitter makes a
//! chunk for every set of split points that shares code, and ten routes made
//! 260 chunks (144 for the home page alone, each instantiated on its own,
//! four seconds of an offline start on a slow phone). Two sides make a handful.
//!
//! Builds of the browser code without the splitter (the wasm tests) get plain
//! routes: a lazy function makes the module import the splitter's loader,
//! which only `--split` writes. The server always renders lazy routes (the
//! same markup, plus the chunks' preload links when the build has them).

use crate::model::Role;
use leptos::prelude::*;
#[cfg(any(feature = "ssr", feature = "split"))]
use leptos_router::LazyRoute;

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
        FieldPage::Home => view! { <crate::field::proposals::HomePage/> }.into_any(),
        FieldPage::Visit => view! { <crate::field::visits::VisitPage/> }.into_any(),
        FieldPage::Password => view! { <crate::auth::ChangePasswordPage/> }.into_any(),
    }
}

impl OfficePage {
    /// Who may use the page: the roles its server functions accept.
    pub fn roles(self) -> &'static [Role] {
        match self {
            OfficePage::ReviewList | OfficePage::ReviewDetail | OfficePage::Proposal => {
                &[Role::Supervisor]
            }
            OfficePage::Plan | OfficePage::Registry => &[Role::Supervisor, Role::Administrator],
            OfficePage::Users | OfficePage::Forms => &[Role::Administrator],
        }
    }
}

#[cfg_attr(any(feature = "ssr", feature = "split"), leptos::lazy(office_pages))]
fn office_page(page: OfficePage) -> AnyView {
    use crate::office::gate::OfficeGate;
    // Here, in the office's chunk: the phone's module holds no office text.
    crate::i18n::load_office_texts();
    view! { <OfficeGate roles=page.roles() page=move || office_view(page)/> }.into_any()
}

fn office_view(page: OfficePage) -> AnyView {
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
        pub(super) struct $route;

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
        pub(super) fn $route() -> impl IntoView {
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
