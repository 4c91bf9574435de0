//! `report diagnose`: the per-layer measurements of a model file's network and batch and one
//! verdict ([`crate::diagnosis`]), as Markdown (with a figure), JSON or one HTML page.

use super::{OutputFormat, emit};
use crate::diagnosis::diagnose;
use crate::error::Error;
use crate::render::diagnose::{FIGURE_FILE, figure, json, markdown};
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `report diagnose`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model file (JSON: layers, input, target; see docs/model-format.md); `-` reads it from
    /// standard input.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Md)]
    pub format: OutputFormat,
    /// Write the output to this file (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the figure of per-layer norms (diagnose-norms.svg) into this directory (Markdown).
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// Refuse model files larger than this many MiB (as `grad` does).
    #[arg(long, value_name = "MIB", default_value_t = crate::budget::DEFAULT_MEMORY_BUDGET_MIB)]
    pub memory_budget_mib: u64,
}

/// Runs `report diagnose`.
pub fn run(args: &Args) -> Result<ExitCode, Error> {
    // No reference tape is built: the file's size is the budget's only concern.
    let model = super::grad::read_model(&args.model, args.memory_budget_mib)?;
    let report = diagnose(&model).map_err(|e| crate::model::in_source(&super::source_name(&args.model), e))?;
    let text = match args.format {
        OutputFormat::Json => json(&report),
        OutputFormat::Md => markdown(&report),
        OutputFormat::Html => {
            let figures: Vec<(String, String)> =
                figure(&report).svg().map(|svg| (FIGURE_FILE.to_string(), svg)).into_iter().collect();
            crate::render::html::page(&markdown(&report), &figures)
        }
    };
    if let (Some(dir), OutputFormat::Md) = (&args.plots, args.format) {
        if let Some(svg) = figure(&report).svg() {
            crate::io::ensure_dir(dir)?;
            crate::io::write_atomically(&dir.join(FIGURE_FILE), svg.as_bytes())?;
        }
    }
    emit(&text, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
