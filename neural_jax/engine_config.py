"""The one description of a search: :class:`EngineConfig`.

:class:`neural_jax.hpo.HPOptimizer` holds one, the ``neural hpo`` flags build one
(:mod:`neural_jax.cli_hpo`) and so do the ``experiments/`` config files
(:func:`neural_jax.experiment.engine_config`), all checked by :func:`validate` with the rules
the command line's argument types use (:mod:`neural_jax.cli_values`), so the three cannot
drift apart.

``population`` and ``workers`` are separate options: ``population`` is the number of trials
a round trains (for JAX the members trained together in one program), ``workers`` the
number of worker processes training trials side by side (PyTorch / TensorFlow). The old
``parallel_trials`` is still accepted with its old meaning, which depends on the backend:
the population for JAX, the workers for PyTorch and TensorFlow (:meth:`EngineConfig.sizes`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from neural_jax.core.errors import ArgumentError

__all__ = ["DEFAULT_POPULATION", "EngineConfig", "SeedRange", "positive_number_problem",
           "validate", "whole_number_problem"]

#: the largest default population: ``min(n_trials, DEFAULT_POPULATION)``
DEFAULT_POPULATION = 16
#: seeds are 32-bit
SeedRange = (0, 2**32 - 1)


def whole_number_problem(value: Any, minimum: int = 1, maximum: int | None = None) -> str | None:
    """What is wrong with ``value`` as a whole number in ``[minimum, maximum]``, else None
    (e.g. ``"must be a whole number >= 1, got 0"``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        return f"must be a whole number >= {minimum}, got {value!r}"
    if maximum is not None and value > maximum:
        return f"must be a whole number from {minimum} to {maximum}, got {value!r}"
    return None


def positive_number_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as a finite number > 0, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 < value < float("inf")):
        return f"must be a number > 0, got {value!r}"
    return None


@dataclasses.dataclass(frozen=True)
class EngineConfig:
    """Everything a search is asked to do, except its callbacks.

    Attributes:
      strategy: a method name (:data:`neural_jax.methods.METHODS`), a
        :class:`search.Strategy`, or None for the network's ``search_method``.
      scheduler: a scheduler name, a :class:`search.Scheduler`, or None.
      n_trials: trials in all.
      timeout: seconds after which no round starts, or None.
      early_stopping: shorthand for ``scheduler="sh"``.
      population: trials per round (JAX: members trained together); None:
        ``min(n_trials, 16)``.
      workers: worker processes training trials side by side (PyTorch / TensorFlow);
        None: 1.
      parallel_trials: the old spelling: ``population`` for JAX, ``workers`` for PyTorch /
        TensorFlow (the option given by its own name wins).
      epochs: every trial's epochs, or None for the network's.
      pbt_interval: epochs between PBT steps, or None (a quarter of the epochs).
      seed: seeds the search and the trials (trial ``k`` trains with ``seed + k``).
      storage, study_name: where the study lives (SQLAlchemy URL) and its name.
      backend: ``"jax"``, ``"pytorch"``, ``"tensorflow"`` (or a spelling of one).
      metric: the trials' value; direction: ``"maximize"``, ``"minimize"`` or None (inferred).
      mode: JAX population execution mode (``"auto"``, ``"vmap"``, ``"patches"``,
        ``"sequential"``).
      data_dir: where dataset files are.
      compilation_cache: JAX's persistent compilation cache: True, a directory, or False.
      keep_best: keep the best trial's weights.

    Raises:
      ValueError: a value :func:`validate` refuses, naming the field.
    """

    strategy: Any = None
    scheduler: Any = None
    n_trials: int = 20
    timeout: float | None = None
    early_stopping: bool = False
    population: int | None = None
    workers: int | None = None
    parallel_trials: int | None = None
    epochs: int | None = None
    pbt_interval: int | None = None
    seed: int = 0
    storage: str | None = None
    study_name: str | None = None
    backend: str = "jax"
    metric: str = "val_accuracy"
    direction: str | None = None
    mode: str = "auto"
    data_dir: str | None = None
    compilation_cache: bool | str = True
    keep_best: bool = False

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes: Any) -> EngineConfig:
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)

    def sizes(self, parallel: str) -> tuple[int, int]:
        """``(population, workers)`` of a search whose executor runs ``parallel`` side by
        side (``"population"`` or ``"workers"``,
        :attr:`neural_jax.executors.Capabilities.parallel`): where ``parallel_trials``
        goes, and the defaults."""
        population, workers = self.population, self.workers
        if self.parallel_trials is not None:
            if parallel == "population" and population is None:
                population = self.parallel_trials
            elif parallel == "workers" and workers is None:
                workers = self.parallel_trials
        population = population or min(self.n_trials, DEFAULT_POPULATION)
        return max(1, population), workers or 1


def validate(config: EngineConfig) -> None:
    """Checks the numbers of ``config``, its strategy and scheduler (the metric, the
    direction and the backend are checked against the network and the installed frameworks
    when the search starts; what a field means together with an executor, when the search
    opens one).

    Raises:
      ValueError: the first bad number, by name (e.g. ``"n_trials must be a whole number
        >= 1, got 0"``), or a strategy and a scheduler that disagree.
      UnknownMethodError / StrategyUnavailable / TypeError: see
        :func:`neural_jax.inputs.search_methods`.
    """
    def fail(name: str, problem: str | None) -> None:
        if problem is not None:
            raise ArgumentError(f"{name} {problem}")

    fail("n_trials", whole_number_problem(config.n_trials))
    for name in ("population", "workers", "parallel_trials", "epochs", "pbt_interval"):
        value = getattr(config, name)
        if value is not None:
            fail(name, whole_number_problem(value))
    fail("seed", whole_number_problem(config.seed, *SeedRange))
    if config.timeout is not None:
        problem = positive_number_problem(config.timeout)
        if problem is not None:
            raise ArgumentError(f"timeout must be > 0 seconds, got {config.timeout!r}")
    from neural_jax.inputs import search_methods

    search_methods(config)  # the strategy and scheduler names, and that they agree
