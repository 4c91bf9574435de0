//! The properties the fuzz targets in `fuzz/` assert, shared with the seed-corpus replay test
//! (`tests/it/fuzz_seeds.rs`) so the corpus is checked on stable by `cargo test --workspace`.
//!
//! Each `check_*` function takes arbitrary bytes, decodes them into an input of its domain and
//! **panics when a property fails** (that is how libFuzzer and a test see a failure). They are
//! not part of the crate's API for anything else.
//!
//! - [`check_model_files`]: any bytes, read as a model file and a gradients file, give a result or
//!   a one-line error located in its file; a model's reference gradients pass `check` against
//!   themselves and survive the JSON round trip bit for bit.
//! - [`check_exact_domain`]: small chains and dense nets with dyadic parameters through ReLU,
//!   leaky ReLU (slope k/8) and identity, where every operation is exact, get the same gradients
//!   from `vectorised` and `scalar` (compared with `==`, so −0 equals +0).
//! - [`check_chain_settings`]: a chain of any activation, weights, biases, depth (≤ 2048),
//!   shortcut and extreme values is refused by `Chain::new` exactly when it is invalid, and
//!   otherwise either refused by [`chain_gradients`] with a one-line message or reported with
//!   log10 magnitudes that are finite or stand for an exact zero, a `grad` that is the exact
//!   value correctly rounded (never a silently wrong finite number), agreement with an
//!   independent log-sum of the chain's factors, and agreement of `vectorised`'s extended
//!   magnitudes.
//! - [`check_report_rendering`]: a well-formed [`Report`] built from the bytes renders to
//!   Markdown with one table row per data row (each row as wide as its header), to JSON that
//!   parses, and to SVG, without `NaN` or `inf` anywhere.

use crate::model::{ClaimedGradients, Model};
use crate::reference::{Tolerance, chain_gradients, check_gradients_against, model_gradients};
use crate::sections::classic::{BugCase, Classic, ClassicRuns};
use crate::sections::decay::{Decay, DecayConfig, DecayRow};
use crate::sections::dense_init::{DenseInit, InitConfig};
use crate::sections::handwritten::Bug;
use crate::sections::worked::{WorkedChain, WorkedLayer};
use crate::sections::{Config, Report};
use scalar::Activation;
use scalar::chain::Chain;

/// A little reader of fuzz bytes: every read succeeds, returning zeros once the bytes run out,
/// so any input decodes to something.
#[derive(Debug, Clone)]
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// Reads from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    /// The next byte (0 at the end).
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// A little-endian `u64` from the next 8 bytes (zeros past the end).
    pub fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |acc, i| acc | (u64::from(self.byte()) << (8 * i)))
    }

    /// An integer in `lo..=hi` from the next two bytes.
    pub fn int_in(&mut self, lo: usize, hi: usize) -> usize {
        let raw = usize::from(self.byte()) | (usize::from(self.byte()) << 8);
        lo + raw % (hi - lo + 1)
    }

    /// A boolean from the next byte's low bit.
    pub fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// k/16 for k in −`max_k`..=`max_k`.
    pub fn sixteenths(&mut self, max_k: usize) -> f64 {
        (self.int_in(0, 2 * max_k) as f64 - max_k as f64) / 16.0
    }
}

/// Panics unless `message` is one non-empty line (what the binary prints after `error: `).
fn assert_one_line(message: &str) {
    assert!(!message.is_empty(), "an empty error message");
    assert!(!message.contains('\n'), "a message of more than one line: {message:?}");
}

// ---------------------------------------------------------------------------------------------
// Model and gradient files.

/// The memory budget of [`check_model_files`] for the reference tape (the binary's default is
/// 4 GiB; a fuzzer's input cannot describe a tape anywhere near this, but a bug in the estimate
/// could, and the fuzzer must not be killed by the OS for it).
pub const FUZZ_TAPE_BUDGET_BYTES: u128 = 64 << 20;

/// Model and gradient files: the bytes before the first 0 byte are the model file, the rest the
/// gradients file (both read as UTF-8, lossily, as `report` reads files).
///
/// # Panics
/// When a property fails: a panic inside parsing or the reference, an error message that is not
/// one line or does not start with its file, reference gradients that do not pass `check`
/// against themselves or that change in the JSON round trip, or a check report whose verdict
/// disagrees with its layers.
pub fn check_model_files(data: &[u8]) {
    let (model_bytes, grads_bytes) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let model_text = String::from_utf8_lossy(model_bytes);
    let grads_text = String::from_utf8_lossy(grads_bytes);
    let theirs = ClaimedGradients::from_json(&grads_text, "grads.json");
    if let Err(e) = &theirs {
        let message = e.to_string();
        assert_one_line(&message);
        assert!(message.starts_with("grads.json: "), "an unlocated message: {message}");
    }
    let model = match Model::from_json(&model_text, "model.json") {
        Ok(model) => model,
        Err(e) => {
            let message = e.to_string();
            assert_one_line(&message);
            assert!(message.starts_with("model.json: "), "an unlocated message: {message}");
            return;
        }
    };
    if model.tape_bytes_estimate() > FUZZ_TAPE_BUDGET_BYTES {
        return; // `report grad` refuses it with the estimate (tested in tests/it/robustness.rs)
    }
    let reference = match model_gradients(&model) {
        Ok(reference) => reference,
        Err(e) => return assert_one_line(&e.to_string()),
    };
    assert_eq!(reference.layers.len(), model.net().layers().len());
    // The reference passes against itself, at zero tolerance.
    let own = ClaimedGradients::from(&reference);
    let exact = Tolerance::new(0.0, 0.0).expect("zero is a valid tolerance");
    let report = check_gradients_against(&model, &reference, &own, exact).expect("the reference has the model's shape");
    assert!(report.pass && report.first_wrong_layer.is_none(), "the reference fails against itself: {report}");
    // What `report grad` prints parses back as a gradients file with the same bits.
    let printed = reference.to_json();
    let parsed = ClaimedGradients::from_json(&printed, "printed").expect("printed gradients parse");
    assert_eq!(bits_of(&parsed), bits_of(&own), "the JSON round trip changed a gradient:\n{printed}");
    // Their gradients, if they parse: a report or a located shape error, and a coherent verdict.
    if let Ok(theirs) = theirs {
        match check_gradients_against(&model, &reference, &theirs, crate::reference::Tolerance::default()) {
            Err(e) => assert_one_line(&e.to_string()),
            Ok(report) => {
                let failing = report.layers.iter().filter(|l| !l.pass).map(|l| l.layer).max();
                assert_eq!(
                    report.first_wrong_layer, failing,
                    "first_wrong_layer is the failing layer nearest the output"
                );
                let loss_ok = report.loss.as_ref().is_none_or(|l| l.pass);
                assert_eq!(report.pass, failing.is_none() && loss_ok);
                assert_no_bare_non_finite(&report.to_string());
                serde_json::from_str::<serde_json::Value>(&report.to_json()).expect("the check report is JSON");
            }
        }
    }
}

