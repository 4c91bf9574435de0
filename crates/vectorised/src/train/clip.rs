//! Clipping by norm and by value, and the gradient norms it and the report use.

use crate::dense::Gradients;
use crate::math::norm::norm_of_groups;
use crate::real::Real;

/// Gradient clipping, applied to the data gradient before decay.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Clip {
    /// No clipping (the default).
    #[default]
    None,
    /// If ‖g‖₂ > c over every weight and bias, scale every gradient by c/‖g‖₂.
    Norm(f64),
    /// Clamp every gradient entry to [−c, c] (c rounded to `T`).
    Value(f64),
}

/// What [`clip_gradients`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipOutcome {
    /// ‖g‖₂ before.
    pub norm_before: f64,
    /// ‖g‖₂ after.
    pub norm_after: f64,
    /// Whether any gradient changed.
    pub clipped: bool,
}

/// ‖v‖₂ in `f64`, robust to overflow, in a fixed order (see the [module docs](crate::train)).
pub fn norm<T: Real>(values: &[T]) -> f64 {
    norm_of_groups([values].into_iter())
}

/// ‖g‖₂ over every weight and bias gradient, layer 1 to L, weights before biases.
///
/// A layer without biases should hold an empty bias gradient (as a [`Trainer`](super::Trainer)'s copy does):
/// the engine's [`Gradients::bias`] is computed for every layer.
pub fn global_norm<T: Real>(grads: &Gradients<T>) -> f64 {
    norm_of_groups(groups(grads))
}

pub(super) fn groups<T>(grads: &Gradients<T>) -> impl Iterator<Item = &[T]> + Clone {
    grads.weight.iter().zip(&grads.bias).flat_map(|(w, b)| [&w[..], &b[..]])
}

/// Clips `grads` in place (every weight and bias gradient; see [`global_norm`] about layers
/// without biases) and says what it did.
///
/// By norm, g ← g·s with s = c/‖g‖₂ computed in `f64` and rounded to `T`, when ‖g‖₂ > c; by value,
/// each entry is clamped to [−c, c] with c rounded to `T`. Non-finite gradients are left as they
/// are (a [`Trainer`](super::Trainer) refuses them before clipping). The thresholds are trusted: see
/// [`TrainConfig::validate`](super::TrainConfig::validate).
pub fn clip_gradients<T: Real>(grads: &mut Gradients<T>, clip: Clip) -> ClipOutcome {
    let before = global_norm(grads);
    clip_with_norm(grads, clip, before)
}

pub(super) fn clip_with_norm<T: Real>(grads: &mut Gradients<T>, clip: Clip, before: f64) -> ClipOutcome {
    let unchanged = ClipOutcome { norm_before: before, norm_after: before, clipped: false };
    if !before.is_finite() {
        return unchanged;
    }
    let clipped = match clip {
        Clip::None => false,
        Clip::Norm(c) => {
            if before > c {
                let s = T::from_f64(c / before);
                for_each_gradient(grads, |v| *v *= s);
                true
            } else {
                false
            }
        }
        Clip::Value(c) => {
            let c = T::from_f64(c);
            let mut any = false;
            for_each_gradient(grads, |v| {
                if *v > c {
                    *v = c;
                    any = true;
                } else if *v < -c {
                    *v = -c;
                    any = true;
                }
            });
            any
        }
    };
    if clipped { ClipOutcome { norm_before: before, norm_after: global_norm(grads), clipped } } else { unchanged }
}

pub(super) fn for_each_gradient<T>(grads: &mut Gradients<T>, mut f: impl FnMut(&mut T)) {
    for (w, b) in grads.weight.iter_mut().zip(&mut grads.bias) {
        w.iter_mut().chain(b.iter_mut()).for_each(&mut f);
    }
}
