//! The administrator's screen (`/admin`): accounts with their roles, units and
//! devices; creating and editing them, deactivating, resetting a password,
//! revoking a lost phone; and the audit trail. Server-rendered from the server
//! functions in `accounts`, which check the role: this screen shows what they answer.
//!
//! One file (902 lines): the accounts screen's components share its AdminState; issue 16 moves it into office/admin/ split by accounts, devices and audit.

use crate::accounts::{
    assignable_units, audit_trail, create_account, list_accounts, list_devices, reset_password,
    revoke_device, set_account_active, update_account, AccountSummary, AccountUpdate,
    DeviceSummary, NewAccount,
};
use crate::error::{ErrorBody, FnError};
use crate::i18n::{error_text, use_locale, use_t, Locale};
use crate::model::{AdminUnit, Role};
use crate::root::Loading;
use leptos::prelude::*;
use std::collections::HashSet;
use std::sync::Arc;

/// Every role, in the order the screen lists them.
const ROLES: [Role; 3] = [Role::Inspector, Role::Supervisor, Role::Administrator];

/// How many audit entries the page shows (the server caps a request at 500).
const AUDIT_LIMIT: u32 = 200;

/// Shown in the first-password hint. The server enforces the limit
/// (`store::users::MIN_PASSWORD_LEN`, ssr-only); this copy is only for the text.
const MIN_PASSWORD_LEN: usize = 10;

/// A message after a change: a locale key whose `{username}` is filled in when
/// shown, so it follows a language switch.
#[derive(Debug, Clone, PartialEq)]
struct Notice {
    key: &'static str,
    username: String,
}

/// What the rows and edit panels share. It lives above the account list because
/// the list renders again after every change, and the open panel and its last
/// message must survive that.
#[derive(Clone, Copy)]
struct AdminState {
    /// Bumped after every change: the list and the audit trail load again.
    reload: RwSignal<u64>,
    /// The id of the account whose edit panel is open.
    editing: RwSignal<Option<String>>,
    panel_notice: RwSignal<Option<Notice>>,
    panel_error: RwSignal<Option<ErrorBody>>,
}

impl AdminState {
    fn new() -> Self {
        Self {
            reload: RwSignal::new(0),
            editing: RwSignal::new(None),
            panel_notice: RwSignal::new(None),
            panel_error: RwSignal::new(None),
        }
    }

    /// A change went through: say so in the panel and load the list again.
    fn changed(self, key: &'static str, username: String) {
        self.panel_error.set(None);
        self.panel_notice.set(Some(Notice { key, username }));
        self.reload.update(|v| *v += 1);
    }

    fn failed(self, body: ErrorBody) {
        self.panel_notice.set(None);
        self.panel_error.set(Some(body));
    }
}

