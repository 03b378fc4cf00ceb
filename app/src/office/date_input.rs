//! A date typed and shown day first (dd/mm/yyyy) whatever the browser's
//! language: `<input type="date">` shows mm/dd/yyyy in an English browser,
//! which a Vietnamese office reads as another day.

use crate::i18n::use_t;
use leptos::prelude::*;

/// `value` is the ISO date (or empty); `on_change` gets the ISO date, or an
/// empty string when the field is cleared. A text that is no date is said
/// under the field and changes nothing.
#[component]
pub fn DateInput(
    #[prop(into)] value: Signal<String>,
    on_change: impl Fn(String) + Copy + Send + Sync + 'static,
    testid: &'static str,
) -> impl IntoView {
    let tr = use_t();
    let bad = RwSignal::new(false);
    let error_id = format!("{testid}-error");
    view! {
        <input type="text" inputmode="numeric" autocomplete="off" data-testid=testid
            placeholder=move || tr("date.placeholder")
            aria-invalid=move || bad.get().to_string()
            aria-describedby=error_id.clone()
            prop:value=move || crate::format::iso_to_vn(&value.get())
            on:change=move |ev| {
                let text = event_target_value(&ev);
                if text.trim().is_empty() {
                    bad.set(false);
                    on_change(String::new());
                    return;
                }
                match crate::format::parse_date_vn(&text) {
                    Some(iso) => {
                        bad.set(false);
                        on_change(iso);
                    }
                    None => bad.set(true),
                }
            }/>
        <span class="field-error" id=error_id role="alert" data-testid=format!("{testid}-error") hidden=move || !bad.get()>
            {move || tr("date.invalid")}
        </span>
    }
}
