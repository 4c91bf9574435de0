//! Batched chains: determinism across thread counts and batch sizes, layouts, boundary errors,
//! the vectorisable exp against libm, extended magnitudes (agreement with the `scalar` oracle is
//! `chain_oracle.rs`).

use proptest::prelude::*;
use vectorised::chain::chain_chunk;
use vectorised::math::exp::{
    exp_f32, exp_f64, exp_nonpositive_f32, exp_nonpositive_f64, recip_1_to_2_f64, sigmoid_parts, sigmoid_slice,
};
use vectorised::workload::{normal, uniform};
use vectorised::{
    Activation, ChainBatch, ChainGradients, ChainWorkspace, Error, GradientLayout, Magnitudes, Real, Simd, Skip,
};

/// Max error of [`exp_f64`] and [`exp_nonpositive_f64`] against libm's `exp`, in ulps of the
/// result, over normal results. The polynomial is accurate to 0.14 ulp before rounding; the FMA
/// evaluation and the final `1 + s` add about half an ulp, and libm is itself within an ulp of
/// the true value, so the two can round to neighbouring numbers but no further. Measured over
/// 4·10⁶ arguments in `exp_f64_is_within_named_ulps_of_libm`: 1.
const EXP_F64_MAX_ULPS: u64 = 1;
/// The same for [`exp_f32`] / [`exp_nonpositive_f32`] against `f32::exp` (fit 0.17 ulp of
/// `f32`; measured: 1).
const EXP_F32_MAX_ULPS: u64 = 1;
/// Max error of the division-free 1/d, d ∈ [1, 2], against the correctly rounded `1.0 / d`
/// (an `f32` seed and two Newton steps leave a relative error far below 2⁻⁵³ before the last
/// rounding, so the result is one of the two neighbours of 1/d). Measured: 0 (always the correctly rounded one).
const RECIP_MAX_ULPS: u64 = 1;

#[test]
fn division_free_reciprocal_is_within_named_ulps() {
    let mut worst = 0;
    for i in 0..=2_000_000u64 {
        let d = 1.0 + i as f64 / 2_000_000.0;
        for d in [d, 1.0 + vectorised::workload::uniform_at(12, i)] {
            worst = worst.max(ulps_f64(recip_1_to_2_f64(d), 1.0 / d));
        }
    }
    eprintln!("recip: max {worst} ulps");
    assert!(worst <= RECIP_MAX_ULPS, "max {worst} ulps");
    assert!(recip_1_to_2_f64(f64::NAN).is_nan());
}

pub(super) fn ulps_f64(a: f64, b: f64) -> u64 {
    if a == b {
        return 0;
    }
    let (a, b) = (a.to_bits() as i64, b.to_bits() as i64);
    (a - b).unsigned_abs()
}

fn ulps_f32(a: f32, b: f32) -> u64 {
    if a == b {
        return 0;
    }
    let (a, b) = (a.to_bits() as i32, b.to_bits() as i32);
    (a as i64 - b as i64).unsigned_abs()
}

#[test]
fn exp_f64_is_within_named_ulps_of_libm() {
    let mut worst = 0;
    let n = 2_000_000u64;
    for i in 0..n {
        // A sweep of [−745, 709.7] plus random points near 0.
        let x = -745.0 + 1454.7 * (i as f64 / n as f64);
        for x in [x, (vectorised::workload::uniform_at(11, i) - 0.5) * 2.0] {
            let (got, want) = (exp_f64(x), x.exp());
            if want.is_normal() {
                worst = worst.max(ulps_f64(got, want));
                if x <= 0.0 {
                    worst = worst.max(ulps_f64(exp_nonpositive_f64(x), want));
                }
            }
        }
    }
    eprintln!("exp_f64: max {worst} ulps against libm");
    assert!(worst <= EXP_F64_MAX_ULPS, "max {worst} ulps");
}

