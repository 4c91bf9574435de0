#!/usr/bin/env bash
# The Python package's CI (called by .ci/run): fmt and clippy of its Rust side; a fresh virtual
# environment, maturin (pinned in requirements.txt), the wheel built and installed, pytest without PyTorch; then, as its own step,
# PyTorch from the package index (the default wheel, ~6 GB installed with its CUDA libraries; it
# runs on the CPU) and the tests against its autograd. `--no-torch` stops before that step.
#
# The wheel is a release build in python/target (its own workspace: the main workspace's
# artifacts are built with other features — report's cli, serde_json's — so a shared target
# directory reuses little, and the release build is no slower to compile than the dev one).
# Downloaded wheels are kept in target/python-wheels (the main workspace's target/, which a clean
# clone creates and git ignores): pip's own cache keeps nothing the index marks uncacheable, so
# `pip download` fills that folder once and installs come from it.
set -euo pipefail
cd "$(dirname "$0")"
cargo fmt --manifest-path Cargo.toml --check
cargo clippy -q --manifest-path Cargo.toml --all-targets -- -D warnings
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
wheels=../target/python-wheels
mkdir -p "$wheels"
pip_install() { # requirements file: download what is missing into $wheels, install from there
  "$py" -m pip download -q --disable-pip-version-check -d "$wheels" -r "$1"
  # --no-compile: PyTorch's thousands of modules are not byte-compiled ahead (much of the
  # install's time); Python compiles what the tests import.
  "$py" -m pip install -q --disable-pip-version-check --no-compile --no-index --find-links "$wheels" -r "$1"
}
pip_install requirements.txt
"$work/venv/bin/maturin" build --release -q -o "$work/dist"
"$py" -m pip install -q --disable-pip-version-check --no-deps "$work"/dist/gradlab_oracle-*.whl
# Run from the tests' folder, so the installed wheel (not the source tree) is what is imported.
run_pytest() { (cd tests && "$py" -m pytest -q -p no:cacheprovider --rootdir=.. -c ../pyproject.toml "$@"); }
run_pytest --ignore-glob='test_torch*.py' .
if [ "${1:-}" = "--no-torch" ]; then exit 0; fi
printf '\n== the Python package against PyTorch autograd\n'
pip_install requirements-torch.txt
run_pytest $(cd tests && ls test_torch*.py)
