//! Batched chains against the `scalar` oracle: the oracle's bits in the exact domain (ReLU,
//! leaky ReLU, identity with dyadic values), named tolerances with their error model for smooth
//! activations, and log-domain magnitudes of depth-10⁵ sigmoid chains; shortcuts in both skip
//! forms (pre-activation and identity) throughout.

use super::chain::{Case, bits, run_on, seeded_case, ulps_f64, with_skip};
use proptest::prelude::*;
use vectorised::{Activation, ChainBatch, ChainGradients, Magnitudes, Skip};

/// One chain's parameters: weights (layer order), biases, x, t.
type ChainParams = (Vec<f64>, Option<Vec<f64>>, f64, f64);

/// One random batch: per-layer activations common to the batch, per-chain parameters.
#[derive(Debug, Clone)]
struct OracleCase {
    activations: Vec<Activation>,
    shortcut: Option<usize>,
    /// Where the shortcut joins.
    skip: Skip,
    /// Per chain: weights (layer order), biases, x, t.
    chains: Vec<ChainParams>,
}

/// k/16 for |k| ≤ `max_k`: exactly representable, with short mantissas.
fn dyadic_strategy(max_k: i32) -> impl Strategy<Value = f64> {
    (-max_k..=max_k).prop_map(|k| k as f64 / 16.0)
}

fn activation_strategy(smooth: bool) -> BoxedStrategy<Activation> {
    let exact = prop_oneof![
        Just(Activation::Relu),
        Just(Activation::Identity),
        (-8i32..=8).prop_map(|k| Activation::LeakyRelu { slope: k as f64 / 8.0 }),
    ];
    if smooth {
        prop_oneof![
            exact,
            Just(Activation::Sigmoid),
            Just(Activation::Tanh),
            Just(Activation::Softplus),
            Just(Activation::Gelu),
            Just(Activation::Silu),
        ]
        .boxed()
    } else {
        exact.boxed()
    }
}

/// One chain's dyadic parameters at depth `depth`: weights |w| ≤ `max_w_k`/16, biases (if
/// `biased`) |b| ≤ 1, x with |x| ≤ 2, t with |t| ≤ 1.
fn chain_params_strategy(depth: usize, biased: bool, max_w_k: i32) -> impl Strategy<Value = ChainParams> {
    (
        prop::collection::vec(dyadic_strategy(max_w_k), depth),
        if biased {
            prop::collection::vec(dyadic_strategy(16), depth).prop_map(Some).boxed()
        } else {
            Just(None).boxed()
        },
        dyadic_strategy(32),
        dyadic_strategy(16),
    )
}

/// Depth 1–12, batch 1–9, with and without biases and shortcuts (in either skip form); dyadic
/// parameters (k/16), weights |w| ≤ `max_w_k`/16.
fn oracle_case_strategy(smooth: bool, max_w_k: i32) -> impl Strategy<Value = OracleCase> {
    let skip = prop_oneof![Just(Skip::PreActivation), Just(Skip::Identity)];
    (1usize..=12, 1usize..=9, any::<bool>(), prop::option::of(1usize..=4), skip).prop_flat_map(
        move |(depth, batch, biased, shortcut, skip)| {
            // The oracle takes spans 1 ≤ s ≤ D.
            let shortcut = shortcut.map(|span| span.min(depth));
            let chain = chain_params_strategy(depth, biased, max_w_k);
            (prop::collection::vec(activation_strategy(smooth), depth), prop::collection::vec(chain, batch))
                .prop_map(move |(activations, chains)| OracleCase { activations, shortcut, skip, chains })
        },
    )
}

