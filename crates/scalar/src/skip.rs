//! Where a shortcut's signal joins the layer it skips to.
//!
//! A shortcut of span s feeds the output a_{m−s} of layer m − s into every layer m that s
//! divides. Two forms exist, and they behave differently for saturating activations:
//!
//! - [`Skip::PreActivation`]: a_m = f(w·a_{m−1} + b + a_{m−s}) — the sum, then the activation.
//!   For ReLU this is the article's residual block; for a sigmoid the skipped signal still passes
//!   through f′ (at most 1/4), so it cannot carry the gradient past the saturating units.
//! - [`Skip::Identity`]: a_m = a_{m−s} + f(w·a_{m−1} + b) — the identity path bypasses f, so
//!   ∂a_m/∂a_{m−s} contains the 1 that keeps gradients alive whatever f′ is.
//!
//! Networks and files that do not say which form they use mean [`Skip::PreActivation`], the form
//! gradlab had first.

/// Where a shortcut's signal joins: before the activation or after it. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Skip {
    /// a_m = f(w·a_{m−1} + b + a_{m−s}).
    #[default]
    PreActivation,
    /// a_m = a_{m−s} + f(w·a_{m−1} + b).
    Identity,
}
