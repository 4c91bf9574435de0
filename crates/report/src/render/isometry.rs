//! Section 3's dynamical isometry as Markdown (data: [`crate::sections::isometry`]).

use super::Detail;
use crate::numfmt::{percent, sig};
use crate::sections::isometry::{Isometry, PERCENTILES, SpectrumRow, SpectrumSetting, VAR_ROUNDING, Weights};
use std::fmt::Write;

/// The depths the summary table shows, L = 2, 8, 32, … (2·4^k) and the deepest; every depth with
/// [`Detail::Full`].
fn shown(depth: usize, deepest: usize, detail: Detail) -> bool {
    detail == Detail::Full || depth == deepest || (depth.is_power_of_two() && depth.trailing_zeros() % 2 == 1)
}

/// An activation point as people read it: the activation with q* where it has biases.
fn point(s: &SpectrumSetting) -> String {
    if s.sigma_b2 > 0.0 { format!("{}, q* = {}", s.activation, sig(s.q_star, 3)) } else { s.activation.clone() }
}

/// A singular value given as its log10, or why it is not quoted.
fn singular(l: Option<f64>, resolution: f64) -> String {
    l.map_or_else(|| format!("< {}·s_max", sig(resolution, 1)), |l| sig(10f64.powf(l), 3))
}

/// Appends the section: the theory, the settings, the spectra by depth, the figure if `plots`.
pub fn isometry(out: &mut String, iso: &Isometry, plots: Option<&str>, detail: Detail) {
    let _ = writeln!(out, "### Dynamical isometry: the singular values of the input–output Jacobian\n");
    let _ = writeln!(
        out,
        "The tables above measure mean ‖∂L/∂a_l‖², the mean of λ = s² over the singular values s of the Jacobian J = ∂x_L/∂x_0 = D_L·W_L ⋯ D_1·W_1 (D_l = diag φ′(h_l)). \
         At criticality that mean is χ₁^L = 1 for Gaussian and orthogonal weights alike, by construction, so those tables cannot tell the two apart. \
         What orthogonal weights change is how the singular values spread around it: dynamical isometry is all of them near 1 (Saxe et al. 2014). \
         At χ₁ = σ_w²·μ₁ = 1, with μ_k = E[φ′(√q*·z)^(2k)] and s₁ = −1 for Gaussian, 0 for orthogonal weights, Pennington, Schoenholz & Ganguli (2017) give \
         the variance of the spectral density of JJᵀ (the distribution of λ) in the limit of infinite width at fixed depth L: Var λ = L·(μ₂/μ₁² − 1 − s₁). \
         In that limit linear networks with orthogonal weights are exactly isometric, Gaussian ones spread as L; \
         ReLU has μ₁ = μ₂ = ½, so its Var λ is L with orthogonal and 2L with Gaussian weights, and its last layer zeroes about half the outputs — ReLU cannot be isometric; \
         tanh on its critical line has μ₂/μ₁² − 1 ≈ 8·(q*)², so with orthogonal weights and small q* (σ_w² → 1, σ_b → 0) it comes close. \
         What is measured below is each network's variance of λ over its n singular values, averaged over the networks: at finite width n it follows the wide limit only while L is small against n \
         (the tests check it for L ≤ n/8).\n"
    );
    let _ = writeln!(
        out,
        "{} networks of width {} per row, the same draws for every activation (scaled to its σ_w², σ_b²), inputs φ(h_0) with h_0 ~ N(0, q*) so every layer sits at the fixed point; \
         J accumulated layer by layer in f64 and its singular values from nalgebra's SVD. \
         \"Exact at width n\" is the finite-width expectation where it is known (linear networks: a Wick recursion for Gaussian weights, 0 for orthogonal). \
         Singular values below {}× their network's largest are beyond what an f64 product of this depth resolves: they are counted (\"resolved\"), not quoted. \
         \"Forced 0\" is the share of singular values that must be exactly 0 because some layer has that many inactive units (ReLU's φ′ = 0).\n",
        iso.nets,
        iso.width,
        sig(iso.resolution, 1)
    );
    let _ = writeln!(out, "| activation | weights | σ_w² | σ_b² | μ₁ | μ₂ | χ₁ | μ₂/μ₁² − 1 − s₁ (Var λ per layer) |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|");
    for s in &iso.settings {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            point(s),
            s.weights,
            sig(s.sigma_w2, 5),
            sig(s.sigma_b2, 3),
            sig(s.mu1, 4),
            sig(s.mu2, 4),
            sig(s.chi_1, 6),
            sig(s.variance_per_layer, 3)
        );
    }
    out.push('\n');
    let deepest = iso.depths.last().copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "| activation | weights | L | mean λ | Var λ ± SE | Pennington et al. (wide) | exact at width {} | s p{} | s p{} | s p{} | p{}/p{} | largest s | resolved | forced 0 |",
        iso.width, PERCENTILES[0], PERCENTILES[1], PERCENTILES[2], PERCENTILES[2], PERCENTILES[0]
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in &iso.settings {
        for r in s.rows.iter().filter(|r| shown(r.depth, deepest, detail)) {
            row(out, s, r, iso.resolution);
        }
    }
    out.push('\n');
    if detail == Detail::Summary {
        let _ = writeln!(
            out,
            "The table shows L = 2, 8, 32, … and the deepest; every depth is in `--format html` and `--format json`.\n"
        );
    }
    verdict(out, iso, deepest);
    if let Some(dir) = plots {
        if super::svg::isometry_figure(iso).has_data() {
            let _ = writeln!(
                out,
                "![Var λ of the input–output Jacobian against depth, measured and Pennington et al.'s wide-network prediction]({dir}/{})\n",
                super::svg::ISOMETRY_PLOT
            );
        } else {
            let _ = writeln!(out, "No isometry figure: no measured variance to draw.\n");
        }
    }
}

