//! Domain types shared by the server and the phone. IDs are UUIDv7 strings made
//! where the record is born (the phone, for anything an inspector creates).

use serde::{Deserialize, Serialize};

/// A node of the administrative tree (province, district, commune). Units are data,
/// loaded from files: the 2025 reform removed districts, so nothing may assume a depth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct AdminUnit {
    /// The tree the unit belongs to ("bac-giang-2020"): codes are reused across
    /// trees, so a unit is (tree, code).
    #[serde(default)]
    pub tree: String,
    /// Official unit code, e.g. "213" for Thành phố Bắc Giang.
    pub code: String,
    /// Bare name without the kind, e.g. "Lục Ngạn".
    pub name: String,
    /// Vietnamese kind of unit: tỉnh, thành phố, huyện, phường, xã, thị trấn.
    pub kind: String,
    pub level: UnitLevel,
    pub parent: Option<String>,
}

impl AdminUnit {
    /// "huyện Lục Ngạn", as people write it.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }

    /// "bac-giang-2020/213": how accounts name the units they are assigned.
    pub fn key(&self) -> String {
        unit_key(&self.tree, &self.code)
    }

    /// Whether this is the unit a record of `tree` names by `code` (records
    /// and units a phone stored before trees were named carry an empty tree).
    pub fn is(&self, tree: &str, code: &str) -> bool {
        self.code == code && (tree.is_empty() || self.tree.is_empty() || self.tree == tree)
    }
}

/// The key of unit `code` of `tree`, as account scopes write it.
pub fn unit_key(tree: &str, code: &str) -> String {
    format!("{tree}/{code}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    Province,
    District,
    Commune,
}

impl UnitLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitLevel::Province => "province",
            UnitLevel::District => "district",
            UnitLevel::Commune => "commune",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "province" => Some(UnitLevel::Province),
            "district" => Some(UnitLevel::District),
            "commune" => Some(UnitLevel::Commune),
            _ => None,
        }
    }
}

/// A rural industrial facility (cơ sở công nghiệp nông thôn).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Facility {
    pub id: String,
    pub name: String,
    pub owner_name: Option<String>,
    pub address: Option<String>,
    /// The unit tree its commune and district belong to.
    #[serde(default)]
    pub unit_tree: String,
    pub commune_code: Option<String>,
    /// Absent in trees without districts (2025 on).
    pub district_code: Option<String>,
    pub industry_group: String,
    pub phone: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub workforce: Option<i64>,
    pub main_products: Option<String>,
    /// Per field edited in the field, the server's version: the base of a phone's
    /// next edit. Fields only the office ever set are absent (version 0).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub versions: std::collections::BTreeMap<String, i64>,
}

/// A proposal (đề án) registered by a district for a year's extension budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Proposal {
    pub id: String,
    pub year: i32,
    /// The unit tree of the year it was registered in.
    #[serde(default)]
    pub unit_tree: String,
    /// The district that registered it (trees with districts).
    pub district_code: Option<String>,
    /// The commune that registered it (trees without districts).
    #[serde(default)]
    pub commune_code: Option<String>,
    pub facility_id: String,
    pub title: String,
    pub support_kind: String,
    /// Integer đồng.
    pub requested_amount: i64,
    pub status: String,
    /// The form version its year's visits start on (set when phones pull it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_version: Option<i32>,
}

impl Proposal {
    /// The unit it was registered by: its district, or in trees without
    /// districts its commune.
    pub fn registered_by(&self) -> Option<&str> {
        self.district_code
            .as_deref()
            .or(self.commune_code.as_deref())
    }
}

impl Facility {
    /// Its district, or in trees without districts its commune: the unit lists
    /// are grouped by.
    pub fn area(&self) -> Option<&str> {
        self.district_code
            .as_deref()
            .or(self.commune_code.as_deref())
    }
}

/// The roles a person can hold; one person may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Inspector,
    Supervisor,
    Administrator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Inspector => "inspector",
            Role::Supervisor => "supervisor",
            Role::Administrator => "administrator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inspector" => Some(Role::Inspector),
            "supervisor" => Some(Role::Supervisor),
            "administrator" => Some(Role::Administrator),
            _ => None,
        }
    }
}

/// Who is logged in, as the phone keeps it (also offline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct UserInfo {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// Keys ("tree/code") of the units the user is assigned to: everything under
    /// them, and what the mappings between trees join to them, is in scope.
    pub units: Vec<String>,
}

/// Who syncs a phone: inspectors, and supervisors who also go to the field. An
/// administrator-only account has no field data, so its browser never pulls.
pub const FIELD_ROLES: &[Role] = &[Role::Inspector, Role::Supervisor];

