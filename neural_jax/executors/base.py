"""The executor contract: what trains one round of trial configurations.

The engine (:mod:`neural_jax.engine`) asks the study for a round of configurations and hands
them to an :class:`Executor`; the executor trains them (a JAX population in one compiled
program, a pool of PyTorch / TensorFlow worker processes, later Ray) and returns one
:class:`~neural_jax.executors.outcome.TrialOutcome` per configuration. The engine never asks
which framework trains: it reads the executor's :class:`Capabilities`.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from neural_jax.executors.outcome import TrialOutcome

__all__ = ["Capabilities", "Executor", "ExecutorSettings"]


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What an executor can do; the engine decides by these, never by a backend name.

    Attributes:
      frameworks: the canonical backend names it trains (:data:`BACKENDS` keys).
      parallel: what runs side by side: ``"population"`` (members trained together in one
        program; ``population`` sets how many) or ``"workers"`` (trials in worker
        processes; ``workers`` sets how many). The old ``parallel_trials`` means this one.
      max_workers: the most worker processes it can use (1: it trains in the caller).
      supports_pbt: Population Based Training inside a round (weights copied between members).
      supports_in_population_schedulers: a scheduler judges members inside the round, after
        every epoch, and stops them there (successive halving, ASHA, ...).
      epoch_callbacks: ``on_epoch`` is called after every epoch (else a round reports once,
        when it ends).
      trains_in_process: every trial trains in the caller's process (False: in worker
        processes, or in the caller only when there is one worker).
      defers_interrupt: a Ctrl-C is recorded and raised at the next epoch boundary
        (:class:`neural_jax.interrupt.DeferredInterrupt`: a KeyboardInterrupt inside
        compiled code's callbacks aborts the process); otherwise it stops the round at once,
        the workers are killed and the running trials re-queued.
      needs_program_store: it reuses compiled programs across processes through a
        :class:`neural_jax.population.program_store.ProgramStore` (and the compilation cache).
      to_jax_variables: None when the weights kept with ``keep_variables`` are a JAX
        variables tree; else the lazy ``"module:function"`` that converts them,
        ``fn(backend, net, config, variables) -> JAX variables`` (a PyTorch ``state_dict``).
    """

    frameworks: tuple[str, ...]
    parallel: str
    max_workers: int | None = 1
    supports_pbt: bool = False
    supports_in_population_schedulers: bool = True
    epoch_callbacks: bool = False
    trains_in_process: bool = True
    defers_interrupt: bool = False
    needs_program_store: bool = False
    to_jax_variables: str | None = None

    def __post_init__(self) -> None:
        if self.parallel not in ("population", "workers"):
            raise ValueError(f"parallel must be 'population' or 'workers', got {self.parallel!r}")
        if not self.frameworks:
            raise ValueError("an executor trains at least one framework")


@dataclasses.dataclass(frozen=True)
class ExecutorSettings:
    """What an executor is opened with, fixed for a whole search.

    Attributes:
      backend: the canonical backend name it trains.
      population: trials per round (members of one population for JAX).
      workers: worker processes (1: in the caller).
      mode: JAX population execution mode (``"auto"``, ``"vmap"``, ...).
      rounds: how many rounds the search will run (a long search pays for a better compile).
      overrides: training overrides for every trial (``epochs``...), or None.
      program_store: the store of compiled programs, when the executor needs one.
    """

    backend: str
    population: int
    workers: int = 1
    mode: str = "auto"
    rounds: int = 1
    overrides: Mapping[str, Any] | None = None
    program_store: Any = None


class Executor(abc.ABC):
    """Trains rounds of trial configurations; one instance serves one search.

    Contract:

    * ``Executor(settings)`` opens it (nothing heavy yet: frameworks import in :meth:`run`).
    * :meth:`run` trains one round and returns one :class:`TrialOutcome` per configuration,
      in configuration order (``outcome.index`` is its position). A trial's own error or a
      dead worker fails that trial (``failed=True`` with a message), never the round.
      ``scheduler`` (when given) judges every trial after each epoch on the network's
      monitored value and a stopped trial ends with ``stopped_by="scheduler"``; ``pbt`` is
      only given when ``capabilities.supports_pbt``. ``trial_ids`` are the study's trial
      numbers, the ids the scheduler knows the trials by. ``keep_variables`` keeps each
      trial's weights in ``outcome.variables`` (JAX variables, or the framework's form
      that ``capabilities.to_jax_variables`` converts). The returned list may carry
      ``stats`` (per-bucket facts of a JAX population).
    * :meth:`close` releases what the executor holds (worker processes); ``kill=True`` after
      an interrupt or an error abandons running trials. It is safe to call twice.
    * ``capabilities`` (a class attribute) says what the engine may ask of it.
    """

    capabilities: ClassVar[Capabilities]

    def __init__(self, settings: ExecutorSettings) -> None:
        self.settings = settings

    @abc.abstractmethod
    def run(self, net: Any, dataset: Any, configs: Sequence[Mapping[str, Any]], *,
            trial_ids: Sequence[int], scheduler: Any = None, pbt: Any = None,
            on_epoch: Callable[[int, dict[int, dict]], None] | None = None,
            keep_variables: bool = False) -> list[TrialOutcome]:
        """Trains one round; returns one outcome per configuration, in order."""

    def close(self, kill: bool = False) -> None:  # noqa: B027 - nothing to release by default
        """Releases what the executor holds; ``kill`` abandons running trials."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind, value, tb) -> None:
        self.close(kill=kind is not None)
