//! The supervisor's visit list (filters, search, order, pages, counts per state)
//! and its filter choices. The extra facts of one visit are in `extras`.
//!
//! The list runs in two steps: the filtered, ordered page of IDs first, then the
//! displayed columns for those IDs only, so per-visit counts are never computed
//! for rows that are not shown.
//!
//! One file (about 590 lines): the filter builder and the queries that use it
//! belong together.

use super::rows::Param;
use super::{col, Db};
use crate::error::{AppError, ErrorBody};
use crate::model::{ReviewState, UserInfo, VisitSummary};
use crate::office::review::contract::{FilterChoices, VisitPage, VisitQuery, VisitSort};
use sqlx::any::AnyArguments;
use sqlx::Arguments;
use std::collections::{BTreeMap, HashMap};

/// Every join the list's columns need.
const FROM: &str = "FROM visits v
     JOIN users u ON u.id = v.owner_id
     LEFT JOIN proposals p ON p.id = v.proposal_id
     LEFT JOIN facilities f ON f.id = v.facility_id
     LEFT JOIN admin_units d ON d.tree = v.unit_tree AND d.code = v.district_code";

/// Joins a filter or an order may need, added only when one does: with none, the
/// counts and the newest-first page read the visits table and its indexes alone.
#[derive(Default, Clone, Copy)]
struct Joins {
    facility: bool,
    proposal: bool,
    district: bool,
    /// The commune a visit of a tree without districts shows (needs the
    /// proposal and the facility).
    commune: bool,
    user: bool,
}

impl Joins {
    fn sql(self) -> String {
        let mut out = String::from("FROM visits v");
        if self.user {
            out.push_str(" JOIN users u ON u.id = v.owner_id");
        }
        if self.proposal {
            out.push_str(" LEFT JOIN proposals p ON p.id = v.proposal_id");
        }
        if self.facility {
            out.push_str(" LEFT JOIN facilities f ON f.id = v.facility_id");
        }
        if self.district {
            out.push_str(
                " LEFT JOIN admin_units d ON d.tree = v.unit_tree AND d.code = v.district_code",
            );
        }
        if self.commune {
            out.push_str(
                " LEFT JOIN admin_units c ON c.tree = v.unit_tree AND c.code = COALESCE(p.commune_code, f.commune_code)",
            );
        }
        out
    }

    fn and(self, other: Joins) -> Joins {
        Joins {
            facility: self.facility || other.facility,
            proposal: self.proposal || other.proposal,
            district: self.district || other.district,
            commune: self.commune || other.commune,
            user: self.user || other.user,
        }
    }
}

/// A WHERE clause with its parameters, numbered as they are added.
#[derive(Default)]
struct Filter {
    clauses: Vec<String>,
    params: Vec<Param>,
    joins: Joins,
}

impl Filter {
    fn param(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }

    fn text(&mut self, clause: impl FnOnce(&str) -> String, value: &str) {
        let n = self.param(Param::Text(value.to_string()));
        self.clauses.push(clause(&n));
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("AND {}", self.clauses.join(" AND "))
        }
    }

    fn args(&self) -> AnyArguments<'static> {
        let mut args = AnyArguments::default();
        for p in &self.params {
            let _ = match p {
                Param::Text(s) => args.add(s.clone()),
                Param::MaybeText(s) => args.add(s.clone()),
                Param::Int(i) => args.add(*i),
            };
        }
        args
    }
}

/// The most different words a search of the review list takes (each one is
/// three substring tests over a folded column).
pub const MAX_SEARCH_WORDS: usize = 40;

fn bad_date(which: &str, value: &str) -> AppError {
    AppError::Invalid(
        ErrorBody::new(
            "console.bad_date",
            format!("{which} must be a date as YYYY-MM-DD, not {value:?}"),
        )
        .with("value", value),
    )
}

