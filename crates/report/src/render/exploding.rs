//! Section 4 as Markdown: the sweep, the spread over networks with its expectations, clipping.

use crate::numfmt::{log10, sig};
use crate::sections::exploding::largest::{APPROXIMATION, STEEP_GRADIENT};
use crate::sections::exploding::spread::{Largest, OverNetworks, Overflow, Spread, SpreadRow};
use crate::sections::exploding::{self, Exploding, Location};
use std::fmt::Write;

fn location(l: &Option<Location>) -> String {
    match l {
        None => "stays finite".into(),
        Some(l) => {
            let sample = l.sample.map_or_else(String::new, |b| format!(", sample {b}"));
            format!("layer {}, unit {}{sample}: {}", l.layer, l.unit, l.stage)
        }
    }
}

/// A layer (or depth) expectation: "never" where nothing grows.
fn layer(v: Option<f64>) -> String {
    v.map_or_else(|| "never".into(), |l| sig(l, 4))
}

/// "median ± SE (p10 to p90)" of a layer or depth.
fn median(m: &Option<OverNetworks>, finite: usize) -> String {
    match m {
        Some(m) => format!("{} ± {} ({} to {})", sig(m.median, 4), sig(m.median_se, 2), sig(m.p10, 4), sig(m.p90, 4)),
        None => format!("— ({finite} stay finite)"),
    }
}

/// A comparison's verdict; "not compared" where the configuration does not bear it
/// ([`Spread::compared`]).
fn agrees(compared: bool, yes: bool) -> &'static str {
    match (compared, yes) {
        (false, _) => "not compared",
        (true, true) => "agrees",
        (true, false) => "does not agree",
    }
}

/// Renders the section; `plots` is the folder of the figures, if they were written.
pub(super) fn exploding(out: &mut String, e: &Exploding, plots: Option<&str>) {
    let _ = writeln!(out, "## 4. Exploding gradients\n");
    let _ = writeln!(
        out,
        "ReLU networks of {} layers of width {} (the top layer linear), weights N(0, g²·2/n): He initialisation times a gain g, \
         a batch of {} inputs x ~ N(0, 1), squared error against t ~ N(0, 1), the same network in f32 and in f64 on the vectorised engine. \
         A gain g multiplies E‖a‖² by g² per layer, so the naive expectation has a unit reach a format's largest value after log10(max)/log10(g) layers. \
         The typical network of finite width grows more slowly: log‖a_l‖ is a random walk whose mean step is log10 g − 5/(4n·ln 10) decades to first order \
         (exactly: E[log10 ‖a_l‖/‖a_(l−1)‖] = log10 g + ½·E[log10((2/n)·χ²_K)], K ~ Binomial(n, ½) active units; docs/derivation.md §4); \
         the corrected layer is where the typical sample's pre-activation norm reaches the largest value. \
         The location is the first non-finite value the engine's statistics meet, scanning forward values layer by layer, then gradients from the output down.\n",
        e.depth, e.width, e.batch
    );
    let _ = writeln!(
        out,
        "| gain g | f32: first non-finite | f32 layer: naive / corrected | f64: first non-finite | f64 layer: naive / corrected | log10 ‖∂L/∂W‖, layer 1 / layer {} (f64) |",
        e.depth
    );
    let _ = writeln!(out, "|---:|---|---:|---|---:|---:|");
    for r in &e.sweep {
        let grads = r
            .f64_first_last_grad_log10
            .map_or_else(|| "— (not finite)".into(), |(a, b)| format!("{} / {}", log10(a, 2), log10(b, 2)));
        let _ = writeln!(
            out,
            "| {} | {} | {} / {} | {} | {} / {} | {} |",
            sig(r.gain, 3),
            location(&r.f32),
            layer(r.naive_f32_layer),
            layer(r.corrected_f32_layer),
            location(&r.f64),
            layer(r.naive_f64_layer),
            layer(r.corrected_f64_layer),
            grads
        );
    }
    out.push('\n');
    spread(out, &e.spread, e.depth, e.width);
    if let Some(dir) = plots {
        if super::svg::overflow_figure(&e.spread).has_data() {
            let _ = writeln!(
                out,
                "![Where values first overflow: depth against the gain]({dir}/{})\n",
                super::svg::OVERFLOW_PLOT
            );
        } else {
            let _ = writeln!(out, "No overflow figure: no network's values left f32's or f64's range.\n");
        }
    }
    clipping(out, e);
}

