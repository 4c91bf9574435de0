//! The dense oracle: finite differences, agreement with the chain, the losses' closed forms, and
//! refusals that name where the input is wrong.

use scalar::chain::Chain;
use scalar::dense::{Dense, DenseLayer, Loss};
use scalar::{Activation, Error, Skip};

fn layer(weight: Vec<Vec<f64>>, bias: Option<Vec<f64>>, activation: Activation) -> DenseLayer {
    DenseLayer { weight, bias, activation }
}

/// A 3→4→4→2 tanh/softplus/sigmoid network with a span-1 shortcut around the equal-width layer.
fn small_net() -> Dense {
    Dense::new(
        vec![
            layer(
                vec![vec![0.3, -0.2, 0.5], vec![0.1, 0.4, -0.6], vec![-0.7, 0.2, 0.05], vec![0.25, -0.35, 0.15]],
                Some(vec![0.1, -0.1, 0.0, 0.2]),
                Activation::Tanh,
            ),
            layer(
                vec![
                    vec![0.2, 0.1, -0.3, 0.4],
                    vec![-0.5, 0.3, 0.2, 0.1],
                    vec![0.6, -0.2, 0.1, 0.0],
                    vec![0.1, 0.1, 0.1, -0.1],
                ],
                None,
                Activation::Softplus,
            ),
            layer(
                vec![vec![0.5, -0.4, 0.3, 0.2], vec![-0.1, 0.2, 0.6, -0.3]],
                Some(vec![0.05, -0.05]),
                Activation::Sigmoid,
            ),
        ],
        Some(1),
    )
    .unwrap()
}

fn batch() -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let x = vec![vec![0.5, -1.0, 2.0], vec![1.5, 0.25, -0.75], vec![-0.3, 0.8, 0.1]];
    let t = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]];
    (x, t)
}

#[test]
fn gradients_match_central_differences_for_both_losses() {
    for loss in [Loss::SquaredError, Loss::BinaryCrossEntropy] {
        assert_matches_central_differences(&small_net(), loss);
    }
}

/// Every weight gradient of `net` (its shortcut and skip kept) against a central difference of
/// its loss on [`batch`].
fn assert_matches_central_differences(net: &Dense, loss: Loss) {
    let (x, t) = batch();
    let g = net.gradients(&x, &t, loss).unwrap();
    let loss_at = |layers: Vec<DenseLayer>| {
        let mut perturbed = Dense::new(layers, net.shortcut()).unwrap().with_skip(net.skip());
        if net.names_shortcut_layers() {
            perturbed = perturbed.with_shortcut_layers(net.shortcut_layers()).unwrap();
        }
        perturbed.gradients(&x, &t, loss).unwrap().loss
    };
    for (l, lw) in g.weight.iter().enumerate() {
        for (j, row) in lw.iter().enumerate() {
            for (i, &claimed) in row.iter().enumerate() {
                let h = 1e-5;
                let mut layers = net.layers().to_vec();
                layers[l].weight[j][i] += h;
                let up = loss_at(layers.clone());
                layers[l].weight[j][i] -= 2.0 * h;
                let down = loss_at(layers);
                let numeric = (up - down) / (2.0 * h);
                // O(h²) truncation ≈ 1e−10 here, round-off ≈ ε/h ≈ 1e−11.
                assert!(
                    (claimed - numeric).abs() < 1e-8,
                    "{loss:?}, {:?} layer {} W[{j}][{i}]: {claimed} vs {numeric}",
                    net.skip(),
                    l + 1
                );
            }
        }
    }
}

#[test]
fn a_width_one_network_is_the_chain_exactly() {
    let (w, f) = (
        vec![1.5, -0.5, 2.0, 0.75],
        vec![Activation::Tanh, Activation::Sigmoid, Activation::Softplus, Activation::Tanh],
    );
    for shortcut in [None, Some(2)] {
        let chain = Chain::new(w.clone(), f.clone(), None, shortcut).unwrap();
        let net =
            Dense::new(w.iter().zip(&f).map(|(&w, &f)| layer(vec![vec![w]], None, f)).collect(), shortcut).unwrap();
        let c = chain.gradients_tape(0.7, 0.2);
        let d = net.gradients(&[vec![0.7]], &[vec![0.2]], Loss::SquaredError).unwrap();
        assert_eq!(d.loss, c.loss);
        assert_eq!(d.weight.iter().map(|l| l[0][0]).collect::<Vec<_>>(), c.weight);
    }
}

