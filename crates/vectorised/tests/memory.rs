//! What the engines allocate: nothing inside the per-layer loops, and memory in proportion to
//! what backward must keep.
//!
//! Counted with `dhat`'s heap statistics (its global allocator counts every allocation in the
//! process, from any thread). A test binary of its own with a single `#[test]` that runs the
//! checks one after another, so that nothing else allocates while a count runs (the test harness
//! allocates when it starts another test's thread). Every count is taken inside
//! `pool.install(…)`: rayon's own queue for jobs injected from outside the pool allocates a
//! block now and then, which is the caller's cost of entering the pool, not the engine's.
//!
//! The figures behind the assertions are printed:
//! `cargo test -p vectorised --release --test memory -- --nocapture`.

use std::sync::{Mutex, OnceLock};
use vectorised::chain::chain_chunk;
use vectorised::dense::SeedAt;
use vectorised::dense::{LayerNorm, NormAt};
use vectorised::parallel::n_chunks;
use vectorised::workload::{chain_workload, normal, uniform};
use vectorised::{
    Activation, Batch, ChainBatch, ChainGradients, ChainWorkspace, Clip, Dense, DenseLayer, GradientLayout, Loss,
    Magnitudes, Normalisation, Optimizer, Real, Skip, TrainConfig, Trainer, Workspace,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn allocations_and_memory() {
    dense_calls_allocate_nothing_once_warm::<f64>();
    dense_calls_allocate_nothing_once_warm::<f32>();
    training_steps_allocate_only_their_report();
    chain_calls_allocate_per_call_not_per_layer::<f64>();
    chain_calls_allocate_per_call_not_per_layer::<f32>();
    dense_memory_grows_with_what_backward_keeps::<f64>();
    dense_memory_grows_with_what_backward_keeps::<f32>();
    diagnosis_memory_grows_with_what_it_keeps();
    normalised_dense_memory_grows_with_what_it_keeps::<f64>();
    normalised_dense_memory_grows_with_what_it_keeps::<f32>();
    chain_memory_grows_with_what_backward_keeps::<f64>();
    chain_memory_grows_with_what_backward_keeps::<f32>();
}

/// What `f` allocated while it ran: (blocks, bytes, peak bytes live at once). The result is
/// dropped after the count, so its own buffers are counted but freeing them is not.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Heap {
    blocks: u64,
    bytes: u64,
    peak: usize,
}

fn heap<R>(f: impl FnOnce() -> R) -> Heap {
    let profiler = dhat::Profiler::builder().testing().build();
    let result = f();
    let stats = dhat::HeapStats::get();
    drop(profiler);
    drop(result);
    Heap { blocks: stats.total_blocks, bytes: stats.total_bytes, peak: stats.max_bytes }
}

/// The pool of 1 or 2 threads, whose threads have all started (a starting thread allocates its
/// own state, which a count running at that moment would see). Built once and never dropped: a
/// dropped pool's threads exit in the background, freeing and allocating as they go, and under
/// load that overlapped the next count (a warm chain call once counted 9 blocks instead of 8,
/// a peak grew by 2 KB).
fn pool(threads: usize) -> &'static rayon::ThreadPool {
    static POOLS: [OnceLock<rayon::ThreadPool>; 2] = [OnceLock::new(), OnceLock::new()];
    POOLS[threads - 1].get_or_init(|| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.broadcast(|_| ());
        pool
    })
}

/// Runs `call` once on each thread of `pool`, one thread after the other. A workspace keeps
/// scratch per thread and sizes a thread's part the first time that thread works on a call, so
/// "warm" means every thread has.
fn on_every_thread<W: Send>(pool: &rayon::ThreadPool, state: &mut W, call: impl Fn(&mut W) + Sync) {
    let state = Mutex::new(state);
    for thread in 0..pool.current_num_threads() {
        pool.broadcast(|ctx| {
            if ctx.index() == thread {
                call(&mut state.lock().expect("one thread at a time"));
            }
        });
    }
}

