//! The audit trail as sentences: when, who, did what, to which record
//! (named and linked), the old → new values and from where; narrowed by who,
//! what and when.

use super::*;
use crate::office::admin::contract::AuditFilter;
use crate::office::date_input::DateInput;
use crate::office::review::{audit_detail_in, entry_action_text, record_view};

/// Action groups the filter offers: a code's first part, or a whole code.
const GROUPS: [&str; 12] = [
    "auth",
    "user",
    "device",
    "facility",
    "proposal",
    "review",
    "recommend",
    "form",
    "year",
    "registry",
    "units",
    "import",
];

/// The newest audit entries. On the admin page it loads again after every change.
#[component]
pub fn AuditTrail() -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let reload = use_context::<AdminState>().map(|a| a.reload);
    let filter = RwSignal::new(AuditFilter::default());
    let user_input = RwSignal::new(String::new());
    let entries = Resource::new(
        move || (reload.map(|r| r.get()).unwrap_or(0), filter.get()),
        // The list carries the group it was asked for: the table names it, so
        // a reader (or a test) can tell the new list from the one still shown
        // while it loads.
        |(_, filter)| async move {
            let action = filter.action.clone().unwrap_or_default();
            (action, audit_trail(AUDIT_LIMIT, filter).await)
        },
    );
    let set = move |f: fn(&mut AuditFilter, Option<String>), v: String| {
        filter.update(|q| f(q, Some(v).filter(|s| !s.trim().is_empty())))
    };
    view! {
        <section class="admin-section" data-testid="audit-section">
            <h2>{move || tr("admin.audit.title")}</h2>
            <form class="filter-bar" data-testid="audit-filters" on:submit=move |ev| {
                ev.prevent_default();
                set(|q, v| q.user = v, user_input.get_untracked());
            }>
                <label class="filter">
                    <span>{move || tr("admin.audit.filter_user")}</span>
                    <input type="search" data-testid="audit-filter-user" autocapitalize="none"
                        prop:value=move || user_input.get()
                        on:input=move |ev| user_input.set(event_target_value(&ev))
                        on:change=move |ev| set(|q, v| q.user = v, event_target_value(&ev))/>
                </label>
                <label class="filter">
                    <span>{move || tr("admin.audit.filter_action")}</span>
                    <select data-testid="audit-filter-action" on:change=move |ev| set(|q, v| q.action = v, event_target_value(&ev))>
                        <option value="">{move || tr("audit_group.all")}</option>
                        {GROUPS.into_iter().map(|g| view! {
                            <option value=g>{move || tr(&format!("audit_group.{g}"))}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="filter">
                    <span>{move || tr("admin.audit.filter_from")}</span>
                    <DateInput testid="audit-filter-from"
                        value=Signal::derive(move || filter.with(|q| q.from.clone().unwrap_or_default()))
                        on_change=move |v| set(|q, v| q.from = v, v)/>
                </label>
                <label class="filter">
                    <span>{move || tr("admin.audit.filter_to")}</span>
                    <DateInput testid="audit-filter-to"
                        value=Signal::derive(move || filter.with(|q| q.to.clone().unwrap_or_default()))
                        on_change=move |v| set(|q, v| q.to = v, v)/>
                </label>
            </form>
            <Transition fallback=|| view! { <Loading/> }>
                {move || entries.get().map(|(action, result)| match result {
                    Err(FnError(body)) => view! {
                        <p class="error-banner" data-testid="audit-error">{error_text(lang.get(), &body)}</p>
                    }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty-state" data-testid="audit-empty">{move || tr("admin.audit.empty")}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-scroll">
                        <table class="data-table audit-table" data-testid="audit-trail" data-filter-action=action>
                            <thead>
                                <tr>
                                    <th>{move || tr("admin.audit.at")}</th>
                                    <th>{move || tr("admin.audit.actor")}</th>
                                    <th>{move || tr("admin.audit.what")}</th>
                                    <th>{move || tr("admin.audit.record_label")}</th>
                                    <th>{move || tr("admin.audit.detail")}</th>
                                    <th>{move || tr("admin.audit.ip")}</th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|entry| {
                                    let l = lang.get_untracked();
                                    view! {
                                        <tr data-testid="audit-row" data-action=entry.action.clone()>
                                            <td>{crate::format::datetime_vn(entry.at_ms)}</td>
                                            <td>{entry.actor.clone().unwrap_or_else(|| tr("admin.audit.anonymous"))}</td>
                                            <td data-testid="audit-what">{entry_action_text(l, &entry.action, &entry.detail)}</td>
                                            <td data-testid="audit-record">{record_view(l, &entry)}</td>
                                            <td class="audit-detail" data-testid="audit-detail">{audit_detail_in(l, &entry.detail)}</td>
                                            <td>{entry.ip.clone().unwrap_or_else(|| tr("admin.audit.no_address"))}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