/// Narrows to visits of facilities under unit `reference` ("tree/code", or a
/// bare code of the oldest tree) or under the units mapped to it in other trees.
async fn unit_clause(db: &Db, f: &mut Filter, reference: &str) -> Result<(), AppError> {
    let unit = super::units::get(&db.pool, reference).await?;
    let paths = match unit {
        Some(u) => super::units::related_paths(&db.pool, &u.tree, &u.code).await?,
        None => vec![],
    };
    if paths.is_empty() {
        f.clauses.push("1 = 0".into());
        return Ok(());
    }
    // The facility's place, or where the visit itself is placed: its
    // proposal's unit, when the facility lies outside it (a facility known by
    // an abolished district, surveyed for a 2026 proposal in a 2025 commune).
    let (likes, placed): (Vec<String>, Vec<String>) = paths
        .iter()
        .map(|p| {
            let (a, v) = (
                f.param(Param::Text(p.clone())),
                f.param(Param::Text(p.clone())),
            );
            (
                format!("a.path LIKE {a} || '%'"),
                format!("v.unit_path LIKE {v} || '%'"),
            )
        })
        .unzip();
    f.clauses.push(format!(
        "(v.facility_id IN (SELECT r.id FROM facilities r JOIN admin_units a
           ON a.tree = r.unit_tree AND a.code = COALESCE(r.commune_code, r.district_code)
           WHERE {}) OR {})",
        likes.join(" OR "),
        placed.join(" OR ")
    ));
    Ok(())
}

/// Every filter but the review state (the counts per state ignore it).
async fn filter(db: &Db, q: &VisitQuery) -> Result<Filter, AppError> {
    let engine = db.engine;
    let mut f = Filter::default();
    if let Some(d) = &q.district {
        unit_clause(db, &mut f, d).await?;
    }
    if let Some(c) = &q.commune {
        unit_clause(db, &mut f, c).await?;
    }
    if let Some(i) = &q.industry {
        f.joins.facility = true;
        f.text(|n| format!("f.industry_group = {n}"), i);
    }
    if let Some(u) = &q.inspector {
        f.text(|n| format!("v.owner_id = {n}"), u);
    }
    if let Some(from) = &q.from {
        let ms = crate::format::vietnam_day_start_ms(from).ok_or_else(|| bad_date("from", from))?;
        let n = f.param(Param::Int(ms));
        f.clauses.push(format!("v.received_at >= {n}"));
    }
    if let Some(to) = &q.to {
        let ms = crate::format::vietnam_day_start_ms(to).ok_or_else(|| bad_date("to", to))?;
        let n = f.param(Param::Int(ms + 86_400_000));
        f.clauses.push(format!("v.received_at < {n}"));
    }
    if let Some(has) = q.has_photos {
        f.clauses.push(format!(
            "{} EXISTS (SELECT 1 FROM photos ph WHERE ph.visit_id = v.id AND ph.deleted_at IS NULL)",
            if has { "" } else { "NOT" }
        ));
    }
    if let Some(has) = q.has_conflicts {
        f.clauses.push(format!(
            "{} EXISTS (SELECT 1 FROM conflicts c WHERE c.resolved_at IS NULL
               AND (c.record_id = v.id OR c.record_id IN (SELECT r.id FROM visit_rows r WHERE r.visit_id = v.id)))",
            if has { "" } else { "NOT" }
        ));
    }
    if let Some(words) = &q.q {
        // Each word must occur in the proposal, the facility or the district. The
        // subqueries scan one folded column each, once, rather than a
        // concatenation per visit row; a plain substring test is several times
        // faster than LIKE and needs no escaping (the columns are folded already).
        let contains = match engine {
            super::Engine::Sqlite => |n: &str| format!("instr(search, {n}) > 0"),
            super::Engine::Postgres => |n: &str| format!("strpos(search, {n}) > 0"),
        };
        let mut all_words = Vec::new();
        let folded = crate::search::fold(words);
        let mut distinct: Vec<&str> = Vec::new();
        // A lone dash or quote (pasted from a ZIP folder name, "A - B") is
        // no word: it would have to occur in the title or the facility.
        for word in folded
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphanumeric))
        {
            if !distinct.contains(&word) {
                distinct.push(word);
            }
        }
        // A whole title pasted in is a search: every word counts. Past the
        // limit the search is refused rather than cut, so a file exported
        // from it never holds visits that miss a word.
        if distinct.len() > MAX_SEARCH_WORDS {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "console.too_many_words",
                    format!("a search takes at most {MAX_SEARCH_WORDS} different words"),
                )
                .with("max", MAX_SEARCH_WORDS as i64)
                .with("count", distinct.len() as i64),
            ));
        }
        for word in distinct {
            let n = f.param(Param::Text(word.to_string()));
            let c = contains(&n);
            all_words.push(format!(
                "(v.proposal_id IN (SELECT id FROM proposals WHERE {c})
                  OR v.facility_id IN (SELECT id FROM facilities WHERE {c})
                  OR EXISTS (SELECT 1 FROM admin_units a WHERE a.tree = v.unit_tree
                             AND a.code = v.district_code AND {c}))"
            ));
        }
        // Or the words name a place: the visit is there, in any tree.
        let places: Vec<String> = super::units::paths_named(db, words)
            .await?
            .into_iter()
            .map(|p| {
                let n = f.param(Param::Text(p));
                format!("v.unit_path LIKE {n} || '%'")
            })
            .collect();
        if !all_words.is_empty() {
            let words = all_words.join(" AND ");
            f.clauses.push(if places.is_empty() {
                words
            } else {
                format!("(({words}) OR {})", places.join(" OR "))
            });
        }
    }
    Ok(f)
}

