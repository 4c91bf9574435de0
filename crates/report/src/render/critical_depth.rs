//! Section 3's criticality with depth and the forward side of mean field, as Markdown (data:
//! [`crate::sections::critical_depth`]).

use super::svg::critical_depth as fig;
use crate::numfmt::sig;
use crate::sections::critical_depth::{
    CriticalDepth, DepthRun, FIT_RANGE, INPUT_CORRELATION, Regime, TABLE_LAYERS as SHOWN, TANH_SIGMA_B2,
};
use std::fmt::Write;

/// Appends the subsection: the settings, the per-layer tables, the correlation and ξ_c, Hanin's
/// drift, and the figures if `plots`.
pub fn critical_depth(out: &mut String, d: &CriticalDepth, plots: Option<&str>) {
    let _ = writeln!(out, "### Criticality with depth, and the forward side: the correlation of two inputs\n");
    let line = d.tanh_critical.map_or_else(
        || format!("(the critical-line solve found no point at σ_b² = {TANH_SIGMA_B2})"),
        |s| {
            format!(
                "σ_w² = {} (solved on the critical line itself: χ(q*) = 1 gives σ_w² = 1/E[φ′(√q*·z)²], and σ_b² = q* − E[φ²]/E[φ′²] = {} fixes q*)",
                sig(s, 6),
                sig(TANH_SIGMA_B2, 2)
            )
        },
    );
    let _ = writeln!(
        out,
        "{} networks of {} layers of width {} (the top linear, weights N(0, σ_w²/n), biases N(0, σ_b²); the same draws scaled to every setting), \
         fed a pair of inputs of correlation {} whose first-layer variance is q* (1 where there is no positive q*), and differentiated under the probe seed. \
         tanh on the critical line at σ_b² = {}: {}; beside it tanh at σ_b = 0 and σ_w² = 1 (the critical point, q* = 0), two ordered tanh settings, \
         ReLU under He (σ_w² = 2) and ReLU at σ_w² = 1.8. Per layer: the spread over networks (median, 10th–90th percentiles) beside mean field by quadrature.\n",
        d.nets,
        d.depth,
        d.width,
        sig(INPUT_CORRELATION, 2),
        sig(TANH_SIGMA_B2, 2),
        line
    );
    let _ = writeln!(
        out,
        "| setting | χ₁ | q* | ξ_c mean field | ξ_c measured | networks |\n|---|---:|---:|---:|---:|---:|"
    );
    for r in &d.runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            fig::run_label(r),
            sig(r.chi_1, 4),
            r.q_star.map_or_else(|| "0 (none)".into(), |q| sig(q, 4)),
            r.xi_c.map_or_else(
                || if r.regime == Regime::Ordered { "— (q* = 0)".to_string() } else { "∞".to_string() },
                |x| sig(x, 3)
            ),
            r.xi_measured.map_or_else(|| "—".into(), |x| sig(x, 3)),
            r.networks
        );
    }
    out.push('\n');
    per_layer_table(out, d);
    let _ = writeln!(
        out,
        "Mean field's curves are the infinite-width law. At the critical point (tanh, σ_w² = 1, σ_b = 0) q_l falls as a power law, ≈ 1/(2l), \
         and with it χ(q_l) ≈ 1 − 2q_l ≈ 1 − 1/l, so ‖∂L/∂a_l‖² falls towards the input as a power law too (≈ l/D), not exponentially; \
         on the critical line with σ_b > 0 and under He the mean is kept exactly, and off the line (the ordered rows) it falls by χ₁ per layer: \
         a straight line on a linear depth axis, a curve bending down on the log–log figures. \
         {}\n",
        medians(d)
    );
    let _ = writeln!(
        out,
        "**The correlation map.** Two inputs' pre-activations of correlation c reach the next layer with correlation C(c) = (σ_w²·E[φ(u₁)φ(u₂)] + σ_b²)/q* \
         (2-D quadrature). c = 1 is fixed and C′(1) = χ₁, so in the ordered phase 1 − c_l ∝ χ₁^l = e^(−l/ξ_c), ξ_c = −1/ln χ₁ (Schoenholz et al. 2017): \
         a network many ξ_c deep sends every input to nearly the same top-layer vector, so its output is nearly the same for every input, and what gradient reaches the \
         first layers carries almost nothing about which input was which. Nothing is trained in this section; what this suggests for training, not measured here, \
         is that such a network would fit the output's offset (the constant predictor of §5) well before anything that tells inputs apart, and one a few ξ_c deep would not be so limited. ξ_c is finite only where q* > 0 (σ_b > 0 for tanh; the sigmoid's q* is positive anyway) \
         and diverges on the critical line, where the approach to c = 1 is a power law. Bias-free ReLU under He has no ξ_c: its map is the arc-cosine kernel, \
         C(c) = (√(1 − c²) + (π − arccos c)·c)/π, whose slope at 1 is exactly 1; 1 − C(c) ≈ ε − (2√2/(3π))·ε^(3/2) for ε = 1 − c gives 1 − c_l ≈ 9π²/(2l²), a power law. \
         ξ_c measured is fitted to the mean over networks of 1 − c_l where it lies in [{}, {}].\n",
        sig(FIT_RANGE.0, 1),
        sig(FIT_RANGE.1, 1)
    );
    if let Some(h) = &d.hanin {
        let _ = writeln!(
            out,
            "**ReLU under He and Hanin's β.** One bias-free ReLU layer at σ_w² = 2 multiplies ‖a‖² by R = (2/n)·χ²_K, K ~ Binomial(n, 1/2) — \
             the same law whatever the input, so ln(‖a_l‖²/‖x‖²) is a sum of l independent copies of ln R. E[R] = 1 (He keeps the mean exactly) \
             and Var R = 5/n, so E[ln R] ≈ −5/(2n) and Var[ln R] ≈ 5/n: after l layers ln‖a_l‖² is close to normal with mean −(5/2)β and variance 5β, \
             β = Σ 1/n_l = l/n (Hanin 2018). Exactly, from ψ and ψ′ of K/2 summed over the binomial: E[ln R] = {}, Var[ln R] = {} at n = {} \
             (−5/(2n) = {}, 5/n = {}). Over networks, the first input of the pair:\n",
            sig(h.law_mean, 4),
            sig(h.law_var, 4),
            d.width,
            sig(-2.5 / d.width as f64, 4),
            sig(5.0 / d.width as f64, 4)
        );
        let _ = writeln!(
            out,
            "| layer | β | mean ln(‖a_l‖²/‖x‖²) | exact | −5β/2 | variance ± SE | exact | 5β |\n|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for r in h.rows.iter().filter(|r| SHOWN.contains(&r.layer) || r.layer == h.rows.len()) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} ± {} | {} | {} |",
                r.layer,
                sig(r.beta, 3),
                sig(r.mean, 3),
                sig(r.exact_mean, 3),
                sig(-2.5 * r.beta, 3),
                sig(r.var, 3),
                sig(r.var_se, 2),
                sig(r.exact_var, 3),
                sig(5.0 * r.beta, 3)
            );
        }
        out.push('\n');
    }
    if let Some(dir) = plots {
        for (name, alt, figure) in [
            (
                fig::DEPTH_BACKWARD_PLOT,
                "‖∂L/∂a_l‖² through depth, measured and mean field",
                fig::depth_backward_figure(d),
            ),
            (fig::DEPTH_FORWARD_PLOT, "‖a_l‖²/n through depth, measured and mean field", fig::depth_forward_figure(d)),
            (fig::CORRELATION_PLOT, "1 − c through depth, measured and mean field", fig::correlation_figure(d)),
            (fig::XI_PLOT, "ξ_c against σ_w²", fig::xi_figure(d)),
            (fig::HANIN_PLOT, "ReLU's log-length mean and variance against β", fig::hanin_figure(d)),
        ] {
            if figure.has_data() {
                let _ = writeln!(out, "![{alt}]({dir}/{name})\n");
            }
        }
    }
}

