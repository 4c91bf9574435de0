//! `report chain`: the JSON contract, exact magnitudes where `f64` underflows or overflows, and
//! refusals of bad input.

use crate::cli_run::{assert_bad_input, report};
use proptest::prelude::*;
use report::reference::{ChainReport, chain_gradients};
use scalar::Activation;
use scalar::chain::Chain;
use serde_json::Value;

/// Runs `report chain ARGS… --format json` and parses what it prints.
fn chain_json(args: &[&str]) -> Value {
    let mut all = vec!["chain", "--format", "json"];
    all.extend_from_slice(args);
    let run = report(&all);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    serde_json::from_str(&run.stdout).expect("valid JSON")
}

fn layers(v: &Value) -> &Vec<Value> {
    v["layers"].as_array().expect("layers is an array")
}

/// `Some(f64)` for a number, `None` for `null`.
fn opt(v: &Value) -> Option<f64> {
    if v.is_null() { None } else { Some(v.as_f64().expect("a number or null")) }
}

#[test]
fn chain_json_has_the_contract_fields_with_layer_1_at_the_input() {
    let v = chain_json(&[
        "--activation",
        "tanh",
        "--weights",
        "0.5,-1.25,2",
        "--biases",
        "0.25,0,-0.5",
        "--input",
        "0.75",
        "--target",
        "-0.5",
    ]);
    let obj = v.as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["layers", "loss", "output"]);
    let chain =
        Chain::new(vec![0.5, -1.25, 2.0], vec![Activation::Tanh; 3], Some(vec![0.25, 0.0, -0.5]), None).unwrap();
    let trace = chain.forward(0.75);
    let closed = chain.gradients_closed_form(0.75, -0.5);
    assert_eq!(v["output"].as_f64().unwrap().to_bits(), trace.output.to_bits());
    assert_eq!(v["loss"].as_f64().unwrap().to_bits(), closed.loss.to_bits());
    for (d, layer) in layers(&v).iter().enumerate() {
        let keys: Vec<_> = layer.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["grad", "input", "layer", "log10_abs_grad", "log10_bound", "pre_activation", "sign"]);
        assert_eq!(layer["layer"], d + 1);
        assert_eq!(layer["input"].as_f64().unwrap(), trace.input[d]);
        assert_eq!(layer["pre_activation"].as_f64().unwrap(), trace.pre_activation[d]);
        assert_eq!(opt(&layer["grad"]), Some(closed.weight[d]));
        assert_eq!(layer["sign"], closed.weight[d].signum() as i64);
        assert!(opt(&layer["log10_bound"]).is_some());
    }
    assert_eq!(layers(&v)[0]["input"].as_f64(), Some(0.75), "layer 1 reads x");
}

#[test]
fn depth_100000_sigmoid_chain_gives_exact_log10_where_f64_underflows() {
    const DEPTH: usize = 100_000;
    let v = chain_json(&[
        "--activation",
        "sigmoid",
        "--weight",
        "1.5",
        "--depth",
        "100000",
        "--input",
        "0.5",
        "--target",
        "1",
    ]);
    let chain = Chain::uniform(Activation::Sigmoid, vec![1.5; DEPTH]).unwrap();
    let oracle = chain.magnitudes(0.5, 1.0);
    let closed = chain.gradients_closed_form(0.5, 1.0);
    let layers = layers(&v);
    assert_eq!(layers.len(), DEPTH);
    let mut underflowed = 0;
    for (d, layer) in layers.iter().enumerate() {
        let log10 = opt(&layer["log10_abs_grad"]).expect("no gradient is exactly 0");
        assert_eq!(log10.to_bits(), oracle.log10_abs[d].to_bits(), "layer {}", d + 1);
        assert_eq!(layer["sign"], -1, "y < target, so every gradient is negative");
        assert_eq!(layer["sign"], i64::from(oracle.sign[d]));
        match opt(&layer["grad"]) {
            None => {
                underflowed += 1;
                assert_eq!(oracle.exact[d].to_f64(), 0.0, "null only where f64 underflows");
            }
            Some(g) => {
                assert_eq!(g, oracle.exact[d].to_f64());
                if g.is_normal() && closed.weight[d].is_normal() {
                    assert_eq!(g.to_bits(), closed.weight[d].to_bits(), "layer {}", d + 1);
                }
            }
        }
    }
    // (1/4·1.5)^D: f64 underflows below 1e-324, about 750 layers from the output.
    assert!(underflowed > DEPTH - 1000, "{underflowed} layers underflow");
    assert!(oracle.log10_abs[0] < -40_000.0, "{}", oracle.log10_abs[0]);
    assert_eq!(opt(&layers[DEPTH - 1]["grad"]), Some(closed.weight[DEPTH - 1]));
}

