//! The dense engine on networks with a layer or RMS normalisation (`Dense::with_norms`: of a
//! layer's input or of its Linear output, with or without γ and β): its gradients against the
//! oracle's tape (every weight, bias, γ and β; in f64, and network-wide in f32); its diagnosis against the oracle's
//! `Dense::magnitudes` (the textbook backward in `Ext`): every layer's weight, bias and ∂L/∂z
//! norms and its normalisation's γ and β norms, in range and past `f64`'s; the same bits on one
//! and two threads; and what the engine refuses.

use super::dense::{F32_MIN_LOSS_RATIO, NetCase, TINY, general_case_strategy, smooth_case_strategy};
use super::diagnose::{DEEP_LOG10_TOL, deep_sigmoid, engine_net, seed_at, seed_of};
use proptest::prelude::*;
use scalar::dense as oracle;
use vectorised::dense::{
    Batch, Dense, Diagnosis, LayerNorm, Loss, NormAt, NormKind, Normalisation, SeedAt, Workspace, flatten_rows,
};
use vectorised::train::{Optimizer, TrainConfig, Trainer};
use vectorised::{Real, Skip};

/// One layer's normalisation in plain terms: where, γ, β, ε, and whether it centres (layer
/// normalisation) or not (RMS).
type NormCase = (NormAt, Option<Vec<f64>>, Option<Vec<f64>>, f64, NormKind);

/// The engine's normalisations of a case, in `T` (γ, β and ε rounded to it).
fn engine_norms<T: Real>(norms: &[Option<NormCase>]) -> Vec<Option<LayerNorm<T>>> {
    let cast = |v: Option<Vec<f64>>| v.map(|v| v.into_iter().map(T::from_f64).collect());
    let norm = |(at, g, b, eps, kind): NormCase| {
        LayerNorm::new(cast(g), cast(b), T::from_f64(eps), at).unwrap().with_kind(kind)
    };
    norms.iter().map(|n| n.clone().map(norm)).collect()
}

fn oracle_norms(norms: &[Option<NormCase>]) -> Vec<Option<oracle::LayerNorm>> {
    let at = |at| match at {
        NormAt::Input => oracle::NormAt::Input,
        NormAt::PreActivation => oracle::NormAt::PreActivation,
    };
    let kind = |kind| match kind {
        NormKind::Layer => oracle::NormKind::Layer,
        NormKind::Rms => oracle::NormKind::Rms,
    };
    let norm = |(a, weight, bias, eps, k): NormCase| oracle::LayerNorm { weight, bias, eps, at: at(a), kind: kind(k) };
    norms.iter().map(|n| n.clone().map(norm)).collect()
}

/// The engine's diagnosis of a case with `norms`, ν = B.
fn diagnose(case: &NetCase, norms: &[Option<NormCase>], ws: &mut Workspace<f64>) -> Diagnosis {
    let net = engine_net(case).with_norms(engine_norms(norms)).unwrap();
    let b = case.input.len();
    let x = flatten_rows("input", &case.input, case.n_input).unwrap();
    let t = flatten_rows("target", &case.target, net.output_width()).unwrap();
    let (loss, n_out) = (case.loss, net.output_width());
    let seed = |y: &[f64], s: &mut [f64]| {
        for ((y, t), s) in y.chunks(n_out).zip(t.chunks(n_out)).zip(s.chunks_mut(n_out)) {
            seed_of(loss, y, t, s);
        }
    };
    net.diagnose(Batch::new(&x, b, case.n_input).unwrap(), seed, seed_at(loss), b as f64, ws).unwrap().clone()
}

/// The oracle's network of a case with `norms`.
fn oracle_net(case: &NetCase, norms: &[Option<NormCase>]) -> oracle::Dense {
    case.oracle_net().with_norms(oracle_norms(norms)).unwrap()
}

/// The oracle's magnitudes of a case with `norms`, ν = B, seeded from its own outputs.
fn magnitudes(case: &NetCase, norms: &[Option<NormCase>]) -> Vec<oracle::LayerMagnitudes> {
    let net = oracle_net(case, norms);
    let y = net.outputs(&case.input).unwrap();
    let at = match seed_at(case.loss) {
        SeedAt::Output => oracle::SeedAt::Output,
        SeedAt::Logit => oracle::SeedAt::Logit,
    };
    let seed: Vec<Vec<f64>> = (y.iter().zip(&case.target))
        .map(|(y, t)| {
            let mut s = vec![0.0; y.len()];
            seed_of(case.loss, y, t, &mut s);
            s
        })
        .collect();
    net.magnitudes(&case.input, &seed, at, case.input.len() as f64).unwrap()
}

