"""Compiled member counts: padding to the device count, chunks, and when compaction pays.

A bucket's members run in one compiled program whose member count is fixed at trace time.
Three rules pick it:

* :func:`padded_size`: a multiple of the device count, rounded up to a
  :func:`~neural_jax.population.program.nice_size` (at most a third of the members are
  padding), so rounds of a search with slightly different bucket sizes reuse compiled
  programs; with ``pad_members`` (a search passes its population size) every bucket is
  padded to that size when the padding members' epochs cost less than a compilation;
  a bucket larger than the memory plan's chunk runs in chunks of that size;
* :func:`pad_ids`: padding members are copies of the first member, masked inactive;
* :func:`worth_compacting`: when members stop or fail, the survivors are gathered into a
  smaller size when the time it saves over the remaining epochs exceeds the compile time
  of the new size (``compact="auto"``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from neural_jax.population.memory import MemoryPlan

__all__ = ["pad_ids", "padded_size", "worth_compacting"]


def padded_size(n: int, devices: int, plan: MemoryPlan, pad_members: int | None = None,
                padding_seconds: float = 0.0, compile_s: float = 0.0) -> int:
    """The compiled member count for ``n`` members (see the module docstring).

    Args:
      n: members to run.
      devices: devices the member axis is sharded over.
      plan: the bucket's memory plan (chunk size, bytes per member, budget).
      pad_members: the size a search asks every bucket to share, or None.
      padding_seconds: estimated seconds of one padding member's whole run.
      compile_s: estimated seconds of one compilation.
    """
    from neural_jax.population.program import nice_size

    exact = math.ceil(n / devices) * devices
    if plan.n_chunks > 1 or exact > plan.chunk:
        return min(plan.chunk, exact)

    def fits(size: int) -> bool:
        return size * plan.member_bytes <= plan.budget

    nice = nice_size(math.ceil(n / devices)) * devices
    if pad_members:
        hint = math.ceil(pad_members / devices) * devices
        if hint >= nice and fits(hint) and (hint - n) * padding_seconds < compile_s:
            return hint
    return nice if fits(nice) else exact


def pad_ids(ids: np.ndarray, size: int) -> np.ndarray:
    """``ids`` padded to ``size`` with copies of its first member."""
    return np.concatenate([ids, np.full(size - len(ids), ids[0], ids.dtype)])


def worth_compacting(compact: bool | str, old: int, new: int, remaining: int,
                     first_dt: Mapping[int, float], steady_dt: Mapping[int, float]) -> bool:
    """Whether compacting ``old`` -> ``new`` members (a new compiled size) pays off.

    ``compact="auto"``: yes when the time saved over the remaining epochs,
    ``remaining * t_epoch * (1 - new / old)``, exceeds the compile time, estimated as the
    first epoch at ``old`` minus a steady one (half the first epoch before a steady one is
    measured). True and False decide without measuring.
    """
    if compact is not True and compact is not False:
        first = first_dt.get(old, 0.0)
        steady = steady_dt.get(old, first / 2)
        compile_s = max(first - steady, 0.0)
        return remaining * steady * (1 - new / old) > compile_s
    return bool(compact)
