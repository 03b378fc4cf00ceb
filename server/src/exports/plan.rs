//! The year's plan as files: by unit (or former district), by industry, by
//! unit and industry, the proposal list and the budget.

use super::*;

/// Funding sources in the order the plan shows them.
pub const SOURCES: [&str; 4] = ["provincial", "national", "not_supported", "pending"];

/// Rows of a two-way table: one line per `key` (district or industry group) with
/// count and recommended amount per source, then a total line.
pub(super) fn by_key(
    plan: &Plan,
    key: impl Fn(&PlanCell) -> (String, String),
    order: Option<Vec<String>>, // the page's order of keys; else by key
    first: &str,                // locale key of the first column
    out: &mut dyn Sink,
) -> Result<(), AppError> {
    let mut header = vec![Cell::Text(text(first))];
    for s in SOURCES {
        header.push(Cell::Text(
            text("source_count").replace("{source}", &source_label(s)),
        ));
        // As on the page: recommended where there is a recommendation, else
        // requested, and the heading says which.
        let amount = if app::office::plan::contract::shown_amount(s, Default::default()).1 {
            "source_requested"
        } else {
            "source_amount"
        };
        header.push(Cell::Text(
            text(amount).replace("{source}", &source_label(s)),
        ));
    }
    header.push(Cell::Text(text("total_count")));
    header.push(Cell::Text(text("total_requested")));
    // The page's last column: what the plan would fund (provincial and
    // national recommendations), the figure a supervisor compares first.
    header.push(Cell::Text(text("recommended")));
    out.row(&header)?;
    let mut keys: Vec<(String, String)> = plan.cells.iter().map(&key).collect();
    keys.sort();
    keys.dedup();
    if let Some(order) = order {
        keys.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
    }
    let line = |label: String, keep: &dyn Fn(&PlanCell) -> bool| {
        let mut row = vec![Cell::Text(label)];
        for s in SOURCES {
            let t = plan.totals(|c| keep(c) && c.source == s);
            row.push(Cell::Count(t.count));
            row.push(Cell::Money(
                app::office::plan::contract::shown_amount(s, t).0,
            ));
        }
        let all = plan.totals(keep);
        row.push(Cell::Count(all.count));
        row.push(Cell::Money(all.requested));
        let funded =
            plan.totals(|c| keep(c) && (c.source == "provincial" || c.source == "national"));
        row.push(Cell::Money(funded.recommended));
        row
    };
    for (k, name) in &keys {
        out.row(&line(name.clone(), &|c| &key(c).0 == k))?;
    }
    out.row(&line(text("total"), &|_| true))
}

/// The locale key naming the units a plan is grouped by (its first column).
pub(super) fn unit_column(plan: &Plan) -> &'static str {
    match plan.grouped_by.as_str() {
        "commune" => "commune",
        "former_district" => "former_district",
        _ => "district",
    }
}

/// The sheet name of a plan's units table.
pub(super) fn unit_sheet(plan: &Plan) -> String {
    text(&format!("sheet_by_{}", unit_column(plan)))
}

pub fn plan_by_district(plan: &Plan, out: &mut dyn Sink) -> Result<(), AppError> {
    by_key(
        plan,
        |c| (c.district_code.clone(), c.district_name.clone()),
        None,
        unit_column(plan),
        out,
    )
}

pub fn plan_by_industry(plan: &Plan, out: &mut dyn Sink) -> Result<(), AppError> {
    by_key(
        plan,
        |c| (c.industry_group.clone(), industry_label(&c.industry_group)),
        Some(plan.industries()),
        "industry",
        out,
    )
}

