//! Layer normalisation of a layer's input or of its Linear output: forwards worked by hand, the
//! textbook backward formula, central differences through a pre-norm residual network and a
//! `Linear → LayerNorm → activation` one, and refusals.

use scalar::dense::{Dense, DenseLayer, LayerNorm, Loss, NormAt, NormKind, SeedAt};
use scalar::{Activation, Skip};

fn layer(weight: Vec<Vec<f64>>, bias: Option<Vec<f64>>, activation: Activation) -> DenseLayer {
    DenseLayer { weight, bias, activation }
}

/// One identity layer 2→2 (W = I) whose input (or Linear output, as `at` says) is normalised with
/// ε = 3, γ = (2, 4), β = (1, −1).
fn hand_worked(at: NormAt) -> Dense {
    let net = Dense::new(vec![layer(vec![vec![1.0, 0.0], vec![0.0, 1.0]], None, Activation::Identity)], None).unwrap();
    net.with_norms(vec![Some(LayerNorm {
        weight: Some(vec![2.0, 4.0]),
        bias: Some(vec![1.0, -1.0]),
        eps: 3.0,
        at,
        kind: NormKind::Layer,
    })])
    .unwrap()
}

#[test]
fn a_normalised_input_worked_by_hand_is_exact() {
    // x = (1, 3): μ = 2, d = (−1, 1), v = 1, √(v + ε) = 2, x̂ = (−1/2, 1/2), y = x̂·γ + β = (0, 1).
    let trace = hand_worked(NormAt::Input).forward_trace(&[1.0, 3.0]).unwrap();
    assert_eq!(trace.normed, vec![Some(vec![0.0, 1.0])]);
    assert_eq!((trace.z.clone(), trace.linear), (vec![vec![0.0, 1.0]], vec![None]));
    assert_eq!(trace.a[0], vec![1.0, 3.0], "a_0 is the input itself, not its normalisation");
    // Loss::Linear with t = (1, 0): L = y_1, so ∂L/∂β = (1, 0), ∂L/∂γ = (x̂_1, 0) = (−1/2, 0) and
    // ∂L/∂W[j][i] = t_j·y_i.
    let g = hand_worked(NormAt::Input).gradients(&[vec![1.0, 3.0]], &[vec![1.0, 0.0]], Loss::Linear).unwrap();
    let norm = g.norm[0].as_ref().unwrap();
    assert_eq!((norm.weight.clone(), norm.bias.clone()), (vec![-0.5, 0.0], vec![1.0, 0.0]));
    assert_eq!(g.weight[0], vec![vec![0.0, 1.0], vec![0.0, 0.0]]);
}

#[test]
fn a_normalised_linear_output_worked_by_hand_is_exact() {
    // W = I: the Linear output is x = (1, 3) itself, normalised as above to z = (0, 1).
    let trace = hand_worked(NormAt::PreActivation).forward_trace(&[1.0, 3.0]).unwrap();
    assert_eq!(trace.linear, vec![Some(vec![1.0, 3.0])]);
    assert_eq!((trace.normed, trace.z), (vec![Some(vec![0.0, 1.0])], vec![vec![0.0, 1.0]]));
    // L = z_1: ∂L/∂γ and ∂L/∂β as above; ∂L/∂W[j][i] = ∂L/∂h_j·x_i with ∂L/∂h = the textbook
    // input gradient of γ·x̂ + β under g = (1, 0): ĝ = (2, 0), r = 1/2, x̂ = (−1/2, 1/2), so
    // ∂L/∂h_i = (r/2)·(2ĝ_i − 2 − x̂_i·(−1)) = (1/4)·(2ĝ_i − 2 + x̂_i): (1/4)(4 − 2 − 1/2) = 3/8 and
    // (1/4)(0 − 2 + 1/2) = −3/8.
    let g = hand_worked(NormAt::PreActivation).gradients(&[vec![1.0, 3.0]], &[vec![1.0, 0.0]], Loss::Linear).unwrap();
    let norm = g.norm[0].as_ref().unwrap();
    assert_eq!((norm.weight.clone(), norm.bias.clone()), (vec![-0.5, 0.0], vec![1.0, 0.0]));
    assert_eq!(g.weight[0], vec![vec![0.375, 1.125], vec![-0.375, -1.125]]);
    assert_eq!(g.bias[0], vec![0.375, -0.375]);
}

