"""The numpy adapter, for hand-written backprop: layers as ``(W, b, activation)`` triples, and
per layer perhaps a layer normalisation (``norms=``, as a course's ``layernorm_forward`` takes
``gamma``, ``beta`` and ``eps``).

The layout is stated, never guessed: ``layout="in_out"`` is numpy's ``Z = X @ W + b`` (W of shape
``(n_in, n_out)``, the default here), ``layout="out_in"`` is PyTorch's ``Linear.weight`` and the
model file's (W of shape ``(n_out, n_in)``, ``Z = X @ W.T + b``). Gradients go in and come out in
the same shapes as ``W`` and ``b``. The model description handed to gradlab is always in the model
file's own layout (an ``in_out`` W is transposed here), and a check's worst entries are also named
in the caller's arrays (``WorstEntry.as_given``: ``dW[i][j]``, ``db[j]``).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _array, _rows  # defined in __init__ before it imports this module
from ._results import CheckResult

Layer = Tuple[Any, Any, str]
_LAYOUTS = ("in_out", "out_in")
_NORM_KEYS = ("gamma", "beta", "eps", "at")
_NORM_AT = ("input", "pre_activation")


def _check_layout(layout: str) -> None:
    if layout not in _LAYOUTS:
        raise ValueError(f"layout: unknown {layout!r} (expected 'in_out', numpy's X @ W, or 'out_in', PyTorch's)")


def _check_finite(name: str, a: np.ndarray) -> None:
    """Refuses a NaN or an infinity, named at its index in the caller's array (``W[i][j]`` in the
    layout given, not in the transpose handed to gradlab)."""
    bad = np.argwhere(~np.isfinite(a))
    if len(bad):
        index = tuple(int(k) for k in bad[0])
        v = a[index]
        text = "NaN" if np.isnan(v) else ("inf" if v > 0 else "-inf")
        raise ValueError(f"{name}{''.join(f'[{k}]' for k in index)}: {text} is not a finite number")


def _weights(layers: Sequence[Layer], layout: str) -> List[Tuple[np.ndarray, Optional[np.ndarray], str]]:
    """The layers with W as float64 in the model file's layout (n_out, n_in), shapes checked."""
    _check_layout(layout)
    if len(layers) == 0:
        raise ValueError("layers: the network has no layers")
    out = []
    n_in_expected = None
    for idx, layer in enumerate(layers):
        l = idx + 1
        if not (isinstance(layer, Sequence) and len(layer) == 3):
            raise ValueError(f"layer {l}: expected a triple (W, b or None, activation name)")
        w, b, activation = layer
        w = _array(w)
        if w.ndim != 2:
            raise ValueError(f"layer {l} W: expected a 2-D array, got {w.ndim} dimensions (shape {w.shape})")
        _check_finite(f"layer {l} W", w)
        w_out_in = w.T if layout == "in_out" else w
        n_out, n_in = w_out_in.shape
        if n_in_expected is not None and n_in != n_in_expected:
            want = f"({n_in_expected}, n_out)" if layout == "in_out" else f"(n_out, {n_in_expected})"
            raise ValueError(
                f"layer {l} W: shape {w.shape} does not follow layer {l - 1}'s {n_in_expected} outputs "
                f"(layout {layout}: expected {want})"
            )
        if b is not None:
            b = _array(b)
            if b.shape != (n_out,):
                raise ValueError(f"layer {l} b: expected shape ({n_out},), one per output unit, got {b.shape}")
            _check_finite(f"layer {l} b", b)
        if not isinstance(activation, str):
            raise ValueError(f"layer {l} activation: expected a name such as 'tanh', got {activation!r}")
        out.append((w_out_in, b, activation))
        n_in_expected = n_out
    return out


