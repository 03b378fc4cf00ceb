//! Discarding what a refused visit keeps: changes no save can send (another
//! phone finalized the visit, a supervisor decided it), which otherwise stay
//! on the phone for good and every logout counts. The inspector is told what
//! goes (answers, rows, photos taken here) before anything does; the write
//! is `OfflineDb::discard_kept`, the rule `refused::discard`.

use super::local::LocalVisit;
use super::refused::Kept;
use crate::error::ErrorBody;
use crate::field::client::use_client;
use crate::i18n::{error_text, use_locale, use_t};
use leptos::prelude::*;

#[component]
pub(super) fn DiscardKept(
    visit: RwSignal<Option<LocalVisit>>,
    outside_values: RwSignal<u32>,
) -> impl IntoView {
    let state = use_client();
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    // What a discard would drop, once the inspector asked: the question names it.
    let asked = RwSignal::new(None::<Kept>);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ErrorBody>);
    let run = move |confirmed: bool| {
        let Some(id) = visit.with_untracked(|v| v.as_ref().map(|v| v.id.clone())) else {
            return;
        };
        busy.set(true);
        error.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = async {
                let (user_id, device) = state.who()?;
                let now = crate::field::client::browser::now_ms();
                step(user_id, device, id, now, confirmed).await
            };
            match answer.await {
                Ok(Step::Asked(kept)) => asked.set(Some(kept)),
                // The stored copy is the screen's now: the form shows it anew.
                // The stored copy is the screen's now, whether this discard
                // wrote it or another tab's did (or a send-back landed first):
                // set outright, so the screen's kept answers do not stay on
                // top of it as a draft.
                Ok(Step::Discarded(stored)) => {
                    asked.set(None);
                    if let Some(stored) = stored {
                        visit.set(Some(*stored));
                        outside_values.update(|n| *n += 1);
                    }
                    state.bump();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (id, state, outside_values, confirmed);
    };
    view! {
        <div class="discard-kept" data-testid="visit-discard">
            {move || match asked.get() {
                None => view! {
                    <button class="btn btn-secondary btn-small" data-testid="visit-discard-ask"
                        disabled=move || busy.get() on:click=move |_| run(false)>
                        {move || tr("visit.discard")}
                    </button>
                }
                .into_any(),
                Some(kept) => {
                    let question = move || {
                        tr("visit.discard_confirm")
                            .replace("{changes}", &kept.changes.to_string())
                            .replace("{photos}", &kept.photos.to_string())
                    };
                    view! {
                        <div class="confirm-panel" role="alertdialog" aria-labelledby="visit-discard-question">
                            <p id="visit-discard-question" data-testid="visit-discard-question"
                                data-changes=kept.changes data-photos=kept.photos>{question}</p>
                            <div class="admin-actions">
                                <button class="btn btn-danger btn-small" data-testid="visit-discard-yes"
                                    disabled=move || busy.get() on:click=move |_| run(true)>{move || tr("visit.discard_yes")}</button>
                                <button class="btn btn-secondary btn-small" data-testid="visit-discard-no"
                                    on:click=move |_| asked.set(None)>{move || tr("visit.discard_no")}</button>
                            </div>
                        </div>
                    }
                    .into_any()
                }
            }}
            {move || error.get().map(|e| view! { <p class="error-banner" role="alert">{error_text(lang.get(), &e)}</p> })}
        </div>
    }
}

/// What the inspector's question or answer got.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub enum Step {
    /// What a discard would drop.
    Asked(Kept),
    /// The visit as stored after it (`None`: gone from the phone).
    Discarded(Option<Box<LocalVisit>>),
}

/// The question (what a discard would drop) or, `confirmed`, the discard.
/// (A lazy chunk of its own made the home page's set 1.3 KB larger, not
/// smaller: the splitter's shared pieces grew more than the page shrank.)
#[cfg(feature = "hydrate")]
pub async fn step(
    user_id: String,
    device: String,
    visit_id: String,
    now_ms: i64,
    confirmed: bool,
) -> Result<Step, ErrorBody> {
    let storage = |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    let db = crate::field::offline::db().await.map_err(storage)?;
    if confirmed {
        let done = db.discard_kept(&user_id, &visit_id, &device, now_ms).await;
        if let Some(done) = done.map_err(storage)? {
            return Ok(Step::Discarded(Some(Box::new(done))));
        }
    }
    let stored = db.visit(&user_id, &visit_id).await.map_err(storage)?;
    let visit = match stored {
        Some(visit) if !confirmed && super::refused::discardable(&visit) => visit,
        other => return Ok(Step::Discarded(other.map(Box::new))),
    };
    let photos = db
        .photos(&user_id, Some(&visit_id))
        .await
        .map_err(storage)?;
    Ok(Step::Asked(super::refused::kept(&visit, &photos)))
}