#[test]
fn exploding_chain_gradient_is_two_to_the_d_minus_3_and_overflows_f64() {
    // Sigmoid, w = 8, biases −8 then −4, x = 1, target 0: every z is 0, σ(0) = 1/2,
    // σ′(0) = 1/4, each layer doubles δ, and ∂L/∂w_d = 2(y−t)·σ′·u_d·2^(D−d) = 2^(D−d−3)
    // exactly for d ≥ 2, where u_d = 1/2; layer 1's input is x = 1, so it has 2^(D−3).
    const DEPTH: usize = 1100;
    /// log10_abs is accurate to about 1e-16 relative; 2^1096 has log10 ≈ 330.
    const LOG10_TOL: f64 = 1e-12;
    let biases = format!("-8,-4*{}", DEPTH - 1);
    let v = chain_json(&[
        "--activation",
        "sigmoid",
        "--weight",
        "8",
        "--depth",
        "1100",
        "--biases",
        &biases,
        "--input",
        "1",
        "--target",
        "0",
    ]);
    assert_eq!(v["output"].as_f64(), Some(0.5), "the forward pass stays finite");
    for (idx, layer) in layers(&v).iter().enumerate() {
        let d = idx + 1;
        let k = DEPTH as i32 - d as i32 - if d == 1 { 2 } else { 3 };
        assert_eq!(layer["pre_activation"].as_f64(), Some(0.0));
        assert_eq!(layer["sign"], 1);
        let log10 = opt(&layer["log10_abs_grad"]).unwrap();
        assert!((log10 - f64::from(k) * 2f64.log10()).abs() <= LOG10_TOL, "layer {d}: {log10}");
        if k >= 1024 {
            assert_eq!(opt(&layer["grad"]), None, "layer {d}: 2^{k} overflows f64");
        } else {
            assert_eq!(opt(&layer["grad"]), Some(2f64.powi(k)), "layer {d}");
        }
        let bound = opt(&layer["log10_bound"]).unwrap();
        assert!((bound - log10).abs() <= LOG10_TOL, "the bound is tight at z = 0");
    }
}

#[test]
fn exact_zero_gradient_has_null_log10_and_sign_0() {
    // ReLU with a negative first weight: z_1 < 0 cuts every path.
    let v = chain_json(&["--activation", "relu", "--weights", "-1,2", "--input", "1", "--target", "0.5"]);
    for layer in layers(&v) {
        assert_eq!(opt(&layer["grad"]), Some(0.0));
        assert_eq!(opt(&layer["log10_abs_grad"]), None);
        assert_eq!(layer["sign"], 0);
    }
}

#[test]
fn shortcut_chain_has_no_bound_and_matches_the_tape() {
    let v = chain_json(&[
        "--activation",
        "leaky_relu",
        "--slope",
        "0.125",
        "--weights",
        "0.5,-2,1.5,0.75",
        "--shortcut",
        "2",
        "--input",
        "-1",
        "--target",
        "0.25",
    ]);
    let chain =
        Chain::new(vec![0.5, -2.0, 1.5, 0.75], vec![Activation::LeakyRelu { slope: 0.125 }; 4], None, Some(2)).unwrap();
    let tape = chain.gradients_tape(-1.0, 0.25);
    for (d, layer) in layers(&v).iter().enumerate() {
        assert_eq!(opt(&layer["log10_bound"]), None);
        assert_eq!(opt(&layer["grad"]), Some(tape.weight[d]));
    }
}

