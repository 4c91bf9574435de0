//! Section 5's shortcuts as Markdown: the gradient reaching layer 1 in deep ReLU and sigmoid
//! networks with and without shortcuts, and the growth of residual blocks against its prediction.

use super::svg::{ShortcutNetwork, shortcuts_figure};
use crate::numfmt::{log10, sig};
use crate::sections::shortcuts::{self, Form, GradientRow, GrowthRow, Shortcuts};
use std::fmt::Write;

/// A row's shortcut in words.
fn form(row: &GradientRow, blocks: usize) -> String {
    let scaled = if row.alpha == 1.0 {
        String::new()
    } else {
        format!(", joined layers' W scaled by {} = 1/√{blocks}", sig(row.alpha, 3))
    };
    match row.form {
        Form::None => "none".into(),
        Form::PreActivation => {
            format!("span {}, pre-activation: a_m = f(W·a_(m−1) + a_(m−2)){scaled}", shortcuts::SPAN)
        }
        Form::Identity => format!("span {}, identity: a_m = a_(m−2) + f(W·a_(m−1)){scaled}", shortcuts::SPAN),
    }
}

fn gradient_rows(out: &mut String, network: &str, rows: &[GradientRow], blocks: usize) {
    for r in rows {
        let (lo, hi) = (r.log10_ratio[0], r.log10_ratio[r.log10_ratio.len() - 1]);
        let _ = writeln!(
            out,
            "| {network} | {} | {} | {} to {} | {} |",
            form(r, blocks),
            log10(r.median, 2),
            log10(lo, 2),
            log10(hi, 2),
            log10(r.median_at_span, 2)
        );
    }
}

fn growth_name(g: &GrowthRow) -> String {
    let branch = if g.alpha == 1.0 { "unscaled".to_string() } else { format!("scaled by α = {}", sig(g.alpha, 3)) };
    format!("{branch}, linear layer N(0, {}/n)", sig(g.gain, 1))
}

/// `network`'s figure: linked when the figures are written to `plots`, or why there is none.
fn figure(out: &mut String, s: &Shortcuts, network: ShortcutNetwork, plots: Option<&str>) {
    let Some(dir) = plots else { return };
    if shortcuts_figure(s, network).has_data() {
        let _ = writeln!(out, "![{}]({dir}/{})\n", network.title(), network.file_name());
    } else {
        let _ = writeln!(out, "No figure for these networks: no gradient ratio was finite.\n");
    }
}

