//! Section 2 as Markdown: the slopes and what they mean, survival of ReLU chains, the formats'
//! columns, and one table per configuration.

use super::Detail;
use crate::numfmt::{log10, percent, sci, sig};
use crate::sections::decay::{
    AGREEMENT_STANDARD_ERRORS, Basis, ChainSet, Collapse, Decay, DecayConfig, Fit, IDENTITY_SKIP_ACTIVATION, LossScale,
    SkipForm, Underflow,
};
use scalar::FloatFormat;
use std::fmt::Write;

/// Renders section 2; `plots` is the folder of the SVG plots, if they were written; the per-depth
/// tables only with [`Detail::Full`].
pub(super) fn decay(out: &mut String, d: &Decay, plots: Option<&str>, detail: Detail) {
    let _ = writeln!(out, "## 2. Decay per depth\n");
    let _ = writeln!(
        out,
        "{} single-neuron chains of depth D = {} per configuration (this section's own sample count), \
         weights w ~ N(0, 1), input x ~ N(0, 1), target ŷ ~ U(0, 1), no biases. \
         Depth k is the layer k layers below the output (k = 1 is the output layer, k = D the input layer). \
         Gradients are exact in the log domain (no underflow): a log10 of −∞ means the value is exactly 0 (a dead ReLU path), \
         not that it underflowed. Percentiles are nearest-rank over the chains.\n",
        d.samples, d.max_depth
    );
    let _ = writeln!(
        out,
        "**One sign convention.** Every slope in this section is the least-squares slope of a median log10 magnitude against k \
         over the reported depths, in decades per layer: negative means the quantity shrinks towards the input (vanishing), \
         positive that it grows. ± is the standard deviation of the slope over {} bootstrap resamples of the chains.\n",
        d.bootstrap_resamples
    );
    let _ = writeln!(
        out,
        "**What the weight gradient mixes.** ∂L/∂w_d = f′(z_d)·∂L/∂a_d·u_d: the backward factor ∂L/∂a_d (the gradient with respect to \
         the layer's output: what the backward pass has made of the seed 2(y − ŷ) by layer d) times the forward signal u_d entering the layer. \
         Where the forward signal dies on its way to the output, u_d grows with k and hides the backward decay, so the table shows the \
         backward factor's slope beside the weight gradient's, and where the forward signal has collapsed: a chain's forward signal has \
         collapsed from layer c on when |u_j| < 2^{} (f16's smallest normal, log10 = {}) at every layer j ≥ c; the column gives the median c \
         over chains and the depths k ≤ D − c + 1 whose input it covers.\n",
        FloatFormat::F16.min_exponent,
        sig(d.collapse_level_log10, 3)
    );
    let _ = writeln!(
        out,
        "**Theory beside it** (docs/derivation.md §3a). The predicted backward slope is E[log10|w·f′(z)|] per layer where the chain's \
         distribution of z gives it in closed form: tanh once the forward signal has collapsed (z = w·u is then tiny and \
         tanh′(z) = 1 − O(z²), so the factor is |w|: E[log10|w|] = −(γ + ln 2)/(2 ln 10)); leaky ReLU (each unit is on its α side with \
         probability ½, independently of |w|: E[log10|w|] + ½·log10 α); live ReLU chains (f′ = 1: E[log10|w|]). \"agrees\" means within \
         {} standard errors. The bound column is the article's bound in expectation, log10 sup|f′| + E[log10|w|] ≥ E[log10|w·f′(z)|]: an \
         upper bound on the backward slope, not a prediction. The last slope is that of the median of the article's bound on |∂L/∂w_d|, \
         2|y−ŷ|·|u_d|·∏ sup|f′|·∏|w|, computed per chain: it carries |u_d| too.\n",
        sig(AGREEMENT_STANDARD_ERRORS, 2)
    );
    let _ = writeln!(
        out,
        "**Two shortcuts** (docs/derivation.md §5a). The pre-activation shortcut adds a_{{m−s}} before f, a_m = f(w·a_{{m−1}} + a_{{m−s}}): \
         per block of s layers its path meets one f′, so the backward slope is at most [log10 sup|f′| + log10(1 + sup|f′|^{{s−1}}·(2/π)^{{s/2}})]/s \
         in expectation (the bound column). The identity skip adds it after f, a_m = a_{{m−s}} + f(w·a_{{m−1}}): ∂a_m/∂a_{{m−s}} = 1, so at the \
         layers it joins ∂L/∂a_m = (1 + P_m)·∂L/∂a_{{m+s}} with P_m = ∏ w·f′ over the block, predicted slope 0 (bound \
         log10(1 + sup|f′|^s·(2/π)^{{s/2}})/s). The identity rows ({}) use the draws of the pre-activation rows of the same span, chains of \
         depth s·⌊D/s⌋ so that the output layer is one the skip joins, and the layers the skip joins (each reported depth moved down to the \
         nearest one), where that recursion holds.\n",
        IDENTITY_SKIP_ACTIVATION.name()
    );
    slopes_table(out, d);
    explanations(out, d);
    survival(out, d, plots);
    formats(out, d);
    if let Some(dir) = plots {
        let mut names: Vec<&str> = d.configs.iter().map(|c| c.activation.as_str()).collect();
        names.dedup();
        let step = d.max_depth.div_ceil(crate::sections::decay::curve::CURVE_POINTS).max(1);
        let layers =
            if step == 1 { "every layer".to_string() } else { format!("one layer in {step} and the reported depths") };
        let _ = writeln!(
            out,
            "The median ∂L/∂w with its 10th–90th percentile band, and the median backward factor ∂L/∂a (dashed), per activation, \
             at {layers} (the identity rows at the layers the skip joins):\n"
        );
        for n in names {
            if crate::render::svg::decay_figure(d, n).has_data() {
                let _ =
                    writeln!(out, "![{n}: log10 |∂L/∂w| by depth]({dir}/{})\n", crate::render::svg::decay_plot_name(n));
            } else {
                let _ = writeln!(
                    out,
                    "No figure for {n}: its median gradient is exactly 0 at every depth (the tables give the share of exact zeros).\n"
                );
            }
        }
    }
    if detail == Detail::Full {
        for c in &d.configs {
            per_depth(out, c);
        }
    } else {
        let _ = writeln!(
            out,
            "The per-depth numbers behind the slopes (median, percentiles, backward factor, exact zeros at every depth) are in `--format json` and `--format html`.\n"
        );
    }
}

