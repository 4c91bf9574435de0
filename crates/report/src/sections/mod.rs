//! The report's sections: each computes plain data from the engines; `render` turns the data into
//! text, and `commands::report` runs them. Sections import neither the command line, the
//! renderer, the commands nor I/O (CI checks it).
//!
//! Every random draw comes from [`stream_rng`]`(seed, stream, index)` with a named [`Stream`]: one
//! independent stream per section, configuration and sample, so the results do not depend on the
//! order in which threads pick up work — the same seed gives the same bytes on any thread count.

pub mod bootstrap;
pub mod classic;
pub mod correlation;
pub mod critical_depth;
pub mod criticality;
pub mod decay;
pub mod dense_init;
pub mod exploding;
pub mod handwritten;
pub mod isometry;
pub mod meanfield;
pub mod references;
pub mod remedies;
pub mod shortcuts;
pub mod stats;
pub mod streams;
pub mod symptoms;
pub mod worked;

use serde::Serialize;
pub use streams::{Stream, stream_rng};

/// A value that reads as its name for people: `render::labels` says the name (every string a
/// person or program reads is made in `render`), and the JSON carries that same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label<T>(pub T);

/// What to compute (the command line validates it: `commands::report`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// The seed of every random draw.
    pub seed: u64,
    /// Samples per measured configuration.
    pub samples: usize,
    /// Chains per configuration of the decay section (its own count: its chains run on the
    /// engine, a block at a time; [`DECAY_SAMPLES_PER_SAMPLE`] × `samples` by default).
    pub decay_samples: usize,
    /// The deepest chain in the decay section.
    pub max_depth: usize,
    /// Training epochs per run in the classic section.
    pub epochs: usize,
    /// Whether this is the small configuration.
    pub quick: bool,
}

/// The decay section's chains per sample of the other sections, by default: ten times the
/// chains give its percentiles at every layer and its bootstrap errors (about √10 smaller). Its
/// chains run on the engine's batched extended pass; what they cost is in docs/performance.md.
pub const DECAY_SAMPLES_PER_SAMPLE: usize = 10;

impl Config {
    /// The default configuration (`quick` for the small one).
    pub fn new(seed: u64, quick: bool) -> Config {
        let (samples, max_depth, epochs) = if quick { (24, 64, 300) } else { (200, 1000, 2000) };
        Config { seed, samples, decay_samples: DECAY_SAMPLES_PER_SAMPLE * samples, max_depth, epochs, quick }
    }
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// How it was computed.
    pub config: Config,
    /// Section 1.
    pub worked: worked::WorkedChain,
    /// Section 2.
    pub decay: decay::Decay,
    /// Section 3.
    pub dense_init: dense_init::DenseInit,
    /// Section 3's dynamical isometry: the input–output Jacobian's singular values.
    pub isometry: isometry::Isometry,
    /// Section 4.
    pub exploding: exploding::Exploding,
    /// Section 5.
    pub remedies: remedies::Remedies,
    /// Section 5's shortcuts, shown working.
    pub shortcuts: shortcuts::Shortcuts,
    /// Section 6.
    pub classic: classic::Classic,
    /// Section 7.
    pub symptoms: Vec<symptoms::Symptom>,
    /// The last section: the papers, and their claims beside our numbers.
    pub references: references::References,
}

/// Computes every section (in the current rayon pool).
pub fn compute(config: &Config) -> Report {
    compute_with_progress(config, |_| {})
}

/// The computed sections, in the report's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Section 1.
    Worked,
    /// Section 2.
    Decay,
    /// Section 3.
    DenseInit,
    /// Section 3's dynamical isometry.
    Isometry,
    /// Section 4.
    Exploding,
    /// Section 5.
    Remedies,
    /// Section 5's shortcuts.
    Shortcuts,
    /// Section 6 (section 7 and the references read the others and cost nothing).
    Classic,
}

/// Every [`Section`], in order.
pub const SECTIONS: [Section; 8] = [
    Section::Worked,
    Section::Decay,
    Section::DenseInit,
    Section::Isometry,
    Section::Exploding,
    Section::Remedies,
    Section::Shortcuts,
    Section::Classic,
];

/// [`compute`], calling `finished(section)` as each of [`SECTIONS`] ends.
///
/// The sections run side by side as tasks of the current pool, started costliest first (sections
/// 3, 2 and 4 at the default sizes), so that one section's serial stretches (summaries, bootstrap
/// resamples, its last few networks) overlap another's parallel work instead of leaving threads
/// idle. Each section's results depend only on its own random streams, never on which thread ran
/// what when: the same bits however the sections interleave.
pub fn compute_with_progress(config: &Config, finished: impl Fn(Section) + Sync) -> Report {
    let (mut worked, mut decay, mut dense_init, mut isometry) = (None, None, None, None);
    let (mut exploding, mut remedies, mut shortcuts, mut classic) = (None, None, None, None);
    let finished = &finished;
    rayon::scope_fifo(|scope| {
        // Each task computes one section into its slot, then says so.
        macro_rules! spawn {
            ($slot:ident = $compute:expr, $section:expr) => {
                scope.spawn_fifo(|_| {
                    $slot = Some($compute);
                    finished($section);
                })
            };
        }
        spawn!(dense_init = dense_init::compute(config), Section::DenseInit);
        spawn!(decay = decay::compute(config), Section::Decay);
        spawn!(exploding = exploding::compute(config), Section::Exploding);
        spawn!(remedies = remedies::compute(config), Section::Remedies);
        spawn!(classic = classic::compute(config), Section::Classic);
        spawn!(isometry = isometry::compute(config), Section::Isometry);
        spawn!(shortcuts = shortcuts::compute(config), Section::Shortcuts);
        spawn!(worked = worked::compute(), Section::Worked);
    });
    let done = "every section's task has run when the scope ends";
    let (worked, decay, dense_init) = (worked.expect(done), decay.expect(done), dense_init.expect(done));
    let (exploding, remedies, classic) = (exploding.expect(done), remedies.expect(done), classic.expect(done));
    let symptoms = symptoms::compute(&exploding, &remedies, &classic);
    let references = references::compute(&worked, &decay, &dense_init, &exploding, &remedies);
    Report {
        config: config.clone(),
        worked,
        decay,
        dense_init,
        isometry: isometry.expect(done),
        exploding,
        remedies,
        shortcuts: shortcuts.expect(done),
        classic,
        symptoms,
        references,
    }
}

/// The vectorised engine's name for an activation of the oracle's.
pub fn engine_activation(f: scalar::Activation) -> vectorised::Activation {
    match f {
        scalar::Activation::Sigmoid => vectorised::Activation::Sigmoid,
        scalar::Activation::Tanh => vectorised::Activation::Tanh,
        scalar::Activation::Relu => vectorised::Activation::Relu,
        scalar::Activation::LeakyRelu { slope } => vectorised::Activation::LeakyRelu { slope },
        scalar::Activation::Softplus => vectorised::Activation::Softplus,
        scalar::Activation::Identity => vectorised::Activation::Identity,
        scalar::Activation::Gelu => vectorised::Activation::Gelu,
        scalar::Activation::Silu => vectorised::Activation::Silu,
    }
}

/// The vectorised engine's name for a shortcut form of the oracle's.
pub fn engine_skip(skip: scalar::Skip) -> vectorised::Skip {
    match skip {
        scalar::Skip::PreActivation => vectorised::Skip::PreActivation,
        scalar::Skip::Identity => vectorised::Skip::Identity,
    }
}
