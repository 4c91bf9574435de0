//! Chain settings: a chain of any activation, weights, biases, depth (≤ 2048), shortcut (in
//! either skip form) and extreme values is refused by `Chain::new` exactly when it is invalid, and otherwise either
//! refused by `report::reference::chain_gradients` with a one-line message or reported with log10
//! magnitudes that are finite or stand for an exact zero, a `grad` that is the exact value
//! correctly rounded (never a silently wrong finite number), agreement with an independent log-sum
//! of the chain's factors, and agreement of `vectorised`'s extended magnitudes.

use crate::bytes::{Bytes, extreme};
use crate::{assert_no_bare_non_finite, assert_one_line};
use report::reference::{ChainReport, chain_gradients};
use report::sections::engine_activation as vectorised_activation;
use scalar::chain::Chain;
use scalar::{Activation, Skip};

fn any_activation(bytes: &mut Bytes<'_>) -> Activation {
    match bytes.int_in(0, 7) {
        0 => Activation::Sigmoid,
        1 => Activation::Tanh,
        2 => Activation::Relu,
        3 => Activation::LeakyRelu { slope: extreme(bytes) },
        4 => Activation::Softplus,
        5 => Activation::Identity,
        6 => Activation::Gelu,
        _ => Activation::Silu,
    }
}

const LOG10_E: f64 = std::f64::consts::LOG10_E;

/// A chain's settings as decoded from fuzz bytes (possibly invalid: that is part of the test).
#[derive(Debug, Clone)]
pub struct ChainSettings {
    /// D (0 is refused).
    pub depth: usize,
    /// Per layer.
    pub activations: Vec<Activation>,
    /// Per layer (any `f64`, non-finite ones refused).
    pub weights: Vec<f64>,
    /// Per layer, if any.
    pub biases: Option<Vec<f64>>,
    /// The span (0 or > D refused).
    pub shortcut: Option<usize>,
    /// Where the shortcut joins.
    pub skip: Skip,
    /// x.
    pub x: f64,
    /// ŷ.
    pub target: f64,
}

impl ChainSettings {
    /// Decodes any bytes: depth ≤ 2048 (≤ 16 half the time), one activation or one per layer,
    /// weights and biases as a repeated pattern of up to 8 values from [`EXTREMES`](crate::bytes::EXTREMES) or raw bits.
    pub fn decode(data: &[u8]) -> ChainSettings {
        let mut bytes = Bytes::new(data);
        let depth = if bytes.bool() { bytes.int_in(0, 16) } else { bytes.int_in(0, 2048) };
        let uniform = bytes.bool();
        let first = any_activation(&mut bytes);
        let activations: Vec<Activation> =
            (0..depth).map(|d| if uniform || d == 0 { first } else { any_activation(&mut bytes) }).collect();
        let pattern = |bytes: &mut Bytes<'_>| -> Vec<f64> {
            let n = bytes.int_in(1, 8);
            let values: Vec<f64> = (0..n).map(|_| extreme(bytes)).collect();
            (0..depth).map(|d| values[d % n]).collect()
        };
        let weights = pattern(&mut bytes);
        let biases = if bytes.bool() { Some(pattern(&mut bytes)) } else { None };
        let shortcut = if bytes.bool() { Some(bytes.int_in(0, depth + 1)) } else { None };
        let x = extreme(&mut bytes);
        let target = extreme(&mut bytes);
        // Read last, so that the seed corpus's older inputs decode to the chains they always did.
        let skip = if bytes.bool() { Skip::Identity } else { Skip::PreActivation };
        ChainSettings { depth, activations, weights, biases, shortcut, skip, x, target }
    }
}