fn spread(out: &mut String, s: &Spread, depth: usize, width: usize) {
    let compared = s.compared;
    let _ = writeln!(
        out,
        "### Over {} networks per gain\n\n\
         One network is one draw: the same shapes, {} networks per gain (each the first layers of a {depth}-layer network, drawn afresh), \
         the spread over networks as p10 to p90, and every standard error a bootstrap over networks ({} resamples, seeded). \
         Growth is in decades per layer, positive for growing. First the forward signal at a layer ℓ that stays finite in f64, \
         log10(‖a_ℓ‖/‖x‖) averaged over each network's samples; the statistic compared is its mean over networks, \
         and it agrees with an expectation when within max(0.15 decades, 3 standard errors).\n",
        s.networks, s.networks, s.resamples
    );
    if !compared {
        let _ = writeln!(
            out,
            "This configuration's rows are shown, not compared: at width {width} a layer has every unit inactive with probability 2^−{width}, \
             which kills a network (its signal and gradients exactly 0, the −∞ below), and {depth} layers are too few for the smaller gains to overflow. \
             The default report's networks bear the comparisons.\n"
        );
    }
    let _ = writeln!(
        out,
        "| gain g | ℓ | naive ℓ·log10 g | corrected ℓ·E[step] | measured mean ± SE | median (p10 to p90) | decades per layer: naive / corrected / measured | corrected / naive |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in &s.rows {
        let m = &r.signal;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} ± {} | {} ({} to {}) | {} / {} / {} | {} / {} |",
            sig(r.gain, 3),
            r.reference_layer,
            log10(r.signal_naive, 2),
            log10(r.signal_corrected, 2),
            log10(m.mean, 2),
            // A network whose signal is exactly 0 (every unit of a layer inactive) makes the mean
            // −∞: it has no standard error, and no rate.
            if m.mean.is_finite() { sig(m.mean_se, 2) } else { "— (a network's signal is exactly 0)".into() },
            log10(m.median, 2),
            log10(m.p10, 2),
            log10(m.p90, 2),
            sig(r.step[0], 4),
            sig(r.step[1], 4),
            if r.step[2].is_finite() { sig(r.step[2], 4) } else { "—".into() },
            agrees(compared, r.signal_agrees[0]),
            agrees(compared, r.signal_agrees[1])
        );
    }
    out.push('\n');
    if let Some(one) = s.rows.iter().find(|r| r.gain == 1.0) {
        if let Some(w) = &one.first_weight_grad {
            let _ = writeln!(
                out,
                "At gain 1 nothing overflows, but the typical network's signal falls: log10(‖a_ℓ‖/‖x‖) at ℓ = {} is {} in the mean (p10 to p90: {} to {}); \
                 the corrected expectation, {}, {} with it; the naive one says {}. log10 ‖∂L/∂W_1‖ of the same networks spreads as widely: median {}, p10 to p90 {} to {}; \
                 the sweep's single network above is one draw of it.\n",
                one.reference_layer,
                log10(one.signal.mean, 1),
                log10(one.signal.p10, 1),
                log10(one.signal.p90, 1),
                log10(one.signal_corrected, 1),
                agrees(compared, one.signal_agrees[0]),
                log10(one.signal_naive, 1),
                log10(w.median, 2),
                log10(w.p10, 2),
                log10(w.p90, 2)
            );
        }
    }
    let _ = writeln!(
        out,
        "Where each format's values first leave its range. Forward: the first layer with a non-finite forward value (the statistic compared is the median over networks; \
         it agrees within max(0.15 decades at the corrected step, 3 standard errors) plus the one layer a layer index cannot resolve). \
         Gradient: the smallest depth D at which the network of the first D layers (the last linear) holds a non-finite value, by bisection on the engine's located first non-finite value. \
         The output error y − t grows with the forward signal and the weight gradient ∂L/∂W_l = Σ_b δ_l,b·a_(l−1),b multiplies the back-propagated error by the signal, \
         so its log grows twice as fast: it leaves the format at about half the forward pass's depth (naive: log10(max)/(2·log10 g)). \
         The top-layer estimate is where the drift-corrected norm of the top layer's ∂L/∂W_D reaches the largest value (log10 2 + 2·E[log10 ‖a_(D−1)‖] + E[log10 ‖W_D·v‖]). \
         {} The prediction adds two things to it, both of which bring the depth earlier (docs/derivation.md §13): the engine differentiates the summed loss S = B·L and divides by B only as it stores ∂L/∂W, \
         so the values that overflow are B times larger (log10 B decades); and the top layer's gradient is not the largest. \
         Every layer's ⟨∂S/∂W_l, W_l⟩ is the same number (Euler's theorem: y is homogeneous of degree 1 in each W_l), so layers differ only by the angle between ∂S/∂W_l and W_l: \
         its cosine is near 1/√n at the linear top, and about |ξ|/n (ξ ~ N(0, 1)) inside if the error and the signal there were independent of the weights (an approximation); \
         counting the D layers as D/τ independent ones (another approximation, τ the layers the angle takes to forget), the largest lies \
         log10((D/τ)·√(2n/π)·E[ρ]²) + γ/ln 10 decades above the top layer (ρ the largest entry of a ReLU's output over its norm). \
         The predicted depth is where the typical top layer's ∂L/∂W_D, times B, plus that excess reaches the largest value; the statistic compared is the median depth over networks, and it agrees when within max(0.15 decades at the gradient's step, 3 standard errors) plus the one layer a depth cannot resolve.\n",
        top_layer_timing(s)
    );
    let _ = writeln!(
        out,
        "| gain g | format | forward: naive | corrected | measured median ± SE (p10 to p90) | corrected / naive | gradient: naive | top-layer estimate | predicted | measured median ± SE (p10 to p90) | predicted / top-layer | first non-finite in ∂L/∂W / forward finite | gradient ÷ forward |"
    );
    let _ = writeln!(out, "|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---:|");
    for r in s.rows.iter().filter(|r| r.gain > 1.0) {
        for (name, o) in [("f32", &r.f32), ("f64", &r.f64)] {
            overflow_row(out, r.gain, name, o, s.networks, compared);
        }
    }
    out.push('\n');
    largest(out, s);
}