fn cast<T: Real>(v: Vec<f64>) -> Vec<T> {
    v.into_iter().map(T::from_f64).collect()
}

/// A network with layer widths `widths` (the input's first), every layer biased, with its seeded
/// batch (targets in (0, 1), as cross-entropy needs).
struct DenseCase<T> {
    net: Dense<T>,
    batch: usize,
    loss: Loss,
    x: Vec<T>,
    t: Vec<T>,
}

impl<T: Real> DenseCase<T> {
    fn new(batch: usize, widths: &[usize], loss: Loss, shortcut: Option<usize>) -> Self {
        let n_layers = widths.len() - 1;
        let last = if loss == Loss::BinaryCrossEntropy { Activation::Sigmoid } else { Activation::Identity };
        let layers = (0..n_layers)
            .map(|l| {
                let act = if l + 1 == n_layers { last } else { Activation::Tanh };
                let (n_in, n_out) = (widths[l], widths[l + 1]);
                let w = normal(10 + l as u64, n_in * n_out).iter().map(|v| v / (n_in as f64).sqrt()).collect();
                DenseLayer::new(n_in, n_out, cast(w), Some(cast(normal(50 + l as u64, n_out))), act).unwrap()
            })
            .collect();
        let net = Dense::new(layers, shortcut).unwrap();
        let (x, t) = (normal(1, batch * widths[0]), uniform(2, batch * widths[n_layers]));
        DenseCase { net, batch, loss, x: cast(x), t: cast(t) }
    }

    /// `n_layers` layers of `width` units over inputs of `width`.
    fn uniform(batch: usize, width: usize, n_layers: usize, loss: Loss, shortcut: Option<usize>) -> Self {
        Self::new(batch, &vec![width; n_layers + 1], loss, shortcut)
    }

    fn call(&self, ws: &mut Workspace<T>) {
        let x = Batch::new(&self.x, self.batch, self.net.input_width()).unwrap();
        let t = Batch::new(&self.t, self.batch, self.net.output_width()).unwrap();
        self.net.gradients(x, t, self.loss, Normalisation::PerSample, ws).unwrap();
    }
}