/// The vectorised engine's view of an oracle case.
fn engine_gradients(case: &OracleCase, magnitudes: Magnitudes) -> ChainGradients<f64> {
    let s = case.chains.len();
    let d = case.activations.len();
    let layer_major = |f: &dyn Fn(&ChainParams, usize) -> f64| -> Vec<f64> {
        (0..d * s).map(|q| f(&case.chains[q % s], q / s)).collect()
    };
    let mut batch = ChainBatch::new(s, layer_major(&|c, l| c.0[l]), case.activations.clone()).unwrap();
    if case.chains[0].1.is_some() {
        batch = batch.with_biases(layer_major(&|c, l| c.1.as_ref().unwrap()[l])).unwrap();
    }
    if let Some(span) = case.shortcut {
        batch = batch.with_shortcut(span).unwrap().with_skip(case.skip);
    }
    let x: Vec<f64> = case.chains.iter().map(|c| c.2).collect();
    let t: Vec<f64> = case.chains.iter().map(|c| c.3).collect();
    run_on(&Case { batch, inputs: x, targets: t }, 2, magnitudes)
}

impl OracleCase {
    fn oracle_activations(&self) -> Vec<scalar::Activation> {
        self.activations.iter().map(|&a| super::to_oracle(a)).collect()
    }
}

fn oracle_chain_of(case: &OracleCase, chain: usize) -> scalar::chain::Chain {
    let (w, b, _, _) = &case.chains[chain];
    scalar::chain::Chain::new(w.clone(), case.oracle_activations(), b.clone(), case.shortcut)
        .unwrap()
        .with_skip(super::to_oracle_skip(case.skip))
}

