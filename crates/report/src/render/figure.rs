//! One kind of figure for every section: curves, bands and points on linear or logarithmic axes,
//! with horizontal reference lines, as hand-written SVG.
//!
//! Why not a plotting crate: `plotters`' SVG backend measures text through a font backend, so its
//! layout depends on the fonts a machine has; the report's figures must be the same bytes on any
//! machine. Here nothing is measured: every position is computed from the data and fixed
//! constants, every coordinate is printed with one decimal, and text is placed, never fitted. The
//! only arithmetic is layout (data → pixels, and each line drawn with the points it needs to stay
//! within a quarter pixel: `figure/simplify.rs`); values that people read go through `numfmt`.

mod bars;
mod simplify;

pub use bars::{BarChart, BarRow, Segment};

use crate::numfmt::sig;
use simplify::simplify;
use std::fmt::Write;

const WIDTH: f64 = 680.0;
const PLOT_HEIGHT: f64 = 300.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 52.0;
/// Below the plot area: tick labels and the axis label.
const AXIS_BAND: f64 = 46.0;
/// One legend entry's height (entries are stacked, one per row, under the axis).
const LEGEND_ROW: f64 = 18.0;
/// A categorical palette readable in colour and in grey print (Tableau's ten, the first eight in
/// the order the figures were first drawn with).
const COLOURS: [&str; 10] =
    ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/// How an axis maps values to positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Equal steps are equal distances.
    Linear,
    /// Equal ratios are equal distances (values ≤ 0 are not drawn).
    Log10,
}

impl Scale {
    /// [`Scale::Log10`] when the positive finite `values` span at least a factor 10 (and none is
    /// ≤ 0), else [`Scale::Linear`]: a curve that falls by decades is read on a log axis, one that
    /// moves by percent on a linear one.
    pub fn for_values(values: impl Iterator<Item = f64>) -> Scale {
        let (mut lo, mut hi, mut non_positive) = (f64::INFINITY, 0.0f64, false);
        for v in values.filter(|v| v.is_finite()) {
            non_positive |= v <= 0.0;
            (lo, hi) = (lo.min(v), hi.max(v));
        }
        if !non_positive && hi >= 10.0 * lo { Scale::Log10 } else { Scale::Linear }
    }
}

/// An axis: its label and scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// What the axis measures.
    pub label: String,
    /// Its scale.
    pub scale: Scale,
}

impl Axis {
    /// A linear axis.
    pub fn linear(label: impl Into<String>) -> Axis {
        Axis { label: label.into(), scale: Scale::Linear }
    }

    /// A logarithmic axis.
    pub fn log10(label: impl Into<String>) -> Axis {
        Axis { label: label.into(), scale: Scale::Log10 }
    }
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A solid line through the points, in order.
    Line,
    /// A dashed line (a prediction beside a measurement).
    Dashed,
    /// A dot per point (measurements on a theory curve).
    Dots,
}

/// One series: points, a mark, and an optional band (low, high) at the same or other x.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend's text.
    pub label: String,
    /// How the points are drawn.
    pub mark: Mark,
    /// The palette index (series with the same index share a colour: a measurement and its
    /// prediction).
    pub colour: usize,
    /// (x, y); non-finite values leave a gap.
    pub points: Vec<(f64, f64)>,
    /// (x, low, high): a shaded band, e.g. the 10th–90th percentiles.
    pub band: Vec<(f64, f64, f64)>,
}

impl Series {
    /// A series without a band.
    pub fn new(label: impl Into<String>, mark: Mark, colour: usize, points: Vec<(f64, f64)>) -> Series {
        Series { label: label.into(), mark, colour, points, band: Vec::new() }
    }

    /// The same series with a band.
    pub fn with_band(mut self, band: Vec<(f64, f64, f64)>) -> Series {
        self.band = band;
        self
    }
}

/// A horizontal reference line (a plateau, a format's limit), labelled at its right end.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Where it is.
    pub y: f64,
    /// What it is.
    pub label: String,
}