/// Every number of a gradients file as bits, in order (so −0 and +0 differ, and NaN is caught).
fn bits_of(g: &ClaimedGradients) -> Vec<u64> {
    let mut out: Vec<u64> = g.loss.iter().map(|v| v.to_bits()).collect();
    for l in &g.layers {
        out.extend(l.weight_grad.iter().flatten().map(|v| v.to_bits()));
        out.extend(l.bias_grad.iter().flatten().map(|v| v.to_bits()));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The exact domain: vectorised against scalar.

/// The activations of the exact domain: only `+` and `×` by dyadic numbers.
fn exact_activation(bytes: &mut Bytes<'_>) -> Activation {
    match bytes.int_in(0, 2) {
        0 => Activation::Relu,
        1 => Activation::Identity,
        _ => Activation::LeakyRelu { slope: bytes.int_in(0, 16) as f64 / 8.0 - 1.0 },
    }
}

/// Fractional bits of a leaky slope k/8.
const SLOPE_BITS: f64 = 3.0;
/// Fractional bits of every parameter, input and target (k/16).
const VALUE_BITS: f64 = 4.0;

fn vectorised_activation(f: Activation) -> vectorised::Activation {
    crate::sections::engine_activation(f)
}

/// Small chains (depth ≤ 8, batch ≤ 5) or dense nets (depth ≤ 8, width ≤ 6, batch 1, 2 or 4)
/// with dyadic parameters: `vectorised` and `scalar` agree exactly. The first byte picks chains
/// (even) or nets (odd).
///
/// # Panics
/// When the engines disagree, or either refuses a valid case.
pub fn check_exact_domain(data: &[u8]) {
    let mut bytes = Bytes::new(data);
    if bytes.byte().is_multiple_of(2) { exact_chains(&mut bytes) } else { exact_dense(&mut bytes) }
}

/// A batch of chains sharing activations and shortcut: the engine's `ChainBatch` (plain and
/// extended magnitudes) against the oracle's closed form per chain. The chain recurrence runs in
/// the oracle's order, so the values agree even where a product rounds.
fn exact_chains(bytes: &mut Bytes<'_>) {
    let depth = bytes.int_in(1, 8);
    let n_chains = bytes.int_in(1, 5);
    let activations: Vec<Activation> = (0..depth).map(|_| exact_activation(bytes)).collect();
    let biased = bytes.bool();
    let shortcut = if bytes.bool() { Some(bytes.int_in(1, depth)) } else { None };
    // chains[c] = (weights, biases, x, t)
    type Params = (Vec<f64>, Option<Vec<f64>>, f64, f64);
    let chains: Vec<Params> = (0..n_chains)
        .map(|_| {
            let w = (0..depth).map(|_| bytes.sixteenths(32)).collect();
            let b = biased.then(|| (0..depth).map(|_| bytes.sixteenths(16)).collect());
            (w, b, bytes.sixteenths(32), bytes.sixteenths(16))
        })
        .collect();
    let layer_major = |f: &dyn Fn(&Params, usize) -> f64| -> Vec<f64> {
        (0..depth * n_chains).map(|q| f(&chains[q % n_chains], q / n_chains)).collect()
    };
    let engine_acts: Vec<vectorised::Activation> = activations.iter().map(|&f| vectorised_activation(f)).collect();
    let mut batch = vectorised::ChainBatch::new(n_chains, layer_major(&|c, l| c.0[l]), engine_acts)
        .expect("a valid exact-domain batch");
    if biased {
        batch = batch.with_biases(layer_major(&|c, l| c.1.as_ref().expect("biased")[l])).expect("valid biases");
    }
    if let Some(span) = shortcut {
        batch = batch.with_shortcut(span).expect("a valid span");
    }
    let x: Vec<f64> = chains.iter().map(|c| c.2).collect();
    let t: Vec<f64> = chains.iter().map(|c| c.3).collect();
    let plain = batch.gradients(&x, &t, vectorised::Magnitudes::Plain).expect("valid inputs");
    let extended = batch.gradients(&x, &t, vectorised::Magnitudes::Extended).expect("valid inputs");
    for (c, (w, b, x, t)) in chains.iter().enumerate() {
        let oracle = Chain::new(w.clone(), activations.clone(), b.clone(), shortcut).expect("a valid chain");
        let want = oracle.gradients_closed_form(*x, *t);
        let exact = oracle.gradients_ext(*x, *t);
        for g in [&plain, &extended] {
            assert_eq!(g.output[c], want.output, "chain {c}: output");
            assert_eq!(g.loss[c], want.loss, "chain {c}: loss");
            assert_eq!(g.input[c], want.input, "chain {c}: ∂L/∂x");
            assert_eq!(g.chain_weight(c), want.weight, "chain {c}: ∂L/∂w");
            if biased {
                let bias: Vec<f64> = (0..depth).map(|l| g.bias[l * n_chains + c]).collect();
                assert_eq!(bias, want.bias, "chain {c}: ∂L/∂b");
            }
        }
        for (l, e) in exact.weight.iter().enumerate() {
            let ours = extended.weight_scaled[l * n_chains + c];
            assert_eq!(ours.to_f64(), e.to_f64(), "chain {c} layer {}: extended ∂L/∂w", l + 1);
        }
    }
}

/// One layer in the oracle's terms: `[out][in]` weights, optional bias, activation.
type ExactLayer = (Vec<Vec<f64>>, Option<Vec<f64>>, Activation);

/// A dense net in the oracle's terms.
struct ExactNet {
    n_input: usize,
    layers: Vec<ExactLayer>,
    shortcut: Option<usize>,
    input: Vec<Vec<f64>>,
}

impl ExactNet {
    fn widths(&self) -> Vec<usize> {
        std::iter::once(self.n_input).chain(self.layers.iter().map(|(w, _, _)| w.len())).collect()
    }

    /// A sound bound on the bits any intermediate of the forward pass, the squared-error loss and
    /// the backward pass needs (log2 of a magnitude bound plus fractional bits); ≤ 52 means every
    /// operation is exact in `f64` in any order, so any two correct engines agree bit for bit.
    /// Values are k/16 (|·| ≤ 1, 4 fractional bits), slopes k/8 (3), the batch a power of two
    /// (the 1/B of the loss adds log2 B fractional bits to every backward quantity).
    fn exact_bits(&self) -> f64 {
        let depth = self.layers.len();
        let batch = self.input.len() as f64;
        let widths = self.widths();
        let from = |l: usize| -> Option<usize> {
            self.shortcut.filter(|&s| l.is_multiple_of(s) && widths[l - s] == widths[l]).map(|s| l - s)
        };
        let extra = |a: Activation| if matches!(a, Activation::LeakyRelu { .. }) { SLOPE_BITS } else { 0.0 };
        let bits = |m: f64, f: f64| if m == 0.0 { 0.0 } else { m.log2() + f };
        let mut worst: f64 = 0.0;
        // Forward: magnitude bound m[l] of z_l and a_l, fractional bits f[l].
        let mut m = vec![1.0f64];
        let mut f = vec![VALUE_BITS];
        for l in 1..=depth {
            let (w, b, act) = &self.layers[l - 1];
            let mut ml: f64 = 0.0;
            for (j, row) in w.iter().enumerate() {
                let mut s: f64 = row.iter().map(|v| v.abs()).sum::<f64>() * m[l - 1];
                s += b.as_ref().map_or(0.0, |b| b[j].abs());
                if let Some(src) = from(l) {
                    s += m[src];
                }
                ml = ml.max(s);
            }
            let mut fl = (f[l - 1] + VALUE_BITS).max(VALUE_BITS);
            if let Some(src) = from(l) {
                fl = fl.max(f[src]);
            }
            worst = worst.max(bits(ml, fl));
            fl += extra(*act);
            worst = worst.max(bits(ml, fl));
            m.push(ml);
            f.push(fl);
        }
        // Loss: y − t (|t| ≤ 1), its square, the sum over B·n_L terms.
        let fy = f[depth].max(VALUE_BITS);
        let my = m[depth] + 1.0;
        worst = worst.max(bits(batch * widths[depth] as f64 * my * my, 2.0 * fy));
        // Backward: bound mg[l] of ∂L/∂a_l with fg[l] fractional bits.
        let mut mg = vec![0.0f64; depth + 1];
        let mut fg = vec![0.0f64; depth + 1];
        mg[depth] = 2.0 * my;
        fg[depth] = fy + batch.log2();
        for l in (1..=depth).rev() {
            let (w, _, act) = &self.layers[l - 1];
            let (md, fd) = (mg[l], fg[l] + extra(*act));
            worst = worst.max(bits(md, fd));
            worst = worst.max(bits(batch * m[l - 1] * md, f[l - 1] + fd));
            worst = worst.max(bits(batch * md, fd));
            if let Some(src) = from(l) {
                mg[src] += md;
                fg[src] = fg[src].max(fd);
            }
            if l > 1 {
                let n_in = widths[l - 1];
                let col_sum = (0..n_in).map(|i| w.iter().map(|row| row[i].abs()).sum::<f64>()).fold(0.0, f64::max);
                mg[l - 1] += col_sum * md;
                fg[l - 1] = fg[l - 1].max(fd + VALUE_BITS);
                worst = worst.max(bits(mg[l - 1], fg[l - 1]));
            }
        }
        worst
    }
}

/// Dense nets: the engine's `Dense` (squared error, per-sample normalisation) against the
/// oracle's tape. Layers the exactness bound cannot vouch for are dropped from the top.
fn exact_dense(bytes: &mut Bytes<'_>) {
    let n_input = bytes.int_in(1, 6);
    let n_layers = bytes.int_in(1, 8);
    let batch = 1 << bytes.int_in(0, 2); // 1, 2 or 4: 1/B must be exact
    let mut fan_in = n_input;
    let mut layers = Vec::with_capacity(n_layers);
    for _ in 0..n_layers {
        let width = bytes.int_in(1, 6);
        let weight: Vec<Vec<f64>> = (0..width).map(|_| (0..fan_in).map(|_| bytes.sixteenths(16)).collect()).collect();
        let bias = bytes.bool().then(|| (0..width).map(|_| bytes.sixteenths(16)).collect());
        layers.push((weight, bias, exact_activation(bytes)));
        fan_in = width;
    }
    let shortcut = if bytes.bool() { Some(bytes.int_in(1, 4)) } else { None };
    let input: Vec<Vec<f64>> = (0..batch).map(|_| (0..n_input).map(|_| bytes.sixteenths(16)).collect()).collect();
    let mut net = ExactNet { n_input, layers, shortcut, input };
    while net.exact_bits() > 52.0 && net.layers.len() > 1 {
        net.layers.pop();
    }
    if net.exact_bits() > 52.0 {
        return; // not provably exact: rounding may legitimately differ
    }
    net.shortcut = net.shortcut.filter(|&s| s <= net.layers.len());
    let n_out = net.layers.last().expect("at least one layer").0.len();
    let target: Vec<Vec<f64>> = (0..batch).map(|_| (0..n_out).map(|_| bytes.sixteenths(16)).collect()).collect();

    let oracle_layers = net
        .layers
        .iter()
        .map(|(w, b, a)| scalar::dense::DenseLayer { weight: w.clone(), bias: b.clone(), activation: *a })
        .collect();
    let want = scalar::dense::Dense::new(oracle_layers, net.shortcut)
        .expect("a valid net")
        .gradients(&net.input, &target, scalar::dense::Loss::SquaredError)
        .expect("a valid batch");

    let engine_layers = net
        .layers
        .iter()
        .map(|(w, b, a)| vectorised::DenseLayer::from_out_in(w, b.clone(), vectorised_activation(*a)).expect("valid"))
        .collect();
    let engine = vectorised::Dense::new(engine_layers, net.shortcut).expect("a valid net");
    let x: Vec<f64> = net.input.iter().flatten().copied().collect();
    let t: Vec<f64> = target.iter().flatten().copied().collect();
    let mut ws = vectorised::Workspace::new();
    let got = engine
        .gradients(
            vectorised::Batch::new(&x, batch, n_input).expect("a valid batch"),
            vectorised::Batch::new(&t, batch, n_out).expect("a valid batch"),
            vectorised::Loss::SquaredError,
            vectorised::Normalisation::PerSample,
            &mut ws,
        )
        .expect("valid inputs");
    assert_eq!(got.loss, want.loss, "loss");
    for (l, rows) in want.weight.iter().enumerate() {
        let n_out = rows.len();
        for (j, row) in rows.iter().enumerate() {
            for (i, &v) in row.iter().enumerate() {
                // The engine stores ∂L/∂W_l as [in][out].
                assert_eq!(got.weight[l][i * n_out + j], v, "layer {} ∂L/∂W[{j}][{i}]", l + 1);
            }
        }
        assert_eq!(got.bias[l], want.bias[l], "layer {} ∂L/∂b", l + 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Chain settings.

/// Values that stress a chain: zeros of both signs, the edges of `f64`, where `exp` overflows,
/// σ′'s steep tails, and plain numbers; index 0 reads 8 raw bytes as an `f64` (any bits,
/// including NaN and ±∞, which must be refused).
pub const EXTREMES: [f64; 31] = [
    0.0,
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    2.0,
    4.0,
    -4.0,
    8.0,
    40.0,
    -40.0,
    100.0,
    710.0,
    -745.0,
    1e10,
    -1e10,
    1e150,
    -1e150,
    1e300,
    -1e300,
    f64::MAX,
    f64::MIN,
    1e-300,
    -1e-300,
    f64::MIN_POSITIVE,
    5e-324,
    0.01,
    0.25,
    -0.25,
];

fn extreme(bytes: &mut Bytes<'_>) -> f64 {
    match usize::from(bytes.byte()) % (EXTREMES.len() + 16) {
        0 => f64::from_bits(bytes.u64()),
        i if i < EXTREMES.len() => EXTREMES[i],
        i => (i - EXTREMES.len()) as f64 / 4.0 - 2.0,
    }
}

fn any_activation(bytes: &mut Bytes<'_>) -> Activation {
    match bytes.int_in(0, 5) {
        0 => Activation::Sigmoid,
        1 => Activation::Tanh,
        2 => Activation::Relu,
        3 => Activation::LeakyRelu { slope: extreme(bytes) },
        4 => Activation::Softplus,
        _ => Activation::Identity,
    }
}

/// log10 of e.
const LOG10_E: f64 = std::f64::consts::LOG10_E;

/// A chain's settings as decoded from fuzz bytes (possibly invalid: that is part of the test).
#[derive(Debug, Clone)]
pub struct ChainSettings {
    /// D (0 is refused).
    pub depth: usize,
    /// Per layer.
    pub activations: Vec<Activation>,
    /// Per layer (any `f64`, non-finite ones refused).
    pub weights: Vec<f64>,
    /// Per layer, if any.
    pub biases: Option<Vec<f64>>,
    /// The span (0 or > D refused).
    pub shortcut: Option<usize>,
    /// x.
    pub x: f64,
    /// ŷ.
    pub target: f64,
}

impl ChainSettings {
    /// Decodes any bytes: depth ≤ 2048 (≤ 16 half the time), one activation or one per layer,
    /// weights and biases as a repeated pattern of up to 8 values from [`EXTREMES`] or raw bits.
    pub fn decode(data: &[u8]) -> ChainSettings {
        let mut bytes = Bytes::new(data);
        let depth = if bytes.bool() { bytes.int_in(0, 16) } else { bytes.int_in(0, 2048) };
        let uniform = bytes.bool();
        let first = any_activation(&mut bytes);
        let activations: Vec<Activation> =
            (0..depth).map(|d| if uniform || d == 0 { first } else { any_activation(&mut bytes) }).collect();
        let pattern = |bytes: &mut Bytes<'_>| -> Vec<f64> {
            let n = bytes.int_in(1, 8);
            let values: Vec<f64> = (0..n).map(|_| extreme(bytes)).collect();
            (0..depth).map(|d| values[d % n]).collect()
        };
        let weights = pattern(&mut bytes);
        let biases = if bytes.bool() { Some(pattern(&mut bytes)) } else { None };
        let shortcut = if bytes.bool() { Some(bytes.int_in(0, depth + 1)) } else { None };
        let x = extreme(&mut bytes);
        let target = extreme(&mut bytes);
        ChainSettings { depth, activations, weights, biases, shortcut, x, target }
    }
}

/// Chains of any activation, depth, weights, biases and shortcut, with extreme values: see the
/// [module docs](self).
///
/// # Panics
/// When a property fails.
pub fn check_chain_settings(data: &[u8]) {
    let ChainSettings { depth, activations, weights, biases, shortcut, x, target } = ChainSettings::decode(data);
    let slopes_finite = activations.iter().all(|f| !matches!(f, Activation::LeakyRelu { slope } if !slope.is_finite()));
    let valid = depth > 0
        && weights.iter().all(|w| w.is_finite())
        && biases.iter().flatten().all(|b| b.is_finite())
        && slopes_finite
        && shortcut.is_none_or(|s| (1..=depth).contains(&s));
    let chain = match Chain::new(weights, activations, biases, shortcut) {
        Ok(chain) => chain,
        Err(e) => {
            assert!(!valid, "a valid chain was refused: {e}");
            return assert_one_line(&e.to_string());
        }
    };
    assert!(valid, "an invalid chain was accepted: {chain:?}");
    if !(x.is_finite() && target.is_finite()) {
        return; // `report chain` refuses these at the flag (`parse_number`)
    }
    let trace = chain.forward(x);
    let forward_finite = trace.pre_activation.iter().all(|z| z.is_finite())
        && trace.output.is_finite()
        && (2.0 * (trace.output - target)).is_finite();
    let report = match chain_gradients(&chain, x, target) {
        Ok(report) => report,
        Err(e) => {
            let message = e.to_string();
            assert_one_line(&message);
            if forward_finite {
                // The only other refusal: values beyond Ext's safe range, which must be real.
                assert!(message.contains("beyond 2^±2^60"), "refused a chain whose f64 forward pass is finite: {e}");
                assert!(largest_log10(&chain, x, target) > 1e17, "refused as beyond range, but it is not: {e}");
            }
            return;
        }
    };
    assert!(forward_finite, "reported a chain whose f64 forward pass is not finite");
    assert_eq!(report.layers.len(), depth);
    for l in &report.layers {
        let g = l.exact_grad;
        assert!(g.is_finite(), "layer {}: a non-finite exact gradient", l.layer);
        // log10 |g| is finite, or None for an exact zero, and then sign and grad say 0.
        match l.log10_abs_grad {
            Some(v) => assert!(v.is_finite() && !g.is_zero() && l.sign == g.signum() as i8, "layer {}", l.layer),
            None => assert!(g.is_zero() && l.sign == 0 && l.grad == Some(0.0), "layer {}: {l:?}", l.layer),
        }
        // `grad` is the exact value correctly rounded, or None where that is ±∞ or a false 0.
        let rounded = g.to_f64();
        match l.grad {
            Some(v) => {
                assert!(v.is_finite(), "layer {}", l.layer);
                assert!(v == rounded || (g.is_zero() && v == 0.0), "layer {}: grad {v} vs exact {rounded}", l.layer);
                assert!(v != 0.0 || g.is_zero(), "layer {}: grad 0 for a non-zero gradient", l.layer);
                if v.is_normal() {
                    let lg = l.log10_abs_grad.expect("non-zero");
                    assert!((v.abs().log10() - lg).abs() <= 1e-12 * lg.abs().max(1.0), "layer {}", l.layer);
                }
            }
            None => assert!(rounded.is_infinite() || (rounded == 0.0 && !g.is_zero()), "layer {}", l.layer),
        }
    }
    if chain.shortcut().is_none() {
        independent_log_sum(&chain, x, target, &report);
    }
    vectorised_magnitudes_agree(&chain, x, target, &report);
    // The table: one row per layer, no bare NaN or inf.
    let table = report.to_markdown();
    let rows = table.lines().filter(|line| line.starts_with("| ") && !line.starts_with("| layer")).count();
    assert_eq!(rows, depth, "one table row per layer:\n{table}");
    assert_no_bare_non_finite(&table);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("the chain report is JSON");
    assert_eq!(json["layers"].as_array().map(Vec::len), Some(depth));
}

/// The largest |log10| of any forward value, activation derivative (from its own `ln |f′|`
/// formula, on the `f64` nearest z), δ or gradient of the chain's exact computation.
fn largest_log10(chain: &Chain, x: f64, target: f64) -> f64 {
    let trace = chain.forward_ext(x);
    let grads = chain.gradients_ext(x, target);
    let finite_abs = |l: f64| if l == f64::NEG_INFINITY { 0.0 } else { l.abs() };
    let mut worst: f64 = 0.0;
    for d in 0..chain.depth() {
        let z = trace.pre_activation[d];
        let ln = chain.activations()[d].ln_abs_derivative(z.to_f64());
        for l in [z.log10_abs(), trace.input[d].log10_abs(), grads.bias[d].log10_abs(), grads.weight[d].log10_abs()] {
            worst = worst.max(finite_abs(l));
        }
        // A smooth activation's f′ is never 0: ln |f′| = −∞ means it is below even f64's logs.
        let smooth = matches!(chain.activations()[d], Activation::Sigmoid | Activation::Tanh | Activation::Softplus);
        let never_zero = smooth && ln == f64::NEG_INFINITY;
        worst = worst.max(if ln.is_nan() || never_zero { f64::INFINITY } else { finite_abs(ln * LOG10_E) });
        if z.to_f64().is_infinite() {
            worst = f64::INFINITY;
        }
    }
    worst
}

/// Without a shortcut, ∂L/∂w_d = 2(y−ŷ)·u_d·f′_d(z_d)·∏_{k>d} w_k·f′_k(z_k): its sign and log10
/// are a product of signs and a sum of logs of the (exact) forward values, each factor's log from
/// the activation's own `ln |f′|` formula rather than the backward pass's product. They must
/// agree with the report; the tolerance is a few rounding errors per term of the sum.
fn independent_log_sum(chain: &Chain, x: f64, target: f64, report: &crate::reference::ChainReport) {
    let trace = chain.forward_ext(x);
    let depth = chain.depth();
    let seed = scalar::Ext::from_f64(2.0) * (trace.output - scalar::Ext::from_f64(target));
    // (log10 |factor|, sign) of each factor w_k·f′_k(z_k) and f′_d(z_d), from the top down.
    let derivative = |d: usize| {
        let f = chain.activations()[d];
        // Piecewise-linear derivatives depend on the sign of the exact z only (z may round to 0).
        let smooth = matches!(f, Activation::Sigmoid | Activation::Tanh | Activation::Softplus);
        let z = if smooth { trace.pre_activation[d].to_f64() } else { trace.pre_activation[d].signum() };
        let ln = f.ln_abs_derivative(z);
        let sign = f.derivative(z).signum();
        // f′ can round to ±0 in f64 while ln |f′| is finite: the sign of f′ is that of the slope
        // for leaky ReLU's z ≤ 0 and +1 for every other activation.
        let sign = if ln.is_finite() && f.derivative(z) == 0.0 { 1.0 } else { sign };
        (ln * LOG10_E, if ln == f64::NEG_INFINITY { 0.0 } else { sign })
    };
    let mut tail_log = seed.log10_abs();
    let mut tail_abs = seed.log10_abs().abs();
    let mut tail_sign = seed.signum();
    for d in (0..depth).rev() {
        let (lf, sf) = derivative(d);
        let u = trace.input[d];
        let log = tail_log + lf + u.log10_abs();
        let sum_abs = tail_abs + lf.abs() + u.log10_abs().abs();
        let sign = tail_sign * sf * u.signum();
        let layer = &report.layers[d];
        if sign == 0.0 || !log.is_finite() {
            assert!(layer.exact_grad.is_zero(), "layer {}: a factor is 0 but the gradient is not: {layer:?}", d + 1);
        } else {
            let got = layer.log10_abs_grad.unwrap_or_else(|| panic!("layer {}: exact 0, but no factor is 0", d + 1));
            let tol = 16.0 * (depth as f64 + 4.0) * f64::EPSILON * sum_abs + 1e-12;
            assert!((got - log).abs() <= tol, "layer {}: log10 |g| {got} vs independent {log} (tol {tol:e})", d + 1);
            assert_eq!(f64::from(layer.sign), sign, "layer {}: sign", d + 1);
        }
        let w = chain.weights()[d];
        tail_log += lf + w.abs().log10();
        tail_abs += lf.abs() + w.abs().log10().abs();
        tail_sign *= sf * w.signum() * f64::from(u8::from(w != 0.0));
        if tail_sign == 0.0 {
            tail_log = f64::NEG_INFINITY;
        }
    }
}

/// `vectorised`'s extended magnitudes (its own forward and backward, in `Scaled`) are finite in
/// log10 or exactly zero, and have the oracle's `Ext` bits (mantissa and exponent): both do the
/// same operations in the same order with one rounding each.
fn vectorised_magnitudes_agree(chain: &Chain, x: f64, target: f64, report: &crate::reference::ChainReport) {
    let acts = chain.activations().iter().map(|&f| vectorised_activation(f)).collect();
    let mut batch = vectorised::ChainBatch::new(1, chain.weights().to_vec(), acts).expect("a valid chain");
    if let Some(b) = chain.biases() {
        batch = batch.with_biases(b.to_vec()).expect("valid biases");
    }
    if let Some(s) = chain.shortcut() {
        batch = batch.with_shortcut(s).expect("a valid span");
    }
    let g = batch.gradients(&[x], &[target], vectorised::Magnitudes::Extended).expect("valid inputs");
    for (d, layer) in report.layers.iter().enumerate() {
        let (ours, exact) = (g.weight_scaled[d], layer.exact_grad);
        let log = ours.log10_abs();
        assert!(log.is_finite() || ours.is_zero(), "layer {}: vectorised log10 {log} of a non-zero value", d + 1);
        let same = (ours.is_zero() && exact.is_zero())
            || (ours.mantissa().to_bits() == exact.mantissa().to_bits() && ours.exponent() == exact.exponent());
        assert!(same, "layer {}: vectorised {ours} vs the oracle's {exact}", d + 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Report rendering.

/// Names the sections really use (including Markdown-sensitive characters such as `[±1/√n]`).
const NAMES: [&str; 8] = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "U[±1/√n]", "N(0, 1)", "He"];

fn finite(bytes: &mut Bytes<'_>) -> f64 {
    let v = extreme(bytes);
    if v.is_finite() { v } else { 0.5 }
}

/// A log10 value: finite (up to Ext's range, ±1.4e18) or −∞ (an exact zero).
fn log10_value(bytes: &mut Bytes<'_>) -> f64 {
    match bytes.byte() % 8 {
        0 => f64::NEG_INFINITY,
        1 => -1.38e18,
        _ => finite(bytes).clamp(-1.38e18, 1.38e18),
    }
}

fn share(bytes: &mut Bytes<'_>) -> f64 {
    f64::from(bytes.byte()) / 255.0
}

fn name(bytes: &mut Bytes<'_>) -> String {
    NAMES[usize::from(bytes.byte()) % NAMES.len()].to_string()
}

fn classic_runs(bytes: &mut Bytes<'_>) -> ClassicRuns {
    ClassicRuns {
        task: if bytes.bool() { "AND" } else { "XOR" }.into(),
        hidden_layers: bytes.int_in(0, 3),
        bias: bytes.bool(),
        bug: Bug::None,
        constant_loss: finite(bytes),
        success_rate: share(bytes),
        median_epochs_to_target: bytes.bool().then(|| bytes.int_in(0, 5000)),
        median_final_loss: finite(bytes),
        plateau_share: share(bytes),
        stuck_share: share(bytes),
        median_hidden_spread: bytes.bool().then(|| finite(bytes)),
        non_finite_runs: bytes.int_in(0, 3),
    }
}

/// A well-formed [`Report`] from fuzz bytes. Sections 1, 2, 3 and 6 are generated, in the shapes
/// the sections produce (depth ≥ 1, one
/// underflow depth per float format, per-layer vectors of the section's depth or shorter,
/// configurations grouped by activation) with arbitrary finite numbers, −∞ where a log10 may
/// stand for an exact zero and ∞ where q* may grow without bound; the others are a real quick
/// run's.
pub fn arbitrary_report(data: &[u8]) -> Report {
    let mut bytes = Bytes::new(data);
    let b = &mut bytes;
    let config = Config {
        seed: b.u64(),
        samples: b.int_in(1, 100_000),
        max_depth: b.int_in(1, 1_000_000),
        epochs: b.int_in(1, 5000),
        quick: b.bool(),
    };
    let worked_layers = (0..b.int_in(0, 12))
        .map(|d| WorkedLayer {
            layer: d + 1,
            pre_activation: finite(b),
            input: finite(b),
            derivative: finite(b),
            grad: finite(b),
            bound: finite(b),
            ratio_to_last: finite(b),
        })
        .collect::<Vec<_>>();
    let worked = WorkedChain {
        depth: worked_layers.len(),
        weight: finite(b),
        input: finite(b),
        target: finite(b),
        output: finite(b),
        loss: finite(b),
        layers: worked_layers,
    };
    let max_depth = config.max_depth;
    let mut decay_configs: Vec<DecayConfig> = (0..b.int_in(0, 6))
        .map(|_| {
            let shortcut = if b.bool() { Some(b.int_in(1, 4)) } else { None };
            DecayConfig {
                activation: name(b),
                shortcut,
                rows: (0..b.int_in(0, 8))
                    .map(|_| DecayRow {
                        depth: b.int_in(1, max_depth),
                        p10: log10_value(b),
                        median: log10_value(b),
                        p90: log10_value(b),
                        bound_median: b.bool().then(|| log10_value(b)),
                        zero_share: share(b),
                        f16_loss_scale_log2: b.bool().then(|| b.int_in(0, 2000) as i64),
                    })
                    .collect(),
                decades_per_layer: b.bool().then(|| finite(b)),
                bound_decades_per_layer: b.bool().then(|| finite(b)),
                expected_bound_decades_per_layer: b.bool().then(|| finite(b)),
                underflow_depth: scalar::FloatFormat::ALL
                    .iter()
                    .map(|_| b.bool().then(|| b.int_in(1, max_depth)))
                    .collect(),
                non_finite_chains: if b.byte().is_multiple_of(8) { b.int_in(1, 10) } else { 0 },
            }
        })
        .collect();
    decay_configs.sort_by_key(|c| NAMES.iter().position(|n| *n == c.activation));
    let depths = (0..b.int_in(1, 8)).map(|_| b.int_in(1, max_depth)).collect();
    let decay = Decay { max_depth, samples: config.samples, depths, configs: decay_configs };
    let dense_depth = b.int_in(1, 12);
    let mut init_configs: Vec<InitConfig> = (0..b.int_in(0, 8))
        .map(|_| {
            let per_layer = |b: &mut Bytes<'_>| -> Vec<f64> {
                let n = if b.byte().is_multiple_of(8) { b.int_in(0, dense_depth) } else { dense_depth };
                (0..n).map(|_| log10_value(b)).collect()
            };
            InitConfig {
                activation: name(b),
                init: name(b),
                sigma_w2: finite(b).abs(),
                q_star: if b.byte().is_multiple_of(8) { f64::INFINITY } else { finite(b).abs() },
                chi_1: finite(b).abs(),
                activation_grad: per_layer(b),
                weight_grad: per_layer(b),
                predicted: per_layer(b),
                measured_slope: b.bool().then(|| finite(b)),
                predicted_slope: b.bool().then(|| finite(b)),
                non_finite: None,
                phase: ["vanishing", "critical", "exploding"][b.int_in(0, 2)].into(),
                gap_at_layer_1: b.bool().then(|| finite(b)),
            }
        })
        .collect();
    init_configs.sort_by_key(|c| NAMES.iter().position(|n| *n == c.activation));
    let dense_init = DenseInit {
        width: b.int_in(1, 1024),
        depth: dense_depth,
        batch: b.int_in(1, 1024),
        nets: b.int_in(1, 100),
        configs: init_configs,
    };
    let runs = (0..b.int_in(0, 8)).map(|_| classic_runs(b)).collect();
    let bugs = (0..b.int_in(0, 4))
        .map(|i| {
            let bug = Bug::ALL[i];
            BugCase {
                bug,
                description: bug.describe().into(),
                task: "XOR".into(),
                gradient_check_passed: b.bool(),
                worst: b.bool().then(|| ("W1[0][1]".to_string(), finite(b), finite(b))),
                training: classic_runs(b),
                diagnosis: "the gradient check fails at the first step".into(),
            }
        })
        .collect();
    let classic = Classic { epochs: config.epochs, seeds: b.int_in(1, 1000), runs, bugs };
    // The sections not generated here come from one real quick run, computed once.
    Report { config, worked, decay, dense_init, classic, ..computed_sections().clone() }
}

/// A real report (`--quick`, seed 1), computed once per process, for the sections
/// [`arbitrary_report`] does not generate.
fn computed_sections() -> &'static Report {
    static REPORT: std::sync::OnceLock<Report> = std::sync::OnceLock::new();
    REPORT.get_or_init(|| crate::sections::compute(&Config::new(1, true)))
}

/// Tables of a Markdown text: for each maximal block of lines starting with `|`, the number of
/// cells of its header and of each body row (after the `|---|` line). Escaped pipes (`\|`) are
/// part of a cell.
pub fn markdown_tables(text: &str) -> Vec<(usize, Vec<usize>)> {
    let cells = |line: &str| line.replace("\\|", "").matches('|').count().saturating_sub(1);
    let mut tables = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.starts_with('|') {
            block.push(line);
        } else if !block.is_empty() {
            let header = cells(block[0]);
            tables.push((header, block.iter().skip(2).map(|l| cells(l)).collect()));
            block.clear();
        }
    }
    tables
}

/// The Markdown split at its `## ` headings: (heading, text up to the next heading).
pub fn markdown_sections(text: &str) -> Vec<(&str, &str)> {
    let mut starts: Vec<usize> = text.match_indices("\n## ").map(|(i, _)| i + 1).collect();
    if text.starts_with("## ") {
        starts.insert(0, 0);
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &start)| {
            let end = starts.get(k + 1).copied().unwrap_or(text.len());
            let body = &text[start..end];
            (body.lines().next().unwrap_or(""), body)
        })
        .collect()
}

/// Per section of [`crate::render::markdown`] (by the start of its heading), the number of body
/// rows its tables must have, in order, and whether that list is the whole section (`true`) or
/// only its first tables (`false`, for sections whose further tables are not one row per datum).
/// One row per: worked layer; decay configuration, then decay row (for each configuration with
/// rows); init configuration, then layer (two tables per activation); classic run, then bug.
/// The other sections are checked for rows as wide as their headers only.
pub fn expected_table_rows(report: &Report) -> Vec<(&'static str, Vec<usize>, bool)> {
    let mut decay = vec![report.decay.configs.len()];
    decay.extend(report.decay.configs.iter().map(|c| c.rows.len()).filter(|&n| n > 0));
    let mut dense = vec![report.dense_init.configs.len()];
    let mut activations: Vec<&str> = report.dense_init.configs.iter().map(|c| c.activation.as_str()).collect();
    activations.dedup();
    for _ in activations {
        dense.extend([report.dense_init.depth, report.dense_init.depth]);
    }
    vec![
        ("## 1.", vec![report.worked.layers.len()], true),
        ("## 2.", decay, true),
        ("## 3.", dense, true),
        ("## 6.", vec![report.classic.runs.len(), report.classic.bugs.len()], true),
    ]
}

/// Report rendering: see the [module docs](self).
///
/// # Panics
/// When a property fails.
pub fn check_report_rendering(data: &[u8]) {
    let report = arbitrary_report(data);
    for plots in [None, Some("plots")] {
        let text = crate::render::markdown(&report, plots);
        // Every section: numfmt's loud fallback never shows, nor does Rust's `inf`. (Section 7's
        // prose names "NaN" as a symptom, so bare `NaN` is checked in the generated sections.)
        assert!(!text.contains("non-finite ("), "numfmt's non-finite fallback in:\n{text}");
        assert!(!text.split_whitespace().any(|w| w.trim_matches(|c: char| "|(),;:".contains(c)).ends_with("inf")));
        for (header, body) in markdown_tables(&text) {
            assert!(body.iter().all(|&n| n == header), "a row wider or narrower than its header:\n{text}");
        }
        let sections = markdown_sections(&text);
        for (prefix, want, whole) in expected_table_rows(&report) {
            let (_, body) = sections
                .iter()
                .find(|(heading, _)| heading.starts_with(prefix))
                .unwrap_or_else(|| panic!("no section {prefix}:\n{text}"));
            assert_no_bare_non_finite(body);
            let rows: Vec<usize> = markdown_tables(body).iter().map(|(_, rows)| rows.len()).collect();
            let got = if whole { &rows[..] } else { &rows[..want.len().min(rows.len())] };
            assert_eq!(got, &want[..], "{prefix}: one table row per data row:\n{body}");
        }
    }
    let json = crate::render::json(&report);
    let value: serde_json::Value = serde_json::from_str(&json).expect("the report is JSON");
    for section in ["worked", "decay", "dense_init", "classic"] {
        assert_no_bare_non_finite(&value[section].to_string());
    }
    assert_eq!(value["decay"]["configs"].as_array().map(Vec::len), Some(report.decay.configs.len()));
    for (name, svg) in crate::render::svg::decay_plots(&report.decay) {
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{name}");
        assert_no_bare_non_finite(&svg);
    }
}

/// No `NaN`, `inf` or `non-finite (…)` as a word: a non-finite value is shown only as its
/// explanation (`−∞ (exact 0)`, `∞ (grows every layer)`, `overflows`).
pub fn assert_no_bare_non_finite(text: &str) {
    for bad in ["NaN", "inf", "non-finite ("] {
        let mut rest = text;
        while let Some(i) = rest.find(bad) {
            let before = rest[..i].chars().next_back().is_some_and(char::is_alphabetic);
            let after = rest[i + bad.len()..].chars().next().is_some_and(char::is_alphabetic);
            assert!(before || after, "a bare {bad:?} in the output:\n{text}");
            rest = &rest[i + bad.len()..];
        }
    }
}