def _norms(norms: Optional[Sequence[Any]], weights: List[Tuple[np.ndarray, Optional[np.ndarray], str]]) -> List[Optional[Dict[str, Any]]]:
    """Each layer's ``"norm"`` of the model file, from ``{"gamma", "beta", "eps", "at"}`` mappings
    (or None), γ and β checked against the values they scale: the layer's inputs (``at="input"``,
    the default) or its units (``"pre_activation"``)."""
    if norms is None:
        return [None] * len(weights)
    if len(norms) != len(weights):
        raise ValueError(f"norms: expected {len(weights)} entries (a mapping or None per layer), got {len(norms)}")
    out: List[Optional[Dict[str, Any]]] = []
    for idx, (norm, (w, _, _)) in enumerate(zip(norms, weights)):
        l = idx + 1
        if norm is None:
            out.append(None)
            continue
        if not isinstance(norm, Mapping):
            raise ValueError(f"norms[{idx}]: expected a mapping {{'gamma', 'beta', 'eps', 'at'}} or None, got {type(norm).__name__}")
        unknown = [k for k in norm if k not in _NORM_KEYS]
        if unknown:
            raise ValueError(f"norms[{idx}]: unknown key {unknown[0]!r} (expected {', '.join(_NORM_KEYS)})")
        at = norm.get("at", "input")
        if at not in _NORM_AT:
            raise ValueError(f"norms[{idx}] at: unknown {at!r} (expected 'input' or 'pre_activation')")
        n = w.shape[1] if at == "input" else w.shape[0]
        entry: Dict[str, Any] = {"at": at}
        for key, field in (("gamma", "weight"), ("beta", "bias")):
            if norm.get(key) is not None:
                v = _array(norm[key])
                if v.shape != (n,):
                    per = "input" if at == "input" else "unit"
                    raise ValueError(f"layer {l} {key}: expected shape ({n},), one per {per} of the layer, got {v.shape}")
                _check_finite(f"layer {l} {key}", v)
                entry[field] = v
        if "eps" in norm:
            entry["eps"] = float(norm["eps"])
        out.append(entry)
    return out


def model_from_numpy(
    layers: Sequence[Layer],
    x: Any,
    t: Any,
    *,
    layout: str = "in_out",
    loss: Union[str, Mapping[str, str]] = "squared_error",
    leaky_slope: Optional[float] = None,
    shortcut: Optional[int] = None,
    shortcut_layers: Optional[Sequence[int]] = None,
    skip: Optional[str] = None,
    norms: Optional[Sequence[Optional[Mapping[str, Any]]]] = None,
) -> Dict[str, Any]:
    """The model description (a dict in the model file's format) of a network given as
    ``(W, b, activation)`` triples in ``layout``, with the batch ``x`` (B × n_in) and targets ``t``.

    ``shortcut`` s adds a_{l−s} to every layer l that s divides, or with ``shortcut_layers`` to
    those layers only (1-based: ``shortcut=2, shortcut_layers=[3, 5]`` for a stem layer before
    blocks of two); ``skip`` says where it joins (``"pre_activation"``, the default, or
    ``"identity"``).

    ``norms``, one entry per layer (None without one), adds a layer normalisation,
    ``{"gamma": γ, "beta": β, "eps": ε, "at": "input" or "pre_activation"}`` (γ, β optional;
    ε 1e-5 unless given): ``"input"`` (the default) normalises the layer's input before its
    product, ``"pre_activation"`` its ``X @ W + b`` before the activation (affine → layernorm →
    relu). γ and β have one value per input, or per unit.

    ``loss`` is the model file's ``"loss"``: ``"squared_error"`` (L = (1/B)·Σ_b Σ_j (y − t)²),
    ``"bce"``, or (gradlab's issue #20) an object such as ``{"kind": "mse", "reduction": "mean"}``.
    """
    weights = _weights(layers, layout)
    description: Dict[str, Any] = {
        "layers": [
            {"weight": w, "activation": activation, **({} if b is None else {"bias": b}), **({} if n is None else {"norm": n})}
            for (w, b, activation), n in zip(weights, _norms(norms, weights))
        ],
        "loss": dict(loss) if isinstance(loss, Mapping) else loss,
        "input": _rows(x, weights[0][0].shape[1]),
        "target": _rows(t, weights[-1][0].shape[0]),
    }
    if leaky_slope is not None:
        description["leaky_slope"] = float(leaky_slope)
    if shortcut is not None:
        description["shortcut"] = int(shortcut)
    if shortcut_layers is not None:
        description["shortcut_layers"] = [int(l) for l in shortcut_layers]
    if skip is not None:
        # The CLI's spelling of the model file's pre_activation.
        description["skip"] = "pre_activation" if skip == "pre-activation" else skip
    return description



def grad_numpy(
    layers: Sequence[Layer],
    x: Any,
    t: Any,
    *,
    layout: str = "in_out",
    memory_budget_mib: Optional[int] = None,
    **model_options: Any,
) -> List[Tuple[np.ndarray, ...]]:
    """The reference ``(dW, db)`` of every layer, in the shapes of ``(W, b)`` (``db`` also for a
    layer without a bias: it is ∂L/∂z summed over the batch), and ``(dW, db, dgamma, dbeta)`` for
    a layer with a norm (both given with or without γ and β). ``model_options`` as in
    :func:`model_from_numpy`; ``memory_budget_mib`` bounds the reference gradients."""
    from . import DEFAULT_MEMORY_BUDGET_MIB, grad

    budget = DEFAULT_MEMORY_BUDGET_MIB if memory_budget_mib is None else memory_budget_mib
    g = grad(model_from_numpy(layers, x, t, layout=layout, **model_options), memory_budget_mib=budget)
    out: List[Tuple[np.ndarray, ...]] = []
    for l in g.layers:
        pair = (l.weight_grad.T.copy() if layout == "in_out" else l.weight_grad, l.bias_grad)
        out.append(pair if l.norm_weight_grad is None else (*pair, l.norm_weight_grad, l.norm_bias_grad))
    return out


