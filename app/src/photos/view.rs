//! How a photo's time and place read, on the phone and in the office, and
//! the supervisor's gallery of a visit's photos. The photo field on the visit
//! form is the field app's (`crate::field::photos::field`).

use super::PhotoRecord;
use crate::i18n::{error_text, use_t, Lang};
use leptos::prelude::*;

/// "21.27310, 106.19460 (GPS ±12 m)" with where it came from.
pub fn place_text(
    lat: Option<f64>,
    lon: Option<f64>,
    accuracy: Option<f64>,
    source: Option<&str>,
    tr: &dyn Fn(&str) -> String,
) -> String {
    match (lat, lon) {
        (Some(lat), Some(lon)) => {
            let source = tr(&format!("photo.source_{}", source.unwrap_or("gps")));
            match accuracy.filter(|a| a.is_finite()) {
                Some(a) => format!("{lat:.5}, {lon:.5} ({source} ±{} m)", a.round()),
                None => format!("{lat:.5}, {lon:.5} ({source})"),
            }
        }
        _ => tr("photo.no_place"),
    }
}

pub fn time_text(ms: Option<i64>, source: Option<&str>, tr: &dyn Fn(&str) -> String) -> String {
    match ms {
        Some(ms) => format!(
            "{} ({})",
            crate::format::datetime_vn(ms),
            tr(&format!("photo.source_{}", source.unwrap_or("device")))
        ),
        // Said, not left blank: a supervisor checks photos against the
        // visit's day, and a photo from a phone whose clock was off is kept
        // with its time unknown.
        None => tr("photo.no_time"),
    }
}

/// The supervisor's view of a visit's photos: thumbnails that open an in-page
/// viewer (the display size, whole, with caption, time and place, a link to
/// the original; arrow keys and swipes move between the visit's photos,
/// Escape closes), and any verdict. The viewer replaces a new tab, where the
/// Content-Security-Policy kept the browser's own viewer styles out and a
/// 1600×1200 photo showed cropped.
#[component]
pub fn PhotoGallery(photos: Vec<PhotoRecord>, lang: Lang) -> impl IntoView {
    let tr = use_t();
    let viewing = RwSignal::new(None::<usize>);
    let viewable: Vec<PhotoRecord> = photos
        .iter()
        .filter(|p| p.status == super::PhotoStatus::Ok)
        .cloned()
        .collect();
    let count = viewable.len();
    let items = photos
        .into_iter()
        .map(|p| {
            let time = time_text(p.taken_at_ms, p.time_source.as_deref(), &tr);
            let place = place_text(p.lat, p.lon, p.accuracy_m, p.location_source.as_deref(), &tr);
            let ok = p.status == super::PhotoStatus::Ok;
            let index = viewable.iter().position(|v| v.id == p.id);
            let problem = p.problem.clone().map(|b| error_text(lang, &b));
            let warnings: Vec<(String, String)> = p
                .warnings
                .iter()
                .map(|w| (w.code.clone(), error_text(lang, w)))
                .collect();
            let name = photo_name(&p, index.unwrap_or(0), &tr);
            view! {
                <figure class="gallery-item" data-testid="gallery-photo" data-photo-id=p.id.clone() data-status=p.status.as_str()>
                    {ok.then(|| view! {
                        <a href=p.display_url() aria-label=name.clone() data-testid="gallery-open" on:click=move |ev| {
                            ev.prevent_default();
                            viewing.set(index);
                        }>
                            <img src=p.thumb_url() loading="lazy" alt=name.clone() data-testid="gallery-thumb"/>
                        </a>
                    })}
                    <figcaption>
                        {p.caption.clone().map(|c| view! { <strong data-testid="gallery-caption">{c}</strong> })}
                        <span class="muted" data-testid="gallery-time">{time}</span>
                        <span class="muted" data-testid="gallery-place">{place}</span>
                        {ok.then(|| view! { <a href=p.original_url() data-testid="gallery-original">{move || tr("photo.original")}</a> })}
                        {(!ok).then(|| view! {
                            <span class="badge" data-testid="gallery-status">{tr(&format!("photo.server_{}", p.status.as_str()))}</span>
                        })}
                        {problem.map(|t| view! { <p class="error-banner">{t}</p> })}
                        {warnings.into_iter().map(|(code, t)| view! { <p class="warning-banner" data-testid="gallery-warning" data-code=code>{t}</p> }).collect_view()}
                    </figcaption>
                </figure>
            }
        })
        .collect_view();
    view! {
        <div class="gallery" data-testid="gallery">{items}</div>
        <PhotoViewer photos=viewable viewing=viewing count=count/>
    }
}

