//! The dense engine and the oracle on small networks whose gradients are derived by hand (both
//! shortcut forms, the linear loss), and the refusals both make. The property tests against the
//! oracle are `dense.rs`.

use super::dense::NetCase;
use scalar::dense as oracle;
use vectorised::Activation;
use vectorised::Skip;
use vectorised::dense::{Batch, Dense, DenseLayer, Loss, Normalisation, Workspace};

#[test]
fn hand_derived_two_layer_gradients() {
    // x = [1, 2]; layer 1: W = [[1, −1], [0.5, 0.5]] ([out][in]), b = [0, 1], relu;
    // z1 = [1·1 − 1·2, 0.5 + 1 + 1] = [−1, 2.5], a1 = [0, 2.5];
    // layer 2: W = [[2, 4]], identity: y = 0·2 + 2.5·4 = 10; t = 8; L = (10 − 8)² = 4.
    // ∂L/∂y = 4; ∂L/∂W2 = 4·a1 = [0, 10]; ∂L/∂b2 = 4; Δ1 = [4·2·0, 4·4·1] = [0, 16];
    // ∂L/∂W1 = Δ1ᵀ·x: [[0, 0], [16, 32]] ([out][in]); ∂L/∂b1 = [0, 16].
    let case = two_layer_relu_net(8.0, Loss::SquaredError);
    let g = case.fast::<f64>(&mut Workspace::new());
    assert_eq!(g.loss, 4.0);
    assert_eq!(g.weight[1], vec![0.0, 10.0]);
    assert_eq!(g.bias[1], vec![4.0]);
    // [in][out]: W1[i][j]: i = input, j = unit → [[0, 16], [0, 32]].
    assert_eq!(g.weight[0], vec![0.0, 16.0, 0.0, 32.0]);
    assert_eq!(g.bias[0], vec![0.0, 16.0]);
}

/// The hand-derived network of the two tests around it: a ReLU layer of 2 units on 2 inputs, then
/// an identity unit, one sample x = [1, 2], and target `t`.
fn two_layer_relu_net(t: f64, loss: Loss) -> NetCase {
    NetCase {
        n_input: 2,
        layers: vec![
            (vec![vec![1.0, -1.0], vec![0.5, 0.5]], Some(vec![0.0, 1.0]), Activation::Relu),
            (vec![vec![2.0, 4.0]], None, Activation::Identity),
        ],
        shortcut: None,
        joins: None,
        skip: Skip::PreActivation,
        input: vec![vec![1.0, 2.0]],
        target: vec![vec![t]],
        loss,
    }
}

/// The scalar suite's hand-worked identity-skip network (`scalar/tests/it/dense.rs`: a 2→2→2
/// identity/ReLU net, span 1, a_l = a_{l−1} + f(z_l)), here through the engine: G_1 = G_2 + Δ_2·W_2
/// = (2, 3/2), (−1/2, −1/4), so ∂S/∂b_1 = (3/2, 5/4) and ∂S/∂W_1 = [[5/2, 15/4], [7/4, 23/8]]
/// ([out][in]), each over B = 2; L = 37/128.
#[test]
fn hand_derived_identity_skip_gradients() {
    let case = NetCase {
        n_input: 2,
        layers: vec![
            (vec![vec![0.5, 0.25], vec![-1.0, 0.75]], Some(vec![0.125, 0.0]), Activation::Identity),
            (vec![vec![1.0, 0.5], vec![0.25, -2.0]], None, Activation::Relu),
        ],
        shortcut: Some(1),
        joins: None,
        skip: Skip::Identity,
        input: vec![vec![1.0, 2.0], vec![-1.0, 0.5]],
        target: vec![vec![5.0, 2.0], vec![-1.0, 2.0]],
        loss: Loss::SquaredError,
    };
    for stats in [Some(0.01), None] {
        let mut ws = Workspace::new();
        ws.set_stats(stats).unwrap();
        let g = case.fast::<f64>(&mut ws);
        assert_eq!(g.loss, 37.0 / 128.0);
        assert_eq!(g.bias, vec![vec![0.75, 0.625], vec![0.5, 0.0]]);
        // [in][out]: W_1[i][j] = (∂S/∂W_1[j][i])/2.
        assert_eq!(g.weight, vec![vec![1.25, 0.875, 1.875, 1.4375], vec![1.0625, 0.0, 1.25, 0.0]]);
    }
}

/// Binary cross-entropy is refused by both engines when an identity shortcut reaches the sigmoid
/// output layer (the output is then no probability), and accepted in the pre-activation form.
#[test]
fn identity_shortcut_into_cross_entropy_is_refused_by_both() {
    let sig = |w: Vec<Vec<f64>>| (w, None, Activation::Sigmoid);
    let mut case = NetCase {
        n_input: 2,
        layers: vec![sig(vec![vec![0.5, 0.25]; 2]), sig(vec![vec![1.0, -1.0]; 2])],
        shortcut: Some(1),
        joins: None,
        skip: Skip::PreActivation,
        input: vec![vec![1.0, 2.0]],
        target: vec![vec![1.0, 0.0]],
        loss: Loss::BinaryCrossEntropy,
    };
    assert_eq!(case.fast::<f64>(&mut Workspace::new()).loss, case.oracle().loss);
    case.skip = Skip::Identity;
    let net = Dense::new(
        case.layers.iter().map(|(w, b, a)| DenseLayer::from_out_in(w, b.clone(), *a).unwrap()).collect(),
        Some(1),
    )
    .unwrap()
    .with_skip(Skip::Identity);
    let (x, t) = ([1.0, 2.0], [1.0, 0.0]);
    let err = net
        .gradients(
            Batch::new(&x, 1, 2).unwrap(),
            Batch::new(&t, 1, 2).unwrap(),
            Loss::BinaryCrossEntropy,
            Normalisation::PerSample,
            &mut Workspace::new(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("identity"), "{err}");
    let oracle_layers = case
        .layers
        .iter()
        .map(|(w, b, a)| oracle::DenseLayer { weight: w.clone(), bias: b.clone(), activation: super::to_oracle(*a) })
        .collect();
    let oracle_net = oracle::Dense::new(oracle_layers, Some(1)).unwrap().with_skip(scalar::Skip::Identity);
    assert!(oracle_net.gradients(&case.input, &case.target, oracle::Loss::BinaryCrossEntropy).is_err());
}

#[test]
fn linear_loss_backpropagates_its_seed_whatever_the_output() {
    // The network above with the linear loss L = t·y and t = 4: the seed is 4, as squared
    // error's 2(y − t) = 4 was, so every gradient is the same; the loss is 4·10 = 40. With
    // t = 4 and y = 10 or any other output, the seed stays 4: a probe independent of the net.
    let mut case = two_layer_relu_net(4.0, Loss::Linear);
    let g = case.fast::<f64>(&mut Workspace::new());
    assert_eq!(g.loss, 40.0);
    assert_eq!(g.weight, vec![vec![0.0, 16.0, 0.0, 32.0], vec![0.0, 10.0]]);
    assert_eq!(g.bias, vec![vec![0.0, 16.0], vec![4.0]]);
    // Other weights and input (z1 = [1, 3.5], y = −2 + 14 = 12): another output, the same seed.
    case.layers[1].0 = vec![vec![-2.0, 4.0]];
    case.input = vec![vec![3.0, 2.0]];
    let g = case.fast::<f64>(&mut Workspace::new());
    assert_eq!(g.loss, 48.0);
    assert_eq!(g.bias[1], vec![4.0]);
    assert_eq!(g.bias[0], vec![-8.0, 16.0]);
}
