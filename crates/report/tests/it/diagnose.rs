//! `report diagnose`: each verdict on a network built to have that condition, the JSON contract's
//! keys, bad input, and the worked example of `docs/diagnose.md` kept true byte for byte
//! (`GRADLAB_BLESS=1 cargo test -p report --test it diagnose` rewrites it).

use crate::cli_run::{repo_root, report};
use report::diagnosis::{DECADES, Verdict, diagnose};
use report::model::Model;
use serde_json::Value;

/// A model of `depth` square layers of `width`, every weight `w` (alternating sign by column, so
/// the layer is not rank one), bias `b`, activation `f`, last layer `last`, on `input`.
pub(crate) fn model(depth: usize, width: usize, w: f64, b: f64, f: &str, last: &str, input: &[Vec<f64>]) -> Model {
    let layer = |act: &str| {
        let rows: Vec<Vec<f64>> =
            (0..width).map(|j| (0..width).map(|i| if (i + j) % 2 == 0 { w } else { -w * 0.5 }).collect()).collect();
        serde_json::json!({"weight": rows, "bias": vec![b; width], "activation": act})
    };
    let layers: Vec<Value> = (0..depth).map(|l| layer(if l + 1 == depth { last } else { f })).collect();
    let target = vec![vec![0.25; width]; input.len()];
    let text = serde_json::json!({"layers": layers, "input": input, "target": target}).to_string();
    Model::from_json(&text, "test.json").unwrap()
}

pub(crate) fn batch(width: usize) -> Vec<Vec<f64>> {
    (0..4).map(|b| (0..width).map(|i| ((b * 7 + i * 3) % 5) as f64 / 4.0 - 0.5).collect()).collect()
}

#[test]
fn an_overflowing_network_is_non_finite_and_located_forward() {
    let r = diagnose(&model(6, 4, 1e100, 0.0, "identity", "identity", &batch(4))).unwrap();
    assert_eq!(r.verdict, Verdict::NonFinite);
    let nf = r.non_finite.unwrap();
    assert!(nf.forward);
    assert_eq!(r.from_layer, Some(nf.layer));
    assert!(nf.layer >= 3, "1e100³ overflows first at layer 3 or later: {nf:?}");
}

/// 1e308 + 1e308 overflows in layer 1's identity shortcut, where z = 1e308 is finite: the
/// diagnosis locates it there and says it is the sum, not z.
#[test]
fn an_overflow_in_an_identity_shortcuts_sum_is_located_and_named() {
    let layer = serde_json::json!({"weight": [[1.0]], "activation": "identity"});
    let text = serde_json::json!({
        "layers": [layer, layer], "shortcut": 1, "skip": "identity", "input": [[1e308]], "target": [[0.0]]
    });
    let r = diagnose(&Model::from_json(&text.to_string(), "sum.json").unwrap()).unwrap();
    let nf = r.non_finite.unwrap();
    assert_eq!((r.verdict, nf.layer, nf.forward, nf.shortcut_sum), (Verdict::NonFinite, 1, true, true));
    let evidence = report::render::diagnose::evidence(&r);
    assert!(
        evidence.contains("forward pass (an identity shortcut's sum f(z) + a, both terms finite), layer 1"),
        "{evidence}"
    );
}

#[test]
fn all_zero_inputs_are_a_forward_collapse_from_layer_1() {
    let r = diagnose(&model(4, 4, 0.5, 0.0, "tanh", "identity", &vec![vec![0.0; 4]; 3])).unwrap();
    assert_eq!(r.verdict, Verdict::ForwardCollapse);
    assert_eq!(r.from_layer, Some(1));
}

#[test]
fn relu_units_with_large_negative_biases_are_dead() {
    let r = diagnose(&model(3, 4, 0.5, -10.0, "relu", "identity", &batch(4))).unwrap();
    assert_eq!(r.verdict, Verdict::Dead);
    assert_eq!(r.from_layer, Some(1));
    assert_eq!(r.layers[0].dead_fraction, 1.0);
}

#[test]
fn sigmoid_units_driven_far_from_zero_are_saturated() {
    let r = diagnose(&model(3, 4, 0.5, 30.0, "sigmoid", "identity", &batch(4))).unwrap();
    assert_eq!(r.verdict, Verdict::Saturated);
    assert_eq!(r.from_layer, Some(1));
}

#[test]
fn identity_layers_with_large_weights_explode_and_small_ones_vanish() {
    // ‖∂L/∂z‖ grows downwards by about the layer's gain per layer: > 3 decades over 12 layers.
    let r = diagnose(&model(12, 4, 3.0, 0.0, "identity", "identity", &batch(4))).unwrap();
    assert_eq!(r.verdict, Verdict::Exploding, "{:?}", r.evidence);
    assert!(r.evidence.unwrap().value > DECADES);
    let r = diagnose(&model(12, 4, 0.1, 0.0, "tanh", "identity", &batch(4))).unwrap();
    assert_eq!(r.verdict, Verdict::Vanishing, "{:?}", r.evidence);
    assert!(r.evidence.unwrap().value < -DECADES);
}

