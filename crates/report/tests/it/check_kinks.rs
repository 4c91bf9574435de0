//! `check` at a relu's kink: where their forward pass rounds a z onto the other side of 0, or
//! their f′(0) is the other side's, a correct backward pass takes the other derivative; the check
//! takes that branch too, names the unit, and still fails any other error.

use report::model::{ClaimedGradients, ClaimedLayer, Model};
use report::reference::{CheckReport, KINK_BAND, Tolerance, check_gradients};

/// 2 inputs → 2 relu units → 1 identity output, squared error summed. Sample 0 reaches unit 0
/// with W·x = 1 and a bias of `bias` (z = 1 + bias); sample 1 reaches unit 1 at exactly z = 0
/// (−0.25 + 0 + 0.25, exact in any precision), where f′(0) = 0 by the reference's convention.
fn model(bias: f64) -> Model {
    let text = format!(
        r#"{{"layers": [{{"weight": [[1.0, 0.5], [-0.5, 1.0]], "bias": [{bias:e}, 0.25], "activation": "relu"}},
                        {{"weight": [[0.75, -1.5]], "bias": [0.125], "activation": "identity"}}],
            "input": [[0.5, 1.0], [0.5, 0.0]], "target": [[0.5], [-1.0]],
            "loss": {{"kind": "mse", "reduction": "sum"}}}}"#
    );
    Model::from_json(&text, "kink.json").unwrap()
}

/// A backprop written by hand, every operation rounded by `round` (to `f32`: each f64 result of
/// an operation on f32 values rounded once, which is f32's own result), with f′(0) =
/// `relu_at_zero`.
fn their_gradients(model: &Model, round: fn(f64) -> f64, relu_at_zero: f64) -> ClaimedGradients {
    let layers = model.net().layers();
    let (w1, b1) = (&layers[0].weight, layers[0].bias.as_ref().unwrap());
    let (w2, b2) = (&layers[1].weight[0], layers[1].bias.as_ref().unwrap()[0]);
    let (mut g_w1, mut g_b1) = (vec![vec![0.0; 2]; 2], vec![0.0; 2]);
    let (mut g_w2, mut g_b2, mut loss) = (vec![0.0; 2], 0.0, 0.0);
    for (x, t) in model.input().iter().zip(model.target()) {
        let x: Vec<f64> = x.iter().map(|&v| round(v)).collect();
        let z: Vec<f64> = (0..2)
            .map(|j| round(round(round(round(w1[j][0]) * x[0]) + round(round(w1[j][1]) * x[1])) + round(b1[j])))
            .collect();
        let a: Vec<f64> = z.iter().map(|&v| v.max(0.0)).collect();
        let y = round(round(round(round(w2[0]) * a[0]) + round(round(w2[1]) * a[1])) + round(b2));
        let diff = round(y - round(t[0]));
        loss = round(loss + round(diff * diff));
        let dy = round(2.0 * diff);
        g_b2 = round(g_b2 + dy);
        for j in 0..2 {
            g_w2[j] = round(g_w2[j] + round(dy * a[j]));
            let slope = if z[j] > 0.0 {
                1.0
            } else if z[j] == 0.0 {
                relu_at_zero
            } else {
                0.0
            };
            let dz = round(round(dy * round(w2[j])) * slope);
            g_b1[j] = round(g_b1[j] + dz);
            for i in 0..2 {
                g_w1[j][i] = round(g_w1[j][i] + round(dz * x[i]));
            }
        }
    }
    let layer = |weight_grad, bias_grad| ClaimedLayer {
        weight_grad,
        bias_grad: Some(bias_grad),
        norm_weight_grad: None,
        norm_bias_grad: None,
    };
    ClaimedGradients { loss: Some(loss), layers: vec![layer(g_w1, g_b1), layer(vec![g_w2], vec![g_b2])] }
}

fn f32_rounding(v: f64) -> f64 {
    v as f32 as f64
}

fn check(model: &Model, theirs: &ClaimedGradients, tolerance: Tolerance) -> CheckReport {
    check_gradients(model, theirs, tolerance).unwrap()
}

/// z = 1 + (−1 + 2⁻³⁰) = 2⁻³⁰ in f64; f32 rounds the bias to −1, so their z is 0 and relu′ = 0
/// where the reference's is 1. Within f32's rounding of 0, the check takes their branch and
/// passes, naming the unit — and not sample 1's, whose z = 0 is also a candidate but whose branch
/// their code did not take; in f64, whose rounding cannot reach 2⁻³⁰ there, it fails at layer 1;
/// and another error in the same gradients still fails.
#[test]
fn a_z_that_f32_rounds_onto_the_kink_passes_with_its_branch_named() {
    let model = model(-1.0 + 2f64.powi(-30));
    let theirs = their_gradients(&model, f32_rounding, 0.0);
    let report = check(&model, &theirs, Tolerance::f32());
    assert!(report.pass, "{report}");
    assert_eq!(report.other_branches.len(), 1, "{report}");
    let taken = report.other_branches[0];
    assert_eq!((taken.sample, taken.layer, taken.unit, taken.z), (0, 1, 0, 2f64.powi(-30)));
    assert!(taken.band >= taken.z && taken.band <= KINK_BAND * 2f64.powi(-24) * 8.0, "{taken:?}");
    assert!(report.to_string().contains("Kinks: their code took the other branch"), "{report}");
    assert!(report.to_json().contains(r#""other_branches":["#), "{}", report.to_json());

    let in_f64 = check(&model, &theirs, Tolerance::f32().in_precision_of(Tolerance::default()));
    assert_eq!((in_f64.pass, in_f64.first_wrong_layer), (false, Some(1)), "{in_f64}");
    assert!(in_f64.other_branches.is_empty());

    let mut wrong = theirs.clone();
    wrong.layers[1].weight_grad[0][1] *= 1.1;
    let report = check(&model, &wrong, Tolerance::f32());
    assert_eq!(report.first_wrong_layer, Some(2), "{report}");
    assert!(report.other_branches.is_empty() && !report.to_json().contains("other_branches"));
}

/// At an exact z = 0 either one-sided derivative is a correct f′(0): code with relu′(0) = 1 (a
/// `z >= 0` test) passes in f64, both of its branches named; code with PyTorch's relu′(0) = 0 passes as it
/// is, with no branch taken.
#[test]
fn an_exact_zero_passes_either_derivative_at_the_kink() {
    let model = model(-1.0);
    let exact = |v: f64| v;
    let right_side = check(&model, &their_gradients(&model, exact, 1.0), Tolerance::default());
    assert!(right_side.pass, "{right_side}");
    let taken = right_side.other_branches.iter().map(|o| (o.sample, o.layer, o.unit, o.z)).collect::<Vec<_>>();
    assert_eq!(taken, [(0, 1, 0, 0.0), (1, 1, 1, 0.0)]);
    let left_side = check(&model, &their_gradients(&model, exact, 0.0), Tolerance::default());
    assert!(left_side.pass && left_side.other_branches.is_empty(), "{left_side}");
}
