"""The settings of one population run: :class:`PopulationOptions`.

:func:`neural_jax.population.train_population` takes them as one object or as the keyword
arguments of the same names. This module imports no JAX.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["MODES", "PopulationOptions"]

#: the execution modes of a bucket's program (:mod:`neural_jax.population.program`)
MODES = ("vmap", "patches", "sequential", "sequential_patches")


def _error(message: str) -> Exception:
    from neural_jax.population.bucket import PopulationConfigError

    return PopulationConfigError(message)


@dataclasses.dataclass(frozen=True)
class PopulationOptions:
    """How a population trains (every field has a default).

    Attributes:
      scheduler: a :class:`search.schedulers.Scheduler` judged at every epoch boundary.
      pbt: :class:`~neural_jax.population.pbt.PBT` settings, or None.
      mode: ``"auto"`` or one of ``"vmap"``, ``"patches"``, ``"sequential"``,
        ``"sequential_patches"``.
      memory_budget: bytes a call may use; None:
        :func:`neural_jax.population.memory.default_budget`.
      on_epoch: called as ``on_epoch(epoch, {member index: record})`` after every epoch of
        every bucket (a copy of the history record, with ``samples``: the training examples
        the member saw in the epoch).
      overrides: training overrides for every member (``epochs``, ``batch_size``...).
      keep_variables: return each member's kept weights.
      compact: when members stop or fail, gather the survivors into a smaller compiled
        size: True always, False never (stopped members stay in the array, masked), or
        ``"auto"``: when the time it saves over the remaining epochs exceeds the
        measured compile time of a new size (a size compiled before is always reused).
      pad: width padding (:mod:`neural_jax.population.bucket`): configurations that differ
        only in searched layer widths train as one bucket at the widest option, exactly as
        their own networks. True, False, or ``"auto"``: when the padding's extra compute
        costs less than the compilations it saves.
      pad_members: pad every bucket to this many members when the padding members' epochs
        cost less than a compilation (a search passes its population size, so every round
        and bucket reuses one compiled size).
      program_store: a :class:`neural_jax.population.program_store.ProgramStore`: the init
        and epoch programs are loaded from it instead of traced (and exported to it when
        missing).
      rounds: how many calls like this one (same network, sizes and epochs) the caller
        expects to make in all, this one included; a search passes its number of rounds.
        A program is compiled with XLA's cheaper CPU options when its estimated run over all
        of them is below one compilation, with the optimizing defaults otherwise, so pass
        the same value in every call of a search (both variants are separate programs).
      trial_ids: the ids the ``scheduler`` knows the members by, one per configuration,
        distinct (default: their positions in the configurations). A search that trains
        once per round with one scheduler passes its trial numbers, so that a rung compares
        every trial of the search that reached it, not members of different rounds that
        share a position.

    Raises:
      PopulationConfigError: an unknown mode, a bad ``rounds`` or ``compact`` (``pad`` is
        checked where the configurations are bucketed, ``trial_ids`` by :meth:`check`).
    """

    scheduler: Any = None
    pbt: Any = None
    mode: str = "auto"
    memory_budget: int | None = None
    on_epoch: Callable[[int, dict[int, dict]], None] | None = None
    overrides: Mapping[str, Any] | None = None
    keep_variables: bool = False
    compact: bool | str = "auto"
    pad: bool | str = "auto"
    pad_members: int | None = None
    program_store: Any = None
    rounds: int = 1
    trial_ids: Sequence[int] | None = None

    def __post_init__(self) -> None:
        if self.mode != "auto" and self.mode not in MODES:
            raise _error(f"unknown mode {self.mode!r}; use 'auto' or one of {', '.join(MODES)}")
        rounds = self.rounds
        if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
            raise _error(f"rounds must be a positive integer, got {rounds!r}")
        if self.compact not in (True, False, "auto"):
            raise _error(f"compact must be True, False or 'auto', got {self.compact!r}")
        if self.trial_ids is not None:
            object.__setattr__(self, "trial_ids", tuple(int(i) for i in self.trial_ids))

    def check(self, n_configs: int) -> None:
        """Checks the options against a call with ``n_configs`` configurations.

        Raises:
          PopulationConfigError: ``trial_ids`` that are not one distinct id per
            configuration.
        """
        ids = self.trial_ids
        if ids is not None and (len(ids) != n_configs or len(set(ids)) != len(ids)):
            raise _error(f"trial_ids must give {n_configs} distinct ids, one per "
                         f"configuration; got {len(ids)} ({len(set(ids))} distinct)")