/// A figure: a title, a subtitle (what was measured, how many samples), two axes, series and
/// rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The title.
    pub title: String,
    /// One line under it.
    pub subtitle: String,
    /// The horizontal axis.
    pub x: Axis,
    /// The vertical axis.
    pub y: Axis,
    /// The series, drawn in order (bands first).
    pub series: Vec<Series>,
    /// Horizontal reference lines.
    pub rules: Vec<Rule>,
}

/// A range of drawable values along one axis, in the axis's own coordinate (log10 for a log axis).
#[derive(Debug, Clone, Copy)]
struct Range {
    lo: f64,
    hi: f64,
}

/// The largest magnitude a linear axis draws: the range and tick arithmetic (differences, the
/// range widened to whole ticks) must not overflow `f64`. No section measures anything near it.
const LINEAR_LIMIT: f64 = 1e300;

/// A value in the axis's own coordinate, or `None` where it cannot be drawn.
fn transform(scale: Scale, v: f64) -> Option<f64> {
    match scale {
        Scale::Linear => (v.abs() <= LINEAR_LIMIT).then_some(v),
        Scale::Log10 => (v.is_finite() && v > 0.0).then(|| v.log10()),
    }
}

fn range(values: impl Iterator<Item = f64>) -> Option<Range> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return None;
    }
    // A single value still gets an axis: one unit around it, or a relative 10⁻⁹ where one unit
    // is below the value's resolution (±0.5 leaves 1.4e18 unchanged).
    if hi - lo < 1e-12 * lo.abs().max(1.0) {
        let half = 0.5f64.max(1e-9 * lo.abs());
        Some(Range { lo: lo - half, hi: hi + half })
    } else {
        Some(Range { lo, hi })
    }
}

/// Tick positions: 1, 2 or 5 × 10^k apart, at most about `max` of them, covering the range (the
/// range is widened to the outer ticks).
fn ticks(r: Range, max: f64) -> (Range, Vec<f64>) {
    let raw = ((r.hi - r.lo) / max).max(1e-300);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&s| s >= raw).unwrap_or(10.0 * magnitude);
    let (first, last) = ((r.lo / step).floor() as i64, (r.hi / step).ceil() as i64);
    let ticks: Vec<f64> = (first..=last).map(|k| k as f64 * step).collect();
    (Range { lo: first as f64 * step, hi: last as f64 * step }, ticks)
}