/// A normalisation for each layer of `case` or none, drawn: its place, γ and β (each given or
/// not), ε from 10⁻³ to 1 (a normalisation's rounding grows like 1/√ε where a row is nearly
/// constant; PyTorch's 10⁻⁵ would need a looser tolerance than the rest of the suite's).
fn with_norms(case: NetCase) -> impl Strategy<Value = (NetCase, Vec<Option<NormCase>>)> {
    let widths: Vec<(usize, usize)> = (case.layers.iter())
        .scan(case.n_input, |n_in, (w, _, _)| {
            let pair = (*n_in, w.len());
            *n_in = w.len();
            Some(pair)
        })
        .collect();
    let norms: Vec<_> = widths
        .into_iter()
        .map(|(n_in, n_out)| {
            let at = prop_oneof![Just(NormAt::Input), Just(NormAt::PreActivation)];
            let kind = prop_oneof![Just(NormKind::Layer), Just(NormKind::Rms)];
            let norm = (at, kind).prop_flat_map(move |(at, kind)| {
                let width = if at == NormAt::Input { n_in } else { n_out };
                (
                    Just(at),
                    proptest::option::of(proptest::collection::vec(-2.0f64..2.0, width)),
                    proptest::option::of(proptest::collection::vec(-1.0f64..1.0, width)),
                    (-3.0f64..0.0).prop_map(|e| 10f64.powf(e)),
                    Just(kind),
                )
            });
            proptest::option::weighted(0.6, norm)
        })
        .collect();
    (Just(case), norms)
}

/// Per layer, the largest entry of Σ_b |∂L_b/∂θ|/B over its weights, bias, γ and β: the scale of
/// its terms over the batch, which the sums over samples may cancel (∂L/∂β of a normalisation
/// of one value, whose x̂ is 0, is such a sum and nothing else).
fn batch_term_scales(case: &NetCase, norms: &[Option<NormCase>]) -> Vec<f64> {
    let net = oracle_net(case, norms);
    let loss = super::to_oracle_loss(case.loss);
    let mut scales = vec![0.0f64; case.layers.len()];
    let mut sums: Option<Vec<Vec<f64>>> = None;
    for (x, t) in case.input.iter().zip(&case.target) {
        let g = net.gradients(std::slice::from_ref(x), std::slice::from_ref(t), loss).unwrap();
        let entries: Vec<Vec<f64>> = (0..case.layers.len())
            .map(|l| {
                let norm = g.norm[l].iter().flat_map(|n| n.weight.iter().chain(&n.bias));
                g.weight[l].iter().flatten().chain(&g.bias[l]).chain(norm).map(|v| v.abs()).collect()
            })
            .collect();
        match &mut sums {
            None => sums = Some(entries),
            Some(s) => s.iter_mut().flatten().zip(entries.iter().flatten()).for_each(|(s, v)| *s += v),
        }
    }
    let b = case.input.len() as f64;
    for (scale, layer) in scales.iter_mut().zip(sums.unwrap_or_default()) {
        *scale = layer.iter().fold(0.0f64, |m, &v| m.max(v / b));
    }
    scales
}

/// Per-entry error of the engine's normalised gradients against the oracle, relative to
/// [`batch_term_scales`]. The two differ in their products' roundings (`F64_NORMWISE_TOL`, 10⁻¹¹,
/// without normalisations), and a normalisation passes a difference δx in its input on as about
/// r·δx in x̂ and r²·δx in its backward factors, r = 1/√(v + ε) up to 1/√ε (31.6 at the drawn
/// ε ≥ 10⁻³); through several normalised layers those factors multiply. A wrong formula, a
/// missing term or the wrong operand is off by O(1) (`docs/derivation.md` §9's terms are each of
/// the gradient's order), far outside this.
const NORMALISED_TOL: f64 = 1e-8;

