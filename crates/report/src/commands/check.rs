//! `report check`: compares gradients computed elsewhere with the reference, layer by layer, and
//! names the first wrong layer (`docs/model-format.md`; the computation is
//! [`crate::reference::check_gradients`]). Exit code 0 when everything passes, 1 when something
//! fails, 2 for bad input.

use super::OutputFormat;
use super::emit;
use crate::error::Error;
use crate::model::{ClaimedGradients, in_source};
use crate::reference::{Tolerance, check_gradients_against, model_gradients};
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `report check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model file (JSON: layers, input, target; see docs/model-format.md); `-` reads it from
    /// standard input.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Their gradients, in the shape `gradlab grad` prints (NaN, Infinity and -Infinity are
    /// read, and reported where they are); `-` reads them from standard input.
    #[arg(long, value_name = "FILE")]
    pub grads: PathBuf,
    /// The precision their gradients were computed in: presets --atol and --rtol (f64: 1e-8 and
    /// 1e-6; f32: 1e-4 and 1e-3, and a floor at f32's smallest normal number; docs/model-format.md
    /// derives them).
    #[arg(long, value_enum, default_value_t = Dtype::F64)]
    pub dtype: Dtype,
    /// Absolute tolerance, relative to the layer's scale s (the size of a correct backward pass's
    /// rounding error in the layer, per unit roundoff; docs/model-format.md): an entry passes when
    /// |theirs − ref| ≤ atol·s + rtol·|ref| (default: the --dtype preset).
    #[arg(long, allow_negative_numbers = true)]
    pub atol: Option<f64>,
    /// Relative tolerance: an entry passes when |theirs − ref| ≤ atol·s + rtol·|ref| (default: the
    /// --dtype preset).
    #[arg(long, allow_negative_numbers = true)]
    pub rtol: Option<f64>,
    /// A Markdown table for people, JSON for programs, or one HTML page.
    #[arg(long, value_enum, default_value_t = OutputFormat::Md)]
    pub format: OutputFormat,
    /// Write the result to this file (atomically) instead of standard output (`-`: standard
    /// output). The exit code is the same either way.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Refuse models whose reference gradients would need more than this many MiB (estimated).
    #[arg(long, value_name = "MIB", allow_negative_numbers = true, default_value_t = crate::budget::DEFAULT_MEMORY_BUDGET_MIB)]
    pub memory_budget_mib: u64,
}

/// `--dtype`: the floating-point format their gradients were computed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dtype {
    /// Double precision: the tolerances that two correct f64 backprops meet
    // (`Tolerance::default`; a plain comment, as clap prints the doc comment as help.)
    F64,
    /// Single precision: the tolerances that a correct f32 backprop meets
    // (`Tolerance::f32`.)
    F32,
}

/// Runs `report check`: exit code 0 if every layer passes, 1 if one fails.
pub fn run(args: &Args) -> Result<ExitCode, Error> {
    let preset = match args.dtype {
        Dtype::F64 => Tolerance::default(),
        Dtype::F32 => Tolerance::f32(),
    };
    let tolerance =
        Tolerance::new(args.atol.unwrap_or(preset.atol), args.rtol.unwrap_or(preset.rtol))?.in_precision_of(preset);
    if super::is_stdin(&args.model) && super::is_stdin(&args.grads) {
        return Err(Error::input("--model - and --grads -: only one of them can be read from standard input"));
    }
    let model = super::grad::load_model(&args.model, crate::budget::ModelWork::Check, args.memory_budget_mib)?;
    let theirs = if super::is_stdin(&args.grads) {
        ClaimedGradients::from_json(&super::read_stdin(args.memory_budget_mib)?, super::STDIN)?
    } else {
        let text = crate::budget::read_file(&args.grads, args.memory_budget_mib)?;
        ClaimedGradients::from_json(&text, &args.grads.display().to_string())?
    };
    let reference = model_gradients(&model).map_err(|e| in_source(&super::source_name(&args.model), e))?;
    let report = check_gradients_against(&model, &reference, &theirs, tolerance)
        .map_err(|e| in_source(&super::source_name(&args.grads), e))?;
    let text = match args.format {
        OutputFormat::Json => report.to_json() + "\n",
        OutputFormat::Md => report.to_string() + "\n",
        OutputFormat::Html => crate::render::html::page(&(report.to_string() + "\n"), &[]),
    };
    emit(&text, args.out.as_deref())?;
    Ok(if report.pass { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
