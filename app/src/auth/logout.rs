//! The header's logout button. Logging out never deletes anything: unsent changes
//! stay in this phone's outbox under the user's device and go out at their next
//! login here (changes to a visit finalized meanwhile wait for a send-back, and
//! the warning says so). But a user who leaves changes unsent must know they are still only
//! on this phone, so with a non-empty outbox, or a photo whose bytes are not
//! uploaded yet, the button warns, offers to sync, and asks twice before logging out.

use crate::field::client::use_client;
use crate::i18n::use_t;
use leptos::prelude::*;

/// What this phone holds that the server has not acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Unsent {
    /// `kept` of the `queued` changes belong to visits no longer the
    /// inspector's to change: the server refuses them until a send-back.
    /// `photos`: a photo's bytes still wait to be uploaded (its record may
    /// have gone already, so the outbox can be empty).
    Count {
        queued: u32,
        kept: u32,
        photos: bool,
    },
    /// The phone's storage could not be read: there may be changes.
    Unknown,
}

impl Unsent {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    const NONE: Unsent = Unsent::Count {
        queued: 0,
        kept: 0,
        photos: false,
    };

    /// For `data-count`, which the end-to-end tests read.
    fn attr(self) -> String {
        match self {
            Unsent::Count { queued, .. } => queued.to_string(),
            Unsent::Unknown => "unknown".into(),
        }
    }

    /// For `data-kept`.
    fn kept_attr(self) -> String {
        match self {
            Unsent::Count { kept, .. } => kept.to_string(),
            Unsent::Unknown => "unknown".into(),
        }
    }

    /// For `data-photos`.
    fn photos_attr(self) -> &'static str {
        match self {
            Unsent::Count { photos: true, .. } => "true",
            Unsent::Count { photos: false, .. } => "false",
            Unsent::Unknown => "unknown",
        }
    }
}

/// The warning's sentence for photos still to upload: said after the
/// changes', or alone when no change is queued.
const PHOTOS: &str = "logout.photos";

/// The warning's text, or the confirm button's, with the counts filled in.
/// Changes to a finalized visit get `kept_key`'s sentence, which does not
/// promise they go out at the next login.
/// With no change queued but photos to upload, `photos_key`'s sentence.
fn unsent_text(
    tr: impl Fn(&str) -> String,
    unsent: Option<Unsent>,
    (key, kept_key, photos_key): (&str, &str, &str),
    unknown_key: &str,
) -> String {
    match unsent {
        Some(Unsent::Count {
            queued: 0,
            photos: true,
            ..
        }) => tr(photos_key),
        Some(Unsent::Count { queued, kept, .. }) => {
            let key = if kept > 0 { kept_key } else { key };
            tr(key)
                .replace("{count}", &queued.to_string())
                .replace("{kept}", &kept.to_string())
        }
        Some(Unsent::Unknown) => tr(unknown_key),
        None => String::new(),
    }
}

/// The warning: the changes' sentence, then the photos' when both wait.
fn warning_text(tr: impl Fn(&str) -> String + Copy, unsent: Option<Unsent>) -> String {
    let text = unsent_text(
        tr,
        unsent,
        ("logout.unsent", "logout.unsent_kept", PHOTOS),
        "logout.unsent_unknown",
    );
    match unsent {
        Some(Unsent::Count {
            queued,
            photos: true,
            ..
        }) if queued > 0 => format!("{text} {}", tr(PHOTOS)),
        _ => text,
    }
}