fn row(out: &mut String, s: &SpectrumSetting, r: &SpectrumRow, resolution: f64) {
    if r.networks == 0 {
        let _ = writeln!(
            out,
            "| {} | {} | {} | no network's SVD converged | | | | | | | | | | |",
            point(s),
            s.weights,
            r.depth
        );
        return;
    }
    let [p10, p50, p90] = r.log10_percentiles;
    let ratio = match (p10, p90) {
        (Some(a), Some(b)) => sig(10f64.powf(b - a), 3),
        _ => "—".to_string(),
    };
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} ± {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        point(s),
        s.weights,
        r.depth,
        sig(r.mean_lambda, 4),
        sig(r.var_lambda, 3),
        r.var_se.map_or_else(|| "—".into(), |e| sig(e, 2)),
        sig(r.predicted_var, 3),
        r.exact_var.map_or_else(|| "—".into(), |e| sig(e, 4)),
        singular(p10, resolution),
        singular(p50, resolution),
        singular(p90, resolution),
        ratio,
        sig(10f64.powf(r.log10_max), 3),
        percent(r.resolved),
        percent(r.forced_zero),
    );
}

/// What the deepest rows say, Gaussian against orthogonal for each activation point.
fn verdict(out: &mut String, iso: &Isometry, deepest: usize) {
    fn at(s: &SpectrumSetting, deepest: usize) -> Option<&SpectrumRow> {
        s.rows.iter().find(|r| r.depth == deepest && r.networks > 0)
    }
    let mut parts = Vec::new();
    for pair in iso.settings.chunks(2) {
        let [g, o] = pair else { continue };
        if g.weights.0 != Weights::Gaussian || o.weights.0 != Weights::Orthogonal {
            continue;
        }
        let (Some(rg), Some(ro)) = (at(g, deepest), at(o, deepest)) else { continue };
        let zeros = if ro.forced_zero > 0.0 || rg.forced_zero > 0.0 {
            format!(
                "; {} (Gaussian) and {} (orthogonal) of its singular values are exactly 0",
                percent(rg.forced_zero),
                percent(ro.forced_zero)
            )
        } else {
            String::new()
        };
        parts.push(format!(
            "{}: Var λ = {} (mean λ {}) with orthogonal weights against {} (mean λ {}) with Gaussian ones{}",
            point(g),
            sig(ro.var_lambda, 3),
            sig(ro.mean_lambda, 3),
            sig(rg.var_lambda, 3),
            sig(rg.mean_lambda, 3),
            zeros
        ));
    }
    if !parts.is_empty() {
        let _ = writeln!(out, "At L = {deepest}: {}. {}\n", parts.join("; "), mean_metric(iso, deepest));
    }
    let (width, (beyond, below)) = (iso.width, beyond_wide_limit(iso));
    if !beyond.is_empty() {
        let _ = writeln!(
            out,
            "Beyond L = n/8 (n = {width}), measurement and expectation part by more than 4 standard errors in: {}. \
             {below} of these {} lie below their expectation. A likely reason for those, not tested here: at depths comparable to the width, one network's Var λ is heavy-tailed \
             across networks, its expectation carried by rare networks that {} draws seldom include, so the mean over them falls below the expectation and their standard error \
             understates the error.\n",
            beyond.join("; "),
            beyond.len(),
            iso.nets
        );
    }
}

