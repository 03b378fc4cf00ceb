//! Changing one's own password (`/account/password`): required after an
//! administrator set a first or temporary password (`?required=1`, where the login
//! sends the user), and open to anyone logged in at other times.

use super::PasswordField;
use crate::error::ErrorBody;
use crate::field::client::use_client;
use crate::i18n::{error_text, use_locale, use_t};
use crate::model::{Role, UserInfo};
use leptos::prelude::*;

use crate::domain::MIN_PASSWORD_LEN;

/// How long the success message stays before the user is taken to their start page.
#[cfg(feature = "hydrate")]
const SHOW_SUCCESS_MS: u64 = 1_500;

/// What is wrong with the new password before it is sent, as an error body the
/// UI translates like the server's own.
fn check_new_password(current: &str, new: &str, repeat: &str) -> Option<ErrorBody> {
    if new.chars().count() < MIN_PASSWORD_LEN {
        Some(
            ErrorBody::new(
                "user.password_too_short",
                format!("password must be at least {MIN_PASSWORD_LEN} characters"),
            )
            .with("min", MIN_PASSWORD_LEN),
        )
    } else if new != repeat {
        Some(ErrorBody::new(
            "password.mismatch",
            "the new password and its repeat differ",
        ))
    } else if new == current {
        Some(ErrorBody::new(
            "password.unchanged",
            "the new password is the current one",
        ))
    } else {
        None
    }
}

/// The start page of a user's main role.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn home_for(user: Option<&UserInfo>) -> &'static str {
    match user {
        Some(u) if u.has(Role::Inspector) => "/",
        Some(u) if u.has(Role::Supervisor) => "/review",
        Some(u) if u.has(Role::Administrator) => "/admin",
        _ => "/",
    }
}

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let state = use_client();
    let query = leptos_router::hooks::use_query_map();
    let required = move || query.read().get("required").is_some_and(|v| v == "1");
    let current = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let busy = RwSignal::new(false);
    let changed = RwSignal::new(false);
    let navigate = leptos_router::hooks::use_navigate();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() || changed.get_untracked() {
            return;
        }
        let (old, new, again) = (
            current.get_untracked(),
            new_password.get_untracked(),
            repeat.get_untracked(),
        );
        if let Some(problem) = check_new_password(&old, &new, &again) {
            error.set(Some(problem));
            return;
        }
        error.set(None);
        busy.set(true);
        let navigate = navigate.clone();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match change_password(old, new).await {
                Ok(()) => {
                    changed.set(true);
                    // Sync was refused until now (auth.password_change_required):
                    // the phone stops holding it back, and the queue goes out
                    // at once, not at the next timer tick.
                    if let Ok(db) = crate::field::offline::db().await {
                        if let Ok(Some(mut session)) = db.session().await {
                            if session.must_change_password {
                                session.must_change_password = false;
                                let _ = db.set_session(&session).await;
                            }
                        }
                    }
                    crate::field::client::request_sync(state);
                    let home = home_for(state.user.get_untracked().as_ref());
                    set_timeout(
                        move || navigate(home, Default::default()),
                        std::time::Duration::from_millis(SHOW_SUCCESS_MS),
                    );
                }
                Err(body) => error.set(Some(body)),
            }
            busy.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (old, new, navigate);
    };
    let rule = move || tr("password.rule").replace("{min}", &MIN_PASSWORD_LEN.to_string());

    view! {
        <div class="login-card card password-card">
            <h1>{move || tr("password.title")}</h1>
            <Show when=required>
                <p class="notice" role="status" data-testid="password-required">{move || tr("password.required")}</p>
            </Show>
            <Show when=move || changed.get()>
                <p class="notice notice-success" role="status" data-testid="password-changed">{move || tr("password.changed")}</p>
            </Show>
            <form class="form" data-testid="password-form" on:submit=submit>
                // For password managers: which account the new password belongs to.
                <input
                    type="text"
                    name="username"
                    autocomplete="username"
                    hidden
                    readonly
                    prop:value=move || state.user.get().map(|u| u.username).unwrap_or_default()
                />
                <PasswordField
                    id="current-password"
                    testid="current-password"
                    label=Signal::derive(move || tr("password.current"))
                    autocomplete="current-password"
                    value=current
                />
                <PasswordField
                    id="new-password"
                    testid="new-password"
                    label=Signal::derive(move || tr("password.new"))
                    autocomplete="new-password"
                    value=new_password
                    hint=Signal::derive(rule)
                />
                <PasswordField
                    id="repeat-password"
                    testid="repeat-password"
                    label=Signal::derive(move || tr("password.repeat"))
                    autocomplete="new-password"
                    value=repeat
                />
                <Show when=move || error.get().is_some()>
                    <p class="error-banner" role="alert" data-testid="password-error">
                        {move || error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default()}
                    </p>
                </Show>
                <div class="form-actions">
                    <button
                        type="submit"
                        class="btn btn-primary"
                        data-testid="password-submit"
                        disabled=move || busy.get() || changed.get()
                    >
                        {move || tr("password.submit")}
                    </button>
                </div>
            </form>
        </div>
    }
}

/// `POST /api/auth/password` with the current and the new password.
#[cfg(feature = "hydrate")]
async fn change_password(current: String, new: String) -> Result<(), ErrorBody> {
    use crate::field::client::http::{post_json, HttpError};
    let body = serde_json::json!({ "current_password": current, "new_password": new });
    match post_json::<_, serde_json::Value>("/api/auth/password", &body).await {
        Ok(_) => Ok(()),
        // http.rs reads every 2xx body as JSON: an empty 204 is a success too.
        Err(HttpError::Api { status, .. }) if (200..300).contains(&status) => Ok(()),
        Err(e) => Err(e.body_not_kept()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_new_password_is_refused_with_the_minimum() {
        let problem = check_new_password("old-password", "short", "short").unwrap();
        assert_eq!(problem.code, "user.password_too_short");
        assert_eq!(problem.params["min"], MIN_PASSWORD_LEN);
    }

    #[test]
    fn the_repeat_must_match_the_new_password() {
        let problem = check_new_password("old-password", "mat-khau-moi-1", "mat-khau-moi-2");
        assert_eq!(problem.unwrap().code, "password.mismatch");
    }

    #[test]
    fn the_new_password_must_differ_from_the_current_one() {
        let problem = check_new_password("khaosat-demo", "khaosat-demo", "khaosat-demo");
        assert_eq!(problem.unwrap().code, "password.unchanged");
    }

    #[test]
    fn a_long_enough_matching_new_password_passes() {
        assert_eq!(
            check_new_password("khaosat-demo", "mat-khau-moi-2025", "mat-khau-moi-2025"),
            None
        );
    }

    #[test]
    fn each_role_goes_to_its_own_start_page() {
        let user = |roles: Vec<Role>| UserInfo {
            id: "u".into(),
            username: "u".into(),
            display_name: "U".into(),
            roles,
            units: vec![],
        };
        assert_eq!(home_for(Some(&user(vec![Role::Inspector]))), "/");
        assert_eq!(home_for(Some(&user(vec![Role::Supervisor]))), "/review");
        assert_eq!(home_for(Some(&user(vec![Role::Administrator]))), "/admin");
        assert_eq!(home_for(None), "/");
    }
}
