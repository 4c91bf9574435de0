//! `report chain`: reference gradients of a single-neuron chain, layer by layer, exact beyond
//! `f64`'s range (the model and the JSON contract are in `docs/model-format.md`;
//! the computation is [`crate::reference::chain_gradients`]).
//!
//! With `--shortcut S`, `--skip` says where the shortcut joins: `pre-activation` (the default,
//! a_d = f(w_d·a_{d−1} + b_d + a_{d−S})) or `identity` (a_d = a_{d−S} + f(w_d·a_{d−1} + b_d), whose
//! path bypasses f′; the output then says so). `--skip` without `--shortcut` is refused.
//!
//! Lists of numbers are comma-separated, and `VALUE*COUNT` repeats a value:
//! `--biases '-8,-4*1099'` is −8 followed by 1099 times −4. The memory a chain needs is estimated
//! from the depth before any list is expanded, so `--depth 1000000000000` is refused at once.

use super::OutputFormat;
use super::{emit, parse_number};
use crate::error::Error;
use crate::reference::{chain_from_parts, chain_gradients};
use scalar::activation::DEFAULT_LEAKY_SLOPE;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `report chain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The activation of every layer: sigmoid, tanh, relu, leaky_relu, softplus, identity, gelu or silu.
    #[arg(long)]
    pub activation: String,
    /// w_1,…,w_D (layer 1 at the input); `VALUE*COUNT` repeats a value.
    #[arg(long, allow_hyphen_values = true, conflicts_with_all = ["weight", "depth"], required_unless_present = "weight")]
    pub weights: Option<String>,
    /// One weight for every layer (with --depth).
    #[arg(long, allow_hyphen_values = true, requires = "depth")]
    pub weight: Option<String>,
    /// The number of layers D (with --weight).
    #[arg(long, allow_hyphen_values = true, requires = "weight")]
    pub depth: Option<String>,
    /// The input x.
    #[arg(long, allow_hyphen_values = true)]
    pub input: String,
    /// The target ŷ; the loss is L = (y − ŷ)².
    #[arg(long, allow_hyphen_values = true)]
    pub target: String,
    /// b_1,…,b_D (default: no biases); `VALUE*COUNT` repeats a value.
    #[arg(long, allow_hyphen_values = true)]
    pub biases: Option<String>,
    /// A shortcut of span S: layers S, 2S, … also receive the output of the layer S below.
    #[arg(long, allow_negative_numbers = true)]
    pub shortcut: Option<usize>,
    /// Where the shortcut joins (with --shortcut): pre-activation, a_d = f(w·a_{d−1} + b + a_{d−S})
    /// (the default), or identity, a_d = a_{d−S} + f(w·a_{d−1} + b), whose path bypasses f′.
    #[arg(long, value_name = "FORM")]
    pub skip: Option<String>,
    /// The slope α of leaky_relu for z ≤ 0.
    #[arg(long, allow_hyphen_values = true, default_value_t = DEFAULT_LEAKY_SLOPE)]
    pub slope: f64,
    /// A Markdown table for people, JSON for programs, or one HTML page.
    #[arg(long, value_enum, default_value_t = OutputFormat::Md)]
    pub format: OutputFormat,
    /// Write to this file (atomically) instead of standard output (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Refuse chains whose estimated memory exceeds this many MiB.
    #[arg(long, value_name = "MIB", allow_negative_numbers = true, default_value_t = crate::budget::DEFAULT_MEMORY_BUDGET_MIB)]
    pub memory_budget_mib: u64,
}

/// Runs `report chain`.
pub fn run(args: &Args) -> Result<ExitCode, Error> {
    let depth = match (&args.weights, &args.depth) {
        (Some(list), _) => list_len("--weights", list)?,
        (None, Some(depth)) => parse_count("--depth", depth)?,
        (None, None) => return Err(Error::input("give --weights, or --weight and --depth")),
    };
    if depth == 0 {
        return Err(Error::input("depth: a chain needs at least 1 layer"));
    }
    crate::budget::check_chain_depth(depth, args.memory_budget_mib)?;
    let depth = usize::try_from(depth).expect("a depth within the memory budget fits in usize");
    let weights = match (&args.weights, &args.weight) {
        (Some(list), _) => parse_list("--weights", list)?,
        (None, Some(w)) => vec![parse_number("--weight", w)?; depth],
        (None, None) => unreachable!("checked above"),
    };
    let biases = match &args.biases {
        None => None,
        Some(list) => {
            let n = list_len("--biases", list)?;
            if n != depth as u128 {
                return Err(Error::input(format!("--biases: expected {depth} values (one per layer), got {n}")));
            }
            Some(parse_list("--biases", list)?)
        }
    };
    let chain = chain_from_parts(&args.activation, args.slope, weights, biases, args.shortcut, args.skip.as_deref())?;
    let x = parse_number("--input", &args.input)?;
    let target = parse_number("--target", &args.target)?;
    let report = chain_gradients(&chain, x, target)?;
    let text = match args.format {
        OutputFormat::Json => report.to_json() + "\n",
        OutputFormat::Md => report.to_markdown(),
        OutputFormat::Html => crate::render::html::page(&report.to_markdown(), &[]),
    };
    emit(&text, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// Splits `VALUE*COUNT` into its parts (`COUNT` = 1 without a `*`).
fn split_item<'a>(flag: &str, item: &'a str) -> Result<(&'a str, u128), Error> {
    match item.split_once('*') {
        None => Ok((item, 1)),
        Some((value, n)) => Ok((value, parse_count(&format!("{flag} item {item:?}"), n)?)),
    }
}

/// The number of values a list expands to, without expanding it.
fn list_len(flag: &str, list: &str) -> Result<u128, Error> {
    if list.trim().is_empty() {
        return Err(Error::input(format!("{flag}: the list is empty")));
    }
    list.split(',').try_fold(0u128, |n, item| Ok(n.saturating_add(split_item(flag, item.trim())?.1)))
}

/// The values of a list whose length has been checked against the memory budget.
fn parse_list(flag: &str, list: &str) -> Result<Vec<f64>, Error> {
    let mut values = Vec::new();
    for (idx, item) in list.split(',').enumerate() {
        let (value, n) = split_item(flag, item.trim())?;
        let v = parse_number(&format!("{flag} item {}", idx + 1), value)?;
        values.extend(std::iter::repeat_n(v, n as usize));
    }
    Ok(values)
}

/// A count (a depth or a repetition): a whole number ≥ 0, up to 2^128 − 1.
fn parse_count(place: &str, text: &str) -> Result<u128, Error> {
    use std::num::IntErrorKind;
    text.trim().parse::<u128>().map_err(|e| match e.kind() {
        IntErrorKind::PosOverflow => {
            Error::input(format!("{place}: {text:?} is more than 2^128 − 1, the largest count"))
        }
        _ => Error::input(format!("{place}: {text:?} is not a whole number ≥ 0")),
    })
}