/// Chains of any activation, depth, weights, biases and shortcut, with extreme values: see the
/// [module docs](self).
///
/// # Panics
/// When a property fails.
pub fn check_chain_settings(data: &[u8]) {
    let ChainSettings { depth, activations, weights, biases, shortcut, skip, x, target } = ChainSettings::decode(data);
    let slopes_finite = activations.iter().all(|f| !matches!(f, Activation::LeakyRelu { slope } if !slope.is_finite()));
    let valid = depth > 0
        && weights.iter().all(|w| w.is_finite())
        && biases.iter().flatten().all(|b| b.is_finite())
        && slopes_finite
        && shortcut.is_none_or(|s| (1..=depth).contains(&s));
    let chain = match Chain::new(weights, activations, biases, shortcut) {
        Ok(chain) => chain.with_skip(skip),
        Err(e) => {
            assert!(!valid, "a valid chain was refused: {e}");
            return assert_one_line(&e.to_string());
        }
    };
    assert!(valid, "an invalid chain was accepted: {chain:?}");
    if !(x.is_finite() && target.is_finite()) {
        return; // `report chain` refuses these at the flag (`parse_number`)
    }
    let trace = chain.forward(x);
    let forward_finite = trace.pre_activation.iter().all(|z| z.is_finite())
        && trace.output.is_finite()
        && (2.0 * (trace.output - target)).is_finite();
    let report = match chain_gradients(&chain, x, target) {
        Ok(report) => report,
        Err(e) => {
            let message = e.to_string();
            assert_one_line(&message);
            if forward_finite {
                // The only other refusal: values beyond Ext's safe range, which must be real.
                assert!(message.contains("beyond 2^±2^60"), "refused a chain whose f64 forward pass is finite: {e}");
                assert!(largest_log10(&chain, x, target) > 1e17, "refused as beyond range, but it is not: {e}");
            }
            return;
        }
    };
    assert!(forward_finite, "reported a chain whose f64 forward pass is not finite");
    assert_eq!(report.layers.len(), depth);
    for l in &report.layers {
        let g = l.exact_grad;
        assert!(g.is_finite(), "layer {}: a non-finite exact gradient", l.layer);
        // log10 |g| is finite, or None for an exact zero, and then sign and grad say 0.
        match l.log10_abs_grad {
            Some(v) => assert!(v.is_finite() && !g.is_zero() && l.sign == g.signum() as i8, "layer {}", l.layer),
            None => assert!(g.is_zero() && l.sign == 0 && l.grad == Some(0.0), "layer {}: {l:?}", l.layer),
        }
        // `grad` is the exact value correctly rounded, or None where that is ±∞ or a false 0.
        let rounded = g.to_f64();
        match l.grad {
            Some(v) => {
                assert!(v.is_finite(), "layer {}", l.layer);
                assert!(v == rounded || (g.is_zero() && v == 0.0), "layer {}: grad {v} vs exact {rounded}", l.layer);
                assert!(v != 0.0 || g.is_zero(), "layer {}: grad 0 for a non-zero gradient", l.layer);
                if v.is_normal() {
                    let lg = l.log10_abs_grad.expect("non-zero");
                    assert!((v.abs().log10() - lg).abs() <= 1e-12 * lg.abs().max(1.0), "layer {}", l.layer);
                }
            }
            None => assert!(rounded.is_infinite() || (rounded == 0.0 && !g.is_zero()), "layer {}", l.layer),
        }
    }
    if chain.shortcut().is_none() {
        independent_log_sum(&chain, x, target, &report);
    }
    vectorised_magnitudes_agree(&chain, x, target, &report);
    // The table: one row per layer, no bare NaN or inf.
    let table = report.to_markdown();
    let rows = table.lines().filter(|line| line.starts_with("| ") && !line.starts_with("| layer")).count();
    assert_eq!(rows, depth, "one table row per layer:\n{table}");
    assert_no_bare_non_finite(&table);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("the chain report is JSON");
    assert_eq!(json["layers"].as_array().map(Vec::len), Some(depth));
}

/// The largest |log10| of any forward value, activation derivative (from its own `ln |f′|`
/// formula, on the `f64` nearest z), δ or gradient of the chain's exact computation.
fn largest_log10(chain: &Chain, x: f64, target: f64) -> f64 {
    let trace = chain.forward_ext(x);
    let grads = chain.gradients_ext(x, target);
    let finite_abs = |l: f64| if l == f64::NEG_INFINITY { 0.0 } else { l.abs() };
    let mut worst: f64 = 0.0;
    for d in 0..chain.depth() {
        let z = trace.pre_activation[d];
        let ln = chain.activations()[d].ln_abs_derivative(z.to_f64());
        for l in [z.log10_abs(), trace.input[d].log10_abs(), grads.bias[d].log10_abs(), grads.weight[d].log10_abs()] {
            worst = worst.max(finite_abs(l));
        }
        // A smooth activation's f′ is never 0: ln |f′| = −∞ means it is below even f64's logs.
        let smooth = matches!(
            chain.activations()[d],
            Activation::Sigmoid | Activation::Tanh | Activation::Softplus | Activation::Gelu | Activation::Silu
        );
        let never_zero = smooth && ln == f64::NEG_INFINITY;
        worst = worst.max(if ln.is_nan() || never_zero { f64::INFINITY } else { finite_abs(ln * LOG10_E) });
        if z.to_f64().is_infinite() {
            worst = f64::INFINITY;
        }
    }
    worst
}

