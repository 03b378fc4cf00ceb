//! The audit trail: who did what, from where, old → new.

use super::*;

/// The newest audit entries. On the admin page it loads again after every change.
#[component]
pub fn AuditTrail() -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let reload = use_context::<AdminState>().map(|a| a.reload);
    let entries = Resource::new(
        move || reload.map(|r| r.get()).unwrap_or(0),
        |_| audit_trail(AUDIT_LIMIT),
    );
    view! {
        <section class="admin-section" data-testid="audit-section">
            <h2>{move || tr("admin.audit.title")}</h2>
            <Transition fallback=|| view! { <Loading/> }>
                {move || entries.get().map(|result| match result {
                    Err(FnError(body)) => view! {
                        <p class="error-banner" data-testid="audit-error">{error_text(lang.get(), &body)}</p>
                    }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty-state">{tr("admin.audit.empty")}</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="data-table audit-table" data-testid="audit-trail">
                            <thead>
                                <tr>
                                    <th>{tr("admin.audit.at")}</th>
                                    <th>{tr("admin.audit.actor")}</th>
                                    <th>{tr("admin.audit.action")}</th>
                                    <th>{tr("admin.audit.entity")}</th>
                                    <th>{tr("admin.audit.record")}</th>
                                    <th>{tr("admin.audit.ip")}</th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|entry| view! {
                                    <tr data-testid="audit-row" data-action=entry.action.clone()>
                                        <td>{crate::format::datetime_vn(entry.at_ms)}</td>
                                        <td>{entry.actor.clone().unwrap_or_else(|| tr("admin.audit.anonymous"))}</td>
                                        <td><code>{entry.action.clone()}</code></td>
                                        <td>{entry.entity.clone()}</td>
                                        // The detail (old → new values) is JSON: a tooltip, not a column.
                                        <td><code class="record-id" title=entry.detail.clone()>{entry.record_id.clone()}</code></td>
                                        <td>{entry.ip.clone().unwrap_or_default()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