#[test]
fn cross_entropy_output_delta_is_sigma_minus_target_over_batch() {
    // One sigmoid layer: ∂L/∂b_j = (1/B)·Σ_b (σ(z_bj) − t_bj).
    let net = Dense::new(vec![layer(vec![vec![0.5, -1.0]], Some(vec![0.25]), Activation::Sigmoid)], None).unwrap();
    let x = vec![vec![1.0, 2.0], vec![-1.0, 0.5]];
    let t = vec![vec![1.0], vec![0.0]];
    let g = net.gradients(&x, &t, Loss::BinaryCrossEntropy).unwrap();
    let z = [0.5 - 2.0 + 0.25, -0.5 - 0.5 + 0.25];
    let expected = ((Activation::Sigmoid.value(z[0]) - 1.0) + Activation::Sigmoid.value(z[1])) / 2.0;
    assert!((g.bias[0][0] - expected).abs() < 1e-15);
    let loss = (Activation::Softplus.value(z[0]) - z[0] + Activation::Softplus.value(z[1])) / 2.0;
    assert!((g.loss - loss).abs() < 1e-15);
}

#[test]
fn dyadic_inputs_give_correctly_rounded_gradients() {
    // ReLU/identity with k/8 values: S = Σ(y − t)² is exact, so ∂L/∂W = (∂S/∂W)/B is one
    // correctly rounded division. Here B = 3: ∂L/∂b of the single identity output is
    // (2/3)·Σ_b (y_b − t_b).
    let net = Dense::new(vec![layer(vec![vec![0.5, 0.25]], Some(vec![0.125]), Activation::Identity)], None).unwrap();
    let x = vec![vec![1.0, 2.0], vec![0.5, -1.0], vec![3.0, 0.0]];
    let t = vec![vec![0.0], vec![1.0], vec![0.5]];
    let g = net.gradients(&x, &t, Loss::SquaredError).unwrap();
    let residual_sum = (0.5 + 0.5 + 0.125) + (0.25 - 0.25 + 0.125 - 1.0) + (1.5 + 0.125 - 0.5);
    assert_eq!(g.bias[0][0], 2.0 * residual_sum / 3.0);
}

#[test]
fn shortcuts_apply_only_between_equal_widths() {
    let net = Dense::new(
        vec![
            layer(vec![vec![1.0]; 2], None, Activation::Relu), // 1 → 2 (no shortcut: widths 1, 2)
            layer(vec![vec![1.0, 1.0]; 2], None, Activation::Relu), // 2 → 2 (shortcut from a_1)
            layer(vec![vec![1.0, 1.0]; 3], None, Activation::Relu), // 2 → 3 (widths differ)
            layer(vec![vec![1.0, 1.0, 1.0]; 3], None, Activation::Relu), // 3 → 3 (from a_3)
        ],
        Some(1),
    )
    .unwrap();
    assert_eq!(net.shortcut_layers(), vec![2, 4]);
    assert_eq!(net.widths(), vec![1, 2, 2, 3, 3]);
}

