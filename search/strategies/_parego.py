"""Scalarisation of several objectives for single-objective model-based strategies.

ParEGO (Knowles 2006, "ParEGO: a hybrid algorithm with on-line landscape approximation for
expensive multiobjective optimization problems", eq. 2): objectives are normalised to
``[0, 1]`` over the observed data and combined by the augmented Chebyshev function

    f_w(y) = max_j w_j y_j + rho * sum_j w_j y_j,     rho = 0.05,

with a weight vector ``w`` drawn uniformly from the simplex at every ``ask``, so successive
batches aim at different parts of the Pareto front.
"""

from __future__ import annotations

import numpy as np

__all__ = ["scalarize"]

_RHO = 0.05


def scalarize(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Returns ``(m,)`` values to minimise; 1-D ``y`` (or one column) passes through."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        return y
    if y.shape[1] == 1:
        return y[:, 0]
    lo, hi = y.min(axis=0), y.max(axis=0)
    z = (y - lo) / np.where(hi > lo, hi - lo, 1.0)
    w = rng.dirichlet(np.ones(y.shape[1]))
    wz = z * w
    return wz.max(axis=1) + _RHO * wz.sum(axis=1)