/// |10^got − 10^want| within [`NORMALISED_TOL`] of `scale` ([`batch_term_scales`]), for a norm
/// of `count` entries.
fn close_norm(got: Option<f64>, want: f64, count: usize, scale: f64) -> bool {
    let Some(got) = got else { return false };
    let bound = NORMALISED_TOL * (count as f64).sqrt() * scale + 1e-30;
    (10f64.powf(got) - 10f64.powf(want)).abs() <= bound
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn diagnosis_of_normalised_networks_agrees_with_the_oracle(
        (case, norms) in general_case_strategy().prop_flat_map(with_norms)
    ) {
        let got = diagnose(&case, &norms, &mut Workspace::new());
        let want = magnitudes(&case, &norms);
        let scales = batch_term_scales(&case, &norms);
        prop_assert_eq!(got.first_non_finite, None);
        for (l, (g, w)) in got.layers.iter().zip(&want).enumerate() {
            let layer_max = scales[l];
            let net = &case.layers[l].0;
            let (n_out, n_in) = (net.len(), net[0].len());
            let field = |name: &str| format!("layer {} {name}", l + 1);
            prop_assert!(close_norm(g.log10_weight_grad_norm, w.log10_weight_grad_norm, n_in * n_out, layer_max),
                "{}: {:?} vs {}", field("weight"), g.log10_weight_grad_norm, w.log10_weight_grad_norm);
            prop_assert!(close_norm(g.log10_bias_grad_norm, w.log10_bias_grad_norm, n_out, layer_max),
                "{}: {:?} vs {}", field("bias"), g.log10_bias_grad_norm, w.log10_bias_grad_norm);
            let delta_scale = 10f64.powf(w.log10_delta_norm);
            prop_assert!(close_norm(g.log10_delta_norm, w.log10_delta_norm, n_out * case.input.len(), delta_scale),
                "{}: {:?} vs {}", field("delta"), g.log10_delta_norm, w.log10_delta_norm);
            prop_assert!((g.activation_rms - w.activation_rms).abs() <= 1e-12 * (1.0 + w.activation_rms));
            prop_assert!((g.mean_square_derivative - w.mean_square_derivative).abs() <= 1e-12 * (1.0 + w.mean_square_derivative));
            match (&norms[l], w.norm) {
                (Some(n), Some(m)) => {
                    let width = if n.0 == NormAt::Input { n_in } else { n_out };
                    prop_assert!(close_norm(g.log10_norm_weight_grad_norm, m.log10_weight_grad_norm, width, layer_max),
                        "{}: {:?} vs {}", field("γ"), g.log10_norm_weight_grad_norm, m.log10_weight_grad_norm);
                    prop_assert!(close_norm(g.log10_norm_bias_grad_norm, m.log10_bias_grad_norm, width, layer_max),
                        "{}: {:?} vs {}", field("β"), g.log10_norm_bias_grad_norm, m.log10_bias_grad_norm);
                }
                (None, None) => {
                    prop_assert_eq!((g.log10_norm_weight_grad_norm, g.log10_norm_bias_grad_norm), (None, None));
                }
                other => prop_assert!(false, "{}: a normalisation in one only: {:?}", field("norm"), other),
            }
        }
    }
}

/// The engine's gradients of a case with `norms` (ν = B).
fn gradients(case: &NetCase, norms: &[Option<NormCase>], ws: &mut Workspace<f64>) -> vectorised::dense::Gradients<f64> {
    let net = engine_net(case).with_norms(engine_norms(norms)).unwrap();
    let b = case.input.len();
    let x = flatten_rows("input", &case.input, case.n_input).unwrap();
    let t = flatten_rows("target", &case.target, net.output_width()).unwrap();
    let (input, target) = (Batch::new(&x, b, case.n_input).unwrap(), Batch::new(&t, b, net.output_width()).unwrap());
    net.gradients(input, target, case.loss, Normalisation::PerSample, ws).unwrap().clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Every entry of ∂L/∂W, ∂L/∂b, ∂L/∂γ and ∂L/∂β within [`NORMALISED_TOL`] of
    /// [`batch_term_scales`], with statistics on and off (off, a product stores Δ = G ⊙ f′ at once
    /// where no normalisation of the input stands between).
    #[test]
    fn gradients_of_normalised_networks_agree_with_the_oracle(
        (case, norms) in general_case_strategy().prop_flat_map(with_norms),
        stats in any::<bool>(),
    ) {
        let mut ws = Workspace::new();
        ws.set_stats(stats.then_some(0.01)).unwrap();
        let got = gradients(&case, &norms, &mut ws);
        let want = oracle_net(&case, &norms).gradients(&case.input, &case.target, super::to_oracle_loss(case.loss)).unwrap();
        let scales = batch_term_scales(&case, &norms);
        let close = |a: f64, b: f64, scale: f64| (a - b).abs() <= NORMALISED_TOL * scale + 1e-300;
        prop_assert!(close(got.loss, want.loss, want.loss.abs().max(1.0)), "loss {} vs {}", got.loss, want.loss);
        for (l, &scale) in scales.iter().enumerate() {
            let w = super::dense::oracle_weight_in_out(&want, l);
            for (i, (&g, &o)) in got.weight[l].iter().zip(&w).enumerate() {
                prop_assert!(close(g, o, scale), "layer {} weight {}: {} vs {}", l + 1, i, g, o);
            }
            for (j, (&g, &o)) in got.bias[l].iter().zip(&want.bias[l]).enumerate() {
                prop_assert!(close(g, o, scale), "layer {} bias {}: {} vs {}", l + 1, j, g, o);
            }
            match &want.norm[l] {
                Some(n) => {
                    prop_assert_eq!((got.norm_weight[l].len(), got.norm_bias[l].len()), (n.weight.len(), n.bias.len()));
                    for (i, (&g, &o)) in got.norm_weight[l].iter().zip(&n.weight).enumerate() {
                        prop_assert!(close(g, o, scale), "layer {} γ {}: {} vs {}", l + 1, i, g, o);
                    }
                    for (i, (&g, &o)) in got.norm_bias[l].iter().zip(&n.bias).enumerate() {
                        prop_assert!(close(g, o, scale), "layer {} β {}: {} vs {}", l + 1, i, g, o);
                    }
                }
                None => prop_assert!(got.norm_weight.get(l).is_none_or(Vec::is_empty)),
            }
        }
    }
}