/// The text a sort orders by in Vietnamese alphabetical order, what breaks
/// its ties, and the joins they read; `None` for the orders SQL gives (time,
/// state). Neither engine's collation puts "Đ" after "D" and tones in
/// dictionary order, so these rows are ordered here (`collation::key`). The
/// place sort reads the place the list shows (the district, or a 2026
/// visit's commune), then its kind and tree: thành phố Bắc Giang (2020) and
/// phường Bắc Giang (2025) are two places. The tie is not part of the name:
/// "huyện Yên" still comes before "huyện Yên Dũng".
fn sort_text(q: &VisitQuery) -> Option<(&'static str, &'static str, Joins)> {
    let mut joins = Joins::default();
    let (text, tie) = match q.sort {
        VisitSort::Received | VisitSort::State => return None,
        VisitSort::Proposal => {
            joins.proposal = true;
            joins.facility = true;
            ("COALESCE(p.title, f.name, '')", "''")
        }
        VisitSort::District => {
            joins.district = true;
            joins.commune = true;
            joins.proposal = true;
            joins.facility = true;
            (
                "COALESCE(d.name, c.name, '')",
                "COALESCE(d.kind, c.kind, '') || ' ' || COALESCE(v.unit_tree, '')",
            )
        }
        VisitSort::Inspector => {
            joins.user = true;
            ("u.display_name", "''")
        }
    };
    Some((text, tie, joins))
}

/// The ORDER BY clause of the sorts SQL gives.
fn order_by(q: &VisitQuery) -> String {
    // States in the order a supervisor works through them: what waits on
    // them, what waits on the inspector, what is under way, what is decided
    // (their codes' alphabet put "awaiting review" last).
    let column = match q.sort {
        VisitSort::State => {
            "CASE v.review_state WHEN 'submitted' THEN 0 WHEN 'needs_changes' THEN 1
               WHEN 'in_progress' THEN 2 WHEN 'approved' THEN 3 ELSE 4 END"
        }
        _ => "v.received_at",
    };
    let dir = if q.desc { "DESC" } else { "ASC" };
    format!("ORDER BY {column} {dir}, v.received_at {dir}, v.id {dir}")
}

/// The query's filter with its state chip applied (the counts leave it out).
fn with_state(q: &VisitQuery, f: &Filter) -> Filter {
    let mut f = Filter {
        clauses: f.clauses.clone(),
        params: f.params.clone(),
        joins: f.joins,
    };
    if let Some(s) = q.state {
        f.text(|n| format!("v.review_state = {n}"), s.as_str());
    }
    f
}

/// Every matching visit's ID in a text sort's order (then newest or oldest
/// first, then by ID, in the sort's direction).
async fn ordered_ids(
    db: &Db,
    q: &VisitQuery,
    f: &Filter,
    (text, tie, sort_joins): (&str, &str, Joins),
) -> Result<Vec<String>, AppError> {
    let f = with_state(q, f);
    let sql = format!(
        "SELECT v.id, {text} AS sort_text, {tie} AS sort_tie, v.received_at {} WHERE v.deleted_at IS NULL {}",
        f.joins.and(sort_joins).sql(),
        f.sql(),
    );
    let mut rows = Vec::new();
    for r in sqlx::query_with(&sql, f.args()).fetch_all(&db.pool).await? {
        let text: Option<String> = col(&r, "sort_text")?;
        let tie: Option<String> = col(&r, "sort_tie")?;
        rows.push((
            crate::collation::key(&text.unwrap_or_default()),
            tie.unwrap_or_default(),
            col::<i64>(&r, "received_at")?,
            col::<String>(&r, "id")?,
        ));
    }
    rows.sort_unstable();
    if q.desc {
        rows.reverse();
    }
    Ok(rows.into_iter().map(|(_, _, _, id)| id).collect())
}

