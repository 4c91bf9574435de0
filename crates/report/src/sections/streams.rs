//! The report's random streams: every random draw comes from [`stream_rng`]`(seed, stream,
//! index)`, one independent stream per section, configuration and sample, so the results do not
//! depend on the order in which threads pick up work — the same seed gives the same bytes on any
//! thread count.
//!
//! A stream is named by a [`Stream`]; [`Stream::id`] is the number that is mixed into the seed.
//! The numbers are part of the report's output (they decide every draw), so they never change:
//! the section in bits 16 and up, its configuration below.

use scalar::rng::{Rng, SplitMix64};

/// A named random stream of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Section 2: the chains of activation `activation` (an index into
    /// [`ACTIVATIONS`](super::decay::ACTIVATIONS)) and shortcut `shortcut` (an index into
    /// [`SHORTCUTS`](super::decay::SHORTCUTS)).
    Decay {
        /// Index of the activation.
        activation: usize,
        /// Index of the shortcut span.
        shortcut: usize,
    },
    /// Section 2: the bootstrap resamples of configuration (`activation`, `shortcut`, `live`)'s
    /// chains behind the standard error of `quantity`'s slope (0: weight gradient, 1: backward
    /// factor, 2: forward signal; below 4).
    DecayBootstrap {
        /// Index of the activation.
        activation: usize,
        /// Index of the shortcut span.
        shortcut: usize,
        /// Whether these are the live (folded) chains.
        live: bool,
        /// Which slope.
        quantity: usize,
    },
    /// Section 2: the ReLU chains of depth `depth` whose survival is counted.
    DecaySurvival {
        /// D.
        depth: usize,
    },
    /// Section 3: the weights and data of initialisation scheme `scheme` (the same for every
    /// activation: a controlled comparison).
    DenseInit {
        /// Index of the scheme.
        scheme: usize,
    },
    /// Section 3: the probe seeds (independent of the weights) of scheme `scheme`'s networks.
    DenseInitProbe {
        /// Index of the scheme (as in [`Stream::DenseInit`]).
        scheme: usize,
    },
    /// Section 3: the bootstrap resamples of configuration `config`.
    DenseInitBootstrap {
        /// Index of the configuration (activation-major).
        config: usize,
    },
    /// Section 3: the bias-free sigmoid networks measured around the critical σ_w², one index per
    /// network (the same draws, scaled, at every σ_w²).
    SigmoidCritical,
    /// Section 3: the networks run through depth on and off the critical line, one index per
    /// network (the same draws, scaled, for every setting).
    CriticalDepth,
    /// Section 3, dynamical isometry: network `index`'s unit-scale weights, biases and input for
    /// weight distribution `weights` (an index into
    /// [`Weights::ALL`](super::isometry::Weights::ALL)), the same for every activation.
    Isometry {
        /// Index of the weight distribution.
        weights: usize,
    },
    /// Section 4: the exploding nets.
    Exploding,
    /// Section 4: the networks of gain `gain` (an index into
    /// [`GAINS`](super::exploding::GAINS)) measured for their spread, one index per network.
    ExplodingSpread {
        /// Index of the gain.
        gain: usize,
    },
    /// Section 4: the bootstrap resamples of gain `gain`'s statistics, one index per statistic.
    ExplodingBootstrap {
        /// Index of the gain.
        gain: usize,
    },
    /// Section 5: the training data, the same for every variant.
    RemediesData,
    /// Section 5: the initial weights of the networks with `hidden` hidden layers of `width`
    /// units (every row with those widths, whatever its activation, skip or training; the
    /// initialisation scheme transforms the same draws). 1 ≤ width < 128, hidden < 256.
    RemediesWeights {
        /// Hidden layers.
        hidden: usize,
        /// Units per hidden layer.
        width: usize,
    },
    /// Section 5's shortcuts: ReLU network `index` (weights, inputs, probe), the same for every
    /// shortcut form.
    ShortcutsRelu,
    /// Section 5's shortcuts: sigmoid network `index`, the same for every shortcut form.
    ShortcutsSigmoid,
    /// Section 5's shortcuts: residual network `index`, the same draws for every branch scale.
    ShortcutsGrowth,
    /// Section 6: the runs of task `task` (0: AND, 1: XOR) with `hidden` hidden layers, with or
    /// without biases.
    ClassicRuns {
        /// Index of the task.
        task: usize,
        /// Hidden layers (0–3).
        hidden: usize,
        /// Whether the net has biases.
        bias: bool,
    },
    /// Section 6: the net of bug case `bug` (an index into `Bug::ALL`).
    ClassicBug {
        /// Index of the bug.
        bug: usize,
    },
    /// The budget's measurement of this machine's rate (not part of any section).
    RateProbe,
}

impl Stream {
    /// The stream's number: `section << 16`, with the configuration in the bits below.
    pub const fn id(self) -> u64 {
        match self {
            Stream::Decay { activation, shortcut } => (2 << 16) | (activation as u64) << 8 | shortcut as u64,
            Stream::DecayBootstrap { activation, shortcut, live, quantity } => {
                (2 << 16)
                    | (1 << 15)
                    | (quantity as u64) << 13
                    | (live as u64) << 12
                    | (activation as u64) << 8
                    | shortcut as u64
            }
            Stream::DecaySurvival { depth } => (2 << 16) | (1 << 14) | depth as u64,
            Stream::DenseInit { scheme } => (3 << 16) | scheme as u64,
            Stream::DenseInitProbe { scheme } => (3 << 16) | (1 << 12) | scheme as u64,
            Stream::DenseInitBootstrap { config } => (3 << 16) | (2 << 12) | config as u64,
            Stream::SigmoidCritical => (3 << 16) | (3 << 12),
            Stream::CriticalDepth => (3 << 16) | (4 << 12),
            // 0xA in bits 12–15: clear of §3's other configurations above.
            Stream::Isometry { weights } => (3 << 16) | (0xA << 12) | weights as u64,
            Stream::Exploding => 4 << 16,
            Stream::ExplodingSpread { gain } => (4 << 16) | (1 << 12) | gain as u64,
            Stream::ExplodingBootstrap { gain } => (4 << 16) | (2 << 12) | gain as u64,
            Stream::RemediesData => 5 << 16,
            // Bit 15 with width ≥ 1 in bits 8 and up: apart from §5.1's streams below (bits 0–1).
            Stream::RemediesWeights { hidden, width } => (5 << 16) | (1 << 15) | (width as u64) << 8 | hidden as u64,
            Stream::ShortcutsRelu => (5 << 16) | (1 << 15),
            Stream::ShortcutsSigmoid => (5 << 16) | (1 << 15) | 1,
            Stream::ShortcutsGrowth => (5 << 16) | (1 << 15) | 2,
            Stream::ClassicRuns { task, hidden, bias } => {
                (6 << 16) | (task as u64) << 8 | (hidden as u64) << 1 | bias as u64
            }
            Stream::ClassicBug { bug } => (6 << 16) | (1 << 12) | bug as u64,
            Stream::RateProbe => u64::MAX,
        }
    }
}

/// An independent random stream for (`seed`, `stream`, `index`): SplitMix64 applied in turn to
/// the seed, the stream's [id](Stream::id) and the index, then xoshiro256** seeded from the
/// result.
pub fn stream_rng(seed: u64, stream: Stream, index: u64) -> Rng {
    let mix = |x: u64| SplitMix64::new(x).next_u64();
    Rng::new(mix(mix(mix(seed) ^ stream.id()) ^ index))
}
