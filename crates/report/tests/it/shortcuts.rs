//! Section 5's shortcuts: every explanatory sentence of the subsection, tested — each against the
//! data of the default seed, with a control that fails for the wrong explanation.

use report::sections::Stream;
use report::sections::shortcuts::{self, Form, Shortcuts};
use vectorised::{Activation, Batch, Dense, DenseLayer, Loss, Normalisation, Skip, Workspace};

/// The subsection of the default report (seed 1; `--quick` computes the same).
fn computed() -> &'static Shortcuts {
    &crate::reports::default_report().shortcuts
}

/// How far a measured mean may sit from its prediction: 4 standard errors (a normal deviate
/// beyond 4 has probability 6e−5; each network's value has exactly the predicted expectation,
/// `docs/derivation.md` §14, so only sampling separates them).
const STANDARD_ERRORS: f64 = 4.0;

#[test]
fn residual_growth_matches_one_plus_g_alpha_squared_per_block() {
    let s = computed();
    assert_eq!(s.growth.len(), 3);
    for g in &s.growth {
        let z = (g.measured_growth - g.predicted_growth) / g.standard_error;
        assert!(
            z.abs() <= STANDARD_ERRORS,
            "α {}, g {}: {} vs {} ({z:.2} SE)",
            g.alpha,
            g.gain,
            g.measured_growth,
            g.predicted_growth
        );
        assert_eq!(g.predicted_factor, 1.0 + g.gain * g.alpha * g.alpha);
    }
    // Unscaled, g = 1: the squared norm doubles per block.
    assert_eq!((s.growth[0].alpha, s.growth[0].gain, s.growth[0].predicted_factor), (1.0, 1.0, 2.0));
    // Controls: the wrong factor (3 for g = 1, 2 for g = 2: He's 2/n on the linear layer or not)
    // is far outside the tolerance of each.
    let wrong: [(usize, f64); 2] = [(0, 3.0), (2, 2.0)];
    for (row, factor) in wrong {
        let g = &s.growth[row];
        let z = (g.measured_growth - factor.powi(shortcuts::BLOCKS as i32)) / g.standard_error;
        assert!(z.abs() > STANDARD_ERRORS, "row {row}: factor {factor} is not rejected ({z:.2} SE)");
    }
}

#[test]
fn scaling_by_one_over_root_blocks_keeps_the_growth_below_e() {
    let scaled = &computed().growth[1];
    assert_eq!(scaled.alpha, 1.0 / (shortcuts::BLOCKS as f64).sqrt());
    assert!(scaled.predicted_growth < std::f64::consts::E);
    assert!(scaled.measured_growth < std::f64::consts::E);
}

/// relu(α·z) = α·relu(z) for α > 0: the growth networks scale the branch through its ReLU layer,
/// which is the network whose linear layer is scaled instead — bit for bit at α = 1/4 (a power of
/// two). The control: with a sigmoid in the branch, the two differ.
#[test]
fn scaling_the_relu_layer_is_scaling_the_branch() {
    let alpha = 0.25;
    let output = |layers: Vec<DenseLayer<f64>>, x: &[f64]| -> Vec<u64> {
        let depth = layers.len();
        let net = Dense::new(layers, Some(shortcuts::SPAN)).unwrap().with_skip(Skip::Identity);
        let mut ws = Workspace::new();
        let b = Batch::new(x, shortcuts::BATCH, shortcuts::GROWTH_WIDTH).unwrap();
        net.gradients(b, b, Loss::Linear, Normalisation::PerSample, &mut ws).unwrap();
        ws.activations(depth).unwrap().iter().map(|v| v.to_bits()).collect()
    };
    let (through_relu, x) = shortcuts::growth_network(1, 0, alpha, 1.0);
    let (unscaled, _) = shortcuts::growth_network(1, 0, 1.0, 1.0);
    let rescale = |layers: &[DenseLayer<f64>], f: Activation| -> Vec<DenseLayer<f64>> {
        layers
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                let (n, act) = (layer.n_in(), if l % 2 == 0 { f } else { Activation::Identity });
                let s = if l % 2 == 1 { alpha } else { 1.0 };
                DenseLayer::new(n, n, layer.weight().iter().map(|w| w * s).collect(), None, act).unwrap()
            })
            .collect()
    };
    assert_eq!(output(through_relu.clone(), &x), output(rescale(&unscaled, Activation::Relu), &x));
    // Control: a sigmoid is not homogeneous.
    let sigmoid_through_first: Vec<DenseLayer<f64>> = through_relu
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            let act = if l % 2 == 0 { Activation::Sigmoid } else { Activation::Identity };
            DenseLayer::new(layer.n_in(), layer.n_out(), layer.weight().to_vec(), None, act).unwrap()
        })
        .collect();
    assert_ne!(output(sigmoid_through_first, &x), output(rescale(&unscaled, Activation::Sigmoid), &x));
}

