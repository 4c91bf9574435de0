//! `diagnose` of networks with a layer normalisation, measured by the engine: the oracle's
//! measurements ([`diagnose_on_the_oracle`]) are the engine's on every verdict's network and on
//! normalised ones (γ and β included); on a deep tanh network with large weights a normalisation
//! of each Linear output turns `saturated` into `healthy`; the normalisations' γ and β norms are
//! those of `grad`'s gradients, in the table and the JSON, and only for the layers that normalise.

use crate::cli_run::report;
use crate::diagnose::{batch, model};
use report::diagnosis::{DiagnosisReport, Verdict, diagnose, diagnose_on_the_oracle};
use report::model::Model;
use serde_json::{Value, json};

/// Two diagnoses of one model agree: the same verdict, layer and non-finite value, fractions
/// counted alike, and the same norms, RMS and gains to rounding.
fn assert_same(engine: &DiagnosisReport, oracle: &DiagnosisReport, what: &str) {
    assert_eq!(
        (engine.verdict, engine.from_layer, engine.non_finite),
        (oracle.verdict, oracle.from_layer, oracle.non_finite),
        "{what}"
    );
    assert_eq!(engine.evidence.map(|e| e.layer), oracle.evidence.map(|e| e.layer), "{what}");
    let close = |a: Option<f64>, b: Option<f64>, tol: f64, field: &str| match (a, b) {
        (Some(a), Some(b)) if a.is_finite() || b.is_finite() => {
            assert!((a - b).abs() <= tol * a.abs().max(1.0), "{what} {field}: {a} against {b}")
        }
        (a, b) => assert_eq!(a.map(f64::is_finite), b.map(f64::is_finite), "{what} {field}"),
    };
    close(Some(engine.input_rms), Some(oracle.input_rms), 1e-13, "input RMS");
    for (e, o) in engine.layers.iter().zip(&oracle.layers) {
        let field = |name: &str| format!("layer {} {name}", e.layer);
        close(e.log10_weight_grad_norm, o.log10_weight_grad_norm, 1e-10, &field("log10 ‖∂L/∂W‖"));
        close(e.log10_bias_grad_norm, o.log10_bias_grad_norm, 1e-10, &field("log10 ‖∂L/∂b‖"));
        close(e.log10_delta_norm, o.log10_delta_norm, 1e-10, &field("log10 ‖∂L/∂z‖"));
        close(e.log10_gain, o.log10_gain, 1e-10, &field("log10 gain"));
        close(e.predicted_gain, o.predicted_gain, 1e-10, &field("predicted gain"));
        close(Some(e.activation_rms), Some(o.activation_rms), 1e-12, &field("RMS"));
        assert_eq!(e.norm.is_some(), o.norm.is_some(), "{what} {}", field("norm"));
        if let (Some(en), Some(on)) = (e.norm, o.norm) {
            close(en.log10_weight_grad_norm, on.log10_weight_grad_norm, 1e-10, &field("log10 ‖∂L/∂γ‖"));
            close(en.log10_bias_grad_norm, on.log10_bias_grad_norm, 1e-10, &field("log10 ‖∂L/∂β‖"));
        }
        assert_eq!(
            (e.saturated_fraction, e.dead_fraction),
            (o.saturated_fraction, o.dead_fraction),
            "{what} {}",
            field("fractions")
        );
    }
}