#[test]
fn bad_networks_and_batches_are_refused_with_where() {
    let msg = |e: Error| e.to_string();
    assert!(msg(Dense::new(vec![], None).unwrap_err()).contains("no layers"));
    let ragged = Dense::new(vec![layer(vec![vec![1.0, 2.0], vec![3.0]], None, Activation::Tanh)], None);
    assert!(msg(ragged.unwrap_err()).contains("layer 1 weight row 1"));
    let nan = Dense::new(vec![layer(vec![vec![1.0, f64::NAN]], None, Activation::Tanh)], None);
    assert!(msg(nan.unwrap_err()).contains("layer 1 weight row 0 column 1"));
    let mismatch = Dense::new(
        vec![layer(vec![vec![1.0]; 2], None, Activation::Tanh), layer(vec![vec![1.0; 3]], None, Activation::Tanh)],
        None,
    );
    assert!(msg(mismatch.unwrap_err()).contains("layer 2 weight row 0"));
    let net = small_net();
    let (x, t) = batch();
    assert!(msg(net.gradients(&[], &[], Loss::SquaredError).unwrap_err()).contains("empty"));
    assert!(msg(net.gradients(&x, &t[..2], Loss::SquaredError).unwrap_err()).contains("target rows"));
    let mut bad = x.clone();
    bad[1][2] = f64::INFINITY;
    assert!(msg(net.gradients(&bad, &t, Loss::SquaredError).unwrap_err()).contains("input row 1 column 2"));
    let tanh_out = Dense::new(vec![layer(vec![vec![1.0]], None, Activation::Tanh)], None).unwrap();
    assert!(
        msg(tanh_out.gradients(&[vec![1.0]], &[vec![1.0]], Loss::BinaryCrossEntropy).unwrap_err()).contains("sigmoid")
    );
}

/// A 2→2→2 identity/ReLU network with a shortcut of span 2 (layer 2 also receives a_0), dyadic
/// throughout, and a batch of two samples whose values are worked by hand:
///
/// ```text
/// W_1 = [[1/2, 1/4], [−1, 3/4]], b_1 = (1/8, 0), identity;  W_2 = [[1, 1/2], [1/4, −2]], ReLU
/// x = (1, 2):   z_1 = (9/8, 1/2);   z_2 = (9/8 + 1/4 + 1, 9/32 − 1 + 2) = (19/8, 41/32) = y
/// x = (−1, 1/2): z_1 = (−1/4, 11/8); z_2 = (−1/4 + 11/16 − 1, −1/16 − 11/4 + 1/2) < 0, y = (0, 0)
/// ```
fn hand_worked_net() -> Dense {
    Dense::new(
        vec![
            layer(vec![vec![0.5, 0.25], vec![-1.0, 0.75]], Some(vec![0.125, 0.0]), Activation::Identity),
            layer(vec![vec![1.0, 0.5], vec![0.25, -2.0]], None, Activation::Relu),
        ],
        Some(2),
    )
    .unwrap()
}

fn hand_worked_batch() -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    (vec![vec![1.0, 2.0], vec![-1.0, 0.5]], vec![vec![2.0, 1.0], vec![0.0, 0.0]])
}

#[test]
fn forward_of_the_hand_worked_net_is_exact() {
    let (x, _) = hand_worked_batch();
    let y = hand_worked_net().forward(&x).unwrap();
    assert_eq!(y, vec![vec![19.0 / 8.0, 41.0 / 32.0], vec![0.0, 0.0]]);
}

#[test]
fn gradients_of_the_hand_worked_net_are_exact() {
    // Squared error, B = 2, t = ((2, 1), (0, 0)). Sample 1: residual r = y − t = (3/8, 9/32), both
    // ReLUs active, so ∂S/∂z_2 = 2r = (3/4, 9/16) and ∂S/∂a_1 = W_2ᵀ·(3/4, 9/16) = (57/64, −3/4)
    // (identity: = ∂S/∂z_1). Sample 2: y = t = 0 and ReLU′ = 0: it contributes nothing.
    // L = (r₁² + r₂²)/B = (9/64 + 81/1024)/2 = 225/2048.
    // ∂L/∂W_2 = (2r ⊗ a_1)/B with a_1 = (9/8, 1/2);  ∂L/∂W_1 = (δ_1 ⊗ x)/B with x = (1, 2).
    let net = hand_worked_net();
    let (x, t) = hand_worked_batch();
    let g = net.gradients(&x, &t, Loss::SquaredError).unwrap();
    assert_eq!(g.loss, 225.0 / 2048.0);
    assert_eq!(g.output, net.forward(&x).unwrap());
    let (d2, d1) = ([0.75, 0.5625], [57.0 / 64.0, -0.75]);
    let half = |v: f64| v / 2.0;
    assert_eq!(g.bias, vec![d1.map(half).to_vec(), d2.map(half).to_vec()]);
    assert_eq!(
        g.weight,
        vec![
            vec![vec![half(d1[0]), half(2.0 * d1[0])], vec![half(d1[1]), half(2.0 * d1[1])]],
            vec![vec![half(d2[0] * 1.125), half(d2[0] * 0.5)], vec![half(d2[1] * 1.125), half(d2[1] * 0.5)]],
        ]
    );
}