#[component]
pub fn LogoutButton() -> impl IntoView {
    let tr = use_t();
    let state = use_client();
    // Some while the warning is open.
    let warning = RwSignal::new(None::<Unsent>);
    // True once "log out anyway" was clicked: the second, explicit step.
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let first_action = NodeRef::<leptos::html::Button>::new();
    let cancel_action = NodeRef::<leptos::html::Button>::new();
    let confirm_action = NodeRef::<leptos::html::Button>::new();
    let opener = NodeRef::<leptos::html::Button>::new();

    // Closing takes the focus back to the button that opened the dialog, or
    // to the menu's button when the closing closed the menu too (on a
    // phone): the dialog's buttons are gone, and a keyboard or screen-reader
    // user was left at the top of the page.
    let close = move || {
        warning.set(None);
        confirming.set(false);
        request_animation_frame(move || {
            use leptos::wasm_bindgen::JsCast;
            let shown = opener
                .get_untracked()
                .filter(|b| b.offset_parent().is_some());
            let target: Option<leptos::web_sys::HtmlElement> = match shown {
                Some(b) => Some(b.into()),
                None => document()
                    .query_selector(".menu-button")
                    .ok()
                    .flatten()
                    .and_then(|e| e.dyn_into().ok()),
            };
            if let Some(target) = target {
                let _ = target.focus();
            }
        });
    };
    let click = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match unsent(state).await {
                Unsent::NONE => crate::auth::logout(state).await,
                found => {
                    confirming.set(false);
                    warning.set(Some(found));
                    busy.set(false);
                }
            }
        });
    };
    let confirm = move |_| {
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(crate::auth::logout(state));
    };

    // An alert dialog takes the focus; its first (and safest) action gets it,
    // or "cancel" offline, where syncing is disabled.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if warning.get().is_some() {
            let target = if state.online.get_untracked() {
                first_action
            } else {
                cancel_action
            };
            if let Some(button) = target.get() {
                let _ = button.focus();
            }
        }
    });
    // "Log out anyway" gives way to the explicit confirmation, which takes
    // the focus the removed button had.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if confirming.get() {
            if let Some(button) = confirm_action.get() {
                let _ = button.focus();
            }
        }
    });

    view! {
        <span class="logout">
            <button
                type="button"
                class="btn btn-small btn-secondary"
                data-testid="logout-button"
                aria-haspopup="dialog"
                node_ref=opener
                disabled=move || busy.get()
                on:click=click
            >
                {move || tr("auth.logout")}
            </button>
            <Show when=move || warning.get().is_some()>
                <div
                    class="logout-warning"
                    role="alertdialog"
                    aria-labelledby="logout-warning-title"
                    aria-describedby="logout-warning-text"
                    data-testid="logout-warning"
                    data-count=move || warning.get().map(Unsent::attr).unwrap_or_default()
                    data-kept=move || warning.get().map(Unsent::kept_attr).unwrap_or_default()
                    data-photos=move || warning.get().map(Unsent::photos_attr).unwrap_or_default()
                >
                    <p class="logout-warning-title" id="logout-warning-title">{move || tr("logout.title")}</p>
                    <p id="logout-warning-text" data-testid="logout-warning-text">
                        {move || warning_text(tr, warning.get())}
                    </p>
                    <p class="hint">{move || tr("logout.advice")}</p>
                    // Offline, "sync now" could only close the dialog and do
                    // nothing: it says why instead.
                    <Show when=move || !state.online.get()>
                        <p class="hint" role="status" data-testid="logout-offline">{move || tr("logout.offline")}</p>
                    </Show>
                    <div class="logout-actions">
                        <button
                            type="button"
                            class="btn btn-primary"
                            data-testid="logout-sync"
                            disabled=move || !state.online.get()
                            node_ref=first_action
                            on:click=move |_| {
                                close();
                                crate::field::client::request_sync(state);
                            }
                        >
                            {move || tr("logout.sync")}
                        </button>
                        <button type="button" class="btn btn-secondary" data-testid="logout-cancel"
                            node_ref=cancel_action on:click=move |_| close()>
                            {move || tr("logout.cancel")}
                        </button>
                        {move || if confirming.get() {
                            view! {
                                <button
                                    type="button"
                                    class="btn btn-danger"
                                    data-testid="logout-confirm"
                                    node_ref=confirm_action
                                    disabled=move || busy.get()
                                    on:click=confirm
                                >
                                    {move || unsent_text(tr, warning.get(), ("logout.confirm", "logout.confirm", "logout.confirm_photos"), "logout.confirm_unknown")}
                                </button>
                            }.into_any()
                        } else {
                            view! {
                                <button
                                    type="button"
                                    class="btn btn-secondary"
                                    data-testid="logout-anyway"
                                    on:click=move |_| confirming.set(true)
                                >
                                    {move || tr("logout.anyway")}
                                </button>
                            }.into_any()
                        }}
                    </div>
                </div>
            </Show>
        </span>
    }
}

