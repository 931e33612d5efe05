"""What a population run returns: one trial outcome per member, and per-bucket statistics.

Every member's record is :class:`~neural_jax.executors.outcome.TrialOutcome`, the record
every executor returns (``MemberResult`` names it here). The engine builds each epoch's
history record from the epoch program's outputs (:func:`epoch_record`), keeps the metrics
of a member's kept weights from the epoch that kept them (:func:`kept_metrics`), and at the
end evaluates only the members whose kept weights are their initial ones
(:func:`member_results`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neural_jax.executors.outcome import TrialOutcome
from neural_jax.population.stopping import EarlyStopping
from neural_jax.population.trees import to_host, tree_take
from neural_jax.train.optimizers import hyperparams_of

__all__ = ["MemberResult", "PopulationResult", "epoch_record", "kept_metrics",
           "member_results"]

#: the record of one member (one trial outcome, shared by every executor)
MemberResult = TrialOutcome


class PopulationResult(list):
    """The list of :class:`MemberResult` (in configuration order), with ``stats``: one
    dict per bucket (``mode``, ``members``, ``plan``, ``traces``, ``sizes``,
    ``member_epochs``, ``compute_member_epochs``, ``epoch_seconds``, ``samples_per_second``)."""

    stats: list[dict[str, Any]]


def epoch_record(out: Mapping[str, np.ndarray], row: int, epoch: int,
                 seconds: float | None) -> dict[str, float]:
    """Member ``row``'s history record of an epoch: ``epoch``, ``loss``, the training
    metrics (without their ``train_`` prefix), the ``val_`` metrics and ``seconds``.

    ``seconds`` None marks the epoch whose training loss was not finite: its record stops
    after the training metrics, as every executor writes it
    (:func:`neural_jax.population.loop.fit_epochs`).
    """
    rec = {"epoch": epoch, "loss": float(out["loss"][row])}
    for k, v in out.items():
        if k.startswith("train_"):
            rec[k[len("train_"):]] = float(v[row])
    if seconds is None:
        return rec
    for k, v in out.items():
        if k.startswith("val_"):
            rec[k] = float(v[row])
    rec["seconds"] = seconds
    return rec


def kept_metrics(out: Mapping[str, np.ndarray], row: int,
                 evals: Sequence[str]) -> dict[str, dict[str, float]]:
    """Member ``row``'s metrics on each evaluation set (``"val"``, ``"test"``) of an epoch."""
    return {name: {k[len(name) + 1:]: float(v[row]) for k, v in out.items()
                   if k.startswith(name + "_")} for name in evals}


def member_results(run: Any, pop: dict[str, Any], es: EarlyStopping,
                   histories: list[list[dict]], lineages: list[list[dict]],
                   kept: list[dict | None], bucket_index: int,
                   keep_variables: bool) -> list[MemberResult]:
    """The members' records at the end of a bucket's run.

    Args:
      run: the :class:`~neural_jax.population.bucket_run.BucketRun`.
      pop: the members' final state (host arrays).
      es: the bucket's early-stopping state.
      histories: per member, its epoch records.
      lineages: per member, its PBT events.
      kept: per member, :func:`kept_metrics` of its kept weights, or None when no epoch
        improved (those are evaluated here).
      bucket_index: the bucket's position in the call.
      keep_variables: return each member's kept weights.
    """
    b = run.b
    ok = np.array([i for i in range(len(b)) if not es.failed[i]], int)
    rest = np.array([i for i in ok if kept[i] is None], int)
    metrics = {name: {int(i): kept[i].get(name, {}) for i in ok if kept[i] is not None}
               for name in ("val", "test")}
    for name in run.evals:
        metrics[name].update(run.evaluate_kept(pop, rest, run.evals[name]))
    val, test = (metrics["val"] if run.split else {}), metrics["test"]
    hyper = {f"optimizer.{k}": np.asarray(v) for k, v in hyperparams_of(pop["opt"]).items()
             if k in b.opt_values[0]}
    dynamic = run.model.dynamic
    hyper.update({k: np.asarray(v) for k, v in pop["hp"].items()
                  if k in dynamic and dynamic[k].kind == "float"})
    out = []
    for i in range(len(b)):
        variables = None
        if keep_variables:
            variables = to_host({"params": tree_take(pop["best_params"], i),
                                 **tree_take(pop["best_state"], i)})
        out.append(MemberResult(
            index=b.indices[i], config=b.configs[i], history=histories[i],
            val=val.get(i, {}), test=test.get(i, {}), lineage=lineages[i],
            hyperparams={k: float(v[i]) for k, v in hyper.items()}, bucket=bucket_index,
            variables=variables, **es.outcome(i)))
    return out
