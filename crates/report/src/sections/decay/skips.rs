//! Section 2's shortcuts, in two forms.
//!
//! Today's shortcut joins before f (a_m = f(w·a_{m−1} + a_{m−s}), the pre-activation form), so
//! its path still meets f′; the identity skip joins after it
//! (a_m = a_{m−s} + f(w·a_{m−1})) and bypasses f′ (docs/derivation.md §5a). Per block of s layers
//! the backward factor at the layers m the skip leaves obeys
//!
//! ```text
//! pre-activation   ∂L/∂a_m = f′(z_{m+s})·(1 + P′_m)·∂L/∂a_{m+s},   P′_m = ∏_{j=1}^{s} w_{m+j}·∏_{j=1}^{s−1} f′(z_{m+j})
//! identity         ∂L/∂a_m = (1 + P_m)·∂L/∂a_{m+s},                P_m  = ∏_{j=1}^{s} w_{m+j}·f′(z_{m+j})
//! ```
//!
//! so, with |f′| ≤ sup|f′|, independent w ~ N(0, 1) (E|w| = √(2/π)) and Jensen's inequality
//! (E log|1 + P| ≤ log(1 + E|P|)), the expected slope per layer is at most
//! [log10 sup|f′| + log10(1 + sup|f′|^{s−1}·(2/π)^{s/2})]/s for the pre-activation form (−0.27 for
//! a sigmoid with s = 2: at least the skip path's 1/4 per block) and log10(1 + sup|f′|^s·(2/π)^{s/2})/s
//! for the identity form ([`skip_slope_bound`]), whose predicted slope is 0: the 1 of the identity
//! path, with P_m → 0 as the branch's first unit saturates on the growing skipped signal. The
//! identity rows (sigmoid, [`IDENTITY_SKIP_SPANS`]) reuse the draws of the pre-activation rows of
//! the same span (common random numbers), use chains of depth s·⌊D/s⌋ so that the output layer
//! is one the skip joins, and are measured at the layers the skip joins (each reported depth
//! moved to the nearest such layer at or below it), where the recursion above holds.

use scalar::Activation;
use serde::Serialize;

/// The activation measured with the identity skip as well (the one whose pre-activation
/// shortcut cannot help: its skip path meets σ′ ≤ 1/4).
pub const IDENTITY_SKIP_ACTIVATION: Activation = Activation::Sigmoid;

/// The spans of the identity-skip rows (those of today's shortcut rows).
pub const IDENTITY_SKIP_SPANS: [usize; 2] = [2, 3];

/// Where a configuration's shortcut joins (`scalar::Skip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SkipForm {
    /// a_m = f(w·a_{m−1} + a_{m−s}): the skip path meets f′.
    PreActivation,
    /// a_m = a_{m−s} + f(w·a_{m−1}): the skip path bypasses f′.
    Identity,
}

/// The upper bound on the expected backward slope (decades per layer) of a chain of `activation`
/// with N(0, 1) weights and a shortcut of span `span` joining in `form` (module docs):
/// [log10 sup|f′| + log10(1 + sup|f′|^{s−1}·(2/π)^{s/2})]/s before f,
/// log10(1 + sup|f′|^s·(2/π)^{s/2})/s after it.
pub fn skip_slope_bound(activation: Activation, span: usize, form: SkipForm) -> f64 {
    let sup = activation.sup_derivative();
    let s = span as f64;
    let mean_abs_w_product = (2.0 / std::f64::consts::PI).powf(s / 2.0); // E ∏_{j=1}^{s} |w_j|
    match form {
        SkipForm::PreActivation => (sup.log10() + (1.0 + sup.powf(s - 1.0) * mean_abs_w_product).log10()) / s,
        SkipForm::Identity => (1.0 + sup.powf(s) * mean_abs_w_product).log10() / s,
    }
}

/// The reported depths moved, for the identity skip of span `span` on chains of depth
/// `chain_depth` (a multiple of the span), to the layers the skip joins: depth k is layer
/// D − k + 1, moved down to the nearest multiple of s (at least s), and back to its depth;
/// duplicates removed.
pub fn identity_depths(depths: &[usize], chain_depth: usize, span: usize) -> Vec<usize> {
    let mut moved: Vec<usize> = depths
        .iter()
        .map(|&k| {
            let layer = (chain_depth + 1).saturating_sub(k);
            let joined = (layer / span * span).max(span);
            chain_depth - joined + 1
        })
        .collect();
    moved.dedup();
    moved
}
