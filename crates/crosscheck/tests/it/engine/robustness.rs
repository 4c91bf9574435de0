//! Findings of the fuzz targets (`fuzz/`), kept as named regression tests with their root cause.

use proptest::prelude::*;
use scalar::Ext;
use scalar::chain::Chain;
use vectorised::{Activation, ChainBatch, Magnitudes, Scaled};

/// Same value and same representation (mantissa bits and exponent), zeros of either sign equal.
fn same(ours: Scaled, oracle: Ext) -> bool {
    (ours.is_zero() && oracle.is_zero())
        || (ours.mantissa().to_bits() == oracle.mantissa().to_bits() && ours.exponent() == oracle.exponent())
}

/// Found by the `chain_magnitudes_are_exact_or_refused` fuzz target (seed
/// `regression-vectorised-subnormal-forward`). Root cause: `ChainBatch` ran the forward pass in
/// plain `f64` and only the backward pass in `Scaled`, so where activations underflowed `f64`
/// (here a_2 = 1e−600 became 0) the "extended" gradient was a false exact 0, and where they were
/// subnormal it lost digits. Fixed: the extended pass carries the forward pass in `Scaled` too,
/// as the oracle does in `Ext`.
#[test]
fn extended_magnitudes_stay_exact_when_the_f64_forward_underflows() {
    let (w, acts) = (vec![1e-300, 1e-300, 1.0], vec![Activation::Relu; 3]);
    let batch = ChainBatch::new(1, w.clone(), acts).unwrap();
    let g = batch.gradients(&[1.0], &[1.0], Magnitudes::Extended).unwrap();
    let w3 = g.weight_scaled[2];
    assert!(!w3.is_zero(), "layer 3: a false exact 0");
    // y = a_2 = a_3 ≈ 1e−600, so ∂L/∂w_3 = 2(y − 1)·a_2 ≈ −2e−600.
    assert_eq!(w3.signum(), -1.0);
    assert!((w3.log10_abs() - (2f64.log10() - 600.0)).abs() < 1e-12, "{w3}");
    let oracle = Chain::new(w, vec![scalar::Activation::Relu; 3], None, None).unwrap().gradients_ext(1.0, 1.0);
    for (l, (&ours, &exact)) in g.weight_scaled.iter().zip(&oracle.weight).enumerate() {
        assert!(same(ours, exact), "layer {}: {ours} vs the oracle's {exact}", l + 1);
    }
}

/// ±m·2^k with m in [1, 2) and k in ±`max_k`: values from deep in the subnormals (and below, as
/// products) to near `f64::MAX`.
fn extreme(max_k: i32) -> impl Strategy<Value = f64> {
    (any::<bool>(), 1.0f64..2.0, -max_k..=max_k).prop_map(|(neg, m, k)| {
        let v = m * 2f64.powi(k);
        if neg { -v } else { v }
    })
}

/// (activations, shortcut, per chain: weights, biases, x, t).
type ExtremeCase = (Vec<Activation>, Option<usize>, Vec<(Vec<f64>, Option<Vec<f64>>, f64, f64)>);

fn extreme_case() -> impl Strategy<Value = ExtremeCase> {
    (1usize..=12, 1usize..=5, any::<bool>(), prop::option::of(1usize..=4)).prop_flat_map(|(d, s, biased, span)| {
        let bias =
            if biased { prop::collection::vec(extreme(1000), d).prop_map(Some).boxed() } else { Just(None).boxed() };
        let chain = (prop::collection::vec(extreme(1000), d), bias, extreme(1000), extreme(4));
        (
            prop::collection::vec(super::any_activation(2.0), d),
            Just(span.map(|s| s.min(d))),
            prop::collection::vec(chain, s),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Extreme parameters (|w| up to 2^±1000, so activations underflow and overflow `f64` within a
    /// layer or two), every activation, biases, shortcuts: the extended gradients have the
    /// oracle's `Ext` bits, chain by chain, wherever the oracle accepts the chain.
    #[test]
    fn extended_magnitudes_have_the_oracles_bits_beyond_f64((acts, span, chains) in extreme_case()) {
        let (s, d) = (chains.len(), acts.len());
        let layer_major = |f: &dyn Fn(usize, usize) -> f64| (0..d * s).map(|q| f(q % s, q / s)).collect::<Vec<_>>();
        let mut batch = ChainBatch::new(s, layer_major(&|c, l| chains[c].0[l]), acts.clone()).unwrap();
        if chains[0].1.is_some() {
            batch = batch.with_biases(layer_major(&|c, l| chains[c].1.as_ref().unwrap()[l])).unwrap();
        }
        if let Some(span) = span {
            batch = batch.with_shortcut(span).unwrap();
        }
        let x: Vec<f64> = chains.iter().map(|c| c.2).collect();
        let t: Vec<f64> = chains.iter().map(|c| c.3).collect();
        let g = batch.gradients(&x, &t, Magnitudes::Extended).unwrap();
        let oracle_acts: Vec<_> = acts.iter().map(|&a| super::to_oracle(a)).collect();
        for (c, (w, b, x, t)) in chains.iter().enumerate() {
            let oracle = Chain::new(w.clone(), oracle_acts.clone(), b.clone(), span).unwrap().gradients_ext(*x, *t);
            for l in 0..d {
                let ours = g.weight_scaled[l * s + c];
                prop_assert!(same(ours, oracle.weight[l]), "chain {} layer {}: {} vs {}", c, l + 1, ours, oracle.weight[l]);
                if b.is_some() {
                    let ours = g.bias_scaled[l * s + c];
                    prop_assert!(same(ours, oracle.bias[l]), "chain {} layer {} bias: {} vs {}", c, l + 1, ours, oracle.bias[l]);
                }
            }
        }
    }
}

/// Found by `extended_magnitudes_have_the_oracles_bits_beyond_f64` (its first committed
/// regression case). Root cause: `Scaled::from_ln(−3.7e18)` (softplus′ at z = −3.7·10¹⁸ is
/// e^z) converted −5.3·10¹⁸ to an `i64` exponent and overflowed adding to it: a panic in debug,
/// a wrapped, wildly wrong magnitude in release. `Scaled` now saturates beyond 2^±2⁶² to 0 or ±∞
/// like the oracle's `Ext` (and `report::reference` refuses such chains).
#[test]
fn scaled_saturates_instead_of_overflowing_its_exponent() {
    assert!(Scaled::from_ln(-3.675274189505609e18).is_zero());
    assert!(Scaled::from_ln(3.675274189505609e18).mantissa().is_infinite());
    let batch = ChainBatch::new(1, vec![1.0], vec![Activation::Softplus]).unwrap();
    let g = batch.gradients(&[-3.675274189505609e18], &[1.0], Magnitudes::Extended).unwrap();
    assert!(g.weight_scaled[0].is_zero(), "{}", g.weight_scaled[0]);
}