#[test]
fn exp_f32_is_within_named_ulps_of_libm() {
    let mut worst = 0;
    let n = 2_000_000u64;
    for i in 0..n {
        let x = (-87.0 + 175.0 * (i as f64 / n as f64)) as f32;
        let (got, want) = (exp_f32(x), x.exp());
        if want.is_normal() {
            worst = worst.max(ulps_f32(got, want));
            if x <= 0.0 {
                worst = worst.max(ulps_f32(exp_nonpositive_f32(x), want));
            }
        }
    }
    eprintln!("exp_f32: max {worst} ulps against libm");
    assert!(worst <= EXP_F32_MAX_ULPS, "max {worst} ulps");
}

#[test]
fn exp_handles_the_edges() {
    assert_eq!(exp_f64(0.0), 1.0);
    assert_eq!(exp_f64(-1e300), 0.0);
    assert_eq!(exp_f64(f64::NEG_INFINITY), 0.0);
    assert_eq!(exp_f64(-746.0), 0.0);
    assert_eq!(exp_f64(1e300), f64::INFINITY);
    assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
    assert_eq!(exp_f64(710.0), f64::INFINITY);
    assert!(exp_f64(f64::NAN).is_nan());
    assert!(exp_f64(709.7).is_finite());
    // Subnormal results are scaled in two exact steps and rounded once: within 1 subnormal ulp.
    for x in [-708.5, -720.0, -730.0, -740.0, -744.0, -745.0] {
        let (got, want) = (exp_f64(x), x.exp());
        assert!(got.is_subnormal() && ulps_f64(got, want) <= 1, "{x}: {got:e} vs {want:e}");
    }
    for x in [-708.5, -720.0, -740.0, -745.0] {
        let (got, want) = (exp_nonpositive_f64(x), x.exp());
        assert!(ulps_f64(got, want) <= 1, "{x}: {got:e} vs {want:e}");
    }
    assert_eq!(exp_nonpositive_f64(-1e300), 0.0);
    assert_eq!(exp_nonpositive_f64(f64::NEG_INFINITY), 0.0);
    assert_eq!(exp_nonpositive_f64(-0.0), 1.0);
    assert!(exp_nonpositive_f64(f64::NAN).is_nan());
    assert!(exp_nonpositive_f32(f32::NAN).is_nan());
    assert_eq!(exp_nonpositive_f32(-1e30), 0.0);
    assert_eq!(exp_f32(-104.0), 0.0);
    assert_eq!(exp_f32(89.0), f32::INFINITY);
    assert!(exp_f32(f32::NAN).is_nan());
    for x in [-88.0f32, -95.0, -100.0, -103.0] {
        let (got, want) = (exp_f32(x), x.exp());
        assert!(ulps_f32(got, want) <= 1, "{x}: {got:e} vs {want:e}");
    }
}

/// A batch with every feature switched on or off, from the seeded generator.
pub(super) struct Case<T> {
    pub(super) batch: ChainBatch<T>,
    pub(super) inputs: Vec<T>,
    pub(super) targets: Vec<T>,
}

pub(super) fn seeded_case<T: Real>(
    n_chains: usize,
    activations: Vec<Activation>,
    biased: bool,
    shortcut: Option<usize>,
) -> Case<T> {
    let d = activations.len();
    let cast = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect::<Vec<T>>();
    let mut batch = ChainBatch::new(n_chains, cast(normal(1, n_chains * d)), activations).unwrap();
    if biased {
        batch = batch.with_biases(cast(normal(2, n_chains * d).iter().map(|b| 0.3 * b).collect())).unwrap();
    }
    if let Some(span) = shortcut {
        batch = batch.with_shortcut(span).unwrap();
    }
    Case { batch, inputs: cast(normal(3, n_chains)), targets: cast(uniform(4, n_chains)) }
}

