//! What an office page shows to an account that may not use it. The server
//! refuses every server function of the page, but the page still drew its
//! filters, export links and forms around the refusal, as if they could be
//! used. Once the browser knows who is logged in (after hydration; the server
//! renders the page as for anyone), a signed-in account without the page's
//! role sees one sentence naming who the page is for, and a way back.

use crate::field::client::ClientState;
use crate::i18n::use_t;
use crate::model::Role;
use leptos::prelude::*;

/// `page` drawn for an account with one of `roles`, or the refusal.
#[component]
pub fn OfficeGate(
    roles: &'static [Role],
    page: impl Fn() -> AnyView + Send + Sync + 'static,
) -> impl IntoView {
    let state = expect_context::<ClientState>();
    let tr = use_t();
    // Before the session is read (and on the server) the page is drawn: the
    // markup hydrates as rendered, and an account that may use the page never
    // sees it flicker.
    let lacks = Memo::new(move |_| {
        state.loaded.get()
            && state
                .user
                .with(|u| u.as_ref().is_some_and(|u| !roles.iter().any(|r| u.has(*r))))
    });
    // The roles the phone keeps are those of the login: a role given or
    // taken since is the server's to tell. It is asked once the session is
    // read; when its account differs, the kept session takes it. The page
    // is refused only after it answered (or could not be asked).
    let asked = RwSignal::new(false);
    Effect::new(move |_| {
        if state.loaded.get() && !asked.get_untracked() {
            #[cfg(feature = "hydrate")]
            leptos::task::spawn_local(async move {
                if let Some(user) = browser::server_account().await {
                    let changed = state.user.with_untracked(|kept| {
                        kept.as_ref()
                            .is_some_and(|k| k.id == user.id && k.roles != user.roles)
                    });
                    if changed {
                        browser::keep_account(state, user).await;
                    }
                }
                asked.set(true);
            });
        }
    });
    let refused = Memo::new(move |_| lacks.get() && asked.get());
    let text = move || {
        let names: Vec<String> = roles
            .iter()
            .map(|r| tr(&format!("role.{}", r.as_str())))
            .collect();
        tr("office.refused").replace("{roles}", &names.join(&format!(" {} ", tr("office.or"))))
    };
    move || {
        if refused.get() {
            view! {
                <div class="console" data-testid="office-refused">
                    <p class="error-banner" role="alert">{text}</p>
                    <p><a href="/" class="btn" data-testid="office-refused-home">{move || tr("app.go_home")}</a></p>
                </div>
            }
            .into_any()
        } else {
            page()
        }
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use crate::field::client::{http, ClientState};
    use crate::model::UserInfo;
    use leptos::prelude::*;

    /// The logged-in account as the server has it now, if it answers.
    pub async fn server_account() -> Option<UserInfo> {
        http::get_json::<crate::sync::MeResponse>("/api/auth/me")
            .await
            .ok()
            .map(|me| me.user)
    }

    /// The server's account into the app and the session kept offline.
    pub async fn keep_account(state: ClientState, user: UserInfo) {
        if let Ok(db) = crate::field::offline::db().await {
            if let Ok(Some(mut session)) = db.session().await {
                if session.user.id == user.id {
                    session.user = user.clone();
                    let _ = db.set_session(&session).await;
                }
            }
        }
        state.user.set(Some(user));
    }
}

/// Whether the signed-in account may open the review pages (a visit, a
/// proposal, a district's photos): supervisors only. Other office pages show
/// those records to administrators too, as text rather than as links that
/// would only be refused. Who is logged in is known after hydration (the
/// server renders for anyone), so the links follow it.
pub fn opens_review() -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let user = crate::field::client::use_client().user;
    move || user.with(|u| u.as_ref().is_some_and(|u| u.has(Role::Supervisor)))
}

/// A record of the review pages named on another office page (the plan, the
/// register, the audit trail, the year's closing): a link for a supervisor,
/// its name as text for any other account, which the review page would refuse.
#[component]
pub fn ReviewLink(
    /// The record's review page; `None` for a record that has none.
    href: Option<String>,
    text: String,
    #[prop(optional)] link_testid: Option<&'static str>,
    #[prop(optional)] text_testid: Option<&'static str>,
) -> impl IntoView {
    let linked = opens_review();
    move || match href.clone().filter(|_| linked()) {
        Some(href) => view! { <a href=href data-testid=link_testid>{text.clone()}</a> }.into_any(),
        None => view! { <span data-testid=text_testid>{text.clone()}</span> }.into_any(),
    }
}
