"""Memory planning for a population: bytes per member, the budget, and chunks.

Notation: :math:`n_p` parameter count of one member, :math:`n_o` optimizer-state elements,
:math:`a` activation elements of one example summed over layers, :math:`B` the batch size,
:math:`E` the evaluation batch, 4 bytes per element. One member costs about

.. math:: m = 4\\,(3 n_p + n_o) + 4 \\cdot 3 a B + 4 a E

(parameters, gradients and the kept best weights; optimizer slots; the forward
activations kept for the backward pass plus their gradients and temporaries at the
training batch; activations of one evaluation batch). The estimate is deliberately on
the high side; when ``P * m`` exceeds the budget the population runs in chunks of
``floor(budget / m)`` members (rounded down to a multiple of the device count), each
chunk one call of the same compiled program, with the other chunks' state kept in host
memory between calls.

The default budget is 60% of the free memory of the first local device
(``memory_stats()``), or on CPU 50% of the available host memory (psutil, else 4 GiB).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import numpy as np

__all__ = ["MemoryPlan", "default_budget", "estimate_member_bytes", "plan_chunks"]

_BYTES = 4


@dataclasses.dataclass(frozen=True)
class MemoryPlan:
    """How a bucket of ``members`` runs.

    Attributes:
      member_bytes: estimated bytes of one member.
      budget: the budget in bytes.
      chunk: members per call (a multiple of ``devices``).
      n_chunks: calls per epoch for the full population.
    """

    member_bytes: int
    budget: int
    chunk: int
    n_chunks: int


def default_budget() -> int:
    """Bytes the population may use on the first local device (see the module docstring)."""
    dev = jax.local_devices()[0]
    stats = None
    try:
        stats = dev.memory_stats()
    except Exception:  # noqa: BLE001 - backends without memory statistics
        stats = None
    if stats and "bytes_limit" in stats:
        free = stats["bytes_limit"] - stats.get("bytes_in_use", 0)
        return int(0.6 * free)
    try:
        import psutil

        return int(0.5 * psutil.virtual_memory().available)
    except ImportError:
        return 4 << 30


def _elements(tree: Any) -> int:
    return int(sum(np.prod(x.shape) for x in jax.tree_util.tree_leaves(tree)))


def estimate_member_bytes(params_shapes: Any, opt_shapes: Any, activation_elements: int,
                          batch_size: int, eval_batch: int) -> int:
    """Estimated bytes of one member (see the module docstring for the formula)."""
    n_p = _elements(params_shapes)
    n_o = _elements(opt_shapes)
    return _BYTES * (3 * n_p + n_o + 3 * activation_elements * batch_size
                     + activation_elements * eval_batch)


def plan_chunks(members: int, member_bytes: int, budget: int | None, devices: int) -> MemoryPlan:
    """Members per call so that one call fits the budget.

    Args:
      members: population size.
      member_bytes: from :func:`estimate_member_bytes`.
      budget: bytes, or None for :func:`default_budget`.
      devices: number of devices the population axis is sharded over.

    Returns:
      The :class:`MemoryPlan`. A budget below one member per device still runs, one
      member per device per call.
    """
    if budget is None:
        budget = default_budget()
    budget = int(budget)
    if budget <= 0:
        raise ValueError(f"memory_budget must be a positive number of bytes, got {budget}")
    padded = math.ceil(members / devices) * devices
    fit = max(1, budget // max(1, member_bytes))
    chunk = max(devices, fit // devices * devices)
    chunk = min(chunk, padded)
    return MemoryPlan(member_bytes, budget, chunk, math.ceil(members / chunk))