#[test]
fn on_a_chain_of_single_units_the_predicted_gain_is_the_measured_one() {
    // One unit per layer and one sample: ‖∂L/∂z_{l−1}‖/‖∂L/∂z_l‖ = |w_l·f′(z_{l−1})| exactly, and
    // mean field's √(n·mean(W²)·E[f′²]) is the same number (a variance would give 0 here).
    let weights = [0.8, -1.5, 2.0, -0.6, 1.2, 3.0];
    let layers: Vec<Value> =
        weights.iter().map(|&w| serde_json::json!({"weight": [[w]], "bias": [0.1], "activation": "sigmoid"})).collect();
    let text = serde_json::json!({"layers": layers, "input": [[0.7]], "target": [[0.2]]}).to_string();
    let r = diagnose(&Model::from_json(&text, "chain.json").unwrap()).unwrap();
    for row in &r.layers[1..] {
        let measured = 10f64.powf(row.log10_gain.expect("finite norms"));
        let predicted = row.predicted_gain.expect("layers ≥ 2 have one");
        assert!(predicted > 0.0, "layer {}", row.layer);
        assert!((measured / predicted - 1.0).abs() < 1e-12, "layer {}: {measured} against {predicted}", row.layer);
    }
}

#[test]
fn the_worked_example_is_vanishing_then_healthy_once_fixed() {
    let sick = Model::from_file(&repo_root().join("docs/examples/deep-sigmoid.json")).unwrap();
    let fixed = Model::from_file(&repo_root().join("docs/examples/deep-relu-he.json")).unwrap();
    let (sick, fixed) = (diagnose(&sick).unwrap(), diagnose(&fixed).unwrap());
    assert_eq!(sick.verdict, Verdict::Vanishing);
    assert_eq!(fixed.verdict, Verdict::Healthy);
    // The mean field's gain explains it: about 1/4 per sigmoid layer, about 1 per relu+He layer.
    assert!(sick.mean_predicted_gain.unwrap() < 0.3);
    assert!((fixed.mean_predicted_gain.unwrap() - 1.0).abs() < 0.2);
}