/// How many changes this user's device still has queued.
#[cfg(feature = "hydrate")]
async fn unsent(state: crate::field::client::ClientState) -> Unsent {
    let Some(device) = state.device_id.get_untracked() else {
        return Unsent::NONE;
    };
    // Visits the server refused keep their answers outside the outbox: back
    // into it first, so they are counted and a later backup carries them.
    if let Some(user) = state.user.get_untracked().filter(|u| u.syncs()) {
        return match crate::field::visits::requeue::before_logout(user.id, device).await {
            Ok(held) => Unsent::Count {
                queued: held.queued,
                kept: held.kept,
                photos: held.photos,
            },
            Err(_) => Unsent::Unknown,
        };
    }
    match crate::field::offline::db().await {
        Ok(db) => db
            .outbox_len(&device)
            .await
            .map(|queued| Unsent::Count {
                queued,
                kept: 0,
                photos: false,
            })
            .unwrap_or(Unsent::Unknown),
        Err(_) => Unsent::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(key: &str) -> String {
        match key {
            "k" => "{count} thay đổi".to_string(),
            "kk" => "{count} thay đổi, {kept} bị khóa".to_string(),
            other => other.to_string(),
        }
    }

    #[test]
    fn the_warning_names_how_many_changes_stay_on_the_phone() {
        let three = Unsent::Count {
            queued: 3,
            kept: 0,
            photos: false,
        };
        assert_eq!(
            unsent_text(tr, Some(three), ("k", "kk", "p"), "u"),
            "3 thay đổi"
        );
        assert_eq!(
            unsent_text(tr, Some(Unsent::Unknown), ("k", "kk", "p"), "u"),
            "u"
        );
        assert_eq!(three.attr(), "3");
        assert_eq!(three.kept_attr(), "0");
    }

    #[test]
    fn changes_to_a_finalized_visit_get_the_sentence_that_promises_nothing() {
        let some_kept = Unsent::Count {
            queued: 4,
            kept: 2,
            photos: false,
        };
        assert_eq!(
            unsent_text(tr, Some(some_kept), ("k", "kk", "p"), "u"),
            "4 thay đổi, 2 bị khóa"
        );
        assert_eq!(some_kept.kept_attr(), "2");
    }

    #[test]
    fn photos_still_to_upload_are_told_with_no_change_queued_or_after_the_changes() {
        let tr = |key: &str| match key {
            "logout.unsent" => "{count} thay đổi".to_string(),
            "logout.photos" => "Còn ảnh.".to_string(),
            other => other.to_string(),
        };
        let photos_only = Unsent::Count {
            queued: 0,
            kept: 0,
            photos: true,
        };
        assert_ne!(photos_only, Unsent::NONE, "a logout warns");
        assert_eq!(warning_text(tr, Some(photos_only)), "Còn ảnh.");
        assert_eq!(photos_only.photos_attr(), "true");
        let both = Unsent::Count {
            queued: 2,
            kept: 0,
            photos: true,
        };
        assert_eq!(warning_text(tr, Some(both)), "2 thay đổi Còn ảnh.");
        assert_eq!(
            unsent_text(tr, Some(photos_only), ("c", "c", "cp"), "u"),
            "cp"
        );
        assert_eq!(unsent_text(tr, Some(both), ("c", "c", "cp"), "u"), "c");
    }
}