#[test]
fn the_oracles_measurements_are_the_engines_on_every_verdicts_network() {
    let cases = [
        ("non_finite", model(6, 4, 1e100, 0.0, "identity", "identity", &batch(4))),
        ("forward_collapse", model(4, 4, 0.5, 0.0, "tanh", "identity", &vec![vec![0.0; 4]; 3])),
        ("dead", model(3, 4, 0.5, -10.0, "relu", "identity", &batch(4))),
        ("saturated", model(3, 4, 0.5, 30.0, "sigmoid", "identity", &batch(4))),
        ("exploding", model(12, 4, 3.0, 0.0, "identity", "identity", &batch(4))),
        ("vanishing", model(12, 4, 0.1, 0.0, "tanh", "identity", &batch(4))),
        ("healthy", model(4, 4, 0.7, 0.1, "gelu", "identity", &batch(4))),
        ("vanishing past f64", model(400, 3, 0.05, 0.0, "sigmoid", "identity", &batch(3))),
    ];
    for (what, m) in &cases {
        let (engine, oracle) = (diagnose(m).unwrap(), diagnose_on_the_oracle(m).unwrap());
        assert_same(&engine, &oracle, what);
    }
    assert_eq!(diagnose(&cases[7].1).unwrap().verdict, Verdict::Vanishing);
    // Shortcuts of both forms, an overflowing identity sum, and the losses whose seeds differ.
    let examples = ["deep-sigmoid.json", "deep-relu-he.json", "stem-blocks.json", "xor.json"];
    for name in examples {
        let m = Model::from_file(&crate::cli_run::repo_root().join("docs/examples").join(name)).unwrap();
        assert_same(&diagnose(&m).unwrap(), &diagnose_on_the_oracle(&m).unwrap(), name);
    }
    let sum = json!({"layers": [{"weight": [[1.0]], "activation": "identity"}, {"weight": [[1.0]], "activation": "identity"}],
                     "shortcut": 1, "skip": "identity", "input": [[1e308]], "target": [[0.0]]});
    let m = Model::from_json(&sum.to_string(), "sum.json").unwrap();
    assert_same(&diagnose(&m).unwrap(), &diagnose_on_the_oracle(&m).unwrap(), "identity sum");
    for loss in ["bce", "bce_with_logits", "cross_entropy"] {
        let text = json!({"layers": [{"weight": [[0.5, -1.5], [1.25, 0.75]], "bias": [0.25, -0.5], "activation": "tanh"},
                                     {"weight": [[1.5, -1.0], [-0.5, 0.25]], "activation": "sigmoid"}],
                          "shortcut": 1, "input": [[0.0, 1.0], [1.0, -0.5]], "target": [[0.0, 1.0], [1.0, 0.0]],
                          "loss": {"kind": loss, "reduction": "mean"}});
        let m = Model::from_json(&text.to_string(), "loss.json").unwrap();
        assert_same(&diagnose(&m).unwrap(), &diagnose_on_the_oracle(&m).unwrap(), loss);
    }
}

/// The pre-norm model below, the worked example, and the normalised deep tanh network of the
/// next test.
#[test]
fn the_oracles_measurements_are_the_engines_on_normalised_networks() {
    let example = crate::cli_run::repo_root().join("docs/examples/linear-norm-relu.json");
    let models = [
        ("worked example", Model::from_file(&example).unwrap()),
        ("pre-norm blocks", Model::from_json(&pre_norm().to_string(), "pre.json").unwrap()),
        ("normalised tanh", Model::from_json(&deep_tanh(true), "tanh.json").unwrap()),
    ];
    for (what, m) in &models {
        assert_same(&diagnose(m).unwrap(), &diagnose_on_the_oracle(m).unwrap(), what);
    }
}

/// Pre-norm blocks with a shortcut and a mean reduction: γ and β given in layer 2, ε in layer 3.
fn pre_norm() -> Value {
    json!({
        "layers": [
            {"weight": [[0.5, -1.5], [1.25, 0.75], [-0.5, 1.0]], "bias": [0.25, -0.5, 0.0], "activation": "tanh"},
            {"weight": [[0.5, -0.25, 1.0], [1.5, 0.75, -0.5], [-1.0, 0.25, 0.5]], "activation": "gelu",
             "norm": {"weight": [1.5, 0.5, -1.0], "bias": [0.1, 0.0, -0.2]}},
            {"weight": [[1.0, -0.5, 0.25], [0.5, 1.0, -1.0], [0.25, 0.75, 0.5]], "activation": "relu",
             "norm": {"eps": 0.01}},
            {"weight": [[1.5, -1.0, 0.75]], "activation": "identity"}
        ],
        "shortcut": 2, "shortcut_layers": [3], "skip": "identity",
        "input": [[0.0, 1.0], [1.0, -0.5], [0.25, 0.75]], "target": [[0.5], [-1.0], [0.25]],
        "loss": {"kind": "mse", "reduction": "mean"}
    })
}

/// The model file of 16 tanh layers of width 8 below, each Linear output normalised or not.
fn deep_tanh(norm: bool) -> String {
    let width = 8;
    let weight = |l: usize| -> Vec<Vec<f64>> {
        (0..width)
            .map(|j| {
                (0..width)
                    .map(|i| 20.0 / (width as f64).sqrt() * (((l * 31 + j * 7 + i * 3) % 11) as f64 / 5.0 - 1.0))
                    .collect()
            })
            .collect()
    };
    let layers: Vec<Value> = (0..16)
        .map(|l| {
            let mut layer = json!({"weight": weight(l), "activation": if l == 15 { "identity" } else { "tanh" }});
            if norm && l < 15 {
                layer["norm"] = json!({"at": "pre_activation"});
            }
            layer
        })
        .collect();
    json!({"layers": layers, "input": batch(width), "target": vec![vec![0.1; width]; 4]}).to_string()
}

