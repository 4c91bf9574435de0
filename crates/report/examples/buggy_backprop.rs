//! A hand-written backprop with a classic bug, for the worked example of `docs/model-format.md`.
//!
//! It reads a model file of sigmoid layers with the squared-error loss (no shortcut) and prints
//! its gradients in the shape `report grad` prints:
//!
//! ```text
//! cargo run -q -p report --example buggy_backprop -- MODEL            # with the bug
//! cargo run -q -p report --example buggy_backprop -- MODEL --fixed    # without it
//! ```
//!
//! The maths, per sample, with a_0 = x, z_l = W_l·a_{l−1} + b_l, a_l = σ(z_l), y = a_L and
//! L = (1/B)·Σ_samples Σ_j (y_j − t_j)²:
//!
//! ```text
//! δ_L = (2/B)·(y − t) ⊙ σ′(z_L)
//! δ_l = (W_{l+1}ᵀ·δ_{l+1}) ⊙ σ′(z_l)        ← the bug leaves out "⊙ σ′(z_l)" here
//! ∂L/∂W_l += δ_l·a_{l−1}ᵀ,   ∂L/∂b_l += δ_l
//! ```
//!
//! It is deliberately plain Rust — no tape, no `scalar` — like the code people write by hand.

use report::model::Model;
use report::reference::{LayerGradients, ModelGradients};
use scalar::Activation;
use scalar::dense::Loss;
use std::process::ExitCode;

/// Which backprop to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backprop {
    /// The hidden deltas forget to multiply by σ′(z_l).
    MissingSigmoidDerivative,
    /// The right one.
    Fixed,
}

/// The loss and gradients of `model`, by hand.
///
/// # Errors
/// When the model is not what this little program handles (sigmoid layers, squared error, no
/// shortcut).
pub fn backprop(model: &Model, which: Backprop) -> Result<ModelGradients, String> {
    let net = model.net();
    if model.loss() != Loss::SquaredError || net.shortcut().is_some() {
        return Err("only the squared-error loss without a shortcut is handled".into());
    }
    if net.layers().iter().any(|l| l.activation != Activation::Sigmoid) {
        return Err("only sigmoid layers are handled".into());
    }
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let layers = net.layers();
    let batch = model.batch() as f64;
    let mut loss = 0.0;
    let mut grads: Vec<LayerGradients> = layers
        .iter()
        .map(|l| LayerGradients {
            weight_grad: vec![vec![0.0; l.weight[0].len()]; l.weight.len()],
            bias_grad: vec![0.0; l.weight.len()],
            norm_weight_grad: None,
            norm_bias_grad: None,
        })
        .collect();
    for (x, t) in model.input().iter().zip(model.target()) {
        // Forward: keep every layer's output a_l (a[0] = x).
        let mut a = vec![x.clone()];
        for layer in layers {
            let prev = a.last().expect("a[0] = x");
            let out = (layer.weight.iter().enumerate())
                .map(|(j, row)| {
                    let bias = layer.bias.as_ref().map_or(0.0, |b| b[j]);
                    sigmoid(row.iter().zip(prev).map(|(w, u)| w * u).sum::<f64>() + bias)
                })
                .collect();
            a.push(out);
        }
        let y = a.last().expect("at least one layer");
        loss += y.iter().zip(t).map(|(y, t)| (y - t) * (y - t)).sum::<f64>() / batch;
        // Backward. σ′(z) = σ(z)·(1 − σ(z)) = a·(1 − a).
        let mut delta: Vec<f64> = (y.iter().zip(t)).map(|(y, t)| 2.0 / batch * (y - t) * y * (1.0 - y)).collect();
        for l in (0..layers.len()).rev() {
            for (j, d) in delta.iter().enumerate() {
                for (i, u) in a[l].iter().enumerate() {
                    grads[l].weight_grad[j][i] += d * u;
                }
                grads[l].bias_grad[j] += d;
            }
            if l == 0 {
                break;
            }
            // δ_{l−1} = W_lᵀ·δ_l ⊙ σ′(z_{l−1}), with σ′(z_{l−1}) = a_{l−1}(1 − a_{l−1}).
            delta = (0..a[l].len())
                .map(|i| {
                    let back: f64 = (0..delta.len()).map(|j| layers[l].weight[j][i] * delta[j]).sum();
                    match which {
                        Backprop::MissingSigmoidDerivative => back,
                        Backprop::Fixed => back * a[l][i] * (1.0 - a[l][i]),
                    }
                })
                .collect();
        }
    }
    Ok(ModelGradients { loss, layers: grads })
}

#[allow(dead_code)] // the integration tests include this file for `backprop` only
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = if args.iter().any(|a| a == "--fixed") { Backprop::Fixed } else { Backprop::MissingSigmoidDerivative };
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: buggy_backprop MODEL [--fixed]");
        return ExitCode::from(2);
    };
    let result = Model::from_file(path.as_ref()).map_err(|e| e.to_string()).and_then(|model| backprop(&model, which));
    match result {
        Ok(grads) => {
            println!("{}", grads.to_json());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