/// f32 against the f64 oracle, relative to the largest of [`batch_term_scales`] over the network
/// (as `dense.rs`'s f32 comparison: where a layer's gradients are small differences of larger
/// terms, that layer's own scale is none for f32's rounding), on activations without a kink (f32
/// and f64 may put a z near one on either side) and with near-zero-loss cases set aside (there the
/// seed 2(y − t) is a difference of nearly equal f32 numbers). The inputs, weights, γ, β and ε
/// are themselves rounded to f32 (relative 6·10⁻⁸), and each normalisation amplifies such
/// differences by up to r² = 1/ε (10³ at the drawn ε ≥ 10⁻³; [`NORMALISED_TOL`] is 10³ times
/// f64's plain tolerance for that reason): a tolerance that scaled f32's plain 10⁻³ by it would
/// be no test. This one was measured instead (`F32_NORMALISED_TOL`'s comment): it holds what the
/// f32 paths have of their own — the f32 kernels' lane counts and block sizes, the casts between
/// f32 storage and the rows' arithmetic — to their f64 twins, which the f64 property above holds
/// to the oracle's formula at 10⁻⁸.
fn f32_normalised_error(case: &NetCase, norms: &[Option<NormCase>]) -> Option<f64> {
    let want = oracle_net(case, norms).gradients(&case.input, &case.target, super::to_oracle_loss(case.loss)).unwrap();
    let max_y = want.output.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    if want.loss < F32_MIN_LOSS_RATIO * (1.0 + max_y * max_y) {
        return None;
    }
    let got = case.fast_normalised::<f32>(engine_norms(norms), &mut Workspace::new());
    let scale = batch_term_scales(case, norms).into_iter().fold(0.0f64, f64::max);
    let mut worst = 0.0f64;
    let mut note = |g: f32, o: f64| worst = worst.max(((g as f64 - o).abs() - TINY).max(0.0) / scale);
    for l in 0..case.layers.len() {
        let w = super::dense::oracle_weight_in_out(&want, l);
        got.weight[l].iter().zip(&w).for_each(|(&g, &o)| note(g, o));
        got.bias[l].iter().zip(&want.bias[l]).for_each(|(&g, &o)| note(g, o));
        if let Some(n) = &want.norm[l] {
            got.norm_weight[l].iter().zip(&n.weight).for_each(|(&g, &o)| note(g, o));
            got.norm_bias[l].iter().zip(&n.bias).for_each(|(&g, &o)| note(g, o));
        }
    }
    Some(worst)
}

/// The tolerance of [`f32_normalised_error`]: 30 times the largest error of 20,000 drawn cases
/// (3·10⁻⁴, with ε of 0.0016 and 0.01 in a six-layer network; the median was 10⁻⁷). A term off
/// by a tenth (x̂·(ĝ·x̂) scaled by 0.9) failed it at once, by 0.1.
const F32_NORMALISED_TOL: f64 = 1e-2;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn f32_gradients_of_normalised_networks_agree_with_the_oracle_networkwide(
        (case, norms) in smooth_case_strategy().prop_flat_map(with_norms)
    ) {
        let error = f32_normalised_error(&case, &norms);
        prop_assume!(error.is_some());
        prop_assert!(error.unwrap() <= F32_NORMALISED_TOL, "{} of the largest batch-term scale", error.unwrap());
    }
}

