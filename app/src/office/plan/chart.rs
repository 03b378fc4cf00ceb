//! The plan's bar charts: amounts by unit and by industry group, stacked by
//! funding source, drawn as inline SVG in the page the server renders (no
//! chart library, nothing in the phone's bundle). Each chart has a title, a
//! description and labelled axes for screen readers; the table under it
//! stays the data.

use super::page::{cell_amount, industries};
use super::*;

/// One bar: its label and the amount of each source, in `SOURCES` order.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Bar {
    pub key: String,
    pub label: String,
    pub amounts: [i64; 4],
}

impl Bar {
    fn total(&self) -> i64 {
        self.amounts.iter().fold(0i64, |a, b| a.saturating_add(*b))
    }
}

/// Bars by unit (district or commune), in the table's order.
pub(super) fn district_bars(plan: &Plan) -> Vec<Bar> {
    plan.districts()
        .into_iter()
        .map(|(code, name)| bar(plan, code, name, |c, code| c.district_code == code))
        .collect()
}

/// Bars by industry group.
pub(super) fn industry_bars(plan: &Plan, lang: Lang) -> Vec<Bar> {
    industries(plan)
        .into_iter()
        .map(|g| {
            let label = industry_label(lang, &g);
            bar(plan, g, label, |c, g| c.industry_group == g)
        })
        .collect()
}

fn bar(plan: &Plan, key: String, label: String, keep: impl Fn(&PlanCell, &str) -> bool) -> Bar {
    let mut amounts = [0; 4];
    for (i, source) in SOURCES.into_iter().enumerate() {
        let totals = plan.totals(|c| c.source == source && keep(c, &key));
        amounts[i] = cell_amount(source, totals).0;
    }
    Bar {
        key,
        label,
        amounts,
    }
}

/// Ticks for an axis up to `max`: a round step (1, 2 or 5 × 10ⁿ) giving 3 to 6 ticks.
pub(super) fn ticks(max: i64) -> Vec<i64> {
    if max <= 0 {
        return vec![0];
    }
    let raw = max as f64 / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
        .max(1.0) as i64;
    let mut out = vec![0_i64];
    while let Some(&last) = out.last().filter(|l| **l < max) {
        // Totals saturate at i64::MAX: the tick past it would overflow (and
        // in a release build wrap negative and never end). The axis ends there.
        match last.checked_add(step) {
            Some(next) => out.push(next),
            None => {
                out.push(i64::MAX);
                break;
            }
        }
    }
    out
}

/// "150 tr": millions of đồng, the unit plans are read in; "2,000 M" in
/// English, whose readers took "2.000 M" for two.
fn millions(amount: i64, lang: Lang) -> String {
    let unit = match lang {
        Lang::Vi => "tr",
        Lang::En => "M",
    };
    let number = crate::format::decimal_vn((amount as f64 / 1e5).round() / 10.0);
    format!(
        "{} {unit}",
        crate::format::in_notation(&number, lang == Lang::Vi)
    )
}

const LABEL_W: f64 = 190.0;
const PLOT_W: f64 = 520.0;
const ROW_H: f64 = 26.0;
const BAR_H: f64 = 18.0;
const TOP: f64 = 8.0;
const AXIS_H: f64 = 44.0;

