//! `report check` against a correct backprop written independently of the oracle: the engine's
//! `f64` gradients (its own kernels, products in another order, its own `exp`) must pass the
//! check's default tolerances on random networks — every activation, loss and shortcut form the
//! dense suites draw — and its `f32` gradients the `f32` preset (on activations without a kink,
//! where f32 and f64 may take different branches). A failure here is a false alarm the check would raise on a user's correct
//! code; `crates/report/tests/it/check.rs` shows the wrong gradients it catches.

use super::dense::general_case_strategy;
use proptest::prelude::*;
use report::model::{ClaimedGradients, ClaimedLayer, Model};
use report::reference::{Tolerance, check_gradients_against, model_gradients};
use vectorised::dense::Workspace;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_engines_gradients_pass_the_check(case in general_case_strategy()) {
        let model = Model::new(case.oracle_net(), case.input.clone(), case.target.clone(), case.oracle_loss()).unwrap();
        // The same refusals as `report check` (a forward pass that overflows): no gradients to compare.
        let Ok(reference) = model_gradients(&model) else { return Ok(()) };
        let got = case.fast::<f64>(&mut Workspace::new());
        let layers = got
            .weight
            .iter()
            .zip(&got.bias)
            .map(|(w, b)| {
                // The engine's n_in × n_out row-major as the model's [out][in] rows.
                let n_out = b.len();
                let n_in = w.len() / n_out;
                let weight_grad = (0..n_out).map(|j| (0..n_in).map(|i| w[i * n_out + j]).collect()).collect();
                ClaimedLayer { weight_grad, bias_grad: Some(b.clone()) }
            })
            .collect();
        let theirs = ClaimedGradients { loss: Some(got.loss), layers };
        let report = check_gradients_against(&model, &reference, &theirs, Tolerance::default()).unwrap();
        prop_assert!(report.pass, "{report}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_engines_f32_gradients_pass_the_f32_check(case in super::dense::smooth_case_strategy()) {
        let model = Model::new(case.oracle_net(), case.input.clone(), case.target.clone(), case.oracle_loss()).unwrap();
        let Ok(reference) = model_gradients(&model) else { return Ok(()) };
        let got = case.fast::<f32>(&mut Workspace::new());
        let layers = got
            .weight
            .iter()
            .zip(&got.bias)
            .map(|(w, b)| {
                let n_out = b.len();
                let n_in = w.len() / n_out;
                let weight_grad = (0..n_out).map(|j| (0..n_in).map(|i| f64::from(w[i * n_out + j])).collect()).collect();
                ClaimedLayer { weight_grad, bias_grad: Some(b.iter().map(|&v| f64::from(v)).collect()) }
            })
            .collect();
        let theirs = ClaimedGradients { loss: Some(f64::from(got.loss)), layers };
        let report = check_gradients_against(&model, &reference, &theirs, Tolerance::f32()).unwrap();
        prop_assert!(report.pass, "{report}");
    }
}