/// District × industry group × source: the plan's full breakdown, with totals.
pub fn plan_cells(plan: &Plan, out: &mut dyn Sink) -> Result<(), AppError> {
    out.row(
        &[
            unit_column(plan),
            "industry",
            "source",
            "count",
            "requested",
            "recommended",
        ]
        .map(|key| Cell::Text(text(key))),
    )?;
    // Industry groups in the form's order, as on the page and in the
    // by-industry sheet (the codes' order put "other" before "processing").
    let industries = plan.industries();
    let mut cells: Vec<&PlanCell> = plan.cells.iter().collect();
    cells.sort_by_key(|c| {
        (
            c.district_code.clone(),
            industries.iter().position(|g| *g == c.industry_group),
            SOURCES.iter().position(|s| *s == c.source),
        )
    });
    for c in cells {
        out.row(&[
            Cell::text(c.district_name.clone()),
            Cell::text(industry_label(&c.industry_group)),
            Cell::text(source_label(&c.source)),
            Cell::Count(c.count),
            Cell::Money(c.requested),
            Cell::Money(c.recommended),
        ])?;
    }
    let all = plan.totals(|_| true);
    out.row(&[
        Cell::Text(text("total")),
        Cell::text(""),
        Cell::text(""),
        Cell::Count(all.count),
        Cell::Money(all.requested),
        Cell::Money(all.recommended),
    ])
}

pub fn plan_proposals(plan: &Plan, out: &mut dyn Sink) -> Result<(), AppError> {
    out.row(
        &[
            "proposal",
            "facility",
            unit_column(plan),
            "industry",
            "requested",
            "source",
            "recommended",
        ]
        .map(|key| Cell::Text(text(key))),
    )?;
    for p in &plan.proposals {
        out.row(&[
            Cell::text(p.title.clone()),
            Cell::text(p.facility_name.clone()),
            Cell::text(p.district_name.clone()),
            Cell::text(industry_label(&p.industry_group)),
            Cell::Money(p.requested_amount),
            Cell::text(source_label(&p.source)),
            Cell::Money(p.recommended_amount),
        ])?;
    }
    Ok(())
}

/// The budget sheet: the province's budget, what the provincial recommendations
/// use, and what is left.
pub fn plan_budget(plan: &Plan, out: &mut dyn Sink) -> Result<(), AppError> {
    out.row(&[Cell::Text(text("year")), Cell::Count(i64::from(plan.year))])?;
    let used = plan.provincial_total();
    match plan.budget {
        Some(b) => {
            out.row(&[Cell::Text(text("budget")), Cell::Money(b)])?;
            out.row(&[Cell::Text(text("provincial_used")), Cell::Money(used)])?;
            out.row(&[Cell::Text(text("remaining")), Cell::Money(b - used)])
        }
        None => {
            out.row(&[Cell::Text(text("budget")), Cell::Text(text("not_set"))])?;
            out.row(&[Cell::Text(text("provincial_used")), Cell::Money(used)])
        }
    }
}

/// The whole plan as a workbook: one sheet per view.
/// The plan workbook. `former` is the same plan grouped by the districts of
/// the older tree (a year on a tree another is mapped into): its tables come
/// right after the year's own.
pub fn plan_xlsx(plan: &Plan, former: Option<&Plan>) -> Result<File, AppError> {
    let mut book = new_workbook();
    let wide = [
        26.0, 12.0, 18.0, 12.0, 18.0, 12.0, 18.0, 12.0, 18.0, 12.0, 20.0,
    ];
    sheet(&mut book, &unit_sheet(plan), &wide, |s| {
        plan_by_district(plan, s)
    })?;
    if let Some(former) = former {
        sheet(&mut book, &unit_sheet(former), &wide, |s| {
            plan_by_district(former, s)
        })?;
        sheet(
            &mut book,
            &text("sheet_detail_former_district"),
            &[26.0, 22.0, 26.0, 10.0, 20.0, 20.0],
            |s| plan_cells(former, s),
        )?;
    }
    sheet(&mut book, &text("sheet_by_industry"), &wide, |s| {
        plan_by_industry(plan, s)
    })?;
    sheet(
        &mut book,
        &text("sheet_detail"),
        &[26.0, 22.0, 26.0, 10.0, 20.0, 20.0],
        |s| plan_cells(plan, s),
    )?;
    sheet(
        &mut book,
        &text("sheet_proposals"),
        &[60.0, 36.0, 26.0, 22.0, 20.0, 26.0, 20.0],
        |s| plan_proposals(plan, s),
    )?;
    sheet(&mut book, &text("sheet_budget"), &[30.0, 22.0], |s| {
        plan_budget(plan, s)
    })?;
    save(book)
}

// ---- photos ------------------------------------------------------------------