/// The shortcut's span and where it joins: before f, its path meets f′; after f, it does not.
fn shortcut_name(c: &DecayConfig) -> String {
    match (c.shortcut, c.skip) {
        (None, _) => "none".into(),
        (Some(s), Some(SkipForm::Identity)) => format!("span {s}, identity (bypasses f′)"),
        (Some(s), Some(SkipForm::PreActivation) | None) => format!("span {s}, pre-activation (through f′)"),
    }
}

fn chains_name(c: &DecayConfig) -> &'static str {
    match c.chains {
        ChainSet::All => "all",
        ChainSet::Live => "live (folded: \\|w\\|, \\|x\\|)",
    }
}

/// Why a slope of `c`'s data is missing.
fn missing(c: &DecayConfig) -> String {
    if c.all_exact_zero { "— (all exact 0)".into() } else { "— (median exact 0)".into() }
}

fn fit(f: Option<Fit>, c: &DecayConfig) -> String {
    f.map_or_else(|| missing(c), |f| format!("{} ± {}", sig(f.slope, 3), sig(f.standard_error, 2)))
}

fn slopes_table(out: &mut String, d: &Decay) {
    let _ = writeln!(
        out,
        "| activation | shortcut | chains | ∂L/∂w: decades per layer | backward factor ∂L/∂a: decades per layer | forward signal u: decades per layer | predicted ∂L/∂a slope | \
         bound on the ∂L/∂a slope | forward signal collapsed from (median) | slope of the article's bound on \\|∂L/∂w\\| | exact zeros at k = {} |",
        d.max_depth
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for c in &d.configs {
        let prediction = match (c.prediction, c.shortcut) {
            (Some(p), _) => format!("{} ({})", sig(p.slope, 3), if p.agrees { "agrees" } else { "disagrees" }),
            (None, Some(_)) => "— (before f: no closed form)".into(),
            (None, None) if c.all_exact_zero => "— (all exact 0)".into(),
            (None, None) => "— (no closed form)".into(),
        };
        let collapse = match c.collapse {
            Collapse::FromLayer { layer, through_depth } => format!("layer {layer} (k ≤ {through_depth})"),
            Collapse::NotCollapsed => "not collapsed".into(),
        };
        let shortcut_or = |v: Option<f64>| v.map_or_else(|| "— (shortcut)".to_string(), |s| sig(s, 3));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.activation,
            shortcut_name(c),
            chains_name(c),
            fit(c.weight_fit, c),
            fit(c.backward_fit, c),
            fit(c.forward_fit, c),
            prediction,
            shortcut_or(c.backward_slope_bound),
            collapse,
            match (c.shortcut, c.weight_bound_slope) {
                (None, None) => "— (median exact 0)".into(),
                (_, s) => shortcut_or(s),
            },
            c.rows.last().map_or_else(|| "—".into(), |r| percent(r.zero_share)),
        );
    }
    out.push('\n');
}

