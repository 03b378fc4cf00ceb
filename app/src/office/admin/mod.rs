//! The administrator's screen (`/admin`): accounts with their roles, units and
//! devices; creating and editing them, deactivating, resetting a password,
//! revoking a lost phone; the survey years, the unit trees and the audit
//! trail. Server-rendered from the server functions in `accounts`, which check
//! the role: this screen shows what they answer. `/admin/forms` is `forms`.

use crate::domain::MIN_PASSWORD_LEN;
use crate::error::{ErrorBody, FnError};
use crate::i18n::{use_locale, use_t, Locale};
use crate::model::{AdminUnit, Role};
use crate::office::admin::contract::{
    assignable_units, audit_trail, create_account, list_accounts, list_devices, reset_password,
    revoke_device, set_account_active, update_account, AccountSummary, AccountUpdate,
    DeviceSummary, NewAccount,
};
use crate::office::error_text;
use crate::root::Loading;
use accounts::AccountTable;
use leptos::prelude::*;
use new_account::NewAccountForm;
use std::collections::HashSet;
use std::sync::Arc;

/// One account's row and its edit panel.
mod accounts;
/// The audit trail.
mod audit;
/// Account administration's server functions and their types (the store imports these).
pub mod contract;
/// A phone of an account, and revoking it.
mod devices;
/// The XLSForm upload with its preview.
mod form_preview;
/// Publishing form versions (`/admin/forms`).
pub mod forms;
/// A new account, and the role and unit pickers the forms share.
mod new_account;
/// XLSForm spreadsheets to form definitions and back (server only).
#[cfg(feature = "ssr")]
pub mod xlsform;

pub use audit::AuditTrail;
pub use forms::FormsAdminPage;

/// Every role, in the order the screen lists them.
const ROLES: [Role; 3] = [Role::Inspector, Role::Supervisor, Role::Administrator];

/// How many audit entries the page shows (the server caps a request at 500).
const AUDIT_LIMIT: u32 = 200;

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
                        Ok(list) if list.is_empty() => view! { <p class="empty-state">{move || tr("admin.empty")}</p> }.into_any(),
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

#[cfg(test)]
mod tests;
