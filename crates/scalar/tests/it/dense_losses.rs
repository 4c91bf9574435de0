//! The losses of the frameworks' conventions on the dense oracle: binary cross-entropy on logits
//! and softmax cross-entropy, each with the batch's sum divided by any denominator
//! (`Dense::gradients_over`) — against `gradcheck`'s Richardson differences of the loss for every
//! parameter, and against the closed forms of the output layer's bias gradient.

use scalar::Activation;
use scalar::dense::{Dense, DenseLayer, Loss};
use scalar::gradcheck::{Options, check_gradient};

/// A 3→4→3 tanh/identity network: its outputs are logits.
fn logits_net() -> Dense {
    Dense::new(
        vec![
            DenseLayer {
                weight: vec![
                    vec![0.3, -0.2, 0.5],
                    vec![0.1, 0.4, -0.6],
                    vec![-0.7, 0.2, 0.05],
                    vec![0.25, -0.35, 0.15],
                ],
                bias: Some(vec![0.1, -0.1, 0.0, 0.2]),
                activation: Activation::Tanh,
            },
            DenseLayer {
                weight: vec![vec![0.5, -0.4, 0.3, 0.2], vec![-0.1, 0.2, 0.6, -0.3], vec![0.9, -0.8, 0.1, 0.4]],
                bias: Some(vec![0.05, -0.05, 0.3]),
                activation: Activation::Identity,
            },
        ],
        None,
    )
    .unwrap()
}

fn input() -> Vec<Vec<f64>> {
    vec![vec![0.5, -1.0, 2.0], vec![1.5, 0.25, -0.75]]
}

/// Every weight and bias in order, and the network they make.
fn flatten(net: &Dense) -> Vec<f64> {
    net.layers().iter().flat_map(|l| l.weight.iter().flatten().chain(l.bias.iter().flatten()).copied()).collect()
}

fn rebuild(net: &Dense, theta: &[f64]) -> Dense {
    let mut k = 0;
    let mut take = |n: usize| {
        k += n;
        theta[k - n..k].to_vec()
    };
    let layers = net
        .layers()
        .iter()
        .map(|l| DenseLayer {
            weight: l.weight.iter().map(|row| take(row.len())).collect(),
            bias: l.bias.as_ref().map(|b| take(b.len())),
            activation: l.activation,
        })
        .collect();
    Dense::new(layers, net.shortcut()).unwrap()
}

/// The tape's gradient of every parameter passes gradcheck's Richardson-extrapolated central
/// differences of the loss L = S / denominator.
fn assert_passes_gradcheck(loss: Loss, target: &[Vec<f64>], denominator: f64) {
    let net = logits_net();
    let x = input();
    let g = net.gradients_over(&x, target, loss, denominator).unwrap();
    let claimed: Vec<f64> =
        g.weight.iter().zip(&g.bias).flat_map(|(w, b)| w.iter().flatten().chain(b)).copied().collect();
    let f = |theta: &[f64]| rebuild(&net, theta).gradients_over(&x, target, loss, denominator).unwrap().loss;
    let report = check_gradient(f, &flatten(&net), &claimed, &Options::richardson()).unwrap();
    assert!(report.passed(), "{loss:?} over {denominator}: {:?}", report.worst());
}

#[test]
fn bce_with_logits_and_cross_entropy_pass_gradcheck_for_every_denominator() {
    let probabilities = vec![vec![1.0, 0.0, 0.5], vec![0.25, 1.0, 0.0]];
    let one_hot = vec![vec![0.0, 0.0, 1.0], vec![1.0, 0.0, 0.0]];
    // 1 (sum), B = 2 (batch_mean), B·n = 6 (a per-element mean).
    for denominator in [1.0, 2.0, 6.0] {
        assert_passes_gradcheck(Loss::BceWithLogits, &probabilities, denominator);
        assert_passes_gradcheck(Loss::CrossEntropy, &one_hot, denominator);
        assert_passes_gradcheck(Loss::CrossEntropy, &probabilities, denominator);
        assert_passes_gradcheck(Loss::SquaredError, &probabilities, denominator);
    }
}