/// Renders the subsection (after section 5's table); `plots` is the folder of the figures, if
/// they were written.
pub(super) fn shortcuts(out: &mut String, s: &Shortcuts, plots: Option<&str>) {
    let (relu, sigmoid) = (&s.relu, &s.sigmoid);
    let _ = writeln!(out, "### 5.1. Shortcuts, shown working\n");
    let _ = writeln!(
        out,
        "Controlled experiments: in each table every row has the same weights, inputs and probe per seed; only the shortcut changes. \
         Each network is differentiated under the linear loss L = Σ p·y with a Gaussian probe p (a unit-size gradient at the output, \
         whatever the network computes), {} seeds per row, batches of {}, no biases. \
         The measure is log10 ‖∂L/∂a_1‖ ÷ ‖∂L/∂a_L‖: how much of the output's gradient reaches the first layer's output \
         (0: all of it; −9: a billionth).\n",
        shortcuts::NETWORKS,
        shortcuts::BATCH
    );
    let _ = writeln!(
        out,
        "| network | shortcut | log10 gradient ratio, layer 1 ÷ layer L (median) | smallest to largest over the seeds | layer {} ÷ layer L (median) |",
        shortcuts::SPAN
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|");
    let relu_name = format!("ReLU, {} layers of {}, He N(0, 2/n)", shortcuts::RELU_DEPTH, shortcuts::RELU_WIDTH);
    let sigmoid_name =
        format!("sigmoid, {} layers of {}, N(0, 1/n)", shortcuts::SIGMOID_DEPTH, shortcuts::SIGMOID_WIDTH);
    gradient_rows(out, &relu_name, relu, s.relu_blocks);
    gradient_rows(out, &sigmoid_name, sigmoid, s.sigmoid_blocks);
    out.push('\n');
    if plots.is_none() {
        let _ = writeln!(
            out,
            "This ratio at every layer, and the residual blocks' growth block by block below, are drawn with `--plots DIR` \
             (the numbers per layer and per block are in `--format json`).\n"
        );
    }
    let (lo, hi) = (relu[0].log10_ratio[0], relu[0].log10_ratio[relu[0].log10_ratio.len() - 1]);
    let _ = writeln!(
        out,
        "**ReLU.** At width {} He initialisation already keeps a dense ReLU network's gradient from vanishing: without a shortcut the seeds range from {} to {} \
         ({} decades). The article's block (the sum, then the ReLU) unscaled makes the first layer's gradient {} decades larger than the last one's (median): \
         each block adds its branch to what it skips, so signal and gradient grow with depth (the residual blocks below measure that growth in the forward signal of a different block, \
         a_m = a_(m−2) + α·W_m·relu(W_(m−1)·a_(m−2)), the sum after the branch's linear layer). \
         With the joined layers' W scaled by 1/√{} (one over the root of the number of blocks) that growth is gone (median {}) and the seeds spread over {} decades, \
         fewer than without a shortcut: the shortcut carries the gradient, the scaling keeps it from growing.\n",
        shortcuts::RELU_WIDTH,
        log10(lo, 2),
        log10(hi, 2),
        sig(relu[0].spread, 2),
        sig(relu[1].median, 2),
        s.relu_blocks,
        log10(relu[2].median, 2),
        sig(relu[2].spread, 2),
    );
    figure(out, s, ShortcutNetwork::Relu, plots);
    let joins = s.sigmoid_joins;
    let _ = writeln!(
        out,
        "**Sigmoid.** Without a shortcut every layer multiplies the gradient by σ′ ≤ 1/4 (median {}). The pre-activation shortcut adds a_(m−2) before σ, \
         so a gradient taking the shortcut at each of the {joins} joins between layer {} and layer {} (one of the paths of many lengths that a network with shortcuts sums over, Veit et al. 2016) still meets σ′ ≤ 1/4 at every one: at most 10^{} — \
         measured {} at layer {}: it helps, but cannot stop the decay. The identity shortcut adds a_(m−2) after σ, so ∂a_m/∂a_(m−2) = I: \
         the gradient reaches layer {} undiminished ({}), and layer 1, which is not on the shortcut's path, gets ∂L/∂a_2 through one σ′·W_2 — \
         about 1/4 of it (the median over the seeds of each network's step from layer 2 to layer 1, {}, against log10(1/4) = {}; \
         the table's columns are medians taken layer by layer, whose difference need not be that median). With f = identity the two forms are one network (f(z) + a = f(z + a)): the difference is f′'s. \
         Derivations: `docs/derivation.md` §14.\n",
        log10(sigmoid[0].median, 2),
        shortcuts::SIGMOID_DEPTH,
        shortcuts::SPAN,
        log10(s.sigmoid_path_bound, 2),
        log10(sigmoid[1].median_at_span, 2),
        shortcuts::SPAN,
        shortcuts::SPAN,
        log10(sigmoid[2].median_at_span, 2),
        log10(sigmoid[2].median_first_to_span, 2),
        log10(s.log10_quarter, 2),
    );
    figure(out, s, ShortcutNetwork::Sigmoid, plots);
    let _ = writeln!(
        out,
        "**Residual blocks grow.** {} residual blocks (He et al. 2016) a_m = a_(m−2) + α·W_m·relu(W_(m−1)·a_(m−2)) of width {} (identity skip; the branch's ReLU layer He, \
         its linear layer N(0, g/n)), {} networks per row, batches of {}. Given a_(m−2), E‖a_m‖² = (1 + g·α²)·‖a_(m−2)‖² exactly \
         (`docs/derivation.md` §14): unscaled (α = 1, g = 1) the squared norm doubles per block; with α = 1/√(blocks) it grows by (1 + 1/B)^B < e in all. \
         For ReLU, scaling the branch by α is scaling its ReLU layer's W and b by α (relu(α·z) = α·relu(z) for α > 0), which is how it is done here. \
         g = 2 (He for the linear layer too) is the control: 3 per block. Measured: the mean over the networks of ‖a_B‖² ÷ ‖a_0‖², ± one standard error.\n",
        shortcuts::BLOCKS,
        shortcuts::GROWTH_WIDTH,
        shortcuts::GROWTH_NETWORKS,
        shortcuts::BATCH
    );
    let _ = writeln!(
        out,
        "| branch | predicted factor per block | measured factor per block | predicted ‖a_B‖² ÷ ‖a_0‖² | measured ‖a_B‖² ÷ ‖a_0‖² |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for g in &s.growth {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} ± {} |",
            growth_name(g),
            sig(g.predicted_factor, 5),
            sig(g.measured_factor, 5),
            sig(g.predicted_growth, 5),
            sig(g.measured_growth, 5),
            sig(g.standard_error, 2)
        );
    }
    out.push('\n');
    if let Some(dir) = plots {
        if super::svg::growth_figure(s).has_data() {
            let _ = writeln!(out, "![{}]({dir}/{})\n", super::svg::GROWTH_TITLE, super::svg::GROWTH_PLOT);
        } else {
            let _ = writeln!(out, "No growth figure: no network's growth was finite and positive.\n");
        }
    }
}