/// One identity layer 2→2 (W = I) whose Linear output is RMS-normalised with ε = 3, γ = (2, 4),
/// β = (1, −1).
fn hand_worked_rms() -> Dense {
    let at = NormAt::PreActivation;
    let norm = LayerNorm { kind: NormKind::Rms, ..hand_worked(at).norms()[0].clone().unwrap() };
    hand_worked(at).with_norms(vec![Some(norm)]).unwrap()
}

#[test]
fn an_rms_normalised_linear_output_worked_by_hand_is_exact() {
    // x = (1, 1), not centred: v = (1 + 1)/2 = 1, √(v + ε) = 2, x̂ = (1/2, 1/2), z = x̂·γ + β = (2, 1).
    let net = hand_worked_rms();
    let trace = net.forward_trace(&[1.0, 1.0]).unwrap();
    assert_eq!((trace.normed, trace.z), (vec![Some(vec![2.0, 1.0])], vec![vec![2.0, 1.0]]));
    // L = z_1 (Loss::Linear, t = (1, 0)): ∂L/∂β = (1, 0), ∂L/∂γ = (x̂_1, 0) = (1/2, 0). With no
    // centring, ∂L/∂h_i = r·(ĝ_i − x̂_i·Σ_k ĝ_k·x̂_k/n): ĝ = (2, 0), Σ ĝ·x̂ = 1, r = 1/2, so
    // ∂L/∂h = (1/2)·(2 − 1/4, 0 − 1/4) = (7/8, −1/8), and ∂L/∂W[j][i] = ∂L/∂h_j·x_i.
    let g = net.gradients(&[vec![1.0, 1.0]], &[vec![1.0, 0.0]], Loss::Linear).unwrap();
    let norm = g.norm[0].as_ref().unwrap();
    assert_eq!((norm.weight.clone(), norm.bias.clone()), (vec![0.5, 0.0], vec![1.0, 0.0]));
    assert_eq!(g.weight[0], vec![vec![0.875, 0.875], vec![-0.125, -0.125]]);
    assert_eq!(g.bias[0], vec![0.875, -0.125]);
}

/// The textbook backward of y = γ·x̂ + β (Ba et al. 2016): with ĝ_i = γ_i·∂L/∂y_i,
/// ∂L/∂x_i = (r/n)·(n·ĝ_i − Σ_k ĝ_k − x̂_i·Σ_k ĝ_k·x̂_k), a formula the tape never uses; for RMS
/// normalisation (`centred` false: μ = 0) without the Σ_k ĝ_k term.
fn textbook_input_gradient(x: &[f64], gamma: &[f64], eps: f64, g_y: &[f64], centred: bool) -> Vec<f64> {
    let n = x.len() as f64;
    let mu = if centred { x.iter().sum::<f64>() / n } else { 0.0 };
    let var = x.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / n;
    let r = 1.0 / (var + eps).sqrt();
    let x_hat: Vec<f64> = x.iter().map(|v| (v - mu) * r).collect();
    let g_hat: Vec<f64> = g_y.iter().zip(gamma).map(|(g, c)| g * c).collect();
    let sum_g: f64 = if centred { g_hat.iter().sum() } else { 0.0 };
    let sum_gx: f64 = g_hat.iter().zip(&x_hat).map(|(g, x)| g * x).sum();
    g_hat.iter().zip(&x_hat).map(|(g, xh)| r / n * (n * g - sum_g - xh * sum_gx)).collect()
}

