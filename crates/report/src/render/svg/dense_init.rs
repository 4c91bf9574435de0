//! Section 3's figures: χ₁ against σ_w², and the per-layer backward signal.

use super::super::figure::{Axis, Figure, Mark, Rule, Series};
use crate::sections::dense_init::{DenseInit, measured_hidden_factor};

/// The file name of section 3's χ₁ figure.
pub const CHI_PLOT: &str = "dense-chi.svg";

/// The file name of section 3's per-layer figure for `activation`.
pub fn dense_layers_plot_name(activation: &str) -> String {
    format!("dense-layers-{activation}.svg")
}

/// The activations of section 3, in order.
pub(in crate::render) fn dense_activations(d: &DenseInit) -> Vec<&str> {
    let mut names: Vec<&str> = d.configs.iter().map(|c| c.activation.as_str()).collect();
    names.dedup();
    names
}

/// Section 3's figures that have something to draw.
pub fn dense_init_plots(d: &DenseInit) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> =
        chi_figure(d).svg().map(|svg| (CHI_PLOT.to_string(), svg)).into_iter().collect();
    for a in dense_activations(d) {
        if let Some(svg) = dense_layers_figure(d, a).svg() {
            all.push((dense_layers_plot_name(a), svg));
        }
    }
    all
}

/// χ₁ against σ_w²: mean field's curve per activation, its prediction for networks of this depth
/// (dashed), and each row's measured per-layer factor.
pub fn chi_figure(d: &DenseInit) -> Figure {
    let series = d
        .chi_curves
        .iter()
        .enumerate()
        .flat_map(|(i, curve)| {
            let measured = d
                .configs
                .iter()
                .filter(|c| c.activation == curve.activation)
                .filter_map(|c| Some((c.sigma_w2, measured_hidden_factor(c)?)))
                .collect();
            let a = &curve.activation;
            [
                Series::new(format!("{a}: χ₁ = χ(q*)"), Mark::Line, i, curve.chi_1.clone()),
                Series::new(format!("{a}: mean field at depth {}", d.depth), Mark::Dashed, i, curve.at_depth.clone()),
                Series::new(format!("{a}: measured, one dot per scheme"), Mark::Dots, i, measured),
            ]
        })
        .collect();
    Figure {
        title: "χ₁ against σ_w²: where the gradient vanishes, explodes or holds".to_string(),
        subtitle: format!(
            "per-layer factor of mean ‖∂L/∂a‖², probe seed, layers {} → 1; {} networks of width {} per dot",
            d.depth - 1,
            d.nets,
            d.width
        ),
        x: Axis::log10("σ_w² = width·Var(w)"),
        y: Axis::log10("per-layer factor of ‖∂L/∂a‖²"),
        series,
        rules: vec![Rule { y: 1.0, label: "critical".to_string() }],
    }
}

/// Per layer, log10 mean ‖∂L/∂a_l‖² under squared error (± 2 standard errors) against its
/// prediction (the corrected one where a row has it), one colour per scheme.
pub fn dense_layers_figure(d: &DenseInit, activation: &str) -> Figure {
    let series = d
        .configs
        .iter()
        .filter(|c| c.activation == activation)
        .enumerate()
        .flat_map(|(i, c)| {
            let layer = |l: usize| (l + 1) as f64;
            let measured = c.activation_grad.iter().enumerate().map(|(l, e)| (layer(l), e.log10_mean)).collect();
            let band = c
                .activation_grad
                .iter()
                .enumerate()
                .map(|(l, e)| (layer(l), e.log10_mean - 2.0 * e.se, e.log10_mean + 2.0 * e.se))
                .collect();
            let (prediction, which) = match &c.corrected {
                Some(p) => (p, "corrected prediction"),
                None => (&c.predicted, "mean field"),
            };
            let predicted = prediction.iter().enumerate().map(|(l, &p)| (layer(l), p)).collect();
            [
                Series::new(format!("{}: measured", c.init), Mark::Line, i, measured).with_band(band),
                Series::new(format!("{}: {which}", c.init), Mark::Dashed, i, predicted),
            ]
        })
        .collect();
    Figure {
        title: format!("{activation}: log10 ‖∂L/∂a_l‖² per layer, squared error"),
        subtitle: format!(
            "mean over {} networks, band ± 2 standard errors; dashed: the prediction, anchored at the top layer {}",
            d.nets, d.depth
        ),
        x: Axis::linear("layer l"),
        y: Axis::linear("log10 ‖∂L/∂a_l‖²"),
        series,
        rules: Vec::new(),
    }
}
