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
    let refused = Memo::new(move |_| {
        state.loaded.get()
            && state
                .user
                .with(|u| u.as_ref().is_some_and(|u| !roles.iter().any(|r| u.has(*r))))
    });
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