#[test]
fn forward_refuses_bad_batches_with_where() {
    let net = hand_worked_net();
    let msg = |e: Error| e.to_string();
    assert!(msg(net.forward(&[]).unwrap_err()).contains("input"));
    assert!(msg(net.forward(&[vec![1.0, 2.0], vec![1.0]]).unwrap_err()).contains("input row 1"));
    assert!(msg(net.forward(&[vec![1.0, f64::NAN]]).unwrap_err()).contains("input row 0 column 1"));
    let (x, _) = hand_worked_batch();
    assert!(msg(net.gradients(&x, &[vec![1.0], vec![1.0]], Loss::SquaredError).unwrap_err()).contains("target row 0"));
}

#[test]
fn accessors_return_the_shape_of_the_network() {
    let net = small_net();
    assert_eq!(net.layers().len(), 3);
    assert_eq!(net.layers()[2].activation, Activation::Sigmoid);
    assert_eq!(net.shortcut(), Some(1));
    assert_eq!(net.input_width(), 3);
    assert_eq!(net.output_width(), 2);
    assert_eq!(net.widths(), vec![3, 4, 4, 2]);
    // s = 1: layer l receives a_{l−1} only where n_{l−1} = n_l, here layer 2 (4 → 4).
    assert_eq!(net.shortcut_layers(), vec![2]);
    let plain = Dense::new(net.layers().to_vec(), None).unwrap();
    assert_eq!(plain.shortcut(), None);
    assert_eq!(plain.shortcut_layers(), Vec::<usize>::new());
    let hand = hand_worked_net();
    assert_eq!((hand.input_width(), hand.output_width()), (2, 2));
    assert_eq!(hand.shortcut_layers(), vec![2]);
}

#[test]
fn shortcut_spans_and_layer_shapes_are_checked() {
    let msg = |r: Result<Dense, Error>| r.unwrap_err().to_string();
    let layers = small_net().layers().to_vec();
    assert!(msg(Dense::new(layers.clone(), Some(0))).contains("shortcut"));
    assert!(msg(Dense::new(layers.clone(), Some(4))).contains("shortcut"));
    assert_eq!(Dense::new(layers.clone(), Some(3)).unwrap().shortcut_layers(), Vec::<usize>::new());
    assert!(msg(Dense::new(vec![layer(vec![], None, Activation::Relu)], None)).contains("no rows"));
    assert!(msg(Dense::new(vec![layer(vec![vec![]], None, Activation::Relu)], None)).contains("no columns"));
    let short_bias = layer(vec![vec![1.0]; 2], Some(vec![0.0]), Activation::Relu);
    assert!(msg(Dense::new(vec![short_bias], None)).contains("layer 1 bias"));
    let nan_bias = layer(vec![vec![1.0]; 2], Some(vec![0.0, f64::NAN]), Activation::Relu);
    assert!(msg(Dense::new(vec![nan_bias], None)).contains("layer 1 bias 1"));
    let nan_slope = layer(vec![vec![1.0]], None, Activation::LeakyRelu { slope: f64::NAN });
    assert!(
        msg(Dense::new(vec![layer(vec![vec![1.0]], None, Activation::Relu), nan_slope], None))
            .contains("layer 2 leaky_relu slope")
    );
}