/// The sentences that say why the slopes are what they are (each pinned by a test in
/// `tests/it/decay.rs`).
fn explanations(out: &mut String, d: &Decay) {
    let find = |name: &str, chains| d.config(name, None, chains);
    let slope = |f: Option<Fit>| {
        f.map_or_else(|| "—".into(), |f| format!("{} ± {}", sig(f.slope, 3), sig(f.standard_error, 2)))
    };
    let predicted = |c: &DecayConfig| c.prediction.map_or_else(|| "—".into(), |p| sig(p.slope, 3));
    let flat = |f: Option<Fit>| match f {
        Some(f) if f.flat => {
            format!("is flat ({}, within {} standard errors of 0)", slope(Some(f)), sig(AGREEMENT_STANDARD_ERRORS, 2))
        }
        f => format!("is not flat ({})", slope(f)),
    };
    let collapsed = |c: &DecayConfig| match c.collapse {
        Collapse::FromLayer { layer, .. } => format!("has collapsed from layer {layer} on (median over chains)"),
        Collapse::NotCollapsed => "has not collapsed".into(),
    };
    if let Some(tanh) = find("tanh", ChainSet::All) {
        let _ = writeln!(
            out,
            "- **tanh** (no shortcut): ∂L/∂w {} while the backward factor decays at {} decades per layer \
             (predicted {}). The forward signal {}: from there on each layer multiplies u by about w (tanh(z) ≈ z), so u_d shrinks \
             towards the output ({} per layer in k) at the rate the backward factor shrinks towards the input, and their product in \
             ∂L/∂w_d does not trend.",
            flat(tanh.weight_fit),
            slope(tanh.backward_fit),
            predicted(tanh),
            collapsed(tanh),
            slope(tanh.forward_fit)
        );
    }
    if let (Some(leaky), Some(sigmoid)) = (find("leaky_relu", ChainSet::All), find("sigmoid", ChainSet::All)) {
        let alpha = match leaky.prediction.map(|p| p.basis) {
            Some(Basis::LeakyHalf { slope }) => format!(", α = {}", sig(slope, 1)),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "- **leaky ReLU** (no shortcut{alpha}): ∂L/∂w {}, because w_d·∂L/∂w_d = 2(y − ŷ)·y at every layer, an exact \
             identity for a bias-free chain of a positively homogeneous f (f(z) = f′(z)·z; largest relative deviation over these {} chains \
             and all {} layers: {}, rounding): the weight itself is the only layer-dependent factor left. The backward factor decays at {} \
             decades per layer (predicted {}), {} sigmoid's {}. The forward signal {}.",
            flat(leaky.weight_fit),
            d.samples,
            d.max_depth,
            leaky.homogeneity_deviation.map_or_else(|| "—".into(), |v| sci(v, 2)),
            slope(leaky.backward_fit),
            predicted(leaky),
            match (leaky.backward_fit, sigmoid.backward_fit) {
                (Some(l), Some(s)) if l.slope < s.slope => "faster than",
                _ => "not faster than",
            },
            slope(sigmoid.backward_fit),
            collapsed(leaky)
        );
    }
    skips(out, d, &slope);
    if let (Some(relu), Some(live)) = (find("relu", ChainSet::All), find("relu", ChainSet::Live)) {
        let _ = writeln!(
            out,
            "- **ReLU** (no shortcut, no biases): a gradient is non-zero only if all D units are active, which happens with probability \
             2^−D, the same at every layer (the survival table below); at D = {} {} of the {} chains survive ({} exact zeros at k = {}). \
             The live chains' statistics come from the same draws folded to |w_d|, |x|: survival depends only on the signs, so these are \
             distributed exactly as surviving chains. Their ∂L/∂w {}; w_d·∂L/∂w_d = 2(y − ŷ)·y again (largest relative \
             deviation {}); their backward factor decays at {} (predicted {}).",
            d.max_depth,
            if relu.all_exact_zero { "none" } else { "some" },
            d.samples,
            relu.rows.last().map_or_else(|| "—".into(), |r| percent(r.zero_share)),
            d.max_depth,
            flat(live.weight_fit),
            live.homogeneity_deviation.map_or_else(|| "—".into(), |v| sci(v, 2)),
            slope(live.backward_fit),
            predicted(live)
        );
    }
    out.push('\n');
}

