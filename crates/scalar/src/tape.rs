//! The reverse-mode tape.
//!
//! Every operation pushes one node (its value and how it was made) onto a `Vec` in creation
//! order, which is a topological order. [`Tape::backward`] walks that `Vec` once from the output
//! back to the start, accumulating adjoints with `+=`:
//!
//! | primitive | value | local rule (ḡ = adjoint of the result) |
//! |---|---|---|
//! | `a + b` | a + b | ā += ḡ, b̄ += ḡ |
//! | `a · b` | a·b | ā += ḡ·b, b̄ += ḡ·a |
//! | `−a` | −a | ā −= ḡ |
//! | `aⁿ` ([`Var::powi`]) | aⁿ | ā += ḡ·n·aⁿ⁻¹ |
//! | `exp a` | eᵃ | ā += ḡ·eᵃ |
//! | `ln a` | ln a | ā += ḡ/a |
//! | `√a` ([`Var::sqrt`]) | √a | ā += ḡ·(0.5/√a) |
//! | `f(a)` ([`Var::activate`]) | f(a) | ā += ḡ·f′(a) |
//!
//! Everything else is derived from these (`a − b = a + (−b)`, `a / b = a · b⁻¹`, `a² = a.powi(2)`),
//! so it needs no rule of its own. The sweep is a loop, not a recursion, so a chain of 10⁶ nodes
//! cannot overflow the stack, and nodes are plain `Copy` data in one `Vec`: memory is proportional
//! to the number of nodes, with no allocation per node.
//!
//! [`Tape::backward_error_scales`] makes the same sweep and estimates, beside each adjoint, the
//! rounding error a backward pass in any precision makes in it, in units of that precision's
//! unit roundoff u (`docs/derivation.md` §10a):
//!
//! * an adjoint is a sum of terms ḡ·(local factor); where it is formed with a rounding (two or
//!   more non-zero terms, or one multiplied by a factor other than a power of two), its own error
//!   is at most ≈ u·Σ|terms| (Higham, *Accuracy and Stability*, §3.1): the terms' size where the
//!   sum cancels, not the sum's;
//! * errors made earlier in the sweep reach it through the local factors, as independent errors
//!   do: their variances add, each times its factor squared.
//!
//! So a node's estimate E is √(Σ_c ℓ_c²·E_c² + R²), with R = Σ|terms| where its sum rounds and 0
//! where it is exact: at least |∂output/∂n| wherever the node's sum rounds, and far larger where a
//! sum cancels. It is an estimate (a bound within each sum, a random walk across them), not a
//! bound.

mod adjoint;

use crate::activation::Activation;
pub(crate) use adjoint::{Adjoint, Factor, Tracked};
use std::cell::RefCell;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// A recording of scalar operations, differentiated by [`Tape::backward`].
#[derive(Debug, Default)]
pub struct Tape {
    nodes: RefCell<Vec<Node>>,
}

/// One recorded value and the primitive that produced it.
#[derive(Debug, Clone, Copy)]
struct Node {
    value: f64,
    op: Op,
}

/// The primitives. Each has exactly one backward rule in [`Tape::backward`].
#[derive(Debug, Clone, Copy)]
enum Op {
    Leaf,
    Add(usize, usize),
    Mul(usize, usize),
    Neg(usize),
    Powi(usize, i32),
    Exp(usize),
    Ln(usize),
    Sqrt(usize),
    Activate(usize, Activation),
}

/// A handle to a node of a [`Tape`]. Cheap to copy; arithmetic on it records new nodes.
#[derive(Debug, Clone, Copy)]
pub struct Var<'t> {
    tape: &'t Tape,
    idx: usize,
}

