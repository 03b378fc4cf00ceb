//! Visits on the phone: the survey form screen (autosaved draft, explicit save
//! into the outbox) and the list of the inspector's own visits.
//!
//! The page is the editor (`editor.rs`: state, autosave, save; their writes
//! in `writes.rs`), its views (`page.rs`) and the repeat groups (`repeat.rs`).

/// Answers that break a rule: shown ones block a save, hidden ones stay home.
mod checks;
/// Discarding the changes a refused visit keeps, which no save can send.
mod discard;
/// Edits made while an explicit save ran, kept on screen after it.
#[cfg(any(feature = "hydrate", test))]
pub(crate) mod during_save;
/// The state of one visit being edited, its autosave and its explicit save.
mod editor;
/// Rendering one form field and reading its input back.
pub mod field;
/// The inspector's visits on this phone: state, facility, district, age, search.
mod list;
/// The phone's copy of a visit and the save/absorb logic (plain Rust).
pub mod local;
/// Starting a visit for a facility found on site (not in the register).
mod on_site;
/// The visit page's views.
mod page;
/// A refused visit's changes rebased on the server's copy.
pub mod refused;
/// One repeat group of the form.
mod repeat;
/// Refused visits back into the outbox, for a backup or a logout.
#[cfg(feature = "hydrate")]
pub mod requeue;
/// What the phone sends again after the server was restored from a backup.
#[cfg(any(feature = "hydrate", test))]
pub mod resend;
/// When answers were written, as the server stamped them.
pub mod stamps;
/// The autosave and the explicit save, each one IndexedDB transaction.
#[cfg(feature = "hydrate")]
mod writes;

use crate::forms::FormDefinition;
pub(super) use checks::{has_invalid_answers, without_hidden_broken};
#[cfg(feature = "hydrate")]
use leptos::prelude::*;
pub use list::{visit_rows, VisitList, VisitListRow};
use local::LocalVisit;
pub use on_site::OnSiteVisit;

/// The form every new visit uses (its newest version on the phone).
pub const DEFAULT_FORM_ID: &str = "khuyen-cong";

/// Creates a local draft visit for a proposal and returns its id.
#[cfg(feature = "hydrate")]
pub async fn start_visit(
    state: crate::field::client::ClientState,
    proposal_id: String,
    facility_id: String,
) -> Option<String> {
    let user = state.user.get_untracked()?;
    let db = crate::field::offline::db().await.ok()?;
    // The proposal's year names the form version its visits start on; a phone
    // that does not hold it (yet) uses the newest it has.
    let proposal = db.proposal(&user.id, &proposal_id).await.ok().flatten();
    let title = proposal.as_ref().map(|p| p.title.clone());
    let year_form = match proposal {
        Some(p) => match (p.form_id, p.form_version) {
            (Some(id), Some(version)) => db.form(&id, version).await.ok().flatten(),
            _ => None,
        },
        None => None,
    };
    let form = match year_form {
        Some(form) => form,
        None => db.current_form(DEFAULT_FORM_ID).await.ok()??,
    };
    let now = crate::field::client::browser::now_ms();
    let id = local::new_uuid_v7(now).to_string();
    let visit = LocalVisit::new(
        id.clone(),
        form.id,
        form.version,
        Some(proposal_id),
        Some(facility_id),
        user.username,
        now,
    );
    let visit = LocalVisit {
        proposal_title: title,
        ..visit
    };
    db.put_draft(&user.id, &visit).await.ok()?;
    state.bump();
    Some(id)
}

/// The phone's clock (0 on the server, where these screens only render).
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        crate::field::client::browser::now_ms()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0
    }
}

/// Every required answer still missing at finalize: the same check the server
/// makes on the submit command, run first on the phone so the inspector sees
/// the whole list at once instead of one refusal per sync.
pub fn missing_for_finalize(form: &FormDefinition, visit: &LocalVisit) -> Vec<String> {
    let rows: Vec<crate::forms::rules::RowAnswers> = visit
        .rows
        .iter()
        .filter(|r| !r.deleted)
        .map(|r| crate::forms::rules::RowAnswers {
            group: &r.group,
            answers: &r.answers,
        })
        .collect();
    crate::forms::rules::missing_required(form, &visit.answers, &rows)
}

/// The label of a missing key (`field` or `group/field`) in the current language.
pub(super) fn missing_label(form: &FormDefinition, key: &str, lang: crate::i18n::Lang) -> String {
    let (group, child) = key.split_once('/').unwrap_or((key, ""));
    let Some(field) = form.field(group) else {
        return key.to_string();
    };
    let (label, message) = match field.fields.iter().find(|c| c.key == child) {
        Some(c) => (
            format!("{} › {}", field.label.get(lang), c.label.get(lang)),
            c.required_message.as_ref(),
        ),
        None => (
            field.label.get(lang).to_string(),
            field.required_message.as_ref(),
        ),
    };
    // The form's own reason, when its author wrote one (XLSForm required_message).
    match message {
        Some(m) => format!("{label}: {}", m.get(lang)),
        None => label,
    }
}

/// What the inspector calls a field: its label, or "group › label" for a
/// column of a repeat group (a conflict names a row's field by its key alone).
pub(super) fn field_label(form: &FormDefinition, key: &str, lang: crate::i18n::Lang) -> String {
    if let Some(field) = form.field(key) {
        return field.label.get(lang).to_string();
    }
    form.fields()
        .find_map(|group| {
            let child = group.fields.iter().find(|c| c.key == key)?;
            Some(format!(
                "{} › {}",
                group.label.get(lang),
                child.label.get(lang)
            ))
        })
        .unwrap_or_else(|| key.to_string())
}