/// [`hand_worked_net`]'s layers with a span-1 identity skip, a_l = a_{l−1} + f(z_l) (both layers
/// receive one: all widths are 2), worked by hand with t = ((5, 2), (−1, 2)):
///
/// ```text
/// x = (1, 2):    z_1 = (9/8, 1/2),   a_1 = x + z_1 = (17/8, 5/2);
///                z_2 = (27/8, −143/32), a_2 = a_1 + relu(z_2) = (11/2, 5/2)
/// x = (−1, 1/2): z_1 = (−1/4, 11/8), a_1 = (−5/4, 15/8);  z_2 = (−5/16, −65/16) < 0, a_2 = a_1
/// r = y − t = (1/2, 1/2), (−1/4, −1/8);  L = (1/4 + 1/4 + 1/16 + 1/64)/2 = 37/128
/// G_2 = 2r = (1, 1), (−1/2, −1/4);  Δ_2 = G_2 ⊙ relu′(z_2) = (1, 0), (0, 0)
/// G_1 = G_2 + Δ_2·W_2 = (2, 3/2), (−1/2, −1/4)   (the identity path passes G_2, not Δ_2)
/// ```
fn hand_worked_identity_net() -> Dense {
    Dense::new(hand_worked_net().layers().to_vec(), Some(1)).unwrap().with_skip(Skip::Identity)
}

#[test]
fn forward_of_the_hand_worked_identity_net_is_exact() {
    let x = vec![vec![1.0, 2.0], vec![-1.0, 0.5]];
    let y = hand_worked_identity_net().forward(&x).unwrap();
    assert_eq!(y, vec![vec![5.5, 2.5], vec![-1.25, 1.875]]);
}

#[test]
fn gradients_of_the_hand_worked_identity_net_are_exact() {
    // ∂S/∂W_2 = Δ_2ᵀ·a_1: row 0 = 1·(17/8, 5/2), row 1 = 0; ∂S/∂b_2 = (1, 0).
    // Δ_1 = G_1 (identity activation): ∂S/∂W_1 = Δ_1ᵀ·x = [[5/2, 15/4], [7/4, 23/8]],
    // ∂S/∂b_1 = (3/2, 5/4). Every gradient is ∂S/∂θ divided by B = 2.
    let net = hand_worked_identity_net();
    let (x, t) = (vec![vec![1.0, 2.0], vec![-1.0, 0.5]], vec![vec![5.0, 2.0], vec![-1.0, 2.0]]);
    let g = net.gradients(&x, &t, Loss::SquaredError).unwrap();
    assert_eq!(g.loss, 37.0 / 128.0);
    assert_eq!(g.bias, vec![vec![0.75, 0.625], vec![0.5, 0.0]]);
    assert_eq!(g.weight, vec![vec![vec![1.25, 1.875], vec![0.875, 1.4375]], vec![vec![1.0625, 1.25], vec![0.0, 0.0]]]);
    // The pre-activation form of the same layers passes Δ_2 = (1, 0) down the shortcut instead of
    // G_2 = (1, 1): another G_1, other first-layer gradients.
    let pre = Dense::new(net.layers().to_vec(), Some(1)).unwrap();
    assert_ne!(pre.gradients(&x, &t, Loss::SquaredError).unwrap().weight[0], g.weight[0]);
}

#[test]
fn identity_skip_matches_central_differences() {
    assert_matches_central_differences(&small_net().with_skip(Skip::Identity), Loss::SquaredError);
}

#[test]
fn skip_defaults_to_pre_activation_and_with_skip_sets_it() {
    let net = small_net();
    assert_eq!(net.skip(), Skip::PreActivation);
    assert_eq!(net.clone().with_skip(Skip::PreActivation), net);
    let identity = net.clone().with_skip(Skip::Identity);
    assert_eq!(identity.skip(), Skip::Identity);
    assert_eq!((identity.shortcut(), identity.shortcut_layers()), (Some(1), vec![2]));
    // Without a shortcut the form changes nothing.
    let plain = Dense::new(net.layers().to_vec(), None).unwrap();
    let (x, t) = batch();
    assert_eq!(
        plain.clone().with_skip(Skip::Identity).gradients(&x, &t, Loss::SquaredError).unwrap(),
        plain.gradients(&x, &t, Loss::SquaredError).unwrap()
    );
}