#[test]
fn markdown_is_the_default_format() {
    let run = report(&["chain", "--activation", "sigmoid", "--weights", "1,2", "--input", "1", "--target", "0"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("| layer | z |"), "{}", run.stdout);
    assert_eq!(run.stdout.lines().filter(|l| l.starts_with("| ")).count(), 3);
}

fn dyadic_strategy(lo: i32, hi: i32) -> impl Strategy<Value = f64> {
    (lo * 16..=hi * 16).prop_map(|k| f64::from(k) / 16.0)
}

/// A small chain that stays well inside f64's normal range.
#[derive(Debug, Clone)]
struct ChainCase {
    activation: Activation,
    weights: Vec<f64>,
    biases: Option<Vec<f64>>,
    x: f64,
    target: f64,
}

fn chain_case_strategy() -> impl Strategy<Value = ChainCase> {
    let activation = prop_oneof![
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
        Just(Activation::Relu),
        Just(Activation::LeakyRelu { slope: 0.0625 }),
        Just(Activation::Softplus),
        Just(Activation::Identity),
        Just(Activation::Gelu),
        Just(Activation::Silu),
    ];
    (1usize..12).prop_flat_map(move |depth| {
        (
            activation.clone(),
            proptest::collection::vec(dyadic_strategy(-3, 3), depth),
            proptest::option::of(proptest::collection::vec(dyadic_strategy(-2, 2), depth)),
            dyadic_strategy(-2, 2),
            dyadic_strategy(-2, 2),
        )
            .prop_map(|(activation, weights, biases, x, target)| ChainCase {
                activation,
                weights,
                biases,
                x,
                target,
            })
    })
}

/// Whether every value the tape computes on the way to the gradients is 0 or lies 2^53 or more
/// inside f64's normal range: z_d, u_d, f(z_d), f′(z_d), ∂L/∂a_d and δ_d = f′(z_d)·∂L/∂a_d. Only
/// then is the tape's `f64` arithmetic the `Ext` arithmetic (which has `f64`'s bits inside the
/// range): a normal gradient alone does not say so. The margin covers the terms an activation's
/// formula combines, which lie within about 2^53 of its result: GELU's f′(z) = Φ(z) + z·φ(z) at
/// z = −37.7 is −1.4e−308 with Φ(z) ≈ 1e−311, both subnormal, while ∂L/∂w = f′·∂L/∂a·u ≈
/// −7e−306 is normal and 175 ulps off the exact value (a case the proptest below found).
/// δ_d is checked itself: a product of two values inside the range can be subnormal, and under
/// an identity skip ∂L/∂a_{d−1} = δ_d·w_d + ∂L/∂a_{d−1+s} stays normal through the shortcut's
/// term, so it does not vouch for δ_d. GELU, span 2, layer 5: f′ = −1.5e−27 and ∂L/∂a = 3.2e−282
/// are inside, δ_5 = −4.8e−309 is not, and ∂L/∂w_5 = δ_5·u_5 ≈ −2.2e−308 is normal and 1 ulp off
/// (the second proptest below found it in about 1 case in 10^6).
fn tape_stays_normal(chain: &Chain, activation: Activation, report: &ChainReport, x: f64, target: f64) -> bool {
    let margin = 2f64.powi(53);
    let inside = |v: f64| v == 0.0 || (f64::MIN_POSITIVE * margin..=f64::MAX / margin).contains(&v.abs());
    let forward = report.layers.iter().all(|l| {
        let z = l.pre_activation;
        [z, l.input, activation.value(z), activation.derivative(z)].into_iter().all(inside)
    });
    let trace = chain.forward_ext(x);
    let grads = chain.backward_ext(&trace, target);
    // A non-zero Ext that rounds to 0 in f64 is far outside the range, not 0.
    let backward =
        (grads.layer_output.iter().chain(&grads.bias)).all(|g| g.is_zero() || g.to_f64() != 0.0 && inside(g.to_f64()));
    forward && backward
}

/// The case that showed a normal gradient is not enough (see [`tape_stays_normal`]): GELU, an
/// identity skip of span 1; layer 6's f′ is subnormal, so the tape's ∂L/∂w_6 is off the exact
/// value, which `grad` gives correctly rounded.
#[test]
fn a_subnormal_derivative_under_a_normal_gradient_is_where_the_tape_loses_bits() {
    let weights = vec![-1.75, 1.875, -0.5, 3.0, -0.125, -2.375, 0.0, 0.0];
    let chain =
        Chain::new(weights, vec![Activation::Gelu; 8], None, Some(1)).unwrap().with_skip(scalar::Skip::Identity);
    let (x, target) = (-1.875, 0.0);
    let report = chain_gradients(&chain, x, target).unwrap();
    let tape = chain.gradients_tape(x, target);
    let layer = &report.layers[5];
    assert!(!Activation::Gelu.derivative(layer.pre_activation).is_normal());
    assert!(tape.weight[5].is_normal() && layer.grad == Some(layer.exact_grad.to_f64()));
    assert_ne!(layer.grad, Some(tape.weight[5]));
    assert!(!tape_stays_normal(&chain, Activation::Gelu, &report, x, target));
}

proptest! {
    #[test]
    fn chain_grad_is_the_tape_gradient_bit_for_bit_in_f64_range(case in chain_case_strategy()) {
        let depth = case.weights.len();
        let chain = Chain::new(case.weights, vec![case.activation; depth], case.biases, None).unwrap();
        let report = chain_gradients(&chain, case.x, case.target).unwrap();
        let tape = chain.gradients_tape(case.x, case.target);
        prop_assume!(tape_stays_normal(&chain, case.activation, &report, case.x, case.target));
        for (d, layer) in report.layers.iter().enumerate() {
            if tape.weight[d].is_normal() || tape.weight[d] == 0.0 && layer.exact_grad.is_zero() {
                prop_assert_eq!(layer.grad.map(f64::to_bits), Some(tape.weight[d].to_bits()));
            }
        }
    }

    #[test]
    fn the_bound_is_never_below_the_gradient(case in chain_case_strategy()) {
        /// The bound and the gradient are each rounded about 3 times per layer in Ext.
        const LOG10_SLACK: f64 = 1e-12;
        let depth = case.weights.len();
        let chain = Chain::new(case.weights, vec![case.activation; depth], case.biases, None).unwrap();
        let report = chain_gradients(&chain, case.x, case.target).unwrap();
        for layer in &report.layers {
            if let Some(g) = layer.log10_abs_grad {
                let bound = layer.log10_bound.expect("a non-zero gradient has a non-zero bound");
                prop_assert!(g <= bound + LOG10_SLACK, "layer {}: {} > {}", layer.layer, g, bound);
            }
        }
    }
}

#[test]
fn depth_0_is_refused() {
    for args in [&["--weight", "1", "--depth", "0"][..], &["--weights", ""][..]] {
        let mut all = vec!["chain", "--activation", "sigmoid", "--input", "1", "--target", "0"];
        all.extend_from_slice(args);
        assert_bad_input(&report(&all), &[]);
    }
    let mut all = vec!["chain", "--activation", "sigmoid", "--input", "1", "--target", "0"];
    all.extend_from_slice(&["--weight", "1", "--depth", "0"]);
    assert_bad_input(&report(&all), &["depth", "at least 1 layer"]);
}

#[test]
fn depth_10_to_the_12_is_refused_up_front_with_the_memory_estimate() {
    let run = report(&[
        "chain",
        "--activation",
        "sigmoid",
        "--weight",
        "1",
        "--depth",
        "1000000000000",
        "--input",
        "1",
        "--target",
        "0",
    ]);
    assert_bad_input(&run, &["depth 1000000000000", "MiB", "memory budget of 4096 MiB"]);
    let run =
        report(&["chain", "--activation", "sigmoid", "--weights", "1*1000000000000", "--input", "1", "--target", "0"]);
    assert_bad_input(&run, &["depth 1000000000000", "MiB"]);
    let run = report(&[
        "chain",
        "--activation",
        "sigmoid",
        "--weight",
        "1",
        "--depth",
        "5000",
        "--input",
        "1",
        "--target",
        "0",
        "--memory-budget-mib",
        "1",
    ]);
    assert_bad_input(&run, &["depth 5000", "memory budget of 1 MiB"]);
}

#[test]
fn bad_chain_flags_are_refused_with_what_and_where() {
    let base = ["chain", "--input", "1", "--target", "0"];
    let cases: &[(&[&str], &[&str])] = &[
        (&["--activation", "sigmod", "--weights", "1"], &["--activation", "\"sigmod\"", "sigmoid, tanh"]),
        (&["--activation", "tanh", "--weights", "1,x,3"], &["--weights item 2", "\"x\""]),
        (&["--activation", "tanh", "--weights", "1,1e400"], &["--weights item 2", "not a finite number"]),
        (&["--activation", "tanh", "--weights", "1*x"], &["--weights item", "whole number"]),
        (&["--activation", "tanh", "--weights", "1,2", "--biases", "1"], &["--biases", "expected 2 values", "got 1"]),
        (&["--activation", "tanh", "--weights", "1,2", "--shortcut", "3"], &["--shortcut 3", "depth 2"]),
        (&["--activation", "tanh", "--weight", "1", "--depth", "-3"], &["--depth", "whole number"]),
        (
            &["--activation", "tanh", "--weight", "1", "--depth", "340282366920938463463374607431768211456"],
            &["--depth", "is more than 2^128 − 1, the largest count"],
        ),
        (&["--activation", "identity", "--weights", "1e300,1e300"], &["layer 2", "overflows f64 in the forward pass"]),
    ];
    for (args, expected) in cases {
        let mut all: Vec<&str> = base.to_vec();
        all.extend_from_slice(args);
        assert_bad_input(&report(&all), expected);
    }
    // Usage errors come from clap: one line, exit 2, no panic.
    let run = report(&[
        "chain",
        "--activation",
        "tanh",
        "--weights",
        "1",
        "--weight",
        "1",
        "--depth",
        "1",
        "--input",
        "1",
        "--target",
        "0",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot be used with") && !run.stderr.contains("panicked"));
}

/// Regression (found by `chain_grad_is_the_tape_gradient_bit_for_bit_in_f64_range`): a sigmoid
/// chain with w = 0 and x = 0 has ∂L/∂w = δ·u = δ·0, which is −0.0 in `Ext` when δ < 0 (y < ŷ),
/// while the tape accumulates 0.0 + (−0.0) = +0.0. The sign of an exact zero carries no
/// information (`sign` is 0), so `grad` prints every exact zero as 0.0.
#[test]
fn exact_zero_gradient_is_printed_as_positive_zero() {
    let chain = Chain::uniform(Activation::Sigmoid, vec![0.0]).unwrap();
    let report = chain_gradients(&chain, 0.0, 0.5625).unwrap();
    assert_eq!(report.layers[0].grad.map(f64::to_bits), Some(0.0f64.to_bits()));
    assert_eq!(report.layers[0].sign, 0);
    let v = chain_json(&["--activation", "sigmoid", "--weights", "0", "--input", "0", "--target", "0.5625"]);
    assert_eq!(layers(&v)[0]["grad"].to_string(), "0.0");
}

/// The identity skip's hand-derived chain of `scalar`'s tests (ReLU, span 2, a dead unit at
/// layer 2 that the skipped path bypasses): ∂L/∂w = (0, 0, 3/2), y = 3/4.
const IDENTITY_SKIP_CHAIN: [&str; 14] = [
    "--activation",
    "relu",
    "--weights",
    "0.5,-2,0.25",
    "--biases",
    "0.125,0,0.5",
    "--shortcut",
    "2",
    "--input",
    "1",
    "--target",
    "0",
    "--skip",
    "identity",
];

#[test]
fn skip_identity_gives_the_oracles_identity_skip_gradients_and_says_so() {
    let v = chain_json(&IDENTITY_SKIP_CHAIN);
    assert_eq!(v["skip"], "identity");
    assert_eq!(v["output"].as_f64(), Some(0.75));
    let grads: Vec<Option<f64>> = layers(&v).iter().map(|l| opt(&l["grad"])).collect();
    assert_eq!(grads, [Some(0.0), Some(0.0), Some(1.5)]);
    // The same flags without --skip: the pre-activation form, a different chain (y = 1/2).
    let pre = chain_json(&IDENTITY_SKIP_CHAIN[..12]);
    assert_eq!(pre["output"].as_f64(), Some(0.5));
    assert!(pre.get("skip").is_none(), "the pre-activation form has no skip key, as before");

    // Bit for bit the oracle's, on a smooth chain with biases and span 3.
    let args = [
        "--activation",
        "sigmoid",
        "--weights",
        "1.5,-0.75,2,0.5,-1.25,1,0.25",
        "--biases",
        "0.1,-0.2,0.3,0,0.05,-0.4,0.2",
        "--shortcut",
        "3",
        "--skip",
        "identity",
        "--input",
        "0.7",
        "--target",
        "0.2",
    ];
    let v = chain_json(&args);
    let chain = Chain::new(
        vec![1.5, -0.75, 2.0, 0.5, -1.25, 1.0, 0.25],
        vec![Activation::Sigmoid; 7],
        Some(vec![0.1, -0.2, 0.3, 0.0, 0.05, -0.4, 0.2]),
        Some(3),
    )
    .unwrap()
    .with_skip(scalar::Skip::Identity);
    let closed = chain.gradients_closed_form(0.7, 0.2);
    let trace = chain.forward(0.7);
    assert_eq!(v["output"].as_f64().unwrap().to_bits(), closed.output.to_bits());
    for (d, layer) in layers(&v).iter().enumerate() {
        assert_eq!(opt(&layer["grad"]).unwrap().to_bits(), closed.weight[d].to_bits(), "layer {}", d + 1);
        assert_eq!(layer["input"].as_f64().unwrap().to_bits(), trace.input[d].to_bits(), "layer {}", d + 1);
        assert!(layer["log10_bound"].is_null(), "no bound with a shortcut");
    }

    // The table names the form; the pre-activation table does not change.
    let md = |args: &[&str]| {
        let mut all = vec!["chain"];
        all.extend_from_slice(args);
        let run = report(&all);
        assert_eq!(run.code, 0, "stderr: {}", run.stderr);
        run.stdout
    };
    let identity = md(&IDENTITY_SKIP_CHAIN);
    assert!(identity.contains("joins after f (the identity skip)"), "{identity}");
    let default = md(&IDENTITY_SKIP_CHAIN[..12]);
    assert!(!default.contains("identity skip"), "{default}");
}

#[test]
fn skip_pre_activation_is_the_output_without_the_flag_byte_for_byte() {
    for format in ["md", "json"] {
        let base = [
            "chain",
            "--format",
            format,
            "--activation",
            "tanh",
            "--weights",
            "0.5,-1.25,2,1",
            "--shortcut",
            "2",
            "--input",
            "0.75",
            "--target",
            "-0.5",
        ];
        let without = report(&base);
        let mut with = base.to_vec();
        with.extend_from_slice(&["--skip", "pre-activation"]);
        let with = report(&with);
        assert_eq!((without.code, with.code), (0, 0), "{}", with.stderr);
        assert_eq!(without.stdout, with.stdout, "{format}");
        let mut identity = base.to_vec();
        identity.extend_from_slice(&["--skip", "identity"]);
        assert_ne!(report(&identity).stdout, without.stdout, "{format}: the flag changes the chain");
    }
}

#[test]
fn skip_without_a_shortcut_or_with_an_unknown_form_is_refused() {
    let base = ["chain", "--activation", "sigmoid", "--weights", "1,2", "--input", "1", "--target", "0"];
    let mut no_shortcut = base.to_vec();
    no_shortcut.extend_from_slice(&["--skip", "identity"]);
    assert_bad_input(&report(&no_shortcut), &["--skip identity", "needs --shortcut"]);
    let mut unknown = base.to_vec();
    unknown.extend_from_slice(&["--shortcut", "1", "--skip", "post-activation"]);
    assert_bad_input(&report(&unknown), &["--skip", "\"post-activation\"", "pre-activation or identity"]);
}

proptest! {
    #[test]
    fn an_identity_skip_chains_grad_is_its_tape_gradient_bit_for_bit_in_f64_range(
        case in chain_case_strategy(),
        span in 1usize..=3,
    ) {
        let depth = case.weights.len();
        let chain = Chain::new(case.weights, vec![case.activation; depth], case.biases, Some(span.min(depth)))
            .unwrap()
            .with_skip(scalar::Skip::Identity);
        let report = chain_gradients(&chain, case.x, case.target).unwrap();
        prop_assert_eq!(report.skip, Some("identity"));
        let tape = chain.gradients_tape(case.x, case.target);
        prop_assume!(tape_stays_normal(&chain, case.activation, &report, case.x, case.target));
        for (d, layer) in report.layers.iter().enumerate() {
            if tape.weight[d].is_normal() || tape.weight[d] == 0.0 && layer.exact_grad.is_zero() {
                prop_assert_eq!(layer.grad.map(f64::to_bits), Some(tape.weight[d].to_bits()), "layer {}", d + 1);
            }
            prop_assert_eq!(layer.log10_bound, None);
        }
    }
}
