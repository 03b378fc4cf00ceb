//! The administration's contract: the administrator's server functions for
//! users, roles, unit assignments, password resets, deactivation and devices,
//! the audit trail, and the publication of form versions. The screens are beside it; the SQL is in
//! `store::users`.

use crate::error::FnError;
use crate::forms::FormVersion;
use crate::model::{AdminUnit, Role};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// One account as the administrator sees it. Never carries a password hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub roles: Vec<Role>,
    pub units: Vec<String>,
    pub active: bool,
    pub must_change_password: bool,
    pub created_at_ms: i64,
    pub last_login_ms: Option<i64>,
    /// Devices bound to the account, revoked ones included.
    pub devices: i64,
}

/// What the administrator fills in to create an account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    /// A first password; the user must change it at first login.
    pub password: String,
    pub roles: Vec<Role>,
    pub units: Vec<String>,
}

/// The editable part of an account (roles, units, name, phone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountUpdate {
    pub id: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub roles: Vec<Role>,
    pub units: Vec<String>,
}

/// A phone (browser profile) bound to an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSummary {
    pub device_id: String,
    pub created_at_ms: i64,
    pub last_seen_at_ms: Option<i64>,
    /// Highest mutation seq the server has from it.
    pub last_seq: i64,
    pub revoked_at_ms: Option<i64>,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// Username of who did it; None for an anonymous failed login.
    pub actor: Option<String>,
    pub action: String,
    pub entity: String,
    pub record_id: String,
    /// JSON text: old → new values, or the attempted username.
    pub detail: String,
    /// Client address the request came from, when known.
    pub ip: Option<String>,
    /// What the record is called (a facility's name, a proposal's title, a
    /// user's name, the facility a visit was of), when it still exists.
    #[serde(default)]
    pub record_name: Option<String>,
}

/// Which audit entries the administrator asks for; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct AuditFilter {
    /// The username of who did it.
    #[serde(default)]
    pub user: Option<String>,
    /// An action code, or its first part ("auth" for every auth.* action).
    #[serde(default)]
    pub action: Option<String>,
    /// ISO dates, Vietnam time, both days included.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

#[cfg(feature = "ssr")]
async fn admin() -> Result<(crate::state::AppState, crate::auth::session::Caller), FnError> {
    Ok(crate::auth::session::require_caller(&[Role::Administrator]).await?)
}

#[server(prefix = "/rpc", endpoint = "list_accounts")]
pub async fn list_accounts() -> Result<Vec<AccountSummary>, FnError> {
    let (state, _) = admin().await?;
    Ok(crate::store::accounts::list(&state.db).await?)
}

#[server(prefix = "/rpc", endpoint = "create_account", input = Json)]
pub async fn create_account(account: NewAccount) -> Result<AccountSummary, FnError> {
    let (state, caller) = admin().await?;
    Ok(crate::store::accounts::create_account(&state.db, &caller.audit(), &account).await?)
}

#[server(prefix = "/rpc", endpoint = "update_account", input = Json)]
pub async fn update_account(update: AccountUpdate) -> Result<AccountSummary, FnError> {
    let (state, caller) = admin().await?;
    Ok(crate::store::accounts::update_account(&state.db, &caller.audit(), &update).await?)
}

#[server(prefix = "/rpc", endpoint = "set_account_active", input = Json)]
pub async fn set_account_active(id: String, active: bool) -> Result<AccountSummary, FnError> {
    let (state, caller) = admin().await?;
    Ok(crate::store::accounts::set_active(&state.db, &caller.audit(), &id, active).await?)
}

/// Sets a temporary password; the user must change it at their next login, and
/// every session they had ends.
#[server(prefix = "/rpc", endpoint = "reset_password", input = Json)]
pub async fn reset_password(id: String, new_password: String) -> Result<AccountSummary, FnError> {
    let (state, caller) = admin().await?;
    Ok(
        crate::store::accounts::reset_password(&state.db, &caller.audit(), &id, &new_password)
            .await?,
    )
}

#[server(prefix = "/rpc", endpoint = "list_devices", input = Json)]
pub async fn list_devices(user_id: String) -> Result<Vec<DeviceSummary>, FnError> {
    let (state, _) = admin().await?;
    Ok(crate::store::accounts::devices_of(&state.db, &user_id).await?)
}

/// Stops a device's sync at once (403 with a reason on its next push or pull).
/// The phone keeps its unsynced data and can export it for an import.
#[server(prefix = "/rpc", endpoint = "revoke_device", input = Json)]
pub async fn revoke_device(device_id: String) -> Result<DeviceSummary, FnError> {
    let (state, caller) = admin().await?;
    Ok(crate::store::accounts::revoke_device(&state.db, &caller.audit(), &device_id).await?)
}

