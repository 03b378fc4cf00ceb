//! The supervisor's pages: every synced visit, and one visit with its answers
//! rendered with the form version it was filled in. Server-rendered from server
//! functions (the office is online); the full console is a later issue.

use crate::error::FnError;
use crate::forms::FieldType;
use crate::i18n::{error_text, use_locale, use_t};
use crate::model::{VisitDetail, VisitSummary};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[server(prefix = "/rpc", endpoint = "list_visits")]
pub async fn list_visits() -> Result<Vec<VisitSummary>, FnError> {
    use crate::model::Role;
    let (state, _) = crate::auth::session::require(&[Role::Supervisor]).await?;
    Ok(crate::store::visits::list_for_review(&state.db, 500).await?)
}

#[server(prefix = "/rpc", endpoint = "get_visit")]
pub async fn get_visit(id: String) -> Result<VisitDetail, FnError> {
    use crate::error::AppError;
    use crate::model::Role;
    let (state, _) = crate::auth::session::require(&[Role::Supervisor]).await?;
    let db = &state.db;
    let (visit, deleted) = crate::store::visits::record(&db.pool, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("visit".into()))?;
    if deleted {
        return Err(AppError::NotFound("visit".into()).into());
    }
    let form = crate::store::forms::get_by_key(
        &db.pool,
        &format!("{}@{}", visit.form_id, visit.form_version),
    )
    .await?
    .ok_or_else(|| {
        AppError::Internal(format!(
            "form {} v{} missing",
            visit.form_id, visit.form_version
        ))
    })?;
    let proposal = match &visit.proposal_id {
        Some(p) => crate::store::catalog::proposal_by_id(&db.pool, p).await?,
        None => None,
    };
    let facility = match &visit.facility_id {
        Some(f) => crate::store::catalog::facility_by_id(&db.pool, f).await?,
        None => None,
    };
    let inspector = crate::store::visits::inspector_name(db, &visit.owner_id).await?;
    Ok(VisitDetail {
        visit,
        form,
        proposal,
        facility,
        inspector,
    })
}

/// A supervisor's decision: send back (a comment is required, optionally about one
/// field), approve or reject. Checked against the visit's current state.
#[server(prefix = "/rpc", endpoint = "decide_visit", input = Json)]
pub async fn decide_visit(
    id: String,
    to: crate::model::ReviewState,
    comment: Option<String>,
    field: Option<String>,
) -> Result<(), FnError> {
    use crate::model::Role;
    let (state, caller) = crate::auth::session::require_caller(&[Role::Supervisor]).await?;
    crate::store::review::decide(
        &state.db,
        &caller.user,
        &id,
        to,
        comment.as_deref(),
        field.as_deref().filter(|f| !f.is_empty()),
        caller.ip.map(|ip| ip.to_string()).as_deref(),
    )
    .await?;
    Ok(())
}