/// Whether mean λ, the quantity the tables above measure, tells Gaussian and orthogonal weights
/// apart at the deepest rows: the sentence names the gap, or says it is small.
fn mean_metric(iso: &Isometry, deepest: usize) -> String {
    fn at(s: &SpectrumSetting, deepest: usize) -> Option<&SpectrumRow> {
        s.rows.iter().find(|r| r.depth == deepest && r.networks > 0)
    }
    let pairs: Vec<(&SpectrumRow, &SpectrumRow)> = iso
        .settings
        .chunks(2)
        .filter_map(|p| match p {
            [g, o] if g.weights.0 == Weights::Gaussian && o.weights.0 == Weights::Orthogonal => {
                Some((at(g, deepest)?, at(o, deepest)?))
            }
            _ => None,
        })
        .collect();
    // Apart: the larger mean λ more than 10% above the smaller (the rows carry no standard error
    // of mean λ to judge by).
    let apart =
        pairs.iter().filter(|(g, o)| (g.mean_lambda / o.mean_lambda).max(o.mean_lambda / g.mean_lambda) > 1.1).count();
    let same = "Mean λ, the metric of the tables above, has the same expectation (χ₁^L = 1) under both weightings, so it cannot measure the spread";
    if apart == 0 {
        format!("{same}; here it is also within 10% between them at every point.")
    } else {
        format!(
            "{same}; its measured values at this depth still differ by more than 10% at {apart} of {} points.",
            pairs.len()
        )
    }
}

/// The rows deeper than n/8 whose measured Var λ is more than 4 standard errors (and more than
/// rounding, [`VAR_ROUNDING`]) from its expectation: the exact one where known, else the wide
/// limit's; and how many of them lie below it.
fn beyond_wide_limit(iso: &Isometry) -> (Vec<String>, usize) {
    let (mut out, mut below) = (Vec::new(), 0);
    for s in &iso.settings {
        for r in s.rows.iter().filter(|r| r.networks > 1 && r.depth > iso.width / 8) {
            let (target, which) = match r.exact_var {
                Some(e) => (e, "exact"),
                None => (r.predicted_var, "wide limit"),
            };
            let se = r.var_se.unwrap_or(0.0);
            if (r.var_lambda - target).abs() > (4.0 * se).max(VAR_ROUNDING) {
                below += usize::from(r.var_lambda < target);
                out.push(format!(
                    "{} {} L = {} ({} ± {} against {which} {})",
                    point(s),
                    s.weights,
                    r.depth,
                    sig(r.var_lambda, 3),
                    sig(se, 2),
                    sig(target, 4)
                ));
            }
        }
    }
    (out, below)
}