/// `case` with its shortcut joining in `skip`'s form.
pub(super) fn with_skip<T: Real>(case: Case<T>, skip: Skip) -> Case<T> {
    Case { batch: case.batch.with_skip(skip), ..case }
}

fn mixed_activations(d: usize) -> Vec<Activation> {
    let all = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.125 },
        Activation::Softplus,
        Activation::Identity,
    ];
    (0..d).map(|l| all[l % all.len()]).collect()
}

pub(super) fn bits<T: Real>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().to_bits()).collect()
}

pub(super) fn run_on<T: Real>(case: &Case<T>, threads: usize, magnitudes: Magnitudes) -> ChainGradients<T> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| case.batch.gradients(&case.inputs, &case.targets, magnitudes).unwrap())
}

/// Batch sizes that do and do not divide the chunk size.
fn edge_sizes() -> [usize; 9] {
    let c = chain_chunk::<f32>().max(chain_chunk::<f64>());
    let c64 = chain_chunk::<f64>();
    // Both types' chunk edges (f64's chunk divides f32's).
    [0, 1, c64 - 1, c64, c64 + 1, c - 1, c, c + 1, 7 * c + 13]
}

fn assert_same_bits<T: Real>(a: &ChainGradients<T>, b: &ChainGradients<T>, what: &str) {
    assert_eq!(bits(&a.weight), bits(&b.weight), "{what}: weight");
    assert_eq!(bits(&a.bias), bits(&b.bias), "{what}: bias");
    assert_eq!(bits(&a.input), bits(&b.input), "{what}: input");
    assert_eq!(bits(&a.loss), bits(&b.loss), "{what}: loss");
    assert_eq!(a.total_loss().to_f64().to_bits(), b.total_loss().to_f64().to_bits(), "{what}: total loss");
    let scaled = |g: &ChainGradients<T>| {
        g.weight_scaled.iter().chain(&g.bias_scaled).map(|s| (s.mantissa().to_bits(), s.exponent())).collect::<Vec<_>>()
    };
    assert_eq!(scaled(a), scaled(b), "{what}: scaled");
}

fn same_bits_on_1_2_and_7_threads<T: Real>() {
    for n in edge_sizes() {
        for (biased, shortcut, skip) in
            [(false, None, Skip::PreActivation), (true, Some(3), Skip::PreActivation), (true, Some(3), Skip::Identity)]
        {
            for acts in [vec![Activation::Sigmoid; 9], mixed_activations(9)] {
                let case = with_skip(seeded_case::<T>(n, acts, biased, shortcut), skip);
                for magnitudes in [Magnitudes::Plain, Magnitudes::Extended] {
                    let one = run_on(&case, 1, magnitudes);
                    assert_eq!(one.weight.len(), n * 9);
                    for threads in [2, 7] {
                        let many = run_on(&case, threads, magnitudes);
                        assert_same_bits(&one, &many, &format!("n={n} threads={threads} {skip:?}"));
                    }
                }
            }
        }
    }
}

