//! `report check`: compares gradients computed elsewhere with the reference, layer by layer, and
//! names the first wrong layer (`docs/model-format.md`; the computation is
//! [`crate::reference::check_gradients`]). Exit code 0 when everything passes, 1 when something
//! fails, 2 for bad input.

use super::OutputFormat;
use super::emit;
use crate::error::Error;
use crate::model::{ClaimedGradients, in_source};
use crate::reference::{DEFAULT_ATOL, DEFAULT_RTOL, Tolerance, check_gradients_against, model_gradients};
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `report check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model file (JSON: layers, input, target; see docs/model-format.md).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Their gradients, in the shape `report grad` prints.
    #[arg(long, value_name = "FILE")]
    pub grads: PathBuf,
    /// Absolute tolerance: an entry passes when |theirs − ref| ≤ atol + rtol·|ref|.
    #[arg(long, default_value_t = DEFAULT_ATOL)]
    pub atol: f64,
    /// Relative tolerance: an entry passes when |theirs − ref| ≤ atol + rtol·|ref|.
    #[arg(long, default_value_t = DEFAULT_RTOL)]
    pub rtol: f64,
    /// A Markdown table for people, or JSON for programs.
    #[arg(long, value_enum, default_value_t = OutputFormat::Md)]
    pub format: OutputFormat,
    /// Refuse models whose estimated memory on the reference tape exceeds this many MiB.
    #[arg(long, value_name = "MIB", default_value_t = crate::budget::DEFAULT_MEMORY_BUDGET_MIB)]
    pub memory_budget_mib: u64,
}

/// Runs `report check`: exit code 0 if every layer passes, 1 if one fails.
pub fn run(args: &Args) -> Result<ExitCode, Error> {
    let tolerance = Tolerance::new(args.atol, args.rtol)?;
    let model = super::grad::load_model(&args.model, args.memory_budget_mib)?;
    crate::budget::check_file_size(&args.grads, args.memory_budget_mib)?;
    let theirs = ClaimedGradients::from_file(&args.grads)?;
    let reference = model_gradients(&model).map_err(|e| in_source(&args.model.display().to_string(), e))?;
    let report = check_gradients_against(&model, &reference, &theirs, tolerance)
        .map_err(|e| in_source(&args.grads.display().to_string(), e))?;
    let text = match args.format {
        OutputFormat::Json => report.to_json() + "\n",
        OutputFormat::Md => report.to_string() + "\n",
        OutputFormat::Html => crate::render::html::page(&(report.to_string() + "\n"), &[]),
    };
    emit(&text, None)?;
    Ok(if report.pass { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