def check_numpy(
    layers: Sequence[Layer],
    x: Any,
    t: Any,
    grads: Sequence[Tuple[Any, Any]],
    *,
    layout: str = "in_out",
    loss_value: Optional[float] = None,
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
    memory_budget_mib: Optional[int] = None,
    dtype: Optional[str] = None,
    **model_options: Any,
) -> CheckResult:
    """Checks hand-written backprop: ``grads`` holds ``(dW, db)`` per layer in the shapes of
    ``(W, b)`` (``db`` may be ``None`` for a layer without a bias), or ``(dW, db, dgamma, dbeta)``
    for a layer with a norm (``dgamma``, ``dbeta`` may be ``None`` where it has no γ or β);
    ``loss_value``, if given, is compared too. Returns :func:`gradlab_oracle.check`'s result, with each layer's worst entry
    also named in the caller's arrays (``layer.worst.as_given``).

    A ``dW`` shaped like ``W``'s transpose (W not square) is refused with a message saying so:
    the layout is the usual suspect. ``dtype`` (``"float64"`` or ``"float32"``, the precision of
    the backprop; :func:`gradlab_oracle.check`'s presets) is, when ``None``, ``"float32"`` if any
    gradient array is float32 (or float16), else ``"float64"``.
    """
    from . import DEFAULT_MEMORY_BUDGET_MIB, check

    if dtype is None:
        narrow = any(getattr(g, "dtype", None) in (np.float32, np.float16) for pair in grads for g in pair)
        dtype = "float32" if narrow else "float64"

    converted = _weights(layers, layout)
    if len(grads) != len(converted):
        raise ValueError(f"grads: expected {len(converted)} pairs (dW, db), one per layer, got {len(grads)}")
    claimed: List[Dict[str, Any]] = []
    for idx, ((w, b, _), pair) in enumerate(zip(converted, grads)):
        l = idx + 1
        if not (isinstance(pair, Sequence) and len(pair) in (2, 4)):
            raise ValueError(f"grads layer {l}: expected a pair (dW, db or None), or (dW, db, dgamma, dbeta) for a layer with a norm")
        dw, db = pair[0], pair[1]
        if dw is None:
            raise ValueError(f"grads layer {l} dW: None (a parameter that backward did not reach has no gradient)")
        dw = _array(dw)
        w_given = w.T if layout == "in_out" else w
        if dw.shape != w_given.shape:
            hint = (
                f" — that is W's transpose: is your backprop in the other layout than layout={layout!r}?"
                if dw.shape == w_given.T.shape
                else ""
            )
            raise ValueError(f"grads layer {l} dW: expected shape {w_given.shape} like W, got {dw.shape}{hint}")
        layer: Dict[str, Any] = {"weight_grad": dw.T if layout == "in_out" else dw}
        if db is not None:
            layer["bias_grad"] = _array(db).reshape(-1)
        for key, value in zip(("norm_weight_grad", "norm_bias_grad"), pair[2:]):
            if value is not None:
                layer[key] = _array(value).reshape(-1)
        claimed.append(layer)
    payload: Dict[str, Any] = {"layers": claimed}
    if loss_value is not None:
        payload["loss"] = float(loss_value)
    model = model_from_numpy(layers, x, t, layout=layout, **model_options)
    result = check(
        model,
        payload,
        rtol=rtol,
        atol=atol,
        memory_budget_mib=DEFAULT_MEMORY_BUDGET_MIB if memory_budget_mib is None else memory_budget_mib,
        dtype=dtype,
    )
    for layer_check in result.layers:
        layer_check.worst.as_given = _as_given(layer_check.worst.entry, layout)
    return result


def _as_given(entry: str, layout: str) -> str:
    """``weight_grad[j][i]`` (the model file's layout) as the caller's ``dW[..][..]``; a norm's
    ``norm_weight_grad[i]`` as ``dgamma[i]``."""
    m = re.fullmatch(r"weight_grad\[(\d+)\]\[(\d+)\]", entry)
    if m:
        j, i = m.groups()
        return f"dW[{i}][{j}]" if layout == "in_out" else f"dW[{j}][{i}]"
    m = re.fullmatch(r"(bias|norm_weight|norm_bias)_grad\[(\d+)\]", entry)
    names = {"bias": "db", "norm_weight": "dgamma", "norm_bias": "dbeta"}
    return f"{names[m.group(1)]}[{m.group(2)}]" if m else entry
