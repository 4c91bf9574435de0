//! A chain from the parts `report chain` takes (an activation's name, the weights, the biases, a
//! shortcut and where it joins), validated once for the command line and for the library's other
//! front ends (the Python package), with the messages the command prints: they name its flags.

use crate::error::Error;
use scalar::chain::Chain;
use scalar::{Activation, Skip};

/// A chain from its parts: `activation` by name (with `slope` for leaky_relu), one weight per
/// layer, optional biases (as many), an optional shortcut span s (1 ≤ s ≤ D), and where the
/// shortcut joins (`"pre-activation"`, the default, or `"identity"`; only with a shortcut).
///
/// # Errors
/// An empty chain, biases of another length, a span outside 1..=D, an unknown skip form or a
/// skip without a shortcut, a non-finite slope, an unknown activation, a non-finite weight or
/// bias (messages as `report chain` prints them).
///
/// ```
/// use report::reference::chain_from_parts;
/// let chain = chain_from_parts("sigmoid", 0.01, vec![1.0; 3], None, None, None)?;
/// assert_eq!(chain.depth(), 3);
/// let err = chain_from_parts("sigmoid", 0.01, vec![1.0; 3], None, Some(4), None).unwrap_err();
/// assert_eq!(err.to_string(), "--shortcut 4: the span must be between 1 and the depth 3");
/// # Ok::<(), report::Error>(())
/// ```
pub fn chain_from_parts(
    activation: &str,
    slope: f64,
    weights: Vec<f64>,
    biases: Option<Vec<f64>>,
    shortcut: Option<usize>,
    skip: Option<&str>,
) -> Result<Chain, Error> {
    let depth = weights.len();
    if depth == 0 {
        return Err(Error::input("depth: a chain needs at least 1 layer"));
    }
    if let Some(b) = &biases {
        if b.len() != depth {
            return Err(Error::input(format!("--biases: expected {depth} values (one per layer), got {}", b.len())));
        }
    }
    if let Some(s) = shortcut {
        if s == 0 || s > depth {
            return Err(Error::input(format!("--shortcut {s}: the span must be between 1 and the depth {depth}")));
        }
    }
    let skip = parse_skip(skip, shortcut)?;
    // Before the name: `from_name` also refuses a non-finite slope, which would read as an
    // unknown name.
    if !slope.is_finite() {
        return Err(Error::input(format!("--slope: {slope} is not a finite number")));
    }
    let activation = Activation::from_name(activation, slope).map_err(|_| {
        Error::input(format!(
            "--activation: unknown name {activation:?} (expected one of {})",
            Activation::NAMES.join(", ")
        ))
    })?;
    Ok(Chain::new(weights, vec![activation; depth], biases, shortcut)?.with_skip(skip))
}

/// The form `--skip` names (pre-activation without the flag); refused without `--shortcut`,
/// where it would say nothing.
fn parse_skip(skip: Option<&str>, shortcut: Option<usize>) -> Result<Skip, Error> {
    let Some(name) = skip else { return Ok(Skip::PreActivation) };
    if shortcut.is_none() {
        return Err(Error::input(format!("--skip {name}: says where a shortcut joins, so it needs --shortcut S")));
    }
    match name {
        "pre-activation" => Ok(Skip::PreActivation),
        "identity" => Ok(Skip::Identity),
        _ => Err(Error::input(format!("--skip: unknown form {name:?} (expected pre-activation or identity)"))),
    }
}