/// The IDs of one page of the list (every filter, the state included).
async fn page_ids(db: &Db, q: &VisitQuery, f: &Filter) -> Result<Vec<String>, AppError> {
    let skip = (q.page as usize - 1) * q.per_page as usize;
    if let Some(sort) = sort_text(q) {
        let ids = ordered_ids(db, q, f, sort).await?;
        return Ok(ids
            .into_iter()
            .skip(skip)
            .take(q.per_page as usize)
            .collect());
    }
    ids_in_order(db, q, f, Some((i64::from(q.per_page), skip as i64))).await
}

/// Every matching visit's id in the list's order, read at one moment. An
/// export pages through this list rather than through the table: paged
/// queries repeated the rows a newly synced visit pushed over a page's edge,
/// and left out those that moved up when another supervisor decided on one.
async fn all_ids(db: &Db, q: &VisitQuery, f: &Filter) -> Result<Vec<String>, AppError> {
    match sort_text(q) {
        Some(sort) => ordered_ids(db, q, f, sort).await,
        None => ids_in_order(db, q, f, None).await,
    }
}

/// The ids of the list in a non-text order, all or a window (limit, offset).
async fn ids_in_order(
    db: &Db,
    q: &VisitQuery,
    f: &Filter,
    window: Option<(i64, i64)>,
) -> Result<Vec<String>, AppError> {
    let mut f = with_state(q, f);
    let order = order_by(q);
    let window = match window {
        Some((limit, offset)) => {
            let limit = f.param(Param::Int(limit));
            let offset = f.param(Param::Int(offset));
            format!("LIMIT {limit} OFFSET {offset}")
        }
        None => String::new(),
    };
    let sql = format!(
        "SELECT v.id {} WHERE v.deleted_at IS NULL {} {order} {window}",
        f.joins.sql(),
        f.sql(),
    );
    sqlx::query_with(&sql, f.args())
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| col(r, "id"))
        .collect()
}

/// One page of the list with the total and the counts per state.
pub async fn search(db: &Db, _user: &UserInfo, q: &VisitQuery) -> Result<VisitPage, AppError> {
    let f = filter(db, q).await?;
    let count_sql = format!(
        "SELECT v.review_state, COUNT(*) AS n {} WHERE v.deleted_at IS NULL {} GROUP BY v.review_state",
        f.joins.sql(),
        f.sql()
    );
    let mut counts = BTreeMap::new();
    for r in sqlx::query_with(&count_sql, f.args())
        .fetch_all(&db.pool)
        .await?
    {
        counts.insert(col::<String>(&r, "review_state")?, col::<i64>(&r, "n")?);
    }
    let total = match q.state {
        Some(s) => counts.get(s.as_str()).copied().unwrap_or(0),
        None => counts.values().sum(),
    };
    // A page past the last (an old link, a list that shrank) is the last:
    // "2/1" over an empty table helped nobody.
    let last = (total.max(0) as u64)
        .div_ceil(u64::from(q.per_page.max(1)))
        .max(1) as u32;
    let mut q = q.clone();
    q.page = q.page.clamp(1, last);
    let ids = page_ids(db, &q, &f).await?;
    Ok(VisitPage {
        items: summaries(db, &ids).await?,
        total,
        counts,
        page: q.page,
        per_page: q.per_page,
    })
}

/// How many visits match the query (for an export's limit).
pub async fn count(db: &Db, _user: &UserInfo, q: &VisitQuery) -> Result<i64, AppError> {
    let mut f = filter(db, q).await?;
    if let Some(s) = q.state {
        f.text(|n| format!("v.review_state = {n}"), s.as_str());
    }
    let sql = format!(
        "SELECT COUNT(*) AS n {} WHERE v.deleted_at IS NULL {}",
        f.joins.sql(),
        f.sql()
    );
    let row = sqlx::query_with(&sql, f.args()).fetch_one(&db.pool).await?;
    col(&row, "n")
}

