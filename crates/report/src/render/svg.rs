//! SVG plots of the decay curves: one plot per activation, the median log10 |∂L/∂w| against
//! depth (log₂ axis) for each shortcut setting (and the live chains, where measured), with the
//! 10th–90th percentile band, and dashed the median backward factor log10 |∂L/∂a|. Hand-written
//! SVG: a few rectangles, polylines and labels need no plotting library. The only arithmetic
//! here is layout (data → pixel coordinates); data values reach the text through `numfmt`.

use crate::numfmt::sig;
use crate::sections::decay::{ChainSet, Decay, DecayConfig};
use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// The file name of the plot for `activation`.
pub fn decay_plot_name(activation: &str) -> String {
    format!("decay-{activation}.svg")
}

/// One SVG per activation of `decay`, as (file name, contents).
pub fn decay_plots(decay: &Decay) -> Vec<(String, String)> {
    let mut names: Vec<&str> = decay.configs.iter().map(|c| c.activation.as_str()).collect();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let configs: Vec<&DecayConfig> = decay.configs.iter().filter(|c| c.activation == name).collect();
            (decay_plot_name(name), plot(name, &configs, decay))
        })
        .collect()
}

fn plot(activation: &str, configs: &[&DecayConfig], decay: &Decay) -> String {
    // Finite values only: an exact-zero median (−∞) leaves a gap in its curve.
    let finite = configs
        .iter()
        .flat_map(|c| c.rows.iter())
        .flat_map(|r| [r.p10, r.p90, r.backward_median])
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo.is_finite() { (lo.floor().min(-1.0), hi.ceil().max(0.0)) } else { (-1.0, 0.0) };
    let x_max = (decay.max_depth as f64).log2().max(1.0);
    let px = |depth: usize| LEFT + (depth as f64).log2() / x_max * (WIDTH - LEFT - RIGHT);
    let py = |v: f64| TOP + (hi - v) / (hi - lo) * (HEIGHT - TOP - BOTTOM);

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="20" font-size="15">{activation}: median log10 |∂L/∂w| by depth below the output</text>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="34" font-size="11">{} chains of depth {}, N(0, 1) weights; bands: 10th–90th percentile; dashed: median log10 |∂L/∂a|</text>"#,
        decay.samples, decay.max_depth
    );
    // Axes, ticks and grid.
    let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
    let _ = writeln!(svg, r#"<path d="M{x0} {y0} V{y1} H{x1}" stroke="black" fill="none"/>"#);
    for &depth in &decay.depths {
        let x = px(depth);
        let _ = writeln!(svg, r#"<line x1="{x:.1}" y1="{y1}" x2="{x:.1}" y2="{}" stroke="black"/>"#, y1 + 4.0);
        let _ = writeln!(svg, r#"<text x="{x:.1}" y="{}" text-anchor="middle">{depth}</text>"#, y1 + 18.0);
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">depth k (layers below the output)</text>"#,
        (x0 + x1) / 2.0,
        HEIGHT - 10.0
    );
    let step = nice_step(hi - lo);
    for k in (lo / step).ceil() as i64..=(hi / step).floor() as i64 {
        let tick = k as f64 * step;
        let y = py(tick);
        let _ = writeln!(svg, r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#ddd"/>"##);
        let _ = writeln!(svg, r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#, x0 - 6.0, y + 4.0, sig(tick, 3));
    }
    let _ = writeln!(
        svg,
        r#"<text transform="translate(18 {}) rotate(-90)" text-anchor="middle">log10 |∂L/∂w|</text>"#,
        (y0 + y1) / 2.0
    );
    // One band and one curve per shortcut setting.
    for (i, c) in configs.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let band: Vec<(f64, f64, f64)> = c
            .rows
            .iter()
            .filter(|r| r.p10.is_finite() && r.p90.is_finite())
            .map(|r| (px(r.depth), py(r.p10), py(r.p90)))
            .collect();
        if band.len() >= 2 {
            let upper = band.iter().map(|(x, _, y)| format!("{x:.1},{y:.1}"));
            let lower = band.iter().rev().map(|(x, y, _)| format!("{x:.1},{y:.1}"));
            let points: Vec<String> = upper.chain(lower).collect();
            let _ = writeln!(
                svg,
                r#"<polygon points="{}" fill="{colour}" fill-opacity="0.15" stroke="none"/>"#,
                points.join(" ")
            );
        }
        let line: Vec<String> = c
            .rows
            .iter()
            .filter(|r| r.median.is_finite())
            .map(|r| format!("{:.1},{:.1}", px(r.depth), py(r.median)))
            .collect();
        if !line.is_empty() {
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                line.join(" ")
            );
        }
        let backward: Vec<String> = c
            .rows
            .iter()
            .filter(|r| r.backward_median.is_finite())
            .map(|r| format!("{:.1},{:.1}", px(r.depth), py(r.backward_median)))
            .collect();
        if backward.len() >= 2 {
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5" stroke-dasharray="5 3"/>"#,
                backward.join(" ")
            );
        }
        let mut label = c.shortcut.map_or_else(|| "no shortcut".to_string(), |s| format!("shortcut span {s}"));
        if c.chains == ChainSet::Live {
            label.push_str(", live");
        }
        let ly = TOP + 20.0 + 20.0 * i as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"/>"#,
            x1 + 10.0,
            x1 + 30.0
        );
        let note = if line.is_empty() { " (median exactly 0)" } else { "" };
        let _ = writeln!(svg, r#"<text x="{}" y="{}">{label}{note}</text>"#, x1 + 35.0, ly + 4.0);
    }
    let _ = writeln!(svg, "</svg>");
    svg
}

/// A tick step of 1, 2, 5 × 10^k giving at most about 8 ticks over `range`.
fn nice_step(range: f64) -> f64 {
    let raw = (range / 8.0).max(1e-9);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&s| s >= raw).unwrap_or(10.0 * magnitude)
}