/// The adjoints ∂output/∂node of every node recorded up to the output of one [`Tape::backward`].
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients {
    adjoints: Vec<f64>,
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tape with room for `n` nodes (avoids reallocation while recording).
    pub fn with_capacity(n: usize) -> Self {
        Tape { nodes: RefCell::new(Vec::with_capacity(n)) }
    }

    /// Records an input (a leaf). Its gradient is read with [`Gradients::wrt`].
    pub fn var(&self, value: f64) -> Var<'_> {
        self.push(value, Op::Leaf)
    }

    /// The number of nodes recorded so far.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&self, value: f64, op: Op) -> Var<'_> {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node { value, op });
        Var { tape: self, idx: nodes.len() - 1 }
    }

    fn value(&self, idx: usize) -> f64 {
        self.nodes.borrow()[idx].value
    }

    /// Computes ∂output/∂n for every node n recorded up to and including `output`.
    ///
    /// Each call is independent: it seeds a fresh adjoint vector with 1 at `output` and sweeps
    /// back, so a second `backward` (on the same or another output) returns its own gradients and
    /// never accumulates into the first. The tape is not changed; recording may continue after it.
    ///
    /// # Panics
    /// If `output` belongs to another tape.
    pub fn backward(&self, output: Var<'_>) -> Gradients {
        assert!(std::ptr::eq(self, output.tape), "backward: the output belongs to another tape");
        Gradients { adjoints: self.sweep::<f64>(output).collect() }
    }

    /// For every node n recorded up to `output`, the module docs' estimate E of the rounding
    /// error in ∂output/∂n, in units of the unit roundoff: a backward pass in precision u gets
    /// ∂output/∂n to within about u·E (read with [`Gradients::wrt`]). The output's adjoint, 1, is
    /// exact (E = 0).
    ///
    /// # Panics
    /// If `output` belongs to another tape.
    pub fn backward_error_scales(&self, output: Var<'_>) -> Gradients {
        assert!(std::ptr::eq(self, output.tape), "backward_error_scales: the output belongs to another tape");
        Gradients { adjoints: self.sweep::<Tracked>(output).collect() }
    }

    /// The sweep: every node's [`Adjoint`] from `output` back, each reported.
    fn sweep<A: Adjoint>(&self, output: Var<'_>) -> impl Iterator<Item = f64> {
        let nodes = self.nodes.borrow();
        let mut adj = vec![A::ZERO; output.idx + 1];
        adj[output.idx] = A::ONE;
        for i in (0..=output.idx).rev() {
            let from = adj[i];
            nodes[i].edges(&nodes, |a, factor| adj[a].receive(from, factor));
        }
        adj.into_iter().map(A::report)
    }
}

impl Node {
    /// Calls `visit(a, factor)` for each input a of this node, with the local factor of the
    /// module docs' table (ā −= ḡ is ā += −ḡ, the same bits).
    fn edges(self, nodes: &[Node], mut visit: impl FnMut(usize, Factor)) {
        match self.op {
            Op::Leaf => {}
            Op::Add(a, b) => {
                visit(a, Factor::One);
                visit(b, Factor::One);
            }
            Op::Mul(a, b) => {
                visit(a, Factor::Times(nodes[b].value));
                visit(b, Factor::Times(nodes[a].value));
            }
            Op::Neg(a) => visit(a, Factor::MinusOne),
            Op::Powi(a, n) => {
                let local = if n == 0 { 0.0 } else { f64::from(n) * nodes[a].value.powi(n - 1) };
                visit(a, Factor::Times(local));
            }
            Op::Exp(a) => visit(a, Factor::Times(self.value)),
            Op::Ln(a) => visit(a, Factor::Over(nodes[a].value)),
            Op::Sqrt(a) => visit(a, Factor::Times(0.5 / self.value)),
            Op::Activate(a, f) => visit(a, Factor::Times(f.derivative(nodes[a].value))),
        }
    }
}

impl Gradients {
    /// ∂output/∂v. Zero for nodes recorded after the output (they cannot influence it).
    pub fn wrt(&self, v: Var<'_>) -> f64 {
        self.adjoints.get(v.idx).copied().unwrap_or(0.0)
    }

