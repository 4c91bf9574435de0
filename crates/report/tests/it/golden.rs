//! Every output a person or program reads, byte for byte against committed files: the quick
//! report (Markdown and JSON), the default report's JSON (its Markdown is `docs/report.md`, checked
//! in `report.rs`), and `chain`, `grad` and `check` in each of their formats.
//!
//! Each is the command line's output, except the default report's JSON: that is the renderer's
//! output for the test binary's one default report (`reports.rs`), which the command line writes
//! unchanged (`--format json`, as `quick.json` shows), so the slowest report is not computed again.
//!
//! A refactoring must not change one byte of these. A change that means to (a new column, a
//! reworded sentence) regenerates them with `GRADLAB_BLESS=1 cargo test -p report --test it golden`
//! and shows the difference in its commit; CI never sets it.

use crate::cli_run::{repo_root, report};

/// One committed output: the file under `tests/it/golden/`, how it is made, the exit code.
struct Golden {
    file: &'static str,
    /// The arguments, separated by spaces (none of them contains one).
    args: &'static str,
    code: i32,
}

const GOLDEN: &[Golden] = &[
    Golden { file: "quick.md", args: "--quick", code: 0 },
    Golden { file: "quick.json", args: "--quick --format json", code: 0 },
    Golden {
        file: "chain-sigmoid.md",
        args: "chain --activation sigmoid --weight 1 --depth 10 --input 1 --target 0",
        code: 0,
    },
    Golden {
        file: "chain-sigmoid.json",
        args: "chain --activation sigmoid --weight 1 --depth 10 --input 1 --target 0 --format json",
        code: 0,
    },
    // Magnitudes far below f64's range: the log-domain columns.
    Golden {
        file: "chain-sigmoid-deep.md",
        args: "chain --activation sigmoid --weight 0.5 --depth 3000 --input 1 --target 0",
        code: 0,
    },
    Golden {
        file: "chain-relu-shortcut-biases.json",
        args: "chain --activation leaky_relu --weights 1.5,-0.5,2,0.75,-1.25 --biases 0.1,0.2,-0.3,0,0.5 --shortcut 2 --input 0.7 --target -1 --format json",
        code: 0,
    },
    Golden {
        file: "chain-tanh-shortcut.md",
        args: "chain --activation tanh --weights 0.9,1.1,-0.7,1.3,0.6,-1.2 --shortcut 3 --input -0.4 --target 0.25",
        code: 0,
    },
    Golden { file: "grad-xor.json", args: "grad --model docs/examples/xor.json", code: 0 },
    Golden {
        file: "check-xor-buggy.md",
        args: "check --model docs/examples/xor.json --grads docs/examples/xor.buggy-grads.json",
        code: 1,
    },
    Golden {
        file: "check-xor-buggy.json",
        args: "check --model docs/examples/xor.json --grads docs/examples/xor.buggy-grads.json --format json",
        code: 1,
    },
];

#[test]
fn every_output_has_the_committed_bytes() {
    let dir = repo_root().join("crates/report/tests/it/golden");
    let bless = std::env::var_os("GRADLAB_BLESS").is_some();
    let mut stale = Vec::new();
    let mut compare = |file: &str, output: &str| {
        let path = dir.join(file);
        if bless {
            std::fs::write(&path, output).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (GRADLAB_BLESS=1 writes it)", path.display()));
        if committed != output {
            let line = committed.lines().zip(output.lines()).position(|(a, b)| a != b);
            stale.push(format!("{file} (first differing line: {:?})", line.map(|l| l + 1)));
        }
    };
    for golden in GOLDEN {
        let args: Vec<&str> = golden.args.split(' ').collect();
        let run = report(&args);
        assert_eq!(run.code, golden.code, "{}: exit code; stderr: {}", golden.file, run.stderr);
        compare(golden.file, &run.stdout);
    }
    compare("default.json", &report::render::json(crate::reports::default_report()));
    assert!(stale.is_empty(), "outputs differ from the committed files: {stale:#?}");
}
