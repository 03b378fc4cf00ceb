//! What a supervisor is typing at the office and has not sent yet (a review
//! comment, a recommendation's rationale, a conflict's own value) is kept in
//! the tab's sessionStorage as it is typed. A reload, or a trip to another
//! page and back, gives it back; sending it forgets it. sessionStorage, not
//! localStorage: the text belongs to the tab's work, not to the computer, and
//! closing the tab is a deliberate end to it.

use leptos::prelude::*;

/// A text area's value, kept under `khaosat.office-text.<user>.<what>` until
/// it is sent, with the text the page started from. Read back once the user
/// is known, after hydration (the server rendered the starting text), and
/// only while the area and the page still hold that same starting text: a
/// kept draft never replaces what someone saved since, nor what was typed.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub struct KeptText {
    value: RwSignal<String>,
    initial: StoredValue<String>,
    key: RwSignal<Option<String>>,
}

/// The storage key of `what` for `user`; `what` names the field and its
/// record ("review-comment.<visit id>").
pub fn storage_key(user: &str, what: &str) -> String {
    format!("khaosat.office-text.{user}.{what}")
}

/// What is stored: the starting text and the typed one.
pub fn encode(initial: &str, text: &str) -> String {
    serde_json::to_string(&(initial, text)).unwrap_or_default()
}

/// The typed text of a stored entry, if it was typed over `initial`.
pub fn decode(stored: &str, initial: &str) -> Option<String> {
    let (from, text): (String, String) = serde_json::from_str(stored).ok()?;
    (from == initial).then_some(text)
}

impl KeptText {
    pub fn new(what: String, initial: String) -> Self {
        let value = RwSignal::new(initial.clone());
        let initial = StoredValue::new(initial);
        let key = RwSignal::new(None::<String>);
        #[cfg(feature = "hydrate")]
        {
            let client = crate::field::client::use_client();
            Effect::new(move |_| {
                let Some(user) = client.user.get() else {
                    return;
                };
                let k = storage_key(&user.id, &what);
                let from = initial.get_value();
                if value.get_untracked() == from {
                    if let Some(kept) = crate::field::client::browser::session_storage_get(&k)
                        .and_then(|stored| decode(&stored, &from))
                    {
                        value.set(kept);
                    }
                }
                key.set(Some(k));
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = what;
        KeptText {
            value,
            initial,
            key,
        }
    }

    pub fn get(&self) -> String {
        self.value.get()
    }

    pub fn get_untracked(&self) -> String {
        self.value.get_untracked()
    }

    /// What the person typed: shown, and kept at once (a write of a few
    /// bytes, so a reload a moment later still finds it).
    pub fn set(&self, text: String) {
        #[cfg(feature = "hydrate")]
        if let Some(k) = self.key.get_untracked() {
            let from = self.initial.get_value();
            if text == from {
                crate::field::client::browser::session_storage_remove(&k);
            } else {
                crate::field::client::browser::session_storage_set(&k, &encode(&from, &text));
            }
        }
        self.value.set(text);
    }

    /// The text reached the server: nothing to give back any more. Safe after
    /// the page has gone (the signals may be disposed by then); what the area
    /// shows next is the page's business.
    pub fn sent(&self) {
        #[cfg(feature = "hydrate")]
        if let Some(Some(k)) = self.key.try_get_untracked() {
            crate::field::client::browser::session_storage_remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    #[test]
    fn a_kept_text_comes_back_only_over_the_text_it_was_typed_over() {
        let stored = encode("Đủ điều kiện", "Đủ điều kiện, ưu tiên\nvì có 40 lao động");
        assert_eq!(
            decode(&stored, "Đủ điều kiện").as_deref(),
            Some("Đủ điều kiện, ưu tiên\nvì có 40 lao động")
        );
        // Someone saved another rationale since: the kept one is not applied.
        assert_eq!(decode(&stored, "Không hỗ trợ"), None);
        assert_eq!(decode("not json", ""), None);
    }

    #[test]
    fn each_user_and_record_has_its_own_key() {
        let a = super::storage_key("u1", "review-comment.v1");
        assert_eq!(a, "khaosat.office-text.u1.review-comment.v1");
        assert_ne!(a, super::storage_key("u2", "review-comment.v1"));
        assert_ne!(a, super::storage_key("u1", "review-comment.v2"));
    }
}