/// The `data-field` of the field holding the focused input (`row id/key` in rows).
#[cfg(feature = "hydrate")]
pub(super) fn focused_field(ev: &leptos::ev::FocusEvent) -> Option<String> {
    use wasm_bindgen::JsCast;
    let target: web_sys::Element = ev.target()?.dyn_into().ok()?;
    target
        .closest("[data-field]")
        .ok()??
        .get_attribute("data-field")
}

#[cfg(not(feature = "hydrate"))]
pub(super) fn focused_field(_ev: &leptos::ev::FocusEvent) -> Option<String> {
    None
}

#[cfg(feature = "hydrate")]
pub(super) fn scroll_to(selector: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
    {
        el.scroll_into_view();
        if let Ok(Some(input)) = el.query_selector("input, textarea, select") {
            use wasm_bindgen::JsCast;
            if let Ok(input) = input.dyn_into::<web_sys::HtmlElement>() {
                let _ = input.focus();
            }
        }
    }
}

/// Keeps the inspector typing when the form is made anew for a value from
/// elsewhere: the input that has focus now gets it back once the new inputs
/// are in the page (the same field and row, the caret where it was), so the
/// phone's keyboard does not close.
#[cfg(feature = "hydrate")]
pub(super) fn keep_focus_through_rebuild() {
    use wasm_bindgen::JsCast;
    let Some(active) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
    else {
        return;
    };
    let Some(field) = active.closest("[data-field]").ok().flatten() else {
        return;
    };
    let Some(key) = field.get_attribute("data-field") else {
        return;
    };
    let selector = match active
        .closest("[data-row-id]")
        .ok()
        .flatten()
        .and_then(|row| row.get_attribute("data-row-id"))
    {
        Some(row) => format!("[data-row-id=\"{row}\"] [data-field=\"{key}\"]"),
        None => format!("[data-field=\"{key}\"]"),
    };
    // Which of the field's inputs (a field may hold several, e.g. a choice).
    let inputs = field.query_selector_all("input, textarea, select").ok();
    let nth = inputs.and_then(|list| {
        (0..list.length()).find(|&i| {
            list.get(i)
                .is_some_and(|n| n.is_same_node(Some(active.unchecked_ref())))
        })
    });
    let Some(nth) = nth else { return };
    // Number inputs have no caret to read or set; text and notes do.
    let caret = if let Some(i) = active.dyn_ref::<web_sys::HtmlInputElement>() {
        i.selection_start()
            .ok()
            .flatten()
            .zip(i.selection_end().ok().flatten())
    } else if let Some(t) = active.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        t.selection_start()
            .ok()
            .flatten()
            .zip(t.selection_end().ok().flatten())
    } else {
        None
    };
    request_animation_frame(move || {
        let Some(input) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(&selector).ok().flatten())
            .and_then(|f| f.query_selector_all("input, textarea, select").ok())
            .and_then(|list| list.get(nth))
            .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        else {
            return;
        };
        let _ = input.focus();
        let Some((start, end)) = caret else { return };
        if let Some(i) = input.dyn_ref::<web_sys::HtmlInputElement>() {
            let _ = i.set_selection_range(start, end);
        } else if let Some(t) = input.dyn_ref::<web_sys::HtmlTextAreaElement>() {
            let _ = t.set_selection_range(start, end);
        }
    });
}

/// Reopens a draft where the inspector left it: the field last in view, once the
/// form is in the page.
#[cfg(feature = "hydrate")]
pub(super) fn restore_focus(focus: Option<String>) {
    let Some(focus) = focus else { return };
    request_animation_frame(move || {
        let selector = if let Some(row) = focus.strip_suffix('/') {
            format!("[data-row-id=\"{row}\"]")
        } else {
            format!("[data-field=\"{focus}\"]")
        };
        scroll_to(&selector);
    });
}

pub use page::VisitPage;
#[cfg(feature = "hydrate")]
#[cfg(feature = "hydrate")]
pub(crate) use writes::save_visit;

#[cfg(test)]
mod tests {
    use super::*;

    /// A form's own `required_message` (XLSForm) is said with the missing
    /// field's name, in the phone's language; without one, the label alone.
    #[test]
    fn a_missing_answer_reads_with_the_forms_own_reason() {
        let form: FormDefinition = serde_json::from_value(serde_json::json!({
            "id": "f", "version": 1, "title": {"vi": "F", "en": "F"},
            "sections": [{"key": "s", "title": {"vi": "S", "en": "S"}, "fields": [
                {"key": "name", "type": "text", "label": {"vi": "Tên", "en": "Name"}, "required": true,
                 "required_message": {"vi": "Cần tên cơ sở", "en": "The name is needed"}},
                {"key": "m", "type": "repeat", "label": {"vi": "Máy", "en": "Machines"}, "fields": [
                    {"key": "model", "type": "text", "label": {"vi": "Kiểu", "en": "Model"}, "required": true}
                ]}
            ]}]
        }))
        .unwrap();
        use crate::i18n::Lang;
        assert_eq!(missing_label(&form, "name", Lang::Vi), "Tên: Cần tên cơ sở");
        assert_eq!(
            missing_label(&form, "name", Lang::En),
            "Name: The name is needed"
        );
        assert_eq!(
            missing_label(&form, "m/model", Lang::En),
            "Machines › Model"
        );
        // A conflict names a field by its key; a row's field by its own key.
        assert_eq!(field_label(&form, "name", Lang::Vi), "Tên");
        assert_eq!(field_label(&form, "model", Lang::Vi), "Máy › Kiểu");
        assert_eq!(field_label(&form, "gone", Lang::Vi), "gone");
    }
}
