//! Section 3's sigmoid critical line and the scope note on normalisation, as Markdown (data:
//! [`crate::sections::criticality`]).

use crate::numfmt::{log10, sig};
use crate::sections::criticality::SigmoidCritical;
use crate::sections::dense_init::InitConfig;
use std::fmt::Write;

/// Appends the sigmoid's critical line: theory, where the dense table's sigmoid rows (`configs`)
/// sit against it, the measured rows, and its figure if `plots`.
pub fn sigmoid_critical(out: &mut String, s: &SigmoidCritical, configs: &[InitConfig], plots: Option<&str>) {
    let _ = writeln!(out, "### The sigmoid's critical line\n");
    let Some(critical) = s.sigma_w2 else {
        let _ = writeln!(
            out,
            "Mean field finds no σ_w² in the searched range at which the bias-free sigmoid's χ₁ reaches 1.\n"
        );
        return;
    };
    let _ = writeln!(
        out,
        "σ′ ≤ 1/4 caps χ(q) = σ_w²·E[σ′(√q·z)²] at σ_w²/16, not at 1: a dense layer also multiplies by σ_w². \
         With σ_b = 0 the sigmoid's outputs are positive, so q* is large (here {}), and its mean squared slope small (≈ 1/(6√(2πq*)) for large q*); \
         χ₁ then grows like √σ_w² and reaches 1 at σ_w² = {} (quadrature; the large-q estimate 36π = {}). \
         {} \
         {} networks of {} bias-free sigmoid layers of width {} (the top linear), the same draws scaled to each σ_w², under the probe seed: \
         the per-layer factor of mean ‖∂L/∂a_l‖² from layer {} down to 1, measured (± its standard error over networks, from the per-network log ratios) against mean field's for this depth.\n",
        s.q_star.map_or_else(|| "—".into(), |q| sig(q, 3)),
        sig(critical, 4),
        sig(s.asymptotic, 4),
        sides(configs, critical),
        s.nets,
        s.depth,
        s.width,
        s.depth - 1
    );
    let _ = writeln!(
        out,
        "| σ_w² | σ_w² / critical | χ₁ | per-layer factor, mean field at this depth | measured | log10 measured ± SE | networks |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|");
    for r in &s.rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} ± {} | {} |",
            sig(r.sigma_w2, 4),
            sig(r.multiple, 3),
            sig(r.chi_1, 4),
            sig(r.predicted, 4),
            sig(r.measured, 4),
            log10(r.log10_measured, 3),
            log10(r.se, 3),
            r.networks
        );
    }
    out.push('\n');
    match s.measured_critical {
        Some(m) => {
            let _ = writeln!(
                out,
                "The measured factor crosses 1 at σ_w² ≈ {} (interpolated between the rows that straddle it), against mean field's {}.\n",
                sig(m, 3),
                sig(critical, 4)
            );
        }
        None => {
            let _ = writeln!(out, "No two consecutive rows' measured factors straddle 1.\n");
        }
    }
    if let Some(dir) = plots {
        let _ = writeln!(
            out,
            "![The sigmoid's per-layer gradient factor against σ_w², measured and mean field]({dir}/{})\n",
            super::svg::SIGMOID_CRITICAL_PLOT
        );
    }
}

/// Which of the dense table's sigmoid rows sit below the critical σ_w² and which above, with
/// their phase (χ₁ decides it, so a row below the line is vanishing and one above exploding).
fn sides(configs: &[InitConfig], critical: f64) -> String {
    let rows: Vec<&InitConfig> = configs.iter().filter(|c| c.activation == "sigmoid").collect();
    let side = |below: bool| -> Vec<String> {
        rows.iter()
            .filter(|c| (c.sigma_w2 < critical) == below)
            .map(|c| format!("{} (σ_w² = {}, χ₁ = {}, {})", c.init, sig(c.sigma_w2, 3), sig(c.chi_1, 4), c.phase))
            .collect()
    };
    let (below, above) = (side(true), side(false));
    let mut parts = Vec::new();
    if !below.is_empty() {
        parts.push(format!("below it: {}", below.join(", ")));
    }
    if !above.is_empty() {
        parts.push(format!("above it: {}", above.join(", ")));
    }
    if parts.is_empty() {
        return String::new();
    }
    format!("Of the table above's sigmoid rows, {}.", parts.join("; "))
}

/// The scope note: what the report covers of batch normalisation, and what it does not.
pub fn normalisation_scope(out: &mut String) {
    let _ = writeln!(out, "### Normalisation: what this report does not cover\n");
    let _ = writeln!(
        out,
        "Batch normalisation is the remedy practice reaches for first, and it is out of this report's scope: the engines have no batch normalisation \
         layer (the oracle's layer normalisation serves `grad` and `check`, not these sweeps), so nothing here measures it. What the report does cover is the quantity batch norm acts on — the forward signal ‖a_l‖² and its fixed point q*, \
         which batch norm resets to 1 at every layer — and the backward factor χ, which it does not reset. Yang et al. (2019) show that, at initialisation, \
         a deep fully-connected network with batch norm and no skips has gradients that explode with depth whatever the activation's slope (the rescaling \
         itself contributes a factor above 1 per layer); that claim is cited, not measured here. The layer and its measurement are later work.\n"
    );
}
