//! `report grad`: random models against the `scalar` oracle, the output contract, files that are
//! missing, too large or overflowing; bad model files are `grad_refusals.rs`.

use crate::cli_run::{assert_bad_input, report, temp_file};
use proptest::prelude::*;
use scalar::dense::{Dense, DenseLayer, LayerNorm, Loss, NormAt, NormKind};
use scalar::{Activation, Skip};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh file name per call, so parallel tests and proptest cases never share a file.
pub(crate) fn unique(stem: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{stem}-{}-{}.json", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A dense model and its batch, as both the oracle's types and the model file's JSON.
#[derive(Debug, Clone)]
struct ModelCase {
    layers: Vec<DenseLayer>,
    shortcut: Option<usize>,
    /// The `"shortcut_layers"` field, if written (only with a shortcut).
    joins: Option<Vec<usize>>,
    /// The `"skip"` field, if written (only with a shortcut).
    skip: Option<Skip>,
    /// Each layer's `"norm"`, if written (its `"eps"` and `"at"` written only when they are not
    /// the defaults).
    norms: Vec<Option<LayerNorm>>,
    input: Vec<Vec<f64>>,
    target: Vec<Vec<f64>>,
    loss: Loss,
}

impl ModelCase {
    fn to_json(&self) -> Value {
        let layers: Vec<Value> = self
            .layers
            .iter()
            .zip(&self.norms)
            .map(|(l, norm)| {
                let mut v = json!({"weight": l.weight, "activation": l.activation.name()});
                if let Some(b) = &l.bias {
                    v["bias"] = json!(b);
                }
                if let Some(norm) = norm {
                    v["norm"] = json!({});
                    if let Some(g) = &norm.weight {
                        v["norm"]["weight"] = json!(g);
                    }
                    if let Some(b) = &norm.bias {
                        v["norm"]["bias"] = json!(b);
                    }
                    if norm.eps != LayerNorm::DEFAULT_EPS {
                        v["norm"]["eps"] = json!(norm.eps);
                    }
                    if norm.at == NormAt::PreActivation {
                        v["norm"]["at"] = json!("pre_activation");
                    }
                    if norm.kind == NormKind::Rms {
                        v["norm"]["kind"] = json!("rms");
                    }
                }
                v
            })
            .collect();
        let mut v = json!({"layers": layers, "input": self.input, "target": self.target,
                           "leaky_slope": 0.125});
        if let Some(s) = self.shortcut {
            v["shortcut"] = json!(s);
        }
        if let Some(joins) = &self.joins {
            v["shortcut_layers"] = json!(joins);
        }
        if let Some(skip) = self.skip {
            v["skip"] = json!(report::model::skip_name(skip));
        }
        if self.loss == Loss::BinaryCrossEntropy {
            v["loss"] = json!("bce");
        }
        v
    }
}

fn dyadic_strategy() -> impl Strategy<Value = f64> {
    (-32i32..=32).prop_map(|k| f64::from(k) / 16.0)
}

fn matrix_strategy(rows: usize, cols: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
    proptest::collection::vec(proptest::collection::vec(dyadic_strategy(), cols), rows)
}

fn model_case_strategy() -> impl Strategy<Value = ModelCase> {
    let activation = prop_oneof![
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
        Just(Activation::Relu),
        Just(Activation::LeakyRelu { slope: 0.125 }),
        Just(Activation::Softplus),
        Just(Activation::Identity),
        Just(Activation::Gelu),
        Just(Activation::Silu),
    ];
    (proptest::collection::vec(1usize..4, 2..5), 1usize..4).prop_flat_map(move |(widths, batch)| {
        let n_layers = widths.len() - 1;
        let layers: Vec<_> = widths
            .windows(2)
            .map(|w| {
                let (n_in, n_out) = (w[0], w[1]);
                let at = prop_oneof![Just(NormAt::Input), Just(NormAt::PreActivation)];
                let kind = prop_oneof![Just(NormKind::Layer), Just(NormKind::Rms)];
                let norm = (at, kind).prop_flat_map(move |(at, kind)| {
                    let width = if at == NormAt::Input { n_in } else { n_out };
                    let vector = move || proptest::option::of(proptest::collection::vec(dyadic_strategy(), width));
                    let eps = prop_oneof![Just(LayerNorm::DEFAULT_EPS), Just(0.25), Just(1.0)];
                    (vector(), vector(), eps).prop_map(move |(weight, bias, eps)| LayerNorm {
                        weight,
                        bias,
                        eps,
                        at,
                        kind,
                    })
                });
                (
                    matrix_strategy(w[1], w[0]),
                    proptest::option::of(proptest::collection::vec(dyadic_strategy(), w[1])),
                    activation.clone(),
                    proptest::option::weighted(0.25, norm),
                )
                    .prop_map(|(weight, bias, activation, norm)| (DenseLayer { weight, bias, activation }, norm))
            })
            .collect();
        (
            layers,
            proptest::option::of(1..=n_layers),
            matrix_strategy(batch, widths[0]),
            matrix_strategy(batch, widths[n_layers]),
            any::<bool>(),
            prop_oneof![Just(None), Just(Some(Skip::PreActivation)), Just(Some(Skip::Identity))],
            proptest::option::of(any::<u64>()),
        )
            .prop_map(move |(layers, span, input, target, bce, skip, mask)| {
                let (mut layers, norms): (Vec<DenseLayer>, Vec<Option<LayerNorm>>) = layers.into_iter().unzip();
                // A model file's shortcut joins layers of equal width only (others are refused):
                // the span's rule where all of its layers are; or, with a mask, the layers named
                // by its bits among those of equal width.
                let equal = |s: usize, l: usize| widths[l - s] == widths[l];
                let (shortcut, joins) = match (span, mask) {
                    (Some(s), Some(mask)) => {
                        let named = (s..=n_layers).filter(|&l| equal(s, l) && mask >> (l % 64) & 1 == 1);
                        (Some(s), Some(named.collect::<Vec<_>>()))
                    }
                    (span, _) => (span.filter(|&s| (s..=n_layers).step_by(s).all(|l| equal(s, l))), None),
                };
                let loss = if bce {
                    layers.last_mut().unwrap().activation = Activation::Sigmoid;
                    Loss::BinaryCrossEntropy
                } else {
                    Loss::SquaredError
                };
                // `skip` only beside a shortcut; bce refuses an identity shortcut into its output.
                let into_top = match &joins {
                    Some(joins) => joins.contains(&n_layers),
                    None => shortcut.is_some_and(|s| n_layers % s == 0 && equal(s, n_layers)),
                };
                let skip = shortcut.and(skip).filter(|&k| !(bce && k == Skip::Identity && into_top));
                ModelCase { layers, shortcut, joins, skip, norms, input, target, loss }
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn report_grad_equals_the_scalar_oracle_bit_for_bit(case in model_case_strategy()) {
        let path = temp_file(&unique("grad-model"), &case.to_json().to_string());
        let run = report(&["grad", "--model", path.to_str().unwrap()]);
        prop_assert_eq!(run.code, 0, "stderr: {}", run.stderr);
        let printed: Value = serde_json::from_str(&run.stdout).unwrap();
        let mut oracle = Dense::new(case.layers.clone(), case.shortcut).unwrap().with_skip(case.skip.unwrap_or_default());
        if let Some(joins) = &case.joins {
            oracle = oracle.with_shortcut_layers(joins.clone()).unwrap();
        }
        let oracle = oracle
            .with_norms(case.norms.clone())
            .unwrap()
            .gradients(&case.input, &case.target, case.loss)
            .unwrap();
        prop_assert_eq!(printed["loss"].as_f64().unwrap().to_bits(), oracle.loss.to_bits());
        let layers = printed["layers"].as_array().unwrap();
        prop_assert_eq!(layers.len(), case.layers.len());
        for (l, layer) in layers.iter().enumerate() {
            let w: Vec<Vec<f64>> = serde_json::from_value(layer["weight_grad"].clone()).unwrap();
            let b: Vec<f64> = serde_json::from_value(layer["bias_grad"].clone()).unwrap();
            let bits = |m: &[Vec<f64>]| -> Vec<Vec<u64>> {
                m.iter().map(|r| r.iter().map(|v| v.to_bits()).collect()).collect()
            };
            prop_assert_eq!(bits(&w), bits(&oracle.weight[l]), "layer {}", l + 1);
            prop_assert_eq!(bits(&[b]), bits(&[oracle.bias[l].clone()]), "layer {}", l + 1);
            // A normalised layer's γ and β gradients, and no such keys elsewhere.
            let norm = |key: &str| -> Option<Vec<f64>> { layer.get(key).map(|v| serde_json::from_value(v.clone()).unwrap()) };
            let expected = oracle.norm[l].as_ref();
            prop_assert_eq!(norm("norm_weight_grad").map(|g| bits(&[g])), expected.map(|n| bits(std::slice::from_ref(&n.weight))));
            prop_assert_eq!(norm("norm_bias_grad").map(|g| bits(&[g])), expected.map(|n| bits(std::slice::from_ref(&n.bias))));
        }
        std::fs::remove_file(path).unwrap();
    }
}

#[test]
fn grad_prints_loss_and_a_bias_grad_for_every_layer() {
    let model = json!({
        "layers": [{"weight": [[1.0, -0.5]], "activation": "identity"}],
        "input": [[1.0, 2.0]], "target": [[0.5]]
    });
    let path = temp_file(&unique("grad-no-bias"), &model.to_string());
    let run = report(&["grad", "--model", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // y = 1 − 1 = 0, L = (0 − 0.5)² = 0.25, ∂L/∂z = 2(y − t) = −1: ∂L/∂W = −x, ∂L/∂b = −1.
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v, json!({"loss": 0.25, "layers": [{"weight_grad": [[-1.0, -2.0]], "bias_grad": [-1.0]}]}));
    assert_eq!(run.stdout.lines().count(), 3, "one layer per line:\n{}", run.stdout);
}

#[test]
fn grad_writes_out_file_atomically() {
    let model = json!({
        "layers": [{"weight": [[2.0]], "activation": "identity"}],
        "input": [[1.0]], "target": [[0.0]]
    });
    let path = temp_file(&unique("grad-out-model"), &model.to_string());
    let out = path.with_extension("grads.json");
    let run = report(&["grad", "--model", path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    assert_eq!(v["layers"][0]["weight_grad"], json!([[4.0]]));
}

#[test]
fn a_missing_model_file_is_refused() {
    let run = report(&["grad", "--model", "no/such/model.json"]);
    assert_bad_input(&run, &["cannot read no/such/model.json"]);
}

#[test]
fn a_model_over_the_memory_budget_is_refused_before_any_work() {
    // 65,792 parameters at 80 bytes each (5.3 MB) from 131 kB of JSON, which may be read.
    let square = vec![vec![1; 256]; 256];
    let model = json!({
        "layers": [{"weight": square, "activation": "tanh"}],
        "input": [vec![1; 256]], "target": [vec![0; 256]]
    });
    let path = temp_file(&unique("grad-budget"), &model.to_string());
    let run = report(&["grad", "--model", path.to_str().unwrap(), "--memory-budget-mib", "2"]);
    assert_bad_input(&run, &["65792 parameters, 1 sample)", "memory budget of 2 MiB"]);
    // Before even reading it: a file whose parsed form could exceed the budget.
    let run = report(&["grad", "--model", path.to_str().unwrap(), "--memory-budget-mib", "0"]);
    assert_bad_input(&run, &["reading", "bytes", "memory budget of 0 MiB"]);
    // `check` also keeps each parameter's error estimate as it forms it (40 bytes each, 2.6 MB
    // here): 6 MiB holds the gradients (5.4 MB) and not the check, which is refused before its
    // gradients file is read.
    let model_path = path.to_str().unwrap();
    assert_eq!(report(&["grad", "--model", model_path, "--memory-budget-mib", "6"]).code, 0);
    let run = report(&["check", "--model", model_path, "--grads", "no/such/grads.json", "--memory-budget-mib", "6"]);
    assert_bad_input(&run, &["the reference gradients and the check's scales of", "memory budget of 6 MiB"]);
}

/// The reference gradients need memory for the parameters, not for parameters × samples: 16,641
/// parameters on a batch of 1,024 (a tape of about 34 million nodes, 3 GB) are differentiated
/// and checked under a 1 GB address-space limit.
#[test]
fn a_large_batch_is_checked_in_memory_for_the_parameters() {
    let (n, batch) = (128usize, 1024usize);
    // Weights ±1/64 and inputs ±1 in a fixed pattern: tanh stays away from saturation.
    let sign = |k: usize| if k.is_multiple_of(3) { -1.0 } else { 1.0 };
    let weight: Vec<Vec<f64>> = (0..n).map(|j| (0..n).map(|i| sign(i * 7 + j) / 64.0).collect()).collect();
    let model = json!({
        "layers": [{"weight": weight, "activation": "tanh"},
                   {"weight": [vec![1.0 / 16.0; n]], "activation": "identity"}],
        "input": (0..batch).map(|b| (0..n).map(|i| sign(i + b)).collect::<Vec<f64>>()).collect::<Vec<_>>(),
        "target": (0..batch).map(|b| vec![(b % 5) as f64 / 4.0]).collect::<Vec<_>>()
    });
    let dir = std::env::temp_dir();
    let model_path = temp_file(&unique("grad-large-batch"), &model.to_string());
    let grads_path = dir.join(unique("grad-large-batch-grads.json"));
    let bin = env!("CARGO_BIN_EXE_gradlab");
    let (m, g) = (model_path.display(), grads_path.display());
    let script = format!(
        "ulimit -v 1000000; '{bin}' grad --model '{m}' --out '{g}' && exec '{bin}' check --model '{m}' --grads '{g}'"
    );
    let out = std::process::Command::new("sh").args(["-c", &script]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("PASS: every layer matches the reference."), "{stdout}");
    std::fs::remove_file(grads_path).ok();
}

/// A model whose f64 forward pass overflows has no f64 gradients: refused at the first value that
/// leaves f64 (a z, or an identity shortcut's sum), with its layer, sample and unit, never printed
/// as gradients (a sigmoid at z = ∞ gave exact zeros). One whose loss or backward overflows is
/// refused at that place.
#[test]
fn an_overflow_is_refused_where_it_happens() {
    let run_on = |stem: &str, model: Value| {
        let path = temp_file(&unique(stem), &model.to_string());
        report(&["grad", "--model", path.to_str().unwrap()])
    };
    // z = 1e300 · 1e10 in layer 2 (layer 1 passes the input through), second sample.
    let z = json!({
        "layers": [{"weight": [[1.0]], "activation": "identity"}, {"weight": [[1e300]], "activation": "sigmoid"}],
        "input": [[1.0], [1e10]], "target": [[0.0], [0.0]]
    });
    assert_bad_input(&run_on("overflow-z", z), &["layer 2: the pre-activation z = inf (sample 1, unit 0)"]);
    // a_1 = 1e308 + x with x = 1e308 (span 1, identity skip): z_1 = 1e308 is finite.
    let sum = json!({
        "layers": [{"weight": [[1.0]], "activation": "identity"}],
        "shortcut": 1, "skip": "identity",
        "input": [[1e308]], "target": [[0.0]]
    });
    assert_bad_input(
        &run_on("overflow-sum", sum),
        &["layer 1: the identity shortcut's sum", "= inf (sample 0, unit 0)"],
    );
    // Sample 0 overflows in layer 2, sample 1 already in layer 1: the lowest layer is named, as
    // `gradlab diagnose` names it (layer first, then sample), whatever the samples' order.
    let two = json!({
        "layers": [{"weight": [[1e200]], "activation": "identity"}, {"weight": [[1e200]], "activation": "identity"}],
        "input": [[1.0], [1e200]], "target": [[0.0], [0.0]]
    });
    let path = temp_file(&unique("overflow-two"), &two.to_string());
    let want = "layer 1: the pre-activation z = inf (sample 1, unit 0)";
    assert_bad_input(&report(&["grad", "--model", path.to_str().unwrap()]), &[want]);
    let diagnosis = report(&["diagnose", "--model", path.to_str().unwrap(), "--format", "json"]);
    let v: Value = serde_json::from_str(&diagnosis.stdout).expect("diagnose prints JSON");
    assert_eq!(v["non_finite"], json!({"layer": 1, "pass": "forward", "sample": 1, "unit": 0}), "{v}");
    // y = 1e200 is finite, (y − t)² is not.
    let loss =
        json!({"layers": [{"weight": [[1e200]], "activation": "identity"}], "input": [[1.0]], "target": [[0.0]]});
    assert_bad_input(&run_on("overflow-loss", loss), &["loss: the reference value inf", "`gradlab diagnose`"]);
}

/// A byte-order mark, as Windows editors and PowerShell's `Out-File` write one, is skipped: the
/// file is read as without it.
#[test]
fn a_byte_order_mark_is_skipped() {
    let text = r#"{"layers": [{"weight": [[2.0]], "activation": "identity"}], "input": [[1.0]], "target": [[0.0]]}"#;
    let plain = temp_file(&unique("bom-plain"), text);
    let marked = temp_file(&unique("bom-marked"), &format!("\u{feff}{text}"));
    let (a, b) =
        (report(&["grad", "--model", plain.to_str().unwrap()]), report(&["grad", "--model", marked.to_str().unwrap()]));
    assert_eq!((a.code, b.code), (0, 0), "{}", b.stderr);
    assert_eq!(a.stdout, b.stdout);
}

/// A sigmoid output under `bce_with_logits` is computed as written (the format expresses it), and
/// `grad`, `check` and `diagnose` warn on standard error that the sigmoid is applied twice; an
/// output the loss does not squeeze twice gets no warning.
#[test]
fn a_sigmoid_under_bce_with_logits_is_computed_with_a_warning_of_the_double_sigmoid() {
    let model = |last: &str, kind: &str, skip: Option<&str>| {
        let mut m = json!({
            "layers": [
                {"weight": [[0.5, -1.0], [0.25, 0.75]], "activation": "tanh"},
                {"weight": [[1.5, -0.5], [0.5, 1.0]], "activation": last}
            ],
            "loss": {"kind": kind, "reduction": "mean"},
            "input": [[1.0, 2.0], [-1.0, 0.5]], "target": [[1.0, 0.0], [0.0, 1.0]]
        });
        if let Some(skip) = skip {
            m["shortcut"] = json!(2);
            m["skip"] = json!(skip);
        }
        temp_file(&unique("double-sigmoid"), &m.to_string())
    };
    let path = model("sigmoid", "bce_with_logits", None);
    let file = path.to_str().unwrap();
    let warning = format!(
        "warning: {file}: layer 2: a sigmoid output under bce_with_logits, which applies its own sigmoid: the \
         network applies it twice (a common bug: the loss then changes little and training slows); use the loss \
         \"bce\", or make layer 2 \"identity\"\n"
    );
    let grad = report(&["grad", "--model", file]);
    assert_eq!((grad.code, grad.stderr.as_str()), (0, warning.as_str()));
    let grads = temp_file(&unique("double-sigmoid-grads"), &grad.stdout);
    let check = report(&["check", "--model", file, "--grads", grads.to_str().unwrap()]);
    assert_eq!((check.code, check.stderr.as_str()), (0, warning.as_str()));
    let diagnose = report(&["diagnose", "--model", file, "--format", "json"]);
    assert_eq!((diagnose.code, diagnose.stderr.as_str()), (0, warning.as_str()));
    // The gradients are the written model's: those of the sigmoid outputs as logits.
    let v: Value = serde_json::from_str(&grad.stdout).unwrap();
    let plain = report(&["grad", "--model", model("sigmoid", "mse", None).to_str().unwrap()]);
    assert_ne!(v, serde_json::from_str::<Value>(&plain.stdout).unwrap());
    // No warning where the loss squeezes the output once.
    for (last, kind, skip) in [
        ("sigmoid", "bce", None),
        ("identity", "bce_with_logits", None),
        ("sigmoid", "bce_with_logits", Some("identity")),
    ] {
        let run = report(&["grad", "--model", model(last, kind, skip).to_str().unwrap()]);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{last} under {kind}, skip {skip:?}");
    }
}