/// Units an account can be assigned to (province, districts, communes).
#[server(prefix = "/rpc", endpoint = "assignable_units")]
pub async fn assignable_units() -> Result<Vec<AdminUnit>, FnError> {
    let (state, _) = admin().await?;
    Ok(crate::store::units::all(&state.db).await?)
}

/// The newest audit entries, newest first (at most `limit`, 500 at most),
/// narrowed by who, what and when.
#[server(prefix = "/rpc", endpoint = "audit_trail", input = Json)]
pub async fn audit_trail(
    limit: u32,
    #[server(default)] filter: AuditFilter,
) -> Result<Vec<AuditEntry>, FnError> {
    let (state, _) = admin().await?;
    Ok(crate::store::audit::recent(&state.db, limit.min(500), &filter).await?)
}

/// One problem of an XLSForm, where a person finds it in Excel: the sheet, the
/// row number on the left and the column's heading (with its letter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct XlsformProblem {
    pub sheet: String,
    /// 1-based, as Excel numbers rows; 0 when the problem is the file's.
    pub row: usize,
    /// The column's heading and letter, e.g. `relevant (F)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub code: String,
    /// The sentence in both languages; the screen shows the admin's.
    pub message: crate::forms::Text,
}

/// An XLSForm converted for a preview, with what was left out of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct XlsformImport {
    pub definition: crate::forms::FormDefinition,
    pub notes: Vec<XlsformProblem>,
}

/// Largest form definition accepted (the default form is ~25 KB).
pub const MAX_FORM_BYTES: usize = 200 * 1024;

#[server(prefix = "/rpc", endpoint = "list_forms")]
pub async fn list_forms() -> Result<Vec<FormVersion>, FnError> {
    use crate::model::Role;
    let (state, _) = crate::auth::session::require(&[Role::Administrator]).await?;
    Ok(crate::store::forms::list(&state.db).await?)
}

/// Publishes a new form version from its JSON text. Phones receive it on their
/// next pull; visits already started keep the version they were started with.
#[server(prefix = "/rpc", endpoint = "publish_form", input = Json)]
pub async fn publish_form(definition: String) -> Result<FormVersion, FnError> {
    use crate::error::AppError;
    use crate::model::Role;
    let (state, caller) = crate::auth::session::require_caller(&[Role::Administrator]).await?;
    let form = parse_definition(&definition).map_err(AppError::Invalid)?;
    crate::store::forms::publish_as(&state.db, Some(&caller.audit()), &form).await?;
    crate::store::forms::list(&state.db)
        .await?
        .into_iter()
        .find(|f| f.id == form.id && f.version == form.version)
        .ok_or_else(|| AppError::Internal("published form not found".into()).into())
}

/// Reads a definition, saying where the JSON is wrong (line, column, what).
#[cfg(feature = "ssr")]
pub fn parse_definition(
    text: &str,
) -> Result<crate::forms::FormDefinition, crate::error::ErrorBody> {
    use crate::error::ErrorBody;
    if text.len() > MAX_FORM_BYTES {
        return Err(ErrorBody::new(
            "form.too_large",
            format!("a form definition may be at most {MAX_FORM_BYTES} bytes"),
        )
        .with("limit", MAX_FORM_BYTES));
    }
    let json = |e: serde_json::Error| {
        crate::forms::DefinitionError::json(e.line(), e.column(), e.to_string()).body()
    };
    let written: serde_json::Value = serde_json::from_str(text).map_err(json)?;
    let mut form: crate::forms::FormDefinition = serde_json::from_str(text).map_err(json)?;
    if let Some(wrong) = crate::forms::definition_error::unknown_key(&written, &form) {
        return Err(wrong.body());
    }
    form.canonicalize();
    form.check().map_err(|e| e.body())?;
    Ok(form)
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn a_broken_definition_says_where_and_what() {
        let e = parse_definition("{\"id\": \"x\", \"version\": 1,\n \"title\": 3}").unwrap_err();
        assert_eq!(e.code, "form.invalid_definition");
        assert!(e.message.contains("line 2"), "{}", e.message);
        let default = include_str!("../../../../data/forms/khuyen-cong-v1.json");
        let mut v: serde_json::Value = serde_json::from_str(default).unwrap();
        v["sections"][1]["fields"][1]["key"] = serde_json::json!("main_products");
        let e = parse_definition(&v.to_string()).unwrap_err();
        assert!(
            e.message.contains("\"main_products\" is used twice"),
            "{}",
            e.message
        );
        assert!(parse_definition(default).is_ok());
    }
}