/// 16 tanh layers of width 8 with weights of mean square 160/n (σ_w² = 160): |z| grows to tens and the units
/// saturate. Normalising each Linear output (`"at": "pre_activation"`, γ = 1, β = 0) puts every
/// z back at unit scale, so tanh passes gradients again.
#[test]
fn a_layer_norm_before_each_tanh_turns_saturated_into_healthy() {
    let plain = diagnose(&Model::from_json(&deep_tanh(false), "plain.json").unwrap()).unwrap();
    let normed = diagnose(&Model::from_json(&deep_tanh(true), "normed.json").unwrap()).unwrap();
    assert_eq!(plain.verdict, Verdict::Saturated, "{:?}", plain.evidence);
    assert_eq!(normed.verdict, Verdict::Healthy, "{:?}", normed.evidence);
    assert!(normed.layers.iter().all(|r| r.saturated_fraction < 0.05), "{:?}", normed.layers);
    // Mean field has no normalisation in it: the normalised layers have no predicted gain.
    assert!(normed.layers[..15].iter().all(|r| r.predicted_gain.is_none()));
    assert!(normed.layers[15].predicted_gain.is_some());
}

/// Per layer, log10 ‖∂L/∂γ‖ and ‖∂L/∂β‖ (backward in `Ext`, through the textbook formula) are the
/// norms of the reference gradients' `norm_weight_grad` and `norm_bias_grad` (the tape's
/// operations in `f64`): on the worked example (γ and β given in layer 1, left out in layer 2,
/// no normalisation in layer 3) and on pre-norm blocks with a shortcut and a mean reduction.
#[test]
fn the_normalisations_gamma_and_beta_norms_are_their_gradients_norms() {
    let example = crate::cli_run::repo_root().join("docs/examples/linear-norm-relu.json");
    let models = [Model::from_file(&example).unwrap(), Model::from_json(&pre_norm().to_string(), "pre.json").unwrap()];
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt().log10();
    for m in &models {
        let reference = report::reference::model_gradients(m).unwrap();
        let d = diagnose(m).unwrap();
        for (row, g) in d.layers.iter().zip(&reference.layers) {
            match (row.norm, &g.norm_weight_grad, &g.norm_bias_grad) {
                (Some(n), Some(gamma), Some(beta)) => {
                    let (got_gamma, got_beta) = (n.log10_weight_grad_norm.unwrap(), n.log10_bias_grad_norm.unwrap());
                    assert!((got_gamma - norm(gamma)).abs() < 1e-12, "layer {}: γ {got_gamma}", row.layer);
                    assert!((got_beta - norm(beta)).abs() < 1e-12, "layer {}: β {got_beta}", row.layer);
                }
                (None, None, None) => {}
                other => panic!("layer {}: a normalisation in one and not the other: {other:?}", row.layer),
            }
        }
        assert_eq!(d.layers.iter().filter(|r| r.norm.is_some()).count(), 2);
    }
    // The table has the two columns, — where a layer does not normalise; the JSON has the values.
    let run = report(&["diagnose", "--model", "docs/examples/linear-norm-relu.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("| log10 ‖∂L/∂b‖ | log10 ‖∂L/∂γ‖ | log10 ‖∂L/∂β‖ | log10 ‖∂L/∂z‖ |"), "{}", run.stdout);
    let last = run.stdout.lines().find(|l| l.starts_with("| 3 |")).unwrap();
    assert_eq!(last.split('|').nth(5).map(str::trim), Some("—"), "{last}");
    let json = report(&["diagnose", "--model", "docs/examples/linear-norm-relu.json", "--format", "json"]);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let gamma = v["layers"][0]["log10_norm_weight_grad_norm"].as_f64().unwrap();
    assert_eq!(Some(gamma), diagnose(&models[0]).unwrap().layers[0].norm.and_then(|n| n.log10_weight_grad_norm));
    assert!(v["layers"][2]["log10_norm_weight_grad_norm"].is_null());
}

/// Where the forward pass overflows, the backward pass is not run: a normalised layer's γ and β
/// are not computed (and say so), not 0.
#[test]
fn gamma_and_beta_are_not_computed_below_a_non_finite_value() {
    let text = json!({
        "layers": [
            {"weight": [[1e300, 1e300], [1e300, -1e300]], "activation": "identity"},
            {"weight": [[1e300, 1e300]], "activation": "identity", "norm": {}}
        ],
        "input": [[1e10, 1e10]], "target": [[0.0]]
    });
    let d = diagnose(&Model::from_json(&text.to_string(), "overflow.json").unwrap()).unwrap();
    assert_eq!(d.verdict, Verdict::NonFinite);
    let norm = d.layers[1].norm.expect("layer 2 normalises");
    assert_eq!((norm.log10_weight_grad_norm, norm.log10_bias_grad_norm), (None, None));
    assert!(report::render::diagnose::markdown(&d, None).contains("| — (not computed) | — (not computed) |"));
}