/// Scale of the difference between two evaluations of a chain's gradients that round
/// differently (the engine's sigmoid is its own; everything else follows the oracle's formulas),
/// to first order, in units of ε: ∂L/∂w_l = δ_l·a_l differs by at most a small multiple of
/// ε·scale_l. Every recurrence below runs on absolute values, so no cancellation hides a term.
///
/// * Forward, what a_l and z_l may differ by (F): a_0 = x is exact; forming z_l rounds terms of
///   size Z_l = |w_l·a_l| + |b_l| (+ |a_{l+1−s}| where a shortcut enters), and the activation
///   rounds a_{l+1} once more: Fz_l = |w_l|·Fa_l (+ Fa_{l+1−s}) + Z_l, Fa_{l+1} = |f′(z_l)|·Fz_l +
///   |a_{l+1}|. Where z_l cancels (Z_l ≫ |z_l|), a_{l+1} keeps the error of the terms, not of
///   its own size: this is what a purely backward scale misses.
/// * Backward rounding (A), with the loss seed 2(|y| + |t|) since y − t may cancel:
///   A_{D−1} = |f′|·2(|y|+|t|), A_l = |f′(z_l)|·(A_{l+1}·|w_{l+1}| + A_{l+s}).
/// * Backward, what δ inherits from the forward (B): G_l = |∂L/∂a_{l+1}| and |δ_l| = |f′|·G_l
///   as magnitudes; δ's seed differs by 2·Fa_D, f′(z_l) by sup|f″|·Fz_l (sup|f″| ≤ 1 for
///   sigmoid, tanh and softplus, 0 for the piecewise-linear ones, whose kinks are not modelled):
///   B_l = |f′(z_l)|·(|w_{l+1}|·B_{l+1} + B_{l+s}) + sup|f″_l|·Fz_l·G_l.
///
/// scale_l = A_l·|a_l| + |δ_l|·Fa_l + B_l·|a_l|; for ∂L/∂x = w_0·δ_0 (+ δ_{s−1}), the same
/// with |w_0|· and the shortcut's δ.
///
/// The identity skip adds a_{l+1−s} after the activation instead: Fz_l = |w_l|·Fa_l + Z_l with
/// Z_l = |w_l·a_l| + |b_l|, and Fa_{l+1} = |f′(z_l)|·Fz_l + |f(z_l)| + Fa_{l+1−s} + |a_{l+1−s}|
/// (each term of the sum rounded once more); backward, the skipped path carries the terms of
/// ∂L/∂a_{l+s} (before its f′) where the pre-activation form carries those of δ_{l+s−1}.
fn error_scale(case: &OracleCase, chain: usize) -> (Vec<f64>, f64) {
    let oracle = oracle_chain_of(case, chain);
    let acts = case.oracle_activations();
    let (w, b, x, t) = &case.chains[chain];
    let trace = oracle.forward(*x);
    let d = w.len();
    // a_0 … a_D; a shortcut enters layer l (0-based) from a_{l+1−s} when s divides l + 1.
    let mut a = trace.input.clone();
    a.push(trace.output);
    let shortcut_from = |l: usize| case.shortcut.filter(|&s| (l + 1).is_multiple_of(s)).map(|s| l + 1 - s);
    let bias = |l: usize| b.as_ref().map_or(0.0, |b| b[l]);
    let f1 = |l: usize| acts[l].derivative(trace.pre_activation[l]).abs();
    let f2 = |l: usize| match acts[l] {
        // |f″| ≤ 1 for these (GELU″ = φ(z)(2 − z²) ≤ 2φ(0) ≈ 0.80, SiLU″ ≤ 0.5 at z = 0).
        scalar::Activation::Sigmoid
        | scalar::Activation::Tanh
        | scalar::Activation::Softplus
        | scalar::Activation::Gelu
        | scalar::Activation::Silu => 1.0,
        _ => 0.0,
    };

    let identity = case.skip == Skip::Identity;
    let (mut fa, mut fz) = (vec![0.0; d + 1], vec![0.0; d]);
    for l in 0..d {
        let from = shortcut_from(l);
        if identity {
            fz[l] = w[l].abs() * fa[l] + (w[l] * a[l]).abs() + bias(l).abs();
            let value = acts[l].value(trace.pre_activation[l]).abs();
            fa[l + 1] = f1(l) * fz[l] + value + from.map_or(0.0, |k| fa[k] + a[k].abs());
        } else {
            let terms = (w[l] * a[l]).abs() + bias(l).abs() + from.map_or(0.0, |k| a[k].abs());
            fz[l] = w[l].abs() * fa[l] + from.map_or(0.0, |k| fa[k]) + terms;
            fa[l + 1] = f1(l) * fz[l] + a[l + 1].abs();
        }
    }

    // Backward, layer D − 1 down to 0: A (rounding), |δ| (a magnitude; G is `acc_g`), B
    // (inherited); `before_f` keeps each layer's (A, G, B) before its f′, the terms of ∂L/∂a.
    let (mut big_a, mut delta, mut big_b) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
    let mut before_f = vec![(0.0, 0.0, 0.0); d];
    for l in (0..d).rev() {
        let (mut acc_a, mut acc_g, mut acc_b) = if l + 1 == d {
            (2.0 * (trace.output.abs() + t.abs()), 2.0 * (trace.output - t).abs(), 2.0 * fa[d])
        } else {
            (big_a[l + 1] * w[l + 1].abs(), delta[l + 1] * w[l + 1].abs(), big_b[l + 1] * w[l + 1].abs())
        };
        // a_{l+1} also enters layer l + s (0-based l + s) through a shortcut.
        if let Some(s) = case.shortcut
            && l + s < d
            && shortcut_from(l + s) == Some(l + 1)
        {
            let (ja, jg, jb) = if identity { before_f[l + s] } else { (big_a[l + s], delta[l + s], big_b[l + s]) };
            acc_a += ja;
            acc_g += jg;
            acc_b += jb;
        }
        before_f[l] = (acc_a, acc_g, acc_b);
        big_a[l] = f1(l) * acc_a;
        delta[l] = f1(l) * acc_g;
        big_b[l] = f1(l) * acc_b + f2(l) * fz[l] * acc_g;
    }
    let scale = (0..d).map(|l| (big_a[l] + big_b[l]) * a[l].abs() + delta[l] * fa[l]).collect();
    let mut input = (big_a[0] + big_b[0]) * w[0].abs();
    if let Some(s) = case.shortcut
        && s <= d
    {
        let (ja, _, jb) = if identity { before_f[s - 1] } else { (big_a[s - 1], 0.0, big_b[s - 1]) };
        input += ja + jb;
    }
    (scale, input)
}

