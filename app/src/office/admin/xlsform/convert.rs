//! One file: the walk over the survey sheet keeps groups, repeats and the
//! pending conditions in one place (about 660 lines with rustfmt's layout).
//!
//! The `survey`, `choices` and `settings` sheets to a form definition. Every
//! row is read even after a problem, so the administrator gets the whole list.
//! Conditions are translated last, once every field (and where it lives: the
//! visit or a repeat group's rows) is known, because XLSForm lets a condition
//! name a question further down.

use super::question::{field_of, field_type, refers};
use super::read::{Book, Language, Sheet};
use super::{xpath, Imported, Note, Place, Problem};
use crate::forms::expr::{self, Expr, Syntax};
use crate::forms::{Choice, Field, FieldType, FormDefinition, Section, Text};
use crate::i18n::Lang;
use crate::office::sheet::Row;
use std::collections::{BTreeMap, HashMap};

/// Survey columns khaosat reads.
const SURVEY_COLUMNS: &[&str] = &[
    "type",
    "name",
    "label",
    "hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
    "appearance",
    "parameters",
    "bind::khaosat:money",
    "bind::khaosat:yes_no",
    "bind::khaosat:max_rows",
];

/// Questions that only record the phone's own metadata: khaosat records when a
/// visit started, on which device and by whom by itself.
const METADATA_TYPES: &[&str] = &[
    "start",
    "end",
    "today",
    "deviceid",
    "subscriberid",
    "simserial",
    "phonenumber",
    "username",
    "email",
    "audit",
];

pub(super) struct Ctx<'a> {
    pub book: &'a Book,
    pub default_lang: Lang,
    pub problems: Vec<Problem>,
    pub notes: Vec<Note>,
    /// Every name given so far (groups, repeats and questions share one
    /// namespace, as in pyxform), with the row that gave it first.
    pub names: HashMap<String, usize>,
}

impl Ctx<'_> {
    /// Takes `name` for `row`; false (and a problem naming the first row) when
    /// an earlier row has it.
    pub(super) fn claim(&mut self, name: &str, at: Place, row: usize) -> bool {
        match self.names.get(name) {
            Some(&first) if first != row => {
                let first = first.to_string();
                self.problem(
                    at,
                    "xlsform.name_twice",
                    &[("name", name), ("first", &first)],
                );
                false
            }
            _ => {
                self.names.insert(name.to_string(), row);
                true
            }
        }
    }
}

impl Ctx<'_> {
    /// A text column in both languages: the language columns, the plain column
    /// for the default language, and the other language's text where one is
    /// missing (the phone then shows what there is).
    pub(super) fn text(&self, sheet: &Sheet, row: &Row, name: &str) -> Option<Text> {
        let plain = sheet.cell(row, name, None);
        let get = |lang: Lang| {
            let own = sheet.cell(row, name, Some(lang));
            if !own.is_empty() {
                own.to_string()
            } else if lang == self.default_lang {
                plain.to_string()
            } else {
                String::new()
            }
        };
        let (vi, en) = (get(Lang::Vi), get(Lang::En));
        match (vi.is_empty(), en.is_empty()) {
            (true, true) => None,
            (false, true) => Some(Text { en: vi.clone(), vi }),
            (true, false) => Some(Text { vi: en.clone(), en }),
            (false, false) => Some(Text { vi, en }),
        }
    }

    pub(super) fn problem(&mut self, place: Place, code: &str, params: &[(&str, &str)]) {
        self.problems.push(place.problem(code, params));
    }
}

/// A field or group's condition waiting for every field to be known.
struct Pending {
    row: usize,
    /// The repeat group whose rows the condition runs on (`None`: the visit).
    scope: Option<String>,
    /// Section and position of a visit's field, or position inside the repeat
    /// group named by `scope`.
    at: (usize, usize),
    own: Option<String>,
    /// The enclosing group's condition and row.
    group: Option<(usize, String)>,
}

