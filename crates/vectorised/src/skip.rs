//! Where a shortcut's signal joins the layer it skips to: the engine's copy of `scalar::Skip`
//! (this crate does not depend on the oracle), with the same two forms and the same default.
//!
//! - [`Skip::PreActivation`]: a_m = f(w·a_{m−1} + b + a_{m−s}) — the sum, then the activation
//!   (for ReLU the article's residual block; for a sigmoid the skipped signal still meets f′).
//! - [`Skip::Identity`]: a_m = a_{m−s} + f(w·a_{m−1} + b) — the identity path bypasses f.

/// Where a shortcut's signal joins: before the activation or after it. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Skip {
    /// a_m = f(w·a_{m−1} + b + a_{m−s}).
    #[default]
    PreActivation,
    /// a_m = a_{m−s} + f(w·a_{m−1} + b).
    Identity,
}
