"""The trial-outcome record every executor returns (JAX population, worker pool, Ray).

It is plain Python (no JAX, torch or TensorFlow), so a PyTorch worker can build one without
importing the JAX side.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["TrialOutcome"]


@dataclasses.dataclass
class TrialOutcome:
    """What one trial (one member of a population, or one worker's trial) produced.

    Attributes:
      index: position of the trial's configuration in the list given to the executor.
      config: the configuration it started with (defaults filled in).
      history: one dict per trained epoch: ``loss``, train metrics, ``val_loss``,
        ``val_<metric>``, ``seconds`` (the epoch's wall time).
      val, test: metrics of the kept (best) weights; empty when failed.
      failed, message: a failure (NaN/inf training loss, a dead worker, an error) and what
        happened.
      stopped_epoch: the epoch after which the scheduler or ``patience`` stopped it, else None.
      stopped_by: ``"scheduler"``, ``"patience"`` or ``""``.
      best_epoch: the epoch of the kept weights.
      lineage: PBT events ``{"epoch", "from", "hyperparams"}``, oldest first.
      hyperparams: the final per-member float hyperparameters by configuration path.
      bucket: index of its bucket (JAX population; 0 elsewhere).
      variables: the kept weights (host arrays) when asked for.
    """

    index: int
    config: dict[str, Any]
    history: list[dict[str, float]]
    val: dict[str, float]
    test: dict[str, float]
    failed: bool = False
    message: str = ""
    stopped_epoch: int | None = None
    stopped_by: str = ""
    best_epoch: int = 0
    lineage: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    hyperparams: dict[str, float] = dataclasses.field(default_factory=dict)
    bucket: int = 0
    variables: Any = None