#[test]
fn the_json_contract_has_its_keys() {
    let run = report(&["diagnose", "--model", "docs/examples/deep-sigmoid.json", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    for key in ["verdict", "from_layer", "layers", "non_finite", "evidence", "remedy"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["verdict"], "vanishing");
    assert!(v["non_finite"].is_null());
    let keys = [
        "layer",
        "log10_weight_grad_norm",
        "log10_bias_grad_norm",
        "log10_delta_norm",
        "log10_norm_weight_grad_norm",
        "log10_norm_bias_grad_norm",
        "activation_rms",
        "saturated_fraction",
        "dead_fraction",
        "gain",
        "predicted_gain",
    ];
    for layer in v["layers"].as_array().unwrap() {
        for key in keys {
            assert!(layer.get(key).is_some(), "layer missing {key}");
        }
        // No layer of this network normalises: γ and β are null.
        assert!(layer["log10_norm_weight_grad_norm"].is_null() && layer["log10_norm_bias_grad_norm"].is_null());
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2_and_leaves_the_output_alone() {
    // Bad files: one line naming what and where. A bad flag value is a usage error, written as
    // clap writes it (the possible values listed), also exit 2.
    let dir = std::env::temp_dir().join(format!("gradlab-diagnose-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("keep.md");
    std::fs::write(&out, "mine").unwrap();
    let out_arg = out.display().to_string();
    for args in [
        vec!["diagnose", "--model", "docs/examples/no-such-file.json", "--out", &out_arg],
        vec!["diagnose", "--model", "docs/examples/ragged.json", "--out", &out_arg],
    ] {
        let run = report(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    let usage = report(&["diagnose", "--model", "docs/examples/xor.json", "--format", "pdf", "--out", &out_arg]);
    assert_eq!(usage.code, 2, "{}", usage.stderr);
    assert!(usage.stderr.contains("possible values: md, json, html"), "{}", usage.stderr);
    assert!(usage.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--plots` writes the figure (Markdown or JSON) and the Markdown links it from `--out`'s folder;
/// a diagnosis without a figure removes the one an earlier run left, and links none.
#[test]
fn the_figure_is_linked_where_it_is_written_and_a_stale_one_is_removed() {
    let dir = std::env::temp_dir().join(format!("gradlab-diagnose-plots-{}", std::process::id()));
    let (out, plots) = (dir.join("diag.md"), dir.join("figs"));
    let figure = plots.join("diagnose-norms.svg");
    let (out_arg, plots_arg) = (out.display().to_string(), plots.display().to_string());
    std::fs::create_dir_all(&dir).unwrap();
    let run =
        report(&["diagnose", "--model", "docs/examples/deep-sigmoid.json", "--plots", &plots_arg, "--out", &out_arg]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(std::fs::read_to_string(&out).unwrap().contains("](figs/diagnose-norms.svg)"));
    assert!(std::fs::read_to_string(&figure).unwrap().starts_with("<svg"));
    // 1e308 + 1e308: a non-finite value, nothing to draw.
    let model = dir.join("sum.json");
    let layer = serde_json::json!({"weight": [[1.0]], "activation": "identity"});
    let text = serde_json::json!({
        "layers": [layer, layer], "shortcut": 1, "skip": "identity", "input": [[1e308]], "target": [[0.0]]
    });
    std::fs::write(&model, text.to_string()).unwrap();
    let model_arg = model.display().to_string();
    let run = report(&["diagnose", "--model", &model_arg, "--plots", &plots_arg, "--out", &out_arg]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!std::fs::read_to_string(&out).unwrap().contains("diagnose-norms.svg"));
    assert!(!figure.exists(), "the earlier run's figure is still there");
    // JSON writes it too; without --plots the Markdown links no file that is not there.
    let json =
        report(&["diagnose", "--model", "docs/examples/deep-sigmoid.json", "--format", "json", "--plots", &plots_arg]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert!(figure.exists());
    let bare = report(&["diagnose", "--model", "docs/examples/deep-sigmoid.json"]);
    assert!(!bare.stdout.contains("diagnose-norms.svg"), "{}", bare.stdout);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_worked_examples_outputs_are_the_committed_ones() {
    let bless = std::env::var_os("GRADLAB_BLESS").is_some();
    for (model, format, file) in [
        ("deep-sigmoid", "md", "deep-sigmoid.diagnosis.md"),
        ("deep-relu-he", "md", "deep-relu-he.diagnosis.md"),
        ("deep-sigmoid", "json", "deep-sigmoid.diagnosis.json"),
    ] {
        let path = format!("docs/examples/{model}.json");
        let run = report(&["diagnose", "--model", &path, "--format", format]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let committed = repo_root().join("docs/examples").join(file);
        if bless {
            std::fs::write(&committed, &run.stdout).unwrap();
        } else {
            let want = std::fs::read_to_string(&committed).unwrap_or_default();
            assert!(want == run.stdout, "{file} is stale: GRADLAB_BLESS=1 cargo test -p report --test it diagnose");
        }
    }
}

/// Every loss of the model file and every reduction: diagnose's per-layer log10 ‖∂L/∂W_l‖ and
/// ‖∂L/∂b_l‖ are the oracle's (`report::reference::model_gradients`, the tape), so its seed and its
/// division by the reduction's denominator match the model's loss.
#[test]
fn every_loss_and_reduction_gives_the_oracles_norms() {
    let layers = serde_json::json!([
        {"weight": [[0.5, -1.5], [1.25, 0.75], [-0.5, 1.0]], "bias": [0.25, -0.5, 0.0], "activation": "tanh"},
        {"weight": [[1.5, -1.0, 0.75], [-0.5, 0.25, 1.0]], "bias": [0.1, -0.2], "activation": "identity"}
    ]);
    let sigmoid_out = serde_json::json!([
        {"weight": [[0.5, -1.5], [1.25, 0.75], [-0.5, 1.0]], "bias": [0.25, -0.5, 0.0], "activation": "tanh"},
        {"weight": [[1.5, -1.0, 0.75], [-0.5, 0.25, 1.0]], "bias": [0.1, -0.2], "activation": "sigmoid"}
    ]);
    let input = serde_json::json!([[0.0, 1.0], [1.0, -0.5], [0.25, 0.75]]);
    let target = serde_json::json!([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]);
    let norm = |m: &[Vec<f64>]| m.iter().flatten().map(|v| v * v).sum::<f64>().sqrt().log10();
    let mut cases = 0;
    for kind in ["mse", "bce", "bce_with_logits", "cross_entropy"] {
        for reduction in ["sum", "mean", "batch_mean"] {
            let net = if kind == "bce" { &sigmoid_out } else { &layers };
            let text = serde_json::json!({"layers": net, "input": input, "target": target,
                "loss": {"kind": kind, "reduction": reduction}})
            .to_string();
            let m = Model::from_json(&text, "test.json").unwrap();
            let oracle = report::reference::model_gradients(&m).unwrap();
            let d = diagnose(&m).unwrap();
            for (row, g) in d.layers.iter().zip(&oracle.layers) {
                let w = row.log10_weight_grad_norm.unwrap();
                let b = row.log10_bias_grad_norm.unwrap();
                assert!((w - norm(&g.weight_grad)).abs() < 1e-12, "{kind}/{reduction} layer {}: {w}", row.layer);
                assert!((b - norm(std::slice::from_ref(&g.bias_grad))).abs() < 1e-12, "{kind}/{reduction}: {b}");
            }
            cases += 1;
        }
    }
    assert_eq!(cases, 12);
}

/// The diagnosis runs on the engine: a stem layer, a block whose shortcut leaves the stem
/// (`"shortcut_layers": [3]`, which span 2 alone would not join) and a head give the oracle's
/// norms in both forms, and other norms than the same layers without the shortcut.
#[test]
fn named_shortcut_layers_reach_the_engine() {
    let square = serde_json::json!([[0.5, -1.5, 0.25], [1.25, 0.75, -1.0], [-0.5, 1.0, 0.5]]);
    let layers = serde_json::json!([
        {"weight": [[0.5, -1.5], [1.25, 0.75], [-0.5, 1.0]], "bias": [0.25, -0.5, 0.0], "activation": "tanh"},
        {"weight": square, "activation": "relu"},
        {"weight": square, "bias": [0.1, 0.0, -0.1], "activation": "tanh"},
        {"weight": [[1.5, -1.0, 0.75], [-0.5, 0.25, 1.0]], "activation": "identity"}
    ]);
    let norm = |m: &[Vec<f64>]| m.iter().flatten().map(|v| v * v).sum::<f64>().sqrt().log10();
    let model = |skip: &str, joins: &[usize]| {
        let text = serde_json::json!({"layers": layers, "shortcut": 2, "shortcut_layers": joins, "skip": skip,
            "input": [[0.0, 1.0], [1.0, -0.5]], "target": [[0.0, 1.0], [1.0, 0.0]]});
        Model::from_json(&text.to_string(), "stem.json").unwrap()
    };
    for skip in ["pre_activation", "identity"] {
        let m = model(skip, &[3]);
        assert_eq!(m.net().shortcut_layers(), vec![3]);
        let oracle = report::reference::model_gradients(&m).unwrap();
        let d = diagnose(&m).unwrap();
        for (row, g) in d.layers.iter().zip(&oracle.layers) {
            let w = row.log10_weight_grad_norm.unwrap();
            assert!(
                (w - norm(&g.weight_grad)).abs() < 1e-12,
                "{skip} layer {}: {w} vs {}",
                row.layer,
                norm(&g.weight_grad)
            );
        }
        let without = diagnose(&model(skip, &[])).unwrap();
        assert_ne!(without.layers[0].log10_weight_grad_norm, d.layers[0].log10_weight_grad_norm, "{skip}");
    }
}

/// A vanishing network's remedy speaks of shortcuts by what it has: add them (none), join them
/// after f (pre-activation ones, whose path still goes through f′), or nothing more (identity
/// ones). An empty `shortcut_layers` is no shortcut.
#[test]
fn the_vanishing_remedy_speaks_of_the_shortcuts_the_network_has() {
    let deep = |extra: Value| {
        let layer = serde_json::json!({"weight": [[1.0, -0.5], [0.5, 1.0]], "activation": "sigmoid"});
        let mut text = serde_json::json!({"layers": vec![layer; 30], "input": [[1.0, -1.0], [0.5, 2.0]],
            "target": [[0.0, 1.0], [1.0, 0.0]]});
        for (k, v) in extra.as_object().unwrap() {
            text[k] = v.clone();
        }
        diagnose(&Model::from_json(&text.to_string(), "deep.json").unwrap()).unwrap()
    };
    let remedy = report::render::diagnose::remedy;
    let none = deep(serde_json::json!({}));
    let unjoined = deep(serde_json::json!({"shortcut": 1, "shortcut_layers": []}));
    let mut pre = deep(serde_json::json!({"shortcut": 1, "skip": "pre_activation"}));
    for r in [&none, &unjoined, &pre] {
        assert_eq!(r.verdict, Verdict::Vanishing);
    }
    assert_eq!((none.shortcut, unjoined.shortcut, pre.shortcut), (None, None, Some(scalar::Skip::PreActivation)));
    assert!(remedy(&none).ends_with("or tanh at σ²_w = 1 — or add shortcuts."), "{}", remedy(&none));
    assert_eq!(remedy(&unjoined), remedy(&none));
    assert!(remedy(&pre).ends_with(
        "— or join the shortcuts after f (\"skip\": \"identity\"): before f, ∂a_l/∂a_(l−s) = f′(z_l), after it 1."
    ));
    pre.shortcut = Some(scalar::Skip::Identity);
    assert!(remedy(&pre).ends_with("or tanh at σ²_w = 1."), "{}", remedy(&pre));
}
