//! Bad input at every entry point, resource limits, and the regressions the fuzzers found (each
//! with its root cause). The full list of bad inputs tried is the table in `docs/robustness.md`.

use report::reference::chain_gradients;
use scalar::chain::Chain;
use scalar::{Activation, Skip};
use std::process::{Command, Output};

fn report(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gradlab")).args(args).output().unwrap()
}

/// Exit code 2, one line on stderr containing every needle, no backtrace, nothing on stdout.
fn assert_refused(args: &[&str], needles: &[&str]) {
    let out = report(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: not one line: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{args:?}: {needle:?} not in {stderr}");
    }
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: partial output on stdout");
}

fn temp_dir(stem: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gradlab-robustness-{stem}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------------
// Resource limits of the default run (crates/report/src/budget.rs).

/// A file with no size to look at first (a device, a pipe) is refused while it is read, once it
/// passes the budget, rather than read until memory runs out. Run under a 2 GB address-space
/// limit, so that a reader without the bound fails here instead of filling the machine.
#[test]
fn an_endless_model_or_gradients_file_is_refused_while_it_is_read() {
    let bin = env!("CARGO_BIN_EXE_gradlab");
    for args in ["grad --model /dev/zero", "check --model docs/examples/xor.json --grads /dev/zero"] {
        let script = format!("ulimit -v 2000000; exec '{bin}' {args} --memory-budget-mib 1");
        let out = Command::new("sh").args(["-c", &script]).current_dir(crate::cli_run::repo_root()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args}: {stderr}");
        assert!(
            stderr.contains("reading /dev/zero (at least") && stderr.contains("over the memory budget of 1 MiB"),
            "{stderr}"
        );
    }
}

#[test]
fn a_report_over_the_memory_budget_is_refused_with_the_estimate() {
    // 1024 threads × depth 10⁶ × (512 + 128 chains × 128) bytes per layer ≈ 16 TiB.
    assert_refused(
        &["--max-depth", "1000000", "--threads", "1024"],
        &["--max-depth 1000000", "1024 threads", "MiB", "over the memory budget of 4096 MiB"],
    );
    assert_refused(&["--quick", "--memory-budget-mib", "0"], &["over the memory budget of 0 MiB"]);
}

#[test]
fn a_report_with_absurd_work_is_refused_with_the_estimate() {
    // 18 configurations × 10⁵ chains × depth 10⁶ ≈ 1.8·10¹² chain layers: hours at any rate the
    // extended pass reaches on one thread (with the memory budget its block and samples need).
    assert_refused(
        &["--samples", "100000", "--max-depth", "1000000", "--threads", "1", "--memory-budget-mib", "32768"],
        &["1.8e12 chain layers", "layers/s", "over the time budget of 60 min", "--time-budget-minutes"],
    );
    assert_refused(&["--quick", "--time-budget-minutes", "0"], &["over the time budget of 0 min"]);
}

#[test]
fn the_time_estimate_divides_the_work_by_the_rate_and_the_threads() {
    use report::budget::{self, ReportBudget};
    let config = report::sections::Config::new(1, false);
    let budget = ReportBudget { time_minutes: 1, ..ReportBudget::default() };
    let (_, layers) = budget::estimate(&config, 2);
    let epochs = report::sections::classic::training_epochs(&config);
    // Exactly at the budget (60 s on 2 threads) passes; rates 1% lower do not.
    let at_budget = (layers + epochs) as f64 / (2.0 * 60.0);
    let rates = |rate: f64| budget::Rates { decay: rate, survival: rate, classic: rate };
    assert!(budget::check_report_with_rates(&config, 2, budget, rates(at_budget)).is_ok());
    let message = budget::check_report_with_rates(&config, 2, budget, rates(at_budget * 0.99)).unwrap_err().to_string();
    assert!(message.contains("at least 61 s") && message.contains("over the time budget of 1 min"), "{message}");
    // Each kind of work at its own rate: the engine's chains at the decay rate, the survival
    // table's at the oracle's, section 6's training at its own.
    let rates = budget::Rates { decay: 3.0e6, survival: 5.0e5, classic: 2.0e6 };
    let expected = budget::decay_configs_work(&config) as f64 / (2.0 * rates.decay)
        + budget::survival_work(&config) as f64 / (2.0 * rates.survival)
        + epochs as f64 / (2.0 * rates.classic);
    assert_eq!(budget::estimated_seconds(&config, 2, rates), expected);
}

#[test]
fn the_time_estimate_counts_every_chain_the_decay_section_differentiates() {
    use report::budget;
    use report::sections::{Config, decay};
    // The chain layers the section reports having differentiated: each configuration's samples
    // at its chains' depth, and the survival table's chains at each of its depths.
    let counted = |depths: usize, samples: usize, survival: &decay::survival::Survival| {
        (depths * samples) as u128 + survival.rows.iter().map(|r| (r.depth * survival.chains) as u128).sum::<u128>()
    };
    let quick = Config::new(1, true);
    let d = decay::compute(&quick);
    assert_eq!(d.configs.len(), budget::DECAY_CONFIGS);
    let depths: usize = d.configs.iter().map(|c| c.chain_depth).sum();
    assert_eq!(budget::estimate(&quick, 1).1, counted(depths, d.samples, &d.survival));
    // The default run: the same configurations at its depth (an identity skip of span s on
    // s·⌊D/s⌋ layers); its survival table alone (the chains are the flags' business, counted
    // above by the same formula).
    let default = Config::new(1, false);
    let survival = decay::survival::compute(&default);
    let depth_at = |c: &decay::DecayConfig| match (c.skip, c.shortcut) {
        (Some(decay::SkipForm::Identity), Some(s)) => default.max_depth / s * s,
        _ => default.max_depth,
    };
    let depths: usize = d.configs.iter().map(depth_at).sum();
    assert_eq!(budget::estimate(&default, 1).1, counted(depths, default.decay_samples, &survival));
    assert_eq!(budget::survival_work(&default), counted(0, 0, &survival));
}

/// Section 6's training is counted run by run: `--samples` scales it (its seeds) as much as the
/// decay section, so a large `--samples` under a small time budget is refused up front.
#[test]
fn the_time_estimate_counts_every_epoch_section_6_trains() {
    use report::sections::{Config, classic};
    let quick = Config::new(1, true);
    let c = classic::compute(&quick);
    let trained = ((c.runs.len() + c.bugs.len()) * c.seeds * c.epochs) as u128;
    assert_eq!(c.runs.len() + c.bugs.len(), classic::CONFIGS);
    assert_eq!(classic::training_epochs(&quick), trained);
    // 10⁵ samples (the decay section reduced to nothing): 5·10⁴ seeds of 20 configurations for
    // 2,000 epochs, 2·10⁹ epochs, 33 min on 2 threads at 5·10⁵ epochs/s: over 20 min.
    let config = Config { decay_samples: 1, max_depth: 2, ..Config { samples: 100_000, ..Config::new(1, false) } };
    let budget = report::budget::ReportBudget { time_minutes: 20, ..Default::default() };
    let rates = report::budget::Rates { decay: 1e9, survival: 1e9, classic: 5e5 };
    let message = report::budget::check_report_with_rates(&config, 2, budget, rates).unwrap_err().to_string();
    assert!(message.contains("train 2.0e9 epochs") && message.contains("--samples 100000"), "{message}");
}

#[test]
fn the_default_run_is_well_inside_both_limits() {
    let config = report::sections::Config::new(1, false);
    let (bytes, _) = report::budget::estimate(&config, 16);
    // Mostly each thread's engine block of chains (128 chains × 1000 layers × 128 bytes), the
    // other sections and the allocator's margin: a quarter of the default budget at most.
    assert!(bytes < (report::budget::DEFAULT_MEMORY_BUDGET_MIB as u128) << 18, "{bytes}");
    // Its decay section takes seconds even on one thread: under a minute, far below the budget.
    let seconds = report::budget::estimated_seconds(&config, 1, report::budget::measure_rates());
    assert!(seconds < 60.0, "{seconds} s");
}

/// With the decay section reduced to one chain of depth 2 (the run the other sections' footprint
/// was measured on), the memory estimate is still that footprint with the allocator's margin:
/// the sections that run beside the decay section are counted, `--quick`'s smaller ones too.
#[test]
fn the_memory_estimate_counts_the_sections_beside_the_decay_section() {
    use report::budget::{ALLOCATOR_MARGIN, OTHER_SECTIONS_BYTES, OTHER_SECTIONS_BYTES_QUICK, estimate};
    let tiny =
        |quick| report::sections::Config { decay_samples: 1, max_depth: 2, ..report::sections::Config::new(1, quick) };
    let with_margin = |bytes: u128| bytes * ALLOCATOR_MARGIN.0 / ALLOCATOR_MARGIN.1;
    let (full, quick) = (estimate(&tiny(false), 1).0, estimate(&tiny(true), 1).0);
    assert!(
        full >= with_margin(OTHER_SECTIONS_BYTES) && full < with_margin(OTHER_SECTIONS_BYTES) + (2 << 20),
        "{full}"
    );
    assert!(quick >= with_margin(OTHER_SECTIONS_BYTES_QUICK) && quick < full, "{quick}");
}

// ---------------------------------------------------------------------------------------------
// Bad input the existing per-command tests do not cover.

#[test]
fn bad_input_at_every_subcommand_gets_one_located_line() {
    let dir = temp_dir("subcommands");
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    std::fs::write(path("empty.json"), "").unwrap();
    std::fs::write(path("no-layers.json"), r#"{"layers": [], "input": [[1]], "target": [[0]]}"#).unwrap();
    std::fs::write(
        path("nan-input.json"),
        r#"{"layers": [{"weight": [[1]], "activation": "relu"}], "input": [[NaN]], "target": [[0]]}"#,
    )
    .unwrap();
    std::fs::write(
        path("inf-target.json"),
        r#"{"layers": [{"weight": [[1]], "activation": "relu"}], "input": [[1]], "target": [[1e999]]}"#,
    )
    .unwrap();
    std::fs::write(
        path("ok.json"),
        r#"{"layers": [{"weight": [[1]], "activation": "relu"}], "input": [[1]], "target": [[0]]}"#,
    )
    .unwrap();
    std::fs::write(path("grads-ragged.json"), r#"{"layers": [{"weight_grad": [[1, 2]]}]}"#).unwrap();
    let (empty, no_layers, nan, inf, ok, ragged) = (
        path("empty.json"),
        path("no-layers.json"),
        path("nan-input.json"),
        path("inf-target.json"),
        path("ok.json"),
        path("grads-ragged.json"),
    );
    assert_refused(&["grad", "--model", &empty], &["empty.json", "line 1"]);
    assert_refused(&["grad", "--model", &no_layers], &["no-layers.json", "no layers"]);
    assert_refused(&["grad", "--model", &nan], &["nan-input.json", "input row 0 column 0: NaN is not a finite number"]);
    assert_refused(&["grad", "--model", &inf], &["inf-target.json", "line 1"]);
    assert_refused(&["grad", "--model", dir.to_str().unwrap()], &["cannot read"]);
    assert_refused(&["check", "--model", &ok, "--grads", &ragged], &["grads-ragged.json", "layer 1", "column"]);
    assert_refused(&["check", "--model", &ok, "--grads", &ok], &["ok.json", "unknown field"]);
    assert_refused(&["check", "--model", &ok, "--grads", &ragged, "--atol=-1"], &["--atol -1"]);
    // A negative number is a value: clap refuses it for an unsigned flag (its usage error, exit
    // 2), and gradlab for a tolerance (one line, exit 2) — never "unexpected argument".
    let out = report(&["grad", "--model", &ok, "--memory-budget-mib", "-1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("invalid value '-1' for '--memory-budget-mib"), "{stderr}");
    assert!(!stderr.contains("unexpected argument") && !stderr.contains("panicked") && out.stdout.is_empty());
    assert_refused(&["check", "--model", &ok, "--grads", &ragged, "--rtol", "-1"], &["--rtol -1", "≥ 0"]);
    assert_refused(
        &["chain", "--activation", "relu", "--weights", "1", "--input", "nan", "--target", "0"],
        &["--input"],
    );
    assert_refused(
        &["chain", "--activation", "relu", "--weights", "1", "--input", "1", "--target", "inf"],
        &["--target"],
    );
    assert_refused(
        &["chain", "--activation", "leaky_relu", "--slope", "NaN", "--weights", "1", "--input", "1", "--target", "0"],
        &["--slope"],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_subcommand_leaves_an_existing_out_file_untouched() {
    let dir = temp_dir("out");
    let out = dir.join("grads.json");
    std::fs::write(&out, "precious").unwrap();
    let missing = dir.join("missing.json");
    assert_refused(&["grad", "--model", missing.to_str().unwrap(), "--out", out.to_str().unwrap()], &["missing.json"]);
    assert_refused(
        &[
            "chain",
            "--activation",
            "sigmod",
            "--weights",
            "1",
            "--input",
            "1",
            "--target",
            "0",
            "--out",
            out.to_str().unwrap(),
        ],
        &["sigmod"],
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious");
    let into_missing_dir = dir.join("no/such/dir/out.md");
    assert_refused(
        &[
            "chain",
            "--activation",
            "relu",
            "--weights",
            "1",
            "--input",
            "1",
            "--target",
            "0",
            "--out",
            into_missing_dir.to_str().unwrap(),
        ],
        &["cannot create"],
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind: {leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Regressions found by the fuzz targets (fuzz/seeds/*/regression-*).

/// Found by `model_files_give_a_result_or_an_error` (seed `regression-newline-in-unknown-field`).
/// Found in the renovation that gathered the budgets (`budget.rs`). Root cause: `report chain`
/// accepts a depth (or a `VALUE*COUNT`) up to 2^128 − 1 so that the budget can refuse it, but the
/// estimate `depth × CHAIN_BYTES_PER_LAYER` overflowed `u128` first and the binary panicked;
/// the estimate now saturates.
#[test]
fn a_chain_depth_near_u128_max_is_refused_not_a_panic() {
    let max = u128::MAX.to_string();
    let base = ["chain", "--activation", "relu", "--input", "1", "--target", "0"];
    assert_refused(&[&base[..], &["--weight", "1", "--depth", &max]].concat(), &["over the memory budget"]);
    let weights = format!("1*{max},1");
    assert_refused(&[&base[..], &["--weights", &weights]].concat(), &["over the memory budget"]);
}

/// Root cause: serde's message quotes the offending key as decoded, so a JSON key `"in\nput"`
/// put a raw newline into the one-line error; `model::in_source` now escapes control characters.
#[test]
fn unknown_field_with_a_newline_still_gives_a_one_line_message() {
    let text = r#"{"layers": [{"weight": [[1]], "activation": "relu"}], "in\nput": [[1]], "target": [[0]]}"#;
    let err = report::model::Model::from_json(text, "model.json").unwrap_err().to_string();
    assert!(!err.contains('\n'), "{err:?}");
    assert!(err.contains(r"in\nput"), "{err}");
}

/// Found by `chain_magnitudes_are_exact_or_refused` (seed `regression-ext-saturates-to-false-zero`).
/// Root cause: `Ext` saturates exponents beyond ±2^62 to 0, so a sigmoid chain with w = −1e300
/// (σ′ ≈ e^−1e300 per layer) was reported with gradients that were "exactly 0" (log10 `null`,
/// sign 0) although no factor is 0. `chain_gradients` now refuses any chain whose exact
/// computation leaves 2^±2^60, where no product can saturate.
#[test]
fn gradients_beyond_the_extended_range_are_refused_not_reported_as_exact_zeros() {
    let chain = Chain::uniform(Activation::Sigmoid, vec![-1e300; 3]).unwrap();
    let err = chain_gradients(&chain, 1.0, 0.0).unwrap_err().to_string();
    assert!(err.contains("beyond 2^±2^60"), "{err}");
    assert!(!err.contains('\n'));
}

/// Found by `chain_magnitudes_are_exact_or_refused` (seed `regression-silu-derivative-below-ext-range`).
/// Root cause: the range check that refuses false exact zeros knew σ, tanh and softplus, not
/// GELU and SiLU (added later): at z ≈ −2.4e297 SiLU′ ≈ e^z is below `Ext`'s range, came out as
/// 0, and the top layer's gradient was reported as an exact 0. GELU′ and SiLU′ are 0 at one
/// point each (|z| < 2), so a 0 elsewhere is now refused as out of range.
#[test]
fn gelu_and_silu_derivatives_below_the_extended_range_are_refused_not_exact_zeros() {
    for f in [Activation::Silu, Activation::Gelu] {
        // One layer, z = w·x = −2e297: f′(z) ≈ e^z, far below 2^−2^60.
        let chain = Chain::uniform(f, vec![-1e297]).unwrap();
        let err = chain_gradients(&chain, 2.0, 0.0).unwrap_err().to_string();
        assert!(err.contains("layer 1") && err.contains("beyond 2^±2^60"), "{f:?}: {err}");
        // Near their zero the derivative is small but within range, and reported.
        let near = Chain::uniform(f, vec![1.0]).unwrap();
        let report = chain_gradients(&near, -1.0, 0.0).unwrap();
        assert!(report.layers[0].log10_abs_grad.is_some(), "{f:?}");
    }
}

/// Found by `chain_magnitudes_are_exact_or_refused` (seed `regression-identity-skip-sum-exactly-zero`).
/// Root cause: the range check took a sigmoid layer's output a = 0 as a false zero (σ is never 0),
/// but with an identity skip a = σ(z) + a_{d−s}, which can be 0 exactly; it now looks at σ(z).
#[test]
fn an_identity_skip_sum_of_exactly_zero_is_reported_not_refused() {
    // Span 1: a_d = σ(z_d) + a_{d−1}, a_0 = x = −½. With w = 1e−300, z_1 = −5e−301 and σ(z_1)
    // rounds to ½, so a_1 = ½ − ½ = 0 exactly: a true zero of the sum, not an underflow.
    let chain =
        Chain::new(vec![1e-300; 2], vec![Activation::Sigmoid; 2], None, Some(1)).unwrap().with_skip(Skip::Identity);
    let report = chain_gradients(&chain, -0.5, 0.0).unwrap_or_else(|e| panic!("refused: {e}"));
    assert_eq!(report.layers[1].input, 0.0, "a_1 = 0 exactly");
    assert!(report.layers.iter().all(|l| l.exact_grad.is_finite()));
}

/// Found by `chain_magnitudes_are_exact_or_refused` (seed `regression-overflowing-loss-printed-inf`).
/// Root cause: `ChainReport::to_markdown` formatted the f64 loss (y − ŷ)², which overflows while
/// y and the exact gradients are finite, through `numfmt::sig`, printing `non-finite (inf)`.
#[test]
fn an_overflowing_chain_loss_is_said_not_printed_as_inf() {
    let chain = Chain::uniform(Activation::Identity, vec![1e200]).unwrap();
    let report = chain_gradients(&chain, 1.0, -1e200).unwrap();
    assert!(report.loss.is_infinite());
    let text = report.to_markdown();
    assert!(text.contains("loss L = overflows f64"), "{text}");
    assert!(!text.contains("inf"), "{text}");
}

/// Found by `chain_magnitudes_are_exact_or_refused` (seed `regression-softplus-value-ext-underflow`).
/// Root cause: `scalar::Activation::value_ext` took σ(z) and softplus(z) from the `f64` formula
/// whenever z is a normal `f64`, so for z < −745 the "exact" forward value was 0 and the next
/// layer's gradient δ·u came out as an exact 0 instead of ~10^(−4e9). They are now e^z from
/// its logarithm there (relative error e^z).
#[test]
fn a_softplus_unit_far_below_zero_keeps_the_next_gradient_exact() {
    let chain = Chain::new(vec![1.0, 1.0], vec![Activation::Softplus; 2], Some(vec![-1e10, 0.0]), None).unwrap();
    let report = chain_gradients(&chain, 0.0, 1.0).unwrap();
    let l = report.layers[1].log10_abs_grad.expect("the layer-2 gradient is not exactly 0");
    // u_2 = softplus(−1e10) = e^−1e10: log10 u_2 = −1e10·log10(e); the other factors are O(1).
    let want = -1e10 * std::f64::consts::LOG10_E;
    assert!((l - want).abs() < 2.0, "{l} vs {want}");
}
