//! The photo field on the visit form: take or choose photos, see them
//! offline from the stored Blob, caption, time and place, upload progress and
//! the server's verdict. What the buttons write is in `edit.rs`, the caption's
//! state in `caption.rs`.

use super::caption::Caption;
#[cfg(feature = "hydrate")]
use super::edit::{attach_files, list_unlisted, remove_photo};
use super::local::LocalPhoto;
use crate::error::ErrorBody;
use crate::field::client::use_client;
use crate::field::visits::local::LocalVisit;
use crate::forms::Field;
use crate::i18n::{error_text, use_locale, use_t};
use crate::photos::view::{place_text, time_text};
use leptos::prelude::*;

/// The photo field of a visit: take or choose photos, see them offline.
#[component]
pub fn PhotoField(
    field: Field,
    visit: RwSignal<Option<LocalVisit>>,
    editable: Memo<bool>,
) -> impl IntoView {
    let state = use_client();
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let key = field.key.clone();
    let photos = RwSignal::new(Vec::<LocalPhoto>::new());
    // The list has been read from the phone once (`data-loaded`): before
    // that it is empty whatever the phone holds.
    let read_once = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ErrorBody>);
    let max_px = field.max_px.unwrap_or(crate::photos::DEFAULT_MAX_PX);
    // Only the visit's identity matters here, not every keystroke in its form.
    let visit_id = Memo::new(move |_| visit.with(|v| v.as_ref().map(|v| v.id.clone())));
    // Each upload chunk reloads the list; a read that started before a newer one
    // (and before a caption write) must not land after it.
    let reads = crate::newest::Reads::default();
    // Free space, read as the field opens and after each change: below the
    // margin the field says so before the next shot, which is stored as long
    // as it fits (a shot refused after it was taken is lost).
    let free_mb = RwSignal::new(None::<f64>);
    Effect::new(move |_| {
        let _ = state.data_version.get();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let free = super::capture::free_bytes().await;
            free_mb.try_set(
                free.filter(|f| *f < super::capture::MIN_FREE_BYTES)
                    .map(|f| (f.max(0.0) / 1_048_576.0).floor()),
            );
        });
    });

    {
        let key = key.clone();
        Effect::new(move |_| {
            let _ = state.data_version.get();
            // Upload progress: this field's photos again, not the catalogue.
            let _ = state.uploads.get();
            let (Some(user), Some(visit_id)) = (state.user.get(), visit_id.get()) else {
                return;
            };
            let read = reads.start();
            #[cfg(feature = "hydrate")]
            {
                let key = key.clone();
                leptos::task::spawn_local(async move {
                    let Ok(db) = crate::field::offline::db().await else {
                        return;
                    };
                    let found = read.newest(db.photos(&user.id, Some(&visit_id))).await;
                    if let Some(Ok(mut list)) = found {
                        list.retain(|p| p.field == key);
                        list.sort_by_key(|p| p.created_at_ms);
                        // Once, as the field opens: photos a cut-short batch
                        // stored but never listed in the answer.
                        let unlisted = if read_once.try_get_untracked() == Some(false)
                            && editable.try_get_untracked() == Some(true)
                        {
                            visit
                                .try_with_untracked(|v| {
                                    v.as_ref().map(|v| super::edit::unlisted(&list, v, &key))
                                })
                                .flatten()
                                .unwrap_or_default()
                        } else {
                            Vec::new()
                        };
                        // The page may have gone while the read ran.
                        if photos.try_with_untracked(|current| *current != list) == Some(true) {
                            photos.set(list);
                        }
                        read_once.try_set(true);
                        if !unlisted.is_empty() {
                            if let Err(e) =
                                list_unlisted(state, visit, &visit_id, &key, unlisted).await
                            {
                                error.try_set(Some(e));
                            }
                            crate::field::client::request_sync(state);
                        }
                    }
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (user, visit_id, &key, read);
        });
    }

    let on_files = {
        let key = key.clone();
        move |ev: leptos::ev::Event| {
            #[cfg(feature = "hydrate")]
            {
                use wasm_bindgen::JsCast;
                let Some(input) = ev
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                else {
                    return;
                };
                let files: Vec<web_sys::File> = input
                    .files()
                    .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
                    .unwrap_or_default();
                input.set_value("");
                if files.is_empty() {
                    return;
                }
                busy.set(true);
                error.set(None);
                let key = key.clone();
                // Held by the task, not the page: leaving the visit in the app
                // lets the photos finish; unloading the page would not.
                let ask = crate::field::client::browser::AskBeforeLeaving::hold();
                leptos::task::spawn_local(async move {
                    let _ask = ask;
                    if let Err(e) = attach_files(state, visit, key, files, max_px).await {
                        error.set(Some(e));
                    }
                    busy.set(false);
                    state.bump();
                    crate::field::client::request_sync(state);
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (ev, &key, max_px);
        }
    };
    let label = field.label.clone();
    let hint = field.hint.clone();
    let required = field.required;
    let testid = format!("field-{key}");
    let on_camera = on_files.clone();
    let full = move || photos.with(Vec::len) >= crate::photos::MAX_PER_FIELD;
    view! {
        <div class="field photo-field" data-field=key.clone() data-testid=testid>
            <span class="label">
                {move || label.get(lang.get()).to_string()}
                {required.then(|| view! { <span class="required" aria-hidden="true">" *"</span> })}
            </span>
            {hint.map(|h| view! { <p class="hint">{move || h.get(lang.get()).to_string()}</p> })}
            // At the field's limit the camera goes, and the hint says why.
            <Show when=move || editable.get() && full()>
                <p class="hint" data-testid="photo-full">
                    {move || tr("photo.full").replace("{max}", &crate::photos::MAX_PER_FIELD.to_string())}
                </p>
            </Show>
            <Show when=move || editable.get() && !full()>
                {move || free_mb.get().map(|mb| view! {
                    <p class="warning-banner" data-testid="photo-room-low">
                        {move || tr("photo.room_low").replace("{free_mb}", &mb.to_string())}
                    </p>
                })}
                <div class="photo-actions">
                    <label class="btn">
                        {move || tr("photo.take")}
                        <input type="file" accept="image/*" capture="environment" multiple class="visually-hidden"
                            data-testid="photo-input-camera" on:change=on_camera.clone()/>
                    </label>
                    <label class="btn">
                        {move || tr("photo.choose")}
                        <input type="file" accept="image/*" multiple class="visually-hidden"
                            data-testid="photo-input-gallery" on:change=on_files.clone()/>
                    </label>
                </div>
            </Show>
            {move || busy.get().then(|| view! { <p class="notice" data-testid="photo-busy">{move || tr("photo.processing")}</p> })}
            {move || error.get().map(|e| view! { <p class="error-banner" data-testid="photo-error" role="alert">{error_text(lang.get(), &e)}</p> })}
            <ul class="photo-list" data-testid="photo-list" data-loaded=move || read_once.get().to_string()>
                // Keyed by the photo alone: an item is made once, and progress,
                // state and verdict update inside it, so the caption input the
                // inspector is typing in is never replaced (nor its focus lost).
                <For each=move || photos.get() key=|p| p.id.clone() let:photo>
                    <PhotoItem initial=photo photos=photos visit=visit editable=editable error=error/>
                </For>
            </ul>
        </div>
    }
}

/// One photo of the field. Made once per photo: what changes while it uploads
/// (state, percent, the server's verdict) is read from `photos` by its ID and
/// updates only the parts that show it. The caption input owns its text; what
/// the inspector types is written to IndexedDB (and queued for the server)
/// after a pause in typing or on leaving the input, whatever the upload does.
#[component]
fn PhotoItem(
    initial: LocalPhoto,
    photos: RwSignal<Vec<LocalPhoto>>,
    visit: RwSignal<Option<LocalVisit>>,
    editable: Memo<bool>,
    /// The field's error banner: a removal the phone could not store says so
    /// there (the photo then stays listed, and stays on the phone).
    error: RwSignal<Option<ErrorBody>>,
) -> impl IntoView {
    let state = use_client();
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let id = initial.id.clone();
    let initial_caption = initial.caption.clone();
    let photo = {
        let id = id.clone();
        // While the item is being removed the list no longer has it: keep the last.
        Memo::new(move |previous: Option<&LocalPhoto>| {
            photos
                .with(|list| list.iter().find(|p| p.id == id).cloned())
                .or_else(|| previous.cloned())
                .unwrap_or_else(|| initial.clone())
        })
    };
    let src = RwSignal::new(None::<String>);
    let confirm = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        // The thumbnail renders offline, from the stored Blob; a photo another
        // phone took shows the server's thumbnail once the server judged it ok.
        let source = Memo::new(move |_| {
            photo.with(|p| {
                (
                    p.has_blob,
                    p.server_status == Some(crate::photos::PhotoStatus::Ok),
                )
            })
        });
        let id = id.clone();
        Effect::new(move |_| {
            let (has_blob, server_ok) = source.get();
            if src.get_untracked().is_some() {
                return;
            }
            let id = id.clone();
            leptos::task::spawn_local(async move {
                let blob = if has_blob {
                    match crate::field::offline::db().await {
                        Ok(db) => db.photo_blob(&id).await.ok().flatten(),
                        Err(_) => None,
                    }
                } else {
                    None
                };
                if src.try_get_untracked().flatten().is_some() {
                    return;
                }
                match blob {
                    Some(blob) => src.set(web_sys::Url::create_object_url_with_blob(&blob).ok()),
                    None if server_ok => src.set(Some(format!("/api/photos/{id}/thumb"))),
                    None => {}
                }
            });
        });
        on_cleanup(move || {
            if let Some(url) = src.get_untracked().filter(|u| u.starts_with("blob:")) {
                let _ = web_sys::Url::revoke_object_url(&url);
            }
        });
    }
    let state_name = Memo::new(move |_| photo.with(LocalPhoto::state));
    let percent = Memo::new(move |_| {
        photo.with(|p| {
            if p.size > 0 {
                p.upload.offset * 100 / p.size
            } else {
                0
            }
        })
    });
    let problem = Memo::new(move |_| {
        photo.with(|p| {
            p.problem
                .clone()
                .or_else(|| p.upload.error.clone().filter(|_| p.upload.refused))
        })
    });
    let time = move || photo.with(|p| time_text(p.taken_at_ms, Some(&p.time_source), &tr));
    let place = move || {
        photo.with(|p| place_text(p.lat, p.lon, p.accuracy_m, Some(&p.location_source), &tr))
    };
    let warnings = Memo::new(move |_| photo.with(|p| p.warnings.clone()));

    let (caption, shown_caption) = Caption::new(state, photo, initial_caption, editable);

    let on_remove = move |_| {
        if !confirm.get_untracked() {
            confirm.set(true);
            return;
        }
        let removed = photo.get_untracked();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            error.try_set(remove_photo(state, visit, removed).await.err());
            state.bump();
            crate::field::client::request_sync(state);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (removed, visit, state, error);
    };
    // In the reader's language as it switches, and told apart by caption.
    let alt = move || {
        let caption = photo
            .with(|p| p.caption.clone())
            .filter(|c| !c.trim().is_empty());
        match caption {
            Some(c) => format!("{}: {c}", tr("photo.alt")),
            None => tr("photo.alt"),
        }
    };
    view! {
        <li class="photo-item" data-testid="photo-item" data-photo-id=id.clone() data-state=move || state_name.get()>
            {move || src.get().map(|s| view! { <img class="photo-thumb" src=s alt=alt data-testid="photo-thumb"/> })}
            <div class="photo-meta">
                <span class=move || format!("badge badge-photo-{}", state_name.get()) data-testid="photo-state"
                    data-percent=move || percent.get().to_string()>
                    {move || tr(&format!("photo.state_{}", state_name.get()))}
                    {move || (state_name.get() == "uploading").then(|| format!(" {}%", percent.get()))}
                </span>
                <span class="muted" data-testid="photo-time">{time}</span>
                <span class="muted" data-testid="photo-place">{place}</span>
                {move || problem.get().map(|p| view! { <p class="error-banner" data-testid="photo-problem">{
                    // Refused only because its visit was: it goes with the visit.
                    let tail = if p.code == "upload.unknown_photo" || p.code == "visit.unknown" { "photo.waits_for_visit" } else { "photo.retake" };
                    move || format!("{} {}", error_text(lang.get(), &p), tr(tail))
                }</p> })}
                {move || warnings.get().into_iter().map(|w| { let code = w.code.clone(); view! { <p class="warning-banner" data-testid="photo-warning" data-code=code>{move || error_text(lang.get(), &w)}</p> } }).collect_view()}
                <input type="text" class="photo-caption" data-testid="photo-caption" maxlength=crate::photos::MAX_CAPTION.to_string()
                    node_ref=caption.input_ref placeholder=move || tr("photo.caption") aria-label=move || tr("photo.caption") value=shown_caption
                    data-caption-saved=move || caption.written.get().to_string()
                    prop:disabled=move || !editable.get() on:input=move |ev| caption.on_input(ev) on:change=move |_| caption.on_change()/>
                {move || caption.error.get().map(|e| view! { <p class="error-banner" data-testid="photo-caption-error" role="alert">{error_text(lang.get(), &e)}</p> })}
                <Show when=move || editable.get()>
                    <button type="button" class="btn btn-small" data-testid="photo-remove" on:click=on_remove>
                        {move || if confirm.get() { tr("photo.remove_confirm") } else { tr("photo.remove") }}
                    </button>
                </Show>
            </div>
        </li>
    }
}
