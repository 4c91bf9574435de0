//! `check`'s scale where the error estimate of the backward pass overflows `f64` while the
//! gradients do not.

use report::model::{ClaimedGradients, Model};
use report::reference::{Tolerance, check_gradients, model_gradients};

/// Identity layers: the second layer's units reach each first-layer unit through ±10⁸⁰, under
/// equal adjoints (the last layer's weights are equal), so layer 1's δ's sums are
/// 10⁸⁰·δ₂ − 10⁸⁰·δ₂ = 0 with terms of 10¹⁶⁰, whose square overflows the estimate's variance. The
/// forward pass stays finite: a₂'s two units are exact negatives, so y = 0.
fn cancelling(layer_1_claim: Option<f64>) -> report::reference::CheckReport {
    let model = Model::from_json(
        r#"{"layers": [
            {"weight": [[0.5], [0.25]], "activation": "identity"},
            {"weight": [[1e80, 1e80], [-1e80, -1e80]], "activation": "identity"},
            {"weight": [[1e80, 1e80]], "activation": "identity"}],
          "input": [[0.75]], "target": [[0.5]]}"#,
        "m.json",
    )
    .unwrap();
    let reference = model_gradients(&model).unwrap();
    assert!(reference.layers[0].weight_grad.iter().flatten().all(|&v| v == 0.0));
    let mut theirs = ClaimedGradients::from(&reference);
    if let Some(v) = layer_1_claim {
        theirs.layers[0].weight_grad[0][0] = v;
    }
    check_gradients(&model, &theirs, Tolerance::default()).unwrap()
}

/// Where the estimate overflows, the layer's scale is Σ_b |∂L_b/∂θ| alone (here 0, the gradients
/// being exactly 0), not ∞, under which any claim would pass.
#[test]
fn an_estimate_that_overflows_leaves_the_samples_scale() {
    let report = cancelling(None);
    assert!(report.pass, "{report}");
    assert_eq!(report.layers[0].scale, 0.0);
    assert!(report.layers[1..].iter().all(|l| l.scale.is_finite() && l.scale > 0.0), "{report}");
    let report = cancelling(Some(1.0));
    assert_eq!(report.first_wrong_layer, Some(1), "{report}");
}
