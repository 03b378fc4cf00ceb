//! A phone an account logged in on, and revoking it when it is lost.

use super::*;

/// One bound phone. Revoking asks for a second, explicit click on the page itself.
#[component]
pub(super) fn DeviceItem(
    device: DeviceSummary,
    revoke: Action<String, ()>,
    revoking: Memo<bool>,
) -> AnyView {
    let tr = use_t();
    let confirming = RwSignal::new(false);
    let id = StoredValue::new(device.device_id.clone());
    let revoked = device.revoked_at_ms.is_some();
    let short: String = device.device_id.chars().take(8).collect();
    let created = crate::format::datetime_vn(device.created_at_ms);
    let seen = device.last_seen_at_ms.map(crate::format::datetime_vn);
    let last_seq = device.last_seq;
    let badge = match device.revoked_at_ms.map(crate::format::datetime_vn) {
        Some(at) => view! {
            <span class="badge badge-refused" data-testid="device-revoked">
                {move || format!("{} {at}", tr("admin.device_revoked_at"))}
            </span>
        }
        .into_any(),
        None => {
            view! { <span class="badge badge-synced">{move || tr("admin.device_in_use")}</span> }
                .into_any()
        }
    };
    let actions = (!revoked).then(|| {
        view! {
            <div class="device-actions">
                {move || if confirming.get() {
                    view! {
                        <span class="confirm-revoke" role="group">
                            <span class="confirm-question">{move || tr("admin.revoke_question")}</span>
                            <button
                                type="button"
                                class="btn btn-small btn-danger"
                                data-testid="device-revoke-confirm"
                                disabled=move || revoking.get()
                                on:click=move |_| {
                                    confirming.set(false);
                                    revoke.dispatch(id.get_value());
                                }
                            >
                                {move || tr("admin.revoke_confirm")}
                            </button>
                            <button
                                type="button"
                                class="btn btn-small btn-secondary"
                                data-testid="device-revoke-cancel"
                                on:click=move |_| confirming.set(false)
                            >
                                {move || tr("admin.cancel")}
                            </button>
                        </span>
                    }.into_any()
                } else {
                    view! {
                        <button
                            type="button"
                            class="btn btn-small btn-secondary"
                            data-testid="device-revoke"
                            on:click=move |_| confirming.set(true)
                        >
                            {move || tr("admin.revoke")}
                        </button>
                    }.into_any()
                }}
            </div>
        }
    });
    view! {
        <li
            class="list-item device-row"
            data-testid="device-row"
            data-device=device.device_id.clone()
            data-revoked=revoked.to_string()
        >
            <div class="item-title"><code title=device.device_id.clone()>{format!("{short}…")}</code></div>
            <div class="item-badges">{badge}</div>
            <div class="item-meta">
                {move || format!(
                    "{}: {created} · {}: {} · {}: {last_seq}",
                    tr("admin.device_created"),
                    tr("admin.device_seen"),
                    seen.clone().unwrap_or_else(|| tr("admin.never")),
                    tr("admin.device_last_seq"),
                )}
            </div>
            {actions}
        </li>
    }
    .into_any()
}
