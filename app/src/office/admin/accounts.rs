//! The accounts list: one row per account, and the edit panel of the one
//! being edited (name, phone, roles, units, active, password reset, devices).

use super::*;
use super::{devices::*, new_account::*};

#[component]
pub(super) fn AccountTable(accounts: Vec<AccountSummary>, units: Arc<Vec<AdminUnit>>) -> AnyView {
    let tr = use_t();
    let rows = accounts
        .into_iter()
        .map(|account| view! { <AccountRow account=account units=units.clone()/> })
        .collect_view();
    view! {
        <table class="data-table account-table" data-testid="account-list">
            <thead>
                <tr>
                    <th>{move || tr("admin.username")}</th>
                    <th>{move || tr("admin.display_name")}</th>
                    <th>{move || tr("admin.phone")}</th>
                    <th>{move || tr("admin.roles")}</th>
                    <th>{move || tr("admin.units")}</th>
                    <th>{move || tr("admin.status")}</th>
                    <th class="num">{move || tr("admin.devices")}</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// "thành phố Bắc Giang (213)" for each unit key an account holds; a key whose
/// unit is not in the list is shown as it is.
pub(super) fn unit_labels(units: &[AdminUnit], keys: &[String]) -> String {
    keys.iter()
        .map(|key| match units.iter().find(|u| u.key() == *key) {
            Some(u) => format!("{} ({})", u.full_name(), u.code),
            None => key.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One account, and below it its edit panel when open.
#[component]
pub(super) fn AccountRow(account: AccountSummary, units: Arc<Vec<AdminUnit>>) -> AnyView {
    let tr = use_t();
    let admin = expect_context::<AdminState>();
    let open = {
        let id = account.id.clone();
        Memo::new(move |_| admin.editing.with(|e| e.as_deref() == Some(id.as_str())))
    };
    let toggle = {
        let id = account.id.clone();
        move |_| {
            admin.panel_notice.set(None);
            admin.panel_error.set(None);
            admin.editing.update(|e| {
                *e = if e.as_deref() == Some(id.as_str()) {
                    None
                } else {
                    Some(id.clone())
                }
            });
        }
    };
    let roles = account.roles.clone();
    let username = account.username.clone();
    let panel_account = account.clone();
    let status = if account.active {
        view! { <span class="badge badge-synced" data-testid="account-active">{move || tr("admin.active")}</span> }.into_any()
    } else {
        view! { <span class="badge badge-refused" data-testid="account-inactive">{move || tr("admin.inactive")}</span> }.into_any()
    };
    let must_change = account.must_change_password.then(|| {
        view! { <span class="badge badge-queued" data-testid="account-must-change">{move || tr("admin.must_change")}</span> }
    });
    view! {
        <tr
            data-testid="account-row"
            data-username=account.username.clone()
            data-active=account.active.to_string()
            data-must-change=account.must_change_password.to_string()
        >
            <td><strong>{account.username.clone()}</strong></td>
            <td>{account.display_name.clone()}</td>
            <td>{account.phone.clone().unwrap_or_default()}</td>
            <td data-testid="account-roles">{move || role_names(tr, &roles)}</td>
            <td data-testid="account-units">{unit_labels(&units, &account.units)}</td>
            <td class="badges">{status} " " {must_change}</td>
            <td class="num" data-testid="account-devices">{account.devices}</td>
            <td>
                <button
                    type="button"
                    class="btn btn-small btn-secondary"
                    data-testid="account-edit"
                    aria-expanded=move || open.get().to_string()
                    on:click=toggle
                >
                    {move || if open.get() { tr("admin.close") } else { tr("admin.edit") }}
                </button>
            </td>
        </tr>
        <Show when=move || open.get()>
            <tr class="edit-row" data-testid="account-edit-row" data-username=username.clone()>
                <td colspan="8" class="edit-cell">
                    <AccountPanel account=panel_account.clone() units=units.clone()/>
                </td>
            </tr>
        </Show>
    }
    .into_any()
}

/// Editing one account: details, roles and units; access; password; devices.
#[component]
pub(super) fn AccountPanel(account: AccountSummary, units: Arc<Vec<AdminUnit>>) -> AnyView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let admin = expect_context::<AdminState>();
    let id = StoredValue::new(account.id.clone());
    let active = account.active;
    let display_name = RwSignal::new(account.display_name.clone());
    let phone = RwSignal::new(account.phone.clone().unwrap_or_default());
    let roles = RwSignal::new(account.roles.clone());
    let assigned = RwSignal::new(account.units.clone());
    let temporary = RwSignal::new(String::new());
    // Deactivating ends every session at once and stops the account's phones
    // syncing: asked twice, as revoking a device is. Reactivating is not.
    let confirming_off = RwSignal::new(false);

    let save = Action::new(move |update: &AccountUpdate| {
        let update = update.clone();
        async move {
            match update_account(update).await {
                Ok(saved) => admin.changed("admin.saved", saved.username),
                Err(FnError(body)) => admin.failed(body),
            }
        }
    });
    let set_active = Action::new(move |active: &bool| {
        let (id, active) = (id.get_value(), *active);
        async move {
            match set_account_active(id, active).await {
                Ok(saved) => admin.changed(
                    if saved.active {
                        "admin.reactivated"
                    } else {
                        "admin.deactivated"
                    },
                    saved.username,
                ),
                Err(FnError(body)) => admin.failed(body),
            }
        }
    });
    let reset = Action::new(move |password: &String| {
        let (id, password) = (id.get_value(), password.clone());
        async move {
            match reset_password(id, password).await {
                Ok(saved) => {
                    // The temporary password stays in its box, to be passed on.
                    admin.changed("admin.password_reset", saved.username);
                }
                Err(FnError(body)) => admin.failed(body),
            }
        }
    });
    let devices = Resource::new(move || id.get_value(), list_devices);
    let revoke = Action::new(move |device_id: &String| {
        let device_id = device_id.clone();
        let username = account.username.clone();
        async move {
            match revoke_device(device_id).await {
                Ok(_) => {
                    devices.refetch();
                    admin.changed("admin.device_revoked", username);
                }
                Err(FnError(body)) => admin.failed(body),
            }
        }
    });

    // One memo each: `pending()` makes a new memo at every call.
    let saving = save.pending();
    let toggling = set_active.pending();
    let resetting = reset.pending();
    let revoking = revoke.pending();

    let submit_details = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        admin.panel_error.set(None);
        save.dispatch(AccountUpdate {
            id: id.get_value(),
            display_name: display_name.get_untracked().trim().to_string(),
            phone: optional(&phone.get_untracked()),
            roles: roles.get_untracked(),
            units: assigned.get_untracked(),
        });
    };
    let submit_reset = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if resetting.get_untracked() {
            return;
        }
        admin.panel_error.set(None);
        reset.dispatch(temporary.get_untracked());
    };
    let field_id = |name: &str| format!("{name}-{}", id.get_value());
    let toggle_class = if active {
        "btn btn-danger"
    } else {
        "btn btn-secondary"
    };

    view! {
        <div class="account-panel" data-testid="account-edit-panel">
            <Show when=move || admin.panel_error.get().is_some()>
                <p class="error-banner" role="alert" data-testid="account-edit-error">
                    {move || admin.panel_error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default()}
                </p>
            </Show>
            <Show when=move || admin.panel_notice.get().is_some()>
                <p class="notice" role="status" data-testid="account-edit-notice">
                    {move || admin.panel_notice.get().map(|n| tr(n.key).replace("{username}", &n.username)).unwrap_or_default()}
                </p>
            </Show>

            <form class="form panel-block" data-testid="account-edit-form" on:submit=submit_details>
                <h3>{move || tr("admin.edit_title")}</h3>
                <div class="field">
                    <label for=field_id("edit-name")>{move || tr("admin.display_name")}</label>
                    <input
                        id=field_id("edit-name")
                        data-testid="edit-display-name"
                        required
                        prop:value=move || display_name.get()
                        on:input=move |ev| display_name.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for=field_id("edit-phone")>{move || tr("admin.phone")}</label>
                    <input
                        id=field_id("edit-phone")
                        type="tel"
                        inputmode="tel"
                        data-testid="edit-phone"
                        prop:value=move || phone.get()
                        on:input=move |ev| phone.set(event_target_value(&ev))
                    />
                </div>
                <fieldset class="field">
                    <legend>{move || tr("admin.roles")}</legend>
                    <RolePicker selected=roles prefix="edit-role"/>
                </fieldset>
                <fieldset class="field">
                    <legend>{move || tr("admin.units")}</legend>
                    <p class="hint">{move || tr("admin.units_hint")}</p>
                    <UnitPicker units=units selected=assigned testid="edit-units"/>
                </fieldset>
                <div class="admin-actions">
                    <button type="submit" class="btn btn-primary" data-testid="account-save" disabled=move || saving.get()>
                        {move || tr("admin.save")}
                    </button>
                </div>
            </form>

            <div class="panel-block">
                <h3>{move || tr("admin.access")}</h3>
                <p class="hint">{move || tr("admin.deactivate_hint")}</p>
                <button
                    type="button"
                    class=toggle_class
                    data-testid="account-toggle-active"
                    data-active=active.to_string()
                    disabled=move || toggling.get() || confirming_off.get()
                    on:click=move |_| {
                        admin.panel_error.set(None);
                        if active {
                            confirming_off.set(true);
                        } else {
                            set_active.dispatch(true);
                        }
                    }
                >
                    {move || tr(if active { "admin.deactivate" } else { "admin.reactivate" })}
                </button>
                <Show when=move || confirming_off.get()>
                    <span class="confirm-revoke" role="group" data-testid="account-deactivate-question">
                        <span class="confirm-question">{move || tr("admin.deactivate_question")}</span>
                        <button type="button" class="btn btn-small btn-danger" data-testid="account-deactivate-confirm"
                            disabled=move || toggling.get()
                            on:click=move |_| {
                                confirming_off.set(false);
                                set_active.dispatch(false);
                            }>
                            {move || tr("admin.deactivate")}
                        </button>
                        <button type="button" class="btn btn-small btn-secondary" data-testid="account-deactivate-cancel"
                            on:click=move |_| confirming_off.set(false)>
                            {move || tr("admin.cancel")}
                        </button>
                    </span>
                </Show>
            </div>

            <form class="form panel-block" data-testid="reset-password-form" on:submit=submit_reset>
                <h3>{move || tr("admin.reset_title")}</h3>
                <div class="field">
                    <label for=field_id("reset-password")>{move || tr("admin.reset_label")}</label>
                    // Visible text: the administrator has to pass it on to the user.
                    <input
                        id=field_id("reset-password")
                        type="text"
                        autocomplete="off"
                        autocapitalize="none"
                        spellcheck="false"
                        data-testid="reset-password-input"
                        required
                        prop:value=move || temporary.get()
                        on:input=move |ev| temporary.set(event_target_value(&ev))
                    />
                    <p class="hint">{move || tr("admin.reset_hint")}</p>
                </div>
                <div class="admin-actions">
                    <button type="submit" class="btn btn-secondary" data-testid="reset-password-submit" disabled=move || resetting.get()>
                        {move || tr("admin.reset_submit")}
                    </button>
                </div>
            </form>

            <div class="panel-block">
                <h3>{move || tr("admin.devices_title")}</h3>
                <Transition fallback=|| view! { <Loading/> }>
                    {move || devices.get().map(|result| match result {
                        Err(FnError(body)) => view! {
                            <p class="error-banner" role="alert" data-testid="device-error">{error_text(lang.get(), &body)}</p>
                        }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted" data-testid="device-none">{move || tr("admin.no_devices")}</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="list device-list" data-testid="device-list">
                                {list.into_iter().map(|device| view! { <DeviceItem device=device revoke=revoke revoking=revoking/> }).collect_view()}
                            </ul>
                        }.into_any(),
                    })}
                </Transition>
            </div>
        </div>
    }
    .into_any()
}
