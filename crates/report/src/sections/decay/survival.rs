//! Survival of bias-free width-1 ReLU chains against their depth D.
//!
//! ∂L/∂w_d = δ_d·u_d is non-zero only if u_d ≠ 0 (layers 1…d − 1 active) and δ_d ≠ 0 (layers
//! d…D active, ReLU′(z) = 1 only for z > 0): so only if **all D units are active**, the same
//! condition at every layer. Unit d is active iff w_d·u_d > 0; u_d > 0 for d ≥ 2 (an active ReLU's output) and
//! u_1 = x, so it is active iff sign(w_d) = sign(u_d): a fair coin, independent of the others and
//! of every |w|. Hence
//!
//! ```text
//! P(∂L/∂w_d ≠ 0) = 2^−D   at every layer d,   binomial standard error √(2^−D(1 − 2^−D)/n)
//! ```
//!
//! and conditioned on survival the chain is the same draw with every sign made positive (the
//! section's [`ChainSet::Live`](super::ChainSet::Live)). Each depth's chains come from their own
//! random stream, drawn like the section's chains (D weights, x, ŷ).

use super::super::{Config, Stream, stream_rng};
use rayon::prelude::*;
use scalar::Activation;
use scalar::chain::Chain;
use serde::Serialize;

/// Chains per depth in the default report: 2^15, so that even at D = 10 about 32 survive.
pub const CHAINS: usize = 1 << 15;

/// Chains per depth in the quick report.
pub const QUICK_CHAINS: usize = 1 << 10;

/// The deepest chain measured (default report); depths 1…this.
pub const MAX_DEPTH: usize = 10;

/// The deepest chain measured in the quick report.
pub const QUICK_MAX_DEPTH: usize = 5;

/// Survival against chain depth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Survival {
    /// Chains drawn per depth.
    pub chains: usize,
    /// One row per depth D = 1, 2, …
    pub rows: Vec<SurvivalRow>,
}

/// One chain depth's counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurvivalRow {
    /// D.
    pub depth: usize,
    /// Chains whose ∂L/∂w_d is non-zero at every layer.
    pub live_everywhere: usize,
    /// Chains whose ∂L/∂w_d is non-zero at some layer (equal to `live_everywhere` if the
    /// all-or-nothing argument holds).
    pub live_somewhere: usize,
    /// `live_everywhere` / chains.
    pub share: f64,
    /// 2^−D.
    pub expected_share: f64,
    /// √(2^−D(1 − 2^−D)/chains).
    pub standard_error: f64,
    /// (share − 2^−D) / standard error.
    pub deviation: f64,
}

/// Draws and counts the chains.
pub fn compute(config: &Config) -> Survival {
    let (chains, max_depth) = if config.quick { (QUICK_CHAINS, QUICK_MAX_DEPTH) } else { (CHAINS, MAX_DEPTH) };
    let rows = (1..=max_depth)
        .map(|depth| {
            let counts: Vec<(bool, bool)> =
                (0..chains).into_par_iter().map(|i| live(config.seed, depth, i as u64)).collect();
            let live_everywhere = counts.iter().filter(|(every, _)| *every).count();
            let live_somewhere = counts.iter().filter(|(_, some)| *some).count();
            let expected_share = 0.5f64.powi(depth as i32);
            let standard_error = (expected_share * (1.0 - expected_share) / chains as f64).sqrt();
            let share = live_everywhere as f64 / chains as f64;
            SurvivalRow {
                depth,
                live_everywhere,
                live_somewhere,
                share,
                expected_share,
                standard_error,
                deviation: (share - expected_share) / standard_error,
            }
        })
        .collect();
    Survival { chains, rows }
}

/// Chain `index` of depth `depth`: (∂L/∂w_d ≠ 0 at every layer, at some layer), in `Ext`.
pub fn live(seed: u64, depth: usize, index: u64) -> (bool, bool) {
    let (chain, x, target) = draw(seed, depth, index);
    let g = chain.gradients_ext(x, target);
    (g.weight.iter().all(|g| !g.is_zero()), g.weight.iter().any(|g| !g.is_zero()))
}

/// Chain `index` of depth `depth` with its input and target.
pub fn draw(seed: u64, depth: usize, index: u64) -> (Chain, f64, f64) {
    let mut rng = stream_rng(seed, Stream::DecaySurvival { depth }, index);
    let weights: Vec<f64> = (0..depth).map(|_| rng.normal()).collect();
    let x = rng.normal();
    let target = rng.uniform(0.0, 1.0);
    (Chain::uniform(Activation::Relu, weights).expect("finite N(0,1) weights"), x, target)
}