/// The slice kernel (at every SIMD level the CPU has) and the chains' sigmoid layers (two passes
/// in `f64`, one in `f32`) give exactly the bits of the scalar `sigmoid_parts`, edges included.
fn sigmoid_kernels_give_the_scalar_bits<T: Real>() {
    let mut z: Vec<T> = [0.0, -0.0, 1e-310, -1e-30, 0.5, -0.5, 37.0, -37.0, 40.0, -745.0, 800.0, -800.0]
        .into_iter()
        .chain((0..2000).map(|i| (i as f64 - 1000.0) * 0.0173))
        .map(T::from_f64)
        .collect();
    z.push(T::from_f64(f64::NAN));
    for simd in Simd::available() {
        let (mut value, mut slope) = (z.clone(), vec![T::ZERO; z.len()]);
        sigmoid_slice(simd, &mut value, &mut slope);
        for ((&z, &v), &d) in z.iter().zip(&value).zip(&slope) {
            let (want_v, want_d) = sigmoid_parts(z);
            assert_eq!(bits(&[v, d]), bits(&[want_v, want_d]), "σ and σ′ at z = {} ({})", z.to_f64(), simd.name());
        }
    }

    // Depth 2, no bias, no shortcut: both layers take the chains' fused sigmoid path; blocks
    // of every size a batch can have (two whole blocks and a partial one).
    let n = 2 * chain_chunk::<T>() + 5;
    let case = seeded_case::<T>(n, vec![Activation::Sigmoid; 2], false, None);
    let got = run_on(&case, 1, Magnitudes::Plain);
    let (w, two) = (case.batch.weights(), T::from_f64(2.0));
    for s in 0..n {
        let (x, t) = (case.inputs[s], case.targets[s]);
        let (a1, f1) = sigmoid_parts(w[s] * x);
        let (y, f2) = sigmoid_parts(w[n + s] * a1);
        let d2 = f2 * (two * (y - t));
        let d1 = f1 * (d2 * w[n + s]);
        let want = [y, d1 * x, d2 * a1];
        assert_eq!(bits(&[got.output[s], got.weight_at(0, s), got.weight_at(1, s)]), bits(&want), "chain {s}");
    }
}

#[test]
fn sigmoid_kernels_give_the_scalar_bits_f64() {
    sigmoid_kernels_give_the_scalar_bits::<f64>();
}

#[test]
fn sigmoid_kernels_give_the_scalar_bits_f32() {
    sigmoid_kernels_give_the_scalar_bits::<f32>();
}

#[test]
fn gradients_have_the_same_bits_on_1_2_and_7_threads_f64() {
    same_bits_on_1_2_and_7_threads::<f64>();
}

#[test]
fn gradients_have_the_same_bits_on_1_2_and_7_threads_f32() {
    same_bits_on_1_2_and_7_threads::<f32>();
}

#[test]
fn every_output_element_is_overwritten() {
    for (n, skip) in edge_sizes().into_iter().flat_map(|n| [(n, Skip::PreActivation), (n, Skip::Identity)]) {
        let case = with_skip(seeded_case::<f64>(n, mixed_activations(7), true, Some(2)), skip);
        let clean = run_on(&case, 2, Magnitudes::Extended);
        // Poison a reused output and workspace, then recompute into them.
        let mut out = clean.clone();
        for v in
            out.weight.iter_mut().chain(&mut out.bias).chain(&mut out.input).chain(&mut out.loss).chain(&mut out.output)
        {
            *v = f64::NAN;
        }
        for s in out.weight_scaled.iter_mut().chain(&mut out.bias_scaled) {
            *s = vectorised::Scaled::from_f64(f64::NAN);
        }
        let mut ws = ChainWorkspace::new();
        // Warm the workspace on another batch so its scratch holds stale numbers.
        let other = seeded_case::<f64>(n + 5, mixed_activations(11), false, None);
        other
            .batch
            .gradients_into(
                &other.inputs,
                &other.targets,
                Magnitudes::Extended,
                &mut ws,
                &mut ChainGradients::default(),
            )
            .unwrap();
        case.batch.gradients_into(&case.inputs, &case.targets, Magnitudes::Extended, &mut ws, &mut out).unwrap();
        assert_same_bits(&clean, &out, &format!("poisoned n={n} {skip:?}"));
    }
}

/// Layer-major `[layer][chain]` values rearranged block by block of `chunk` chains, each block's
/// D rows one after the other: what [`GradientLayout::Blocks`] promises, spelled out with loops.
fn to_blocks<V: Copy>(layer_major: &[V], n_chains: usize, n_layers: usize, chunk: usize) -> Vec<V> {
    let mut out = Vec::with_capacity(layer_major.len());
    let mut start = 0;
    while start < n_chains {
        let end = (start + chunk).min(n_chains);
        for l in 0..n_layers {
            out.extend_from_slice(&layer_major[l * n_chains + start..l * n_chains + end]);
        }
        start = end;
    }
    out
}

