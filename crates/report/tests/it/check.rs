//! `report check`: right gradients pass (exit 0), a wrong layer is named (exit 1), shapes that
//! do not match the model are bad input (exit 2), and the worked example of
//! `docs/model-format.md` — a hand-written backprop missing a σ′ — runs as written.

use crate::cli_run::{assert_bad_input, repo_root, report, temp_file};
use report::model::{ClaimedGradients, Model};
use report::reference::{Tolerance, check_gradients, model_gradients};
use serde_json::{Value, json};

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/buggy_backprop.rs"]
mod buggy_backprop;

/// A 3-layer model with a bias in layers 1 and 3 only.
fn three_layer_model() -> Value {
    json!({
        "layers": [
            {"weight": [[0.5, -1.0], [0.25, 0.75], [-1.5, 1.0]], "bias": [0.0, 0.5, -0.25], "activation": "tanh"},
            {"weight": [[1.0, -0.5, 0.25], [0.5, 0.5, -1.0]], "activation": "sigmoid"},
            {"weight": [[1.25, -0.75]], "bias": [0.125], "activation": "identity"}
        ],
        "input": [[1.0, -1.0], [0.5, 2.0], [-0.25, 0.0]],
        "target": [[0.5], [-1.0], [0.0]]
    })
}

/// Writes the model and `grads` to files, runs `report check` with `extra` flags.
fn check(stem: &str, model: &Value, grads: &Value, extra: &[&str]) -> crate::cli_run::Run {
    let model_path = temp_file(&format!("{stem}-model.json"), &model.to_string());
    let grads_path = temp_file(&format!("{stem}-grads.json"), &grads.to_string());
    let mut args = vec![
        "check".to_string(),
        "--model".into(),
        model_path.display().to_string(),
        "--grads".into(),
        grads_path.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    report(&args)
}

/// The reference gradients `report grad` prints for `model`.
fn reference_grads(stem: &str, model: &Value) -> Value {
    let path = temp_file(&format!("{stem}-ref-model.json"), &model.to_string());
    let run = report(&["grad", "--model", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn right_gradients_pass_with_exit_code_0() {
    let model = three_layer_model();
    let grads = reference_grads("right", &model);
    let run = check("right", &model, &grads, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("PASS"), "{}", run.stdout);
    let run = check("right-json", &model, &grads, &["--format", "json"]);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!((v["pass"].clone(), v["first_wrong_layer"].clone()), (json!(true), Value::Null));
}

#[test]
fn a_wrong_entry_names_its_layer_with_exit_code_1() {
    let model = three_layer_model();
    let mut grads = reference_grads("wrong", &model);
    let w = grads["layers"][1]["weight_grad"][1][2].as_f64().unwrap();
    grads["layers"][1]["weight_grad"][1][2] = json!(w * 1.01 + 1e-3);
    let run = check("wrong", &model, &grads, &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("FAIL: layer 2 is the first wrong layer"), "{}", run.stdout);
    let run = check("wrong-json", &model, &grads, &["--format", "json"]);
    assert_eq!(run.code, 1);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["pass"], json!(false));
    assert_eq!(v["first_wrong_layer"], json!(2));
    let verdicts: Vec<bool> = (0..3).map(|l| v["layers"][l]["pass"].as_bool().unwrap()).collect();
    assert_eq!(verdicts, [true, false, true]);
    assert_eq!(v["layers"][1]["worst"]["entry"], json!("weight_grad[1][2]"));
    assert_eq!(v["layers"][1]["failed"], json!(1));
}

#[test]
fn the_wrong_layer_nearest_the_output_is_named_first() {
    let model = three_layer_model();
    let mut grads = reference_grads("two-wrong", &model);
    for l in [0, 1] {
        let b = grads["layers"][l]["weight_grad"][0][0].as_f64().unwrap();
        grads["layers"][l]["weight_grad"][0][0] = json!(-b - 1.0);
    }
    let run = check("two-wrong", &model, &grads, &["--format", "json"]);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!((run.code, v["first_wrong_layer"].clone()), (1, json!(2)));
}

#[test]
fn a_wrong_loss_alone_fails() {
    let model = three_layer_model();
    let mut grads = reference_grads("loss", &model);
    grads["loss"] = json!(grads["loss"].as_f64().unwrap() + 0.5);
    let run = check("loss", &model, &grads, &["--format", "json"]);
    assert_eq!(run.code, 1);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!((v["first_wrong_layer"].clone(), v["loss"]["pass"].clone()), (Value::Null, json!(false)));
    // Leaving the loss out is allowed: only the gradients are compared.
    grads.as_object_mut().unwrap().remove("loss");
    assert_eq!(check("no-loss", &model, &grads, &[]).code, 0);
}

#[test]
fn the_tolerance_rule_is_inclusive() {
    // One identity unit, w = 1, x = 1, t = 0: y = 1, ∂L/∂w = 2(y − t)·x = 2, and its scale is
    // the bound on that product's factors, 2(|y| + |t|)·|x| = 2.
    let model = Model::from_json(
        r#"{"layers": [{"weight": [[1]], "activation": "identity"}], "input": [[1]], "target": [[0]]}"#,
        "m.json",
    )
    .unwrap();
    let reference = model_gradients(&model).unwrap();
    let r = reference.layers[0].weight_grad[0][0];
    let tolerance = Tolerance::new(0.5, 0.25).unwrap();
    let scale = 2.0;
    let edge = r + 0.5 * scale + 0.25 * r.abs(); // exact: dyadic numbers
    let mut theirs = ClaimedGradients::from(&reference);
    theirs.layers[0].weight_grad[0][0] = edge;
    let report = check_gradients(&model, &theirs, tolerance).unwrap();
    assert_eq!(report.layers[0].scale, scale);
    assert!(report.pass, "|d| = atol·s + rtol·|ref| passes");
    theirs.layers[0].weight_grad[0][0] = edge.next_up();
    let report = check_gradients(&model, &theirs, tolerance).unwrap();
    assert!(!report.pass);
    assert_eq!(report.layers[0].worst.entry, "weight_grad[0][0]");
}

#[test]
fn shapes_unlike_the_model_are_bad_input_naming_the_place() {
    let model = three_layer_model();
    let right = reference_grads("shapes", &model);
    let mut fewer = right.clone();
    fewer["layers"].as_array_mut().unwrap().pop();
    let mut rows = right.clone();
    rows["layers"][1]["weight_grad"].as_array_mut().unwrap().pop();
    let mut cols = right.clone();
    cols["layers"][1]["weight_grad"][1].as_array_mut().unwrap().push(json!(0.0));
    let mut bias = right.clone();
    bias["layers"][2]["bias_grad"] = json!([0.0, 0.0]);
    let mut missing_bias = right.clone();
    missing_bias["layers"][0].as_object_mut().unwrap().remove("bias_grad");
    let mut extra = right.clone();
    extra["layers"][0]["bias"] = json!([0.0]);
    let cases: [(&str, Value, &str); 6] = [
        ("fewer", fewer, "layers: expected 3 layers (as in the model), got 2"),
        ("rows", rows, "layer 2 weight_grad: expected 2 rows (one per output unit), got 1"),
        ("cols", cols, "layer 2 weight_grad row 1: expected 3 columns, got 4"),
        ("bias", bias, "layer 3 bias_grad: expected 1 value, got 2"),
        ("missing-bias", missing_bias, "layer 1: bias_grad is missing, and the model's layer 1 has a bias"),
        ("extra", extra, "unknown field `bias`"),
    ];
    for (stem, grads, expected) in cases {
        let run = check(&format!("shape-{stem}"), &model, &grads, &[]);
        assert_bad_input(&run, &[&format!("shape-{stem}-grads.json: "), expected]);
    }
    // Layer 2 has no bias, so its bias_grad may be left out.
    let mut no_bias = right;
    no_bias["layers"][1].as_object_mut().unwrap().remove("bias_grad");
    assert_eq!(check("no-bias", &model, &no_bias, &[]).code, 0);
}

#[test]
fn bad_tolerances_and_files_are_bad_input() {
    let model = three_layer_model();
    let grads = reference_grads("tol", &model);
    assert_bad_input(&check("tol", &model, &grads, &["--atol=-1"]), &["--atol -1", "≥ 0"]);
    let path = temp_file("tol-huge.json", r#"{"layers": [{"weight_grad": [[1e999]]}]}"#);
    let model_path = temp_file("tol-model.json", &model.to_string());
    let run = report(&["check", "--model", model_path.to_str().unwrap(), "--grads", path.to_str().unwrap()]);
    assert_bad_input(&run, &["tol-huge.json: number out of range at line 1"]);
}

// ---------------------------------------------------------------------------------------------
// The worked example.

/// `docs/examples/xor.buggy-grads.json` is what the buggy backprop prints today: the doc's file
/// of wrong gradients is produced by code in the repo, and this fails when it is stale.
#[test]
fn worked_example_grads_file_is_what_the_buggy_backprop_prints() {
    let root = repo_root();
    let model = Model::from_file(&root.join("docs/examples/xor.json")).unwrap();
    let grads = buggy_backprop::backprop(&model, buggy_backprop::Backprop::MissingSigmoidDerivative).unwrap();
    let committed = std::fs::read_to_string(root.join("docs/examples/xor.buggy-grads.json")).unwrap();
    assert_eq!(
        committed,
        grads.to_json() + "\n",
        "regenerate with: cargo run -q -p report --example buggy_backprop -- docs/examples/xor.json > docs/examples/xor.buggy-grads.json"
    );
}

#[test]
fn worked_example_bug_is_caught_in_layer_2_and_the_fix_passes() {
    let model = Model::from_file(&repo_root().join("docs/examples/xor.json")).unwrap();
    let buggy = buggy_backprop::backprop(&model, buggy_backprop::Backprop::MissingSigmoidDerivative).unwrap();
    let report = check_gradients(&model, &ClaimedGradients::from(&buggy), Tolerance::default()).unwrap();
    assert_eq!(report.first_wrong_layer, Some(2), "{report}");
    assert_eq!(report.layers.iter().map(|l| l.pass).collect::<Vec<_>>(), [false, false, true]);
    let fixed = buggy_backprop::backprop(&model, buggy_backprop::Backprop::Fixed).unwrap();
    let report = check_gradients(&model, &ClaimedGradients::from(&fixed), Tolerance::default()).unwrap();
    assert!(report.pass, "{report}");
}

/// `docs/examples/deep-sigmoid.json` vanishes: 12 sigmoid layers, layer 1's gradients ~1e−8. The
/// tolerance is relative to each layer's scale, so wrong gradients fail there too (with a fixed
/// 1e−8 a layer of zeros passed), while a correct backprop written independently (the worked
/// example's, fixed: other formulas, another summation order) passes.
#[test]
fn wrong_gradients_fail_where_they_vanish_and_right_ones_pass() {
    let model = Model::from_file(&repo_root().join("docs/examples/deep-sigmoid.json")).unwrap();
    let reference = model_gradients(&model).unwrap();
    let largest = |l: &report::reference::LayerGradients| {
        l.weight_grad.iter().flatten().chain(&l.bias_grad).fold(0.0f64, |m, v| m.max(v.abs()))
    };
    assert!(largest(&reference.layers[0]) < 1e-7, "layer 1 no longer vanishes");
    let fixed = buggy_backprop::backprop(&model, buggy_backprop::Backprop::Fixed).unwrap();
    let report = check_gradients(&model, &ClaimedGradients::from(&fixed), Tolerance::default()).unwrap();
    assert!(report.pass, "{report}");
    let check_with = |change: &dyn Fn(usize, &mut f64)| {
        let mut theirs = ClaimedGradients::from(&reference);
        for (l, layer) in theirs.layers.iter_mut().enumerate() {
            let bias = layer.bias_grad.iter_mut().flatten();
            layer.weight_grad.iter_mut().flatten().chain(bias).for_each(|v| change(l + 1, v));
        }
        check_gradients(&model, &theirs, Tolerance::default()).unwrap()
    };
    // Layer 1 zeroed: every entry fails, and a factor of 0 is no convention.
    let report = check_with(&|l, v| {
        if l == 1 {
            *v = 0.0
        }
    });
    assert_eq!((report.first_wrong_layer, report.layers[0].failed), (Some(1), report.layers[0].entries), "{report}");
    assert_eq!(report.layers[0].convention, None);
    // Layer 2 replaced by 1e−9 everywhere (an error of 10⁻⁹ absolute: within the old tolerance).
    let report = check_with(&|l, v| {
        if l == 2 {
            *v = 1e-9
        }
    });
    assert_eq!(report.first_wrong_layer, Some(2), "{report}");
    // Layers 1–4 negated: a factor −1 in some layers only is a bug in layer 4's backward step,
    // not a sign convention, which would negate every layer.
    let report = check_with(&|l, v| {
        if l <= 4 {
            *v = -*v
        }
    });
    assert_eq!(report.first_wrong_layer, Some(4), "{report}");
    assert!(report.layers[..4].iter().all(|l| l.convention.as_ref().is_some_and(|c| c.factor == -1.0)));
    assert!(!report.conventions_only);
    assert!(report.to_string().contains("a convention would change every layer alike"), "{report}");
    // Every layer negated: that is a convention.
    let report = check_with(&|_, v| *v = -*v);
    assert!(report.conventions_only, "{report}");
    assert!(report.to_string().contains("look at the loss's reduction, the sign"), "{report}");
}

/// Where the samples cancel (a network near a minimum), the reference is 0 and no relative
/// tolerance works: the scale is the samples' terms, so rounding-sized differences pass and
/// larger ones fail.
#[test]
fn a_gradient_that_cancels_over_the_batch_is_compared_at_its_samples_scale() {
    // One identity unit, w = 1, x = 1 for both samples, targets 2 and 0: y = 1, and the samples'
    // gradients 2(y − t)·x / B = −1 and +1 (B = 2) cancel. s = |−1| + |1| = 2.
    let model = Model::from_json(
        r#"{"layers": [{"weight": [[1]], "activation": "identity"}], "input": [[1], [1]], "target": [[2], [0]]}"#,
        "m.json",
    )
    .unwrap();
    let reference = model_gradients(&model).unwrap();
    assert_eq!(reference.layers[0].weight_grad[0][0], 0.0);
    let mut theirs = ClaimedGradients::from(&reference);
    theirs.layers[0].weight_grad[0][0] = 1e-15; // a rounding error's size: passes
    let report = check_gradients(&model, &theirs, Tolerance::default()).unwrap();
    assert_eq!(report.layers[0].scale, 2.0);
    assert!(report.pass, "{report}");
    theirs.layers[0].weight_grad[0][0] = 1e-6; // 5·10⁻⁷ of the samples' terms: fails
    assert!(!check_gradients(&model, &theirs, Tolerance::default()).unwrap().pass);
}

/// A NaN of theirs makes the layer's largest errors infinite (JSON `null`), not those of the
/// finite entries beside it.
#[test]
fn a_non_finite_entry_makes_the_largest_errors_infinite() {
    let model = Model::from_json(&three_layer_model().to_string(), "m.json").unwrap();
    let reference = model_gradients(&model).unwrap();
    let mut theirs = ClaimedGradients::from(&reference);
    theirs.layers[1].weight_grad[0][0] = f64::NAN;
    let report = check_gradients(&model, &theirs, Tolerance::default()).unwrap();
    let layer = &report.layers[1];
    assert_eq!((layer.non_finite, layer.max_abs_error, layer.max_rel_error), (1, f64::INFINITY, f64::INFINITY));
    let json: Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["layers"][1]["max_abs_error"], Value::Null);
    assert!(report.to_string().contains("| ∞ (theirs) | ∞ (theirs) |"), "{report}");
    assert_eq!(report.layers[0].max_abs_error, 0.0, "the other layers are unchanged");
}

/// A `console` block of a doc: `$ gradlab ARGS` lines, each followed by its output, and optionally
/// `$ echo $?` followed by the exit code.
#[derive(Debug)]
struct Transcript {
    args: Vec<String>,
    output: String,
    exit_code: i32,
}

fn transcripts(doc: &str) -> Vec<Transcript> {
    let mut found = Vec::new();
    let mut in_console = false;
    let mut expect_code = false;
    for line in doc.lines() {
        if !in_console {
            in_console = line.trim_end() == "```console";
            continue;
        }
        if line.trim_end() == "```" {
            in_console = false;
        } else if let Some(cmd) = line.strip_prefix("$ gradlab ") {
            found.push(Transcript {
                // Shell quoting in the doc is only ever '…' around one word.
                args: cmd.split_whitespace().map(|w| w.trim_matches('\'').to_string()).collect(),
                output: String::new(),
                exit_code: 0,
            });
        } else if line == "$ echo $?" {
            expect_code = true;
        } else if expect_code {
            found.last_mut().expect("a command before `echo $?`").exit_code = line.parse().unwrap();
            expect_code = false;
        } else if line.starts_with("$ ") {
            panic!("only `report` commands run in console blocks: {line}");
        } else if let Some(t) = found.last_mut() {
            t.output.push_str(line);
            t.output.push('\n');
        }
    }
    found
}

/// Every `console` block of `docs/model-format.md` is what the binary prints today.
#[test]
fn model_format_doc_transcripts_match_the_binary() {
    let doc = std::fs::read_to_string(repo_root().join("docs/model-format.md")).unwrap();
    let found = transcripts(&doc);
    assert!(found.len() >= 4, "the doc's transcripts were not found");
    let mut stale = Vec::new();
    for t in &found {
        let run = report(&t.args);
        let printed = run.stdout.clone() + &run.stderr;
        if printed != t.output || run.code != t.exit_code {
            stale.push(format!(
                "$ gradlab {}\n--- the doc shows (exit {}):\n{}--- the binary prints (exit {}):\n{}",
                t.args.join(" "),
                t.exit_code,
                t.output,
                run.code,
                printed
            ));
        }
    }
    assert!(stale.is_empty(), "docs/model-format.md is stale:\n{}", stale.join("\n"));
}

/// `check` reads the model's `"skip"`: gradients of the identity-skip model pass against it and
/// fail (exit 1) against the same layers without the field (the pre-activation form).
#[test]
fn check_honours_the_model_files_skip() {
    let mut identity = json!({
        "layers": [
            {"weight": [[0.5, -1.0], [0.25, 0.75]], "bias": [0.0, 0.5], "activation": "sigmoid"},
            {"weight": [[1.0, -0.5], [0.5, 0.5]], "activation": "sigmoid"}
        ],
        "shortcut": 1,
        "input": [[1.0, -1.0], [0.5, 2.0]],
        "target": [[0.5, 0.0], [-1.0, 1.0]]
    });
    let pre = identity.clone();
    identity["skip"] = json!("identity");
    let grads = reference_grads("skip-identity", &identity);
    assert_eq!(check("skip-identity", &identity, &grads, &[]).code, 0);
    let run = check("skip-pre", &pre, &grads, &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
}

/// A 2-layer GELU → SiLU model (squared error, batch 2).
fn gelu_silu_model() -> Value {
    json!({
        "layers": [
            {"weight": [[0.5, -1.0], [1.5, 0.75], [-2.0, 1.0]], "bias": [0.0, -0.5, 0.25], "activation": "gelu"},
            {"weight": [[1.0, -0.5, 0.75]], "bias": [-0.125], "activation": "silu"}
        ],
        "input": [[1.0, -1.0], [-0.5, 2.0]],
        "target": [[0.5], [-0.25]]
    })
}

#[test]
fn a_gelu_silu_model_goes_through_grad_and_check() {
    use scalar::Activation::{Gelu, Silu};
    let model = gelu_silu_model();
    let grads = reference_grads("gelu-silu", &model);
    // grad's weights against finite differences of the loss written out here independently
    // (L = (1/B)·Σ_b (y_b − t_b)², the forward pass by hand with the oracle's f values only).
    let w1 = [[0.5, -1.0], [1.5, 0.75], [-2.0, 1.0]];
    let b1 = [0.0, -0.5, 0.25];
    let loss = |p: &[f64]| {
        let (x, t) = ([[1.0, -1.0], [-0.5, 2.0]], [0.5, -0.25]);
        let mut sum = 0.0;
        for b in 0..2 {
            let h: Vec<f64> = (0..3).map(|j| Gelu.value(p[2 * j] * x[b][0] + p[2 * j + 1] * x[b][1] + b1[j])).collect();
            let y = Silu.value(1.0 * h[0] - 0.5 * h[1] + 0.75 * h[2] - 0.125);
            sum += (y - t[b]) * (y - t[b]);
        }
        sum / 2.0
    };
    let w: Vec<f64> = w1.iter().flatten().copied().collect();
    let claimed: Vec<f64> = grads["layers"][0]["weight_grad"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
        .collect();
    let fd = scalar::gradcheck::check_gradient(loss, &w, &claimed, &scalar::gradcheck::Options::richardson()).unwrap();
    assert!(fd.passed(), "{fd:?}");
    assert!(claimed.iter().all(|g| g.abs() > 1e-6), "a gradient that vanishes proves little: {claimed:?}");

    let run = check("gelu-silu", &model, &grads, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // One entry of layer 1 off by 1% is named as layer 1.
    let mut wrong = grads.clone();
    let g = wrong["layers"][0]["weight_grad"][1][0].as_f64().unwrap();
    wrong["layers"][0]["weight_grad"][1][0] = json!(g * 1.01);
    let run = check("gelu-silu-wrong", &model, &wrong, &["--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["first_wrong_layer"], json!(1), "{v}");
}

/// Every gradient doubled on a batch of 4 with one output: a doubled square, "2", the simplest
/// ratio, not "B/2" (which the search found first when it tried two numbers before one).
#[test]
fn a_factor_reads_as_its_simplest_ratio() {
    let model = Model::from_json(
        r#"{"layers": [{"weight": [[0.5, -1.0]], "bias": [0.25], "activation": "tanh"}],
            "input": [[1, 2], [-1, 0.5], [0.25, 0], [2, -2]], "target": [[0.5], [0], [1], [-0.5]]}"#,
        "m.json",
    )
    .unwrap();
    let reference = model_gradients(&model).unwrap();
    let mut theirs = ClaimedGradients::from(&reference);
    let layer = &mut theirs.layers[0];
    layer.weight_grad.iter_mut().flatten().chain(layer.bias_grad.iter_mut().flatten()).for_each(|v| *v *= 2.0);
    let report = check_gradients(&model, &theirs, Tolerance::default()).unwrap();
    let convention = report.layers[0].convention.as_ref().unwrap();
    assert_eq!((convention.factor, convention.ratio.as_deref()), (2.0, Some("2")));
    assert!(report.conventions_only);
}

/// The README's claim: a wrong gradient fails at a layer whose gradients have vanished to
/// 1e−13 or below (20 sigmoid layers of one unit, σ′ ≤ 1/4 each), while the right ones pass.
#[test]
fn a_zeroed_layer_fails_where_its_gradients_are_below_1e_minus_13() {
    let layer = serde_json::json!({"weight": [[1.0]], "bias": [0.0], "activation": "sigmoid"});
    let text = json!({"layers": vec![layer; 20], "input": [[1.0], [-0.5]], "target": [[0.0], [1.0]]});
    let model = Model::from_json(&text.to_string(), "m.json").unwrap();
    let reference = model_gradients(&model).unwrap();
    let layer1 = &reference.layers[0];
    assert!(layer1.weight_grad[0][0].abs().max(layer1.bias_grad[0].abs()) < 1e-13, "{layer1:?}");
    let mut theirs = ClaimedGradients::from(&reference);
    assert!(check_gradients(&model, &theirs, Tolerance::default()).unwrap().pass);
    theirs.layers[0].weight_grad[0][0] = 0.0;
    theirs.layers[0].bias_grad = Some(vec![0.0]);
    let report = check_gradients(&model, &theirs, Tolerance::default()).unwrap();
    assert_eq!((report.first_wrong_layer, report.layers[0].failed), (Some(1), 2), "{report}");
}

/// Under the f32 preset a gradient below f32's smallest normal number may have underflowed to 0
/// (70 one-unit sigmoid layers: layer 1's gradients are below 1e−40): that passes there, and fails
/// under the f64 tolerances, where it is no underflow.
#[test]
fn an_f32_gradient_that_underflowed_passes_the_f32_preset_only() {
    let layer = serde_json::json!({"weight": [[1.0]], "bias": [0.0], "activation": "sigmoid"});
    let text = json!({"layers": vec![layer; 70], "input": [[1.0]], "target": [[0.0]]});
    let model = Model::from_json(&text.to_string(), "m.json").unwrap();
    let reference = model_gradients(&model).unwrap();
    assert!(reference.layers[0].weight_grad[0][0] < 1e-40 && reference.layers[0].weight_grad[0][0] > 0.0);
    let mut theirs = ClaimedGradients::from(&reference);
    theirs.layers[0].weight_grad[0][0] = 0.0;
    theirs.layers[0].bias_grad = Some(vec![0.0]);
    assert!(check_gradients(&model, &theirs, Tolerance::f32()).unwrap().pass);
    assert!(!check_gradients(&model, &theirs, Tolerance::default()).unwrap().pass);
}

/// A pre-norm model's γ and β gradients are checked like its weights: the reference passes, a
/// wrong β entry fails at its layer and is named, and gradients of another shape are refused.
#[test]
fn a_normalised_layers_gamma_and_beta_gradients_are_checked() {
    let text = std::fs::read_to_string(repo_root().join("docs/examples/pre-norm.json")).unwrap();
    let model: Value = serde_json::from_str(&text).unwrap();
    let grads = reference_grads("norm", &model);
    assert_eq!(check("norm-right", &model, &grads, &[]).code, 0);

    let mut wrong = grads.clone();
    let b = wrong["layers"][1]["norm_bias_grad"][2].as_f64().unwrap();
    wrong["layers"][1]["norm_bias_grad"][2] = json!(b * 1.5);
    let run = check("norm-wrong", &model, &wrong, &["--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["first_wrong_layer"], json!(2));
    assert_eq!(v["layers"][1]["worst"]["entry"], json!("norm_bias_grad[2]"));
    // 3 × 3 weights, 3 biases, 3 γ and 3 β.
    assert_eq!(v["layers"][1]["entries"], json!(18));

    // The head's norm has neither γ nor β: its gradients may be left out (then not compared).
    let mut partial = grads.clone();
    for key in ["norm_weight_grad", "norm_bias_grad"] {
        partial["layers"][3].as_object_mut().unwrap().remove(key);
    }
    let run = check("norm-partial", &model, &partial, &["--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["layers"][3]["entries"], json!(4));

    let refused = |stem: &str, grads: &Value, expected: &str| {
        let run = check(stem, &model, grads, &[]);
        assert_bad_input(&run, &[expected]);
    };
    let mut missing = grads.clone();
    missing["layers"][1].as_object_mut().unwrap().remove("norm_weight_grad");
    refused(
        "norm-missing",
        &missing,
        "layer 2: norm_weight_grad is missing, and the model's layer 2 norm has a weight",
    );
    let mut extra = grads.clone();
    extra["layers"][0]["norm_bias_grad"] = json!([0.0, 0.0]);
    refused(
        "norm-extra",
        &extra,
        "layer 1 norm_bias_grad: the model's layer 1 has no norm, so it has no such gradient",
    );
    let mut short = grads;
    short["layers"][1]["norm_weight_grad"] = json!([0.0, 0.0]);
    refused("norm-short", &short, "layer 2 norm_weight_grad: expected 3 values, got 2");
}

/// `Linear → LayerNorm → ReLU` (`"at": "pre_activation"`): γ and β are one per unit, and what
/// docs/model-format.md says of the biases holds — a common shift of the Linear output is
/// normalised away, so each layer's bias gradients add up to 0 across its units, to rounding.
#[test]
fn a_normalised_linear_outputs_gradients_are_one_per_unit_and_its_bias_gradients_sum_to_zero() {
    let text = std::fs::read_to_string(repo_root().join("docs/examples/linear-norm-relu.json")).unwrap();
    let model: Value = serde_json::from_str(&text).unwrap();
    let grads = reference_grads("norm-pre", &model);
    for l in [0, 1] {
        let bias: Vec<f64> = serde_json::from_value(grads["layers"][l]["bias_grad"].clone()).unwrap();
        let sum: f64 = bias.iter().sum();
        let size: f64 = bias.iter().map(|b| b.abs()).sum();
        assert!(sum.abs() <= 1e-15 * size, "layer {}: Σ bias_grad = {sum:e} of {size:e}", l + 1);
        assert_eq!(grads["layers"][l]["norm_weight_grad"].as_array().unwrap().len(), 3);
    }
    // Without the norm the same biases do not cancel: the claim is the norm's, not the data's.
    let mut plain = model.clone();
    plain["layers"][0].as_object_mut().unwrap().remove("norm");
    let bias: Vec<f64> =
        serde_json::from_value(reference_grads("norm-pre-plain", &plain)["layers"][0]["bias_grad"].clone()).unwrap();
    assert!(bias.iter().sum::<f64>().abs() > 1e-3, "{bias:?}");
    assert_eq!(check("norm-pre-right", &model, &grads, &[]).code, 0);
    let mut short = grads;
    short["layers"][0]["norm_weight_grad"] = json!([0.0, 0.0]);
    assert_bad_input(
        &check("norm-pre-short", &model, &short, &[]),
        &["layer 1 norm_weight_grad: expected 3 values, got 2"],
    );
}