#[test]
fn cross_entropy_refuses_an_identity_shortcut_into_the_output_layer() {
    // small_net's shortcut reaches layer 2 only: its sigmoid output stays a probability.
    let (x, t) = batch();
    assert!(small_net().with_skip(Skip::Identity).gradients(&x, &t, Loss::BinaryCrossEntropy).is_ok());
    let sig = |w: Vec<Vec<f64>>| layer(w, None, Activation::Sigmoid);
    let net = Dense::new(vec![sig(vec![vec![0.5, 0.25]; 2]), sig(vec![vec![1.0, -1.0]; 2])], Some(1)).unwrap();
    let (x, t) = (vec![vec![1.0, 2.0]], vec![vec![1.0, 0.0]]);
    assert!(net.gradients(&x, &t, Loss::BinaryCrossEntropy).is_ok());
    let err = net.with_skip(Skip::Identity).gradients(&x, &t, Loss::BinaryCrossEntropy).unwrap_err();
    assert!(err.to_string().contains("loss") && err.to_string().contains("identity"), "{err}");
}

#[test]
fn the_forward_trace_has_every_z_and_a_in_both_skip_forms_and_keeps_overflow() {
    // Two width-1 layers, span 1 (each receives the one below): w = 2, b = 1, identity; then
    // w = −1, b = 0.5, ReLU; x = 1.
    let net = |skip| {
        Dense::new(
            vec![
                layer(vec![vec![2.0]], Some(vec![1.0]), Activation::Identity),
                layer(vec![vec![-1.0]], Some(vec![0.5]), Activation::Relu),
            ],
            Some(1),
        )
        .unwrap()
        .with_skip(skip)
    };
    // Pre-activation: z_1 = 2 + 1 + x = 4 = a_1; z_2 = −4 + 0.5 + a_1 = 0.5 = a_2.
    let t = net(Skip::PreActivation).forward_trace(&[1.0]).unwrap();
    assert_eq!((t.z, t.a), (vec![vec![4.0], vec![0.5]], vec![vec![1.0], vec![4.0], vec![0.5]]));
    // Identity: z_1 = 3, a_1 = 3 + x = 4; z_2 = −3.5, a_2 = ReLU(−3.5) + a_1 = 4.
    let t = net(Skip::Identity).forward_trace(&[1.0]).unwrap();
    assert_eq!((t.z, t.a), (vec![vec![3.0], vec![-3.5]], vec![vec![1.0], vec![4.0], vec![4.0]]));
    // The last a is the network's output.
    let (x, _) = batch();
    let outputs = small_net().outputs(&x).unwrap();
    for (row, out) in x.iter().zip(&outputs) {
        assert_eq!(small_net().forward_trace(row).unwrap().a.last().unwrap(), out);
    }
    // An overflow stays, to be located: 1e300 · 1e10.
    let big = Dense::new(vec![layer(vec![vec![1e300]], None, Activation::Sigmoid)], None).unwrap();
    let t = big.forward_trace(&[1e10]).unwrap();
    assert_eq!((t.z[0][0], t.a[1][0]), (f64::INFINITY, 1.0));
    assert!(big.forward_trace(&[1.0, 2.0]).is_err() && big.forward_trace(&[f64::NAN]).is_err());
}

/// A residual MLP's usual shape: a stem layer 3 → 4, one block of two layers whose shortcut
/// leaves the stem's output (layer 3 receives a_1), a head 4 → 2. Span 2 alone would join
/// layers 2 and 4, whose widths differ from a_0's and a_2's: no layer at all.
fn stem_net(skip: Skip) -> Dense {
    let net = small_net();
    let [stem, block, head] = [0, 1, 2].map(|l| net.layers()[l].clone());
    let second = layer(block.weight.iter().rev().cloned().collect(), Some(vec![0.1; 4]), Activation::Tanh);
    let head = layer(head.weight, head.bias, Activation::Sigmoid);
    Dense::new(vec![stem, block, second, head], Some(2)).unwrap().with_skip(skip).with_shortcut_layers(vec![3]).unwrap()
}

