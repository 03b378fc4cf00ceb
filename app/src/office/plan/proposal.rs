//! One proposal: its visits with the team's suggestions, and the supervisor's
//! recommendation (source, whole-đồng amount, rationale), audited.

use super::*;
use crate::office::download::DownloadLink;

#[component]
pub fn ProposalPage() -> impl IntoView {
    let Locale(lang) = use_locale();
    let params = use_params_map();
    // Bumped after a recommendation is saved: the page loads again.
    let version = RwSignal::new(0u32);
    // Outside the page's content, so the message survives the reload it causes.
    let saved = RwSignal::new(false);
    let detail = Resource::new(
        move || (params.read().get("id").unwrap_or_default(), version.get()),
        |(id, _)| contract::get_proposal(id),
    );
    view! {
        <Suspense fallback=|| view! { <crate::root::Loading/> }>
            {move || detail.get().map(|result| {
                let lang = lang.get();
                match result {
                    Err(FnError(body)) => error_banner(lang, &body),
                    Ok(p) => view! { <ProposalView p=p version=version saved=saved lang=lang/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub(super) fn ProposalView(
    p: ProposalDetail,
    version: RwSignal<u32>,
    saved: RwSignal<bool>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let proposal = p.proposal.clone();
    let facility = p.facility.clone();
    let dash = || "—".to_string();
    let facility_facts = facility.as_ref().map(|f| {
        view! {
            <dt>{move || tr("plan.facility")}</dt>
            <dd data-testid="proposal-facility">{f.name.clone()}</dd>
            <dt>{move || tr("plan.address")}</dt>
            <dd>{f.address.clone().unwrap_or_else(dash)}</dd>
            <dt>{move || tr("plan.owner")}</dt>
            <dd>{f.owner_name.clone().unwrap_or_else(dash)}</dd>
            <dt>{move || tr("plan.industry")}</dt>
            <dd data-testid="proposal-industry">{industry_label(lang, &f.industry_group)}</dd>
        }
    });
    view! {
        <article class="console proposal-page" data-testid="proposal-detail" data-proposal-id=proposal.id.clone()>
            <h1>{proposal.title.clone()}</h1>
            <section class="fact-panel">
                <dl class="fact-list">
                    {facility_facts}
                    <dt>{move || tr("review.district")}</dt>
                    <dd data-testid="proposal-district">{p.district_name.clone().unwrap_or_else(|| proposal.registered_by().unwrap_or_default().to_string())}</dd>
                    <dt>{move || tr("plan.year")}</dt>
                    <dd>{proposal.year}</dd>
                    <dt>{move || tr("plan.support_kind")}</dt>
                    <dd data-testid="proposal-support-kind">{support_kind_label(lang, &proposal.support_kind)}</dd>
                    <dt>{move || tr("review.requested")}</dt>
                    <dd class="money" data-testid="proposal-requested">{vnd(proposal.requested_amount)}</dd>
                </dl>
            </section>
            <ProposalVisits visits=p.visits.clone() lang=lang/>
            <section class="recommendation" data-testid="recommendation">
                <h2>{move || tr("plan.recommendation")}</h2>
                {current_recommendation(&p, lang)}
                {move || saved.get().then(|| view! {
                    <p class="notice notice-success" role="status" data-testid="recommend-saved">{move || tr("plan.recommend_saved")}</p>
                })}
                <RecommendForm p=p.clone() version=version saved=saved lang=lang/>
            </section>
            <p class="export-links">
                <DownloadLink testid="export-proposal-photos" href=format!("/api/exports/photos.zip?proposal={}", proposal.id)
                    label=tr("plan.export_photos")/>
            </p>
            <crate::office::registry::edit::ProposalEditPanel proposal=proposal.clone() active=p.active version=version
                place_choices=p.place_choices.clone()/>
            <AuditList entries=p.audit.clone() testid="proposal-audit"/>
            <p class="back-links">
                <a href=format!("/plan?year={}", proposal.year) data-testid="plan-link-back">
                    {tr("plan.back_to_plan").replace("{year}", &proposal.year.to_string())}
                </a>
                " · "
                <a href="/review">{move || tr("review.back")}</a>
            </p>
        </article>
    }
}

/// The proposal's visits, each with the team's suggestion beside it.
#[component]
pub(super) fn ProposalVisits(visits: Vec<contract::ProposalVisit>, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    if visits.is_empty() {
        return view! { <p class="muted" data-testid="proposal-no-visits">{move || tr("plan.no_visits")}</p> }
            .into_any();
    }
    let rows = visits
        .into_iter()
        .map(|v| {
            let s = v.summary;
            let suggestion = v
                .team_suggestion
                .as_deref()
                .map(|x| source_label(lang, x))
                .unwrap_or_else(|| "—".into());
            view! {
                <tr data-testid="proposal-visit" data-visit-id=s.id.clone()>
                    <td><a href=format!("/review/visits/{}", s.id)>{crate::format::datetime_vn(s.received_at_ms)}</a></td>
                    <td>{s.inspector.clone()}</td>
                    <td><StateBadge state=s.review_state/></td>
                    <td data-testid="team-suggestion" data-source=v.team_suggestion.clone().unwrap_or_default()>{suggestion}</td>
                    <td class="money" data-testid="suggested-amount">{v.suggested_amount.map(vnd).unwrap_or_default()}</td>
                    <td class="num">{s.photos}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h2>{move || tr("plan.visits")}</h2>
        <div class="table-scroll">
            <table class="data-table" data-testid="proposal-visits">
                <thead>
                    <tr>
                        <th>{move || tr("review.received")}</th>
                        <th>{move || tr("review.inspector")}</th>
                        <th>{move || tr("review.state")}</th>
                        <th>{move || tr("plan.team_suggestion")}</th>
                        <th class="money">{move || tr("plan.suggested_amount")}</th>
                        <th class="num">{move || tr("review.photos")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

pub(super) fn current_recommendation(p: &ProposalDetail, lang: Lang) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    match &p.recommendation {
        None => view! {
            <p class="muted" data-testid="recommendation-current" data-source="pending">{move || tr("plan.no_recommendation")}</p>
        }
        .into_any(),
        Some(r) => {
            let source = r.recommendation.as_str();
            let by = match (&r.by, r.at_ms) {
                (Some(by), Some(at)) => format!("{by} · {}", crate::format::datetime_vn(at)),
                (Some(by), None) => by.clone(),
                (None, Some(at)) => crate::format::datetime_vn(at),
                (None, None) => String::new(),
            };
            view! {
                <div class="recommendation-current" data-testid="recommendation-current" data-source=source data-amount=r.amount>
                    <span class=format!("badge badge-source-{}", source.replace('_', "-"))>{source_label(lang, source)}</span>
                    " "
                    {(r.recommendation != Recommendation::NotSupported).then(|| view! {
                        <strong class="money">{vnd(r.amount)}</strong>
                    })}
                    {r.rationale.clone().filter(|s| !s.trim().is_empty()).map(|s| view! { <q>{s}</q> })}
                    <div class="muted">{by}</div>
                </div>
            }
            .into_any()
        }
    }
}

/// The recommendation form: source, amount in whole đồng, rationale. The server
/// checks the rules (a reason for more than requested or for no support, an
/// approved visit before any funding); the form only reads the amount.
#[component]
pub(super) fn RecommendForm(
    p: ProposalDetail,
    version: RwSignal<u32>,
    saved: RwSignal<bool>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let id = p.proposal.id.clone();
    // When the recommendation this page shows was made (0: none), so that
    // one made meanwhile by someone else is not overwritten unseen.
    let seen_at_ms = p.recommendation.as_ref().and_then(|r| r.at_ms).unwrap_or(0);
    // Start from the current recommendation, else from a team's suggested source
    // (never its amount: that is the supervisor's to type).
    let (source0, amount0, rationale0) = match &p.recommendation {
        Some(r) => (
            r.recommendation,
            if r.recommendation != Recommendation::NotSupported || r.amount != 0 {
                grouped(r.amount)
            } else {
                String::new()
            },
            r.rationale.clone().unwrap_or_default(),
        ),
        None => (
            p.visits
                .iter()
                .rev()
                .find_map(|v| v.team_suggestion.as_deref().and_then(Recommendation::parse))
                .unwrap_or(Recommendation::Provincial),
            String::new(),
            String::new(),
        ),
    };
    let source = RwSignal::new(source0);
    let amount = RwSignal::new(amount0);
    let rationale = crate::office::kept_text::KeptText::new(format!("rationale.{id}"), rationale0);
    let typed_error = RwSignal::new(None::<ErrorBody>);
    let submit = Action::new(
        move |input: &(Recommendation, Option<Value>, Option<String>)| {
            let (id, (recommendation, amount, text)) = (id.clone(), input.clone());
            async move {
                let result =
                    contract::recommend(id, recommendation, amount, text, Some(seen_at_ms)).await;
                if result.is_ok() {
                    rationale.sent();
                    saved.set(true);
                    version.update(|n| *n += 1);
                }
                result
            }
        },
    );
    let pending = submit.pending();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        saved.set(false);
        match parse_amount(&amount.get_untracked()) {
            Err(()) => typed_error.set(Some(amount_invalid())),
            Ok(value) => {
                typed_error.set(None);
                let text = rationale.get_untracked();
                let rationale = (!text.trim().is_empty()).then(|| text.trim().to_string());
                submit.dispatch((
                    source.get_untracked(),
                    value.map(Amount::to_json),
                    rationale,
                ));
            }
        }
    };
    view! {
        <form class="recommend-form form-section" data-testid="recommend-form" on:submit=on_submit>
            <div class="field">
                <label for="recommend-source">{move || tr("plan.source_label")}</label>
                <select id="recommend-source" data-testid="recommend-source" on:change=move |ev| {
                    let next = Recommendation::parse(&event_target_value(&ev)).unwrap_or(Recommendation::Provincial);
                    // Not supported carries no amount.
                    if next == Recommendation::NotSupported {
                        amount.set(String::new());
                    }
                    source.set(next);
                }>
                    {Recommendation::ALL.into_iter().map(|r| view! {
                        <option value=r.as_str() selected=move || source.get() == r prop:selected=move || source.get() == r>{source_label(lang, r.as_str())}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="recommend-amount">{move || tr("plan.amount")}</label>
                <p class="hint">{move || tr("plan.amount_hint")}</p>
                <input id="recommend-amount" type="text" inputmode="numeric" autocomplete="off"
                    data-testid="recommend-amount"
                    prop:value=move || amount.get() on:input=move |ev| amount.set(event_target_value(&ev))/>
            </div>
            <div class="field">
                <label for="recommend-rationale">{move || tr("plan.rationale")}</label>
                <p class="hint">{move || tr("plan.rationale_hint")}</p>
                <textarea id="recommend-rationale" rows="3" data-testid="recommend-rationale"
                    prop:value=move || rationale.get() on:input=move |ev| rationale.set(event_target_value(&ev))></textarea>
            </div>
            {move || {
                let server = submit.value().get().and_then(|r| r.err()).map(|FnError(b)| b);
                typed_error.get().or(server).map(|body| view! {
                    <p class="error-banner" role="alert" data-testid="recommend-error">{error_text(lang, &body)}</p>
                })
            }}
            <div class="form-actions">
                <button type="submit" class="btn btn-primary" data-testid="recommend-submit" disabled=move || pending.get()>
                    {move || tr("plan.recommend_submit")}
                </button>
            </div>
        </form>
    }
}
