//! The report's figures, as (file name, SVG) pairs, each drawn by [`super::figure`]:
//! - section 1: the worked chain's |∂L/∂w_d| at each layer beside the article's bound, on a log
//!   axis (`worked.rs`);
//! - section 2: one per activation, the median log10 |∂L/∂w| against depth (a linear axis: a
//!   constant rate per layer is a straight line) for each shortcut setting, with the 10th–90th
//!   percentile band and the backward factor dashed; and the share of width-1 ReLU chains alive
//!   at every layer against the depth D, beside 2^−D with ± 2 binomial standard errors, on a log
//!   axis (`survival.rs`);
//! - section 3: χ₁ against σ_w² with the measured networks on mean field's curve, and per
//!   activation the per-layer ‖∂L/∂a_l‖² against its prediction; the sigmoid's per-layer factor
//!   around its critical σ_w², measured beside mean field; through a few hundred layers on and
//!   off the critical line, the backward and forward lengths and the decorrelation of two inputs
//!   (median and band beside mean field, log–log), ReLU's log-length drift against β, and ξ_c
//!   against σ_w² (`critical_depth.rs`); the variance of the input–output Jacobian's squared
//!   singular values against depth, per activation and weight distribution, beside Pennington
//!   et al.'s wide-network prediction (`isometry.rs`);
//! - section 4: per format, the depth at which the forward pass and the weight gradients first
//!   leave the format's range, against the gain, measured (median, p10–p90 band) beside the
//!   predictions;
//! - section 5: per problem and optimizer (the vanishing network under Adam, under momentum SGD,
//!   the exploding network), every row's training loss against the step — the median over the
//!   seeds with their range as a band — with the constant predictor's loss H(p) drawn
//!   (`remedies.rs`);
//! - section 5.1: per network kind (ReLU, sigmoid), log10 ‖∂L/∂a_l‖ ÷ ‖∂L/∂a_L‖ at every layer for
//!   each shortcut form (median and range over the networks), and the residual blocks'
//!   ‖a_m‖² ÷ ‖a_0‖² block by block against (1 + g·α²)^m (`shortcuts.rs`);
//! - section 6: per task, the median training loss of every network against the epoch, with the
//!   constant predictor's plateau and the success threshold drawn;
//! - section 7: per symptom, the runs showing it as shares that succeeded, failed or were not
//!   trained — horizontal stacked bars ([`super::figure::BarChart`], `symptoms.rs`).
//!
//! A figure with nothing to draw is not written; the Markdown says so in its place.
mod classic;
pub mod critical_depth;
mod criticality;
mod decay;
mod dense_init;
mod exploding;
mod isometry;
mod remedies;
mod shortcuts;
mod survival;
mod symptoms;
mod worked;

pub(super) use classic::classic_tasks;
pub use classic::{classic_figure, classic_plot_name, classic_plots};
pub use criticality::{SIGMOID_CRITICAL_PLOT, sigmoid_critical_figure};
pub use decay::{decay_figure, decay_plot_name, decay_plots};
pub(super) use dense_init::dense_activations;
pub use dense_init::{CHI_PLOT, chi_figure, dense_init_plots, dense_layers_figure, dense_layers_plot_name};
pub use exploding::{OVERFLOW_PLOT, overflow_figure};
pub use isometry::{ISOMETRY_PLOT, isometry_figure};
pub use remedies::{RemediesPanel, remedies_figure, remedies_plots};
pub use shortcuts::{GROWTH_PLOT, GROWTH_TITLE, ShortcutNetwork, growth_figure, shortcuts_figure, shortcuts_plots};
pub use survival::{SURVIVAL_PLOT, SURVIVAL_TITLE, survival_figure};
pub use symptoms::{SYMPTOMS_PLOT, SYMPTOMS_TITLE, symptoms_figure};
pub use worked::{WORKED_PLOT, WORKED_TITLE, worked_figure};

use crate::sections::Report;

/// Every figure of the report that has something to draw, as (file name, contents).
pub fn figures(report: &Report) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> =
        worked_figure(&report.worked).svg().map(|svg| (WORKED_PLOT.to_string(), svg)).into_iter().collect();
    all.extend(decay_plots(&report.decay));
    all.extend(survival_figure(&report.decay.survival).svg().map(|svg| (SURVIVAL_PLOT.to_string(), svg)));
    all.extend(dense_init_plots(&report.dense_init));
    all.extend(
        sigmoid_critical_figure(&report.dense_init.sigmoid_critical)
            .svg()
            .map(|svg| (SIGMOID_CRITICAL_PLOT.to_string(), svg)),
    );
    let depth = &report.dense_init.critical_depth;
    for (name, figure) in [
        (critical_depth::DEPTH_BACKWARD_PLOT, critical_depth::depth_backward_figure(depth)),
        (critical_depth::DEPTH_FORWARD_PLOT, critical_depth::depth_forward_figure(depth)),
        (critical_depth::CORRELATION_PLOT, critical_depth::correlation_figure(depth)),
        (critical_depth::XI_PLOT, critical_depth::xi_figure(depth)),
        (critical_depth::HANIN_PLOT, critical_depth::hanin_figure(depth)),
    ] {
        all.extend(figure.svg().map(|svg| (name.to_string(), svg)));
    }
    all.extend(isometry_figure(&report.isometry).svg().map(|svg| (ISOMETRY_PLOT.to_string(), svg)));
    all.extend(overflow_figure(&report.exploding.spread).svg().map(|svg| (OVERFLOW_PLOT.to_string(), svg)));
    all.extend(remedies_plots(&report.remedies));
    all.extend(shortcuts_plots(&report.shortcuts));
    all.extend(classic_plots(&report.classic));
    all.extend(symptoms_figure(&report.symptoms).svg().map(|svg| (SYMPTOMS_PLOT.to_string(), svg)));
    all
}
