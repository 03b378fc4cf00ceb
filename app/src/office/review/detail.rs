//! One file: the visit page's answers, rows, location and decision panel
//! read one loaded visit; split, each part would re-pass it whole.
//!
//! One visit under review: its answers rendered with the form version it
//! was filled in, its repeat rows, location and distance to the facility,
//! what changed since a send-back, its history and the decision.
//!
//! One file (about 590 lines): every section renders from one `VisitDetail` through the same field lookup and labels.

use super::*;
use super::{audit::*, conflicts::*};

/// An answer as the supervisor reads it: choices by their label, money in
/// VND, numbers with Vietnamese separators, dates dd/mm/yyyy, a position as
/// coordinates with their accuracy, yes/no in words, photos counted.
pub(super) fn show_answer(
    field: &crate::forms::Field,
    value: &serde_json::Value,
    lang: crate::i18n::Lang,
) -> String {
    let choice = |v: &str| {
        field
            .choices
            .iter()
            .find(|c| c.value == v)
            .map(|c| c.label.get(lang).to_string())
            .unwrap_or_else(|| v.to_string())
    };
    match (field.kind, value) {
        (FieldType::Money, serde_json::Value::Number(n)) => n
            .as_i64()
            .map(crate::format::vnd)
            .unwrap_or_else(|| n.to_string()),
        (FieldType::YesNo, serde_json::Value::String(s)) => {
            crate::i18n::t(lang, if s == "yes" { "field.yes" } else { "field.no" })
        }
        (FieldType::SelectOne, serde_json::Value::String(s)) => choice(s),
        (FieldType::SelectMany, serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str())
            .map(choice)
            .collect::<Vec<_>>()
            .join(", "),
        (FieldType::Date, serde_json::Value::String(s)) => {
            match crate::forms::rules::parse_iso_date(s) {
                Some((y, m, d)) => format!("{d:02}/{m:02}/{y:04}"),
                None => s.clone(),
            }
        }
        (FieldType::Decimal | FieldType::Integer, serde_json::Value::Number(n)) => n
            .as_f64()
            .map(|x| crate::format::readable_number(x, lang == crate::i18n::Lang::Vi))
            .unwrap_or_else(|| n.to_string()),
        (FieldType::YesNo, serde_json::Value::Bool(b)) => {
            crate::i18n::t(lang, if *b { "field.yes" } else { "field.no" })
        }
        (FieldType::Geopoint, point) => match contract::geopoint(point) {
            Some(here) => geopoint_text(here, point, lang),
            None => point.to_string(),
        },
        (FieldType::Photo, serde_json::Value::Array(items)) => {
            crate::i18n::t(lang, "review.photo_count").replace("{n}", &items.len().to_string())
        }
        (_, serde_json::Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// "21.381230, 106.550120 (± 12 m)": decimal points in coordinates, as map
/// apps take them when pasted.
pub(super) fn geopoint_text(here: (f64, f64), point: &serde_json::Value, lang: Lang) -> String {
    let coords = coords_text(here);
    match point.get("accuracy").and_then(|a| a.as_f64()) {
        Some(m) => format!(
            "{coords} ({})",
            t(lang, "review.accuracy").replace("{m}", &crate::format::decimal_vn(m.round()))
        ),
        None => coords,
    }
}

/// A map at the point, in a new tab (OpenStreetMap: no account, no key).
pub(super) fn map_url((lat, lon): (f64, f64)) -> String {
    format!("https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=17/{lat:.6}/{lon:.6}")
}

/// An answer's cell: the text, and for a position a link to a map.
pub(super) fn answer_view(
    field: &crate::forms::Field,
    value: &serde_json::Value,
    lang: Lang,
) -> impl IntoView {
    let text = show_answer(field, value, lang);
    let map = (field.kind == FieldType::Geopoint)
        .then(|| contract::geopoint(value))
        .flatten()
        .map(|here| {
            view! {
                " "
                <a href=map_url(here) target="_blank" rel="noopener noreferrer" data-testid="answer-map-link">
                    {t(lang, "review.open_map")}
                </a>
            }
        });
    view! { {text} {map} }
}

#[component]
pub fn ReviewDetailPage() -> impl IntoView {
    let Locale(lang) = use_locale();
    let params = use_params_map();
    // Bumped after a decision or a resolved conflict: both resources load again.
    let decided = RwSignal::new(0u32);
    let key = move || (params.read().get("id").unwrap_or_default(), decided.get());
    let detail = Resource::new(key, |(id, _)| get_visit(id));
    let extras = Resource::new(key, |(id, _)| contract::visit_extras(id));
    view! {
        <Suspense fallback=|| view! { <crate::root::Loading/> }>
            {move || {
                let (detail, extras) = (detail.get()?, extras.get()?);
                let lang = lang.get();
                Some(match detail {
                    Err(FnError(body)) => view! {
                        <p class="error-banner" data-testid="review-error">{error_text(lang, &body)}</p>
                    }.into_any(),
                    Ok(d) => view! { <VisitReview d=d extras=extras decided=decided lang=lang/> }.into_any(),
                })
            }}
        </Suspense>
    }
}

/// The answers a supervisor reads, in the form's order: not photos (they have
/// their own strip), and not what the form hides. The phone keeps a hidden
/// answer in case its field comes back; as ODK drops it, the page does.
pub(super) fn answered<'a>(
    form: &'a crate::forms::FormDefinition,
    answers: &'a std::collections::BTreeMap<String, serde_json::Value>,
) -> impl Iterator<Item = (&'a crate::forms::Field, &'a serde_json::Value)> + 'a {
    form.fields()
        .filter(|f| f.kind != FieldType::Photo)
        .filter(|f| crate::forms::expr::is_relevant(f.relevant.as_deref(), answers))
        .filter_map(|f| answers.get(&f.key).filter(|v| !v.is_null()).map(|v| (f, v)))
}

/// One visit and what the console knows beside it. Rendered again as a whole
/// when the language changes or the data loads again.
#[component]
pub(super) fn VisitReview(
    d: VisitDetail,
    extras: Result<VisitReviewExtras, FnError>,
    decided: RwSignal<u32>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    // Without the extras the visit itself still reads; the banner says what is missing.
    let (x, extras_error) = match extras {
        Ok(x) => (x, None),
        Err(FnError(body)) => (VisitReviewExtras::default(), Some(body)),
    };
    let changed: BTreeSet<&str> = x.changed.iter().map(|c| c.field.as_str()).collect();
    let answers = answered(&d.form, &d.visit.answers)
        .map(|(f, v)| {
            let is_changed = changed.contains(f.key.as_str());
            let class = is_changed.then_some("changed");
            let flag = is_changed.then_some("true");
            view! {
                <dt class=class>{f.label.get(lang).to_string()}</dt>
                <dd class=class data-changed=flag data-testid=format!("answer-{}", f.key)>{answer_view(f, v, lang)}</dd>
            }
        })
        .collect_view();
    let proposal_link = d.visit.proposal_id.clone().map(|id| {
        view! {
            <p><a href=format!("/review/proposals/{id}") data-testid="proposal-link">{move || tr("review.open_proposal")}</a></p>
        }
    });
    let decision = (d.visit.review_state == ReviewState::Submitted).then(|| {
        view! {
            <ReviewDecision visit_id=d.visit.id.clone() seen_events=d.visit.review.len() form=d.form.clone() photos=d.visit.photos.clone() decided=decided/>
        }
    });
    view! {
        <article class="console visit-review" data-testid="review-visit-detail">
            <h1>{d.proposal.as_ref().map(|p| p.title.clone()).unwrap_or_else(|| tr("review.visit"))}</h1>
            <p>
                <span class=format!("badge badge-{}", d.visit.review_state.as_str().replace('_', "-")) data-testid="review-state" data-state=d.visit.review_state.as_str()>
                    {tr(&format!("review_state.{}", d.visit.review_state.as_str()))}
                </span>
            </p>
            <p class="muted">
                {d.facility.as_ref().map(|f| f.name.clone()).unwrap_or_default()}
                " · " {move || tr("review.inspector")} ": " {d.inspector.clone()}
                " · " {crate::format::datetime_vn(d.visit.received_at_ms)}
            </p>
            {d.proposal.as_ref().map(|p| view! {
                <p>{move || tr("review.requested")} ": " <span class="money">{crate::format::vnd(p.requested_amount)}</span></p>
            })}
            {proposal_link}
            <p class="muted">{format!("{} · v{}", d.form.title.get(lang), d.form.version)}</p>
            {extras_error.map(|body| view! {
                <p class="error-banner" data-testid="extras-error">{error_text(lang, &body)}</p>
            })}
            <div class="fact-panels">
                {team_view(&d, lang)}
                {location_view(&d, x.distance_m, lang)}
            </div>
            {changed_view(&d, &x, lang)}
            {conflicts_view(&d, x.conflicts.clone(), decided, lang)}
            <dl class="answer-list">{answers}</dl>
            {rows_view(&d, lang)}
            {(!d.visit.photos.is_empty()).then(|| view! {
                <h2>{move || tr("photo.gallery")}</h2>
                <crate::photos::view::PhotoGallery photos=d.visit.photos.clone() lang=lang/>
            })}
            <ReviewHistory events=d.visit.review.clone() form=d.form.clone() photos=d.visit.photos.clone() lang=lang/>
            {decision}
            <AuditList entries=x.audit.clone() testid="visit-audit"/>
            <a href="/review">{move || tr("review.back")}</a>
        </article>
    }
}

/// A value for reading: strings without quotes, nothing as a dash.
pub fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// A field by its key: a top-level field, or a column of a repeat group (keys of
/// row fields may come qualified, `equipment.name`). The label names the group.
pub(super) fn find_field(form: &FormDefinition, key: &str, lang: Lang) -> Option<(String, Field)> {
    if let Some(f) = form.field(key) {
        return Some((f.label.get(lang).to_string(), f.clone()));
    }
    let leaf = key.rsplit(['.', '/']).next().unwrap_or(key);
    form.fields()
        .filter(|g| g.kind == FieldType::Repeat)
        .find_map(|g| {
            g.fields.iter().find(|c| c.key == leaf).map(|c| {
                (
                    format!("{} › {}", g.label.get(lang), c.label.get(lang)),
                    c.clone(),
                )
            })
        })
}

/// "Ảnh: Lò nung", or "Ảnh 2 (chưa có chú thích)" for a photo without a
/// caption: "Ảnh: 2" read as a caption.
pub(super) fn photo_label(photo: &PhotoRecord, index: usize, lang: Lang) -> String {
    match photo.caption.as_deref().map(str::trim) {
        Some(caption) if !crate::domain::shows_nothing(caption) => {
            t(lang, "review.photo_option").replace("{name}", caption)
        }
        _ => t(lang, "review.photo_option_uncaptioned").replace("{n}", &(index + 1).to_string()),
    }
}

/// What a review comment is about: a field, or a photo (`photo:<id>`).
pub(super) fn about_label(
    form: &FormDefinition,
    photos: &[PhotoRecord],
    key: &str,
    lang: Lang,
) -> String {
    if let Some(id) = key.strip_prefix("photo:") {
        return match photos.iter().position(|p| p.id == id) {
            Some(i) => photo_label(&photos[i], i, lang),
            None => t(lang, "review.photo_option").replace("{name}", id),
        };
    }
    find_field(form, key, lang)
        .map(|(label, _)| label)
        .unwrap_or_else(|| key.to_string())
}

pub(super) fn shown(field: Option<&Field>, value: &Value, lang: Lang) -> String {
    match field {
        Some(f) if !value.is_null() => show_answer(f, value, lang),
        _ => compact(value),
    }
}

pub(super) fn answer_text(d: &VisitDetail, key: &str, lang: Lang) -> Option<String> {
    let value = d.visit.answers.get(key).filter(|v| !v.is_null())?;
    Some(shown(d.form.field(key), value, lang))
}

/// Who was there: the inspector, the team members and the facility's representative.
pub(super) fn team_view(d: &VisitDetail, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let dash = || "—".to_string();
    view! {
        <section class="fact-panel" data-testid="visit-team">
            <h2>{move || tr("review.team.title")}</h2>
            <dl class="fact-list">
                <dt>{move || tr("review.inspector")}</dt>
                <dd data-testid="team-inspector">{d.inspector.clone()}</dd>
                <dt>{move || tr("review.team.members")}</dt>
                <dd data-testid="team-members">{answer_text(d, "team_members", lang).unwrap_or_else(dash)}</dd>
                <dt>{move || tr("review.team.representative")}</dt>
                <dd data-testid="team-representative">{answer_text(d, "facility_representative", lang).unwrap_or_else(dash)}</dd>
            </dl>
        </section>
    }
}

/// "420 m", "3,8 km": a decimal comma, as Vietnamese writes it.
pub fn distance_text(metres: f64) -> String {
    if metres.round() < 1000.0 {
        format!("{} m", metres.round() as i64)
    } else {
        format!("{:.1} km", metres / 1000.0).replace('.', ",")
    }
}

pub(super) fn coords_text((lat, lon): (f64, f64)) -> String {
    format!("{lat:.6}, {lon:.6}")
}

/// Where the visit was recorded against where the facility is registered.
pub(super) fn location_view(d: &VisitDetail, distance: Option<f64>, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let here = d.visit.answers.get("location").and_then(contract::geopoint);
    let registered = d.facility.as_ref().and_then(|f| Some((f.lat?, f.lon?)));
    let distance = distance.or(match (here, registered) {
        (Some(a), Some(b)) => Some(contract::distance_m(a.0, a.1, b.0, b.1)),
        _ => None,
    });
    let far = distance.is_some_and(|m| m > contract::DISTANCE_WARNING_M);
    let none = || tr("review.location.none");
    view! {
        <section class="fact-panel" data-testid="visit-location">
            <h2>{move || tr("review.location.title")}</h2>
            <dl class="fact-list">
                <dt>{move || tr("review.location.recorded")}</dt>
                <dd data-testid="location-visit">{here.map(coords_text).unwrap_or_else(none)}</dd>
                <dt>{move || tr("review.location.registered")}</dt>
                <dd data-testid="location-facility">{registered.map(coords_text).unwrap_or_else(none)}</dd>
                <dt>{move || tr("review.location.distance")}</dt>
                <dd data-testid="visit-distance" class=far.then_some("distance-far")
                    data-metres=distance.map(|m| m.round() as i64)>
                    {distance.map(distance_text).unwrap_or_else(|| "—".into())}
                </dd>
            </dl>
            {far.then(|| view! {
                <p class="warning-banner" role="alert" data-testid="distance-warning">
                    {tr("review.location.far").replace("{limit}", &distance_text(contract::DISTANCE_WARNING_M))}
                </p>
            })}
        </section>
    }
}

/// What the inspector changed after the visit was sent back.
pub(super) fn changed_view(d: &VisitDetail, x: &VisitReviewExtras, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    (!x.changed.is_empty() || !x.new_photos.is_empty()).then(|| {
        let items = x
            .changed
            .iter()
            .map(|c| {
                let found = find_field(&d.form, &c.field, lang);
                let label = found
                    .as_ref()
                    .map(|(l, _)| l.clone())
                    .unwrap_or_else(|| c.field.clone());
                let field = found.as_ref().map(|(_, f)| f);
                let before = c
                    .before
                    .as_ref()
                    .map(|v| shown(field, v, lang))
                    .unwrap_or_else(|| "—".into());
                let after = shown(field, &c.after, lang);
                view! {
                    <li data-testid="changed-field" data-field=c.field.clone()>
                        <strong>{label}</strong> ": "
                        <del data-testid="changed-before">{before}</del>
                        " → "
                        <ins data-testid="changed-after">{after}</ins>
                    </li>
                }
            })
            .collect_view();
        let photos = (!x.new_photos.is_empty()).then(|| {
            view! {
                <p data-testid="changed-new-photos" data-count=x.new_photos.len()>
                    {tr("review.changed.new_photos").replace("{n}", &x.new_photos.len().to_string())}
                </p>
            }
        });
        view! {
            <section class="changed-panel" data-testid="changed-since-sendback">
                <h2>{move || tr("review.changed.title")}</h2>
                <ul class="changed-list">{items}</ul>
                {photos}
            </section>
        }
    })
}

/// Rows of a repeat group shown at first, and added by each "more" tap: a
/// long inventory stays a page a supervisor can read and a phone can render.
pub(super) const ROWS_PAGE: usize = 50;

/// Repeat-group rows (e.g. the machines), one table per group, paged.
pub(super) fn rows_view(d: &VisitDetail, lang: crate::i18n::Lang) -> impl IntoView {
    d.form
        .fields()
        .filter(|f| f.kind == FieldType::Repeat)
        .filter_map(|group| {
            let rows: Vec<Vec<String>> = d
                .visit
                .rows
                .iter()
                .filter(|r| r.group == group.key)
                .map(|row| {
                    group
                        .fields
                        .iter()
                        .map(|c| {
                            row.answers
                                .get(&c.key)
                                .filter(|v| !v.is_null())
                                .map(|v| show_answer(c, v, lang))
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .collect();
            (!rows.is_empty()).then(|| {
                let head = group
                    .fields
                    .iter()
                    .map(|c| view! { <th>{c.label.get(lang).to_string()}</th> })
                    .collect_view();
                let total = rows.len();
                let shown = RwSignal::new(ROWS_PAGE.min(total));
                let rows = StoredValue::new(rows);
                let body = move || {
                    rows.with_value(|rows| {
                        rows.iter()
                            .take(shown.get())
                            .map(|cells| {
                                let cells = cells
                                    .iter()
                                    .map(|c| view! { <td>{c.clone()}</td> })
                                    .collect_view();
                                view! { <tr data-testid="review-row">{cells}</tr> }
                            })
                            .collect_view()
                    })
                };
                let key = group.key.clone();
                view! {
                    <h2>{group.label.get(lang).to_string()}</h2>
                    <p class="muted" data-testid=format!("review-rows-{key}-count")>
                        {move || t(lang, "review.rows_shown")
                            .replace("{shown}", &shown.get().to_string())
                            .replace("{total}", &total.to_string())}
                    </p>
                    <div class="table-scroll">
                        <table class="data-table" data-testid=format!("review-rows-{key}")>
                            <thead><tr>{head}</tr></thead>
                            <tbody>{body}</tbody>
                        </table>
                    </div>
                    <Show when=move || { shown.get() < total }>
                        <button type="button" class="btn" data-testid=format!("review-rows-{key}-more")
                            on:click=move |_| shown.update(|n| *n = (*n + ROWS_PAGE).min(total))>
                            {move || t(lang, "review.rows_more")
                                .replace("{n}", &ROWS_PAGE.min(total - shown.get()).to_string())}
                        </button>
                    </Show>
                }
            })
        })
        .collect_view()
}

#[component]
pub(super) fn ReviewHistory(
    events: Vec<crate::model::ReviewEvent>,
    form: FormDefinition,
    photos: Vec<PhotoRecord>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    (!events.is_empty()).then(|| {
        let items = events
            .into_iter()
            .map(|e| {
                let about = e.field.as_deref().filter(|f| !f.is_empty()).map(|f| {
                    view! {
                        " · " {move || tr("review.about_field")} ": "
                        <span class="history-field" data-testid="history-field" data-field=f.to_string()>
                            {about_label(&form, &photos, f, lang)}
                        </span>
                    }
                });
                view! {
                    <li>
                        {crate::format::datetime_vn(e.at_ms)} " · " {e.by.clone()} ": "
                        {tr(&format!("review_state.{}", e.from.as_str()))} " → "
                        {tr(&format!("review_state.{}", e.to.as_str()))}
                        {about}
                        {e.comment.clone().map(|c| view! { <q>{c}</q> })}
                    </li>
                }
            })
            .collect_view();
        view! {
            <h2>{move || tr("review.history")}</h2>
            <ul class="review-history" data-testid="review-history">{items}</ul>
        }
    })
}

/// Send back with a comment (optionally about one field or photo), approve or reject.
#[component]
pub(super) fn ReviewDecision(
    visit_id: String,
    /// The review events the page shows: a visit submitted again since has more.
    seen_events: usize,
    form: FormDefinition,
    photos: Vec<PhotoRecord>,
    decided: RwSignal<u32>,
) -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let comment = crate::office::kept_text::KeptText::new(
        format!("review-comment.{visit_id}"),
        String::new(),
    );
    let field = RwSignal::new(String::new());
    let decide = Action::new(move |to: &ReviewState| {
        let (id, to) = (visit_id.clone(), *to);
        let (c, f) = (comment.get_untracked(), field.get_untracked());
        async move {
            let result = decide_visit(id, to, Some(c), Some(f), Some(seen_events)).await;
            if result.is_ok() {
                comment.sent();
                decided.update(|n| *n += 1);
            }
            result
        }
    });
    let options = form
        .fields()
        .filter(|f| f.kind != FieldType::Note)
        .map(|f| {
            let (key, label) = (f.key.clone(), f.label.clone());
            view! { <option value=key>{move || label.get(lang.get()).to_string()}</option> }
        })
        .collect_view();
    let photo_options = photos
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let value = format!("photo:{}", p.id);
            view! { <option value=value>{move || photo_label(&p, i, lang.get())}</option> }
        })
        .collect_view();
    view! {
        <section class="review-decision" data-testid="review-decision">
            <h2>{move || tr("review.decide")}</h2>
            <label for="review-comment">{move || tr("review.comment")}</label>
            <textarea id="review-comment" rows="3" data-testid="review-comment"
                prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
            <label for="review-field">{move || tr("review.about_field")}</label>
            <select id="review-field" data-testid="review-field" on:change=move |ev| field.set(event_target_value(&ev))>
                <option value="">{move || tr("review.whole_visit")}</option>
                {options}
                {photo_options}
            </select>
            <div class="form-actions">
                <button class="btn" data-testid="review-send-back" disabled=move || decide.pending().get()
                    on:click=move |_| { decide.dispatch(ReviewState::NeedsChanges); }>{move || tr("review.send_back")}</button>
                <button class="btn btn-primary" data-testid="review-approve" disabled=move || decide.pending().get()
                    on:click=move |_| { decide.dispatch(ReviewState::Approved); }>{move || tr("review.approve")}</button>
                <button class="btn btn-danger" data-testid="review-reject" disabled=move || decide.pending().get()
                    on:click=move |_| { decide.dispatch(ReviewState::Rejected); }>{move || tr("review.reject")}</button>
            </div>
            {move || decide.value().get().and_then(|r| r.err()).map(|FnError(body)| view! {
                <p class="error-banner" role="alert" data-testid="review-decision-error">{error_text(lang.get(), &body)}</p>
            })}
        </section>
    }
}