/// "Ảnh 2: Biển hiệu nhà xưởng": a name for a photo, caption or not.
fn photo_name(p: &PhotoRecord, index: usize, tr: &dyn Fn(&str) -> String) -> String {
    let number = tr("photo.number").replace("{n}", &(index + 1).to_string());
    match p.caption.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(c) => format!("{number}: {c}"),
        None => number,
    }
}

#[cfg(feature = "hydrate")]
fn focus_thumbnail(index: usize) {
    use wasm_bindgen::JsCast;
    let thumb = leptos::prelude::document()
        .query_selector_all("[data-testid=gallery-open]")
        .ok()
        .and_then(|all| all.get(index as u32))
        .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(el) = thumb {
        let _ = el.focus();
    }
}

/// Focuses the viewer's control named `testid` (what had the focus before
/// the dialog was drawn again), else its close button.
#[cfg(feature = "hydrate")]
fn refocus(testid: Option<&str>, close: NodeRef<leptos::html::Button>) {
    use wasm_bindgen::JsCast;
    let again = testid
        .and_then(|id| {
            leptos::prelude::document()
                .query_selector(&format!("[data-testid=photo-viewer] [data-testid={id}]"))
                .ok()
                .flatten()
        })
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    match again {
        Some(el) => {
            let _ = el.focus();
        }
        None => {
            if let Some(button) = close.get_untracked() {
                let _ = button.focus();
            }
        }
    }
}

/// Tab past the dialog's last control comes back to its first, and
/// Shift+Tab before its first goes to its last.
#[cfg(feature = "hydrate")]
fn keep_tab_inside(ev: &web_sys::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    let Some(dialog) = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return;
    };
    let Ok(all) = dialog.query_selector_all("button, a[href]") else {
        return;
    };
    let (Some(first), Some(last)) = (all.get(0), all.get(all.length().saturating_sub(1))) else {
        return;
    };
    let active: Option<web_sys::Node> =
        leptos::prelude::document().active_element().map(Into::into);
    let (edge, to) = if ev.shift_key() {
        (first, last)
    } else {
        (last, first)
    };
    if active.as_ref() == Some(&edge) {
        if let Some(el) = to.dyn_ref::<web_sys::HtmlElement>() {
            let _ = el.focus();
            ev.prevent_default();
        }
    }
}