#[test]
fn named_shortcut_layers_are_the_only_ones_that_join() {
    let rule = Dense::new(stem_net(Skip::PreActivation).layers().to_vec(), Some(2)).unwrap();
    assert_eq!((rule.shortcut_layers(), rule.names_shortcut_layers()), (vec![], false));
    for skip in [Skip::PreActivation, Skip::Identity] {
        let net = stem_net(skip);
        assert_eq!((net.shortcut_layers(), net.names_shortcut_layers()), (vec![3], true));
        // The forward pass written out: a_3 = f(W_3·a_2 + b_3 + a_1) or f(W_3·a_2 + b_3) + a_1.
        let (x, _) = batch();
        let apply = |l: usize, a: &[f64]| -> Vec<f64> {
            let layer = &net.layers()[l];
            let z = layer.weight.iter().enumerate().map(|(j, row)| {
                row.iter().zip(a).map(|(w, v)| w * v).sum::<f64>() + layer.bias.as_ref().map_or(0.0, |b| b[j])
            });
            z.collect()
        };
        let f = |l: usize, z: Vec<f64>| -> Vec<f64> {
            z.into_iter().map(|z| net.layers()[l].activation.value(z)).collect()
        };
        let add = |a: Vec<f64>, b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(a, b)| a + b).collect() };
        for (b, x) in x.iter().enumerate() {
            let a1 = f(0, apply(0, x));
            let a2 = f(1, apply(1, &a1));
            let a3 = match skip {
                Skip::PreActivation => f(2, add(apply(2, &a2), &a1)),
                Skip::Identity => add(f(2, apply(2, &a2)), &a1),
            };
            let y = f(3, apply(3, &a3));
            assert_eq!(net.forward(std::slice::from_ref(x)).unwrap()[0], y, "{skip:?} sample {b}");
        }
        assert_matches_central_differences(&net, Loss::SquaredError);
        // Joining layer 3 changes the network: the gradients differ from the rule's (no joins).
        let (x, t) = batch();
        let plain = Dense::new(net.layers().to_vec(), Some(2)).unwrap().with_skip(skip);
        assert_ne!(
            net.gradients(&x, &t, Loss::SquaredError).unwrap(),
            plain.gradients(&x, &t, Loss::SquaredError).unwrap()
        );
    }
}

#[test]
fn named_shortcut_layers_are_checked() {
    let layers = stem_net(Skip::PreActivation).layers().to_vec();
    let named = |span: Option<usize>, joins: Vec<usize>| {
        Dense::new(layers.clone(), span).unwrap().with_shortcut_layers(joins).unwrap_err().to_string()
    };
    assert_eq!(named(None, vec![3]), "shortcut layers: they need a shortcut span");
    assert_eq!(named(Some(2), vec![1]), "shortcut layer 1: it must be between the span 2 and the number of layers 4");
    assert_eq!(named(Some(2), vec![5]), "shortcut layer 5: it must be between the span 2 and the number of layers 4");
    assert_eq!(
        named(Some(1), vec![3, 3]),
        "shortcut layer 3: it follows layer 3: list them in increasing order, once each"
    );
    assert_eq!(
        named(Some(1), vec![3, 2]),
        "shortcut layer 2: it follows layer 3: list them in increasing order, once each"
    );
    assert_eq!(named(Some(2), vec![4]), "shortcut layer 4: it has width 2 but a_2 has width 4");
    // The empty list is a shortcut span that no layer receives.
    let none = Dense::new(layers.clone(), Some(1)).unwrap().with_shortcut_layers(vec![]).unwrap();
    assert_eq!(none.shortcut_layers(), Vec::<usize>::new());
}

