"""The optimisation history of a study: values in trial order and the best so far."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["OptimizationHistory", "direction_of", "optimization_history", "trial_rows"]


def trial_rows(trials: Any) -> list[dict[str, Any]]:
    """Normalises trials to ``{"number", "params", "value", "state"}`` dicts.

    Accepts a :class:`~search.study.Study`, a list of its ``FrozenTrial`` records, or a list
    of dicts with ``params`` and ``value`` (what ``neural_jax.hpo.HPOptimizer.trials`` holds).
    """
    if hasattr(trials, "trials") and not isinstance(trials, (list, tuple)):
        trials = trials.trials
    rows = []
    for i, t in enumerate(trials):
        if isinstance(t, Mapping):
            value = t.get("value")
            state = str(t.get("state", "complete")).lower()
            rows.append({"number": t.get("number", i), "params": dict(t.get("params", {})),
                         "value": value, "state": state})
        else:
            vals = getattr(t, "values", None)
            state = getattr(getattr(t, "state", None), "value", "complete").lower()
            rows.append({"number": t.number, "params": dict(t.params),
                         "value": None if not vals else vals[0], "state": state})
    return rows


def direction_of(trials: Any, direction: str | None = None) -> str:
    """The direction to judge ``trials`` by: ``direction`` when given, else the study's
    (a :class:`~search.study.Study`, or anything with a ``direction`` or a ``study``, such as
    ``HPOptimizer``), else ``"maximize"``.

    Raises:
      ValueError: a direction other than ``"minimize"``/``"maximize"``.
    """
    if direction is None:
        for source in (trials, getattr(trials, "study", None)):
            try:
                d = getattr(source, "direction", None)
            except ValueError:  # several objectives: the first one's direction
                d = (getattr(source, "directions", None) or [None])[0]
            if isinstance(d, str):
                direction = d
                break
        else:
            direction = "maximize"
    key = str(direction).lower()
    key = {"min": "minimize", "max": "maximize"}.get(key, key)
    if key not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    return key


@dataclass(frozen=True)
class OptimizationHistory:
    """``numbers[i]``, ``values[i]`` (NaN when not complete) and ``best[i]`` so far."""

    numbers: tuple[int, ...]
    values: tuple[float, ...]
    best: tuple[float, ...]
    direction: str
    metric: str


def optimization_history(trials: Iterable[Any], metric: str = "objective",
                         direction: str | None = None) -> OptimizationHistory:
    """The record behind :func:`search.visualization.plot_optimization_history`.

    Args:
      trials: a study, its trials, or ``HPOptimizer`` / its ``trials`` records.
      metric: the objective's name (for labels).
      direction: None takes the study's (:func:`direction_of`).
    """
    direction = direction_of(trials, direction)
    rows = sorted(trial_rows(trials), key=lambda r: r["number"])
    better = (lambda a, b: a > b) if direction == "maximize" else (lambda a, b: a < b)
    best, cur = [], math.nan
    values = []
    for r in rows:
        v = r["value"]
        ok = r["state"] == "complete" and v is not None and math.isfinite(v)
        values.append(float(v) if ok else math.nan)
        if ok and (math.isnan(cur) or better(v, cur)):
            cur = float(v)
        best.append(cur)
    return OptimizationHistory(tuple(r["number"] for r in rows), tuple(values), tuple(best),
                               direction, metric)