/// Per setting, at the layers of [`SHOWN`]: the backward and forward lengths and 1 − c, median
/// [p10, p90] beside mean field.
/// Where the measured medians sit against mean field, counted over every layer of every setting
/// (the backward length; the forward length with and without biases apart), and the reason
/// offered: exact for bias-free ReLU, not tested for the others; one width only.
fn medians(d: &CriticalDepth) -> String {
    let count = |pick: &dyn Fn(&DepthRun) -> bool, below: fn(&crate::sections::critical_depth::DepthLayer) -> bool| {
        let layers: Vec<_> = d.runs.iter().filter(|r| pick(r)).flat_map(|r| &r.layers).collect();
        (layers.iter().filter(|l| below(l)).count(), layers.len())
    };
    let (bb, bn) = count(&|_| true, |l| l.backward.median < l.backward_theory);
    let (fb, fn_) = count(&|r| r.sigma_b2 == 0.0, |l| l.forward.median < l.forward_theory);
    let (gb, gn) = count(&|r| r.sigma_b2 > 0.0, |l| l.forward.median < l.forward_theory);
    format!(
        "Counted over every layer of every setting, the measured median sits below mean field in {bb} of {bn} layers for ‖∂L/∂a_l‖², \
         in {fb} of {fn_} for ‖a_l‖² without biases and in {gb} of {gn} with them. \
         The reason offered for a median below the mean: each layer multiplies the lengths by an independent random factor of mean χ whose logarithm has a lower mean, \
         so the typical network drifts below the mean as depth over width grows while rare networks carry it — exact for bias-free ReLU (below, Hanin's β = l/n), \
         not derived here for the others, and only one width, {}, is measured.",
        d.width
    )
}

fn per_layer_table(out: &mut String, d: &CriticalDepth) {
    let _ = writeln!(
        out,
        "| setting | layer | ‖∂L/∂a_l‖² ÷ top: mean field | median [p10, p90] | ‖a_l‖²/n: mean field | median | 1 − c_(l+1): mean field | median [p10, p90] |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in &d.runs {
        for l in r.layers.iter().filter(|l| SHOWN.contains(&l.layer)) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} [{}, {}] | {} | {} | {} | {} [{}, {}] |",
                short(r),
                l.layer,
                sig(l.backward_theory, 3),
                sig(l.backward.median, 3),
                sig(l.backward.p10, 2),
                sig(l.backward.p90, 2),
                sig(l.forward_theory, 3),
                sig(l.forward.median, 3),
                sig(l.decorrelation_theory, 3),
                sig(l.decorrelation.median, 3),
                sig(l.decorrelation.p10, 2),
                sig(l.decorrelation.p90, 2)
            );
        }
    }
    out.push('\n');
}

/// A run's short name for the per-layer table.
fn short(r: &DepthRun) -> String {
    format!("{} {}/{}", r.activation, sig(r.sigma_w2, 3), sig(r.sigma_b2, 2))
}