impl UserInfo {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether this account's browser keeps field data and syncs it.
    pub fn syncs(&self) -> bool {
        FIELD_ROLES.iter().any(|r| self.has(*r))
    }
}

/// Review state of a visit; only the server changes it, through validated commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    InProgress,
    Submitted,
    NeedsChanges,
    Approved,
    Rejected,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::InProgress => "in_progress",
            ReviewState::Submitted => "submitted",
            ReviewState::NeedsChanges => "needs_changes",
            ReviewState::Approved => "approved",
            ReviewState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "in_progress" => Some(ReviewState::InProgress),
            "submitted" => Some(ReviewState::Submitted),
            "needs_changes" => Some(ReviewState::NeedsChanges),
            "approved" => Some(ReviewState::Approved),
            "rejected" => Some(ReviewState::Rejected),
            _ => None,
        }
    }
}

/// A visit as the server knows it: header plus the current value of each answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct VisitRecord {
    pub id: String,
    pub form_id: String,
    pub form_version: i32,
    pub proposal_id: Option<String>,
    pub facility_id: Option<String>,
    pub owner_id: String,
    pub review_state: ReviewState,
    /// Answers by field key, each with the version the server holds.
    pub answers: std::collections::BTreeMap<String, serde_json::Value>,
    pub versions: std::collections::BTreeMap<String, i64>,
    /// Phone's own time of creation (ms since epoch, UTC), as the phone said.
    pub created_at_ms: i64,
    /// Server's time of first receipt: the phone's clock may be wrong.
    pub received_at_ms: i64,
    /// Repeat-group rows (child records with their own IDs), oldest first.
    #[serde(default)]
    pub rows: Vec<VisitRow>,
    /// Review transitions with the supervisor's comments, oldest first.
    #[serde(default)]
    pub review: Vec<ReviewEvent>,
    /// Live photos with their server status, oldest first.
    #[serde(default)]
    pub photos: Vec<crate::photos::PhotoRecord>,
    /// Its proposal's survey year is closed: the visit is kept as it is, for
    /// reading only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub year_closed: bool,
    /// Fields of the visit and of its rows that two phones edited at once and
    /// no supervisor has decided yet. A phone whose value lost shows the
    /// conflict while its field is listed here, and stops once it is decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_conflicts: Vec<String>,
    /// Per field, when its value was written (the writing phone's clock).
    /// A restore numbers versions from the backup's again; these times still
    /// tell which of two phones' answers is the later (`field::visits::resend`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub written: std::collections::BTreeMap<String, crate::sync::Hlc>,
}

/// One row of a repeat group (e.g. one machine), a child record of a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct VisitRow {
    pub id: String,
    pub group: String,
    pub answers: std::collections::BTreeMap<String, serde_json::Value>,
    pub versions: std::collections::BTreeMap<String, i64>,
    pub created_at_ms: i64,
    /// Per field, when its value was written, as for the visit's own.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub written: std::collections::BTreeMap<String, crate::sync::Hlc>,
}

/// A review transition: who moved the visit from one state to another, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ReviewEvent {
    pub from: ReviewState,
    pub to: ReviewState,
    pub comment: Option<String>,
    /// The form field the comment is about, when it is about one.
    pub field: Option<String>,
    pub by: String,
    pub at_ms: i64,
}

/// One line of the supervisor's visit list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct VisitSummary {
    pub id: String,
    pub proposal_id: Option<String>,
    pub proposal_title: Option<String>,
    pub facility_name: Option<String>,
    pub district_name: Option<String>,
    pub inspector: String,
    pub review_state: ReviewState,
    pub received_at_ms: i64,
    pub answers: i64,
    /// Industry group of the facility.
    #[serde(default)]
    pub industry_group: Option<String>,
    /// Live photos of the visit.
    #[serde(default)]
    pub photos: i64,
    /// Conflicts on the visit's fields no supervisor has resolved yet.
    #[serde(default)]
    pub open_conflicts: i64,
}

/// Everything a supervisor's visit page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct VisitDetail {
    pub visit: VisitRecord,
    pub form: crate::forms::FormDefinition,
    pub proposal: Option<Proposal>,
    pub facility: Option<Facility>,
    pub inspector: String,
}

/// Industry groups of the register, in the form's order (`industry.<value>` labels).
pub const INDUSTRIES: [&str; 5] = [
    "processing",
    "building_materials",
    "mechanical",
    "handicrafts",
    "other",
];
