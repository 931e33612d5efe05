"""Search methods and early-stopping schedulers by name: the one registry behind the DSL's
``search_method:``, ``neural hpo --strategy/--scheduler`` and ``HPOptimizer(strategy=,
scheduler=)``.

A *method* is what a user names: a strategy of :mod:`search` with its options, optionally a
scheduler that stops poor trials early, and whether the population trains with Population
Based Training (weights copied inside one compiled population,
:mod:`neural_jax.population.pbt`). So ``hyperband`` is random search judged by Hyperband, as
in W&B sweeps and Ray Tune; ``de`` is evosax's differential evolution; ``pbt`` is random
initial populations trained with in-population PBT. Names are matched ignoring case,
``-``, ``_`` and spaces (``CMA-ES`` is ``cma_es``); any other evosax algorithm name
(``LM_MA_ES``) is accepted as an evolution method; an unknown name is an error that lists
the names and suggests the closest.

This module imports nothing heavy: the DSL checker and the CLI's ``--help`` read it.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any

from neural_jax.core.errors import NeuralValidationError

__all__ = ["METHODS", "SCHEDULERS", "ALIASES", "Method", "UnknownMethodError",
           "canonical_method", "resolve_method", "resolve_scheduler", "make_scheduler",
           "method_names", "scheduler_names", "methods_help", "schedulers_help"]


class UnknownMethodError(NeuralValidationError):
    """A search method or scheduler name that is not in the registry."""

    kind = "error"


@dataclasses.dataclass(frozen=True)
class Method:
    """What a method name means.

    Attributes:
      strategy: the :mod:`search` strategy registry name.
      options: keyword arguments of that strategy (``{"algorithm": "DifferentialEvolution"}``).
      scheduler: a :data:`SCHEDULERS` name, or None (every trial trains to the end).
      pbt: train every population with in-population PBT (exploit/explore every few epochs).
      summary: one line for help texts.
    """

    strategy: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    scheduler: str | None = None
    pbt: bool = False
    summary: str = ""


def _evo(algorithm: str, summary: str) -> Method:
    return Method("evolution", {"algorithm": algorithm}, summary=f"{summary} (evosax {algorithm})")


#: user-facing method names -> what they run
METHODS: dict[str, Method] = {
    "tpe": Method("tpe", summary="tree-structured Parzen estimator (the default)"),
    "random": Method("random", summary="uniform random search"),
    "grid": Method("grid", summary="every point of the grid (continuous ranges in steps)"),
    "gp": Method("gp", summary="Gaussian-process Bayesian optimization"),
    "optuna": Method("optuna", summary="Optuna's default sampler"),
    "evolution": _evo("CMA_ES", "evolution strategy"),
    "cma_es": _evo("CMA_ES", "covariance matrix adaptation"),
    "sep_cma_es": _evo("Sep_CMA_ES", "separable CMA-ES"),
    "de": _evo("DifferentialEvolution", "differential evolution"),
    "pso": _evo("PSO", "particle swarm"),
    "ga": _evo("SimpleGA", "genetic algorithm"),
    "snes": _evo("SNES", "separable natural evolution strategy"),
    "xnes": _evo("xNES", "exponential natural evolution strategy"),
    "open_es": _evo("Open_ES", "OpenAI evolution strategy"),
    "pgpe": _evo("PGPE", "policy-gradient parameter exploration"),
    "pbt": Method("random", pbt=True,
                  summary="population based training: random initial populations whose "
                          "members copy the best members' weights and perturb their "
                          "hyperparameters while training"),
    "median": Method("random", scheduler="median", summary="random search + median stopping"),
    "sh": Method("random", scheduler="sh", summary="random search + successive halving"),
    "asha": Method("random", scheduler="asha", summary="random search + ASHA"),
    "hyperband": Method("random", scheduler="hyperband", summary="random search + Hyperband"),
}

#: other spellings -> :data:`METHODS` names (matched after folding case, ``-``, ``_``, spaces)
ALIASES: dict[str, str] = {
    "bayesian": "gp", "bayes": "gp", "gaussian_process": "gp", "cmaes": "cma_es",
    "differential_evolution": "de", "particle_swarm": "pso", "genetic": "ga",
    "simple_ga": "ga", "openai_es": "open_es", "population_based_training": "pbt",
    "successive_halving": "sh", "median_stopping": "median",
    # the seed's strategy class names
    "random_strategy": "random", "grid_strategy": "grid", "tpe_strategy": "tpe",
    "bayesian_strategy": "gp", "evolutionary_strategy": "evolution", "pbt_strategy": "pbt",
    "optuna_strategy": "optuna",
}

#: scheduler names -> one line on what they do (:func:`make_scheduler` builds them)
SCHEDULERS: dict[str, str] = {
    "median": "median stopping: stop a trial whose best value is worse than the median of "
              "the others' running means (Vizier)",
    "sh": "successive halving, eta 2: rungs at epochs 1, 2, 4, ...; keep the best half",
    "asha": "asynchronous successive halving, eta 3: rungs at epochs 1, 3, 9, ...; keep the "
            "best third",
    "hyperband": "Hyperband, eta 3: trials dealt to successive-halving brackets that start "
                 "pruning at epochs 1, 3, 9, ...",
}

_SCHEDULER_ALIASES = {"successive_halving": "sh", "median_stopping": "median",
                      "hb": "hyperband"}


def _fold(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def method_names() -> list[str]:
    """The method names, in registry order."""
    return list(METHODS)


def scheduler_names() -> list[str]:
    """The scheduler names, in registry order."""
    return list(SCHEDULERS)


def _evosax_name(name: str) -> str | None:
    """The evosax algorithm ``name`` spells, when evosax is installed and knows it."""
    try:
        from search.strategies.evolution import resolve_algorithm

        return resolve_algorithm(name)
    except (ImportError, ValueError, TypeError):
        return None


def canonical_method(name: str) -> str | None:
    """The :data:`METHODS` name ``name`` spells (any case, ``-``/``_``/spaces ignored, an
    alias), or None. Other evosax algorithm names are returned as given."""
    if not isinstance(name, str):
        return None
    folded = {_fold(k): k for k in METHODS} | {_fold(k): v for k, v in ALIASES.items()}
    key = folded.get(_fold(name))
    if key is not None:
        return key
    return name if _evosax_name(name) is not None else None


def _unknown(kind: str, name: Any, names: list[str], more: str = "") -> UnknownMethodError:
    close = difflib.get_close_matches(_fold(str(name)), [_fold(n) for n in names], n=1, cutoff=0.6)
    by_fold = {_fold(n): n for n in names}
    hint = f"did you mean {by_fold[close[0]]!r}? " if close else ""
    return UnknownMethodError(f"unknown {kind} {name!r}",
                              hint=f"{hint}choose one of: {', '.join(names)}{more}")


def resolve_method(name: str) -> tuple[str, Method]:
    """``(canonical name, Method)`` for a method name.

    Raises:
      UnknownMethodError: not a method name (the hint lists them, with a did-you-mean).
    """
    key = canonical_method(name)
    if key is None:
        raise _unknown("search method", name, list(METHODS), "; or any evosax algorithm name")
    if key in METHODS:
        return key, METHODS[key]
    algorithm = _evosax_name(key)
    return algorithm, _evo(algorithm, "evosax algorithm")


def resolve_scheduler(name: str) -> str:
    """The :data:`SCHEDULERS` name ``name`` spells.

    Raises:
      UnknownMethodError: not a scheduler name (the hint lists them).
    """
    if isinstance(name, str):
        folded = {_fold(k): k for k in SCHEDULERS} | {
            _fold(k): v for k, v in _SCHEDULER_ALIASES.items()}
        key = folded.get(_fold(name))
        if key is not None:
            return key
    raise _unknown("scheduler", name, list(SCHEDULERS))


def make_scheduler(name: str, max_epochs: int) -> Any:
    """A fresh :class:`search.schedulers.Scheduler` for ``name``.

    Args:
      name: a scheduler name (any spelling :func:`resolve_scheduler` accepts).
      max_epochs: the longest training of the search (Hyperband's maximum resource).
    """
    from search.schedulers import Hyperband, MedianStopping, SuccessiveHalving

    key = resolve_scheduler(name)
    if key == "median":
        return MedianStopping(min_trials=3)
    if key == "sh":
        return SuccessiveHalving(min_resource=1, eta=2)
    if key == "asha":
        return SuccessiveHalving(min_resource=1, eta=3)
    return Hyperband(min_resource=1, max_resource=max(2, int(max_epochs)), eta=3)


def methods_help() -> str:
    """One line naming every method (for ``--strategy``'s help)."""
    return ", ".join(METHODS) + "; or any evosax algorithm name (e.g. LM_MA_ES)"


def schedulers_help() -> str:
    """Every scheduler with its summary (for ``--scheduler``'s help)."""
    return "; ".join(f"{k}: {v}" for k, v in SCHEDULERS.items())