/// A tick's label: the value itself (an integer as one), or 10 with a superscript exponent on a
/// log axis.
fn tick_label(scale: Scale, t: f64) -> String {
    let minus = |k: i64| if k < 0 { format!("−{}", -k) } else { k.to_string() };
    match scale {
        Scale::Linear if t.fract() == 0.0 && t.abs() < 1e15 => minus(t as i64),
        Scale::Linear => sig(t, 3),
        Scale::Log10 if t.fract() == 0.0 => format!(r#"10<tspan dy="-6" font-size="9">{}</tspan>"#, minus(t as i64)),
        Scale::Log10 if 10f64.powf(t).is_finite() => sig(10f64.powf(t), 2),
        // Past f64's range (a tick beyond 10^308): mantissa and exponent apart.
        Scale::Log10 => format!("{}e{}", sig(10f64.powf(t - t.floor()), 2), t.floor()),
    }
}

/// Escapes text for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Figure {
    /// Whether any series has a point or a band that can be drawn on these axes.
    pub fn has_data(&self) -> bool {
        let (xs, ys) = (self.x.scale, self.y.scale);
        let drawable = |x: f64, y: f64| transform(xs, x).is_some() && transform(ys, y).is_some();
        self.series.iter().any(|s| {
            s.points.iter().any(|&(x, y)| drawable(x, y))
                || s.band.iter().any(|&(x, lo, hi)| drawable(x, lo) && drawable(x, hi))
        })
    }

    /// The SVG, or `None` when there is nothing to draw (the caller says so in text instead).
    pub fn svg(&self) -> Option<String> {
        if !self.has_data() {
            return None;
        }
        let (xs, ys) = (self.x.scale, self.y.scale);
        let x_values = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0).chain(s.band.iter().map(|b| b.0)))
            .filter_map(|x| transform(xs, x));
        let y_values = self
            .series
            .iter()
            .flat_map(|s| {
                let band = s.band.iter().filter(|b| transform(xs, b.0).is_some()).flat_map(|b| [b.1, b.2]);
                s.points.iter().filter(|p| transform(xs, p.0).is_some()).map(|p| p.1).chain(band)
            })
            .chain(self.rules.iter().map(|r| r.y))
            .filter_map(|y| transform(ys, y));
        let (xr, x_ticks) = ticks(range(x_values)?, 8.0);
        let (yr, y_ticks) = ticks(range(y_values)?, 6.0);
        let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, TOP, TOP + PLOT_HEIGHT);
        let px = |x: f64| x0 + (x - xr.lo) / (xr.hi - xr.lo) * (x1 - x0);
        let py = |y: f64| y1 - (y - yr.lo) / (yr.hi - yr.lo) * (y1 - y0);
        let point = |x: f64, y: f64| Some((px(transform(xs, x)?), py(transform(ys, y)?)));

        let legend_rows = self.series.len() + self.rules.len();
        let height = y1 + AXIS_BAND + LEGEND_ROW * legend_rows as f64 + 8.0;
        let mut svg = String::new();
        frame(&mut svg, height, x0, &self.title, &self.subtitle);
        // Grid, ticks and axes.
        for &t in &y_ticks {
            let y = py(t);
            let _ = writeln!(svg, r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#e0e0e0"/>"##);
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
                x0 - 6.0,
                y + 4.0,
                tick_label(ys, t)
            );
        }
        for &t in &x_ticks {
            let x = px(t);
            let _ = writeln!(svg, r#"<line x1="{x:.1}" y1="{y1}" x2="{x:.1}" y2="{}" stroke="black"/>"#, y1 + 4.0);
            let _ = writeln!(
                svg,
                r#"<text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
                y1 + 18.0,
                tick_label(xs, t)
            );
        }
        let _ = writeln!(svg, r#"<path d="M{x0} {y0} V{y1} H{x1}" stroke="black" fill="none"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            (x0 + x1) / 2.0,
            y1 + 36.0,
            escape(&self.x.label)
        );
        let _ = writeln!(
            svg,
            r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            (y0 + y1) / 2.0,
            escape(&self.y.label)
        );
        // Bands under every line.
        for s in &self.series {
            let colour = COLOURS[s.colour % COLOURS.len()];
            for run in runs(s.band.iter().map(|&(x, lo, hi)| Some((point(x, lo)?, point(x, hi)?)))) {
                if run.len() < 2 {
                    continue;
                }
                let upper: Vec<(f64, f64)> = run.iter().map(|&(_, hi)| hi).collect();
                let lower: Vec<(f64, f64)> = run.iter().rev().map(|&(lo, _)| lo).collect();
                let upper = simplify(&upper).into_iter().map(|(x, y)| format!("{x:.1},{y:.1}"));
                let lower = simplify(&lower).into_iter().map(|(x, y)| format!("{x:.1},{y:.1}"));
                let points: Vec<String> = upper.chain(lower).collect();
                let _ = writeln!(
                    svg,
                    r#"<polygon points="{}" fill="{colour}" fill-opacity="0.18" stroke="none"/>"#,
                    points.join(" ")
                );
            }
        }
        for rule in &self.rules {
            if let Some(y) = transform(ys, rule.y).map(py) {
                let _ = writeln!(
                    svg,
                    r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#444" stroke-dasharray="2 3"/>"##
                );
            }
        }
        // A solid line drawn on an earlier one (within a pixel everywhere: two remedies that fail
        // alike) would hide it: it is dashed, so the earlier shows in its gaps, and its legend
        // says on which line it lies. With k lines on one, each takes its own 8-pixel slot of a
        // period of 8·(k + 1), so every colour shows.
        let drawn: Vec<Vec<Vec<(f64, f64)>>> =
            self.series.iter().map(|s| runs(s.points.iter().map(|&(x, y)| point(x, y)))).collect();
        let lies_on: Vec<Option<usize>> = (0..self.series.len())
            .map(|j| {
                let solid = |i: usize| self.series[i].mark == Mark::Line && drawn[i].iter().any(|r| r.len() > 1);
                if !solid(j) {
                    return None;
                }
                (0..j).find(|&i| solid(i) && coincide(&drawn[i], &drawn[j]))
            })
            .collect();
        let dashes: Vec<String> = (0..self.series.len())
            .map(|j| {
                let Some(base) = lies_on[j] else { return String::new() };
                let on_base = |k: &usize| lies_on[*k] == Some(base);
                let slot = (0..=j).filter(on_base).count();
                let period = 8 * ((0..self.series.len()).filter(on_base).count() + 1);
                format!(r#" stroke-dasharray="8 {}" stroke-dashoffset="{}""#, period - 8, period - 8 * slot)
            })
            .collect();
        for (j, s) in self.series.iter().enumerate() {
            let colour = COLOURS[s.colour % COLOURS.len()];
            let points = s.points.iter().map(|&(x, y)| point(x, y));
            match s.mark {
                Mark::Line | Mark::Dashed => {
                    let dash = if s.mark == Mark::Dashed { r#" stroke-dasharray="6 4""# } else { dashes[j].as_str() };
                    for run in runs(points) {
                        let coords: Vec<String> =
                            simplify(&run).into_iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                        if coords.len() == 1 {
                            let (x, y) = run[0];
                            let _ = writeln!(svg, r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="{colour}"/>"#);
                        } else {
                            let _ = writeln!(
                                svg,
                                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#,
                                coords.join(" ")
                            );
                        }
                    }
                }
                Mark::Dots => {
                    for (x, y) in points.flatten() {
                        let _ = writeln!(svg, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{colour}"/>"#);
                    }
                }
            }
        }
        // The legend: one row per series and rule, under the axis label.
        let mut ly = y1 + AXIS_BAND + 4.0;
        for (j, s) in self.series.iter().enumerate() {
            let colour = COLOURS[s.colour % COLOURS.len()];
            let sample = match s.mark {
                Mark::Line => format!(
                    r#"<line x1="{x0}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"{}/>"#,
                    x0 + 24.0,
                    dashes[j]
                ),
                Mark::Dashed => format!(
                    r#"<line x1="{x0}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2" stroke-dasharray="6 4"/>"#,
                    x0 + 24.0
                ),
                Mark::Dots => format!(r#"<circle cx="{}" cy="{ly}" r="3.5" fill="{colour}"/>"#, x0 + 12.0),
            };
            let _ = writeln!(svg, "{sample}");
            // A point the axes cannot show (≤ 0 on a log axis, beyond the linear limit, not
            // finite) is left out, and the legend says how many.
            let drawn = s.points.iter().filter(|&&(x, y)| point(x, y).is_some()).count();
            let empty = match drawn {
                0 => " (nothing to draw)".to_string(),
                n if n < s.points.len() => format!(" ({} of {} points not drawn)", s.points.len() - n, s.points.len()),
                _ => String::new(),
            };
            let on =
                lies_on[j].map_or_else(String::new, |i| format!(" (dashed: on the line of {})", self.series[i].label));
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}">{}{}{empty}</text>"#,
                x0 + 32.0,
                ly + 4.0,
                escape(&s.label),
                escape(&on)
            );
            ly += LEGEND_ROW;
        }
        for rule in &self.rules {
            let _ = writeln!(
                svg,
                r##"<line x1="{x0}" y1="{ly}" x2="{}" y2="{ly}" stroke="#444" stroke-dasharray="2 3"/>"##,
                x0 + 24.0
            );
            let _ = writeln!(svg, r#"<text x="{}" y="{}">{}</text>"#, x0 + 32.0, ly + 4.0, escape(&rule.label));
            ly += LEGEND_ROW;
        }
        let _ = writeln!(svg, "</svg>");
        Some(svg)
    }
}

/// Whether two lines, as drawn (pixel coordinates, split at their gaps), lie on each other: the
/// same runs at the same x, within a pixel in y.
fn coincide(a: &[Vec<(f64, f64)>], b: &[Vec<(f64, f64)>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(ra, rb)| {
            ra.len() == rb.len()
                && ra.iter().zip(rb).all(|(&(xa, ya), &(xb, yb))| (xa - xb).abs() < 0.05 && (ya - yb).abs() <= 1.0)
        })
}

/// Splits a sequence at its gaps (`None`) into runs of consecutive drawable items.
fn runs<T>(items: impl Iterator<Item = Option<T>>) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = vec![Vec::new()];
    for item in items {
        match item {
            Some(v) => out.last_mut().expect("never empty").push(v),
            None if out.last().is_some_and(|r| !r.is_empty()) => out.push(Vec::new()),
            None => {}
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

/// Opens a figure's SVG of `height`: the canvas, a white background, and the title and subtitle
/// at `x0` (every figure kind starts so).
pub(super) fn frame(svg: &mut String, height: f64, x0: f64, title: &str, subtitle: &str) {
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(svg, r#"<text x="{x0}" y="20" font-size="15">{}</text>"#, escape(title));
    let _ = writeln!(svg, r#"<text x="{x0}" y="36" font-size="11">{}</text>"#, escape(subtitle));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(series: Vec<Series>) -> Figure {
        Figure {
            title: "t".into(),
            subtitle: "s".into(),
            x: Axis::linear("x"),
            y: Axis::linear("y"),
            series,
            rules: vec![Rule { y: 0.5, label: "plateau".into() }],
        }
    }

    #[test]
    fn nothing_to_draw_gives_no_figure() {
        let nan = Series::new("gone", Mark::Line, 0, vec![(1.0, f64::NAN), (2.0, f64::NEG_INFINITY)]);
        assert_eq!(figure(vec![nan]).svg(), None);
        assert_eq!(figure(vec![]).svg(), None);
        let log = Figure { y: Axis::log10("y"), ..figure(vec![Series::new("zeros", Mark::Dots, 0, vec![(1.0, 0.0)])]) };
        assert_eq!(log.svg(), None, "0 has no place on a log axis");
    }

    #[test]
    fn a_line_on_an_earlier_one_is_dashed_and_says_so() {
        let flat = |label: &str, colour, dy: f64| {
            Series::new(label, Mark::Line, colour, (0..5).map(|k| (f64::from(k), 1.0 + dy)).collect())
        };
        let rising = Series::new("rising", Mark::Line, 2, (0..5).map(|k| (f64::from(k), f64::from(k))).collect());
        // y spans 0..4 over the plot's height, so 1e-3 is far under a pixel.
        let svg = figure(vec![flat("baseline", 0, 0.0), rising.clone(), flat("decay", 1, 1e-3)]).svg().unwrap();
        assert_eq!(svg.matches(r#"stroke-dasharray="8 8""#).count(), 2, "the line and its legend sample: {svg}");
        assert!(svg.contains("decay (dashed: on the line of baseline)"), "{svg}");
        assert!(!svg.contains("rising (dashed"), "{svg}");
        // Half a unit apart is many pixels: both solid, no note.
        let svg = figure(vec![flat("baseline", 0, 0.0), rising, flat("decay", 1, 0.5)]).svg().unwrap();
        assert!(!svg.contains(r#"stroke-dasharray="8"#) && !svg.contains("dashed: on"), "{svg}");
        // Two on one: each its own slot of a 24-pixel period, so all three colours show.
        let svg = figure(vec![flat("baseline", 0, 0.0), flat("decay", 1, 0.0), flat("adamw", 2, 0.0)]).svg().unwrap();
        assert_eq!(svg.matches(r#"stroke-dasharray="8 16" stroke-dashoffset="16""#).count(), 2, "{svg}");
        assert_eq!(svg.matches(r#"stroke-dasharray="8 16" stroke-dashoffset="8""#).count(), 2, "{svg}");
        assert!(svg.contains("adamw (dashed: on the line of baseline)"), "{svg}");
    }

    #[test]
    fn gaps_split_lines_and_bands() {
        let s = Series::new("m", Mark::Line, 0, vec![(1.0, 1.0), (2.0, 2.0), (3.0, f64::NAN), (4.0, 1.0), (5.0, 3.0)])
            .with_band(vec![(1.0, 0.0, 2.0), (2.0, 1.0, 3.0)]);
        let svg = figure(vec![s]).svg().unwrap();
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("<polygon").count(), 1, "{svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn every_point_lies_inside_the_plot_area() {
        let s = Series::new("m", Mark::Dots, 1, vec![(-3.0, 1e-9), (0.0, 1e5), (7.5, 2.0)]);
        let f = Figure { y: Axis::log10("y"), ..figure(vec![s]) };
        let svg = f.svg().unwrap();
        for circle in svg.lines().filter(|l| l.starts_with("<circle") && l.contains(r#"r="3.5""#)) {
            let num = |key: &str| -> f64 {
                let rest = &circle[circle.find(key).unwrap() + key.len()..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            };
            let (cx, cy) = (num("cx=\""), num("cy=\""));
            if cy > TOP + PLOT_HEIGHT {
                continue; // the legend's sample dot
            }
            assert!((LEFT..=WIDTH - RIGHT).contains(&cx) && (TOP..=TOP + PLOT_HEIGHT).contains(&cy), "{circle}");
        }
        assert!(svg.contains(">−9</tspan>") || svg.contains(">−10</tspan>"), "{svg}");
    }

    #[test]
    fn values_beyond_the_linear_limit_are_left_out_not_drawn_at_nan() {
        // Differences of values near f64::MAX overflow: such values are not drawn, and the
        // extremes that are drawn (±LINEAR_LIMIT) still give finite ticks.
        let points = vec![(1.0, -f64::MAX), (2.0, LINEAR_LIMIT), (3.0, -LINEAR_LIMIT), (4.0, 1.7e308)];
        let svg = figure(vec![Series::new("m", Mark::Dots, 0, points)]).svg().unwrap();
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        let dots = svg.lines().filter(|l| l.starts_with("<circle")).count();
        assert_eq!(dots, 2 + 1, "two drawable points and the legend's sample:\n{svg}");
        assert!(svg.contains(">m (2 of 4 points not drawn)<"), "the legend says so:\n{svg}");
    }

    #[test]
    fn a_constant_series_far_from_zero_gets_an_axis() {
        let svg = figure(vec![Series::new("m", Mark::Line, 0, vec![(1.0, 1.38e18), (2.0, 1.38e18)])]).svg().unwrap();
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(svg.matches("stroke=\"#e0e0e0\"").count() >= 2, "grid lines at distinct ticks:\n{svg}");
    }

    #[test]
    fn log_ticks_past_f64s_range_are_labelled() {
        let s = Series::new("m", Mark::Dots, 0, vec![(1.0, 1e308), (2.0, f64::MAX)]);
        let svg = Figure { y: Axis::log10("y"), rules: vec![], ..figure(vec![s]) }.svg().unwrap();
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(svg.contains(">2.0e308<"), "a tick past f64::MAX:\n{svg}");
    }

    #[test]
    fn text_is_escaped() {
        let f = Figure {
            title: "a < b & c".into(),
            ..figure(vec![Series::new("x<y", Mark::Line, 0, vec![(0.0, 0.0), (1.0, 1.0)])])
        };
        let svg = f.svg().unwrap();
        assert!(svg.contains("a &lt; b &amp; c") && svg.contains("x&lt;y"), "{svg}");
    }
}
