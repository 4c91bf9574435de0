//! The one bound that decides when the fast engine and the oracle must agree **bit for bit**.
//!
//! A dense net whose weights, biases, inputs, targets and leaky slopes are dyadic fractions
//! (k/2^p) computes only sums and products of dyadic numbers. Each intermediate x of the forward
//! pass, the squared-error loss and the backward pass is then an integer multiple of 2^−f(x)
//! with |x| ≤ m(x), so it needs at most
//!
//! ```text
//! bits(x) = log2 m(x) + f(x)        (f: fractional bits, m: a magnitude bound)
//! ```
//!
//! significant bits. When the worst of them is at most [`MAX_EXACT_BITS`] (`f64`'s 52 stored
//! significand bits), every operation is exact in `f64` in **any** order, so any two correct
//! engines — whatever their summation order, blocking or thread count — give the same bits, and
//! a test may compare them with `==`. Above it, rounding may legitimately differ and only a
//! tolerance applies.
//!
//! The bound propagates, layer by layer (`Z_l = A_{l−1}·W_lᵀ + b_l (+ A_{l−s})`, `A_l = f(Z_l)`):
//!
//! ```text
//! forward   m_l = max_j (Σ_i |W_l[j][i]|·m_{l−1} + |b_l[j]| + m_{l−s})
//!           f_l = max(f_{l−1} + weight_bits, value_bits, f_{l−s}) (+ slope_bits after a leaky layer)
//! loss      Σ (y − t)²  over B·n_L terms, y − t ≤ m_L + 1
//! backward  Δ_l = G_l ⊙ f′(Z_l);  ∂W_l = Δ_lᵀ·A_{l−1},  ∂b_l = Σ_rows Δ_l;
//!           G_{l−1} = Δ_l·W_l (+ the shortcut's Δ), its bound max column sum of |W_l| times |Δ_l|
//! ```
//!
//! with the loss's 1/B adding log2 B fractional bits to every backward quantity when the loss is
//! a mean over the batch (B a power of two, so 1/B is exact).
//!
//! The bound is written for the pre-activation shortcut and holds for the identity one
//! (A_l = f(Z_l) + A_{l−s}, G_{l−s} += G_l) too: for the activations this bound admits,
//! |f(z)| ≤ |z|, so |A_l| ≤ m_l as before, with at most f_l fractional bits (A_{l−s} is added after
//! the slope's bits, not before); and G_l needs no more bits than Δ_l = G_l ⊙ f′ and is no larger.

use scalar::Activation;

/// The largest number of significant bits every intermediate may need for `f64` to compute it
/// exactly (the 52 stored bits of its significand; the implicit bit covers the leading 1).
pub const MAX_EXACT_BITS: f64 = 52.0;

/// One layer in the oracle's terms: `[out][in]` weights, optional bias, activation.
pub type DyadicLayer = (Vec<Vec<f64>>, Option<Vec<f64>>, Activation);

/// The fractional bits of a net's dyadic values: each value is k/2^bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FractionBits {
    /// Inputs, biases and targets.
    pub value: f64,
    /// Weights.
    pub weight: f64,
    /// Leaky ReLU slopes.
    pub slope: f64,
    /// Whether the loss is a mean over the batch (its 1/B adds log2 B bits to the backward pass).
    pub mean_over_batch: bool,
}

/// A dense net with dyadic parameters and its batch, in the oracle's terms.
#[derive(Debug, Clone, Copy)]
pub struct DyadicNet<'a> {
    /// Width of the input.
    pub n_input: usize,
    /// The layers, input side first.
    pub layers: &'a [DyadicLayer],
    /// A shortcut of this span (where the widths match).
    pub shortcut: Option<usize>,
    /// The layers that receive it, when named (`Dense::with_shortcut_layers`); `None`: every
    /// s-th layer of equal width.
    pub joins: Option<&'a [usize]>,
    /// The batch size B.
    pub batch: usize,
    /// How many fractional bits its values have.
    pub fractions: FractionBits,
}

impl DyadicNet<'_> {
    /// The widths n_0 (input), n_1, …, n_L.
    fn widths(&self) -> Vec<usize> {
        std::iter::once(self.n_input).chain(self.layers.iter().map(|(w, _, _)| w.len())).collect()
    }

    /// A sound bound on the significant bits any intermediate of the forward pass, the
    /// squared-error loss and the backward pass needs (see the [module docs](self)).
    pub fn exact_bits(&self) -> f64 {
        let FractionBits { value: value_bits, weight: weight_bits, slope: slope_bits, mean_over_batch } =
            self.fractions;
        let depth = self.layers.len();
        let batch = self.batch as f64;
        let widths = self.widths();
        let from = |l: usize| -> Option<usize> {
            let joins = |s: usize| match self.joins {
                Some(joins) => joins.contains(&l),
                None => l.is_multiple_of(s) && widths[l - s] == widths[l],
            };
            self.shortcut.filter(|&s| joins(s)).map(|s| l - s)
        };
        let extra = |a: Activation| if matches!(a, Activation::LeakyRelu { .. }) { slope_bits } else { 0.0 };
        let bits = |m: f64, f: f64| if m == 0.0 { 0.0 } else { m.log2() + f };
        let mut worst: f64 = 0.0;
        // Forward: magnitude bound m[l] of z_l and a_l, fractional bits f[l].
        let mut m = vec![1.0f64];
        let mut f = vec![value_bits];
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
            let mut fl = (f[l - 1] + weight_bits).max(value_bits);
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
        let fy = f[depth].max(value_bits);
        let my = m[depth] + 1.0;
        worst = worst.max(bits(batch * widths[depth] as f64 * my * my, 2.0 * fy));
        // Backward: bound mg[l] of ∂L/∂a_l with fg[l] fractional bits.
        let mut mg = vec![0.0f64; depth + 1];
        let mut fg = vec![0.0f64; depth + 1];
        mg[depth] = 2.0 * my;
        fg[depth] = if mean_over_batch { fy + batch.log2() } else { fy };
        for l in (1..=depth).rev() {
            let (w, _, act) = &self.layers[l - 1];
            let (md, fd) = (mg[l], fg[l] + extra(*act));
            worst = worst.max(bits(md, fd));
            // ∂L/∂W_l and ∂L/∂b_l: sums over the batch.
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
                fg[l - 1] = fg[l - 1].max(fd + weight_bits);
                worst = worst.max(bits(mg[l - 1], fg[l - 1]));
            }
        }
        worst
    }

    /// Whether every operation is provably exact in `f64` ([`exact_bits`](Self::exact_bits) ≤
    /// [`MAX_EXACT_BITS`]): then engine and oracle must agree bit for bit.
    pub fn is_exact_in_f64(&self) -> bool {
        self.exact_bits() <= MAX_EXACT_BITS
    }
}
