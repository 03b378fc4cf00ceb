//! The province's extension budget for the year, set by the supervisor, and
//! how much of it the provincial recommendations use.

use super::page::*;
use super::*;

/// The province's budget for the year against what is recommended for provincial
/// funding; an administrator can set it here.
#[component]
pub(super) fn BudgetPanel(
    year: i32,
    budget: Option<i64>,
    used: i64,
    version: RwSignal<u32>,
    saved: RwSignal<bool>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let over = budget.is_some_and(|b| used > b);
    let percent = budget
        .filter(|b| *b > 0)
        .map(|b| used as f64 * 100.0 / b as f64);
    let bar = percent.map(|p| {
        view! {
            <div class="budget-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100"
                aria-valuenow=p.round() as i64 aria-label=tr("plan.budget.percent")>
                <div class="budget-bar-fill" style=format!("width: {:.1}%", p.min(100.0))></div>
            </div>
        }
    });
    view! {
        <section class=if over { "budget-panel over-budget" } else { "budget-panel" }
            data-testid="plan-budget" data-over=over.to_string()>
            <h2>{tr("plan.budget.title").replace("{year}", &year.to_string())}</h2>
            <dl class="fact-list">
                <dt>{move || tr("plan.budget.amount")}</dt>
                <dd class="money" data-testid="plan-budget-amount">{budget.map(vnd).unwrap_or_else(|| tr("plan.budget.not_set"))}</dd>
                <dt>{move || tr("plan.budget.used")}</dt>
                <dd class="money" data-testid="plan-budget-used">{vnd(used)}</dd>
                <dt>{move || tr("plan.budget.remaining")}</dt>
                <dd class="money" data-testid="plan-budget-remaining">{budget.map(|b| vnd(b - used)).unwrap_or_else(|| "—".into())}</dd>
                <dt>{move || tr("plan.budget.percent")}</dt>
                <dd data-testid="plan-budget-percent">{percent.map(percent_text).unwrap_or_else(|| "—".into())}</dd>
            </dl>
            {bar}
            {budget.filter(|_| over).map(|b| view! {
                <p class="warning-banner" role="alert" data-testid="plan-over-budget">
                    {tr("plan.budget.over").replace("{amount}", &vnd(used - b))}
                </p>
            })}
            {move || saved.get().then(|| view! {
                <p class="notice notice-success" role="status" data-testid="budget-saved">{move || tr("plan.budget.saved")}</p>
            })}
            <BudgetForm year=year budget=budget version=version saved=saved lang=lang/>
        </section>
    }
}

/// Administrators only; the phone's copy of the user is known after hydration,
/// so the form appears then (the server checks the role again).
#[component]
pub(super) fn BudgetForm(
    year: i32,
    budget: Option<i64>,
    version: RwSignal<u32>,
    saved: RwSignal<bool>,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let state = use_client();
    let amount = RwSignal::new(budget.map(grouped).unwrap_or_default());
    let typed_error = RwSignal::new(None::<ErrorBody>);
    let save = Action::new(move |value: &Value| {
        let value = value.clone();
        async move {
            let result = contract::set_budget(year, value).await;
            if result.is_ok() {
                saved.set(true);
                version.update(|n| *n += 1);
            }
            result
        }
    });
    let pending = save.pending();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        saved.set(false);
        match parse_amount(&amount.get_untracked()) {
            Ok(Some(value)) => {
                typed_error.set(None);
                save.dispatch(value.to_json());
            }
            Ok(None) => typed_error.set(Some(ErrorBody::new(
                "budget.amount_required",
                "the budget needs an amount",
            ))),
            Err(()) => typed_error.set(Some(amount_invalid())),
        }
    };
    view! {
        <Show when=move || state.user.get().is_some_and(|u| u.has(Role::Administrator))>
            <form class="budget-form" data-testid="budget-form" on:submit=on_submit>
                <label for="budget-amount">{move || tr("plan.budget.set")}</label>
                <div class="inline-field">
                    <input id="budget-amount" type="text" inputmode="numeric" autocomplete="off"
                        data-testid="budget-amount"
                        prop:value=move || amount.get() on:input=move |ev| amount.set(event_target_value(&ev))/>
                    <button type="submit" class="btn btn-primary" data-testid="budget-save" disabled=move || pending.get()>
                        {move || tr("plan.budget.save")}
                    </button>
                </div>
                {move || {
                    let server = save.value().get().and_then(|r| r.err()).map(|FnError(b)| b);
                    typed_error.get().or(server).map(|body| view! {
                        <p class="error-banner" role="alert" data-testid="budget-error">{error_text(lang, &body)}</p>
                    })
                }}
            </form>
        </Show>
    }
}
