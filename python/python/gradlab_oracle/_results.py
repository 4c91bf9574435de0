"""The result objects: plain attributes read from the JSON the command line prints.

Each result keeps the exact bytes of the CLI's JSON (``to_json()``) and its Markdown
(``to_markdown()``, shown by notebooks through ``_repr_markdown_`` and ``_repr_html_``). The
attributes are that JSON parsed, with ``pass`` spelled ``passed`` (a Python keyword) and JSON
``null`` as ``None``; ``raw`` is the whole parsed document, so fields added later stay reachable.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np

from . import _core


class _Rendered:
    """Markdown and HTML for notebooks, from ``to_markdown()`` (and ``_figures()``, the SVGs the
    Markdown links by file name, shown inline)."""

    def to_markdown(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _figures(self) -> Dict[str, str]:
        return {}

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return _core.markdown_to_html(self.to_markdown(), self._figures())

    def __str__(self) -> str:
        return self.to_markdown()


class _FromCli(_Rendered):
    """A result made from the CLI's JSON and Markdown, kept as the dataclass fields ``_json`` and
    ``_markdown``: ``to_json()`` and ``to_markdown()`` give them back (with the text the command
    line prints, as ``_NEWLINE`` says)."""

    _json: str
    _markdown: str
    #: (after the JSON, after the Markdown): what the command line prints after the kept text.
    _NEWLINE = ("", "")

    def to_json(self) -> str:
        """The JSON the command line prints (``--format json``)."""
        return self._json + self._NEWLINE[0]

    def to_markdown(self) -> str:
        """The Markdown the command line prints."""
        return self._markdown + self._NEWLINE[1]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._REPR)
        return f"{type(self).__name__}({shown})"

    _REPR: tuple = ()


# ------------------------------------------------------------------------------------------------
# grad


@dataclass
class LayerGradients:
    """∂L/∂W_l (one row per output unit, one column per input) and ∂L/∂b_l of one layer, and
    for a layer whose input is normalised (``"norm"``) ∂L/∂γ and ∂L/∂β (``None`` otherwise)."""

    layer: int
    weight_grad: np.ndarray
    bias_grad: np.ndarray
    norm_weight_grad: Optional[np.ndarray] = None
    norm_bias_grad: Optional[np.ndarray] = None


@dataclass(repr=False)
class Gradients(_Rendered):
    """The reference loss and gradients of a model (``report grad``)."""

    loss: float
    layers: List[LayerGradients]
    _json: str = field(default="", repr=False)

    def to_json(self) -> str:
        """The JSON ``report grad`` prints (without its final newline): a gradients file."""
        return self._json

    def to_markdown(self) -> str:
        """The loss, and per layer the shapes and largest entries of the gradients (and of a
        layer normalisation's γ and β, where the model has one)."""
        normed = any(l.norm_weight_grad is not None for l in self.layers)
        extra = " max \\|∂L/∂γ\\| | max \\|∂L/∂β\\| |" if normed else ""
        rows = [
            f"loss L = {self.loss:.6g}",
            "",
            "| layer | ∂L/∂W shape | max \\|∂L/∂W\\| | max \\|∂L/∂b\\| |" + extra,
            "|---:|---:|---:|---:|" + ("---:|---:|" if normed else ""),
        ]
        largest = lambda v: "—" if v is None else f"{float(np.abs(v).max()):.4e}"  # noqa: E731
        for l in self.layers:
            row = f"| {l.layer} | {l.weight_grad.shape[0]}×{l.weight_grad.shape[1]} | {largest(l.weight_grad)} | {largest(l.bias_grad)} |"
            if normed:
                row += f" {largest(l.norm_weight_grad)} | {largest(l.norm_bias_grad)} |"
            rows.append(row)
        return "\n".join(rows) + "\n"

    def __repr__(self) -> str:
        return f"Gradients(loss={self.loss!r}, layers={len(self.layers)})"


# ------------------------------------------------------------------------------------------------
# check


@dataclass
class WorstEntry:
    """Where a layer is furthest from the reference: ``weight_grad[j][i]`` or ``bias_grad[j]``
    (0-based, in the model file's layout: one row per output unit)."""

    entry: str
    #: ``None`` when their value is NaN or ±∞ (JSON ``null``; the Markdown names which).
    theirs: Optional[float]
    reference: float
    #: The same entry in the caller's own arrays (``dW[i][j]``, ``db[j]``), set by the numpy adapter.
    as_given: Optional[str] = None


@dataclass
class LayerCheck:
    """One layer of a check: entries compared and failed, the largest errors, the worst entry.

    ``scale`` is what the absolute tolerance is relative to: the size of the rounding error a
    correct backward pass makes in the layer, per unit roundoff (the larger of Σ_b |∂L_b/∂θ| and
    the estimate of what backprop's own sums add; ``docs/derivation.md`` §10a), so it shrinks with
    the gradients where they vanish. ``non_finite`` counts their NaN and ±∞ entries; with one, both largest errors are ∞.
    ``convention`` is ``None``, or ``{"factor": c, "transposed": bool, "ratio": "B" or …}`` when
    the layer is c times the reference (or its transpose); ``transposed``: their weight_grad had
    the transposed shape and was compared transposed back.
    """

    layer: int
    entries: int
    scale: float
    failed: int
    non_finite: int
    max_abs_error: float
    max_rel_error: float
    worst: WorstEntry
    convention: Optional[Dict[str, Any]]
    transposed: bool
    passed: bool


@dataclass
class LossCheck:
    """Their loss against the reference."""

    theirs: float
    reference: float
    abs_error: float
    scale: float
    passed: bool


@dataclass(repr=False)
class CheckResult(_FromCli):
    """The outcome of a check (``report check``).

    ``first_wrong_layer`` is the failing layer nearest the output — the first one backprop
    reaches, where the bug is — or ``None`` when every layer passes. ``conventions_only``: every
    layer is the reference times the same factor (or its transpose) — a loss-reduction, sign or
    layout convention rather than a backward bug. ``other_branches``: where a relu's z was within
    the rounding of 0 and their code took the other derivative, which the check took too (dicts
    of ``sample``, ``layer``, ``unit``, ``z`` and ``band``; empty when none).
    """

    passed: bool
    first_wrong_layer: Optional[int]
    conventions_only: bool
    atol: float
    rtol: float
    loss: Optional[LossCheck]
    layers: List[LayerCheck]
    other_branches: List[dict]
    raw: dict = field(repr=False)
    _json: str = field(default="", repr=False)
    _markdown: str = field(default="", repr=False)

    @classmethod
    def _from_cli(cls, text: str, markdown: str) -> "CheckResult":
        raw = json.loads(text)
        layers = [
            LayerCheck(
                layer=l["layer"],
                entries=l["entries"],
                scale=l["scale"],
                failed=l["failed"],
                non_finite=l["non_finite"],
                # JSON null: ∞ — one of their entries is not finite (both), or an entry whose
                # reference is exactly 0 differs (the relative error).
                max_abs_error=math.inf if l["max_abs_error"] is None else l["max_abs_error"],
                max_rel_error=math.inf if l["max_rel_error"] is None else l["max_rel_error"],
                worst=WorstEntry(**l["worst"]),
                convention=l["convention"],
                transposed=l["transposed"],
                passed=l["pass"],
            )
            for l in raw["layers"]
        ]
        loss = raw.get("loss")
        return cls(
            passed=raw["pass"],
            first_wrong_layer=raw["first_wrong_layer"],
            conventions_only=raw["conventions_only"],
            atol=raw["atol"],
            rtol=raw["rtol"],
            loss=None
            if loss is None
            else LossCheck(loss["theirs"], loss["reference"], loss["abs_error"], loss["scale"], loss["pass"]),
            layers=layers,
            other_branches=raw.get("other_branches", []),
            raw=raw,
            _json=text,
            _markdown=markdown,
        )

    # to_json(): ``report check --format json``'s bytes without the final newline; to_markdown():
    # the table and verdict ``report check`` prints.
    _NEWLINE = ("", "\n")
    _REPR = ("passed", "first_wrong_layer")


# ------------------------------------------------------------------------------------------------
# chain


@dataclass
class ChainLayer:
    """One layer d of a chain: z_d, u_d = a_{d−1}, ∂L/∂w_d rounded to float (``None`` where that
    overflows or underflows), the exact log10 |∂L/∂w_d| (``None`` only for an exact 0), its sign,
    and log10 of the article's bound (``None`` where none applies)."""

    layer: int
    pre_activation: float
    input: float
    grad: Optional[float]
    log10_abs_grad: Optional[float]
    sign: int
    log10_bound: Optional[float]


@dataclass(repr=False)
class ChainResult(_FromCli):
    """A chain's loss, output and per-layer gradients (``report chain``), exact beyond float's range."""

    loss: Optional[float]
    output: float
    skip: Optional[str]
    layers: List[ChainLayer]
    raw: dict = field(repr=False)
    _json: str = field(default="", repr=False)
    _markdown: str = field(default="", repr=False)

    @classmethod
    def _from_cli(cls, text: str, markdown: str) -> "ChainResult":
        raw = json.loads(text)
        layers = [ChainLayer(**l) for l in raw["layers"]]
        return cls(raw["loss"], raw["output"], raw.get("skip"), layers, raw, text, markdown)

    @property
    def log10_abs_grad(self) -> np.ndarray:
        """log10 |∂L/∂w_d| per layer (layer 1 first), exact; −inf where the gradient is exactly 0."""
        return np.array([-math.inf if l.log10_abs_grad is None else l.log10_abs_grad for l in self.layers])

    @property
    def sign(self) -> np.ndarray:
        """The sign (−1, 0 or 1) of ∂L/∂w_d per layer."""
        return np.array([l.sign for l in self.layers], dtype=np.int8)

    # to_json(): ``report chain --format json``'s bytes without the final newline; to_markdown():
    # the table ``report chain`` prints.
    _REPR = ("output", "n_layers")

    @property
    def n_layers(self) -> int:
        """D, the chain's depth."""
        return len(self.layers)


# ------------------------------------------------------------------------------------------------
# gradcheck


@dataclass
class Coordinate:
    """What the finite-difference check found for coordinate ``index`` (of the flattened x).

    ``numeric`` is the central or Richardson estimate with step ``step``; ``forward`` and
    ``backward`` the one-sided second-order differences; ``kink`` whether they disagree beyond
    tolerance (then a claimed value between them passes as a ``"subgradient"``); ``excess`` the
    error over its tolerance (≤ 1 passes; NaN when a difference was not finite).
    """

    index: int
    claimed: float
    numeric: float
    abs_err: float
    rel_err: float
    step: float
    forward: float
    backward: float
    kink: bool
    tolerance: float
    excess: float
    verdict: str


@dataclass(repr=False)
class GradcheckResult(_Rendered):
    """The per-coordinate outcome of :func:`gradlab_oracle.gradcheck`."""

    passed: bool
    coordinates: List[Coordinate]
    shape: tuple
    _table: str = field(default="", repr=False)

    @property
    def numeric(self) -> np.ndarray:
        """The finite-difference gradient, shaped like x."""
        return np.array([c.numeric for c in self.coordinates]).reshape(self.shape)

    @property
    def worst(self) -> Optional[Coordinate]:
        """The coordinate furthest outside (or least inside) its tolerance (NaN counts as worst)."""
        if not self.coordinates:
            return None
        return max(self.coordinates, key=lambda c: math.inf if math.isnan(c.excess) else c.excess)

    def to_json(self) -> str:
        """The result as JSON (non-finite numbers as ``null``)."""

        def num(v: Any) -> Any:
            return v if not isinstance(v, float) or math.isfinite(v) else None

        coords = [{k: num(v) for k, v in c.__dict__.items()} for c in self.coordinates]
        return json.dumps({"pass": self.passed, "shape": list(self.shape), "coordinates": coords})

    def to_markdown(self) -> str:
        """The Rust report's table, as a code block."""
        return "```text\n" + self._table + "```\n"

    def __repr__(self) -> str:
        return f"GradcheckResult(passed={self.passed}, coordinates={len(self.coordinates)})"


# ------------------------------------------------------------------------------------------------
# diagnose (the JSON contract of docs/model-format.md)


@dataclass
class DiagnosisLayer:
    """One layer l of a diagnosis, named as in ``diagnose``'s JSON: the log10 norms of ∂L/∂W_l,
    ∂L/∂b_l and ∂L/∂z_l (exact beyond float64's range; ``None`` where not computed or exactly 0),
    the RMS of a_l (``None`` where it overflows), the saturated and dead fractions, and the
    measured gain ‖∂L/∂z_(l−1)‖/‖∂L/∂z_l‖ (and its log10) beside the mean-field prediction
    (``None`` for layer 1). A layer with a layer normalisation has the log10 norms of ∂L/∂γ_l and
    ∂L/∂β_l (``log10_norm_weight_grad_norm``, ``log10_norm_bias_grad_norm``; ``None`` for a layer
    without one)."""

    layer: int
    activation: str
    log10_weight_grad_norm: Optional[float]
    log10_bias_grad_norm: Optional[float]
    log10_delta_norm: Optional[float]
    log10_norm_weight_grad_norm: Optional[float]
    log10_norm_bias_grad_norm: Optional[float]
    activation_rms: Optional[float]
    saturated_fraction: float
    dead_fraction: float
    gain: Optional[float]
    log10_gain: Optional[float]
    predicted_gain: Optional[float]


@dataclass
class NonFinite:
    """The first non-finite value, located: ``pass_`` is ``"forward"`` (in z, or in an identity
    shortcut's sum f(z) + a) or ``"backward"`` (in ∂L/∂z); layer (1-based), unit and sample
    (0-based; ``None`` when not one sample's)."""

    pass_: str
    layer: int
    unit: int
    sample: Optional[int]


@dataclass(repr=False)
class Diagnosis(_FromCli):
    """``diagnose``'s verdict (``healthy``, ``vanishing``, ``exploding``, ``dead``, ``saturated``,
    ``forward_collapse`` or ``non_finite``), the layer where it starts (``from_layer``), the
    evidence and remedy in words, the per-layer table and the first non-finite value.

    ``to_json()`` and ``to_markdown()`` are the bytes ``diagnose --format json`` and ``diagnose``
    print; in a notebook it shows as that Markdown, with the figure of per-layer norms inline.
    """

    verdict: str
    from_layer: Optional[int]
    evidence: str
    remedy: str
    layers: List[DiagnosisLayer]
    non_finite: Optional[NonFinite]
    raw: dict = field(repr=False)
    _json: str = field(default="", repr=False)
    _markdown: str = field(default="", repr=False)
    _svg: Optional[str] = field(default=None, repr=False)
    #: The Markdown with the figure linked by file name, for the HTML view that inlines it.
    _linked: str = field(default="", repr=False)

    _REPR = ("verdict", "from_layer")

    @classmethod
    def _from_cli(cls, text: str, markdown: str, svg: Optional[str] = None, linked: str = "") -> "Diagnosis":
        raw = json.loads(text)
        layers = [DiagnosisLayer(**{k: l[k] for k in DiagnosisLayer.__dataclass_fields__}) for l in raw["layers"]]
        nf = raw["non_finite"]
        non_finite = None if nf is None else NonFinite(nf["pass"], nf["layer"], nf["unit"], nf["sample"])
        return cls(
            raw["verdict"], raw["from_layer"], raw["evidence"], raw["remedy"], layers, non_finite, raw, text, markdown, svg, linked
        )

    def _figures(self) -> Dict[str, str]:
        return {} if self._svg is None else {_core.DIAGNOSE_FIGURE_FILE: self._svg}

    def _repr_html_(self) -> str:
        return _core.markdown_to_html(self._linked or self.to_markdown(), self._figures())

    def figure_svg(self) -> Optional[str]:
        """The figure of log10 ‖∂L/∂W_l‖ and ‖∂L/∂z_l‖ per layer as SVG (``diagnose --plots``'s
        file), or ``None`` when it has no finite point."""
        return self._svg
