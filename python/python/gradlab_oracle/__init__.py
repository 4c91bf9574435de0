"""gradlab_oracle: exact reference gradients and gradient checks for your network.

The same Rust code as gradlab's command line (``grad``, ``check``, ``diagnose``, ``chain``),
called in-process: the same numbers, the same JSON bytes, the same error messages.

- :func:`grad`, :func:`check`, :func:`diagnose` take a model description — the JSON model file of
  gradlab's ``docs/model-format.md`` as a ``dict``, or a path to one;
- :func:`chain` gives a single-neuron chain's gradients exactly, beyond float64's range;
- :func:`gradcheck` checks the gradient of any Python function by finite differences (relative
  steps, Richardson extrapolation, kinks);
- :func:`check_torch` / :func:`diagnose_torch` / :func:`from_torch` check a PyTorch module
  (an ``nn.Sequential``, or an ``nn.Module`` whose ``forward`` torch.fx traces) with its own
  autograd (float64, on a copy); :func:`check_numpy` / :func:`grad_numpy` /
  :func:`model_from_numpy` check hand-written numpy backprop.

Bad input raises ``ValueError`` (``OSError`` for a file that cannot be read) with the CLI's
one-line message, which says what and where.

>>> import gradlab_oracle as go
>>> model = {"layers": [{"weight": [[0.5, -1.0]], "activation": "tanh"}],
...          "input": [[1.0, 2.0]], "target": [[0.0]]}
>>> go.check(model, go.grad(model)).passed
True
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._core import DEFAULT_ATOL, DEFAULT_MEMORY_BUDGET_MIB, DEFAULT_RTOL, Model
from ._results import (
    ChainLayer,
    ChainResult,
    CheckResult,
    Coordinate,
    Diagnosis,
    DiagnosisLayer,
    GradcheckResult,
    Gradients,
    LayerCheck,
    LayerGradients,
    LossCheck,
    NonFinite,
    WorstEntry,
)

__all__ = [
    "ChainLayer",
    "ChainResult",
    "CheckResult",
    "Coordinate",
    "DEFAULT_ATOL",
    "DEFAULT_MEMORY_BUDGET_MIB",
    "DEFAULT_RTOL",
    "Diagnosis",
    "DiagnosisLayer",
    "GradcheckResult",
    "Gradients",
    "LayerCheck",
    "LayerGradients",
    "LossCheck",
    "Model",
    "NonFinite",
    "WorstEntry",
    "chain",
    "check",
    "check_numpy",
    "check_torch",
    "diagnose",
    "diagnose_torch",
    "from_torch",
    "grad",
    "grad_numpy",
    "gradcheck",
    "load_model",
    "model_from_numpy",
]

ModelLike = Union[Mapping[str, Any], str, "os.PathLike[str]", Model]
GradsLike = Union[Mapping[str, Any], str, "os.PathLike[str]", Gradients, Sequence[Tuple[Any, Any]]]


def _plain(value: Any) -> Any:
    """``json.dumps``'s fallback: numpy arrays and scalars (and tensors) as lists and floats."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "tolist"):  # a torch tensor
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not a number, a list or an array")