/// (batch, widths, loss, shortcut span, its form).
type DenseCaseSpec = (usize, &'static [usize], Loss, Option<usize>, Skip);

/// Warm calls of `Dense::gradients` allocate nothing at all: every buffer lives in the
/// `Workspace`, sized by the first call. Small and large layers (the large ones run their
/// products on both threads), layers of different widths, shortcuts, cross-entropy,
/// statistics on and off.
fn dense_calls_allocate_nothing_once_warm<T: Real>() {
    let cases: [DenseCaseSpec; 7] = [
        // (batch, widths, loss, shortcut span, its form)
        (9, &[5, 5, 5, 5], Loss::SquaredError, None, Skip::PreActivation),
        (7, &[3, 9, 2, 6, 1, 4], Loss::SquaredError, None, Skip::PreActivation),
        (64, &[32; 9], Loss::BinaryCrossEntropy, Some(2), Skip::PreActivation),
        (64, &[32; 9], Loss::SquaredError, Some(3), Skip::Identity),
        (64, &[256; 4], Loss::SquaredError, None, Skip::PreActivation),
        (64, &[256; 5], Loss::BinaryCrossEntropy, Some(3), Skip::PreActivation),
        (64, &[256; 5], Loss::SquaredError, Some(2), Skip::Identity),
    ];
    for threads in [1, 2] {
        let pool = pool(threads);
        for (batch, widths, loss, shortcut, skip) in cases {
            let mut case = DenseCase::<T>::new(batch, widths, loss, shortcut);
            case.net = case.net.with_skip(skip);
            for stats in [Some(0.01), None] {
                let mut ws = Workspace::new();
                ws.set_stats(stats).unwrap();
                let first = pool.install(|| heap(|| case.call(&mut ws)));
                assert!(first.blocks > 0, "the first call sizes the workspace: {first:?}");
                on_every_thread(pool, &mut ws, |ws| case.call(ws));
                for call in 1..4 {
                    let warm = pool.install(|| heap(|| case.call(&mut ws)));
                    assert_eq!(
                        warm.blocks, 0,
                        "warm call {call} allocated ({warm:?}): {threads} threads, batch {batch}, widths \
                         {widths:?}, {loss:?}, shortcut {shortcut:?} {skip:?}, statistics {stats:?}"
                    );
                }
            }
        }
    }
}

/// A training step allocates only its report (three per-layer vectors: the statistics, the
/// update norms, the weight norms): as many blocks at depth 3 as at depth 12.
fn training_steps_allocate_only_their_report() {
    let pool = pool(2);
    let blocks = |n_layers: usize| {
        let case = DenseCase::<f64>::uniform(16, 8, n_layers, Loss::SquaredError, None);
        let net = case.net.clone();
        let config =
            TrainConfig::new(0.01, Optimizer::adam(), case.loss).with_clip(Clip::Norm(1.0)).with_weight_decay(1e-3);
        let mut state = (Trainer::new(&net, config).unwrap(), net);
        let step = |(trainer, net): &mut (Trainer<f64>, Dense<f64>)| {
            let x = Batch::new(&case.x, case.batch, 8).unwrap();
            let t = Batch::new(&case.t, case.batch, 8).unwrap();
            let report = trainer.step(net, x, t).unwrap();
            assert!(report.applied(), "{report:?}");
            report
        };
        on_every_thread(pool, &mut state, |s| drop(step(s)));
        let counts: Vec<u64> = (0..3).map(|_| pool.install(|| heap(|| step(&mut state))).blocks).collect();
        assert!(counts.iter().all(|&c| c == counts[0]), "depth {n_layers}: {counts:?}");
        counts[0]
    };
    let (shallow, deep) = (blocks(3), blocks(12));
    println!("training step, once warm: {shallow} allocations at depth 3, {deep} at depth 12");
    assert_eq!(shallow, deep, "a step's allocations depend on the depth");
    assert!(deep <= 3, "a step allocates more than its report's three vectors: {deep} blocks");
}

/// A seeded chain batch of `n_chains` sigmoid chains of depth `n_layers`.
struct ChainCase<T> {
    batch: ChainBatch<T>,
    inputs: Vec<T>,
    targets: Vec<T>,
}

impl<T: Real> ChainCase<T> {
    fn new(n_chains: usize, n_layers: usize) -> Self {
        let w = chain_workload(n_chains, n_layers);
        let batch = ChainBatch::new(n_chains, cast(w.weights), vec![Activation::Sigmoid; n_layers]).unwrap();
        ChainCase { batch, inputs: cast(w.inputs), targets: cast(w.targets) }
    }

    fn call(&self, magnitudes: Magnitudes, ws: &mut ChainWorkspace<T>, out: &mut ChainGradients<T>) {
        self.batch.gradients_into(&self.inputs, &self.targets, magnitudes, ws, out).unwrap();
    }
}

/// Warm chain calls allocate only the handles that give each block of chains its rows (a few
/// vectors per call and block): never per layer, so as many blocks at depth 4 as at depth 64,
/// and at most 1 + 4·(1 + blocks) of them — the list of blocks, and per output array (∂L/∂w,
/// ∂L/∂b, and their log-domain twins) one list of blocks and one list of rows per block. The
/// same with statistics gathered (their per-block, per-layer parts live in the workspace).
fn chain_calls_allocate_per_call_not_per_layer<T: Real>() {
    let n_chains = 2 * chain_chunk::<T>() + 3;
    let n_blocks = n_chunks(n_chains, chain_chunk::<T>()) as u64;
    for threads in [1, 2] {
        let pool = pool(threads);
        for (layout, stats) in [
            (GradientLayout::LayerMajor, None),
            (GradientLayout::Blocks, None),
            (GradientLayout::LayerMajor, Some(vectorised::stats::DEFAULT_SATURATION_THRESHOLD)),
        ] {
            for magnitudes in [Magnitudes::Plain, Magnitudes::Extended] {
                let warm_blocks = |n_layers: usize| {
                    let case = ChainCase::<T>::new(n_chains, n_layers);
                    let mut state = (ChainWorkspace::new(), ChainGradients::with_layout(layout));
                    state.0.set_stats(stats).unwrap();
                    let call = |(ws, out): &mut (ChainWorkspace<T>, ChainGradients<T>)| case.call(magnitudes, ws, out);
                    on_every_thread(pool, &mut state, call);
                    let counts: Vec<u64> = (0..3).map(|_| pool.install(|| heap(|| call(&mut state))).blocks).collect();
                    assert!(counts.iter().all(|&c| c == counts[0]), "depth {n_layers}: {counts:?}");
                    counts[0]
                };
                let (shallow, deep) = (warm_blocks(4), warm_blocks(64));
                let what = format!("{threads} threads, {layout:?}, {magnitudes:?}, statistics {stats:?}");
                println!(
                    "chain call, once warm, {} chains of {}: {what}: {shallow} allocations at depth 4, {deep} at \
                     depth 64",
                    n_chains,
                    std::any::type_name::<T>()
                );
                assert_eq!(shallow, deep, "{what}: a warm call's allocations depend on the depth");
                assert!(deep <= 1 + 4 * (1 + n_blocks), "{what}: {deep} blocks for {n_blocks} blocks of chains");
            }
        }
    }
}

/// The peak heap of a first call (nothing allocated before it), on one thread.
fn cold_peak(call: impl FnOnce() + Send) -> usize {
    pool(1).install(|| heap(call).peak)
}

/// With every layer normalised (its Linear output, or its input), a first `Dense::gradients`
/// call's peak memory grows per layer by what backward keeps without (above) and what the
/// normalisation keeps: x̂ (B × n) and r (B), for a normalised input also Y (B × n), the
/// product's read of it, and ∂L/∂γ, ∂L/∂β (n each); plus at most 384 bytes of bookkeeping (the
/// above's, the normalisation itself and its buffers' headers). A warm call allocates nothing.
fn normalised_dense_memory_grows_with_what_it_keeps<T: Real>() {
    let size = std::mem::size_of::<T>();
    for (batch, width) in [(64, 256), (256, 64), (9, 5)] {
        for at in [NormAt::PreActivation, NormAt::Input] {
            let normalised = |n_layers: usize| {
                let mut case = DenseCase::<T>::uniform(batch, width, n_layers, Loss::SquaredError, None);
                let norm = LayerNorm::new(None, None, T::from_f64(1e-5), at).unwrap();
                case.net = case.net.with_norms(vec![Some(norm); n_layers]).unwrap();
                case
            };
            let peak = |n_layers| {
                let case = normalised(n_layers);
                cold_peak(|| case.call(&mut Workspace::new()))
            };
            let (shallow, deep) = (peak(8), peak(16));
            let per_layer = (deep - shallow) / 8;
            let backward = 2 * batch * width + width * width + width;
            let norm = batch * width + batch + 2 * width + if at == NormAt::Input { batch * width } else { 0 };
            let must_keep = (backward + norm) * size;
            println!(
                "normalised ({at:?}) dense {}, batch {batch}, width {width}: {per_layer} bytes per layer, {:.3}× the \
                 {must_keep} it must keep",
                std::any::type_name::<T>(),
                per_layer as f64 / must_keep as f64
            );
            assert!(
                must_keep <= per_layer && per_layer <= must_keep + 384,
                "normalised ({at:?}), batch {batch}, width {width}: {per_layer} bytes per layer, it keeps {must_keep} \
                 (peaks {shallow} at depth 8, {deep} at depth 16)"
            );
            let (case, pool) = (normalised(4), pool(1));
            let mut ws = Workspace::new();
            pool.install(|| case.call(&mut ws));
            let warm = pool.install(|| heap(|| case.call(&mut ws)));
            assert_eq!(
                warm.blocks, 0,
                "a warm normalised call allocated ({warm:?}): {at:?}, batch {batch}, width {width}"
            );
        }
    }
}

/// A first `Dense::gradients` call's peak memory grows with the depth by what backward must
/// keep per layer — A_l and f′(Z_l) (B × n each) and ∂L/∂W_l, ∂L/∂b_l (the parameters' size) —
/// plus at most 256 bytes of bookkeeping (the headers of the per-layer buffers, the layer's
/// statistics). G needs no buffer per layer, with shortcuts or without: backward keeps s + 1
/// at a time (s the span, 1 without).
fn dense_memory_grows_with_what_backward_keeps<T: Real>() {
    let size = std::mem::size_of::<T>();
    for (batch, width) in [(64, 256), (256, 64), (9, 5)] {
        for (shortcut, skip) in [(None, Skip::PreActivation), (Some(2), Skip::PreActivation), (Some(2), Skip::Identity)]
        {
            let peak = |n_layers| {
                let mut case = DenseCase::<T>::uniform(batch, width, n_layers, Loss::SquaredError, shortcut);
                case.net = case.net.with_skip(skip);
                cold_peak(|| case.call(&mut Workspace::new()))
            };
            let (shallow, deep) = (peak(8), peak(16));
            let per_layer = (deep - shallow) / 8;
            let must_keep = (2 * batch * width + width * width + width) * size;
            println!(
                "dense {}, batch {batch}, width {width}, shortcut {shortcut:?} {skip:?}: {per_layer} bytes per layer, \
                 {:.3}× the {must_keep} backward must keep",
                std::any::type_name::<T>(),
                per_layer as f64 / must_keep as f64
            );
            assert!(
                must_keep <= per_layer && per_layer <= must_keep + 256,
                "batch {batch}, width {width}, shortcut {shortcut:?} {skip:?}: {per_layer} bytes per layer, backward \
                 keeps {must_keep} (peaks {shallow} at depth 8, {deep} at depth 16)"
            );
        }
    }
}

/// A first `Dense::diagnose` call's peak memory grows with the depth by what it must keep per
/// layer — A_l and f′(Z_l) (B × n each), and with shortcuts each layer's rescaled G (B × n) and
/// its rows' exponents (B) — plus at most 320 bytes of bookkeeping (the layer's `LayerDiagnosis`,
/// with its normalisation's two norms, among them): no ∂S/∂W_l (the parameters' size), which the
/// diagnosis needs only one layer at a time, and no G window of its own.
fn diagnosis_memory_grows_with_what_it_keeps() {
    let size = std::mem::size_of::<f64>();
    for (batch, width) in [(64, 256), (256, 64), (9, 5)] {
        for (shortcut, skip) in [(None, Skip::PreActivation), (Some(2), Skip::PreActivation), (Some(2), Skip::Identity)]
        {
            let peak = |n_layers| {
                let mut case = DenseCase::<f64>::uniform(batch, width, n_layers, Loss::SquaredError, shortcut);
                case.net = case.net.with_skip(skip);
                let x = Batch::new(&case.x, batch, width).unwrap();
                let t = &case.t;
                let seed = |y: &[f64], s: &mut [f64]| {
                    s.iter_mut().zip(y).zip(t).for_each(|((sv, &yv), &tv)| *sv = 2.0 * (yv - tv));
                };
                cold_peak(|| {
                    case.net.diagnose(x, seed, SeedAt::Output, 1.0, &mut Workspace::new()).unwrap();
                })
            };
            let (shallow, deep) = (peak(8), peak(16));
            let per_layer = (deep - shallow) / 8;
            let g_per_layer = if shortcut.is_some() { batch * width * size + batch * 8 } else { 0 };
            let must_keep = 2 * batch * width * size + g_per_layer;
            println!(
                "diagnosis, batch {batch}, width {width}, shortcut {shortcut:?} {skip:?}: {per_layer} bytes per layer, \
                 {:.3}× the {must_keep} it must keep",
                per_layer as f64 / must_keep as f64
            );
            assert!(
                must_keep <= per_layer && per_layer <= must_keep + 320,
                "batch {batch}, width {width}, shortcut {shortcut:?} {skip:?}: {per_layer} bytes per layer, the \
                 diagnosis keeps {must_keep} (peaks {shallow} at depth 8, {deep} at depth 16)"
            );
        }
    }
}

/// A first chain call's peak memory grows with the depth by what backward must keep per layer
/// — each chain's ∂L/∂w (and its log-domain twin in extended mode) and the activations and
/// derivatives of the one block of chains in flight (in extended mode, in `Scaled` as well, for
/// the group of its lanes in flight) —
/// within 10% (rows padded against 4K
/// aliasing, and the handles to each block's rows); with the number of chains, by their
/// outputs only: the scratch is per thread, not per chain.
fn chain_memory_grows_with_what_backward_keeps<T: Real>() {
    let size = std::mem::size_of::<T>();
    let scaled = std::mem::size_of::<vectorised::Scaled>();
    let chunk = chain_chunk::<T>();
    for magnitudes in [Magnitudes::Plain, Magnitudes::Extended] {
        let extended = magnitudes == Magnitudes::Extended;
        let peak = |n_chains, n_layers| {
            let case = ChainCase::<T>::new(n_chains, n_layers);
            let mut out = ChainGradients::with_layout(GradientLayout::Blocks);
            cold_peak(|| case.call(magnitudes, &mut ChainWorkspace::new(), &mut out))
        };
        // Depth: 64 more layers (same padding gap: D + 1 ≡ 1 mod 64 for both).
        let n_chains = 2 * chunk + 3;
        let per_layer = (peak(n_chains, 128) - peak(n_chains, 64)) / 64;
        let gradients = n_chains * if extended { size + scaled } else { size };
        // Extended mode keeps a_d and f′_d / δ_d in `Scaled` too, as rows across a group of 16
        // lanes (the extended pass's `LANE_GROUP`).
        let rows = 2 * chunk * size + if extended { 2 * 16 * scaled } else { 0 };
        let must_keep = gradients + rows;
        println!(
            "chain {}, {magnitudes:?}, {n_chains} chains: {per_layer} bytes per layer, {:.3}× the {must_keep} \
             backward must keep",
            std::any::type_name::<T>(),
            per_layer as f64 / must_keep as f64
        );
        assert!(
            must_keep <= per_layer && 10 * per_layer <= 11 * must_keep,
            "{magnitudes:?}: {per_layer} bytes per layer, backward keeps {must_keep}"
        );
        // Chains: 8 more blocks, depth 64; per chain its D gradients and its loss, output, input.
        let (few, many) = (2 * chunk + 3, 10 * chunk + 3);
        let per_chain = (peak(many, 64) - peak(few, 64)) / (many - few);
        let outputs = 64 * if extended { size + scaled } else { size } + 3 * size;
        println!(
            "chain {}, {magnitudes:?}, depth 64: {per_chain} bytes per chain, {:.3}× its {outputs} bytes of \
             outputs",
            std::any::type_name::<T>(),
            per_chain as f64 / outputs as f64
        );
        assert!(
            outputs <= per_chain && 10 * per_chain <= 11 * outputs,
            "{magnitudes:?}: {per_chain} bytes per chain, its outputs are {outputs}"
        );
    }
}
