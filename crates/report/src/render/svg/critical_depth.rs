//! Section 3's criticality with depth: per layer, the backward and forward lengths and the
//! decorrelation of two inputs, measured (median, 10th–90th percentile band) beside mean field,
//! on log–log axes (a power law is a straight line there, an exponential bends down); ReLU's
//! log-length drift against Hanin's β; ξ_c against σ_w².

use super::super::figure::{Axis, Figure, Mark, Rule, Series};
use crate::numfmt::sig;
use crate::sections::correlation;
use crate::sections::critical_depth::{CriticalDepth, DepthLayer, DepthRun, Regime, Spread};

/// The backward figure's file.
pub const DEPTH_BACKWARD_PLOT: &str = "depth-backward.svg";
/// The forward figure's file.
pub const DEPTH_FORWARD_PLOT: &str = "depth-forward.svg";
/// The decorrelation figure's file.
pub const CORRELATION_PLOT: &str = "correlation-depth.svg";
/// The log-length drift figure's file.
pub const HANIN_PLOT: &str = "relu-log-length.svg";
/// The ξ_c figure's file.
pub const XI_PLOT: &str = "xi-c.svg";

/// A run's name in a legend.
pub fn run_label(r: &DepthRun) -> String {
    let place = match r.regime {
        Regime::CriticalPoint => "critical point",
        Regime::CriticalLine => "critical line",
        Regime::Ordered => "ordered",
        Regime::He => "He, critical",
    };
    format!("{} σ_w² = {}, σ_b² = {} ({place})", r.activation, sig(r.sigma_w2, 3), sig(r.sigma_b2, 2))
}

/// One measured series (median, band) and its mean-field curve per run in `runs`.
fn per_layer(
    runs: &[&DepthRun],
    theory: fn(&DepthLayer) -> f64,
    measured: fn(&DepthLayer) -> Spread,
    keep: impl Fn(&DepthLayer) -> bool,
) -> Vec<Series> {
    runs.iter()
        .enumerate()
        .flat_map(|(i, r)| {
            let layers: Vec<&DepthLayer> = r.layers.iter().filter(|d| keep(d)).collect();
            let x = |d: &DepthLayer| d.layer as f64;
            let m: Vec<(f64, f64)> = layers.iter().map(|d| (x(d), measured(d).median)).collect();
            let band = layers.iter().map(|d| (x(d), measured(d).p10, measured(d).p90)).collect();
            let t = layers.iter().map(|d| (x(d), theory(d))).collect();
            [
                Series::new(format!("{}: median", run_label(r)), Mark::Line, i, m).with_band(band),
                Series::new("mean field", Mark::Dashed, i, t),
            ]
        })
        .collect()
}

/// ‖∂L/∂a_l‖² ÷ ‖∂L/∂a_{D−1}‖² per layer.
pub fn depth_backward_figure(d: &CriticalDepth) -> Figure {
    let runs: Vec<&DepthRun> = d.runs.iter().collect();
    Figure {
        title: "‖∂L/∂a_l‖² ÷ ‖∂L/∂a_(D−1)‖² through depth, on and off the critical line".to_string(),
        subtitle: format!(
            "{} networks of depth {}, width {}, probe seed; median and 10th–90th percentiles, mean field dashed",
            d.nets, d.depth, d.width
        ),
        x: Axis::log10("layer l"),
        y: Axis::log10("‖∂L/∂a_l‖² ÷ ‖∂L/∂a_(D−1)‖²"),
        series: per_layer(&runs, |l| l.backward_theory, |l| l.backward, |_| true),
        rules: vec![Rule { y: 1.0, label: "kept".to_string() }],
    }
}

/// ‖a_l‖²/n per layer.
pub fn depth_forward_figure(d: &CriticalDepth) -> Figure {
    let runs: Vec<&DepthRun> = d.runs.iter().collect();
    Figure {
        title: "the forward length ‖a_l‖²/n through depth".to_string(),
        subtitle: format!(
            "{} networks of depth {}, width {}; median and 10th–90th percentiles, mean field dashed",
            d.nets, d.depth, d.width
        ),
        x: Axis::log10("layer l"),
        y: Axis::log10("‖a_l‖²/n"),
        series: per_layer(&runs, |l| l.forward_theory, |l| l.forward, |_| true),
        rules: Vec::new(),
    }
}

