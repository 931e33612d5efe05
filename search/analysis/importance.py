"""Hyperparameter importance: how much of the objective's variance each parameter explains.

Method (fANOVA-style, Hutter et al. 2014, estimated with a random forest): fit a random
forest of ``n_trees`` regression trees to (encoded parameters -> objective) over complete
trials, then take each parameter's permutation importance on that forest (Breiman 2001): the
mean drop of R^2 when the parameter's column is shuffled. Values are clipped at 0 and
normalised to sum to 1. Categorical parameters are one column of category codes; inactive
conditional parameters are encoded as -1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from search.analysis.history import trial_rows

__all__ = ["ParamImportance", "param_importance"]


@dataclass(frozen=True)
class ParamImportance:
    """Parameters sorted by importance (sums to 1 when any is non-zero)."""

    names: tuple[str, ...]
    importances: tuple[float, ...]
    n_trials: int
    method: str = "random-forest permutation importance (fANOVA-style)"


def _encode(values: list[Any]) -> np.ndarray:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        arr = np.array([math.nan if v is None else float(v) for v in values])
        if np.all(arr[~np.isnan(arr)] > 0) and np.nanmax(arr) / max(np.nanmin(arr), 1e-300) > 100:
            arr = np.log10(arr)  # log-spaced values (learning rates) as their exponent
        return np.where(np.isnan(arr), -1.0, arr)
    cats = sorted({repr(v) for v in present})
    return np.array([-1.0 if v is None else float(cats.index(repr(v))) for v in values])


def param_importance(trials: Iterable[Any], n_trees: int = 64, seed: int = 0) -> ParamImportance:
    """Importance of every parameter seen in complete trials (needs at least 3)."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    rows = [r for r in trial_rows(trials) if r["state"] == "complete" and r["value"] is not None
            and math.isfinite(r["value"])]
    names = sorted({k for r in rows for k in r["params"]})
    if len(rows) < 3 or not names:
        raise ValueError(f"parameter importance needs at least 3 complete trials, got {len(rows)}")
    x = np.stack([_encode([r["params"].get(n) for r in rows]) for n in names], axis=1)
    y = np.array([r["value"] for r in rows], dtype=float)
    if np.ptp(y) == 0:
        imp = np.zeros(len(names))
    else:
        forest = RandomForestRegressor(n_estimators=n_trees, random_state=seed, min_samples_leaf=1)
        forest.fit(x, y)
        imp = permutation_importance(forest, x, y, n_repeats=8, random_state=seed).importances_mean
        imp = np.clip(imp, 0.0, None)
        if imp.sum() > 0:
            imp = imp / imp.sum()
    order = np.argsort(-imp, kind="stable")
    return ParamImportance(tuple(names[i] for i in order), tuple(float(imp[i]) for i in order),
                           len(rows))
