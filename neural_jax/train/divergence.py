"""When a trial's training has diverged, so that its final metrics mean nothing.

A trial has *diverged* when some epoch's mean training loss

* is not finite (NaN or inf), or
* exceeds ``FACTOR`` (1e6) times a reference loss: the loss of a uniform guess,
  ``ln(num_classes)``, for classification, else the trial's own first-epoch loss.

A cross-entropy a million times that of guessing (2.3e6 for ten classes) means the weights
have blown up even when softmax still yields chance accuracy, which is what such a trial
shows; a regression loss a million times its first epoch's has run away. Such a trial is
stored as FAILED with the reason this module words, never as COMPLETE at chance accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = ["FACTOR", "divergence"]

#: how many times the reference loss a training loss may reach before the trial diverged
FACTOR = 1e6


def divergence(history: Sequence[Mapping[str, float]], num_classes: int | None) -> str | None:
    """Why a trial diverged (``"diverged: ..."``), or None when it did not.

    Args:
      history: the trial's epoch records, each with ``loss`` (and ``epoch``).
      num_classes: the dataset's classes, or None for regression.
    """
    losses = [(int(r.get("epoch", i + 1)), r.get("loss")) for i, r in enumerate(history)]
    losses = [(e, float(v)) for e, v in losses if v is not None]
    if not losses:
        return None
    if num_classes and num_classes > 1:
        ref, what = math.log(num_classes), f"the loss of a uniform guess over {num_classes} classes"
    else:
        ref, what = abs(losses[0][1]), "the first epoch's loss"
    for epoch, v in losses:
        if not math.isfinite(v):
            return f"diverged: the training loss became {v} in epoch {epoch}"
        if ref > 0 and math.isfinite(ref) and v > FACTOR * ref:
            return (f"diverged: the training loss reached {v:.3g} in epoch {epoch}, more than "
                    f"{FACTOR:g} times {what} ({ref:.3g})")
    return None