/// Tolerance, in units of ε = 2⁻⁵³ times the error scale above, for chains with sigmoid, tanh or
/// softplus layers. Only the sigmoid differs from the oracle's (its exp is the engine's own,
/// ≤ `EXP_F64_MAX_ULPS` from libm's, and 1/(1+e) comes from Newton steps: σ and σ′ within about
/// 2 ulps); tanh and softplus use libm with the oracle's formulas. Each term of the scale stands
/// for one rounding or one such difference, carried to the gradient; the tolerance is the few
/// ulps of each, times the terms that could line up. A scale of backward terms alone is not
/// enough where z cancels (1.3125·0.762… − 1: the case in the regression file).
const SMOOTH_CHAIN_TOL_EPS: f64 = 64.0;

/// Max ulps between the engine's and the oracle's ∂L/∂w on sigmoid chains of depth ≤ 3 with
/// |w| ≤ 3, no shortcut or bias, and targets t ∈ [−2, −1] so that y − t ≥ 1 cannot cancel: per
/// layer σ′ differs by ≤ 2 ulps and z (hence σ′ again) by the forward's σ difference, times up
/// to three layers and the products that combine them.
const SIGMOID_SHALLOW_MAX_ULPS: u64 = 16;

/// |log10|g|_engine − log10|g|_oracle| on depth-100,000 sigmoid chains: each layer's σ′ agrees
/// to a few ulps (same libm formula on z that differ by the forward's ulps), so the relative
/// error grows about linearly, ~10⁵ × 4·2⁻⁵³ ≈ 4e−11, i.e. ~2e−11 in log10.
const DEEP_LOG10_TOL: f64 = 1e-9;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Dyadic parameters through ReLU, leaky ReLU (dyadic slope) and identity: only + and ×,
    /// in the oracle's order, so every output has the oracle's bits.
    #[test]
    fn exact_chains_have_the_oracles_bits(case in oracle_case_strategy(false, 32)) {
        let g = engine_gradients(&case, Magnitudes::Extended);
        let s = case.chains.len();
        for c in 0..s {
            let (_, _, x, t) = case.chains[c];
            let closed = oracle_chain_of(&case, c).gradients_closed_form(x, t);
            let tape = oracle_chain_of(&case, c).gradients_tape(x, t);
            let ext = oracle_chain_of(&case, c).gradients_ext(x, t);
            prop_assert_eq!(g.output[c].to_bits(), closed.output.to_bits());
            prop_assert_eq!(g.loss[c].to_bits(), closed.loss.to_bits());
            prop_assert_eq!(g.input[c].to_bits(), closed.input.to_bits(), "input, chain {}", c);
            prop_assert_eq!(bits(&g.chain_weight(c)), bits(&closed.weight), "weights, chain {}", c);
            // The tape accumulates adjoints starting from +0, so where a gradient is zero its sign
            // may differ from the closed form's (−0 vs +0); values are compared, not bits.
            prop_assert_eq!(g.chain_weight(c), tape.weight.clone(), "tape, chain {}", c);
            if !g.bias.is_empty() {
                let bias: Vec<f64> = (0..case.activations.len()).map(|l| g.bias[l * s + c]).collect();
                prop_assert_eq!(bits(&bias), bits(&closed.bias));
            }
            for (l, e) in ext.weight.iter().enumerate() {
                let ours = g.weight_scaled[l * s + c];
                prop_assert_eq!(ours.to_f64().to_bits(), e.to_f64().to_bits(), "scaled, layer {}", l);
            }
        }
    }

    #[test]
    fn smooth_chains_match_the_oracle_within_named_tolerance(case in oracle_case_strategy(true, 32)) {
        let g = engine_gradients(&case, Magnitudes::Plain);
        let s = case.chains.len();
        let eps = f64::EPSILON / 2.0;
        for c in 0..s {
            let (_, _, x, t) = case.chains[c];
            let oracle = oracle_chain_of(&case, c).gradients_closed_form(x, t);
            let (scale, input_scale) = error_scale(&case, c);
            for (l, (&want, &sc)) in oracle.weight.iter().zip(&scale).enumerate() {
                let got = g.weight_at(l, c);
                let err = (got - want).abs() / (sc * eps);
                prop_assert!(got == want || err <= SMOOTH_CHAIN_TOL_EPS,
                    "chain {} layer {}: {:e} vs {:e} ({} ε of scale {:e})", c, l, got, want, err, sc);
            }
            let err = (g.input[c] - oracle.input).abs() / (input_scale * eps);
            prop_assert!(g.input[c] == oracle.input || err <= SMOOTH_CHAIN_TOL_EPS, "input: {} ε", err);
        }
    }

    #[test]
    fn shallow_sigmoid_chains_are_within_named_ulps_of_the_oracle(
        w in prop::collection::vec(dyadic_strategy(48), 1..=3),
        x in dyadic_strategy(32),
        t in (-32i32..=-16).prop_map(|k| k as f64 / 16.0),
    ) {
        let d = w.len();
        let batch = ChainBatch::new(1, w.clone(), vec![Activation::Sigmoid; d]).unwrap();
        let g = batch.gradients(&[x], &[t], Magnitudes::Plain).unwrap();
        let oracle = scalar::chain::Chain::new(w, vec![scalar::Activation::Sigmoid; d], None, None)
            .unwrap()
            .gradients_closed_form(x, t);
        for (l, &want) in oracle.weight.iter().enumerate() {
            let got = g.weight_at(l, 0);
            prop_assert!(ulps_f64(got, want) <= SIGMOID_SHALLOW_MAX_ULPS,
                "layer {}: {:e} vs {:e}: {} ulps", l, got, want, ulps_f64(got, want));
        }
    }
}

