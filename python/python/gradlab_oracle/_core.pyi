"""Type hints of the Rust extension (python/src/lib.rs)."""

from os import PathLike
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

DEFAULT_ATOL: float
DEFAULT_RTOL: float
DEFAULT_MEMORY_BUDGET_MIB: int
DIAGNOSE_FIGURE_FILE: str

class Model:
    """A validated model description: a dense network, a batch and the loss."""

    @staticmethod
    def from_json(text: str, source: str = "model", memory_budget_mib: int = ...) -> Model: ...
    @staticmethod
    def from_path(path: Union[str, PathLike[str]], memory_budget_mib: int = ...) -> Model: ...
    @property
    def widths(self) -> List[int]: ...
    @property
    def shortcut_layers(self) -> List[int]: ...
    @property
    def norms(self) -> List[Optional[str]]: ...
    @property
    def batch(self) -> int: ...
    @property
    def warnings(self) -> List[str]: ...

_Vector = npt.NDArray[np.float64]
# Per layer: ∂L/∂W, ∂L/∂b, and a normalised layer's ∂L/∂γ and ∂L/∂β (None without a norm).
def grad(
    model: Model,
) -> Tuple[str, float, List[Tuple[npt.NDArray[np.float64], _Vector, Optional[_Vector], Optional[_Vector]]]]: ...
def check(
    model: Model,
    grads_json: Optional[str] = None,
    grads_path: Optional[Union[str, PathLike[str]]] = None,
    source: str = "grads",
    atol: Optional[float] = None,
    rtol: Optional[float] = None,
    memory_budget_mib: int = ...,
    arrays: Sequence[Any] = ...,
    dtype: str = "float64",
) -> Tuple[str, str, bool]: ...
def diagnose(model: Model) -> Tuple[str, str, str, Optional[str]]:
    """(json, markdown, linked_markdown, svg): what ``report diagnose --format json`` and ``report
    diagnose`` print, that Markdown linking the figure by file name, and the figure of per-layer
    norms (``None`` when it has no finite point)."""

def chain(
    activation: str,
    weights: npt.NDArray[np.float64],
    x: float,
    target: float,
    biases: Optional[npt.NDArray[np.float64]] = None,
    shortcut: Optional[int] = None,
    skip: Optional[str] = None,
    slope: float = 0.01,
    memory_budget_mib: int = ...,
) -> Tuple[str, str]: ...
def gradcheck(
    f: Callable[[npt.NDArray[np.float64]], float],
    x: npt.NDArray[np.float64],
    claimed: npt.NDArray[np.float64],
    richardson: bool = True,
    atol: Optional[float] = None,
    rtol: Optional[float] = None,
    rel_step: Optional[float] = None,
) -> Tuple[str, bool, List[Tuple[int, float, float, float, float, float, float, float, bool, float, float, str]]]: ...
def markdown_to_html(markdown: str, figures: Optional[Dict[str, str]] = None) -> str: ...
def _time_check_in_rust(model: Model, grads_json: str, reps: int) -> float: ...