#[test]
fn he_relu_networks_keep_their_gradient_and_the_unscaled_block_grows_it() {
    let relu = &computed().relu;
    assert_eq!(
        relu.iter().map(|r| (r.form, r.alpha)).collect::<Vec<_>>(),
        vec![(Form::None, 1.0), (Form::PreActivation, 1.0), (Form::PreActivation, 1.0 / 20f64.sqrt())]
    );
    // "keeps … from vanishing": no seed loses more than 1.5 decades without a shortcut.
    assert!(relu[0].log10_ratio.iter().all(|r| r.abs() < 1.5), "{:?}", relu[0].log10_ratio);
    // Unscaled, the block makes the first layer's gradient larger than the last one's: every seed.
    assert!(relu[1].log10_ratio[0] > 2.0, "{:?}", relu[1].log10_ratio);
    // The control for "the branch's scale is what grows it": scaled, the growth is gone, and the
    // seeds spread less than without a shortcut.
    assert!(relu[2].log10_ratio.iter().all(|r| r.abs() < 1.0), "{:?}", relu[2].log10_ratio);
    assert!(relu[2].spread < relu[0].spread);
}

#[test]
fn only_the_identity_skip_carries_the_sigmoid_gradient_past_f_prime() {
    let s = computed();
    let [none, pre, identity] = [&s.sigmoid[0], &s.sigmoid[1], &s.sigmoid[2]];
    assert_eq!((none.form, pre.form, identity.form), (Form::None, Form::PreActivation, Form::Identity));
    assert_eq!(s.sigmoid_joins, 14);
    // No shortcut: vanished. Pre-activation: better, but below the (1/4)^joins of a path through
    // every join, at layer s, in every network.
    assert!(none.log10_ratio.iter().all(|&r| r < -15.0));
    assert!(pre.median > none.median + 5.0);
    for k in 0..shortcuts::NETWORKS {
        let (_, at_span) =
            shortcuts::log10_ratios(1, Stream::ShortcutsSigmoid, k, Form::PreActivation, 1.0, Activation::Sigmoid);
        assert!(at_span < s.sigmoid_path_bound, "network {k}: {at_span} vs {}", s.sigmoid_path_bound);
    }
    // Identity: layer s gets the output's gradient undiminished (within a tenth of a decade), which
    // the pre-activation form does not (the control); layer 1 gets it through one σ′·W_2.
    assert!(identity.median_at_span.abs() < 0.1, "{}", identity.median_at_span);
    assert!(pre.median_at_span.abs() > 5.0);
    assert!(identity.log10_ratio.iter().all(|&r| r > -1.0));
    // "About 1/4": the step is σ′·W_2, so no bound puts it below log10(1/4) (one seed's is above).
    assert!((identity.median_first_to_span - s.log10_quarter).abs() < 0.1, "{}", identity.median_first_to_span);
}

/// "With f = identity the two forms are one network": f(z) + a = f(z + a), so the sigmoid
/// networks' draws with identity activations give the same bits in both forms — and with the
/// sigmoid they do not (the difference is f′'s).
#[test]
fn with_identity_activations_the_two_forms_are_one_network() {
    let (n, depth, batch) = (shortcuts::SIGMOID_WIDTH, 8, 4);
    let v = |i: usize| ((i * 7919) % 17) as f64 / 16.0 - 0.5;
    let bits = |f: Activation, skip: Skip| -> Vec<u64> {
        let layers = (0..depth)
            .map(|l| DenseLayer::new(n, n, (0..n * n).map(|i| v(i + l) / 4.0).collect(), None, f).unwrap())
            .collect();
        let net = Dense::new(layers, Some(shortcuts::SPAN)).unwrap().with_skip(skip);
        let x: Vec<f64> = (0..batch * n).map(|i| v(3 * i + 1)).collect();
        let mut ws = Workspace::new();
        let g = net
            .gradients(
                Batch::new(&x, batch, n).unwrap(),
                Batch::new(&x, batch, n).unwrap(),
                Loss::Linear,
                Normalisation::PerSample,
                &mut ws,
            )
            .unwrap();
        g.weight.iter().flatten().map(|w| w.to_bits()).collect()
    };
    assert_eq!(bits(Activation::Identity, Skip::PreActivation), bits(Activation::Identity, Skip::Identity));
    assert_ne!(bits(Activation::Sigmoid, Skip::PreActivation), bits(Activation::Sigmoid, Skip::Identity));
}

#[test]
fn the_subsection_follows_section_5s_table_in_markdown_and_json() {
    let report = crate::reports::quick_report();
    let md = report::render::markdown(report, None);
    let (five, sub, six) =
        (md.find("## 5. ").unwrap(), md.find("### 5.1. Shortcuts").unwrap(), md.find("## 6. ").unwrap());
    assert!(five < sub && sub < six);
    let json = report::render::json(report);
    let (remedies, shortcuts, classic) =
        (json.find("\"remedies\"").unwrap(), json.find("\"shortcuts\"").unwrap(), json.find("\"classic\"").unwrap());
    assert!(remedies < shortcuts && shortcuts < classic);
}

#[test]
fn the_new_streams_have_new_ids() {
    let new = [Stream::ShortcutsRelu, Stream::ShortcutsSigmoid, Stream::ShortcutsGrowth].map(Stream::id);
    let mut old = vec![Stream::RemediesData.id(), Stream::Exploding.id(), Stream::RateProbe.id()];
    for width in 1..128 {
        old.extend((0..256).map(|hidden| Stream::RemediesWeights { hidden, width }.id()));
    }
    for id in new {
        assert!(!old.contains(&id), "{id:#x}");
        assert_eq!(new.iter().filter(|&&other| other == id).count(), 1);
    }
}
