"""What the engine tells the study about a trained trial, and the record it keeps of it.

A :class:`~neural_jax.executors.TrialOutcome` becomes the trial's learning curve (reported
epoch by epoch), its state (complete, pruned, failed with a reason) and value, and the
record of ``HPOptimizer.trials``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from neural_jax.core.errors import NeuralValidationError

__all__ = ["fail_reason", "metric_value", "record_pbt", "tell"]


def metric_value(metric: str, member: Any) -> float:
    """``val_accuracy`` -> the member's validation accuracy (of its kept weights).

    Raises:
      NeuralValidationError: a ``test_`` metric (the test split never chooses).
    """
    if metric.startswith("val_"):
        return float(member.val.get(metric[4:], math.nan))
    if metric.startswith("test_"):
        raise NeuralValidationError(f"metric {metric!r}: the test split is never used to choose",
                                    hint="optimize a val_ metric, e.g. val_accuracy")
    last = member.history[-1] if member.history else {}
    return float(last.get(metric, math.nan))


def _curve_value(metric: str, rec: Mapping[str, float]) -> float | None:
    v = rec.get(metric)
    return None if v is None or not math.isfinite(v) else float(v)


def fail_reason(member: Any, num_classes: int | None) -> str | None:
    """Why a trained trial failed, or None: divergence (:mod:`neural_jax.train.divergence`,
    also of a trial its trainer stopped for a NaN loss) or its trainer's message."""
    from neural_jax.train.divergence import divergence

    diverged = divergence(member.history, num_classes)
    if diverged or not member.failed:
        return diverged
    return member.message or "training failed"


def tell(study: Any, trial: Any, member: Any, metric: str,
         num_classes: int | None) -> dict[str, Any]:
    """Reports ``member``'s learning curve to ``trial``, tells the study its outcome and
    returns the trial's record (``number``, ``params``, ``history``, ``val``, ``test``,
    ``state``, ``value``, ``message`` of a failure, PBT's ``lineage``/``hyperparams``)."""
    for rec in member.history:
        v = _curve_value(metric, rec)
        if v is not None:
            trial.report(int(rec.get("epoch", 0)), v)
    rec = {"number": trial.number, "params": dict(trial.params), "history": member.history,
           "val": member.val, "test": member.test}
    if getattr(member, "pbt", None):
        rec.update(member.pbt)
    reason = fail_reason(member, num_classes)
    if reason is not None:
        study.tell(trial, state="failed", reason=reason)
        rec.update(state="failed", value=None, message=reason)
    elif member.stopped_by == "scheduler":
        study.tell(trial, state="pruned")
        rec.update(state="pruned", value=metric_value(metric, member))
    else:
        value = metric_value(metric, member)
        study.tell(trial, value)
        rec.update(state="complete" if math.isfinite(value) else "failed", value=value)
    return rec


def record_pbt(trials: list, results: list) -> None:
    """Stores what PBT did to each member of a round in its trial (user attribute ``pbt``:
    ``lineage``, the copies it made with the donor's trial number, and ``hyperparams``,
    the values it ended with) and on the member, for its record."""
    for trial, member in zip(trials, results):
        lineage = [{"epoch": int(ev["epoch"]), "from": trials[ev["from"]].number,
                    "hyperparams": {k: float(v) for k, v in ev["hyperparams"].items()}}
                   for ev in member.lineage]
        hyper = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in member.hyperparams.items()}
        member.pbt = {"lineage": lineage, "hyperparams": hyper}
        trial.set_user_attr("pbt", member.pbt)
