//! The fast engine (`vectorised`) against the oracle (`scalar`), one module per subject: property
//! tests of the two engines' agreement (bit for bit where [`crosscheck::exactness`] vouches for
//! it, within named tolerances elsewhere), and the engine's own thread-count, layout and boundary
//! tests that share their cases. They live here so that `vectorised` does not depend on the
//! oracle even for its tests.
mod chain;
mod chain_oracle;
mod check_passes;
mod dense;
mod dense_engine;
mod dense_exact;
mod dense_hand;
mod dense_norm;
mod diagnose;
mod gelu_silu;
mod robustness;
mod simd_levels;
mod stats;
mod train;
mod train_decay;
mod train_refusals;

/// The oracle's name for an activation of the fast engine (the two crates define their own).
fn to_oracle(a: vectorised::Activation) -> scalar::Activation {
    use vectorised::Activation;
    match a {
        Activation::Sigmoid => scalar::Activation::Sigmoid,
        Activation::Tanh => scalar::Activation::Tanh,
        Activation::Relu => scalar::Activation::Relu,
        Activation::LeakyRelu { slope } => scalar::Activation::LeakyRelu { slope },
        Activation::Softplus => scalar::Activation::Softplus,
        Activation::Identity => scalar::Activation::Identity,
        Activation::Gelu => scalar::Activation::Gelu,
        Activation::Silu => scalar::Activation::Silu,
    }
}

/// The oracle's name for a skip form of the engine's.
fn to_oracle_skip(skip: vectorised::Skip) -> scalar::Skip {
    match skip {
        vectorised::Skip::PreActivation => scalar::Skip::PreActivation,
        vectorised::Skip::Identity => scalar::Skip::Identity,
    }
}

/// Any activation, leaky ReLU with a slope in ±`max_slope`.
fn any_activation(max_slope: f64) -> impl proptest::strategy::Strategy<Value = vectorised::Activation> {
    use proptest::prelude::*;
    use vectorised::Activation;
    prop_oneof![
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
        Just(Activation::Relu),
        (-max_slope..max_slope).prop_map(|slope| Activation::LeakyRelu { slope }),
        Just(Activation::Softplus),
        Just(Activation::Identity),
        Just(Activation::Gelu),
        Just(Activation::Silu),
    ]
}

/// The oracle's name for a loss of the engine's.
fn to_oracle_loss(loss: vectorised::dense::Loss) -> scalar::dense::Loss {
    use vectorised::dense::Loss;
    match loss {
        Loss::SquaredError => scalar::dense::Loss::SquaredError,
        Loss::BinaryCrossEntropy => scalar::dense::Loss::BinaryCrossEntropy,
        Loss::Linear => scalar::dense::Loss::Linear,
        Loss::BceWithLogits => scalar::dense::Loss::BceWithLogits,
        Loss::CrossEntropy => scalar::dense::Loss::CrossEntropy,
    }
}
