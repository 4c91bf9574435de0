//! The frameworks' conventions in model files (losses, reductions, class-index targets, weight
//! layouts, shortcuts of equal width only), `check`'s located non-finite values and convention
//! hints, and the command line people expect (stdin, `--out -`, closed pipes, clap's errors).

use crate::cli_run::{assert_bad_input, repo_root, report, temp_file};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

/// A 2→3→2 tanh/identity network on a batch of 3, with `extra` fields merged in.
fn model(extra: Value) -> Value {
    let mut v = json!({
        "layers": [
            {"weight": [[0.5, -1.0], [0.25, 0.75], [-0.5, 0.125]], "bias": [0.0, 0.5, -0.25], "activation": "tanh"},
            {"weight": [[1.0, -0.5, 0.25], [0.5, 0.5, -1.0]], "bias": [0.125, 0.0], "activation": "identity"}
        ],
        "input": [[1, -1], [0.5, 2], [-1.5, 0.25]],
        "target": [[0.5, 0], [-1, 1], [0, 0]]
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn grad(name: &str, m: &Value) -> Value {
    let path = temp_file(name, &m.to_string());
    let run = report(&["grad", "--model", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

fn weights(g: &Value, layer: usize) -> Vec<Vec<f64>> {
    serde_json::from_value(g["layers"][layer]["weight_grad"].clone()).unwrap()
}

#[test]
fn pytorch_mean_of_mse_is_batch_mean_over_n_out_exactly() {
    // nn.MSELoss() divides the sum by B·n, gradlab's batch_mean by B: with n = 2 every gradient
    // is exactly half (a division by 2 is exact).
    let mean = grad("conv-mean.json", &model(json!({"loss": {"kind": "mse", "reduction": "mean"}})));
    let batch = grad("conv-batch.json", &model(json!({"loss": "squared_error"})));
    let sum = grad("conv-sum.json", &model(json!({"loss": {"kind": "mse", "reduction": "sum"}})));
    for l in 0..2 {
        for (m, b) in weights(&mean, l).iter().flatten().zip(weights(&batch, l).iter().flatten()) {
            assert_eq!(*m, b / 2.0);
        }
        for (s, b) in weights(&sum, l).iter().flatten().zip(weights(&batch, l).iter().flatten()) {
            assert!((s - 3.0 * b).abs() <= 1e-15 * s.abs(), "{s} vs 3·{b}");
        }
    }
}

#[test]
fn class_index_targets_are_their_one_hot_rows() {
    let ce = json!({"kind": "cross_entropy"});
    let indices = grad("conv-ce-idx.json", &model(json!({"loss": ce, "target": [1, 0, 1]})));
    let one_hot = grad("conv-ce-hot.json", &model(json!({"loss": ce, "target": [[0, 1], [1, 0], [0, 1]]})));
    assert_eq!(indices, one_hot);
    let path = temp_file("conv-ce-bad.json", &model(json!({"loss": ce, "target": [1, 2, 0]})).to_string());
    assert_bad_input(&report(&["grad", "--model", path.to_str().unwrap()]), &["target 1", "class index"]);
    let path = temp_file("conv-mse-idx.json", &model(json!({"target": [1, 0, 1]})).to_string());
    assert_bad_input(&report(&["grad", "--model", path.to_str().unwrap()]), &["target", "cross_entropy"]);
}

fn transpose(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    (0..m[0].len()).map(|i| m.iter().map(|r| r[i]).collect()).collect()
}

#[test]
fn in_out_weights_give_the_transposed_gradients() {
    let out_in = model(json!({}));
    let mut in_out = out_in.clone();
    in_out["weight_layout"] = json!("in_out");
    for l in 0..2 {
        let w: Vec<Vec<f64>> = serde_json::from_value(out_in["layers"][l]["weight"].clone()).unwrap();
        in_out["layers"][l]["weight"] = json!(transpose(&w));
    }
    let (a, b) = (grad("conv-oi.json", &out_in), grad("conv-io.json", &in_out));
    for l in 0..2 {
        assert_eq!(transpose(&weights(&a, l)), weights(&b, l));
    }
}

/// A NaN in an in_out weight is named where it is in the file (row = input i, column = unit j),
/// not at its place in the transpose the network keeps.
#[test]
fn a_non_finite_in_out_weight_is_named_in_the_files_layout() {
    let mut in_out = model(json!({"weight_layout": "in_out"}));
    for l in 0..2 {
        let w: Vec<Vec<f64>> = serde_json::from_value(in_out["layers"][l]["weight"].clone()).unwrap();
        in_out["layers"][l]["weight"] = json!(transpose(&w));
    }
    // Layer 1 in_out is 2 × 3: [1][0] is input 1's weight into unit 0, the network's W[0][1].
    in_out["layers"][0]["weight"][1][0] = json!(12345.5);
    let text = in_out.to_string().replace("12345.5", "NaN");
    let path = temp_file("conv-io-nan.json", &text);
    assert_bad_input(
        &report(&["grad", "--model", path.to_str().unwrap()]),
        &["layer 1 weight row 1 column 0: NaN is not a finite number"],
    );
}

#[test]
fn a_shortcut_between_layers_of_different_widths_is_refused_naming_them() {
    let path = temp_file("conv-shortcut.json", &model(json!({"shortcut": 1})).to_string());
    assert_bad_input(
        &report(&["grad", "--model", path.to_str().unwrap()]),
        &["shortcut: span 1", "adds the input (width 2)", "layer 1 (width 3)"],
    );
}

/// Runs `gradlab check` on `model` against `grads` (text), returning the run.
fn check(name: &str, model: &Value, grads: &str, extra: &[&str]) -> crate::cli_run::Run {
    let m = temp_file(&format!("{name}-model.json"), &model.to_string());
    let g = temp_file(&format!("{name}-grads.json"), grads);
    let mut args = vec!["check", "--model", m.to_str().unwrap(), "--grads", g.to_str().unwrap()];
    args.extend_from_slice(extra);
    report(&args)
}

#[test]
fn half_the_reference_gets_the_convention_hint_not_a_backward_bug() {
    let mean = grad("conv-hint-mean.json", &model(json!({"loss": {"kind": "mse", "reduction": "mean"}})));
    let run = check("conv-hint", &model(json!({})), &mean.to_string(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("Layer 2: their gradients are 0.500000 (= 1/n_out) × the reference"), "{}", run.stdout);
    assert!(run.stdout.contains("not a backward bug"));
    assert!(!run.stdout.contains("look for the bug in"), "{}", run.stdout);
    let json = check("conv-hint-json", &model(json!({})), &mean.to_string(), &["--format", "json"]);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["conventions_only"], true);
    assert_eq!(v["layers"][1]["convention"]["ratio"], "1/n_out");
}

#[test]
fn a_transposed_non_square_weight_grad_is_a_layout_hint_exit_1() {
    let mut g = grad("conv-t-ref.json", &model(json!({})));
    let w = weights(&g, 0);
    g["layers"][0]["weight_grad"] = json!(transpose(&w)); // 3×2 given as 2×3
    let run = check("conv-t", &model(json!({})), &g.to_string(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("Layer 1: their gradients are 1.00000 (= 1) × the transpose of the reference"),
        "{}",
        run.stdout
    );
    // The row says why it fails with no entry failing, and an entry that is wrong too is named
    // where it is in their file: their [0][1] is the model's [1][0].
    assert!(run.stdout.contains("| FAIL (transposed) |"), "{}", run.stdout);
    let mut t = transpose(&w);
    t[0][1] *= 5.0;
    g["layers"][0]["weight_grad"] = json!(t);
    let run = check("conv-t-wrong", &model(json!({})), &g.to_string(), &["--format", "json"]);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!((v["layers"][0]["transposed"].clone(), v["layers"][0]["failed"].clone()), (json!(true), json!(1)));
    assert_eq!(v["layers"][0]["worst"]["entry"], "weight_grad[0][1]");
}

#[test]
fn nan_and_infinity_in_a_gradients_file_are_located_fails() {
    let g = grad("conv-nan-ref.json", &model(json!({})));
    let text = g.to_string();
    let w = weights(&g, 0);
    let first = serde_json::to_string(&w[0][1]).unwrap();
    let text = text.replacen(&first, "NaN", 1);
    let run = check("conv-nan", &model(json!({})), &text, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("Layer 1: 1 of their entries is not finite"), "{}", run.stdout);
    assert!(run.stdout.contains("`weight_grad[0][1]`") && run.stdout.contains("NaN (theirs)"), "{}", run.stdout);
    let run = check("conv-inf", &model(json!({})), &text.replacen("NaN", "-Infinity", 1), &[]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("-Infinity (theirs)"), "{}", run.stdout);
}

#[test]
fn dtype_f32_presets_single_precision_tolerances() {
    let g = grad("conv-f32-ref.json", &model(json!({})));
    // Every entry off by a relative 1e−5, as f32 arithmetic leaves it: f64's tolerances fail it,
    // f32's pass it.
    let mut off = g.clone();
    for l in 0..2 {
        let w: Vec<Vec<f64>> = weights(&g, l).iter().map(|r| r.iter().map(|x| x * (1.0 + 1e-5)).collect()).collect();
        off["layers"][l]["weight_grad"] = json!(w);
    }
    assert_eq!(check("conv-f64", &model(json!({})), &off.to_string(), &[]).code, 1);
    let run = check("conv-f32", &model(json!({})), &off.to_string(), &["--dtype", "f32"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("+ floor, with floor = 1.2e-38 (below it a gradient underflows in their precision), with atol = 1.0e-4 and rtol = 1.0e-3"), "{}", run.stdout);
    let json = check("conv-f32-json", &model(json!({})), &off.to_string(), &["--dtype", "f32", "--format", "json"]);
    assert!(json.stdout.contains("\"floor\":1.1754943508222875e-38"), "{}", json.stdout);
}

#[test]
fn a_dash_reads_the_model_from_standard_input_and_writes_standard_output() {
    for (command, file) in [("grad", "docs/examples/xor.json"), ("diagnose", "docs/examples/deep-sigmoid.json")] {
        let text = std::fs::read_to_string(repo_root().join(file)).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_gradlab"))
            .args([command, "--model", "-", "--out", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{command}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, report(&[command, "--model", file]).stdout.into_bytes(), "{command}");
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // About 300 kB of output, far past a pipe's buffer, to a reader that has gone.
    let mut child = Command::new(env!("CARGO_BIN_EXE_gradlab"))
        .args(["chain", "--activation", "tanh", "--weight", "1", "--depth", "3000", "--input", "1", "--target", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn usage_errors_are_clap_s_with_exit_2() {
    let run = report(&["check", "--model", "docs/examples/xor.json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--grads <FILE>") && run.stderr.contains("Usage: gradlab check"), "{}", run.stderr);
    let run = report(&["grad", "--modle", "x.json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("tip: a similar argument exists: '--model'"), "{}", run.stderr);
}