pub fn definition(
    book: &Book,
    next_version: impl Fn(&str) -> i32,
) -> Result<Imported, Vec<Problem>> {
    let mut ctx = Ctx {
        book,
        default_lang: Lang::Vi,
        problems: Vec::new(),
        notes: Vec::new(),
        names: HashMap::new(),
    };
    let settings = settings(&mut ctx);
    unknown_languages(&mut ctx);
    let lists = choices(&mut ctx);
    let (sections, pending) = survey(&mut ctx, &lists);
    let mut form = FormDefinition {
        id: settings.id.clone().unwrap_or_default(),
        version: 1,
        title: settings.title.clone().unwrap_or_else(|| Text {
            vi: settings.id.clone().unwrap_or_default(),
            en: settings.id.clone().unwrap_or_default(),
        }),
        sections,
    };
    conditions(&mut ctx, &mut form, pending);
    if let Some(id) = &settings.id {
        form.version = settings.version.unwrap_or_else(|| next_version(id));
    }
    if ctx.problems.is_empty() {
        // The definition's own check is the last word (it is what publishing runs).
        if let Err(wrong) = form.check() {
            // Worded like the same refusal of a JSON definition, in each language.
            let body = wrong.body();
            // On the survey row of the item it names (a photo inside a
            // repeat names the photo), or on the file when it names none.
            let named = ["photo", "key"].iter().find_map(|param| {
                let (_, value) = wrong.params.iter().find(|(n, _)| n == param)?;
                ctx.names.get(value.as_str()?).copied()
            });
            let place = named.map_or_else(Place::file, |row| ctx.book.survey.at(row, Some("name")));
            let mut problem = place.problem("xlsform.definition", &[("detail", &wrong.message)]);
            problem.message = crate::forms::Text {
                vi: crate::i18n::error_text(crate::i18n::Lang::Vi, &body),
                en: crate::i18n::error_text(crate::i18n::Lang::En, &body),
            };
            ctx.problems.push(problem);
        }
    }
    // As a person fixes them: the file, then each sheet from its top.
    let rank = |sheet: &str| {
        ["", "survey", "choices", "settings"]
            .iter()
            .position(|s| *s == sheet)
    };
    ctx.problems.sort_by_key(|p| (rank(&p.sheet), p.row));
    if ctx.problems.is_empty() {
        Ok(Imported {
            definition: form,
            notes: ctx.notes,
        })
    } else {
        Err(ctx.problems)
    }
}

struct Settings {
    id: Option<String>,
    version: Option<i32>,
    title: Option<Text>,
}

fn settings(ctx: &mut Ctx) -> Settings {
    let mut out = Settings {
        id: None,
        version: None,
        title: None,
    };
    let Some(sheet) = ctx.book.settings.clone() else {
        ctx.problem(Place::file(), "xlsform.no_form_id", &[]);
        return out;
    };
    let Some(row) = sheet.table.rows.first() else {
        ctx.problem(sheet.at(1, None), "xlsform.no_form_id", &[]);
        return out;
    };
    let lang = sheet.cell(row, "default_language", None);
    if !lang.is_empty() {
        match super::read::language(lang) {
            Language::Known(l) => ctx.default_lang = l,
            Language::Other(_) => ctx.problem(
                sheet.at(row.number, Some("default_language")),
                "xlsform.language",
                &[("language", lang)],
            ),
        }
    }
    let id = [
        sheet.cell(row, "form_id", None),
        sheet.cell(row, "id_string", None),
    ]
    .into_iter()
    .find(|s| !s.is_empty());
    match id {
        Some(id) => out.id = Some(id.to_string()),
        None => ctx.problem(
            sheet.at(row.number, Some("form_id")),
            "xlsform.no_form_id",
            &[],
        ),
    }
    let version = sheet.cell(row, "version", None);
    if !version.is_empty() {
        match version.parse::<i32>() {
            Ok(v) if v >= 1 => out.version = Some(v),
            _ => ctx.problem(
                sheet.at(row.number, Some("version")),
                "xlsform.version",
                &[("value", version)],
            ),
        }
    }
    out.title = ctx.text(&sheet, row, "form_title");
    for (column, value) in sheet.filled(row) {
        let known = [
            "form_id",
            "id_string",
            "version",
            "form_title",
            "default_language",
        ];
        if !known.contains(&column.name.as_str()) {
            ctx.notes
                .push(sheet.at(row.number, Some(&column.name)).problem(
                    "xlsform.setting_ignored",
                    &[("setting", &column.name), ("value", value)],
                ));
        }
    }
    out
}

