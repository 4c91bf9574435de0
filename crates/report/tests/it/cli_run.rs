//! Running the `report` binary from tests: its exit code and output, and temporary files.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// The workspace root (where `docs/` is); commands run there, so paths in docs work as written.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `report ARGS…` in the workspace root.
pub fn report<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_gradlab"))
        .args(args)
        .current_dir(repo_root())
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the report binary runs");
    Run {
        code: out.status.code().expect("the binary exits rather than being killed"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}

/// Writes `contents` to a fresh file named `name` under the test's temporary folder.
pub fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-it");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Bad input: exit code 2, nothing on stdout, one line `error: …` on stderr containing every
/// fragment of `expected`, and no panic.
#[track_caller]
pub fn assert_bad_input(run: &Run, expected: &[&str]) {
    assert_eq!(run.code, 2, "exit code; stderr: {}", run.stderr);
    assert_eq!(run.stdout, "", "stdout of a refused run");
    assert!(!run.stderr.contains("panicked") && !run.stderr.contains("backtrace"), "a panic: {}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {:?}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    for fragment in expected {
        assert!(lines[0].contains(fragment), "{:?} not in {:?}", fragment, lines[0]);
    }
}
