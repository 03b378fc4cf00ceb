//! Bulk intake: a district or commune office's spreadsheet becomes facilities
//! and proposals in two steps. The preview says each row's fate (a new or a
//! matched facility, a new, updated or unchanged proposal, or why it is
//! refused); the commit applies the same file all at once, or nothing.
//! Importing the same file again changes nothing.
//!
//! A facility is matched by its tax code, else by its name (without
//! diacritics) in the same commune, where a commune of another tree that the
//! mapping joins to it counts as the same place. A proposal is matched by its
//! external reference within its year, else by its facility and title.
//!
//! One file (about 790 lines): the report types the page renders and the matching that fills them change together; the server half is its own `server` module, and splits off when the registry gets its facility screens.

use crate::error::RowProblem;
use serde::{Deserialize, Serialize};

/// What the preview or the commit found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct IntakeReport {
    /// Whether this was the commit (and it was applied).
    pub committed: bool,
    pub counts: IntakeCounts,
    /// Every row that can be applied, in file order.
    pub rows: Vec<RowFate>,
    /// Every problem, by row and column (row 0: the file as a whole). A file
    /// with any is not committed.
    pub problems: Vec<RowProblem>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct IntakeCounts {
    pub rows: usize,
    pub new_facilities: usize,
    pub matched_facilities: usize,
    pub new_proposals: usize,
    pub updated_proposals: usize,
    pub unchanged_proposals: usize,
    pub refused_rows: usize,
}