/// A language column khaosat never shows is refused once, at its heading.
fn unknown_languages(ctx: &mut Ctx) {
    let sheets: Vec<Sheet> = [Some(ctx.book.survey.clone()), ctx.book.choices.clone()]
        .into_iter()
        .flatten()
        .collect();
    for sheet in sheets {
        for (i, c) in sheet.columns.iter().enumerate() {
            if let Some(Language::Other(lang)) = &c.lang {
                if sheet.table.rows.iter().any(|r| !r.cell(i).is_empty()) {
                    ctx.problems.push(
                        Place {
                            sheet: sheet.name,
                            row: 1,
                            column: Some(c.shown.clone()),
                        }
                        .problem("xlsform.language", &[("language", lang)]),
                    );
                }
            }
        }
    }
}

fn choices(ctx: &mut Ctx) -> HashMap<String, Vec<Choice>> {
    let mut lists: HashMap<String, Vec<Choice>> = HashMap::new();
    let Some(sheet) = ctx.book.choices.clone() else {
        return lists;
    };
    for row in &sheet.table.rows {
        let list = sheet.cell(row, "list_name", None);
        let name = sheet.cell(row, "name", None);
        let at = |col: &str| sheet.at(row.number, Some(col));
        if list.is_empty() {
            ctx.problem(at("list_name"), "xlsform.choice_no_list", &[]);
            continue;
        }
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
            ctx.problem(at("name"), "xlsform.choice_name", &[("value", name)]);
            continue;
        }
        let Some(label) = ctx.text(&sheet, row, "label") else {
            ctx.problem(at("label"), "xlsform.no_label", &[("name", name)]);
            continue;
        };
        if refers(&label) {
            ctx.problem(
                at("label"),
                "xlsform.label_reference",
                &[("column", "label")],
            );
            continue;
        }
        let entry = lists.entry(list.to_string()).or_default();
        if entry.iter().any(|c| c.value == name) {
            ctx.problem(
                at("name"),
                "xlsform.choice_twice",
                &[("value", name), ("list", list)],
            );
            continue;
        }
        entry.push(Choice {
            value: name.to_string(),
            label,
        });
    }
    lists
}

/// An open `begin group` or `begin repeat`.
struct Open {
    row: usize,
    relevant: Option<String>,
}

impl Open {
    fn condition(&self) -> Option<(usize, String)> {
        self.relevant.clone().map(|r| (self.row, r))
    }
}

