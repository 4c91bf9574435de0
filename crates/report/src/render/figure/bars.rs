//! Horizontal stacked bars of shares: one bar per row, split into segments that are the shares
//! of the row's total (each row's bar is 100 %), with the row's label written above its bar —
//! placed, never fitted, so no text is measured (as the rest of [`super`]). A segment is a
//! `rect` of class `bar`: the browser test counts those as the figure's drawn marks.

use super::{COLOURS, LEFT, RIGHT, TOP, WIDTH, escape};
use std::fmt::Write;

/// One row's label above the bar, then the bar: the row's height.
const ROW: f64 = 40.0;
/// The bar's thickness.
const BAR: f64 = 14.0;
/// Below the rows: the share ticks and the axis label.
const AXIS_BAND: f64 = 46.0;
/// One legend entry's height.
const LEGEND_ROW: f64 = 18.0;
/// The colour of a row's track where it has no bar (a row whose total is 0).
const TRACK: &str = "#f0f0f0";

/// A row: its label and one value per segment (counts; drawn as shares of their sum).
#[derive(Debug, Clone, PartialEq)]
pub struct BarRow {
    /// Written above the bar (what the row is, and its counts in words).
    pub label: String,
    /// One value per [`BarChart::segments`] entry, ≥ 0 (missing ones are 0, extra ones are not
    /// drawn).
    pub values: Vec<f64>,
}

/// What one segment of every bar counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Its name in the legend.
    pub name: String,
    /// Its palette index.
    pub colour: usize,
}

impl Segment {
    /// A segment named `name`, drawn in palette colour `colour`.
    pub fn new(name: impl Into<String>, colour: usize) -> Segment {
        Segment { name: name.into(), colour }
    }
}

/// A bar chart of shares: a title, a subtitle, the segments, and the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// The title.
    pub title: String,
    /// One line under it.
    pub subtitle: String,
    /// What the horizontal axis measures (a share, 0 to 100 %).
    pub axis: String,
    /// The segments, in the legend and along each bar in this order.
    pub segments: Vec<Segment>,
    /// The rows, top to bottom.
    pub rows: Vec<BarRow>,
}

/// A row's values of the first `segments` (0 for those not positive and finite) and their sum.
fn parts(row: &BarRow, segments: usize) -> (Vec<f64>, f64) {
    let values: Vec<f64> =
        row.values.iter().take(segments).map(|&v| if v.is_finite() && v > 0.0 { v } else { 0.0 }).collect();
    let total = values.iter().sum();
    (values, total)
}

impl BarChart {
    /// Whether some row has a bar to draw (a positive value).
    pub fn has_data(&self) -> bool {
        self.rows.iter().any(|r| parts(r, self.segments.len()).1 > 0.0)
    }

    /// The SVG, or `None` when no row has a bar (the caller says so in text instead). A row whose
    /// values are all 0 keeps its label above an empty track.
    pub fn svg(&self) -> Option<String> {
        if !self.has_data() {
            return None;
        }
        let (x0, x1) = (LEFT, WIDTH - RIGHT);
        let y1 = TOP + ROW * self.rows.len() as f64;
        let height = y1 + AXIS_BAND + LEGEND_ROW * self.segments.len() as f64 + 8.0;
        let px = |share: f64| x0 + share * (x1 - x0);
        let mut svg = String::new();
        super::frame(&mut svg, height, x0, &self.title, &self.subtitle);
        for k in 0..=5 {
            let x = px(f64::from(k) / 5.0);
            let _ = writeln!(svg, r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{y1}" stroke="#e0e0e0"/>"##);
            let _ = writeln!(svg, r#"<text x="{x:.1}" y="{}" text-anchor="middle">{} %</text>"#, y1 + 18.0, 20 * k);
        }
        let _ = writeln!(svg, r#"<path d="M{x0} {TOP} V{y1} H{x1}" stroke="black" fill="none"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            (x0 + x1) / 2.0,
            y1 + 36.0,
            escape(&self.axis)
        );
        for (i, row) in self.rows.iter().enumerate() {
            let top = TOP + ROW * i as f64;
            let bar = top + 18.0;
            let _ = writeln!(svg, r#"<text x="{}" y="{}">{}</text>"#, x0 + 4.0, top + 13.0, escape(&row.label));
            let (values, total) = parts(row, self.segments.len());
            if total == 0.0 {
                let _ =
                    writeln!(svg, r#"<rect x="{x0}" y="{bar}" width="{:.1}" height="{BAR}" fill="{TRACK}"/>"#, x1 - x0);
                continue;
            }
            let mut start = 0.0;
            for (segment, v) in self.segments.iter().zip(&values).filter(|(_, v)| **v > 0.0) {
                let end = start + v / total;
                let _ = writeln!(
                    svg,
                    r#"<rect class="bar" x="{:.1}" y="{bar}" width="{:.1}" height="{BAR}" fill="{}"/>"#,
                    px(start),
                    px(end) - px(start),
                    COLOURS[segment.colour % COLOURS.len()]
                );
                start = end;
            }
        }
        let mut ly = y1 + AXIS_BAND + 4.0;
        for segment in &self.segments {
            let _ = writeln!(
                svg,
                r#"<rect x="{x0}" y="{}" width="24" height="10" fill="{}"/>"#,
                ly - 5.0,
                COLOURS[segment.colour % COLOURS.len()]
            );
            let _ = writeln!(svg, r#"<text x="{}" y="{}">{}</text>"#, x0 + 32.0, ly + 4.0, escape(&segment.name));
            ly += LEGEND_ROW;
        }
        let _ = writeln!(svg, "</svg>");
        Some(svg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(rows: Vec<BarRow>) -> BarChart {
        BarChart {
            title: "t".into(),
            subtitle: "s".into(),
            axis: "share".into(),
            segments: vec![Segment::new("a", 0), Segment::new("b", 1)],
            rows,
        }
    }

    #[test]
    fn nothing_to_draw_gives_no_chart() {
        assert_eq!(chart(vec![]).svg(), None);
        let zeros = BarRow { label: "none".into(), values: vec![0.0, f64::NAN] };
        assert_eq!(chart(vec![zeros]).svg(), None);
    }

    /// The segments of a row fill the plot's width in proportion to their values.
    #[test]
    fn segments_are_shares_of_the_row() {
        let rows = vec![
            BarRow { label: "three to one".into(), values: vec![3.0, 1.0] },
            BarRow { label: "empty".into(), values: vec![0.0, 0.0] },
        ];
        let svg = chart(rows).svg().unwrap();
        let widths: Vec<f64> = svg
            .lines()
            .filter(|l| l.starts_with("<rect") && l.contains(r#"height="14""#))
            .map(|l| {
                let rest = &l[l.find("width=\"").unwrap() + 7..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        let full = WIDTH - RIGHT - LEFT;
        assert_eq!(widths, vec![0.75 * full, 0.25 * full, full], "{svg}");
        assert!(svg.contains(">empty</text>") && svg.contains(TRACK), "{svg}");
    }
}