/// The list's columns for these visits, in the order given. A visit on a tree without
/// districts (the 2025 tree) shows its commune where the district goes.
pub async fn summaries(db: &Db, ids: &[String]) -> Result<Vec<VisitSummary>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT v.id, v.proposal_id, p.title AS proposal_title, f.name AS facility_name, f.industry_group,
                COALESCE(d.kind, c.kind) AS district_kind, COALESCE(d.name, c.name) AS district_name,
                u.display_name AS inspector, v.review_state,
                v.received_at,
                (SELECT COUNT(*) FROM field_values fv WHERE fv.entity = 'visit' AND fv.record_id = v.id) AS answers,
                (SELECT COUNT(*) FROM photos ph WHERE ph.visit_id = v.id AND ph.deleted_at IS NULL) AS photos,
                (SELECT COUNT(*) FROM conflicts c WHERE c.resolved_at IS NULL
                   AND (c.record_id = v.id OR c.record_id IN (SELECT r.id FROM visit_rows r WHERE r.visit_id = v.id))) AS open_conflicts
         {FROM}
         LEFT JOIN admin_units c ON c.tree = v.unit_tree AND c.code = COALESCE(p.commune_code, f.commune_code)
         WHERE v.id IN ({})",
        marks.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id);
    }
    let mut by_id: HashMap<String, VisitSummary> = HashMap::new();
    for r in query.fetch_all(&db.pool).await? {
        let s = summary(&r)?;
        by_id.insert(s.id.clone(), s);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

fn summary(r: &sqlx::any::AnyRow) -> Result<VisitSummary, AppError> {
    let state: String = col(r, "review_state")?;
    let kind: Option<String> = col(r, "district_kind")?;
    let name: Option<String> = col(r, "district_name")?;
    Ok(VisitSummary {
        id: col(r, "id")?,
        proposal_id: col(r, "proposal_id")?,
        proposal_title: col(r, "proposal_title")?,
        facility_name: col(r, "facility_name")?,
        district_name: name.map(|n| format!("{} {n}", kind.unwrap_or_default())),
        inspector: col(r, "inspector")?,
        review_state: ReviewState::parse(&state).unwrap_or(ReviewState::InProgress),
        received_at_ms: col(r, "received_at")?,
        answers: col(r, "answers")?,
        industry_group: col(r, "industry_group")?,
        photos: col(r, "photos")?,
        open_conflicts: col(r, "open_conflicts")?,
    })
}

/// Every visit the query matches, page after page, for an export: `each` gets
/// pages of at most `MAX_PER_PAGE` so memory stays flat however many there are.
/// Pages are read without the counts; a page shorter than asked ends the run.
pub async fn for_each_page<F, Fut>(
    db: &Db,
    _user: &UserInfo,
    q: &VisitQuery,
    mut each: F,
) -> Result<i64, AppError>
where
    F: FnMut(Vec<VisitSummary>) -> Fut,
    Fut: std::future::Future<Output = Result<(), AppError>>,
{
    let mut q = q.clone();
    q.per_page = crate::office::review::contract::MAX_PER_PAGE;
    q.page = 1;
    let f = filter(db, &q).await?;
    let mut seen = 0;
    for chunk in all_ids(db, &q, &f).await?.chunks(q.per_page as usize) {
        // A visit that changed since the ids were read is written as it is now.
        let page = summaries(db, chunk).await?;
        seen += page.len() as i64;
        each(page).await?;
    }
    Ok(seen)
}

/// Every visit of the list `q` describes, in its order (its page ignored).
pub async fn matching_ids(
    db: &Db,
    _user: &UserInfo,
    q: &VisitQuery,
) -> Result<Vec<String>, AppError> {
    let f = filter(db, q).await?;
    all_ids(db, q, &f).await
}

pub async fn filter_choices(db: &Db, _user: &UserInfo) -> Result<FilterChoices, AppError> {
    let units = super::units::all(db).await?;
    let (districts, communes) = units
        .into_iter()
        .filter(|u| u.level != crate::model::UnitLevel::Province)
        .partition(|u| u.level == crate::model::UnitLevel::District);
    let mut inspectors: Vec<(String, String)> = sqlx::query(
        "SELECT DISTINCT u.id, u.display_name FROM users u JOIN visits v ON v.owner_id = u.id
         WHERE v.deleted_at IS NULL",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((col(r, "id")?, col(r, "display_name")?)))
    .collect::<Result<_, AppError>>()?;
    inspectors.sort_by_cached_key(|(id, name)| (crate::collation::key(name), id.clone()));
    Ok(FilterChoices {
        districts,
        communes,
        inspectors,
    })
}
