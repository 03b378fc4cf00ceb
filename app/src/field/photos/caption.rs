//! A photo's caption as the inspector types it. The input owns its text (it
//! is never bound to a signal, so no re-render puts back older text); the
//! text is written to IndexedDB, and queued for the server, after a pause in
//! typing, on leaving the input, when the app is hidden or unloaded, and when
//! the item goes. While the page may not come back, it is also kept in
//! localStorage (`field::unloaded`).

#[cfg(feature = "hydrate")]
use super::edit::write_caption;
use super::local::LocalPhoto;
use crate::error::ErrorBody;
use crate::field::client::ClientState;
use leptos::prelude::*;

/// How long the caption waits after the last keystroke before it is written
/// to IndexedDB (a blur or Enter writes it at once). Like the draft's autosave:
/// a caption typed and never left is still on the phone after a reload.
const CAPTION_SAVE_DELAY_MS: u64 = 600;

/// A caption as stored: trimmed, and none rather than empty.
fn caption_value(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// A caption kept as its page went away (`from` → `text`, see
/// `field::unloaded`) is written only over the caption it replaced: one
/// written since (the write begun as the page went, if it landed after all)
/// stands.
#[cfg_attr(not(any(feature = "hydrate", test)), allow(dead_code))]
fn kept_caption_applies(from: &str, text: &str, stored: &Option<String>) -> bool {
    caption_value(from) == *stored && caption_value(text) != *stored
}

/// One photo item's caption: `draft` is what the input holds, `saved` what
/// IndexedDB holds as far as this item knows. `Copy`, like the visit editor.
#[derive(Clone, Copy)]
pub(super) struct Caption {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    state: ClientState,
    pub input_ref: NodeRef<leptos::html::Input>,
    draft: RwSignal<String>,
    saved: RwSignal<Option<String>>,
    saving: RwSignal<bool>,
    pub error: RwSignal<Option<ErrorBody>>,
    debounce: StoredValue<u64>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    photo_id: StoredValue<String>,
    /// Nothing typed is waiting to be written (`data-caption-saved`).
    pub written: Memo<bool>,
}

impl Caption {
    /// The caption of `photo`, stored as `initial`; with the text the input
    /// starts with (a caption kept as the page last went away, if any).
    pub fn new(
        state: ClientState,
        photo: Memo<LocalPhoto>,
        initial: Option<String>,
        editable: Memo<bool>,
    ) -> (Self, String) {
        let id = photo.with_untracked(|p| p.id.clone());
        // Typed before the page went away and not yet in IndexedDB.
        #[cfg(feature = "hydrate")]
        let kept = crate::field::unloaded::take_caption(&id)
            .filter(|(from, text)| {
                editable.get_untracked() && kept_caption_applies(from, text, &initial)
            })
            .map(|(_, text)| text);
        #[cfg(not(feature = "hydrate"))]
        let kept = {
            let _ = editable;
            None::<String>
        };
        let shown = kept.clone().or_else(|| initial.clone()).unwrap_or_default();
        let draft = RwSignal::new(shown.clone());
        let saved = RwSignal::new(initial);
        let saving = RwSignal::new(false);
        let caption = Caption {
            state,
            input_ref: NodeRef::new(),
            draft,
            saved,
            saving,
            error: RwSignal::new(None),
            debounce: StoredValue::new(0),
            photo_id: StoredValue::new(id),
            written: Memo::new(move |_| {
                !saving.get() && caption_value(&draft.get()) == saved.get()
            }),
        };
        if kept.is_some() {
            caption.save();
        }
        caption.show_changes_from_elsewhere(photo);
        caption.write_when_leaving();
        (caption, shown)
    }

    /// The text typed and the text written, while the item is still there.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn texts(self) -> Option<(String, Option<String>, String)> {
        Some((
            self.draft.try_get_untracked()?,
            self.saved.try_get_untracked()?,
            self.photo_id.try_get_value()?,
        ))
    }

    /// One writer per item: a write in flight picks up newer text when it ends.
    fn save(self) {
        if self.saving.get_untracked() {
            return;
        }
        self.saving.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            // The item may go (a removal, leaving the screen) while a write is
            // in flight: its signals are then gone, and `on_cleanup` took over.
            while let Some((text, known, id)) = self.texts() {
                let target = caption_value(&text);
                if target == known {
                    break;
                }
                match write_caption(self.state, &id, target.clone()).await {
                    Ok(true) => {
                        self.saved.set(target);
                        self.error.set(None);
                        self.state.bump();
                        crate::field::client::request_sync(self.state);
                    }
                    // The photo was removed meanwhile: nothing to caption.
                    Ok(false) => {
                        crate::field::unloaded::forget_caption(&id);
                        break;
                    }
                    Err(e) => {
                        self.error.set(Some(e));
                        break;
                    }
                }
            }
            if let Some((text, known, id)) = self.texts() {
                if caption_value(&text) == known {
                    crate::field::unloaded::forget_caption(&id);
                }
            }
            self.saving.set(false);
        });
    }

    /// A caption changed elsewhere (the server's, for a photo this phone did
    /// not caption) shows, unless the inspector is editing this one.
    fn show_changes_from_elsewhere(self, photo: Memo<LocalPhoto>) {
        let Caption {
            draft,
            saved,
            saving,
            input_ref,
            ..
        } = self;
        Effect::new(move |_| {
            let stored = photo.with(|p| p.caption.clone());
            if stored == saved.get_untracked()
                || saving.get_untracked()
                || caption_value(&draft.get_untracked()) != saved.get_untracked()
            {
                return;
            }
            #[cfg(feature = "hydrate")]
            {
                let Some(input) = input_ref.get_untracked() else {
                    return;
                };
                let focused = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.active_element())
                    .is_some_and(|active| {
                        let input: &web_sys::Element = &input;
                        active == *input
                    });
                if focused {
                    return;
                }
                input.set_value(stored.as_deref().unwrap_or_default());
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = input_ref;
            draft.set(stored.clone().unwrap_or_default());
            saved.set(stored);
        });
    }

    /// Typing: written after a pause.
    pub fn on_input(self, ev: leptos::ev::Event) {
        self.draft.set(event_target_value(&ev));
        self.debounce.update_value(|g| *g += 1);
        let generation = self.debounce.get_value();
        set_timeout(
            move || {
                if self.debounce.try_get_value() == Some(generation) {
                    self.save();
                }
            },
            std::time::Duration::from_millis(CAPTION_SAVE_DELAY_MS),
        );
    }

    /// Leaving the input (blur, Enter): written at once.
    pub fn on_change(self) {
        self.debounce.update_value(|g| *g += 1);
        self.save();
    }

    fn write_when_leaving(self) {
        // Hidden behind the camera or the home screen, where the pause's timer
        // may never run, or unloaded: the text goes now, as the visit's draft
        // does, and is kept in localStorage in case the write goes with the page.
        #[cfg(feature = "hydrate")]
        crate::field::client::browser::on_leaving(move || {
            if let Some((text, known, id)) = self.texts() {
                if caption_value(&text) != known {
                    crate::field::unloaded::keep_caption(&id, known.as_deref(), &text);
                }
            }
            self.on_change();
        });
        // Leaving the screen inside the pause: the text still goes to IndexedDB.
        on_cleanup(move || {
            #[cfg(feature = "hydrate")]
            if let Some((text, known, id)) = self.texts() {
                let target = caption_value(&text);
                if target != known {
                    let state = self.state;
                    leptos::task::spawn_local(async move {
                        if write_caption(state, &id, target).await.is_ok() {
                            crate::field::client::request_sync(state);
                        }
                    });
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::kept_caption_applies;

    #[test]
    fn a_kept_caption_is_written_only_over_the_caption_it_replaced() {
        let none = None;
        let old = Some("Lò nung".to_string());
        assert!(
            kept_caption_applies("", "Lò nung tuynel", &none),
            "the reload dropped the write"
        );
        assert!(kept_caption_applies("Lò nung", "Lò nung tuynel", &old));
        assert!(
            kept_caption_applies("Lò nung", "  ", &old),
            "a caption cleared"
        );
        let landed = Some("Lò nung tuynel".to_string());
        assert!(
            !kept_caption_applies("Lò nung", "Lò nung tuynel", &landed),
            "it landed after all"
        );
        let newer = Some("Lò nung tuynel 2".to_string());
        assert!(
            !kept_caption_applies("Lò nung", "Lò nung tuynel", &newer),
            "a later caption stands"
        );
    }
}
