"""A small network's check round trip from Python beside the Rust work behind it, in microseconds.

The network: 4 → 16 → 16 → 1 (tanh, tanh, sigmoid), a batch of 8. ``python`` is
``gradlab_oracle.check(model, grads)`` with a parsed Model and a Gradients object (the JSON text
crosses the boundary, the Rust side parses it, computes the reference and compares, and the result
is parsed into objects); ``python, dict model`` also serialises and parses the model each call;
``rust`` is the same parse-reference-compare timed inside Rust.

Then a tutorial-sized MNIST MLP (784 → 512 → 512 → 10, 669,706 parameters, a batch of 64): how
long a description of numpy arrays takes to cross into a parsed Model (its arrays written by the
extension), beside the same description written whole by ``json.dumps`` and parsed (what crossing
cost before), and a whole ``check`` with the gradients as arrays. Run: ``python bench_roundtrip.py``.
"""

import json

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

widths = [784, 512, 512, 10]
big = {
    "layers": [
        {"weight": rng.normal(0, 1 / np.sqrt(a), (b, a)), "bias": rng.normal(0, 0.1, b), "activation": f}
        for a, b, f in zip(widths, widths[1:], ["relu", "relu", "identity"])
    ],
    "input": rng.normal(size=(64, 784)),
    "target": rng.normal(size=(64, 10)),
}
big_grads = [(layer.weight_grad, layer.bias_grad) for layer in go.grad(big).layers]
assert go.check(big, big_grads).passed


def best_of(stmt, repeat=5):
    return min(timeit.repeat(stmt, number=1, repeat=repeat)) * 1e3


arrays = best_of(lambda: go.load_model(big))
whole = best_of(lambda: _core.Model.from_json(json.dumps(big, default=lambda a: a.tolist())))
checked = best_of(lambda: go.check(big, big_grads), repeat=3)
print(f"{widths} network, batch 64 (best of 5; the check best of 3):")
print(f"  dict of arrays to a Model, arrays written by the extension  {arrays:8.1f} ms")
print(f"  the same, written whole by json.dumps                       {whole:8.1f} ms")
print(f"  go.check(dict model, gradients as arrays)                   {checked:8.1f} ms")