/// Depth 1,000–10,000 (far past `f64`'s range: a sigmoid layer scales the gradient by
/// σ′ ≤ 1/4, so 1,000 of them reach 10^−602 or below), batch 1–3, every activation (one per
/// layer), with and without biases, shortcuts in both skip forms; dyadic parameters as above.
fn deep_case_strategy() -> impl Strategy<Value = OracleCase> {
    let skip = prop_oneof![Just(Skip::PreActivation), Just(Skip::Identity)];
    (1_000usize..=10_000, 1usize..=3, any::<bool>(), prop::option::of(1usize..=4), skip).prop_flat_map(
        |(depth, batch, biased, shortcut, skip)| {
            let chain = chain_params_strategy(depth, biased, 32);
            (prop::collection::vec(activation_strategy(true), depth), prop::collection::vec(chain, batch))
                .prop_map(move |(activations, chains)| OracleCase { activations, shortcut, skip, chains })
        },
    )
}

/// Whether two extended-range values have the same bits (mantissa, sign of zero included, and
/// exponent).
fn same_bits(ours: vectorised::chain::scaled::Scaled, oracle: scalar::Ext) -> bool {
    ours.mantissa().to_bits() == oracle.mantissa().to_bits() && ours.exponent() == oracle.exponent()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The engine's extended pass (the block's chains as lanes of mantissa and exponent rows)
    /// does the oracle's `forward_ext` / `backward_ext` operations in the oracle's order: every
    /// ∂L/∂w_d, ∂L/∂b_d, ∂L/∂a_d, u_d and y has the oracle's bits, also where they are far
    /// outside `f64`'s range.
    #[test]
    fn extended_signals_have_the_oracles_bits(case in deep_case_strategy()) {
        let g = engine_gradients(&case, Magnitudes::ExtendedSignals);
        for c in 0..case.chains.len() {
            let (_, biases, x, t) = &case.chains[c];
            let oracle = oracle_chain_of(&case, c);
            let trace = oracle.forward_ext(*x);
            let want = oracle.backward_ext(&trace, *t);
            prop_assert!(same_bits(g.output_scaled[c], trace.output), "chain {}: y {} vs {}", c, g.output_scaled[c], trace.output);
            for l in 0..case.activations.len() {
                let q = g.index(l, c);
                prop_assert!(same_bits(g.weight_scaled[q], want.weight[l]), "chain {} layer {}: ∂L/∂w {} vs {}", c, l + 1, g.weight_scaled[q], want.weight[l]);
                prop_assert!(same_bits(g.layer_output_scaled[q], want.layer_output[l]), "chain {} layer {}: ∂L/∂a {} vs {}", c, l + 1, g.layer_output_scaled[q], want.layer_output[l]);
                prop_assert!(same_bits(g.layer_input_scaled[q], trace.input[l]), "chain {} layer {}: u {} vs {}", c, l + 1, g.layer_input_scaled[q], trace.input[l]);
                if biases.is_some() {
                    prop_assert!(same_bits(g.bias_scaled[q], want.bias[l]), "chain {} layer {}: ∂L/∂b {} vs {}", c, l + 1, g.bias_scaled[q], want.bias[l]);
                }
            }
        }
    }
}