/// A buffer made for the block-major layout gets the layer-major buffer's values, rearranged
/// block by block, on any number of threads; `index` and `weight_at` find them in both.
fn blocks_layout_holds_the_layer_major_values<T: Real>() {
    const DEPTH: usize = 7;
    let chunk = chain_chunk::<T>();
    let scaled =
        |v: &[vectorised::Scaled]| v.iter().map(|s| (s.mantissa().to_bits(), s.exponent())).collect::<Vec<_>>();
    for n in edge_sizes() {
        let case = seeded_case::<T>(n, mixed_activations(DEPTH), true, Some(2));
        let layers = run_on(&case, 1, Magnitudes::Extended);
        assert_eq!(layers.layout, GradientLayout::LayerMajor);
        let mut ws = ChainWorkspace::new();
        for threads in [1, 2, 7] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            // The same buffer each time: a reused buffer keeps its layout.
            let mut blocks = ChainGradients::with_layout(GradientLayout::Blocks);
            for _ in 0..2 {
                pool.install(|| {
                    case.batch.gradients_into(&case.inputs, &case.targets, Magnitudes::Extended, &mut ws, &mut blocks)
                })
                .unwrap();
            }
            let what = format!("n={n} threads={threads}");
            assert_eq!(blocks.layout, GradientLayout::Blocks, "{what}");
            assert_eq!(bits(&blocks.weight), bits(&to_blocks(&layers.weight, n, DEPTH, chunk)), "{what}: weight");
            assert_eq!(bits(&blocks.bias), bits(&to_blocks(&layers.bias, n, DEPTH, chunk)), "{what}: bias");
            let want_scaled = to_blocks(&layers.weight_scaled, n, DEPTH, chunk);
            assert_eq!(scaled(&blocks.weight_scaled), scaled(&want_scaled), "{what}: weight_scaled");
            let want_scaled = to_blocks(&layers.bias_scaled, n, DEPTH, chunk);
            assert_eq!(scaled(&blocks.bias_scaled), scaled(&want_scaled), "{what}: bias_scaled");
            for (ours, theirs) in
                [(&blocks.loss, &layers.loss), (&blocks.output, &layers.output), (&blocks.input, &layers.input)]
            {
                assert_eq!(bits(ours), bits(theirs), "{what}: per-chain outputs");
            }
            for l in 0..DEPTH {
                for c in 0..n {
                    let (i, j) = (blocks.index(l, c), layers.index(l, c));
                    assert_eq!(j, l * n + c, "{what}: layer-major index");
                    assert_eq!(blocks.weight_at(l, c).to_f64().to_bits(), layers.weight_at(l, c).to_f64().to_bits());
                    assert_eq!(blocks.bias[i].to_f64().to_bits(), layers.bias[j].to_f64().to_bits(), "{what}");
                }
                if n > 0 {
                    assert_eq!(blocks.chain_weight(n - 1), layers.chain_weight(n - 1), "{what}");
                }
            }
        }
    }
}

#[test]
#[should_panic(expected = "chain 3 is outside")]
fn index_refuses_a_chain_beyond_the_batch() {
    // In the block-major layout an index past S would otherwise name another chain's value.
    let case = seeded_case::<f64>(3, vec![Activation::Sigmoid; 2], false, None);
    let mut g = ChainGradients::with_layout(GradientLayout::Blocks);
    case.batch
        .gradients_into(&case.inputs, &case.targets, Magnitudes::Plain, &mut ChainWorkspace::new(), &mut g)
        .unwrap();
    g.index(0, 3);
}

#[test]
fn blocks_layout_holds_the_layer_major_values_f64() {
    blocks_layout_holds_the_layer_major_values::<f64>();
}

#[test]
fn blocks_layout_holds_the_layer_major_values_f32() {
    blocks_layout_holds_the_layer_major_values::<f32>();
}