#[test]
fn the_input_gradient_is_the_textbook_formula() {
    // Layer 1 (identity, W = I, no bias) passes the input through, so ∂L/∂W_1[j][i] = ∂L/∂a_1[j]·x_i
    // and ∂L/∂a_1 is the normalisation's input gradient; Loss::Linear seeds ∂L/∂y_2 = t/B.
    let x = [0.7, -1.3, 2.2, 0.1];
    let gamma = vec![1.5, -0.5, 0.25, 2.0];
    let identity: Vec<Vec<f64>> = (0..4).map(|j| (0..4).map(|i| f64::from(u8::from(i == j))).collect()).collect();
    let w2 = vec![vec![0.3, -0.2, 0.5, 0.1], vec![-0.4, 0.6, 0.2, -0.3]];
    for (eps, kind) in [(1e-5, NormKind::Layer), (0.5, NormKind::Layer), (1e-5, NormKind::Rms), (0.5, NormKind::Rms)] {
        let net = Dense::new(
            vec![layer(identity.clone(), None, Activation::Identity), layer(w2.clone(), None, Activation::Identity)],
            None,
        )
        .unwrap()
        .with_norms(vec![
            None,
            Some(LayerNorm { weight: Some(gamma.clone()), bias: Some(vec![0.1; 4]), eps, at: NormAt::Input, kind }),
        ])
        .unwrap();
        let t = [0.8, -1.1];
        let g = net.gradients(&[x.to_vec()], &[t.to_vec()], Loss::Linear).unwrap();
        let g_y: Vec<f64> = (0..4).map(|i| t[0] * w2[0][i] + t[1] * w2[1][i]).collect();
        let expected = textbook_input_gradient(&x, &gamma, eps, &g_y, kind == NormKind::Layer);
        for (j, e) in expected.iter().enumerate() {
            let got = g.weight[0][j][0] / x[0];
            assert!((got - e).abs() <= 1e-13 * e.abs().max(1.0), "{kind:?} eps {eps} unit {j}: {got} vs {e}");
        }
    }
}

/// A pre-norm residual MLP 3→4 (stem) → 4 → 4 → 4 → 2 (head): the block of layers 2–3 normalises
/// its input and receives the stem's output a_1 (span 2, layer 3 named), layer 4 normalises its
/// input with γ alone, and the head reads a last normalisation without γ or β.
fn pre_norm_net(skip: Skip) -> Dense {
    let vector = |k: f64| -> Vec<f64> { (0..4).map(|i| (i as f64 * 0.9 + k).cos()).collect() };
    let norms = vec![
        None,
        Some(LayerNorm {
            weight: Some(vector(0.3)),
            bias: Some(vector(1.1)),
            eps: 1e-5,
            at: NormAt::Input,
            kind: NormKind::Layer,
        }),
        None,
        Some(LayerNorm { weight: Some(vector(2.0)), bias: None, eps: 0.01, at: NormAt::Input, kind: NormKind::Layer }),
        Some(LayerNorm::plain()),
    ];
    five_layers(skip, norms)
}

/// The same layers as `Linear → LayerNorm → activation`: layers 1, 3, 4 and 5 normalise their
/// Linear output (layer 3's before the stem's output joins it).
fn norm_then_activation_net(skip: Skip) -> Dense {
    let vector = |n: usize, k: f64| -> Vec<f64> { (0..n).map(|i| (i as f64 * 0.7 + k).cos()).collect() };
    let at = NormAt::PreActivation;
    let norms = vec![
        Some(LayerNorm {
            weight: Some(vector(4, 0.2)),
            bias: Some(vector(4, 1.3)),
            eps: 1e-5,
            at,
            kind: NormKind::Layer,
        }),
        None,
        Some(LayerNorm { weight: Some(vector(4, 2.1)), bias: None, eps: 0.01, at, kind: NormKind::Layer }),
        Some(LayerNorm { at, ..LayerNorm::plain() }),
        // Over two values x̂ = ±d/√(d² + ε): nearly a sign with a small ε, too steep for differences.
        Some(LayerNorm { weight: None, bias: Some(vector(2, 0.4)), eps: 0.25, at, kind: NormKind::Layer }),
    ];
    five_layers(skip, norms)
}

fn five_layers(skip: Skip, norms: Vec<Option<LayerNorm>>) -> Dense {
    let w = |rows: usize, cols: usize, k: f64| -> Vec<Vec<f64>> {
        (0..rows).map(|j| (0..cols).map(|i| ((j * cols + i) as f64 * 0.37 + k).sin() * 0.8).collect()).collect()
    };
    let layers = vec![
        layer(w(4, 3, 0.1), Some(vec![0.1, -0.2, 0.05, 0.0]), Activation::Tanh),
        layer(w(4, 4, 0.2), Some(vec![0.0, 0.1, -0.1, 0.2]), Activation::Gelu),
        layer(w(4, 4, 0.3), None, Activation::Identity),
        layer(w(4, 4, 0.4), Some(vec![0.2, 0.0, 0.1, -0.3]), Activation::Softplus),
        layer(w(2, 4, 0.5), Some(vec![0.05, -0.05]), Activation::Identity),
    ];
    Dense::new(layers, Some(2))
        .unwrap()
        .with_shortcut_layers(vec![3])
        .unwrap()
        .with_skip(skip)
        .with_norms(norms)
        .unwrap()
}

