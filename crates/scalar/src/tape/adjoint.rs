//! What a backward sweep accumulates per node: the adjoint alone (`f64`), or the adjoint with the
//! estimate of its rounding error ([`Tracked`]; the rule is in the [parent module](super)'s docs).
//! Both the tape's sweep and [`Dense::backprop_over`](crate::dense::Dense::backprop_over) are
//! written once, over [`Adjoint`], with the tape's rules as [`Factor`]s.

/// A local factor of the sweep: ā += ḡ·factor (or ḡ/x for `ln`, as the rule is written).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Factor {
    One,
    MinusOne,
    Times(f64),
    Over(f64),
}

impl Factor {
    /// ḡ·factor, in the operation the rule is written with (ḡ, −ḡ, ḡ·x, ḡ/x).
    fn times(self, g: f64) -> f64 {
        match self {
            Factor::One => g,
            Factor::MinusOne => -g,
            Factor::Times(x) => g * x,
            Factor::Over(x) => g / x,
        }
    }

    /// ±1 or another power of two: ḡ·factor is exact (where it stays a normal number).
    fn is_exact(self) -> bool {
        let power_of_two = |x: f64| x.is_normal() && x.to_bits() & ((1 << 52) - 1) == 0;
        match self {
            Factor::One | Factor::MinusOne => true,
            Factor::Times(x) | Factor::Over(x) => power_of_two(x),
        }
    }

    fn squared(self) -> f64 {
        match self {
            Factor::One | Factor::MinusOne => 1.0,
            Factor::Times(x) => x * x,
            Factor::Over(x) => (1.0 / x) * (1.0 / x),
        }
    }
}

/// A node's adjoint as a sweep forms it: it starts at [`Adjoint::ZERO`] and receives one term
/// per consumer, in the tape's order.
pub(crate) trait Adjoint: Copy {
    /// Nothing received yet.
    const ZERO: Self;
    /// The output's own adjoint, 1 (exact).
    const ONE: Self;

    /// ā += ḡ·factor, with ḡ = `from`, a node that has received all of its terms.
    fn receive(&mut self, from: Self, factor: Factor);

    /// What a parameter reports: its gradient, or the estimate of its rounding error.
    fn report(self) -> f64;
}

impl Adjoint for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;

    fn receive(&mut self, from: f64, factor: Factor) {
        *self += factor.times(from);
    }

    fn report(self) -> f64 {
        self
    }
}

/// An adjoint and what its rounding error is estimated from: Σ|terms| received, whether forming
/// it rounds (two or more non-zero terms, or one multiplied by a factor other than a power of
/// two), and Σ ℓ²·E² carried from its consumers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tracked {
    value: f64,
    terms: f64,
    rounds: bool,
    carried: f64,
}

impl Tracked {
    /// E², in units of u²: what its consumers carried, and Σ|terms|² where it rounds.
    fn variance(self) -> f64 {
        let own = if self.rounds { self.terms } else { 0.0 };
        self.carried + own * own
    }
}

impl Adjoint for Tracked {
    const ZERO: Tracked = Tracked { value: 0.0, terms: 0.0, rounds: false, carried: 0.0 };
    const ONE: Tracked = Tracked { value: 1.0, ..Tracked::ZERO };

    fn receive(&mut self, from: Tracked, factor: Factor) {
        let term = factor.times(from.value);
        // 0 + x and x + 0 are exact, and so is x times a power of two.
        if term != 0.0 {
            self.rounds |= self.terms != 0.0 || !factor.is_exact();
        }
        self.value += term;
        self.terms += term.abs();
        self.carried += factor.squared() * from.variance();
    }

    fn report(self) -> f64 {
        self.variance().sqrt()
    }
}