/// One row's fate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct RowFate {
    pub row: usize,
    pub year: i32,
    /// The commune as resolved in the year's tree: "phường Bắc Giang (07210)".
    pub commune: String,
    pub facility: FacilityFate,
    pub proposal: ProposalFate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FacilityFate {
    /// Registered by this file.
    New { name: String },
    /// The same new facility as an earlier row of the file.
    SameAsRow { row: usize, name: String },
    /// An existing facility, matched by tax code or by name in the commune
    /// (or a commune the mapping joins to it).
    Matched {
        id: String,
        name: String,
        by: MatchedBy,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    TaxCode,
    Name,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProposalFate {
    New,
    /// An existing proposal whose listed fields the row changes.
    Update {
        id: String,
        fields: Vec<String>,
    },
    Unchanged {
        id: String,
    },
}

#[cfg(feature = "ssr")]
pub use server::{intake, IntakeError};

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::error::AppError;
    use crate::model::{AdminUnit, Facility, Proposal, UnitLevel};
    use crate::office::registry::rows::{
        check_rows, IntakeRow, COLUMNS, MAX_INTAKE_BYTES, MAX_INTAKE_ROWS,
    };
    use crate::office::sheet::{self, Legacy, SheetError};
    use crate::office::years::SurveyYear;
    use crate::search::fold;
    use crate::store::audit::{self, Actor};
    use crate::store::registry::{self as reg, FacilityKey, ProposalKey};
    use crate::store::{units, years, Db};
    use std::collections::{BTreeMap, HashMap, HashSet};

    /// Why nothing was stored.
    #[derive(Debug)]
    pub enum IntakeError {
        /// The file cannot be read as a table at all.
        Unreadable(RowProblem),
        Failed(AppError),
    }

    impl From<AppError> for IntakeError {
        fn from(e: AppError) -> Self {
            IntakeError::Failed(e)
        }
    }

    fn header(key: &str) -> &'static str {
        COLUMNS
            .iter()
            .find(|c| c.key == key)
            .map_or("", |c| c.header)
    }

    fn problem(row: usize, column: &str, code: &str) -> RowProblem {
        RowProblem::new(row, Some(header(column)), code)
    }

    fn sheet_problem(e: SheetError) -> RowProblem {
        let file = |code: &str| RowProblem::new(0, None, code);
        match e {
            SheetError::TooLarge { limit } => file("registry.too_large").with("limit", limit),
            SheetError::TooManyRows { limit } => {
                file("registry.too_many_rows").with("limit", limit)
            }
            SheetError::NotUtf8 { row } | SheetError::NotText { row } => {
                RowProblem::new(row, None, "registry.not_text").with("row", row)
            }
            SheetError::Empty => file("registry.no_rows"),
            SheetError::Unreadable(detail) => file("registry.unreadable").with("detail", detail),
            SheetError::Expands { limit } => file("registry.expands").with("limit", limit),
        }
    }

    /// A year's tree as the intake resolves communes in it.
    struct YearUnits {
        year: SurveyYear,
        by_code: HashMap<String, AdminUnit>,
        /// Communes by folded name and by folded "kind name".
        by_name: HashMap<String, Vec<String>>,
        /// For each commune, the (tree, code) places that count as the same:
        /// itself and what the mapping joins to it either way.
        same_place: HashMap<String, Vec<(String, String)>>,
    }

    async fn year_units(db: &Db, year: SurveyYear) -> Result<YearUnits, AppError> {
        let all = units::in_tree(db, &year.unit_tree).await?;
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        for u in all.iter().filter(|u| u.level == UnitLevel::Commune) {
            for key in [fold(&u.name), fold(&u.full_name())] {
                let codes = by_name.entry(key).or_default();
                if !codes.contains(&u.code) {
                    codes.push(u.code.clone());
                }
            }
        }
        let mut same_place: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (old_tree, old_code, new_tree, new_code) in
            reg::mappings_touching(db, &year.unit_tree).await?
        {
            if new_tree == year.unit_tree {
                same_place
                    .entry(new_code)
                    .or_default()
                    .push((old_tree, old_code));
            } else {
                same_place
                    .entry(old_code)
                    .or_default()
                    .push((new_tree, new_code));
            }
        }
        Ok(YearUnits {
            by_code: all.into_iter().map(|u| (u.code.clone(), u)).collect(),
            by_name,
            same_place,
            year,
        })
    }

    /// The commune a row names, by code or by an unambiguous name.
    fn commune<'u>(units: &'u YearUnits, row: &IntakeRow) -> Result<&'u AdminUnit, RowProblem> {
        let text = row.commune.trim();
        if let Some(u) = units.by_code.get(text) {
            if u.level == UnitLevel::Commune {
                return Ok(u);
            }
        }
        let codes = units.by_name.get(&fold(text)).cloned().unwrap_or_default();
        match codes.as_slice() {
            [code] => Ok(&units.by_code[code]),
            [] => Err(problem(row.row, "commune", "registry.unknown_commune")
                .with("value", text.to_string())
                .with("tree", units.year.unit_tree.clone())),
            // Folding joins real names apart (Đông Sơn and Đồng Sơn, Quảng
            // and Quang Minh): the one spelt exactly as written is the one.
            several if spelt_as(units, several, text).is_some() => {
                Ok(spelt_as(units, several, text).expect("checked"))
            }
            several => Err(problem(row.row, "commune", "registry.ambiguous_commune")
                .with("value", text.to_string())
                .with(
                    "candidates",
                    several
                        .iter()
                        .map(|c| format!("{} ({c})", units.by_code[c].full_name()))
                        .collect::<Vec<_>>()
                        .join(", "),
                )),
        }
    }

    /// The one unit of `codes` whose name (or kind and name) is `text` as
    /// written, case aside; None when none or several are.
    fn spelt_as<'u>(units: &'u YearUnits, codes: &[String], text: &str) -> Option<&'u AdminUnit> {
        use unicode_normalization::UnicodeNormalization;
        let norm = |s: &str| s.trim().nfc().collect::<String>().to_lowercase();
        let want = norm(text);
        let mut spelt = codes
            .iter()
            .map(|c| &units.by_code[c])
            .filter(|u| norm(&u.name) == want || norm(&u.full_name()) == want);
        match (spelt.next(), spelt.next()) {
            (Some(u), None) => Some(u),
            _ => None,
        }
    }

    /// A decided row, with what the commit needs.
    struct Decided {
        fate: RowFate,
        /// The row gives a matched facility a tax code it does not have yet.
        new_tax_code: bool,
        row: IntakeRow,
        tree: String,
        commune: String,
        district: Option<String>,
    }

    /// A year's proposals, found by external reference, or by facility and
    /// folded title among those without one (the first of equals, as stored).
    struct YearProposals {
        all: Vec<ProposalKey>,
        by_ref: HashMap<String, usize>,
        by_title: HashMap<(String, String), usize>,
    }

    impl YearProposals {
        fn new(all: Vec<ProposalKey>) -> Self {
            let mut by_ref = HashMap::new();
            let mut by_title = HashMap::new();
            for (i, p) in all.iter().enumerate() {
                match &p.external_ref {
                    Some(r) => {
                        by_ref.entry(r.clone()).or_insert(i);
                    }
                    None => {
                        by_title
                            .entry((p.facility_id.clone(), fold(&p.title)))
                            .or_insert(i);
                    }
                }
            }
            YearProposals {
                all,
                by_ref,
                by_title,
            }
        }
    }

    /// Every row's fate against the store as it is now.
    async fn decide(
        db: &Db,
        rows: Vec<IntakeRow>,
        mut problems: Vec<RowProblem>,
    ) -> Result<(Vec<Decided>, Vec<RowProblem>), AppError> {
        let mut years_units: BTreeMap<i32, Option<YearUnits>> = BTreeMap::new();
        let mut proposals: BTreeMap<i32, YearProposals> = BTreeMap::new();
        for year in rows.iter().map(|r| r.year).collect::<HashSet<_>>() {
            let found = match years::get(&db.pool, year).await? {
                Some(y) if y.open => Some(year_units(db, y).await?),
                _ => None,
            };
            years_units.insert(year, found);
            proposals.insert(
                year,
                YearProposals::new(reg::proposals_of_year(db, year).await?),
            );
        }
        let facilities = reg::facilities(db).await?;
        let by_id: HashMap<&str, &FacilityKey> =
            facilities.iter().map(|f| (f.id.as_str(), f)).collect();
        let by_tax: HashMap<&str, &FacilityKey> = facilities
            .iter()
            .filter_map(|f| f.tax_code.as_deref().map(|t| (t, f)))
            .collect();
        let mut by_place_name: HashMap<(String, String, String), Vec<&FacilityKey>> =
            HashMap::new();
        for f in &facilities {
            if let Some(c) = &f.commune_code {
                by_place_name
                    .entry((f.unit_tree.clone(), c.clone(), fold(&f.name)))
                    .or_default()
                    .push(f);
            }
        }
        // New facilities of this file, by tax code and by (tree, commune, name).
        let mut new_by_tax: HashMap<String, usize> = HashMap::new();
        // A new facility's row: its name as matched, as written, and its tax code.
        let mut new_rows: HashMap<usize, (String, String, Option<String>)> = HashMap::new();
        // A tax code a later row gives a new facility whose first row had none.
        let mut late_tax: HashMap<usize, String> = HashMap::new();
        let mut new_by_name: HashMap<(String, String, String), usize> = HashMap::new();
        let mut refs_seen: HashMap<(i32, String), usize> = HashMap::new();
        let mut decided = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(units) = years_units.get(&row.year).and_then(Option::as_ref) else {
                problems.push(
                    problem(row.row, "year", "registry.year_not_open").with("year", row.year),
                );
                continue;
            };
            let commune = match commune(units, &row) {
                Ok(c) => c,
                Err(p) => {
                    problems.push(p);
                    continue;
                }
            };
            // A reference names one proposal of the year: a second row with it
            // is refused before it can register anything.
            if let Some(r) = &row.external_ref {
                if let Some(first) = refs_seen.get(&(row.year, r.clone())) {
                    problems.push(
                        problem(row.row, "external_ref", "registry.duplicate_ref")
                            .with("first_row", *first)
                            .with("value", r.clone()),
                    );
                    continue;
                }
                refs_seen.insert((row.year, r.clone()), row.row);
            }
            let tree = units.year.unit_tree.clone();
            let name_key = fold(&row.facility_name);
            // Facility: tax code, else name in the commune or a mapped one.
            let mut places = vec![(tree.clone(), commune.code.clone())];
            places.extend(
                units
                    .same_place
                    .get(&commune.code)
                    .cloned()
                    .unwrap_or_default(),
            );
            let facility = if let Some(f) = row.tax_code.as_deref().and_then(|t| by_tax.get(t)) {
                // The tax code finds the facility wherever it is: a row that
                // places its proposal in another commune (nor what that
                // commune became) would leave it where no inspector sees both.
                let elsewhere = f.commune_code.as_ref().is_some_and(|c| {
                    !places
                        .iter()
                        .any(|(t, code)| *t == f.unit_tree && code == c)
                });
                if elsewhere {
                    problems.push(
                        problem(row.row, "commune", "registry.facility_elsewhere")
                            .with("name", f.name.clone()),
                    );
                    continue;
                }
                FacilityFate::Matched {
                    id: f.id.clone(),
                    name: f.name.clone(),
                    by: MatchedBy::TaxCode,
                }
            } else {
                let mut found: Vec<&FacilityKey> = places
                    .iter()
                    .flat_map(|(t, c)| {
                        by_place_name
                            .get(&(t.clone(), c.clone(), name_key.clone()))
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect();
                found.sort_by(|a, b| a.id.cmp(&b.id));
                found.dedup_by(|a, b| a.id == b.id);
                match found.as_slice() {
                    [f] => FacilityFate::Matched {
                        id: f.id.clone(),
                        name: f.name.clone(),
                        by: MatchedBy::Name,
                    },
                    [] => {
                        let earlier = row
                            .tax_code
                            .as_ref()
                            .and_then(|t| new_by_tax.get(t))
                            .or_else(|| {
                                new_by_name.get(&(
                                    tree.clone(),
                                    commune.code.clone(),
                                    name_key.clone(),
                                ))
                            })
                            .copied();
                        // Two rows are one facility only if nothing says
                        // otherwise: a tax code under two names, or one name
                        // in one commune under two tax codes, is a mistake
                        // to show, not to merge silently.
                        let clash = earlier.and_then(|first| {
                            let (first_key, first_name, first_tax) = new_rows.get(&first)?;
                            if row.tax_code.is_some()
                                && row.tax_code == *first_tax
                                && *first_key != name_key
                            {
                                Some(
                                    problem(row.row, "tax_code", "registry.tax_code_two_names")
                                        .with("row", first)
                                        .with("name", first_name.clone()),
                                )
                            } else if let (Some(mine), Some(theirs)) = (&row.tax_code, first_tax) {
                                (mine != theirs).then(|| {
                                    problem(row.row, "tax_code", "registry.two_tax_codes")
                                        .with("row", first)
                                        .with("tax_code", theirs.clone())
                                })
                            } else {
                                None
                            }
                        });
                        if let Some(clash) = clash {
                            problems.push(clash);
                            continue;
                        }
                        match earlier {
                            Some(first) => {
                                if let (Some(tax), Some(entry)) =
                                    (&row.tax_code, new_rows.get_mut(&first))
                                {
                                    if entry.2.is_none() {
                                        entry.2 = Some(tax.clone());
                                        new_by_tax.insert(tax.clone(), first);
                                        late_tax.insert(first, tax.clone());
                                    }
                                }
                                FacilityFate::SameAsRow {
                                    row: first,
                                    name: row.facility_name.clone(),
                                }
                            }
                            None => {
                                new_rows.insert(
                                    row.row,
                                    (
                                        name_key.clone(),
                                        row.facility_name.clone(),
                                        row.tax_code.clone(),
                                    ),
                                );
                                if let Some(t) = &row.tax_code {
                                    new_by_tax.insert(t.clone(), row.row);
                                }
                                new_by_name.insert(
                                    (tree.clone(), commune.code.clone(), name_key.clone()),
                                    row.row,
                                );
                                FacilityFate::New {
                                    name: row.facility_name.clone(),
                                }
                            }
                        }
                    }
                    several => {
                        problems.push(
                            problem(row.row, "facility_name", "registry.ambiguous_facility").with(
                                "candidates",
                                several
                                    .iter()
                                    .map(|f| f.name.clone())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            ),
                        );
                        continue;
                    }
                }
            };
            let new_tax_code = match &facility {
                FacilityFate::Matched { id, .. } => {
                    row.tax_code.is_some()
                        && by_id
                            .get(id.as_str())
                            .is_some_and(|f| f.tax_code != row.tax_code)
                }
                _ => false,
            };
            // Proposal: external reference in the year, else facility and title.
            let facility_id = match &facility {
                FacilityFate::Matched { id, .. } => Some(id.as_str()),
                _ => None,
            };
            let index = &proposals[&row.year];
            let existing = match &row.external_ref {
                Some(r) => index.by_ref.get(r.as_str()).copied(),
                None => facility_id.and_then(|fid| {
                    index
                        .by_title
                        .get(&(fid.to_string(), fold(&row.title)))
                        .copied()
                }),
            }
            .map(|i| &index.all[i]);
            // The commit would refuse it (proposal.requested_below_recommended):
            // the preview names the row.
            if let Some(recommended) = existing
                .and_then(|p| p.recommended_unexplained)
                .filter(|r| *r > row.requested_amount)
            {
                problems.push(
                    problem(
                        row.row,
                        "requested_amount",
                        "proposal.requested_below_recommended",
                    )
                    .with("requested", crate::format::vnd(row.requested_amount))
                    .with("recommended", crate::format::vnd(recommended)),
                );
                continue;
            }
            let proposal = match existing {
                None => ProposalFate::New,
                Some(p) => {
                    let mut fields = Vec::new();
                    if p.title != row.title {
                        fields.push("title".to_string());
                    }
                    if p.support_kind != row.support_kind {
                        fields.push("support_kind".to_string());
                    }
                    if p.requested_amount != row.requested_amount {
                        fields.push("requested_amount".to_string());
                    }
                    if facility_id != Some(p.facility_id.as_str()) {
                        // Its visits and recommendation were made at its
                        // facility: moved by a file, they would stay behind
                        // while the plan files it elsewhere.
                        if p.held {
                            problems.push(
                                problem(row.row, "facility_name", "proposal.facility_held")
                                    .with("title", p.title.clone()),
                            );
                            continue;
                        }
                        fields.push("facility".to_string());
                    }
                    if fields.is_empty() {
                        ProposalFate::Unchanged { id: p.id.clone() }
                    } else {
                        ProposalFate::Update {
                            id: p.id.clone(),
                            fields,
                        }
                    }
                }
            };
            let district = commune
                .parent
                .as_ref()
                .filter(|p| {
                    units
                        .by_code
                        .get(*p)
                        .is_some_and(|u| u.level == UnitLevel::District)
                })
                .cloned();
            decided.push(Decided {
                new_tax_code,
                fate: RowFate {
                    row: row.row,
                    year: row.year,
                    commune: format!("{} ({})", commune.full_name(), commune.code),
                    facility,
                    proposal,
                },
                commune: commune.code.clone(),
                district,
                tree,
                row,
            });
        }
        for d in &mut decided {
            if let Some(tax) = late_tax.remove(&d.row.row) {
                d.row.tax_code = Some(tax);
            }
        }
        Ok((decided, problems))
    }

    fn counts(decided: &[Decided], problems: &[RowProblem], rows: usize) -> IntakeCounts {
        let mut c = IntakeCounts {
            rows,
            ..Default::default()
        };
        for d in decided {
            match d.fate.facility {
                FacilityFate::New { .. } => c.new_facilities += 1,
                FacilityFate::Matched { .. } => c.matched_facilities += 1,
                FacilityFate::SameAsRow { .. } => {}
            }
            match d.fate.proposal {
                ProposalFate::New => c.new_proposals += 1,
                ProposalFate::Update { .. } => c.updated_proposals += 1,
                ProposalFate::Unchanged { .. } => c.unchanged_proposals += 1,
            }
        }
        c.refused_rows = problems
            .iter()
            .filter(|p| p.row > 1)
            .map(|p| p.row)
            .collect::<HashSet<_>>()
            .len();
        c
    }

    /// Reads, checks and matches an intake file; with `commit`, applies it
    /// in one transaction when it has no problem at all.
    pub async fn intake(
        db: &Db,
        actor: &Actor,
        bytes: Vec<u8>,
        commit: bool,
    ) -> Result<IntakeReport, IntakeError> {
        // Reading and checking the sheet is CPU work: off the async workers.
        let read = sheet::off_the_workers("registry intake", move || {
            let table = sheet::read(&bytes, MAX_INTAKE_BYTES, MAX_INTAKE_ROWS, Legacy::Cp1258)?;
            let (rows, problems) = check_rows(&table);
            Ok::<_, SheetError>((table.rows.len(), rows, problems))
        })
        .await?;
        let (total, rows, problems) =
            read.map_err(|e| IntakeError::Unreadable(sheet_problem(e)))?;
        // Matched against the registry, then written: if another commit
        // wrote the same rows in between, match once more against what it
        // wrote (the file then changes nothing, or only what is still new).
        let mut attempt = 0;
        loop {
            let (decided, mut problems) = decide(db, rows.clone(), problems.clone()).await?;
            problems.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
            let counts = counts(&decided, &problems, total);
            let mut report = IntakeReport {
                committed: false,
                counts,
                rows: decided.iter().map(|d| d.fate.clone()).collect(),
                problems,
            };
            if !commit || !report.problems.is_empty() {
                return Ok(report);
            }
            // The same file again changes nothing, not even the audit trail.
            let c = &report.counts;
            let changes = c.new_facilities + c.new_proposals + c.updated_proposals > 0
                || decided.iter().any(|d| d.new_tax_code);
            if changes {
                match apply(db, actor, &decided, &report.counts).await {
                    Err(AppError::Invalid(body))
                        if body.code == "registry.changed" && attempt < 2 =>
                    {
                        attempt += 1;
                        continue;
                    }
                    other => other?,
                }
            }
            report.committed = true;
            return Ok(report);
        }
    }

    async fn apply(
        db: &Db,
        actor: &Actor,
        decided: &[Decided],
        counts: &IntakeCounts,
    ) -> Result<(), AppError> {
        let now = crate::store::now_ms();
        let mut commit = crate::store::intake::Commit::default();
        let mut new_ids: HashMap<usize, (String, String)> = HashMap::new();
        for d in decided {
            let r = &d.row;
            let (facility_id, facility_name) = match &d.fate.facility {
                FacilityFate::Matched { id, name, .. } => {
                    if let Some(t) = r.tax_code.as_ref().filter(|_| d.new_tax_code) {
                        commit.tax_codes.push((id.clone(), t.clone()));
                    }
                    (id.clone(), name.clone())
                }
                FacilityFate::SameAsRow { row, .. } => new_ids[row].clone(),
                FacilityFate::New { .. } => {
                    let id = crate::sync::new_uuid_v7(now).to_string();
                    let facility = Facility {
                        id: id.clone(),
                        name: r.facility_name.clone(),
                        owner_name: r.owner_name.clone(),
                        address: r.address.clone(),
                        unit_tree: d.tree.clone(),
                        commune_code: Some(d.commune.clone()),
                        district_code: d.district.clone(),
                        industry_group: r.industry_group.clone(),
                        phone: r.phone.clone(),
                        lat: None,
                        lon: None,
                        workforce: None,
                        main_products: None,
                        versions: Default::default(),
                    };
                    commit.new_facilities.push((facility, r.tax_code.clone()));
                    new_ids.insert(r.row, (id.clone(), r.facility_name.clone()));
                    (id, r.facility_name.clone())
                }
            };
            let mut proposal = Proposal {
                id: String::new(),
                year: r.year,
                unit_tree: d.tree.clone(),
                district_code: d.district.clone(),
                commune_code: Some(d.commune.clone()),
                facility_id,
                title: r.title.clone(),
                support_kind: r.support_kind.clone(),
                requested_amount: r.requested_amount,
                status: "registered".into(),
                form_id: None,
                form_version: None,
            };
            match &d.fate.proposal {
                ProposalFate::Unchanged { .. } => {}
                ProposalFate::New => {
                    proposal.id = crate::sync::new_uuid_v7(now).to_string();
                    commit
                        .new_proposals
                        .push((proposal, facility_name, r.external_ref.clone()));
                }
                ProposalFate::Update { id, .. } => {
                    proposal.id = id.clone();
                    commit.updated_proposals.push((
                        proposal,
                        facility_name,
                        r.external_ref.clone(),
                    ));
                }
            }
        }
        let mut tx = db.begin_write().await?;
        crate::store::intake::write(&mut tx, &commit, actor).await?;
        audit::record(
            &mut *tx,
            actor,
            "registry.imported",
            "registry",
            &decided
                .first()
                .map(|d| d.row.year.to_string())
                .unwrap_or_default(),
            serde_json::to_value(counts).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