fn pre_norm_batch() -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let x = vec![vec![0.5, -1.0, 2.0], vec![1.5, 0.25, -0.75], vec![-0.3, 0.8, 0.1]];
    let t = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]];
    (x, t)
}

/// The network rebuilt from `layers` and `norms`, everything else as `net`.
fn rebuilt(net: &Dense, layers: Vec<DenseLayer>, norms: Vec<Option<LayerNorm>>) -> Dense {
    Dense::new(layers, net.shortcut())
        .unwrap()
        .with_shortcut_layers(net.shortcut_layers())
        .unwrap()
        .with_skip(net.skip())
        .with_norms(norms)
        .unwrap()
}

/// The same network with every normalisation made an RMS normalisation.
fn rms(net: Dense) -> Dense {
    let norms = net.norms().iter().map(|n| n.clone().map(|n| LayerNorm { kind: NormKind::Rms, ..n })).collect();
    rebuilt(&net, net.layers().to_vec(), norms)
}

/// The four networks of a skip: pre-norm and `Linear → norm → activation`, each with layer and
/// with RMS normalisations.
fn normalised_nets(skip: Skip) -> [Dense; 4] {
    [pre_norm_net(skip), norm_then_activation_net(skip), rms(pre_norm_net(skip)), rms(norm_then_activation_net(skip))]
}

/// A change of one parameter by a step.
type Perturb<'a> = dyn Fn(&mut Vec<DenseLayer>, &mut Vec<Option<LayerNorm>>, f64) + 'a;

#[test]
fn every_gradient_of_a_normalised_network_matches_central_differences() {
    let (x, t) = pre_norm_batch();
    for net in [Skip::PreActivation, Skip::Identity].into_iter().flat_map(normalised_nets) {
        let skip = net.skip();
        for loss in [Loss::SquaredError, Loss::CrossEntropy] {
            let g = net.gradients(&x, &t, loss).unwrap();
            let loss_at = |layers: Vec<DenseLayer>, norms: Vec<Option<LayerNorm>>| {
                rebuilt(&net, layers, norms).gradients(&x, &t, loss).unwrap().loss
            };
            // Central differences with Richardson's extrapolation: the truncation error is O(h⁴)
            // (about 1e−16 at h = 1e−4), the round-off about ε/h ≈ 1e−12.
            let numeric = |perturb: &Perturb<'_>| {
                let at = |step: f64| {
                    let (mut layers, mut norms) = (net.layers().to_vec(), net.norms().to_vec());
                    perturb(&mut layers, &mut norms, step);
                    loss_at(layers, norms)
                };
                let central = |h: f64| (at(h) - at(-h)) / (2.0 * h);
                (4.0 * central(5e-5) - central(1e-4)) / 3.0
            };
            let close = |claimed: f64, numeric: f64, what: String| {
                let scale = claimed.abs().max(1.0);
                assert!((claimed - numeric).abs() < 1e-9 * scale, "{skip:?} {loss:?} {what}: {claimed} vs {numeric}");
            };
            for (l, lw) in g.weight.iter().enumerate() {
                for (j, row) in lw.iter().enumerate() {
                    for (i, &claimed) in row.iter().enumerate() {
                        let n = numeric(&|layers, _, h| layers[l].weight[j][i] += h);
                        close(claimed, n, format!("layer {} W[{j}][{i}]", l + 1));
                    }
                }
            }
            for (l, norm) in g.norm.iter().enumerate() {
                let Some(norm) = norm else { continue };
                let width = norm.weight.len();
                for (i, &claimed) in norm.weight.iter().enumerate() {
                    let n = numeric(&|_, norms, h| {
                        let n = norms[l].as_mut().unwrap();
                        n.weight.get_or_insert_with(|| vec![1.0; width])[i] += h;
                    });
                    close(claimed, n, format!("layer {} {:?} γ[{i}]", l + 1, net.norms()[l].as_ref().unwrap().at));
                }
                for (i, &claimed) in norm.bias.iter().enumerate() {
                    let n = numeric(&|_, norms, h| {
                        let n = norms[l].as_mut().unwrap();
                        n.bias.get_or_insert_with(|| vec![0.0; width])[i] += h;
                    });
                    close(claimed, n, format!("layer {} {:?} β[{i}]", l + 1, net.norms()[l].as_ref().unwrap().at));
                }
            }
        }
    }
}

