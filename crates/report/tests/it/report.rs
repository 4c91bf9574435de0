//! The report: snapshot, determinism across thread counts, progress, the committed `docs/report.md`, and
//! each section's numbers checked against the engines.

use report::render;
use report::sections::{self, Config, Label, Report, Stream};
use scalar::Activation;
use scalar::chain::Chain;
use vectorised::stats::Stage;

fn on_threads(threads: usize, config: &Config) -> Report {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| sections::compute(config))
}

#[test]
fn quick_report_snapshot() {
    let report = on_threads(2, &Config::new(1, true));
    insta::assert_snapshot!("quick_report_seed_1", render::markdown(&report, None));
}

#[test]
fn the_report_is_identical_on_one_two_and_seven_threads() {
    let config = Config::new(7, true);
    let one = on_threads(1, &config);
    let md = render::markdown(&one, None);
    let json = render::json(&one);
    for threads in [2, 7] {
        let other = on_threads(threads, &config);
        assert_eq!(render::markdown(&other, None), md, "{threads} threads");
        assert_eq!(render::json(&other), json, "{threads} threads");
    }
}

#[test]
fn every_section_is_announced_once_as_it_finishes() {
    let finished = std::sync::Mutex::new(Vec::new());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let report =
        pool.install(|| sections::compute_with_progress(&Config::new(3, true), |s| finished.lock().unwrap().push(s)));
    let mut finished = finished.into_inner().unwrap();
    finished.sort_by_key(|s| sections::SECTIONS.iter().position(|x| x == s));
    assert_eq!(finished, sections::SECTIONS);
    assert_eq!(render::markdown(&report, None), render::markdown(&on_threads(1, &Config::new(3, true)), None));
}

/// The command that regenerates `docs/report.md` and `docs/plots/`.
const REGENERATE: &str = "cargo run -p report -- --out docs/report.md --plots docs/plots";

#[test]
fn docs_report_md_and_its_plots_are_current() {
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs");
    let report = crate::reports::default_report();
    let committed = std::fs::read_to_string(format!("{docs}/report.md")).expect("docs/report.md is committed");
    assert!(
        committed == render::markdown(report, Some("plots")),
        "docs/report.md is stale: regenerate it with `{REGENERATE}`"
    );
    for (name, svg) in render::svg::figures(report) {
        let committed = std::fs::read_to_string(format!("{docs}/plots/{name}")).unwrap_or_default();
        assert!(committed == svg, "docs/plots/{name} is stale or missing: regenerate it with `{REGENERATE}`");
    }
}

#[test]
fn one_plot_per_activation_with_data_and_one_curve_per_shortcut() {
    let report = crate::reports::quick_report();
    let plots = render::svg::decay_plots(&report.decay);
    let md = render::markdown(report, Some("plots"));
    for activation in sections::decay::ACTIVATIONS {
        let name = activation.name();
        let figure = render::svg::decay_figure(&report.decay, name);
        let all_medians_zero = report
            .decay
            .configs
            .iter()
            .filter(|c| c.activation == name)
            .all(|c| c.curve.median.iter().all(|&m| m == f64::NEG_INFINITY));
        let bands_empty = report
            .decay
            .configs
            .iter()
            .filter(|c| c.activation == name)
            .all(|c| c.curve.p10.iter().zip(&c.curve.p90).all(|(lo, hi)| !lo.is_finite() || !hi.is_finite()));
        // A figure exactly when there is something to draw; otherwise the text says why.
        assert_eq!(figure.has_data(), !(all_medians_zero && bands_empty), "{name}");
        let file = render::svg::decay_plot_name(name);
        match plots.iter().find(|(n, _)| *n == file) {
            Some((_, svg)) => {
                assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{name}");
                // Per configuration, the weight gradient and the backward factor in the legend.
                let configs = report.decay.configs.iter().filter(|c| c.activation == name).count();
                assert_eq!(svg.matches(": ∂L/∂w").count(), configs, "{name}: legend");
                assert_eq!(svg.matches(": ∂L/∂a (backward factor)").count(), configs, "{name}: legend");
                assert!(!svg.contains("NaN") && !svg.contains("inf"), "{name}");
                assert!(md.contains(&format!("](plots/{file})")), "{name}: the Markdown shows it");
            }
            None => {
                assert!(all_medians_zero, "{name}: no figure although some median is not 0");
                assert!(md.contains(&format!("No figure for {name}: its median gradient is exactly 0")), "{name}");
            }
        }
    }
    // ReLU chains without biases are dead; their figure shows the live chains.
    let relu = &plots.iter().find(|(n, _)| n == "decay-relu.svg").expect("the live chains are drawn").1;
    assert!(relu.contains("live chains"));
}

