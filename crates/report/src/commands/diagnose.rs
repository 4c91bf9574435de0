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
    /// Write the figure of per-layer norms (diagnose-norms.svg) into this directory, linked from the
    /// Markdown (the HTML page inlines it). A diagnosis without a figure (a non-finite value)
    /// removes the one an earlier run left there, so that it does not pass for this one's.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// Refuse model files larger than this many MiB (as `grad` does).
    #[arg(long, value_name = "MIB", default_value_t = crate::budget::DEFAULT_MEMORY_BUDGET_MIB)]
    pub memory_budget_mib: u64,
}

/// Runs `report diagnose`.
pub fn run(args: &Args) -> Result<ExitCode, Error> {
    // No reference gradients are computed: the file's size is the budget's only concern.
    let model = super::grad::read_model(&args.model, args.memory_budget_mib)?;
    let report = diagnose(&model).map_err(|e| crate::model::in_source(&super::source_name(&args.model), e))?;
    let svg = figure(&report).svg();
    // Where the Markdown finds the figure: in --plots, relative to --out's folder.
    let link = match &args.plots {
        Some(dir) if args.format != OutputFormat::Html => {
            crate::io::ensure_dir(dir)?;
            let path = dir.join(FIGURE_FILE);
            match &svg {
                Some(svg) => crate::io::write_atomically(&path, svg.as_bytes())?,
                None => crate::io::remove_if_present(&path)?,
            }
            let folder = super::plot_link(dir, super::out_file(args.out.as_deref()));
            Some(if folder.is_empty() { FIGURE_FILE.to_string() } else { format!("{folder}/{FIGURE_FILE}") })
        }
        _ => None,
    };
    let text = match args.format {
        OutputFormat::Json => json(&report),
        OutputFormat::Md => markdown(&report, link.as_deref()),
        OutputFormat::Html => {
            let figures: Vec<(String, String)> = svg.map(|svg| (FIGURE_FILE.to_string(), svg)).into_iter().collect();
            crate::render::html::page(&markdown(&report, Some(FIGURE_FILE)), &figures)
        }
    };
    emit(&text, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
