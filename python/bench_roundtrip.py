"""A small network's check round trip from Python beside the Rust work behind it, in microseconds.

The network: 4 → 16 → 16 → 1 (tanh, tanh, sigmoid), a batch of 8. ``python`` is
``gradlab_oracle.check(model, grads)`` with a parsed Model and a Gradients object (the JSON text
crosses the boundary, the Rust side parses it, computes the reference and compares, and the result
is parsed into objects); ``python, dict model`` also serialises and parses the model each call;
``rust`` is the same parse-reference-compare timed inside Rust. Run: ``python bench_roundtrip.py``.
"""

import timeit

import numpy as np

import gradlab_oracle as go
from gradlab_oracle import _core

rng = np.random.default_rng(0)
widths = [4, 16, 16, 1]
acts = ["tanh", "tanh", "sigmoid"]
description = {
    "layers": [
        {"weight": rng.normal(0, 1 / np.sqrt(a), (b, a)), "bias": rng.normal(0, 0.1, b), "activation": f}
        for a, b, f in zip(widths, widths[1:], acts)
    ],
    "input": rng.normal(size=(8, 4)),
    "target": rng.uniform(size=(8, 1)),
}
model = go.load_model(description)
grads = go.grad(model)
assert go.check(model, grads).passed
reps = 2000


def best(stmt):
    return min(timeit.repeat(stmt, number=reps, repeat=5)) / reps * 1e6


python = best(lambda: go.check(model, grads))
python_dict = best(lambda: go.check(description, grads))
rust = min(_core._time_check_in_rust(model, grads.to_json(), reps) for _ in range(5)) * 1e6
print(f"check round trip, {widths} network, batch 8 (best of 5 × {reps}):")
print(f"  rust (inside the extension)  {rust:8.1f} µs")
print(f"  python, parsed Model         {python:8.1f} µs  (+{python - rust:.1f} µs)")
print(f"  python, dict model           {python_dict:8.1f} µs")