#[test]
fn plain_mode_equals_extended_mode_in_the_plain_outputs() {
    let case = seeded_case::<f64>(chain_chunk::<f64>() + 3, mixed_activations(12), true, Some(4));
    let plain = run_on(&case, 1, Magnitudes::Plain);
    let ext = run_on(&case, 1, Magnitudes::Extended);
    assert_eq!(bits(&plain.weight), bits(&ext.weight));
    assert_eq!(bits(&plain.bias), bits(&ext.bias));
    assert!(plain.weight_scaled.is_empty() && plain.bias_scaled.is_empty());
    assert_eq!(ext.weight_scaled.len(), ext.weight.len());
}

#[test]
fn relu_chain_gradient_is_product_of_weights_exactly() {
    // Positive dyadic weights and input keep every z > 0, so a_d = x·∏_{k≤d} w_k and
    // ∂L/∂w_d = 2(y−t)·∏_{k≠d} w_k · x exactly (all products of small dyadic numbers).
    let (s, d) = (3, 5);
    let w: Vec<f64> = (0..s * d).map(|i| (1 + (i % 5)) as f64 / 4.0).collect();
    let batch = ChainBatch::new(s, w.clone(), vec![Activation::Relu; d]).unwrap();
    let x = [0.5, 1.0, 1.5];
    let t = [0.25, -1.0, 2.0];
    let g = batch.gradients(&x, &t, Magnitudes::Plain).unwrap();
    for c in 0..s {
        let wc: Vec<f64> = (0..d).map(|l| w[l * s + c]).collect();
        let y = x[c] * wc.iter().product::<f64>();
        assert_eq!(g.output[c], y);
        for l in 0..d {
            let others: f64 = (0..d).filter(|&k| k != l).map(|k| wc[k]).product();
            assert_eq!(g.weight_at(l, c), 2.0 * (y - t[c]) * others * x[c], "chain {c} layer {l}");
        }
        assert_eq!(g.input[c], 2.0 * (y - t[c]) * wc.iter().product::<f64>());
    }
}

#[test]
fn bad_arguments_are_errors_not_panics() {
    let acts = || vec![Activation::Sigmoid; 3];
    assert!(matches!(
        ChainBatch::<f64>::new(2, vec![0.0; 5], acts()),
        Err(Error::Shape { what: "chain weights", expected: 6, got: 5 })
    ));
    assert!(matches!(ChainBatch::<f64>::new(2, vec![0.0; 0], vec![]), Err(Error::Invalid { what: "chain depth", .. })));
    let mut w = vec![0.5; 6];
    w[4] = f64::NAN;
    assert!(matches!(ChainBatch::<f64>::new(2, w, acts()), Err(Error::NonFinite { what: "chain weights", index: 4 })));
    assert!(matches!(
        ChainBatch::<f64>::new(1, vec![1.0], vec![Activation::LeakyRelu { slope: f64::INFINITY }]),
        Err(Error::NonFinite { .. })
    ));
    let batch = ChainBatch::<f64>::new(2, vec![0.5; 6], acts()).unwrap();
    assert!(matches!(batch.clone().with_biases(vec![0.0; 5]), Err(Error::Shape { what: "chain biases", .. })));
    assert!(matches!(
        batch.clone().with_biases(vec![0.0, 0.0, f64::INFINITY, 0.0, 0.0, 0.0]),
        Err(Error::NonFinite { what: "chain biases", index: 2 })
    ));
    assert!(matches!(batch.clone().with_shortcut(0), Err(Error::Invalid { .. })));
    assert!(matches!(batch.clone().with_shortcut(4), Err(Error::Invalid { .. })));
    assert!(batch.clone().with_shortcut(3).is_ok());
    assert_eq!(batch.skip(), Skip::PreActivation, "a batch's shortcut joins before f unless told");
    assert_eq!(batch.clone().with_skip(Skip::Identity).skip(), Skip::Identity);
    assert!(matches!(
        batch.gradients(&[1.0], &[0.0, 0.0], Magnitudes::Plain),
        Err(Error::Shape { what: "chain inputs", .. })
    ));
    assert!(matches!(
        batch.gradients(&[1.0, 1.0], &[0.0, f64::NAN], Magnitudes::Plain),
        Err(Error::NonFinite { what: "chain targets", index: 1 })
    ));
    assert!(matches!(ChainBatch::<f64>::from_chain_major(2, &[0.0; 7], acts()), Err(Error::Shape { .. })));
}