/// Whether the top-layer estimate comes after the measured median depth, row by row (gain > 1,
/// each format): counted, and the rows where it does not named.
fn top_layer_timing(s: &Spread) -> String {
    let rows: Vec<(f64, &str, f64, f64)> = s
        .rows
        .iter()
        .filter(|r| r.gain > 1.0)
        .flat_map(|r| [(r.gain, "f32", &r.f32), (r.gain, "f64", &r.f64)])
        .filter_map(|(g, name, o)| Some((g, name, o.gradient_top_layer?, o.gradient.as_ref()?.median)))
        .collect();
    if rows.is_empty() {
        return "No network's gradient left a format here, so the estimate is not compared.".into();
    }
    let late = rows.iter().filter(|r| r.2 > r.3).count();
    let not_late: Vec<String> = rows
        .iter()
        .filter(|r| r.2 <= r.3)
        .map(|&(g, name, top, median)| {
            format!("gain {} {name}, {} against {}", sig(g, 3), layer(Some(top)), sig(median, 4))
        })
        .collect();
    if not_late.is_empty() {
        format!("It comes later than the measured median in every row ({late} of {}).", rows.len())
    } else {
        format!(
            "It comes later than the measured median in {late} of {} rows (not in: {}).",
            rows.len(),
            not_late.join("; ")
        )
    }
}

/// Where the gradient's step, twice the corrected forward step, is above [`STEEP_GRADIENT`]
/// (the forward step above [`APPROXIMATION`], half of it), so the approximations' allowance moves the
/// predicted depth by under half a layer: at every gain above 1, or at which.
fn steep_gains(s: &Spread) -> String {
    let rows: Vec<&_> = s.rows.iter().filter(|r| r.gain > 1.0).collect();
    let (steep, shallow): (Vec<&&_>, Vec<&&_>) = rows.iter().partition(|r| r.step[1] > APPROXIMATION);
    let names = |v: &[&&SpreadRow]| v.iter().map(|r| sig(r.gain, 3)).collect::<Vec<_>>().join(", ");
    if rows.is_empty() {
        String::new()
    } else if shallow.is_empty() {
        ", as it does at every gain above 1 here".into()
    } else if steep.is_empty() {
        ", which it does at no gain here".into()
    } else {
        format!(", as it does at gain {} but not at {}", names(&steep), names(&shallow))
    }
}