def _array(value: Any) -> np.ndarray:
    """A float64 array of ``value``: a list, an array, or a tensor (detached first, so one that
    requires grad is read, not refused; widened to float64 in torch, so half and bfloat16 tensors,
    which numpy cannot hold, are read exactly)."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().double().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _rows(value: Any, width: int) -> np.ndarray:
    """A batch as rows: a 1-D array is one value per sample when rows are one wide (targets of
    shape (B,) for a one-output network, as PyTorch code usually has them), else one sample."""
    v = _array(value)
    return v.reshape(-1, 1) if v.ndim == 1 and width == 1 else np.atleast_2d(v)


# What stands in the JSON text for the k-th array passed beside it: a string no model or gradients
# file can hold where a number goes (a NUL, then "array:k"), which the extension replaces by the
# array's numbers before the text is parsed.
_ARRAY_MARK = "\x00array:"


def _to_json(description: Mapping[str, Any]) -> Tuple[str, List[np.ndarray]]:
    """The description as a model or gradients file's text, its float64 arrays of one or two
    dimensions passed beside it: the extension writes their numbers where their marks are, as
    ``json.dumps`` would have (the same text, so the same values and messages), many times faster.
    Other arrays, scalars and tensors are written by ``json.dumps`` (:func:`_plain`). NaN and ±inf
    are written as bare NaN/Infinity tokens either way, which gradlab reads as numbers: a model
    refuses each by its place ("layer 1 weight row 0 column 1: NaN is not a finite number"), a
    gradients file reports each where it is (a located FAIL)."""
    arrays: List[np.ndarray] = []

    def plain(value: Any) -> Any:
        if isinstance(value, np.ndarray) and value.dtype == np.float64 and value.ndim in (1, 2):
            arrays.append(np.ascontiguousarray(value))
            return f"{_ARRAY_MARK}{len(arrays) - 1}"
        return _plain(value)

    return json.dumps(description, default=plain), arrays


def load_model(model: ModelLike, *, memory_budget_mib: int = DEFAULT_MEMORY_BUDGET_MIB) -> Model:
    """A validated :class:`Model` from a model description: a ``dict`` in the model file's format
    (numpy arrays allowed as values), a path to a model file, or a ``Model`` (returned as is).

    Raises ``ValueError`` with the CLI's message (``model: layer 2 weight row 1: expected 3
    columns, got 2``), ``OSError`` when the file cannot be read; warns (``UserWarning``) of what
    the CLI warns of (a sigmoid output under ``bce_with_logits``: the sigmoid applied twice).
    ``memory_budget_mib`` bounds the file's size here and the reference gradients that
    :func:`grad` and :func:`check` compute (as ``report grad`` does: about 80 bytes per parameter
    and 64 per output of each sample); :func:`diagnose` computes none.
    """
    return _load(model, memory_budget_mib, stacklevel=3)


def _load(model: ModelLike, memory_budget_mib: int, stacklevel: int) -> Model:
    """:func:`load_model`, its warnings attributed ``stacklevel`` frames up (3: the caller of the
    function that called this one, which is the user's line for :func:`load_model`, :func:`grad`,
    :func:`check` and :func:`diagnose` alike)."""
    if isinstance(model, Model):
        return model
    if memory_budget_mib < 0:
        raise ValueError(f"memory_budget_mib {memory_budget_mib}: must be a number of MiB ≥ 0")
    if isinstance(model, Mapping):
        text, arrays = _to_json(model)
        parsed = Model.from_json(text, "model", memory_budget_mib, arrays)
    elif isinstance(model, (str, os.PathLike)):
        parsed = Model.from_path(os.fspath(model), memory_budget_mib)
    else:
        raise TypeError(f"model: expected a dict, a path or a Model, got {type(model).__name__}")
    for warning in parsed.warnings:  # the CLI's warnings, as Python warnings
        warnings.warn(warning, UserWarning, stacklevel=stacklevel)
    return parsed


def grad(model: ModelLike, *, memory_budget_mib: int = DEFAULT_MEMORY_BUDGET_MIB) -> Gradients:
    """The reference loss and gradients of a model (``report grad``), from gradlab's oracle (a
    reverse-mode tape's gradients in float64, computed without recording the tape).

    ``result.layers[l - 1].weight_grad`` is ∂L/∂W_l with one row per output unit (the model
    file's layout), and a normalised layer's ``norm_weight_grad`` and ``norm_bias_grad`` are
    ∂L/∂γ and ∂L/∂β; ``result.to_json()`` is a gradients file. ``memory_budget_mib`` bounds the
    reference gradients (as in :func:`load_model`).
    """
    text, loss, layers = _core.grad(_load(model, memory_budget_mib, stacklevel=3))
    return Gradients(
        loss=loss,
        layers=[LayerGradients(i + 1, w, b, nw, nb) for i, (w, b, nw, nb) in enumerate(layers)],
        _json=text,
    )


def _grads_to_json(grads: GradsLike) -> Tuple[Optional[str], List[np.ndarray], Optional[str]]:
    """(text, its arrays, path) of a gradients file (see :func:`_to_json`)."""
    if isinstance(grads, Gradients):
        return grads.to_json(), [], None
    if isinstance(grads, Mapping):
        return (*_to_json(grads), None)
    if isinstance(grads, str) and grads.lstrip().startswith("{"):
        return grads, [], None  # a gradients file's text (Gradients.to_json()), not a path
    if isinstance(grads, (str, os.PathLike)):
        return None, [], os.fspath(grads)
    if isinstance(grads, Sequence):
        layers = []
        for idx, pair in enumerate(grads):
            if not (isinstance(pair, Sequence) and len(pair) == 2):
                raise ValueError(f"grads: layer {idx + 1}: expected a pair (weight_grad, bias_grad or None)")
            w, b = pair
            if w is None:
                raise ValueError(
                    f"grads: layer {idx + 1}: weight_grad is None (a parameter that backward did not reach, "
                    "or that does not require grad, has no .grad)"
                )
            layer = {"weight_grad": _array(w)}
            if b is not None:
                layer["bias_grad"] = _array(b)
            layers.append(layer)
        return (*_to_json({"layers": layers}), None)
    raise TypeError(f"grads: expected a dict, a path, a Gradients or a list of pairs, got {type(grads).__name__}")


def check(
    model: ModelLike,
    grads: GradsLike,
    *,
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
    memory_budget_mib: int = DEFAULT_MEMORY_BUDGET_MIB,
    dtype: str = "float64",
) -> CheckResult:
    """Compares gradients computed elsewhere with the reference, layer by layer (``report check``).

    ``grads`` is a gradients file's content (``{"loss": L, "layers": [{"weight_grad": …,
    "bias_grad": …}]}``; ``loss`` and a bias-less layer's ``bias_grad`` may be left out), a path to
    one (or its text), a :class:`Gradients`, or a list of ``(weight_grad, bias_grad)`` pairs in the model file's
    layout (one row per output unit). An entry passes when |theirs − ref| ≤ atol·s + rtol·|ref|,
    s its layer's scale (``result.layers[i].scale``: the size of the rounding error a correct
    backward pass makes in the layer, per unit roundoff, so the tolerance shrinks with the
    gradients where they vanish and stays the terms' size where backprop's sums cancel).
    ``dtype``: the precision the gradients were computed in, ``"float64"`` or ``"float32"``
    (``report check --dtype``); its preset gives ``rtol`` and ``atol`` when they are ``None``
    (``DEFAULT_RTOL``, ``DEFAULT_ATOL`` for float64). Where a relu's z is within that precision's
    rounding of 0, their code may take either derivative: the check takes their branch there
    and names it (``result.other_branches``).

    ``result.passed``, ``result.first_wrong_layer`` (the failing layer nearest the output, where
    backprop first went wrong), ``result.layers[i].worst.entry``; shows as the CLI's table.
    """
    m = _load(model, memory_budget_mib, stacklevel=3)
    text, arrays, path = _grads_to_json(grads)
    out, markdown, _ = _core.check(
        m, grads_json=text, grads_path=path, atol=atol, rtol=rtol, arrays=arrays, dtype=dtype
    )
    return CheckResult._from_cli(out, markdown)


def diagnose(model: ModelLike) -> Diagnosis:
    """The diagnosis of a model's network and batch (``report diagnose``, the same code): per
    layer the log10 norms of ∂L/∂W_l, ∂L/∂b_l and ∂L/∂z_l (exact beyond float64's range), the
    activations' RMS, the saturated and dead fractions, the measured gain beside the mean-field
    prediction; the first non-finite value, located; and one verdict — ``healthy``,
    ``vanishing``, ``exploding``, ``dead``, ``saturated``, ``forward_collapse`` or
    ``non_finite`` — with the layer where it starts, the evidence and a remedy. The criteria are
    the table in gradlab's ``docs/model-format.md``.

    ``result.verdict``, ``result.from_layer``, ``result.layers[l - 1].log10_delta_norm``,
    ``result.non_finite.layer``; ``result.to_json()`` is the CLI's JSON, byte for byte.

    >>> import gradlab_oracle as go
    >>> deep = {"layers": [{"weight": [[1.0]], "activation": "sigmoid"}] * 30,
    ...         "input": [[1.0]], "target": [[0.0]]}
    >>> go.diagnose(deep).verdict
    'vanishing'
    """
    text, markdown, linked, svg = _core.diagnose(_load(model, DEFAULT_MEMORY_BUDGET_MIB, stacklevel=3))
    return Diagnosis._from_cli(text, markdown, svg, linked)


def chain(
    activation: str,
    weights: Any,
    x: float,
    target: float,
    *,
    biases: Any = None,
    shortcut: Optional[int] = None,
    skip: Optional[str] = None,
    slope: float = 0.01,
    memory_budget_mib: int = DEFAULT_MEMORY_BUDGET_MIB,
) -> ChainResult:
    """The exact gradients of a single-neuron chain a_d = f(w_d·a_{d−1} + b_d), a_0 = x,
    L = (a_D − target)² (``report chain``): per layer ∂L/∂w_d, its sign and its exact log10
    magnitude, exact where float64 underflows or overflows.

    ``activation``: sigmoid, tanh, relu, leaky_relu (slope ``slope``), softplus or identity.
    ``shortcut`` s adds a_{d−s} at d = s, 2s, …, joining before f (``skip="pre-activation"``, the
    default) or after it (``skip="identity"``). Error messages are the CLI's and name its flags
    (``--shortcut 4: the span must be between 1 and the depth 3``).

    >>> r = chain("sigmoid", [1.0] * 10, 1.0, 0.0)  # y > target, every factor positive
    >>> len(r.layers), int(r.sign[0])
    (10, 1)
    """
    w = np.ascontiguousarray(_array(weights).reshape(-1))
    b = None if biases is None else np.ascontiguousarray(_array(biases).reshape(-1))
    if shortcut is not None and shortcut < 1:
        raise ValueError(f"shortcut {shortcut}: the span must be between 1 and the depth {len(w)}")
    if skip == "pre_activation":  # the model file's spelling of the CLI's pre-activation
        skip = "pre-activation"
    out, markdown = _core.chain(activation, w, float(x), float(target), b, shortcut, skip, float(slope), memory_budget_mib)
    return ChainResult._from_cli(out, markdown)


def gradcheck(
    f: Callable[[np.ndarray], float],
    x: Any,
    grad: Union[Any, Callable[[np.ndarray], Any]],
    *,
    method: str = "richardson",
    atol: Optional[float] = None,
    rtol: Optional[float] = None,
    rel_step: Optional[float] = None,
) -> GradcheckResult:
    """Checks a claimed gradient of any ``f: ndarray -> float`` at ``x`` by finite differences,
    coordinate by coordinate (``scalar::gradcheck::check_gradient``, in Rust).

    ``grad`` is the claimed ∇f(x), shaped like x, or a callable returning it at x. ``method``:
    ``"richardson"`` (the default: steps h and h/2 with h = ε^{1/5}·max(1, |xᵢ|), error ≈ 1e−12·M,
    atol 1e−9, rtol 1e−7) or ``"central"`` (h = ∛ε·max(1, |xᵢ|), atol 1e−7, rtol 1e−5). Every
    coordinate also gets one-sided second-order differences: where they disagree (a kink: |x| at
    0, ReLU at 0) a claimed value between them passes as a subgradient.

    ``f`` receives a fresh float64 array shaped like x, and costs 8 calls per coordinate (6 for
    central) plus two. An exception raised by ``f`` is re-raised. ``f`` must compute in float64:
    a float32 result (numpy or torch) is refused, since its rounding (~1e−7 relative), divided by
    the steps, is far beyond any tolerance and would read as a wrong gradient or a kink.

    >>> import numpy as np
    >>> gradcheck(lambda v: float(np.sum(v ** 3)), np.array([1.0, -2.0]), np.array([3.0, 12.0])).passed
    True
    """
    if method not in ("richardson", "central"):
        raise ValueError(f"method: unknown {method!r} (expected 'richardson' or 'central')")
    x = np.array(_array(x))  # a copy: f may not change the caller's x
    shape = x.shape
    claimed = grad(x.copy()) if callable(grad) else grad
    claimed = _array(claimed)
    if claimed.shape != shape:
        raise ValueError(f"gradcheck grad: expected shape {shape} (like x), got {claimed.shape}")
    _check_float64_result(f(x.copy()))
    flat_f = f if len(shape) == 1 else (lambda v: f(v.reshape(shape)))
    table, passed, coords = _core.gradcheck(
        flat_f,
        np.ascontiguousarray(x.reshape(-1)),
        np.ascontiguousarray(claimed.reshape(-1)),
        method == "richardson",
        atol,
        rtol,
        rel_step,
    )
    return GradcheckResult(passed, [Coordinate(*c) for c in coords], shape, table)


def _check_float64_result(value: Any) -> None:
    """Refuses a result of ``f`` computed in a narrower float than float64."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None and str(dtype) in ("float32", "float16", "bfloat16", "torch.float32", "torch.float16", "torch.bfloat16"):
        raise ValueError(
            f"gradcheck f: returned a {dtype} value; finite differences need f in float64 (the "
            "rounding of a float32 loss, divided by the steps, is far beyond any tolerance)"
        )


from ._numpy import check_numpy, grad_numpy, model_from_numpy  # noqa: E402
from ._torch import check_torch, diagnose_torch, from_torch  # noqa: E402
