"""Shared strategies: small random networks in numpy's layout."""

import numpy as np
from hypothesis import strategies as st

SMOOTH = ("tanh", "sigmoid", "softplus", "identity")


@st.composite
def square_network_strategy(draw, max_layers=4):
    """(layers, x, t): square layers (so a transposed W has W's shape), weights ~ N(0, 1/n)."""
    seed = draw(st.integers(0, 2**32 - 1))
    n_layers = draw(st.integers(2, max_layers))
    width = draw(st.integers(2, 4))
    batch = draw(st.integers(2, 5))
    acts = [draw(st.sampled_from(SMOOTH)) for _ in range(n_layers)]
    rng = np.random.default_rng(seed)
    layers = [(rng.normal(0, 1 / np.sqrt(width), (width, width)), rng.normal(0, 0.5, width), f) for f in acts]
    x = rng.normal(0, 1, (batch, width))
    t = rng.normal(0, 1, (batch, width))
    return layers, x, t
