"""Search strategies behind one registry.

``STRATEGIES`` is a plain ``name -> class`` dict. Strategies with heavy dependencies (JAX,
evosax, optuna) are imported on first use, so ``import search`` stays light and a strategy
whose module cannot be imported only fails when asked for by name.

Registry names: ``random``, ``grid``, ``tpe``, ``gp``, ``evolution``, ``pbt``, ``optuna``;
the seed's names ``RandomStrategy``, ``GridStrategy``, ``TPEStrategy``, ``BayesianStrategy``
and ``EvolutionaryStrategy`` are aliases.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from search.errors import StrategyUnavailableError, UnknownStrategyError
from search.strategies.base import Dimension, SearchExhausted, Strategy
from search.strategies.grid import GridSearch
from search.strategies.random import RandomSearch

__all__ = [
    "Dimension", "Strategy", "SearchExhausted", "STRATEGIES", "ALIASES",
    "available_strategies", "get_strategy", "register_strategy", "strategy_class", "strategy_name",
    "RandomSearch", "GridSearch", "OptunaSampler", "TPE", "GPBayesian", "Evolution", "PBT",
    "RandomStrategy", "GridStrategy", "TPEStrategy", "BayesianStrategy", "EvolutionaryStrategy",
]

#: name -> class of every strategy imported so far (lazy ones join on first use)
STRATEGIES: dict[str, type[Strategy]] = {"random": RandomSearch, "grid": GridSearch}

#: name -> "module:Class" of strategies imported on first use
_LAZY: dict[str, str] = {
    "tpe": "search.strategies.tpe:TPE",
    "gp": "search.strategies.gp:GPBayesian",
    "evolution": "search.strategies.evolution:Evolution",
    "pbt": "search.strategies.pbt:PBT",
    "optuna": "search.strategies.optuna_adapter:OptunaSampler",
}

#: the seed's strategy names -> registry names
ALIASES: dict[str, str] = {
    "RandomStrategy": "random",
    "GridStrategy": "grid",
    "TPEStrategy": "tpe",
    "BayesianStrategy": "gp",
    "EvolutionaryStrategy": "evolution",
    "PBTStrategy": "pbt",
    "OptunaStrategy": "optuna",
}

# names importable from this package, resolved lazily (PEP 562)
_LAZY_NAMES = {
    "TPE": "tpe", "TPEStrategy": "tpe", "GPBayesian": "gp", "BayesianStrategy": "gp",
    "Evolution": "evolution", "EvolutionaryStrategy": "evolution", "PBT": "pbt",
    "OptunaSampler": "optuna",
}
RandomStrategy = RandomSearch
GridStrategy = GridSearch


def available_strategies() -> list[str]:
    """Every registry name (whether or not its module imports on this machine)."""
    return sorted(set(STRATEGIES) | set(_LAZY))


def register_strategy(name: str, cls: type[Strategy] | str) -> None:
    """Adds a strategy class (or a ``"module:Class"`` path imported on first use)."""
    if isinstance(cls, str):
        _LAZY[name] = cls
        STRATEGIES.pop(name, None)
    else:
        STRATEGIES[name] = cls


def _resolve_name(name: str) -> str:
    if name in STRATEGIES or name in _LAZY:
        return name
    if name in ALIASES:
        return ALIASES[name]
    folded = ({k.lower(): k for k in [*STRATEGIES, *_LAZY]}
              | {k.lower(): v for k, v in ALIASES.items()})
    if name.lower() in folded:
        return folded[name.lower()]
    choices = [*available_strategies(), *ALIASES]
    hint = difflib.get_close_matches(name, choices, n=1, cutoff=0.5) or difflib.get_close_matches(
        name.lower(), [c.lower() for c in choices], n=1, cutoff=0.5)
    extra = f" Did you mean {hint[0]!r}?" if hint else ""
    raise UnknownStrategyError(
        f"unknown strategy {name!r}.{extra} Available: {', '.join(available_strategies())}"
    )


def _import(spec: str) -> type[Strategy]:
    module, _, attr = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except Exception as e:  # noqa: BLE001 - a half-written or broken module must not break the registry
        raise StrategyUnavailableError(f"strategy {spec!r} cannot be imported: {e}") from e


def strategy_class(name: str) -> type[Strategy]:
    """The class registered as ``name`` (an alias, any case, or a ``"module:Class"`` path).

    Raises:
      UnknownStrategyError: no such name (with a did-you-mean).
      StrategyUnavailableError: its module or a dependency cannot be imported.
    """
    if ":" in name:
        return _import(name)
    key = _resolve_name(name)
    if key not in STRATEGIES:
        STRATEGIES[key] = _import(_LAZY[key])
    return STRATEGIES[key]


def get_strategy(name: str | Strategy, **kwargs: Any) -> Strategy:
    """Builds a strategy by registry name; an instance is returned unchanged."""
    if isinstance(name, Strategy):
        return name
    return strategy_class(name)(**kwargs)


def strategy_name(strategy: Strategy) -> str:
    """The name under which ``strategy`` can be rebuilt by :func:`strategy_class`."""
    cls = type(strategy)
    for key, c in STRATEGIES.items():
        if c is cls:
            return key
    for key, spec in _LAZY.items():
        if spec == f"{cls.__module__}:{cls.__qualname__}":
            return key
    return f"{cls.__module__}:{cls.__qualname__}"


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        return strategy_class(_LAZY_NAMES[name])
    raise AttributeError(f"module 'search.strategies' has no attribute {name!r}")
