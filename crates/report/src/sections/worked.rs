//! Section 1 — the article's chain, worked: a sigmoid chain of depth 10, w = 1, x = 1, ŷ = 0,
//! layer by layer, from the oracle.

use scalar::chain::Chain;
use scalar::{Activation, Ext};
use serde::Serialize;

/// The worked chain's settings and its layers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkedChain {
    /// D.
    pub depth: usize,
    /// The common weight w.
    pub weight: f64,
    /// x.
    pub input: f64,
    /// ŷ.
    pub target: f64,
    /// y.
    pub output: f64,
    /// L = (y − ŷ)².
    pub loss: f64,
    /// Layer 1 (at the input) first.
    pub layers: Vec<WorkedLayer>,
}

/// One layer of the worked chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkedLayer {
    /// d.
    pub layer: usize,
    /// z_d.
    pub pre_activation: f64,
    /// u_d.
    pub input: f64,
    /// σ′(z_d).
    pub derivative: f64,
    /// ∂L/∂w_d.
    pub grad: f64,
    /// The article's bound on |∂L/∂w_d|.
    pub bound: f64,
    /// ∂L/∂w_d / ∂L/∂w_D.
    pub ratio_to_last: f64,
    /// ∂L/∂w_d / ∂L/∂w_(d+1) = w·σ′(z_d)·u_d/u_(d+1): the weight gradient's step towards the
    /// input, which the 1/4 bound on w·σ′ does not cap since u_d can exceed u_(d+1) (none at D).
    pub step: Option<f64>,
}

/// Computes the section.
pub fn compute() -> WorkedChain {
    let (depth, weight, input, target) = (10, 1.0, 1.0, 0.0);
    let chain = Chain::uniform(Activation::Sigmoid, vec![weight; depth]).expect("a valid chain");
    let trace = chain.forward(input);
    let grads = chain.gradients_closed_form(input, target);
    let bound = chain.bound(input, target).expect("no shortcut, so the bound applies");
    let last = grads.weight[depth - 1];
    let layers = (0..depth)
        .map(|i| WorkedLayer {
            layer: i + 1,
            pre_activation: trace.pre_activation[i],
            input: trace.input[i],
            derivative: Activation::Sigmoid.derivative(trace.pre_activation[i]),
            grad: grads.weight[i],
            bound: Ext::to_f64(bound[i]),
            ratio_to_last: grads.weight[i] / last,
            step: grads.weight.get(i + 1).map(|&above| grads.weight[i] / above),
        })
        .collect();
    WorkedChain { depth, weight, input, target, output: grads.output, loss: grads.loss, layers }
}
