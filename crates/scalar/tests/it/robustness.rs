//! Regressions found by fuzzing (`fuzz/`), each with its root cause.

use scalar::{Activation, Ext};

/// Found by the `chain_magnitudes_are_exact_or_refused` fuzz target. Root cause: `value_ext`
/// took σ(z) and softplus(z) from the `f64` formula whenever z is a normal `f64`, so for
/// z < −745 the exact forward value was 0 (and a chain's next gradient a false exact 0). Both
/// are e^z to a relative e^z there, now taken from the logarithm.
#[test]
fn sigmoid_and_softplus_values_below_f64_stay_exact_in_ext() {
    for f in [Activation::Sigmoid, Activation::Softplus] {
        for z in [-746.0, -1e4, -1e10, -1e18] {
            let v = f.value_ext(Ext::from_f64(z));
            assert!(!v.is_zero(), "{f:?}({z}) is 0");
            let want = z * std::f64::consts::LOG10_E;
            assert!((v.log10_abs() - want).abs() <= 1e-12 * want.abs(), "{f:?}({z}): {}", v.log10_abs());
        }
        // Where the f64 value is normal, the same bits as before.
        assert_eq!(f.value_ext(Ext::from_f64(-700.0)).to_f64(), f.value(-700.0));
    }
}