fn survey(ctx: &mut Ctx, lists: &HashMap<String, Vec<Choice>>) -> (Vec<Section>, Vec<Pending>) {
    let sheet = ctx.book.survey.clone();
    let mut sections: Vec<Section> = Vec::new();
    let mut pending = Vec::new();
    let mut group: Option<Open> = None;
    let mut repeat: Option<(Field, Open)> = None;
    // Questions outside any group go to a section of their own.
    let mut loose = false;
    // Refused nested groups and repeats: their `end` rows close nothing.
    let (mut skipped_groups, mut skipped_repeats) = (0usize, 0usize);
    for row in &sheet.table.rows {
        let cell = |name: &str| sheet.cell(row, name, None);
        let at = |name: &str| sheet.at(row.number, Some(name));
        let kind_text = type_words(cell("type"));
        let name = cell("name").to_string();
        for (column, _) in sheet.filled(row) {
            let ignorable = column.name.starts_with('$') || column.name.starts_with('_');
            if !ignorable && !SURVEY_COLUMNS.contains(&column.name.as_str()) {
                let code = match column.name.as_str() {
                    "calculation" | "choice_filter" | "repeat_count" | "default" | "read_only"
                    | "trigger" | "guidance_hint" => format!("xlsform.column.{}", column.name),
                    _ => "xlsform.column".to_string(),
                };
                ctx.problem(
                    sheet.at(row.number, Some(&column.name)),
                    &code,
                    &[("column", &column.name)],
                );
            }
        }
        if kind_text.is_empty() {
            ctx.problem(at("type"), "xlsform.no_type", &[]);
            continue;
        }
        let relevant = Some(cell("relevant").to_string()).filter(|s| !s.is_empty());
        match kind_text.as_str() {
            "begin group" => {
                if repeat.is_some() || group.is_some() {
                    let code = if repeat.is_some() {
                        "xlsform.group_in_repeat"
                    } else {
                        "xlsform.group_in_group"
                    };
                    ctx.problem(at("type"), code, &[("name", &name)]);
                    skipped_groups += 1;
                    continue;
                }
                if name.is_empty() {
                    ctx.problem(at("name"), "xlsform.no_name", &[]);
                } else {
                    ctx.claim(&name, at("name"), row.number);
                }
                let title = ctx.text(&sheet, row, "label").unwrap_or(Text {
                    vi: name.clone(),
                    en: name.clone(),
                });
                if refers(&title) {
                    ctx.problem(
                        at("label"),
                        "xlsform.label_reference",
                        &[("column", "label")],
                    );
                }
                sections.push(Section {
                    key: name,
                    title,
                    fields: Vec::new(),
                });
                group = Some(Open {
                    row: row.number,
                    relevant,
                });
                loose = false;
            }
            "end group" if skipped_groups > 0 => skipped_groups -= 1,
            "end group" => {
                if repeat.is_some() || group.take().is_none() {
                    ctx.problem(
                        at("type"),
                        "xlsform.unmatched_end",
                        &[("what", "end group")],
                    );
                }
            }
            "begin repeat" => {
                if repeat.is_some() {
                    ctx.problem(at("type"), "xlsform.repeat_in_repeat", &[("name", &name)]);
                    skipped_repeats += 1;
                    continue;
                }
                let Some(field) = field_of(ctx, &sheet, row, FieldType::Repeat, Vec::new()) else {
                    continue;
                };
                repeat = Some((
                    field,
                    Open {
                        row: row.number,
                        relevant,
                    },
                ));
            }
            "end repeat" if skipped_repeats > 0 => skipped_repeats -= 1,
            "end repeat" => {
                let Some((field, open)) = repeat.take() else {
                    ctx.problem(
                        at("type"),
                        "xlsform.unmatched_end",
                        &[("what", "end repeat")],
                    );
                    continue;
                };
                let section = place_in(&mut sections, &mut loose, group.is_some());
                pending.push(Pending {
                    row: open.row,
                    scope: None,
                    at: (section, sections[section].fields.len()),
                    own: open.relevant,
                    group: group.as_ref().and_then(Open::condition),
                });
                sections[section].fields.push(field);
            }
            t if METADATA_TYPES.contains(&t) || t == "start-geopoint" => {
                ctx.notes
                    .push(at("type").problem("xlsform.metadata", &[("type", t)]));
            }
            t => {
                let Some((kind, choices)) = field_type(ctx, &sheet, row, t, lists) else {
                    continue;
                };
                let Some(field) = field_of(ctx, &sheet, row, kind, choices) else {
                    continue;
                };
                if let Some((parent, _)) = repeat.as_mut() {
                    if kind == FieldType::Photo {
                        ctx.problem(at("type"), "xlsform.photo_in_repeat", &[("name", &name)]);
                        continue;
                    }
                    if crate::forms::definition::ROW_HEADER_KEYS.contains(&name.as_str()) {
                        ctx.problem(at("name"), "xlsform.reserved_row_name", &[("name", &name)]);
                        continue;
                    }
                    pending.push(Pending {
                        row: row.number,
                        scope: Some(parent.key.clone()),
                        at: (0, parent.fields.len()),
                        own: relevant,
                        group: None,
                    });
                    parent.fields.push(field);
                } else {
                    let section = place_in(&mut sections, &mut loose, group.is_some());
                    pending.push(Pending {
                        row: row.number,
                        scope: None,
                        at: (section, sections[section].fields.len()),
                        own: relevant,
                        group: group.as_ref().and_then(Open::condition),
                    });
                    sections[section].fields.push(field);
                }
            }
        }
    }
    if let Some((field, open)) = repeat {
        ctx.problem(
            sheet.at(open.row, Some("type")),
            "xlsform.unclosed",
            &[("what", "begin repeat"), ("name", &field.key)],
        );
    }
    if let Some(open) = group {
        ctx.problem(
            sheet.at(open.row, Some("type")),
            "xlsform.unclosed",
            &[("what", "begin group"), ("name", "")],
        );
    }
    (sections, pending)
}