/// The sigmoid's two shortcuts side by side (pinned by `tests/it/decay.rs`).
fn skips(out: &mut String, d: &Decay, slope: &dyn Fn(Option<Fit>) -> String) {
    let name = IDENTITY_SKIP_ACTIVATION.name();
    let Some(plain) = d.config(name, None, ChainSet::All) else { return };
    let pairs: Vec<(&DecayConfig, &DecayConfig)> = d
        .configs
        .iter()
        .filter(|c| c.activation == name && c.skip == Some(SkipForm::Identity))
        .filter_map(|identity| Some((d.config(name, identity.shortcut, ChainSet::All)?, identity)))
        .collect();
    if pairs.is_empty() {
        return;
    }
    let bound = |c: &DecayConfig| c.backward_slope_bound.map_or_else(|| "—".into(), |b| sig(b, 3));
    let span = |c: &DecayConfig| c.shortcut.map_or_else(String::new, |s| s.to_string());
    let pre: Vec<String> = pairs
        .iter()
        .map(|(p, _)| format!("{} (span {}; bound {})", slope(p.backward_fit), span(p), bound(p)))
        .collect();
    let identity: Vec<String> = pairs
        .iter()
        .map(|(_, i)| {
            let agrees = match i.prediction {
                Some(p) if p.agrees => "agrees with the predicted 0",
                _ => "disagrees with the predicted 0",
            };
            format!("span {}: {} ({agrees}; ∂L/∂w there: {})", span(i), slope(i.backward_fit), slope(i.weight_fit))
        })
        .collect();
    let _ = writeln!(
        out,
        "- **{name} with a shortcut**: before f, the shortcut's path meets σ′ ≤ 1/4 once per block, and the backward factor decays at {} \
         decades per layer, at or below its bound, where the chain without a shortcut decays at {}. After f (the identity skip, on the same \
         draws), the path bypasses σ′: at the layers it joins the backward factor's slope is, for {}.",
        pre.join(" and "),
        slope(plain.backward_fit),
        identity.join("; ")
    );
}

fn survival(out: &mut String, d: &Decay, plots: Option<&str>) {
    let s = &d.survival;
    let _ = writeln!(
        out,
        "**Survival of bias-free ReLU chains against their depth D**, {} chains per depth (their own streams): a chain is live when \
         ∂L/∂w_d ≠ 0 at every layer. The binomial standard error is √(2^−D(1 − 2^−D)/n); the last column is how many of them \
         the measured share lies from 2^−D.\n",
        s.chains
    );
    let _ = writeln!(
        out,
        "| D | live (∂L/∂w ≠ 0 at every layer) | ∂L/∂w ≠ 0 at some layer | live share | 2^−D | standard error | (share − 2^−D) / SE |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|");
    for r in &s.rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.depth,
            r.live_everywhere,
            r.live_somewhere,
            sig(r.share, 3),
            sig(r.expected_share, 3),
            sig(r.standard_error, 2),
            sig(r.deviation, 2)
        );
    }
    out.push('\n');
    if let Some(dir) = plots {
        if crate::render::svg::survival_figure(s).has_data() {
            let _ = writeln!(
                out,
                "![{}]({dir}/{})\n",
                crate::render::svg::SURVIVAL_TITLE,
                crate::render::svg::SURVIVAL_PLOT
            );
        } else {
            let _ = writeln!(out, "No survival figure: no chain survived at any depth.\n");
        }
    }
}

