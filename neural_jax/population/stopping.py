"""Early stopping over a population: one vectorised state machine for every epoch loop.

Notation: ``P`` members; a member's *score* at an epoch is its monitored value made a
value to minimise, ``s = sign * value`` with ``sign = -1`` for an accuracy monitor (its
name contains ``acc``) and ``+1`` otherwise (:func:`monitor_sign`). The monitor is the
network's ``early_stopping.monitor`` (``val_loss`` by default); without a validation split
the training ``loss`` is monitored (:func:`monitor_score`).

Per member the machine keeps the best score and its epoch, a patience counter and an
``active`` / ``failed`` / stopped state. At each epoch boundary, :meth:`EarlyStopping.step`
takes the members that trained and their training loss and score:

* a non-finite training loss fails the member (it leaves the population, its kept weights
  are those of its best epoch);
* a score below ``best - min_delta`` is an improvement: best and best epoch move, the
  counter resets (the caller keeps that epoch's weights);
* otherwise the counter grows, and once it exceeds ``patience`` the member stops
  (``stopped_by="patience"``).

:meth:`EarlyStopping.stop` stops members for another reason (a search's scheduler,
``stopped_by="scheduler"``). The population engine (:mod:`neural_jax.population.engine`)
and the single-run host loop (:func:`neural_jax.population.loop.fit_epochs`, which the
PyTorch and TensorFlow bridges use) run the same machine. This module imports numpy only,
so a PyTorch or TensorFlow worker uses it without importing JAX.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["EarlyStopping", "monitor_score", "monitor_sign"]


def monitor_sign(monitor: str) -> float:
    """``-1.0`` for a monitor that is maximised (its name contains ``acc``), else ``1.0``."""
    return -1.0 if "acc" in monitor else 1.0


def monitor_score(spec: Any, rec: Mapping[str, float]) -> float:
    """The monitored value of an epoch's record, as a value to minimise (``acc`` monitors are
    negated); the training loss when the record lacks the monitor (no validation split)."""
    return monitor_sign(spec.monitor) * float(rec.get(spec.monitor, rec["loss"]))


class EarlyStopping:
    """Best score, patience and stop state of ``n`` members (see the module docstring).

    Args:
      n: how many members.
      patience: epochs without improvement a member may run before it stops; None: never.
      min_delta: how much a score must fall below the best one to count as improved.

    Attributes:
      best: per member, the best score so far (``inf`` before the first epoch).
      best_epoch: per member, the epoch of the best score (0 before any).
      bad: per member, epochs since the last improvement.
      active: per member, whether it trains on.
      failed: per member, whether its training loss became non-finite.
      stopped_epoch: per member, the epoch after which it was stopped (0: not stopped).
      stopped_by: per member, ``"patience"``, ``"scheduler"`` or ``""``.
      message: per member, why it failed (``""`` when it did not).
    """

    def __init__(self, n: int, patience: int | None = None, min_delta: float = 0.0) -> None:
        self.patience, self.min_delta = patience, float(min_delta)
        self.best = np.full(n, np.inf)
        self.best_epoch = np.zeros(n, int)
        self.bad = np.zeros(n, int)
        self.active = np.ones(n, bool)
        self.failed = np.zeros(n, bool)
        self.stopped_epoch = np.zeros(n, int)
        self.stopped_by = [""] * n
        self.message = [""] * n

    def __len__(self) -> int:
        return len(self.active)

    def step(self, epoch: int, members: Sequence[int] | np.ndarray, losses: Sequence[float],
             scores: Sequence[float], improved: Sequence[bool] | None = None) -> np.ndarray:
        """Applies one epoch's results of ``members``.

        Args:
          epoch: the epoch (from 1).
          members: indices of the members that trained in it.
          losses: their training losses.
          scores: their scores (monitored values, minimised).
          improved: whether each one improved, when the caller decided it (the population
            program compares scores on the device, where the kept weights are); None:
            ``score < best - min_delta``.

        Returns:
          Per member of ``members``, whether its weights of this epoch are now the kept
          ones (finite and improved).
        """
        members = np.asarray(members, int)
        losses = np.asarray(losses, float)
        scores = np.asarray(scores, float)
        finite = np.isfinite(losses)
        for m, loss in zip(members[~finite], losses[~finite], strict=True):
            self.failed[m], self.active[m] = True, False
            self.message[m] = f"the training loss became {loss} in epoch {epoch}"
        if improved is None:
            better = scores < self.best[members] - self.min_delta
        else:
            better = np.asarray(improved, bool)
        better &= finite
        up = members[better]
        self.best[up], self.best_epoch[up], self.bad[up] = scores[better], epoch, 0
        worse = members[finite & ~better]
        self.bad[worse] += 1
        if self.patience is not None:
            self.stop(worse[self.bad[worse] > self.patience], epoch, "patience")
        return better

    def stop(self, members: Sequence[int] | np.ndarray, epoch: int, by: str) -> None:
        """Stops ``members`` after ``epoch`` (``by``: ``"scheduler"``, ``"patience"``)."""
        for m in np.asarray(members, int):
            self.active[m], self.stopped_epoch[m], self.stopped_by[m] = False, epoch, by

    def outcome(self, m: int) -> dict[str, Any]:
        """Member ``m``'s end state as :class:`~neural_jax.executors.outcome.TrialOutcome`
        fields (``failed``, ``message``, ``stopped_epoch``, ``stopped_by``, ``best_epoch``)."""
        return {"failed": bool(self.failed[m]), "message": self.message[m],
                "stopped_epoch": int(self.stopped_epoch[m]) or None,
                "stopped_by": self.stopped_by[m], "best_epoch": int(self.best_epoch[m])}
