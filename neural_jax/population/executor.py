"""The JAX executor: each round is one population trained in compiled programs.

A thin seam over :func:`neural_jax.population.train_population`: a round's
configurations are the members, bucketed by structure, padded to the search's population
size so that every round reuses the same compiled programs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from neural_jax.executors.base import Capabilities, Executor
from neural_jax.executors.outcome import TrialOutcome

__all__ = ["PopulationExecutor"]


class PopulationExecutor(Executor):
    """Trains a round's configurations as one JAX population (members side by side)."""

    capabilities = Capabilities(
        frameworks=("jax",), parallel="population", max_workers=1, supports_pbt=True,
        supports_in_population_schedulers=True, epoch_callbacks=True, trains_in_process=True,
        defers_interrupt=True,
        needs_program_store=True)

    def run(self, net: Any, dataset: Any, configs: Sequence[Mapping[str, Any]], *,
            trial_ids: Sequence[int], scheduler: Any = None, pbt: Any = None,
            on_epoch: Callable[[int, dict[int, dict]], None] | None = None,
            keep_variables: bool = False) -> list[TrialOutcome]:
        """One population (see :class:`~neural_jax.executors.base.Executor`); the list has
        ``stats``, one record per bucket (compiled sizes, width padding, mode)."""
        from neural_jax.population.engine import train_population

        s = self.settings
        # every round pads its buckets to the population size (when that costs less than a
        # compilation), so a search compiles each program once
        return train_population(net, dataset, list(configs), scheduler=scheduler, pbt=pbt,
                                mode=s.mode, overrides=s.overrides, pad_members=s.population,
                                on_epoch=on_epoch, program_store=s.program_store,
                                rounds=s.rounds, trial_ids=list(trial_ids),
                                keep_variables=keep_variables)

    def close(self, kill: bool = False) -> None:
        """Waits for background compilations after an interrupt (a process exiting during
        one aborts)."""
        if kill:
            from neural_jax.population.compiling import wait_for_compilations

            wait_for_compilations()
