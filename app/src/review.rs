//! The supervisor's pages: every synced visit, and one visit with its answers
//! rendered with the form version it was filled in. Server-rendered from server
//! functions (the office is online); the full console is a later issue.

use crate::error::FnError;
use crate::forms::FieldType;
use crate::i18n::{error_text, use_locale, use_t};
use crate::model::{VisitDetail, VisitSummary};
use leptos::prelude::*;

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

#[component]
pub fn ReviewListPage() -> impl IntoView {
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let visits = Resource::new(|| (), |_| list_visits());
    view! {
        <h1>{move || tr("review.title")}</h1>
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
    let detail = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        get_visit,
    );
    view! {
        <Suspense fallback=|| view! { <crate::root::Loading/> }>
            {move || detail.get().map(|result| match result {
                Err(FnError(body)) => view! { <p class="error-banner" data-testid="review-error">{error_text(lang.get(), &body)}</p> }.into_any(),
                Ok(d) => {
                    let lang_now = lang.get();
                    let answers = d.form.fields()
                        .filter_map(|f| d.visit.answers.get(&f.key).filter(|v| !v.is_null()).map(|v| (f.clone(), v.clone())))
                        .map(|(f, v)| view! {
                            <dt>{f.label.get(lang_now).to_string()}</dt>
                            <dd data-testid=format!("answer-{}", f.key)>{show_answer(&f, &v, lang_now)}</dd>
                        })
                        .collect_view();
                    view! {
                        <article data-testid="review-visit-detail">
                            <h1>{d.proposal.as_ref().map(|p| p.title.clone()).unwrap_or_else(|| tr("review.visit"))}</h1>
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
                            <a href="/review">{tr("review.back")}</a>
                        </article>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
