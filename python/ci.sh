#!/usr/bin/env bash
# The Python package's CI (called by .ci/run): a fresh virtual environment, maturin (pinned in
# requirements.txt), the wheel built and installed, pytest without PyTorch; then, as its own step,
# PyTorch from the package index (the default wheel, ~6 GB with its CUDA libraries; it runs on
# the CPU) and the tests against its autograd. Tests marked needs_gelu_silu (nn.GELU, nn.SiLU) are skipped until
# the branch adding gelu and silu to the model format is merged (the merge removes the marker).
set -euo pipefail
cd "$(dirname "$0")"
cargo fmt --manifest-path Cargo.toml --check
venv=$(mktemp -d)/venv
python3 -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install -q --disable-pip-version-check -r requirements.txt
"$venv/bin/maturin" build --release -q -o "$venv/../wheels"
"$py" -m pip install -q --disable-pip-version-check --no-deps "$venv"/../wheels/gradlab_oracle-*.whl
# Run from the tests' folder, so the installed wheel (not the source tree) is what is imported.
(cd tests && "$py" -m pytest -q -p no:cacheprovider -m "not needs_gelu_silu" --ignore=test_torch.py --rootdir=.. -c ../pyproject.toml .)
if [ "${1:-}" = "--no-torch" ]; then exit 0; fi
printf '\n== the Python package against PyTorch autograd\n'
"$py" -m pip install -q --disable-pip-version-check -r requirements-torch.txt
(cd tests && "$py" -m pytest -q -p no:cacheprovider -m "not needs_gelu_silu" --rootdir=.. -c ../pyproject.toml test_torch.py)
rm -rf "$(dirname "$venv")"
