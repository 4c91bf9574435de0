//! `report grad`: the reference loss and gradients of a dense network described in a JSON model
//! file, printed as a gradients file (`docs/model-format.md`; the computation is
//! [`crate::reference::model_gradients`]).

use super::emit;
use crate::budget::ModelWork;
use crate::error::Error;
use crate::model::Model;
use crate::reference::model_gradients;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `report grad`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model file (JSON: layers, input, target; see docs/model-format.md); `-` reads it from
    /// standard input.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Write the gradients to this file (atomically) instead of standard output (`-`: standard
    /// output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Refuse models whose reference gradients would need more than this many MiB (estimated).
    #[arg(long, value_name = "MIB", allow_negative_numbers = true, default_value_t = crate::budget::DEFAULT_MEMORY_BUDGET_MIB)]
    pub memory_budget_mib: u64,
}

/// Runs `report grad`.
pub fn run(args: &Args) -> Result<ExitCode, Error> {
    let model = load_model(&args.model, ModelWork::Gradients, args.memory_budget_mib)?;
    let grads = model_gradients(&model).map_err(|e| crate::model::in_source(&super::source_name(&args.model), e))?;
    emit(&(grads.to_json() + "\n"), args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// Reads and validates a model (from standard input for `-`), and refuses it if the file or the
/// `work` on it would exceed the budget.
pub(super) fn load_model(path: &std::path::Path, work: ModelWork, budget_mib: u64) -> Result<Model, Error> {
    let model = read_model(path, budget_mib)?;
    crate::budget::check_model(&model, path, work, budget_mib)?;
    Ok(model)
}

/// Reads and validates a model (from standard input for `-`), refusing a file over the budget
/// before reading it, and warns on standard error of what
/// [`crate::render::reference::model_warnings`] names.
pub(super) fn read_model(path: &std::path::Path, budget_mib: u64) -> Result<Model, Error> {
    let model = if super::is_stdin(path) {
        Model::from_json(&super::read_stdin(budget_mib)?, super::STDIN)?
    } else {
        Model::from_json(&crate::budget::read_file(path, budget_mib)?, &path.display().to_string())?
    };
    for warning in crate::render::reference::model_warnings(&model) {
        // A closed standard error loses the warning, not the result.
        let _ = writeln!(std::io::stderr(), "warning: {}: {warning}", super::source_name(path));
    }
    Ok(model)
}
