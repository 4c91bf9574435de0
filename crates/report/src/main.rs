//! The `gradlab` binary: parses the command line and turns any error into one line on stderr and
//! exit code 2 (usage errors are clap's own, also exit 2; `check`'s FAIL is 1).

use std::process::ExitCode;

fn main() -> ExitCode {
    match report::cli::run(std::env::args_os()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}