/// The in-page viewer: a modal dialog over the page.
#[component]
fn PhotoViewer(
    photos: Vec<PhotoRecord>,
    viewing: RwSignal<Option<usize>>,
    count: usize,
) -> impl IntoView {
    let tr = use_t();
    let close_ref = NodeRef::<leptos::html::Button>::new();
    let photos = StoredValue::new(photos);
    // The control that had the focus when the dialog was drawn again for
    // another photo: "next" pressed by keyboard keeps it, rather than the
    // focus jumping to "close" (where the next Enter shut the viewer).
    let focused = StoredValue::new(None::<String>);
    let step = move |delta: isize| {
        if count == 0 {
            return;
        }
        #[cfg(feature = "hydrate")]
        focused.set_value(
            leptos::prelude::document()
                .active_element()
                .and_then(|e| e.get_attribute("data-testid")),
        );
        viewing.update(|v| {
            if let Some(i) = v {
                *i = (*i as isize + delta).rem_euclid(count as isize) as usize;
            }
        });
    };
    let touch_x = RwSignal::new(None::<i32>);
    // Focus moves into the dialog when it opens, and back to the photo's
    // thumbnail when it closes.
    let last = StoredValue::new(None::<usize>);
    Effect::new(move |_| {
        let now = viewing.get();
        #[cfg(feature = "hydrate")]
        match (last.get_value(), now) {
            (before, Some(_)) => {
                let again = before.and_then(|_| focused.get_value());
                request_animation_frame(move || refocus(again.as_deref(), close_ref));
            }
            (Some(i), None) => focus_thumbnail(i),
            (None, None) => {}
        }
        last.set_value(now);
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = focused;
    move || {
        let index = viewing.get()?;
        let p = photos.with_value(|ps| ps.get(index).cloned())?;
        let time = time_text(p.taken_at_ms, p.time_source.as_deref(), &tr);
        let place = place_text(
            p.lat,
            p.lon,
            p.accuracy_m,
            p.location_source.as_deref(),
            &tr,
        );
        let name = photo_name(&p, index, &tr);
        let position = tr("photo.position")
            .replace("{n}", &(index + 1).to_string())
            .replace("{total}", &count.to_string());
        Some(view! {
            <div class="photo-viewer" role="dialog" aria-modal="true" aria-label=name.clone()
                data-testid="photo-viewer" data-index=index data-photo-id=p.id.clone()
                on:keydown=move |ev| match ev.key().as_str() {
                    "Escape" => viewing.set(None),
                    "ArrowRight" => step(1),
                    "ArrowLeft" => step(-1),
                    // A modal dialog keeps Tab inside it: the page behind
                    // is covered, and its links were reached unseen.
                    #[cfg(feature = "hydrate")]
                    "Tab" => keep_tab_inside(&ev),
                    _ => {}
                }
                on:pointerdown=move |ev| touch_x.set(Some(ev.client_x()))
                on:pointerup=move |ev| {
                    // A swipe (finger or mouse drag) of 50 px or more moves on.
                    if let Some(a) = touch_x.get_untracked() {
                        let b = ev.client_x();
                        if b - a > 50 { step(-1) } else if a - b > 50 { step(1) }
                    }
                    touch_x.set(None);
                }>
                <div class="viewer-bar">
                    <span data-testid="viewer-position">{position}</span>
                    <button type="button" class="btn btn-small" node_ref=close_ref data-testid="viewer-close"
                        on:click=move |_| viewing.set(None)>{move || tr("photo.close")}</button>
                </div>
                <img class="viewer-image" src=p.display_url() alt=name.clone() data-testid="viewer-image"/>
                <div class="viewer-caption">
                    {p.caption.clone().map(|c| view! { <strong data-testid="viewer-caption">{c}</strong> })}
                    <span data-testid="viewer-time">{time}</span>
                    <span data-testid="viewer-place">{place}</span>
                    <a href=p.original_url() data-testid="viewer-original">{move || tr("photo.original")}</a>
                </div>
                {(count > 1).then(|| view! {
                    <div class="viewer-nav">
                        <button type="button" class="btn" data-testid="viewer-previous" on:click=move |_| step(-1)>
                            {move || tr("photo.previous")}
                        </button>
                        <button type="button" class="btn" data-testid="viewer-next" on:click=move |_| step(1)>
                            {move || tr("photo.next")}
                        </button>
                    </div>
                })}
            </div>
        })
    }
}

#[cfg(test)]
mod tests {
    use super::time_text;
    use crate::i18n::{t, Lang};

    /// A photo kept with its time unknown (a phone clock days ahead) said
    /// nothing where its time goes, as if the field were only missing.
    #[test]
    fn a_photo_without_a_time_says_its_time_is_unknown() {
        for (lang, text) in [
            (Lang::Vi, "Không rõ thời điểm chụp"),
            (Lang::En, "Time taken unknown"),
        ] {
            let tr = |key: &str| t(lang, key);
            assert_eq!(time_text(None, None, &tr), text);
            assert!(time_text(Some(1_767_225_600_000), Some("exif"), &tr).contains("2026"));
        }
    }
}