/// A horizontal stacked bar chart; `id` names its title and description.
pub(super) fn bar_chart(
    bars: &[Bar],
    id: &'static str,
    title: String,
    lang: Lang,
) -> impl IntoView {
    let tr = move |key: &str| t(lang, key);
    let ticks = ticks(bars.iter().map(Bar::total).max().unwrap_or(0));
    let top = *ticks.last().unwrap_or(&1) as f64;
    let scale = move |amount: i64| amount as f64 / top.max(1.0) * PLOT_W;
    let height = TOP + bars.len() as f64 * ROW_H + AXIS_H;
    let width = LABEL_W + PLOT_W + 20.0;
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let labelled_by = format!("{title_id} {desc_id}");
    let description = bars
        .iter()
        .map(|b| format!("{}: {}", b.label, vnd(b.total())))
        .collect::<Vec<_>>()
        .join("; ");
    let rows = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let y = TOP + i as f64 * ROW_H;
            let mut x = LABEL_W;
            let segments = SOURCES
                .into_iter()
                .zip(b.amounts)
                .filter(|(_, a)| *a > 0)
                .map(|(source, amount)| {
                    let w = scale(amount);
                    let seg = view! {
                        <rect class=format!("chart-{source}") x=x y=y width=w height=BAR_H
                            data-source=source data-amount=amount>
                            <title>{format!("{}: {}", source_label(lang, source), vnd(amount))}</title>
                        </rect>
                    };
                    x += w;
                    seg
                })
                .collect_view();
            view! {
                <g data-testid="chart-bar" data-key=b.key.clone() data-total=b.total() data-width=format!("{:.1}", x - LABEL_W)>
                    <text x=LABEL_W - 8.0 y=y + BAR_H - 4.0 text-anchor="end" class="chart-label">{b.label.clone()}</text>
                    {segments}
                </g>
            }
        })
        .collect_view();
    let axis_y = TOP + bars.len() as f64 * ROW_H;
    let tick_marks = ticks
        .iter()
        .map(|&v| {
            let x = LABEL_W + scale(v);
            view! {
                <line x1=x x2=x y1=TOP y2=axis_y class="chart-grid"/>
                <text x=x y=axis_y + 16.0 text-anchor="middle" class="chart-tick">{millions(v, lang)}</text>
            }
        })
        .collect_view();
    let legend = SOURCES
        .into_iter()
        .map(|s| view! { <li><span class=format!("chart-key chart-{s}") aria-hidden="true"></span>{source_label(lang, s)}</li> })
        .collect_view();
    view! {
        <figure class="plan-chart" data-testid=id>
            <svg viewBox=format!("0 0 {width} {height}") role="img" aria-labelledby=labelled_by
                preserveAspectRatio="xMinYMin meet">
                <title id=title_id>{title.clone()}</title>
                <desc id=desc_id>{description}</desc>
                {tick_marks}
                {rows}
                <line x1=LABEL_W x2=LABEL_W y1=TOP y2=axis_y class="chart-axis"/>
                <text x=LABEL_W + PLOT_W / 2.0 y=axis_y + 36.0 text-anchor="middle" class="chart-axis-title">
                    {move || tr("plan.chart.amount_axis")}
                </text>
            </svg>
            <figcaption>
                <ul class="chart-legend">{legend}</ul>
                <p class="hint">{move || tr("plan.chart.note")}</p>
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::{millions, ticks, Lang};

    #[test]
    fn axis_ticks_are_round_and_cover_the_largest_bar() {
        assert_eq!(ticks(0), [0]);
        assert_eq!(
            ticks(950_000_000),
            [
                0,
                200_000_000,
                400_000_000,
                600_000_000,
                800_000_000,
                1_000_000_000
            ]
        );
        assert_eq!(
            ticks(100_000_000),
            [
                0,
                20_000_000,
                40_000_000,
                60_000_000,
                80_000_000,
                100_000_000
            ]
        );
        assert_eq!(ticks(7), [0, 2, 4, 6, 8]);
        // Saturated totals (a registry of thousands of the largest amounts)
        // end the axis at the largest number instead of overflowing.
        assert_eq!(*ticks(i64::MAX).last().unwrap(), i64::MAX);
        assert!(ticks(i64::MAX).len() <= 7);
        for max in [1, 13, 999, 123_456_789, 4_000_000_000, i64::MAX - 1] {
            let t = ticks(max);
            assert!(*t.last().unwrap() >= max && t.len() <= 7, "{max}: {t:?}");
        }
    }

    #[test]
    fn amounts_read_in_millions_of_dong() {
        assert_eq!(millions(150_000_000, Lang::Vi), "150 tr");
        assert_eq!(millions(2_500_000, Lang::Vi), "2,5 tr");
        assert_eq!(millions(0, Lang::Vi), "0 tr");
        // The axis title says "million đồng" in English: no Vietnamese "tr".
        assert_eq!(millions(2_000_000_000, Lang::En), "2,000 M");
        assert_eq!(millions(2_500_000, Lang::En), "2.5 M");
    }
}