/// An empty text box means "none".
fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn role_names(tr: impl Fn(&str) -> String, roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| tr(&format!("role.{}", r.as_str())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Units with each parent followed by its children and their depth, so the list
/// reads as a tree whatever order the server sent (the depth is data: the 2025
/// reform removed the district level).
fn tree_order(units: &[AdminUnit]) -> Vec<(usize, AdminUnit)> {
    fn children(
        parent: &AdminUnit,
        depth: usize,
        units: &[AdminUnit],
        out: &mut Vec<(usize, AdminUnit)>,
    ) {
        // The server refuses cycles; the depth limit only keeps bad data from hanging the page.
        if depth > 8 {
            return;
        }
        for unit in units
            .iter()
            .filter(|u| u.tree == parent.tree && u.parent.as_deref() == Some(parent.code.as_str()))
        {
            out.push((depth, unit.clone()));
            children(unit, depth + 1, units, out);
        }
    }
    let keys: HashSet<String> = units.iter().map(AdminUnit::key).collect();
    let mut out = Vec::with_capacity(units.len());
    // Roots: units whose parent is not in the list (each tree's province).
    for root in units.iter().filter(|u| {
        u.parent
            .as_deref()
            .is_none_or(|p| !keys.contains(&crate::model::unit_key(&u.tree, p)))
    }) {
        out.push((0, root.clone()));
        children(root, 1, units, &mut out);
    }
    out
}

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let admin = AdminState::new();
    provide_context(admin);
    let accounts = Resource::new(move || admin.reload.get(), |_| list_accounts());
    let units = Resource::new(|| (), |_| assignable_units());

    view! {
        <h1>{move || tr("admin.title")}</h1>
        <p><a href="/admin/forms" data-testid="forms-admin-link">{move || tr("forms.title")}</a></p>
        <section class="admin-section">
            <h2>{move || tr("admin.accounts")}</h2>
            <Transition fallback=|| view! { <Loading/> }>
                {move || {
                    let unit_list = Arc::new(units.get().and_then(Result::ok).unwrap_or_default());
                    accounts.get().map(|result| match result {
                        Err(FnError(body)) => view! {
                            <p class="error-banner" role="alert" data-testid="admin-error">{error_text(lang.get(), &body)}</p>
                        }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty-state">{tr("admin.empty")}</p> }.into_any(),
                        Ok(list) => view! { <AccountTable accounts=list units=unit_list.clone()/> }.into_any(),
                    })
                }}
            </Transition>
        </section>
        <NewAccountForm units=units/>
        <crate::office::years::YearsSection/>
        <crate::office::units::UnitsSection/>
        <AuditTrail/>
    }
}

#[component]
fn AccountTable(accounts: Vec<AccountSummary>, units: Arc<Vec<AdminUnit>>) -> AnyView {
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
fn unit_labels(units: &[AdminUnit], keys: &[String]) -> String {
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
fn AccountRow(account: AccountSummary, units: Arc<Vec<AdminUnit>>) -> AnyView {
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
fn AccountPanel(account: AccountSummary, units: Arc<Vec<AdminUnit>>) -> AnyView {
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
                    temporary.set(String::new());
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
                    disabled=move || toggling.get()
                    on:click=move |_| {
                        admin.panel_error.set(None);
                        set_active.dispatch(!active);
                    }
                >
                    {move || tr(if active { "admin.deactivate" } else { "admin.reactivate" })}
                </button>
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
                            <p class="muted" data-testid="device-none">{tr("admin.no_devices")}</p>
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

/// One bound phone. Revoking asks for a second, explicit click on the page itself.
#[component]
fn DeviceItem(device: DeviceSummary, revoke: Action<String, ()>, revoking: Memo<bool>) -> AnyView {
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

/// The form that creates an account with a first password.
#[component]
fn NewAccountForm(units: Resource<Result<Vec<AdminUnit>, FnError>>) -> AnyView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let admin = expect_context::<AdminState>();
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let roles = RwSignal::new(Vec::<Role>::new());
    let assigned = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let created = RwSignal::new(None::<String>);

    let create = Action::new(move |account: &NewAccount| {
        let account = account.clone();
        async move {
            match create_account(account).await {
                Ok(summary) => {
                    for text in [username, display_name, phone, password] {
                        text.set(String::new());
                    }
                    roles.set(Vec::new());
                    assigned.set(Vec::new());
                    error.set(None);
                    created.set(Some(summary.username));
                    admin.reload.update(|v| *v += 1);
                }
                Err(FnError(body)) => {
                    created.set(None);
                    error.set(Some(body));
                }
            }
        }
    });
    let creating = create.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if creating.get_untracked() {
            return;
        }
        error.set(None);
        created.set(None);
        create.dispatch(NewAccount {
            username: username.get_untracked().trim().to_lowercase(),
            display_name: display_name.get_untracked().trim().to_string(),
            phone: optional(&phone.get_untracked()),
            password: password.get_untracked(),
            roles: roles.get_untracked(),
            units: assigned.get_untracked(),
        });
    };
    let hint =
        move || tr("admin.first_password_hint").replace("{min}", &MIN_PASSWORD_LEN.to_string());

    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            // Without the units (not an administrator) there is no form: the list above shows why.
            {move || units.get().map(|result| result.ok().map(|list| {
                let list = Arc::new(list);
                view! {
                    <section class="card admin-create">
                        <h2>{move || tr("admin.create_title")}</h2>
                        <form class="form" data-testid="account-create-form" on:submit=submit>
                            <div class="field">
                                <label for="new-username">{move || tr("admin.username")}</label>
                                <input
                                    id="new-username"
                                    data-testid="new-username"
                                    autocomplete="off"
                                    autocapitalize="none"
                                    spellcheck="false"
                                    required
                                    prop:value=move || username.get()
                                    on:input=move |ev| username.set(event_target_value(&ev))
                                />
                            </div>
                            <div class="field">
                                <label for="new-display-name">{move || tr("admin.display_name")}</label>
                                <input
                                    id="new-display-name"
                                    data-testid="new-display-name"
                                    autocomplete="off"
                                    required
                                    prop:value=move || display_name.get()
                                    on:input=move |ev| display_name.set(event_target_value(&ev))
                                />
                            </div>
                            <div class="field">
                                <label for="new-phone">{move || tr("admin.phone")}</label>
                                <input
                                    id="new-phone"
                                    type="tel"
                                    inputmode="tel"
                                    data-testid="new-phone"
                                    autocomplete="off"
                                    prop:value=move || phone.get()
                                    on:input=move |ev| phone.set(event_target_value(&ev))
                                />
                            </div>
                            <div class="field">
                                <label for="new-password">{move || tr("admin.first_password")}</label>
                                <p class="hint">{hint}</p>
                                // Visible text: the administrator has to pass it on to the user.
                                <input
                                    id="new-password"
                                    type="text"
                                    data-testid="new-password"
                                    autocomplete="off"
                                    autocapitalize="none"
                                    spellcheck="false"
                                    required
                                    prop:value=move || password.get()
                                    on:input=move |ev| password.set(event_target_value(&ev))
                                />
                            </div>
                            <fieldset class="field">
                                <legend>{move || tr("admin.roles")}</legend>
                                <RolePicker selected=roles prefix="new-role"/>
                            </fieldset>
                            <fieldset class="field">
                                <legend>{move || tr("admin.units")}</legend>
                                <p class="hint">{move || tr("admin.units_hint")}</p>
                                <UnitPicker units=list.clone() selected=assigned testid="new-units"/>
                            </fieldset>
                            <Show when=move || error.get().is_some()>
                                <p class="error-banner" role="alert" data-testid="admin-error">
                                    {move || error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default()}
                                </p>
                            </Show>
                            <Show when=move || created.get().is_some()>
                                <p class="notice" role="status" data-testid="admin-notice">
                                    {move || created.get().map(|u| tr("admin.created").replace("{username}", &u)).unwrap_or_default()}
                                </p>
                            </Show>
                            <div class="admin-actions">
                                <button type="submit" class="btn btn-primary" data-testid="account-create-submit" disabled=move || creating.get()>
                                    {move || if creating.get() { tr("admin.creating") } else { tr("admin.create") }}
                                </button>
                            </div>
                        </form>
                    </section>
                }
            }))}
        </Suspense>
    }
    .into_any()
}

/// One checkbox per role; `prefix` makes the test ids (`{prefix}-inspector`, …).
#[component]
fn RolePicker(selected: RwSignal<Vec<Role>>, prefix: &'static str) -> impl IntoView {
    let tr = use_t();
    let boxes = ROLES
        .into_iter()
        .map(|role| {
            view! {
                <label class="choice">
                    <input
                        type="checkbox"
                        value=role.as_str()
                        data-testid=format!("{prefix}-{}", role.as_str())
                        prop:checked=move || selected.with(|s| s.contains(&role))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            selected.update(|s| {
                                s.retain(|r| *r != role);
                                if on {
                                    s.push(role);
                                }
                            });
                        }
                    />
                    {move || tr(&format!("role.{}", role.as_str()))}
                </label>
            }
        })
        .collect_view();
    view! { <div class="role-picker">{boxes}</div> }
}

/// One checkbox per unit (value = its key, "tree/code"), indented as a tree;
/// each tree's root names the tree.
#[component]
fn UnitPicker(
    units: Arc<Vec<AdminUnit>>,
    selected: RwSignal<Vec<String>>,
    testid: &'static str,
) -> impl IntoView {
    let boxes = tree_order(&units)
        .into_iter()
        .map(|(depth, unit)| {
            let code = unit.key();
            let checked_code = unit.key();
            let tree_name = (depth == 0).then(|| unit.tree.clone());
            view! {
                <label class=format!("choice unit-choice unit-depth-{}", depth.min(3))>
                    <input
                        type="checkbox"
                        value=unit.key()
                        prop:checked=move || selected.with(|s| s.contains(&checked_code))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            selected.update(|s| {
                                s.retain(|c| c != &code);
                                if on {
                                    s.push(code.clone());
                                }
                            });
                        }
                    />
                    <span>{unit.full_name()}</span>
                    <span class="muted unit-code">{unit.code.clone()}</span>
                    {tree_name.map(|t| view! { <span class="muted unit-tree">{t}</span> })}
                </label>
            }
        })
        .collect_view();
    view! { <div class="unit-picker" data-testid=testid>{boxes}</div> }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UnitLevel;

    fn unit(code: &str, level: UnitLevel, parent: Option<&str>) -> AdminUnit {
        AdminUnit {
            tree: String::new(),
            code: code.into(),
            name: code.into(),
            kind: "x".into(),
            level,
            parent: parent.map(str::to_string),
        }
    }

    #[test]
    fn units_are_listed_as_a_tree_whatever_the_order_they_came_in() {
        let units = vec![
            unit("07210", UnitLevel::Commune, Some("213")),
            unit("215", UnitLevel::District, Some("24")),
            unit("213", UnitLevel::District, Some("24")),
            unit("24", UnitLevel::Province, None),
        ];
        let order: Vec<(usize, String)> = tree_order(&units)
            .into_iter()
            .map(|(d, u)| (d, u.code))
            .collect();
        assert_eq!(
            order,
            vec![
                (0, "24".to_string()),
                (1, "215".to_string()),
                (1, "213".to_string()),
                (2, "07210".to_string()),
            ]
        );
    }

    #[test]
    fn a_unit_whose_parent_is_not_listed_is_a_root() {
        let units = vec![unit("213", UnitLevel::District, Some("24"))];
        assert_eq!(tree_order(&units).len(), 1);
    }

    #[test]
    fn an_empty_phone_box_means_no_phone() {
        assert_eq!(optional("  "), None);
        assert_eq!(optional(" 0912 345 678 "), Some("0912 345 678".into()));
    }
}