fn formats(out: &mut String, d: &Decay) {
    let f16 = &d.f16;
    let _ = writeln!(
        out,
        "**Formats.** The underflow depth is the median, over the chains whose gradient is not exactly 0 at every layer, of the first \
         depth (from the output) where the gradient rounds to 0 in that format; \"> {}\" means more than half of them never underflow \
         within D, \"— (all exact 0)\" that no chain has a non-zero gradient.\n",
        d.max_depth
    );
    let _ = write!(
        out,
        "**The f16 loss scale.** Training in f16 multiplies the loss by a scale S = 2^n before the backward pass, so that small \
         gradients S·g are not lost below f16's smallest normal 2^{}. The detail tables' last column is the least such n that lifts \
         that depth's 10th-percentile gradient to 2^{}. The scale has a ceiling: the scaled loss S·L must itself be an f16 number, \
         S·L ≤ 65504 (log10 = {}), so n ≤ ⌊log2(65504/L)⌋; the cap column gives it for the median chain's loss L, and a scale past \
         it reads \"beyond f16's range\". And one scale serves a whole network: f16 spans {} decades (its smallest subnormal 2^−24 \
         to 65504), while within one chain the weight gradients of the {} layers spread over the decades of the spread column \
         (median over chains).",
        f16.min_normal_exponent,
        f16.min_normal_exponent,
        sig(f16.log10_max, 4),
        sig(f16.decades, 4),
        d.max_depth
    );
    let too_wide: Vec<String> = d
        .configs
        .iter()
        .filter(|c| c.spread_fits_f16 == Some(false))
        .map(|c| {
            format!(
                "{} {}{} ({} decades)",
                c.activation,
                shortcut_name(c),
                if c.chains == ChainSet::Live { " live" } else { "" },
                c.layer_spread.map_or_else(|| "—".into(), |s| sig(s, 3))
            )
        })
        .collect();
    if too_wide.is_empty() {
        // The column is a median over the chains: it says so of half of them, not of every one.
        let _ = writeln!(out, " In every configuration at least half of the chains spread within f16's span.\n");
    } else {
        let _ = writeln!(
            out,
            " Wider than f16's span, so in more than half of the chains no single scale holds every layer at once (the spread is \
             a chain's largest layer against its smallest, wherever the two sit): {}.\n",
            too_wide.join(", ")
        );
    }
    let formats: Vec<&str> = FloatFormat::ALL.iter().map(|f| f.name).collect();
    let _ = writeln!(
        out,
        "| activation | shortcut | chains | underflow depth {} | spread of log10 \\|∂L/∂w\\| within a chain | within f16's {} decades | f16 loss-scale cap |",
        formats.join(" | underflow depth "),
        sig(f16.decades, 4)
    );
    let _ = writeln!(out, "|---|---|---|{}---:|---|---:|", "---:|".repeat(formats.len()));
    for c in &d.configs {
        let underflow: Vec<String> = c
            .underflow
            .iter()
            .map(|u| match u {
                Underflow::At(k) => k.to_string(),
                Underflow::BeyondDepth => format!("> {}", d.max_depth),
                Underflow::AllExactZero => "— (all exact 0)".into(),
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | 2^{} |",
            c.activation,
            shortcut_name(c),
            chains_name(c),
            underflow.join(" | "),
            c.layer_spread.map_or_else(|| "— (no two non-zero layers)".into(), |s| sig(s, 3)),
            match c.spread_fits_f16 {
                Some(true) => "yes",
                Some(false) => "no",
                None => "—",
            },
            c.loss_scale_cap
        );
    }
    out.push('\n');
}

fn per_depth(out: &mut String, c: &DecayConfig) {
    let live = if c.chains == ChainSet::Live { ", live chains (folded)" } else { "" };
    let _ = writeln!(out, "### {}, shortcut {}{live}\n", c.activation, shortcut_name(c));
    if c.skip == Some(SkipForm::Identity) {
        let _ = writeln!(out, "Chains of depth {}; the depths below are the layers the skip joins.\n", c.chain_depth);
    }
    if c.non_finite_chains > 0 {
        let _ = writeln!(out, "{} chains overflowed in the forward pass and are left out.\n", c.non_finite_chains);
    }
    if c.rows.is_empty() {
        let _ = writeln!(out, "No chain had a finite forward pass.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| depth k | p10 log10 \\|∂L/∂w\\| | median | p90 | median log10 \\|∂L/∂a\\| (backward) | median log10 \\|u\\| (forward) | median bound | exact zeros | f16 loss scale for p10 |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &c.rows {
        let scale = match r.f16_loss_scale {
            LossScale::ExactZero => "— (exact 0)".to_string(),
            LossScale::NotNeeded => "none needed".to_string(),
            LossScale::Scale(n) => format!("2^{n}"),
            LossScale::BeyondRange(n) => format!("beyond f16's range (2^{n} > 2^{})", c.loss_scale_cap),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.depth,
            log10(r.p10, 2),
            log10(r.median, 2),
            log10(r.p90, 2),
            log10(r.backward_median, 2),
            log10(r.forward_median, 2),
            r.bound_median.map_or_else(|| "— (shortcut)".into(), |b| log10(b, 2)),
            percent(r.zero_share),
            scale
        );
    }
    out.push('\n');
}