/// A type cell with single spaces, keywords in lower case (`begin_group` is
/// `begin group`) and a choice list's name as written.
fn type_words(cell: &str) -> String {
    let mut words: Vec<String> = cell.split_whitespace().map(str::to_string).collect();
    let list_at = match words.first().map(|w| w.to_lowercase()) {
        Some(w) if w.starts_with("select_") => 1,
        Some(w) if w == "select" => 2,
        _ => usize::MAX,
    };
    for (i, w) in words.iter_mut().enumerate() {
        if i != list_at {
            *w = w.to_lowercase();
        }
    }
    words
        .join(" ")
        .replace("begin_group", "begin group")
        .replace("end_group", "end group")
        .replace("begin_repeat", "begin repeat")
        .replace("end_repeat", "end repeat")
}

/// The section a question outside groups goes to: the last loose one, or a new
/// one, "Câu hỏi".
fn place_in(sections: &mut Vec<Section>, loose: &mut bool, in_group: bool) -> usize {
    if !in_group && !*loose {
        let n = sections
            .iter()
            .filter(|s| s.key.starts_with("questions"))
            .count();
        let key = if n == 0 {
            "questions".to_string()
        } else {
            format!("questions_{}", n + 1)
        };
        let title = Text {
            vi: "Câu hỏi".into(),
            en: "Questions".into(),
        };
        sections.push(Section {
            key,
            title,
            fields: Vec::new(),
        });
        *loose = true;
    }
    sections.len() - 1
}

/// Translates every condition now that every field is known, joining a
/// group's condition to each of its questions (khaosat's sections have none).
fn conditions(ctx: &mut Ctx, form: &mut FormDefinition, pending: Vec<Pending>) {
    let top: BTreeMap<String, FieldType> = form.fields().map(|f| (f.key.clone(), f.kind)).collect();
    let children: BTreeMap<String, BTreeMap<String, FieldType>> = form
        .fields()
        .filter(|f| f.kind == FieldType::Repeat)
        .map(|f| {
            (
                f.key.clone(),
                f.fields.iter().map(|c| (c.key.clone(), c.kind)).collect(),
            )
        })
        .collect();
    let anywhere =
        |name: &str| top.contains_key(name) || children.values().any(|c| c.contains_key(name));
    let sheet = ctx.book.survey.clone();
    let mut failed_groups = std::collections::BTreeSet::new();
    for p in pending {
        let scope = match &p.scope {
            None => &top,
            Some(r) => match children.get(r) {
                Some(c) => c,
                None => continue,
            },
        };
        let translate = |row: usize, text: &str, ctx: &mut Ctx| -> Option<Expr> {
            match xpath::relevant(text, |name| scope.get(name).copied()) {
                Ok(k) => expr::parse(&k).ok(),
                Err(f) => {
                    let code = if f.code == "xlsform.unknown_field" && anywhere(&f.found) {
                        "xlsform.field_out_of_scope"
                    } else {
                        f.code
                    };
                    ctx.problem(
                        sheet.at(row, Some("relevant")),
                        code,
                        &[("found", &f.found)],
                    );
                    None
                }
            }
        };
        let group = match &p.group {
            Some((row, text)) if !failed_groups.contains(row) => {
                let e = translate(*row, text, ctx);
                if e.is_none() {
                    failed_groups.insert(*row);
                }
                e
            }
            _ => None,
        };
        let own = p.own.as_deref().and_then(|t| translate(p.row, t, ctx));
        let joined = match (group, own) {
            (Some(g), Some(o)) => Some(Expr::And(Box::new(g), Box::new(o))),
            (g, o) => g.or(o),
        };
        let Some(joined) = joined else { continue };
        let text = expr::print(&joined, Syntax::Khaosat);
        let (section, index) = p.at;
        let field = match &p.scope {
            None => form
                .sections
                .get_mut(section)
                .and_then(|s| s.fields.get_mut(index)),
            Some(r) => form
                .sections
                .iter_mut()
                .flat_map(|s| s.fields.iter_mut())
                .find(|f| &f.key == r)
                .and_then(|f| f.fields.get_mut(index)),
        };
        if let Some(field) = field {
            field.relevant = Some(text);
        }
    }
}
