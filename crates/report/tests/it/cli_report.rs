//! The report's command line: flags, errors (named on clap's first line, exit 2), help texts and
//! atomic output files.

use std::process::Command;

fn report(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gradlab")).args(args).output().unwrap()
}

#[test]
fn quick_json_parses_and_md_goes_to_out() {
    let out = report(&["--quick", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["config"]["quick"], true);
    let dir = std::env::temp_dir().join(format!("gradlab-cli-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("r.md");
    // --out writes the file instead of standard output, the same bytes.
    let out = report(&["--quick", "--out", path.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), report(&["--quick"]).stdout);
    assert_eq!(report(&["--quick", "--out", "-"]).stdout, report(&["--quick"]).stdout);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_decay_sections_chains_follow_samples_unless_given() {
    let config = |args: &[&str]| {
        let out = report(&[&["--quick", "--format", "json", "--max-depth", "8"], args].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (v["config"]["samples"].as_u64().unwrap(), v["config"]["decay_samples"].as_u64().unwrap())
    };
    assert_eq!(config(&["--samples", "3"]), (3, 30));
    assert_eq!(config(&["--samples", "3", "--decay-samples", "5"]), (3, 5));
}

/// Ten chains per sample stop at the flags' own cap: `--samples 100000` asks for 100,000 chains,
/// not a million (parsed, not run: such a report takes hours).
#[test]
fn the_decay_sections_default_chains_stop_at_the_cap() {
    use clap::Parser;
    let config = |args: &[&str]| {
        let cli = report::cli::Cli::try_parse_from([&["gradlab"], args].concat()).unwrap();
        let config = cli.report.config().unwrap();
        (config.samples, config.decay_samples)
    };
    let cap = report::commands::report::MAX_SAMPLES;
    assert_eq!(config(&["--samples", "10001"]), (10_001, cap));
    assert_eq!(config(&["--samples", &cap.to_string()]), (cap, cap));
    assert_eq!(config(&["--samples", "9999"]), (9999, 99_990));
}

/// Help texts are made from doc comments: none may show rustdoc's link syntax.
#[test]
fn help_texts_show_no_rustdoc_links() {
    for command in [None, Some("chain"), Some("grad"), Some("check"), Some("diagnose")] {
        let args: Vec<&str> = command.into_iter().chain(["--help"]).collect();
        let out = report(&args);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && help.contains("Usage:"), "{args:?}: {help}");
        assert!(!help.contains("[`") && !help.contains("`]"), "{args:?}: rustdoc syntax in\n{help}");
    }
}

/// A bad flag is named on stderr's first line (clap adds its usage and a pointer to `--help`).
#[test]
fn bad_flags_are_named_on_the_first_line_and_exit_code_2() {
    for (args, needle) in [
        (vec!["--samples", "0"], "--samples 0"),
        (vec!["--max-depth", "1000000000000"], "--max-depth"),
        (vec!["--threads", "0"], "--threads 0"),
        (vec!["--samples", "-3"], "-3"),
        (vec!["--decay-samples", "0"], "--decay-samples 0"),
        (vec!["--decay-samples", "100001"], "--decay-samples 100001"),
        (vec!["--decay-samples", "many"], "many"),
        (vec!["--format", "xml"], "xml"),
    ] {
        let out = report(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let first = stderr.lines().next().unwrap_or("");
        assert!(first.starts_with("error: ") && first.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn an_unwritable_out_fails_cleanly_and_an_existing_file_survives() {
    let dir = std::env::temp_dir().join(format!("gradlab-cli-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A folder as --out: refused, nothing written.
    let out = report(&["--quick", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("folder"));
    // A file in a folder that does not exist: refused with the path.
    let missing = dir.join("no/such/dir/r.md");
    let out = report(&["--quick", "--out", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/dir"));
    // A bad flag after --out: the existing file is untouched.
    let existing = dir.join("keep.md");
    std::fs::write(&existing, "precious").unwrap();
    let out = report(&["--quick", "--samples", "0", "--out", existing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "precious");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plots_go_into_a_folder_and_a_file_in_the_way_is_refused() {
    let dir = std::env::temp_dir().join(format!("gradlab-cli-plots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plots = dir.join("plots");
    let out_md = dir.join("r.md");
    let out = report(&["--quick", "--plots", plots.to_str().unwrap(), "--out", out_md.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(plots.join("decay-sigmoid.svg").is_file());
    assert!(std::fs::read_to_string(&out_md).unwrap().contains("(plots/decay-sigmoid.svg)"));
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = report(&["--quick", "--plots", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a folder"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    std::fs::remove_dir_all(&dir).unwrap();
}