#[test]
fn a_norm_without_gamma_or_beta_is_one_with_gamma_one_and_beta_zero() {
    let (x, t) = pre_norm_batch();
    let net = pre_norm_net(Skip::Identity);
    let mut norms = net.norms().to_vec();
    norms[4] = Some(LayerNorm { weight: Some(vec![1.0; 4]), bias: Some(vec![0.0; 4]), ..LayerNorm::plain() });
    let explicit = rebuilt(&net, net.layers().to_vec(), norms);
    let (a, b) =
        (net.gradients(&x, &t, Loss::SquaredError).unwrap(), explicit.gradients(&x, &t, Loss::SquaredError).unwrap());
    assert_eq!(a, b);
}

#[test]
fn bad_norms_are_refused_with_where() {
    let net = || pre_norm_net(Skip::PreActivation);
    let with = |l: usize, norm: LayerNorm| {
        let mut norms = net().norms().to_vec();
        norms[l - 1] = Some(norm);
        net().with_norms(norms).unwrap_err().to_string()
    };
    assert_eq!(
        net().with_norms(vec![None; 4]).unwrap_err().to_string(),
        "norms (one per layer): expected length 5, got 4"
    );
    assert_eq!(
        with(1, LayerNorm { weight: Some(vec![1.0; 4]), ..LayerNorm::plain() }),
        "layer 1 norm weight (one per input): expected length 3, got 4"
    );
    assert_eq!(
        with(2, LayerNorm { bias: Some(vec![0.0, f64::NAN, 0.0, 0.0]), ..LayerNorm::plain() }),
        "layer 2 norm bias 1: NaN is not a finite number"
    );
    for eps in [0.0, -1e-5, f64::INFINITY, f64::NAN] {
        assert_eq!(
            with(3, LayerNorm { eps, ..LayerNorm::plain() }),
            format!("layer 3 norm eps: {eps} is not a finite number > 0")
        );
    }
}

/// `magnitudes` (backward in `Ext`, through the textbook formula) against `backprop_over` (the
/// tape's operations in `f64`): with the seed of `Loss::Linear`, ∂S/∂a_L = t, both are the
/// gradients of the same S/ν, so their norms agree where `f64` holds them: the weights', the
/// biases' and the normalisations' γ's and β's.
#[test]
fn magnitudes_of_normalised_networks_are_the_norms_of_their_gradients() {
    let (x, t) = pre_norm_batch();
    for net in [Skip::PreActivation, Skip::Identity].into_iter().flat_map(normalised_nets) {
        let g = net.backprop_over(&x, &t, Loss::Linear, 3.0).unwrap();
        let m = net.magnitudes(&x, &t, SeedAt::Output, 3.0).unwrap();
        let log10_norm = |v: &mut dyn Iterator<Item = &f64>| 0.5 * v.map(|x| x * x).sum::<f64>().log10();
        for (l, m) in m.iter().enumerate() {
            let (w, b) = (log10_norm(&mut g.weight[l].iter().flatten()), log10_norm(&mut g.bias[l].iter()));
            let at = net.norms()[l].as_ref().map(|n| n.at);
            assert!(
                (m.log10_weight_grad_norm - w).abs() < 1e-12,
                "{:?} layer {} {at:?}: {} vs {w}",
                net.skip(),
                l + 1,
                m.log10_weight_grad_norm
            );
            assert!(
                (m.log10_bias_grad_norm - b).abs() < 1e-12,
                "{:?} layer {} {at:?}: {} vs {b}",
                net.skip(),
                l + 1,
                m.log10_bias_grad_norm
            );
            // γ and β: where the layer normalises, and only there.
            assert_eq!(m.norm.is_some(), g.norm[l].is_some(), "layer {}", l + 1);
            if let (Some(mn), Some(gn)) = (m.norm, &g.norm[l]) {
                let (gamma, beta) = (log10_norm(&mut gn.weight.iter()), log10_norm(&mut gn.bias.iter()));
                assert!(gamma.is_finite() && beta.is_finite(), "layer {}: {gamma}, {beta}", l + 1);
                assert!(
                    (mn.log10_weight_grad_norm - gamma).abs() < 1e-12,
                    "{:?} layer {} {at:?}: γ",
                    net.skip(),
                    l + 1
                );
                assert!((mn.log10_bias_grad_norm - beta).abs() < 1e-12, "{:?} layer {} {at:?}: β", net.skip(), l + 1);
            }
        }
    }
}