/// softmax(y)_j computed directly (the logits here are small).
fn softmax(y: &[f64]) -> Vec<f64> {
    let e: Vec<f64> = y.iter().map(|v| v.exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

#[test]
fn output_bias_gradients_are_the_closed_forms() {
    // ∂ℓ/∂y_j: σ(y_j) − t_j for BCE on logits; (Σ_k t_k)·softmax(y)_j − t_j for the
    // cross-entropy. The identity output layer passes them to its bias unchanged, summed over
    // the batch and divided by the denominator.
    let net = logits_net();
    let x = input();
    let y = net.forward(&x).unwrap();
    let t = vec![vec![1.0, 0.0, 0.5], vec![0.0, 1.0, 0.0]];
    let denominator = 6.0;
    let bce = net.gradients_over(&x, &t, Loss::BceWithLogits, denominator).unwrap();
    let ce = net.gradients_over(&x, &t, Loss::CrossEntropy, denominator).unwrap();
    for j in 0..3 {
        let bce_closed: f64 = (0..2).map(|b| Activation::Sigmoid.value(y[b][j]) - t[b][j]).sum::<f64>() / denominator;
        let ce_closed: f64 =
            (0..2).map(|b| t[b].iter().sum::<f64>() * softmax(&y[b])[j] - t[b][j]).sum::<f64>() / denominator;
        assert!((bce.bias[1][j] - bce_closed).abs() < 1e-15, "bce bias {j}: {} vs {bce_closed}", bce.bias[1][j]);
        assert!((ce.bias[1][j] - ce_closed).abs() < 1e-15, "ce bias {j}: {} vs {ce_closed}", ce.bias[1][j]);
    }
    // The losses themselves.
    let bce_loss: f64 = (0..2)
        .flat_map(|b| (0..3).map(move |j| (b, j)))
        .map(|(b, j)| Activation::Softplus.value(y[b][j]) - t[b][j] * y[b][j])
        .sum::<f64>()
        / denominator;
    let ce_loss: f64 =
        (0..2).map(|b| -(0..3).map(|j| t[b][j] * softmax(&y[b])[j].ln()).sum::<f64>()).sum::<f64>() / denominator;
    assert!((bce.loss - bce_loss).abs() < 1e-14, "{} vs {bce_loss}", bce.loss);
    assert!((ce.loss - ce_loss).abs() < 1e-14, "{} vs {ce_loss}", ce.loss);
}

#[test]
fn cross_entropy_stays_finite_at_logits_where_exp_overflows() {
    // y = (1000 + b, b) for one identity unit fed [1, 0]: e^1000 overflows f64, but with the
    // max subtracted softmax(y) = (1, e^−1000 → 0) and ℓ = −ln softmax(y)[target].
    let net = Dense::new(
        vec![DenseLayer { weight: vec![vec![1000.0], vec![0.0]], bias: None, activation: Activation::Identity }],
        None,
    )
    .unwrap();
    let g = net.gradients_over(&[vec![1.0]], &[vec![0.0, 1.0]], Loss::CrossEntropy, 1.0).unwrap();
    assert_eq!(g.loss, 1000.0); // −ln softmax_2 = lse − y_2 = 1000 + ln(1 + e^−1000) − 0
    assert_eq!(g.bias[0], vec![1.0, -1.0]); // softmax − t = (1, 0) − (0, 1)
}

#[test]
fn a_denominator_that_is_not_positive_and_finite_is_refused() {
    let (net, x) = (logits_net(), input());
    let t = vec![vec![0.0; 3]; 2];
    for d in [0.0, -1.0, f64::INFINITY, f64::NAN] {
        assert!(net.gradients_over(&x, &t, Loss::CrossEntropy, d).is_err(), "denominator {d}");
    }
}