/// The largest gradient value at the predicted depth: the measurement behind the prediction.
fn largest(out: &mut String, s: &Spread) {
    let compared = s.compared;
    let rows: Vec<(f64, &str, &Largest)> = s
        .rows
        .iter()
        .filter(|r| r.gain > 1.0)
        .flat_map(|r| [(r.gain, "f32", &r.f32), (r.gain, "f64", &r.f64)])
        .filter_map(|(g, name, o)| o.largest.as_ref().map(|l| (g, name, l)))
        .collect();
    if rows.is_empty() {
        let _ = writeln!(
            out,
            "The largest gradient value is not compared here: some networks of this configuration die (a layer with every unit inactive, probability 2^−n per layer) and hold no gradient at all.\n"
        );
        return;
    }
    let _ = writeln!(
        out,
        "Which layer holds the largest gradient value, at the predicted depth D (rounded), in each network: the largest |∂S/∂W_l| or |∂S/∂a_l| entry, computed in f64 on inputs and targets scaled by a power of two \
         (exact, as a ReLU network without biases is homogeneous), and how many decades it lies above the top layer's ‖∂S/∂W_D‖. \
         The statistic compared is the mean over networks of that excess; it agrees with 0 (the top layer the largest, as the top-layer estimate assumes) within max(0.15 decades, 3 standard errors), \
         and with the prediction within that plus {} decades for the prediction's two approximations (the angle's law inside the network, and D/τ independent layers; docs/derivation.md §13), \
         which moves the predicted depth by under half a layer wherever the gradient grows by more than {} decades per layer (twice the forward signal's corrected step){}.\n",
        sig(APPROXIMATION, 2),
        sig(STEEP_GRADIENT, 1),
        steep_gains(s)
    );
    let _ = writeln!(
        out,
        "| gain g | format | D | layer of the largest: median (p10 to p90) | in ∂S/∂W | excess over the top layer: measured mean ± SE (p10 to p90) | predicted | predicted / 0 |"
    );
    let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---|");
    for (gain, name, l) in rows {
        let e = &l.excess;
        let _ = writeln!(
            out,
            "| {} | {name} | {} | {} ({} to {}) | {} of {} | {} ± {} ({} to {}) | {} | {} / {} |",
            sig(gain, 3),
            l.depth,
            sig(l.layer.median, 4),
            sig(l.layer.p10, 4),
            sig(l.layer.p90, 4),
            l.in_weights,
            s.networks,
            log10(e.mean, 2),
            sig(e.mean_se, 2),
            log10(e.p10, 2),
            log10(e.p90, 2),
            log10(l.excess_predicted, 2),
            agrees(compared, l.excess_agrees[0]),
            agrees(compared, l.excess_agrees[1])
        );
    }
    out.push('\n');
}

fn overflow_row(out: &mut String, gain: f64, name: &str, o: &Overflow, networks: usize, compared: bool) {
    let _ = writeln!(
        out,
        "| {} | {name} | {} | {} | {} | {} / {} | {} | {} | {} | {} | {} / {} | {} of {} / {} of {} | {} |",
        sig(gain, 3),
        layer(o.forward_naive),
        layer(o.forward_corrected),
        median(&o.forward, o.forward_finite),
        agrees(compared, o.forward_agrees[0]),
        agrees(compared, o.forward_agrees[1]),
        layer(o.gradient_naive),
        layer(o.gradient_top_layer),
        layer(o.gradient_predicted),
        median(&o.gradient, networks - o.gradient_found),
        agrees(compared, o.gradient_agrees[0]),
        agrees(compared, o.gradient_agrees[1]),
        o.gradient_in_weights,
        o.gradient_found,
        o.gradient_forward_finite,
        o.gradient_found,
        o.gradient_ratio.map_or_else(|| "—".into(), |r| sig(r, 3))
    );
}

fn clipping(out: &mut String, e: &Exploding) {
    let c = &e.clipping;
    let _ = writeln!(
        out,
        "Clipping one exploding gradient (gain {}, {} layers, f64): its global norm is {}. Clipping the norm to {} rescales every layer by the same factor, \
         so the direction is kept (cos = {}); clamping every entry to ±{} {} the layers' norms (largest ÷ smallest: {} raw, {} clamped) and {} the direction (cos = {}).\n",
        sig(c.gain, 2),
        c.depth,
        sig(c.raw_norm, 4),
        sig(exploding::CLIP_NORM, 2),
        sig(c.cos_norm, 6),
        sig(exploding::CLIP_VALUE, 2),
        if c.layer_spread[1] < c.layer_spread[0] { "evens out" } else { "does not even out" },
        sig(c.layer_spread[0], 3),
        sig(c.layer_spread[1], 3),
        // A cosine 1 to six digits is a direction kept (as clipping by norm's is).
        if c.cos_value < 0.999_999 { "changes" } else { "keeps" },
        sig(c.cos_value, 4)
    );
    let _ = writeln!(out, "| layer | ‖∂L/∂W_l‖ raw | clipped by norm | clipped by value |");
    let _ = writeln!(out, "|---:|---:|---:|---:|");
    let n = c.raw.len();
    let shown: Vec<usize> = (0..n).filter(|&l| l < 3 || l + 3 >= n || (l + 1) % 10 == 0).collect();
    for l in shown {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            l + 1,
            sig(c.raw[l], 4),
            sig(c.by_norm[l], 4),
            sig(c.by_value[l], 4)
        );
    }
    out.push('\n');
}