#[component]
pub fn ReviewListPage() -> impl IntoView {
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let visits = Resource::new(|| (), |_| list_visits());
    view! {
        <h1>{move || tr("review.title")}</h1>
        <details class="review-import">
            <summary>{move || tr("review.import_backup")}</summary>
            <p class="hint">{move || tr("review.import_hint")}</p>
            <crate::backup::ImportBackup/>
        </details>
        <Suspense fallback=|| view! { <crate::root::Loading/> }>
            {move || visits.get().map(|result| match result {
                Err(FnError(body)) => view! { <p class="error-banner" data-testid="review-error">{error_text(lang.get(), &body)}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="empty-state">{tr("review.empty")}</p> }.into_any(),
                Ok(list) => view! {
                    <table class="data-table" data-testid="review-visit-list">
                        <thead>
                            <tr>
                                <th>{tr("review.received")}</th>
                                <th>{tr("review.proposal")}</th>
                                <th>{tr("review.district")}</th>
                                <th>{tr("review.inspector")}</th>
                                <th>{tr("review.state")}</th>
                                <th class="num">{tr("review.answers")}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.into_iter().map(|v| view! {
                                <tr data-testid="review-visit-item" data-visit-id=v.id.clone()>
                                    <td>{crate::format::datetime_vn(v.received_at_ms)}</td>
                                    <td>
                                        <a href=format!("/review/visits/{}", v.id)>
                                            {v.proposal_title.clone().or(v.facility_name.clone()).unwrap_or_else(|| v.id.clone())}
                                        </a>
                                        <div class="muted">{v.facility_name.clone().unwrap_or_default()}</div>
                                    </td>
                                    <td>{v.district_name.clone().unwrap_or_default()}</td>
                                    <td>{v.inspector.clone()}</td>
                                    <td><span class=format!("badge badge-{}", v.review_state.as_str().replace('_', "-"))>
                                        {tr(&format!("review_state.{}", v.review_state.as_str()))}
                                    </span></td>
                                    <td class="num">{v.answers}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Suspense>
    }
}

/// An answer as the supervisor reads it: choices by their label, money in VND.
fn show_answer(
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
        (_, serde_json::Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

#[component]
pub fn ReviewDetailPage() -> impl IntoView {
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let params = leptos_router::hooks::use_params_map();
    let decided = RwSignal::new(0u32);
    let detail = Resource::new(
        move || (params.read().get("id").unwrap_or_default(), decided.get()),
        |(id, _)| get_visit(id),
    );
    view! {
        <Suspense fallback=|| view! { <crate::root::Loading/> }>
            {move || detail.get().map(|result| match result {
                Err(FnError(body)) => view! { <p class="error-banner" data-testid="review-error">{error_text(lang.get(), &body)}</p> }.into_any(),
                Ok(d) => {
                    let lang_now = lang.get();
                    let answers = d.form.fields()
                        .filter(|f| f.kind != crate::forms::FieldType::Photo)
                        .filter_map(|f| d.visit.answers.get(&f.key).filter(|v| !v.is_null()).map(|v| (f.clone(), v.clone())))
                        .map(|(f, v)| view! {
                            <dt>{f.label.get(lang_now).to_string()}</dt>
                            <dd data-testid=format!("answer-{}", f.key)>{show_answer(&f, &v, lang_now)}</dd>
                        })
                        .collect_view();
                    view! {
                        <article data-testid="review-visit-detail">
                            <h1>{d.proposal.as_ref().map(|p| p.title.clone()).unwrap_or_else(|| tr("review.visit"))}</h1>
                            <p>
                                <span class=format!("badge badge-{}", d.visit.review_state.as_str().replace('_', "-")) data-testid="review-state" data-state=d.visit.review_state.as_str()>
                                    {tr(&format!("review_state.{}", d.visit.review_state.as_str()))}
                                </span>
                            </p>
                            <p class="muted">
                                {d.facility.as_ref().map(|f| f.name.clone()).unwrap_or_default()}
                                " · " {tr("review.inspector")} ": " {d.inspector.clone()}
                                " · " {crate::format::datetime_vn(d.visit.received_at_ms)}
                            </p>
                            {d.proposal.as_ref().map(|p| view! {
                                <p>{tr("review.requested")} ": " <span class="money">{crate::format::vnd(p.requested_amount)}</span></p>
                            })}
                            <p class="muted">{format!("{} · v{}", d.form.title.get(lang_now), d.form.version)}</p>
                            <dl class="answer-list">{answers}</dl>
                            {rows_view(&d, lang_now)}
                            {(!d.visit.photos.is_empty()).then(|| view! {
                                <h2>{tr("photo.gallery")}</h2>
                                <crate::photos::view::PhotoGallery photos=d.visit.photos.clone() lang=lang_now/>
                            })}
                            <ReviewHistory events=d.visit.review.clone()/>
                            {(d.visit.review_state == crate::model::ReviewState::Submitted).then(|| view! {
                                <ReviewDecision visit_id=d.visit.id.clone() form=d.form.clone() decided=decided/>
                            })}
                            <a href="/review">{tr("review.back")}</a>
                        </article>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

/// Repeat-group rows (e.g. the machines), one table per group.
fn rows_view(d: &VisitDetail, lang: crate::i18n::Lang) -> impl IntoView {
    d.form
        .fields()
        .filter(|f| f.kind == FieldType::Repeat)
        .filter_map(|group| {
            let rows: Vec<_> = d
                .visit
                .rows
                .iter()
                .filter(|r| r.group == group.key)
                .collect();
            (!rows.is_empty()).then(|| {
                let head = group
                    .fields
                    .iter()
                    .map(|c| view! { <th>{c.label.get(lang).to_string()}</th> })
                    .collect_view();
                let body = rows
                    .iter()
                    .map(|row| {
                        let cells = group
                            .fields
                            .iter()
                            .map(|c| {
                                let shown = row
                                    .answers
                                    .get(&c.key)
                                    .filter(|v| !v.is_null())
                                    .map(|v| show_answer(c, v, lang))
                                    .unwrap_or_default();
                                view! { <td>{shown}</td> }
                            })
                            .collect_view();
                        view! { <tr data-testid="review-row">{cells}</tr> }
                    })
                    .collect_view();
                view! {
                    <h2>{group.label.get(lang).to_string()}</h2>
                    <table class="data-table" data-testid=format!("review-rows-{}", group.key)>
                        <thead><tr>{head}</tr></thead>
                        <tbody>{body}</tbody>
                    </table>
                }
            })
        })
        .collect_view()
}

#[component]
fn ReviewHistory(events: Vec<crate::model::ReviewEvent>) -> impl IntoView {
    let tr = use_t();
    (!events.is_empty()).then(|| {
        let items = events
            .into_iter()
            .map(|e| {
                view! {
                    <li>
                        {crate::format::datetime_vn(e.at_ms)} " · " {e.by.clone()} ": "
                        {tr(&format!("review_state.{}", e.from.as_str()))} " → "
                        {tr(&format!("review_state.{}", e.to.as_str()))}
                        {e.comment.clone().map(|c| view! { <q>{c}</q> })}
                    </li>
                }
            })
            .collect_view();
        view! {
            <h2>{tr("review.history")}</h2>
            <ul class="review-history" data-testid="review-history">{items}</ul>
        }
    })
}

/// Send back with a comment (optionally about one field), approve or reject.
#[component]
fn ReviewDecision(
    visit_id: String,
    form: crate::forms::FormDefinition,
    decided: RwSignal<u32>,
) -> impl IntoView {
    use crate::model::ReviewState;
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let comment = RwSignal::new(String::new());
    let field = RwSignal::new(String::new());
    let decide = Action::new(move |to: &ReviewState| {
        let (id, to) = (visit_id.clone(), *to);
        let (c, f) = (comment.get_untracked(), field.get_untracked());
        async move {
            let result = decide_visit(id, to, Some(c), Some(f)).await;
            if result.is_ok() {
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