/// Without a shortcut, ∂L/∂w_d = 2(y−ŷ)·u_d·f′_d(z_d)·∏_{k>d} w_k·f′_k(z_k): its sign and log10
/// are a product of signs and a sum of logs of the (exact) forward values, each factor's log from
/// the activation's own `ln |f′|` formula rather than the backward pass's product. They must
/// agree with the report; the tolerance is a few rounding errors per term of the sum.
fn independent_log_sum(chain: &Chain, x: f64, target: f64, report: &ChainReport) {
    let trace = chain.forward_ext(x);
    let depth = chain.depth();
    let seed = scalar::Ext::from_f64(2.0) * (trace.output - scalar::Ext::from_f64(target));
    // (log10 |factor|, sign) of each factor w_k·f′_k(z_k) and f′_d(z_d), from the top down.
    let derivative = |d: usize| {
        let f = chain.activations()[d];
        // Piecewise-linear derivatives depend on the sign of the exact z only (z may round to 0).
        let smooth = matches!(
            f,
            Activation::Sigmoid | Activation::Tanh | Activation::Softplus | Activation::Gelu | Activation::Silu
        );
        let z = if smooth { trace.pre_activation[d].to_f64() } else { trace.pre_activation[d].signum() };
        // An exact z beyond f64 (the f64 forward pass may still be finite, e.g. 0 where the exact
        // one is not): f′ is at its limit there, 1 for softplus, GELU and SiLU as z → +∞ (the
        // others' limits are 0, beyond Ext's range, and those chains are refused).
        let rises_to_one = matches!(f, Activation::Softplus | Activation::Gelu | Activation::Silu);
        if z == f64::INFINITY && rises_to_one {
            return (0.0, 1.0);
        }
        let ln = f.ln_abs_derivative(z);
        let sign = f.derivative(z).signum();
        // f′ can round to ±0 in f64 while ln |f′| is finite: the sign of f′ is that of the slope
        // for leaky ReLU's z ≤ 0, −1 for GELU and SiLU (whose f′ underflows only far left of its
        // zero) and +1 for every other activation.
        let underflowed = if matches!(f, Activation::Gelu | Activation::Silu) { -1.0 } else { 1.0 };
        let sign = if ln.is_finite() && f.derivative(z) == 0.0 { underflowed } else { sign };
        (ln * LOG10_E, if ln == f64::NEG_INFINITY { 0.0 } else { sign })
    };
    let mut tail_log = seed.log10_abs();
    let mut tail_abs = seed.log10_abs().abs();
    let mut tail_sign = seed.signum();
    for d in (0..depth).rev() {
        let (lf, sf) = derivative(d);
        let u = trace.input[d];
        let log = tail_log + lf + u.log10_abs();
        let sum_abs = tail_abs + lf.abs() + u.log10_abs().abs();
        let sign = tail_sign * sf * u.signum();
        let layer = &report.layers[d];
        if sign == 0.0 || !log.is_finite() {
            assert!(layer.exact_grad.is_zero(), "layer {}: a factor is 0 but the gradient is not: {layer:?}", d + 1);
        } else {
            let got = layer.log10_abs_grad.unwrap_or_else(|| panic!("layer {}: exact 0, but no factor is 0", d + 1));
            let tol = 16.0 * (depth as f64 + 4.0) * f64::EPSILON * sum_abs + 1e-12;
            assert!((got - log).abs() <= tol, "layer {}: log10 |g| {got} vs independent {log} (tol {tol:e})", d + 1);
            assert_eq!(f64::from(layer.sign), sign, "layer {}: sign", d + 1);
        }
        let w = chain.weights()[d];
        tail_log += lf + w.abs().log10();
        tail_abs += lf.abs() + w.abs().log10().abs();
        tail_sign *= sf * w.signum() * f64::from(u8::from(w != 0.0));
        if tail_sign == 0.0 {
            tail_log = f64::NEG_INFINITY;
        }
    }
}

/// `vectorised`'s extended magnitudes (its own forward and backward, in `Scaled`) are finite in
/// log10 or exactly zero, and have the oracle's `Ext` bits (mantissa and exponent): both do the
/// same operations in the same order with one rounding each.
fn vectorised_magnitudes_agree(chain: &Chain, x: f64, target: f64, report: &ChainReport) {
    let acts = chain.activations().iter().map(|&f| vectorised_activation(f)).collect();
    let mut batch = vectorised::ChainBatch::new(1, chain.weights().to_vec(), acts).expect("a valid chain");
    if let Some(b) = chain.biases() {
        batch = batch.with_biases(b.to_vec()).expect("valid biases");
    }
    if let Some(s) = chain.shortcut() {
        let skip = match chain.skip() {
            Skip::PreActivation => vectorised::Skip::PreActivation,
            Skip::Identity => vectorised::Skip::Identity,
        };
        batch = batch.with_shortcut(s).expect("a valid span").with_skip(skip);
    }
    let g = batch.gradients(&[x], &[target], vectorised::Magnitudes::Extended).expect("valid inputs");
    for (d, layer) in report.layers.iter().enumerate() {
        let (ours, exact) = (g.weight_scaled[d], layer.exact_grad);
        let log = ours.log10_abs();
        assert!(log.is_finite() || ours.is_zero(), "layer {}: vectorised log10 {log} of a non-zero value", d + 1);
        let same = (ours.is_zero() && exact.is_zero())
            || (ours.mantissa().to_bits() == exact.mantissa().to_bits() && ours.exponent() == exact.exponent());
        assert!(same, "layer {}: vectorised {ours} vs the oracle's {exact}", d + 1);
    }
}