#[test]
fn chain_major_and_layer_major_constructors_agree() {
    let (s, d) = (5, 4);
    let cm = normal(9, s * d);
    let lm: Vec<f64> = (0..d * s).map(|q| cm[(q % s) * d + q / s]).collect();
    let a = ChainBatch::from_chain_major(s, &cm, vec![Activation::Tanh; d]).unwrap();
    let b = ChainBatch::new(s, lm, vec![Activation::Tanh; d]).unwrap();
    assert_eq!(a.weights(), b.weights());
}

/// |log10|g_f32| − log10|g_f64|| for the f32 engine against the f64 engine on shallow chains,
/// where nothing underflows: f32 rounding (2^−24 ≈ 6e−8 relative per operation) over ~10 layers
/// of ~6 operations each, plus the forward's sensitivity, stays well under 1e−5 in log10.
const F32_VS_F64_LOG10_TOL: f64 = 1e-5;

#[test]
fn f32_engine_agrees_with_f64_engine_on_shallow_chains() {
    let c64 = seeded_case::<f64>(100, vec![Activation::Sigmoid; 8], true, Some(3));
    let c32 = seeded_case::<f32>(100, vec![Activation::Sigmoid; 8], true, Some(3));
    let (g64, g32) = (run_on(&c64, 1, Magnitudes::Plain), run_on(&c32, 1, Magnitudes::Plain));
    for (a, b) in g64.weight.iter().zip(&g32.weight) {
        let (la, lb) = (a.abs().log10(), (*b as f64).abs().log10());
        assert!((la - lb).abs() < F32_VS_F64_LOG10_TOL * la.abs().max(1.0), "{a:e} vs {b:e}");
    }
}

#[test]
fn extended_magnitudes_survive_where_f64_underflows() {
    // Depth 2000 sigmoid chains: |g| at the input side is around 10^−1200, far below f64.
    let d = 2000;
    let case = seeded_case::<f64>(3, vec![Activation::Sigmoid; d], false, None);
    let g = run_on(&case, 1, Magnitudes::Extended);
    for c in 0..3 {
        let first = g.weight_scaled[c];
        assert_eq!(g.weight_at(0, c), 0.0, "plain value underflows");
        assert!(first.log10_abs() < -600.0 && first.log10_abs().is_finite());
        // Where the plain value is normal, the scaled one rounds to it within a few ulps
        // (it rounds once at the end instead of once per layer into subnormals).
        let last = (d - 1) * 3 + c;
        let (plain, scaled) = (g.weight[last], g.weight_scaled[last].to_f64());
        assert!(ulps_f64(plain, scaled) <= 4, "{plain:e} vs {scaled:e}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_chunking_gives_the_same_bits(n in 0usize..300, threads in 1usize..8, seed in 0u64..1000) {
        let d = 1 + (seed as usize % 6);
        let skip = if seed % 4 < 2 { Skip::PreActivation } else { Skip::Identity };
        let case = seeded_case::<f64>(n, mixed_activations(d), seed % 2 == 0, Some((1 + seed as usize % 3).min(d)));
        let case = with_skip(case, skip);
        let one = run_on(&case, 1, Magnitudes::Extended);
        let many = run_on(&case, threads, Magnitudes::Extended);
        assert_same_bits(&one, &many, "proptest");
    }
}