#[test]
fn deep_sigmoid_log_magnitudes_match_the_oracle() {
    // Depth 100,000: gradients near 10^−60,000 at the input side.
    let d = 100_000;
    let s = 2;
    let case = seeded_case::<f64>(s, vec![Activation::Sigmoid; d], false, None);
    let g = run_on(&case, 2, Magnitudes::Extended);
    let weights = case.batch.weights();
    let mut worst: f64 = 0.0;
    for c in 0..s {
        let w: Vec<f64> = (0..d).map(|l| weights[l * s + c]).collect();
        let oracle = scalar::chain::Chain::new(w, vec![scalar::Activation::Sigmoid; d], None, None)
            .unwrap()
            .magnitudes(case.inputs[c], case.targets[c]);
        assert!(oracle.log10_abs[0] < -50_000.0, "{}", oracle.log10_abs[0]);
        for l in 0..d {
            let ours = g.weight_scaled[l * s + c];
            assert_eq!(ours.signum() as i8, oracle.sign[l], "sign at layer {l}");
            worst = worst.max((ours.log10_abs() - oracle.log10_abs[l]).abs());
        }
        eprintln!("chain {c}: log10|g_1| = {:.3}", g.weight_scaled[c].log10_abs());
    }
    eprintln!("deep sigmoid: worst |Δlog10| = {worst:e}");
    assert!(worst <= DEEP_LOG10_TOL, "worst {worst:e}");
}

#[test]
fn deep_identity_skip_sigmoid_log_magnitudes_match_the_oracle() {
    // Depth 19,998 = 3·6666, span 3, the identity skip, so the output layer is one the skip
    // joins: the skipped path keeps the gradient from vanishing, while inside the branches the
    // σ′ of units reading the growing skipped signal leave f64 far behind (Extended must agree
    // where the values are ordinary and where they are not).
    let (d, s, span) = (19_998, 2, 3);
    let case = with_skip(seeded_case::<f64>(s, vec![Activation::Sigmoid; d], false, Some(span)), Skip::Identity);
    let g = run_on(&case, 2, Magnitudes::Extended);
    let weights = case.batch.weights();
    for c in 0..s {
        let w: Vec<f64> = (0..d).map(|l| weights[l * s + c]).collect();
        let oracle = scalar::chain::Chain::new(w, vec![scalar::Activation::Sigmoid; d], None, Some(span))
            .unwrap()
            .with_skip(scalar::Skip::Identity)
            .magnitudes(case.inputs[c], case.targets[c]);
        for l in 0..d {
            let ours = g.weight_scaled[l * s + c];
            let exact = oracle.exact[l];
            let same = (ours.is_zero() && exact.is_zero())
                || (ours.mantissa().to_bits() == exact.mantissa().to_bits() && ours.exponent() == exact.exponent());
            assert!(same, "chain {c} layer {}: {ours} vs the oracle's {exact}", l + 1);
        }
        // At the layers the skip joins (s | d), the gradient has not decayed like (1/4)^D
        // (10^−12,000 at this depth): halfway down it is within 30 decades of the output's.
        let (top, joined) = (oracle.log10_abs[d - 1], oracle.log10_abs[span * (d / span / 2) - 1]);
        assert!(joined - top > -30.0, "chain {c}: log10 |∂L/∂w| = {joined} halfway down, {top} at the output");
    }
}