/// 1 − c_{l+1} per layer for the runs with a finite or infinite ξ_c (σ_b > 0, or ReLU under He),
/// with ReLU's asymptote 9π²/(2l²).
pub fn correlation_figure(d: &CriticalDepth) -> Figure {
    let runs: Vec<&DepthRun> =
        d.runs.iter().filter(|r| r.regime == Regime::He || (r.sigma_b2 > 0.0 && r.q_star.is_some())).collect();
    // Below 1e−12 the mean-field values are the linearised map's and the measured ones near
    // rounding: not drawn.
    let mut series = per_layer(
        &runs,
        |l| l.decorrelation_theory,
        |l| l.decorrelation,
        |l| l.decorrelation_theory > 1e-12 && l.decorrelation.median > 1e-12,
    );
    if d.runs.iter().any(|r| r.regime == Regime::He) {
        let points = (1..d.depth).map(|l| (l as f64, correlation::relu_power_law(l as f64))).collect();
        series.push(Series::new("ReLU's asymptote 9π²/(2l²)", Mark::Dashed, 9, points));
    }
    Figure {
        title: "1 − c: how fast two inputs become one, through depth".to_string(),
        subtitle: format!(
            "input correlation 0.5; {} networks of width {}; median and 10th–90th percentiles, mean field dashed",
            d.nets, d.width
        ),
        x: Axis::log10("layer l"),
        y: Axis::log10("1 − c_(l+1)"),
        series,
        rules: Vec::new(),
    }
}

/// ReLU under He: mean and variance of ln(‖a_l‖²/‖x‖²) over networks against β = l/n.
pub fn hanin_figure(d: &CriticalDepth) -> Figure {
    let Some(h) = &d.hanin else {
        return Figure {
            title: "ReLU under He: ln(‖a_l‖²/‖x‖²) against β".to_string(),
            subtitle: String::new(),
            x: Axis::linear("β"),
            y: Axis::linear("nats"),
            series: Vec::new(),
            rules: Vec::new(),
        };
    };
    let pts = |f: fn(&crate::sections::critical_depth::HaninRow) -> f64| -> Vec<(f64, f64)> {
        h.rows.iter().map(|r| (r.beta, f(r))).collect()
    };
    Figure {
        title: "ReLU under He: the typical network drifts below the preserved mean".to_string(),
        subtitle: format!(
            "ln(‖a_l‖²/‖x‖²) over {} networks of width {}; exact law dashed, large-width 5β and −5β/2 thin",
            d.nets, d.width
        ),
        x: Axis::linear("β = l/n"),
        y: Axis::linear("nats"),
        series: vec![
            Series::new("variance, measured (± 2 SE)", Mark::Dots, 0, pts(|r| r.var))
                .with_band(h.rows.iter().map(|r| (r.beta, r.var - 2.0 * r.var_se, r.var + 2.0 * r.var_se)).collect()),
            Series::new("variance, exact", Mark::Dashed, 0, pts(|r| r.exact_var)),
            Series::new("5β", Mark::Line, 2, pts(|r| 5.0 * r.beta)),
            Series::new("mean, measured", Mark::Dots, 1, pts(|r| r.mean)),
            Series::new("mean, exact", Mark::Dashed, 1, pts(|r| r.exact_mean)),
            Series::new("−5β/2", Mark::Line, 3, pts(|r| -2.5 * r.beta)),
        ],
        rules: vec![Rule { y: 0.0, label: "ln of the preserved mean".to_string() }],
    }
}

/// ξ_c = −1/ln χ₁ against σ_w² (tanh, σ_b² = 0.05), with the measured ξ_c of the ordered runs.
pub fn xi_figure(d: &CriticalDepth) -> Figure {
    let measured = d
        .runs
        .iter()
        .filter(|r| r.regime == Regime::Ordered && r.sigma_b2 > 0.0)
        .filter_map(|r| Some((r.sigma_w2, r.xi_measured?)))
        .collect();
    Figure {
        title: "the correlation depth scale ξ_c, tanh with σ_b² = 0.05".to_string(),
        subtitle: format!(
            "mean field −1/ln χ₁ (ordered phase), diverging at the critical σ_w² = {}; measured: fit to the mean 1 − c over {} networks",
            d.tanh_critical.map_or_else(|| "—".into(), |s| sig(s, 4)),
            d.nets
        ),
        x: Axis::linear("σ_w²"),
        y: Axis::log10("ξ_c (layers)"),
        series: vec![
            Series::new("mean field", Mark::Line, 0, d.xi_curve.clone()),
            Series::new("measured", Mark::Dots, 1, measured),
        ],
        rules: Vec::new(),
    }
}