/// `error_scales_over` where backprop cancels: the second layer's two units reach each first-layer
/// unit through weights ±0.3 and ±0.5 under equal adjoints (the last layer's weights are equal), so
/// layer 1's gradients are exactly 0 while each of its δ's sums has terms of 0.3·|δ₂| and 0.5·|δ₂|;
/// where nothing cancels (the last layer) the scale is at least the gradient.
#[test]
fn error_scales_keep_the_terms_where_backprop_cancels() {
    let net = Dense::new(
        vec![
            layer(vec![vec![0.7], vec![-1.3]], None, Activation::Identity),
            layer(vec![vec![0.3, 0.5], vec![-0.3, -0.5]], None, Activation::Identity),
            layer(vec![vec![1.1, 1.1]], None, Activation::Identity),
        ],
        None,
    )
    .unwrap();
    let (x, t) = (vec![vec![0.9]], vec![vec![0.25]]);
    let g = net.gradients(&x, &t, Loss::SquaredError).unwrap();
    let e = net.error_scales_over(&x, &t, Loss::SquaredError, 1.0).unwrap();
    assert!(g.weight[0].iter().flatten().all(|&v| v == 0.0), "{:?}", g.weight[0]);
    // δ₂ = 1.1·∂L/∂y for both units; layer 1's unit 0 has terms 0.3·δ₂ and −0.3·δ₂, times x = 0.9.
    let delta2 = 1.1 * 2.0 * (g.output[0][0] - 0.25);
    assert!(e.weight[0][0][0] >= 2.0 * 0.3 * delta2.abs() * 0.9, "{:?}", e.weight[0]);
    assert!(e.weight[0][1][0] >= 2.0 * 0.5 * delta2.abs() * 0.9, "{:?}", e.weight[0]);
    for (scale, grad) in e.weight[2][0].iter().zip(&g.weight[2][0]) {
        assert!(scale >= &grad.abs() && grad.abs() > 0.0, "{scale} against {grad}");
    }
    // A batch's estimate adds its samples' in quadrature where each sample's own sums round (the
    // terms of its leaves' sum in absolute value, the rest as variances): no smaller than either
    // sample's, no larger than their sum.
    let two = net.error_scales_over(&[x[0].clone(), vec![-0.4]], &[t[0].clone(), vec![1.0]], Loss::SquaredError, 1.0);
    let second = net.error_scales_over(&[vec![-0.4]], &[vec![1.0]], Loss::SquaredError, 1.0).unwrap();
    let (two, one, other) = (two.unwrap().weight[1][0][1], e.weight[1][0][1], second.weight[1][0][1]);
    assert!(two >= one.max(other) && two <= one + other, "{two} from {one} and {other}");
}

/// `forward_error_scales` by its rule, worked by hand on two layers: the input rounds (E = |x|),
/// a sum contributes twice its terms' size, errors below reach z through the weights in
/// quadrature, and a tanh unit passes on |f′(z)|·E(z) and its own rounding |f(z)| (a relu unit
/// would pass on sup|f′|·E(z), its kink's larger side).
#[test]
fn forward_error_scales_follow_their_rule() {
    let net = Dense::new(
        vec![
            DenseLayer { weight: vec![vec![0.5, 0.25]], bias: Some(vec![0.1]), activation: Activation::Tanh },
            DenseLayer { weight: vec![vec![-2.0]], bias: None, activation: Activation::Identity },
        ],
        None,
    )
    .unwrap();
    let e = net.forward_error_scales(&[1.0, 2.0]).unwrap();
    // z_1 = 0.5 + 0.5 + 0.1: E² = 2·(0.5 + 0.5 + 0.1)² + 0.5²·1² + 0.25²·2².
    let e1 = (2.0 * 1.1f64.powi(2) + 0.25 + 0.25).sqrt();
    assert!((e[0][0] - e1).abs() <= 1e-15 * e1, "{} against {e1}", e[0][0]);
    // a_1 = tanh(1.1): E² = (tanh′(1.1)·e1)² + tanh(1.1)²; z_2 = −2·a_1: E² = 2·(2·a_1)² + 4·E(a_1)².
    let (a1, d1) = (1.1f64.tanh(), Activation::Tanh.derivative(1.1));
    let e2 = (2.0 * (2.0 * a1).powi(2) + 4.0 * ((d1 * e1).powi(2) + a1 * a1)).sqrt();
    assert!((e[1][0] - e2).abs() <= 1e-15 * e2, "{} against {e2}", e[1][0]);
    assert_eq!(net.forward_error_scales(&[1.0]).unwrap_err().to_string(), "input row 0: expected length 2, got 1");
}