#[test]
fn worked_chain_rows_are_the_oracles_tape_gradients() {
    let worked = sections::worked::compute();
    let chain = Chain::uniform(Activation::Sigmoid, vec![1.0; 10]).unwrap();
    let tape = chain.gradients_tape(1.0, 0.0);
    let trace = chain.forward(1.0);
    for (i, row) in worked.layers.iter().enumerate() {
        assert_eq!(row.grad, tape.weight[i]);
        assert_eq!(row.pre_activation, trace.pre_activation[i]);
        assert!(row.grad.abs() <= row.bound);
        assert_eq!(row.ratio_to_last, tape.weight[i] / tape.weight[9]);
    }
    assert_eq!(worked.loss, tape.loss);
}

#[test]
fn decay_medians_agree_with_f64_gradients_where_those_are_normal() {
    // An independent path: redraw the same chains from the same streams, differentiate them in
    // plain f64 on the tape, and compare the depth-1 and depth-4 medians of log10 |g| (which are far
    // from underflow for sigmoid).
    let config = Config::new(3, true);
    let decay = sections::decay::compute(&config);
    let d = config.max_depth;
    let sigmoid = &decay.configs[0];
    assert_eq!((sigmoid.activation.as_str(), sigmoid.shortcut), ("sigmoid", None));
    let stream = Stream::Decay { activation: 0, shortcut: 0 }; // sigmoid, no shortcut
    let at = |k: usize| {
        let mut v: Vec<f64> = (0..config.decay_samples)
            .map(|i| {
                let mut rng = sections::stream_rng(config.seed, stream, i as u64);
                let w: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
                let (x, t) = (rng.normal(), rng.uniform(0.0, 1.0));
                Chain::uniform(Activation::Sigmoid, w).unwrap().gradients_tape(x, t).weight[d - k].abs().log10()
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len().div_ceil(2) - 1]
    };
    for (row, k) in [(0, 1), (2, 4)] {
        let expected = at(k);
        assert_eq!(sigmoid.rows[row].depth, k);
        assert!(
            (sigmoid.rows[row].median - expected).abs() < 1e-12,
            "depth {k}: {} vs {expected}",
            sigmoid.rows[row].median
        );
    }
}

#[test]
fn a_relu_chain_with_a_negative_weight_has_exactly_zero_gradients_above_it() {
    // The dead-path share the report counts: a ReLU chain whose layer-2 weight is negative (and
    // whose input is positive) outputs 0 from layer 2 on, so every layer above has u = 0 and g = 0.
    let chain = Chain::uniform(Activation::Relu, vec![1.0, -1.0, 1.0, 1.0]).unwrap();
    let m = chain.magnitudes(1.0, 0.5);
    assert_eq!(m.sign, vec![0, 0, 0, 0]);
    let decay = sections::decay::compute(&Config::new(5, true));
    let relu = decay.configs.iter().find(|c| c.activation == "relu" && c.shortcut.is_none()).unwrap();
    assert!(relu.rows.last().unwrap().zero_share > 0.9, "deep ReLU chains with N(0,1) weights are dead");
}

#[test]
fn dense_init_weight_gradients_are_the_oracles() {
    // Redraw the quick section's first scheme (U[±1/√n]) from its streams and differentiate the
    // same networks on the scalar oracle's tape: the report's log10 mean ‖∂L/∂W_l‖² must agree.
    use scalar::dense::{Dense, DenseLayer, Loss};
    let config = Config::new(11, true);
    let section = sections::dense_init::compute(&config);
    let (width, depth, batch, nets) = (section.width, section.depth, section.batch, section.nets);
    let scheme = sections::dense_init::schemes(width)[0];
    let (name, init) = (scheme.name, scheme.init);
    for activation in sections::dense_init::ACTIVATIONS {
        let measured = section.configs.iter().find(|c| c.init.0 == name && c.activation == activation.name()).unwrap();
        let mut sums = vec![0.0; depth];
        for k in 0..nets {
            let mut rng = sections::stream_rng(config.seed, Stream::DenseInit { scheme: scheme.stream }, k as u64);
            let layers: Vec<DenseLayer> = (0..depth)
                .map(|l| DenseLayer {
                    weight: init.matrix(width, width, &mut rng).unwrap(),
                    bias: None,
                    activation: if l + 1 == depth { Activation::Identity } else { activation },
                })
                .collect();
            let mut rows =
                |n: usize| -> Vec<Vec<f64>> { (0..n).map(|_| (0..width).map(|_| rng.normal()).collect()).collect() };
            let (x, t) = (rows(batch), rows(batch));
            let g = Dense::new(layers, None).unwrap().gradients(&x, &t, Loss::SquaredError).unwrap();
            for (l, w) in g.weight.iter().enumerate() {
                sums[l] += w.iter().flatten().map(|v| v * v).sum::<f64>();
            }
        }
        for (l, (sum, reported)) in sums.iter().zip(&measured.weight_grad).enumerate() {
            let (reported, oracle) = (reported.log10_mean, (sum / nets as f64).log10());
            assert!((reported - oracle).abs() < 1e-10, "{} layer {}: {reported} vs {oracle}", activation.name(), l + 1);
        }
    }
}

#[test]
fn exploding_locations_match_a_plain_forward_pass() {
    // Redraw the quick sweep's networks and run the forward pass by hand, in f32: the first layer
    // with a non-finite value must be the one the engine's statistics located.
    use scalar::init::Init;
    let config = Config::new(2, true);
    let e = sections::exploding::compute(&config);
    for (i, row) in e.sweep.iter().enumerate() {
        let mut rng = sections::stream_rng(config.seed, Stream::Exploding, i as u64);
        let init = Init::Normal { std: row.gain * (2.0 / e.width as f64).sqrt() };
        let weights: Vec<Vec<Vec<f64>>> =
            (0..e.depth).map(|_| init.matrix(e.width, e.width, &mut rng).unwrap()).collect();
        let x: Vec<f64> = (0..e.batch * e.width).map(|_| rng.normal()).collect();
        let mut first = None;
        for b in 0..e.batch {
            let mut a: Vec<f32> = x[b * e.width..(b + 1) * e.width].iter().map(|&v| v as f32).collect();
            for (l, w) in weights.iter().enumerate() {
                let z: Vec<f32> =
                    w.iter().map(|row| row.iter().zip(&a).map(|(&wi, &ai)| wi as f32 * ai).sum()).collect();
                a = if l + 1 == e.depth { z } else { z.iter().map(|&v| v.max(0.0)).collect() };
                if a.iter().any(|v| !v.is_finite()) {
                    first = Some(first.map_or(l + 1, |f: usize| f.min(l + 1)));
                    break;
                }
            }
        }
        let reported = row.f32.as_ref().filter(|loc| loc.stage == Label(Stage::Forward)).map(|loc| loc.layer);
        assert_eq!(reported, first, "gain {}", row.gain);
    }
    // Clipping by norm leaves a gradient of exactly the threshold's norm, in the same direction.
    let c = &e.clipping;
    let clipped_norm = c.by_norm.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((clipped_norm - sections::exploding::CLIP_NORM).abs() < 1e-9 && (c.cos_norm - 1.0).abs() < 1e-12);
    assert!(c.cos_value < c.cos_norm);
}

#[test]
fn remedies_gradient_ratio_is_the_oracles() {
    // The baseline's first run, rebuilt on the oracle's tape: ‖∂L/∂W_1‖ / ‖∂L/∂W_L‖ at
    // initialisation under binary cross-entropy must match the engine's.
    use scalar::dense::{Dense, DenseLayer, Loss};
    use sections::remedies::{POINTS, WIDTH, variants};
    let config = Config::new(4, true);
    let r = sections::remedies::compute(&config);
    let v = variants()[0];
    let (x, t) = sections::remedies::task(config.seed, 0);
    assert_eq!(x.len(), 2 * POINTS);
    let weights = sections::remedies::initial_weights(config.seed, &v, 0);
    let last = weights.len() - 1;
    assert_eq!(weights[1].len(), WIDTH);
    let layers: Vec<DenseLayer> = weights
        .into_iter()
        .enumerate()
        .map(|(l, weight)| DenseLayer {
            bias: Some(vec![0.0; weight.len()]),
            weight,
            activation: if l == last { Activation::Sigmoid } else { v.activation },
        })
        .collect();
    let input: Vec<Vec<f64>> = x.chunks(2).map(<[f64]>::to_vec).collect();
    let target: Vec<Vec<f64>> = t.iter().map(|&t| vec![t]).collect();
    let g = Dense::new(layers, None).unwrap().gradients(&input, &target, Loss::BinaryCrossEntropy).unwrap();
    let norm = |w: &Vec<Vec<f64>>| w.iter().flatten().map(|v| v * v).sum::<f64>().sqrt();
    let oracle = norm(&g.weight[0]) / norm(&g.weight[g.weight.len() - 1]);
    let engine = r.rows[0].runs[0].initial_grad_ratio.unwrap();
    assert!((engine / oracle - 1.0).abs() < 1e-9, "{engine} vs {oracle}");
}

#[test]
fn the_handwritten_backprop_without_bugs_is_the_oracles_gradient() {
    // Section 6 trains with the hand-written backprop: without a bug it must be the oracle's.
    use report::sections::classic::{AND, INPUTS, XOR};
    use report::sections::handwritten::{Bug, Net};
    use scalar::dense::Loss;
    for (k, (hidden, bias)) in [(0, true), (1, true), (1, false), (2, true), (3, false)].into_iter().enumerate() {
        for task in [AND, XOR] {
            let net = Net::init(
                hidden,
                2,
                bias,
                Bug::None,
                &mut sections::stream_rng(9, Stream::ClassicRuns { task: 0, hidden, bias }, k as u64),
            );
            let (loss, grads) = net.backprop(&INPUTS, &task.targets, Bug::None);
            let input: Vec<Vec<f64>> = INPUTS.iter().map(|x| x.to_vec()).collect();
            let target: Vec<Vec<f64>> = task.targets.iter().map(|&t| vec![t]).collect();
            let oracle = net.to_oracle().gradients(&input, &target, Loss::SquaredError).unwrap();
            let mut expected: Vec<f64> = oracle.weight.iter().flatten().flatten().copied().collect();
            if bias {
                expected.extend(oracle.bias.iter().flatten());
            }
            assert!((loss - oracle.loss).abs() < 1e-15);
            for (i, (g, e)) in grads.iter().zip(&expected).enumerate() {
                assert!(
                    (g - e).abs() <= 1e-15 + 1e-12 * e.abs(),
                    "{} H={hidden} {:?}: {g} vs {e}",
                    task.name,
                    net.param(i)
                );
            }
        }
    }
    // The constant predictor's losses the plateau is measured against: AND predicts 1/4 and
    // misses by 1/4 three times and 3/4 once, (3/16 + 9/16)/4 = 3/16; XOR predicts 1/2, missing by 1/2.
    assert_eq!(AND.constant_loss(), 3.0 / 16.0);
    assert_eq!(XOR.constant_loss(), 0.25);
}

/// Two configurations that shared a stream id would draw the same numbers: every stream the
/// report draws from, over ranges wider than its sections use, has an id of its own.
#[test]
fn every_stream_has_an_id_of_its_own() {
    use report::sections::decay::{ACTIVATIONS, SHORTCUTS};
    use report::sections::handwritten::Bug;
    let mut streams = vec![Stream::Exploding, Stream::RemediesData, Stream::RateProbe];
    for activation in 0..ACTIVATIONS.len() {
        for shortcut in 0..SHORTCUTS.len() {
            streams.push(Stream::Decay { activation, shortcut });
            for live in [false, true] {
                streams.extend((0..3).map(|quantity| Stream::DecayBootstrap { activation, shortcut, live, quantity }));
            }
        }
    }
    streams.extend((1..=64).map(|depth| Stream::DecaySurvival { depth }));
    streams.extend((0..64).map(|scheme| Stream::DenseInit { scheme }));
    streams.extend((0..64).map(|scheme| Stream::DenseInitProbe { scheme }));
    streams.extend((0..64).map(|config| Stream::DenseInitBootstrap { config }));
    for width in 1..=64 {
        streams.extend((0..64).map(|hidden| Stream::RemediesWeights { hidden, width }));
    }
    for task in 0..2 {
        for hidden in 0..=3 {
            streams.extend([false, true].map(|bias| Stream::ClassicRuns { task, hidden, bias }));
        }
    }
    streams.extend((0..Bug::ALL.len()).map(|bug| Stream::ClassicBug { bug }));
    streams.extend((0..64).map(|gain| Stream::ExplodingSpread { gain }));
    streams.extend((0..64).map(|gain| Stream::ExplodingBootstrap { gain }));
    streams.extend((0..2).map(|weights| Stream::Isometry { weights }));
    let ids: std::collections::HashSet<u64> = streams.iter().map(|s| s.id()).collect();
    assert_eq!(ids.len(), streams.len(), "two streams share an id");
}