/// Every layer of [`deep_sigmoid`] normalised (alternately its input and its Linear output, every
/// third one by RMS, with γ of ¼ and β of 0.1): the normalised z stay at unit scale, where σ′ ≤ ¼ and the weights are
/// below 1, so the lowest layers' gradients are past `f64`'s range, and still the oracle's.
#[test]
fn deep_normalised_gradients_far_below_f64_are_the_oracles_in_log10() {
    let case = deep_sigmoid(700, 4, 3, None, Skip::PreActivation, 11);
    let norms: Vec<Option<NormCase>> = (0..700)
        .map(|l| {
            let at = if l % 2 == 0 { NormAt::Input } else { NormAt::PreActivation };
            let kind = if l % 3 == 0 { NormKind::Rms } else { NormKind::Layer };
            Some((at, Some(vec![0.25; 4]), Some(vec![0.1; 4]), 1e-5, kind))
        })
        .collect();
    let got = diagnose(&case, &norms, &mut Workspace::new());
    let want = magnitudes(&case, &norms);
    assert!(want[0].log10_weight_grad_norm < -330.0, "{}", want[0].log10_weight_grad_norm);
    for (l, (g, w)) in got.layers.iter().zip(&want).enumerate() {
        let n = w.norm.unwrap();
        for (name, g, w) in [
            ("weight", g.log10_weight_grad_norm, w.log10_weight_grad_norm),
            ("bias", g.log10_bias_grad_norm, w.log10_bias_grad_norm),
            ("delta", g.log10_delta_norm, w.log10_delta_norm),
            ("γ", g.log10_norm_weight_grad_norm, n.log10_weight_grad_norm),
            ("β", g.log10_norm_bias_grad_norm, n.log10_bias_grad_norm),
        ] {
            let g = g.unwrap();
            assert!((g - w).abs() <= DEEP_LOG10_TOL * w.abs().max(1.0), "layer {} {name}: {g} vs {w}", l + 1);
        }
    }
}

/// Layers wide enough that their products and normalisations run in blocks on the pool.
#[test]
fn normalised_diagnosis_is_the_same_on_one_and_two_threads() {
    let case = deep_sigmoid(12, 96, 70, Some(3), Skip::Identity, 3);
    let norms: Vec<Option<NormCase>> = (0..12)
        .map(|l| match l % 3 {
            0 => Some((NormAt::PreActivation, Some(vec![1.5; 96]), None, 1e-5, NormKind::Layer)),
            1 => Some((NormAt::Input, None, Some(vec![0.2; 96]), 1e-5, NormKind::Rms)),
            _ => None,
        })
        .collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            (diagnose(&case, &norms, &mut Workspace::new()), gradients(&case, &norms, &mut Workspace::new()))
        })
    };
    let (one, two) = (run(1), run(2));
    assert!(one.0.layers.iter().all(|l| l.log10_weight_grad_norm.is_some_and(f64::is_finite)));
    assert_eq!(one, two);
}

/// The trainer, which would leave γ and β where they are, refuses a normalised network;
/// `with_norms` refuses a count other than the layers', and γ or β of another width than what
/// they normalise.
#[test]
fn what_the_engine_refuses_of_normalisations() {
    let case = deep_sigmoid(2, 3, 2, None, Skip::PreActivation, 1);
    let norm = |at, width| Some(LayerNorm::new(Some(vec![1.0; width]), None, 1e-5, at).unwrap());
    let net: Dense<f64> = engine_net(&case).with_norms(vec![None, norm(NormAt::Input, 3)]).unwrap();
    let x = flatten_rows("input", &case.input, 3).unwrap();
    let t = flatten_rows("target", &case.target, 3).unwrap();
    let (input, target) = (Batch::new(&x, 2, 3).unwrap(), Batch::new(&t, 2, 3).unwrap());
    let config = TrainConfig::new(0.1, Optimizer::Sgd { momentum: 0.0 }, Loss::SquaredError);
    let Err(refused) = Trainer::new(&net, config) else { panic!("a normalised network is refused") };
    assert!(refused.to_string().contains("normalises a layer"), "{refused}");
    let mut plain = engine_net(&case);
    let mut trainer = Trainer::new(&plain, config).unwrap();
    assert!(trainer.step(&mut plain, input, target).is_ok());
    let mut normed = net.clone();
    assert!(trainer.step(&mut normed, input, target).unwrap_err().to_string().contains("normalises a layer"));
    assert!(engine_net(&case).with_norms(vec![None]).is_err());
    let wrong = engine_net(&case).with_norms(vec![norm(NormAt::PreActivation, 2), None]).unwrap_err();
    assert!(wrong.to_string().contains("layer 1"), "{wrong}");
    assert!(LayerNorm::new(None, Some(vec![f64::NAN]), 1e-5, NormAt::Input).is_err());
    assert!(LayerNorm::<f64>::new(None, None, 0.0, NormAt::Input).is_err());
}
