//! Known limitations found by fuzzing (`fuzz/`), kept as named tests with their root cause.

use vectorised::{Activation, ChainBatch, Magnitudes};

/// Found by the `chain_magnitudes_are_exact_or_refused` fuzz target (seed
/// `regression-vectorised-subnormal-forward`). Root cause: `ChainBatch` runs the forward pass in
/// plain `f64` and only the backward pass in `Scaled`, so where activations underflow `f64`
/// (here u_3 = 1e−600 becomes 0) the "extended" gradient is a false exact 0, and where they are
/// subnormal it loses digits (log10 off by up to 300 decades in the fuzzer's cases). The oracle's
/// `Ext` forward pass gives 2·(y − t)·u_3 ≠ 0. Ignored until the engine's extended mode carries
/// the forward pass in `Scaled` too; the fuzz target checks agreement only where the `f64`
/// forward pass is exact.
#[test]
#[ignore = "known limitation of Magnitudes::Extended: the forward pass is plain f64"]
fn extended_magnitudes_stay_exact_when_the_f64_forward_underflows() {
    let batch = ChainBatch::new(1, vec![1e-300, 1e-300, 1.0], vec![Activation::Relu; 3]).unwrap();
    let g = batch.gradients(&[1.0], &[1.0], Magnitudes::Extended).unwrap();
    assert!(!g.weight_scaled[2].is_zero(), "layer 3: a false exact 0");
}
