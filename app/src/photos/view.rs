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
        None => String::new(),
    }
}

/// The supervisor's view of a visit's photos: thumbnails that open the display
/// size, the original on demand, caption, time and place, and any verdict.
#[component]
pub fn PhotoGallery(photos: Vec<PhotoRecord>, lang: Lang) -> impl IntoView {
    let tr = use_t();
    let items = photos
        .into_iter()
        .map(|p| {
            let time = time_text(p.taken_at_ms, p.time_source.as_deref(), &tr);
            let place = place_text(p.lat, p.lon, p.accuracy_m, p.location_source.as_deref(), &tr);
            let ok = p.status == super::PhotoStatus::Ok;
            let problem = p.problem.clone().map(|b| error_text(lang, &b));
            let warnings: Vec<(String, String)> = p
                .warnings
                .iter()
                .map(|w| (w.code.clone(), error_text(lang, w)))
                .collect();
            view! {
                <figure class="gallery-item" data-testid="gallery-photo" data-photo-id=p.id.clone() data-status=p.status.as_str()>
                    {ok.then(|| view! {
                        <a href=p.display_url() target="_blank" rel="noopener">
                            <img src=p.thumb_url() loading="lazy" alt=p.caption.clone().unwrap_or_default() data-testid="gallery-thumb"/>
                        </a>
                    })}
                    <figcaption>
                        {p.caption.clone().map(|c| view! { <strong data-testid="gallery-caption">{c}</strong> })}
                        <span class="muted" data-testid="gallery-time">{time}</span>
                        <span class="muted" data-testid="gallery-place">{place}</span>
                        {ok.then(|| view! { <a href=p.original_url() data-testid="gallery-original">{tr("photo.original")}</a> })}
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
    view! { <div class="gallery" data-testid="gallery">{items}</div> }
}
