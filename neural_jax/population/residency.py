"""Where a bucket's members are between epochs, and one epoch of them in chunks.

The members live in host memory (numpy arrays, :mod:`neural_jax.population.trees`). When
one chunk holds every member that trains, the chunk stays on the device from one epoch to
the next and goes back to the host only when the set of members changes (a stop, a
failure, a PBT step) or the run ends. :meth:`Residency.epoch` runs one epoch of the
member program over the members that train, at the compiled size the bucket chooses
(:meth:`~neural_jax.population.bucket_run.BucketRun.size`): when members have left, the
survivors are gathered into a smaller size only when
:func:`~neural_jax.population.sizing.worth_compacting` says it pays (a size compiled before
is always reused); otherwise the stopped members stay in the array, masked. It also keeps
the epoch times that decision is measured by.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import numpy as np

from neural_jax.population.sizing import pad_ids, worth_compacting
from neural_jax.population.trees import to_host, tree_put, tree_take

__all__ = ["Residency"]


class Residency:
    """A bucket's members on the host, and the chunk kept on the device.

    Args:
      run: the :class:`~neural_jax.population.bucket_run.BucketRun`.
      pop: every member's state (host arrays), as ``run.init_members()`` gives it.
      compact: ``True``, ``False`` or ``"auto"`` (:func:`.sizing.worth_compacting`).

    Attributes:
      seen_sizes: the member counts the epoch program has run at.
      kept_size: how many epochs kept a larger compiled size instead of compacting.
    """

    def __init__(self, run: Any, pop: dict[str, Any], compact: bool | str) -> None:
        self.run, self._pop, self.compact = run, pop, compact
        self._cur, self._cur_ids, self._cur_size = None, None, 0
        self.seen_sizes: set[int] = set()
        self.first_dt: dict[int, float] = {}
        self.steady_dt: dict[int, float] = {}
        self.kept_size = 0

    def host(self) -> dict[str, Any]:
        """Every member's state on the host (the device chunk written back first)."""
        if self._cur is not None:
            self._pop = tree_put(self._pop, self._cur_ids, self._cur, len(self._cur_ids))
            self._cur, self._cur_ids = None, None
        return self._pop

    def replace(self, pop: dict[str, Any]) -> None:
        """Takes ``pop`` (host arrays) as every member's state (after :meth:`host`)."""
        self._pop = pop

    def epoch(self, ids: np.ndarray, active: np.ndarray, remaining: int
              ) -> tuple[list[tuple[np.ndarray, dict]], int, int, float, bool]:
        """One epoch of members ``ids``.

        Args:
          ids: the members that train (their ``active`` entries are True).
          active: every member's active mask (the compiled mask of a chunk).
          remaining: epochs left, this one included (for the compaction decision).

        Returns:
          ``(outputs, size, chunks, seconds, steady)``: per chunk its member ids and the
          program's host outputs, the compiled member count, the number of chunks, the wall
          time, and whether the size had run before (so the time includes no compilation).
        """
        run = self.run
        size = run.size(len(ids))
        run_ids = ids
        cur_size = self._cur_size
        if self._cur is not None and size < cur_size and size not in self.seen_sizes and not \
                worth_compacting(self.compact, cur_size, size, remaining, self.first_dt,
                                 self.steady_dt):
            run_ids, size = self._cur_ids, cur_size  # stopped members stay, masked
            self.kept_size += 1
        chunks = [run_ids[i:i + size] for i in range(0, len(run_ids), size)]
        single = len(chunks) == 1
        if self._cur is not None and not (single and np.array_equal(self._cur_ids, run_ids)):
            self.host()
        t0 = time.perf_counter()
        outs = []
        for ch in chunks:
            if self._cur is not None:
                sub = self._cur
            else:
                sub = jax.device_put(tree_take(self._pop, pad_ids(ch, size)), run.msh)
            mask = np.zeros(size, bool)
            mask[: len(ch)] = active[ch]
            new, out = run.prog.epoch(sub, jax.device_put(mask, run.msh), run.x, run.y,
                                      run.evals)
            outs.append((ch, jax.device_get(out)))
            if single:
                self._cur, self._cur_ids, self._cur_size = new, run_ids, size
            else:
                self._pop = tree_put(self._pop, ch, to_host(new), len(ch))
        dt = time.perf_counter() - t0
        steady = size in self.seen_sizes
        if steady:
            self.steady_dt[size] = dt
        else:
            self.first_dt[size] = dt
        self.seen_sizes.add(size)
        return outs, size, len(chunks), dt, steady