    /// ∂output/∂v for each of `vars`, in order.
    pub fn wrt_all(&self, vars: &[Var<'_>]) -> Vec<f64> {
        vars.iter().map(|&v| self.wrt(v)).collect()
    }
}

impl<'t> Var<'t> {
    /// The value this node holds.
    pub fn value(self) -> f64 {
        self.tape.value(self.idx)
    }

    /// The node's position on its tape (its creation order).
    pub fn index(self) -> usize {
        self.idx
    }

    fn constant(self, c: f64) -> Var<'t> {
        self.tape.var(c)
    }

    /// selfⁿ (primitive).
    pub fn powi(self, n: i32) -> Var<'t> {
        self.tape.push(self.value().powi(n), Op::Powi(self.idx, n))
    }

    /// e^self (primitive).
    pub fn exp(self) -> Var<'t> {
        self.tape.push(self.value().exp(), Op::Exp(self.idx))
    }

    /// ln self (primitive).
    pub fn ln(self) -> Var<'t> {
        self.tape.push(self.value().ln(), Op::Ln(self.idx))
    }

    /// √self (primitive; layer normalisation's standard deviation).
    pub fn sqrt(self) -> Var<'t> {
        self.tape.push(self.value().sqrt(), Op::Sqrt(self.idx))
    }

    /// f(self) for an activation f (primitive, with f′ from [`Activation::derivative`]).
    pub fn activate(self, f: Activation) -> Var<'t> {
        self.tape.push(f.value(self.value()), Op::Activate(self.idx, f))
    }

    /// self² (derived: `powi(2)`).
    pub fn square(self) -> Var<'t> {
        self.powi(2)
    }

    /// 1/self (derived: `powi(−1)`).
    pub fn recip(self) -> Var<'t> {
        self.powi(-1)
    }
}

impl<'t> Add for Var<'t> {
    type Output = Var<'t>;
    fn add(self, rhs: Var<'t>) -> Var<'t> {
        self.tape.push(self.value() + rhs.value(), Op::Add(self.idx, rhs.idx))
    }
}

impl<'t> Mul for Var<'t> {
    type Output = Var<'t>;
    fn mul(self, rhs: Var<'t>) -> Var<'t> {
        self.tape.push(self.value() * rhs.value(), Op::Mul(self.idx, rhs.idx))
    }
}

impl<'t> Neg for Var<'t> {
    type Output = Var<'t>;
    fn neg(self) -> Var<'t> {
        self.tape.push(-self.value(), Op::Neg(self.idx))
    }
}

impl<'t> Sub for Var<'t> {
    type Output = Var<'t>;
    /// a − b = a + (−b).
    fn sub(self, rhs: Var<'t>) -> Var<'t> {
        self + (-rhs)
    }
}

impl<'t> Div for Var<'t> {
    type Output = Var<'t>;
    /// a / b = a · b⁻¹.
    #[allow(clippy::suspicious_arithmetic_impl)] // division is derived from × and powi(−1)
    fn div(self, rhs: Var<'t>) -> Var<'t> {
        self * rhs.recip()
    }
}

/// `var op f64` records the constant as a leaf, then applies the primitive.
macro_rules! with_constant {
    ($($trait:ident $method:ident),*) => {$(
        impl<'t> $trait<f64> for Var<'t> {
            type Output = Var<'t>;
            fn $method(self, rhs: f64) -> Var<'t> {
                $trait::$method(self, self.constant(rhs))
            }
        }
        impl<'t> $trait<Var<'t>> for f64 {
            type Output = Var<'t>;
            fn $method(self, rhs: Var<'t>) -> Var<'t> {
                $trait::$method(rhs.constant(self), rhs)
            }
        }
    )*};
}
with_constant!(Add add, Sub sub, Mul mul, Div div);
