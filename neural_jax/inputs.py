"""What a search is given, resolved and checked before any work.

:class:`neural_jax.hpo.HPOptimizer` and the ``neural`` command bind their arguments here:
the network of a DSL file (:func:`pick_network`), the data (:func:`dataset_for`), the
backend (:func:`resolve_backend`) and the search method and scheduler. A framework or
library that a named backend or method needs but that is not installed fails here, with
what to install, before a file is parsed further, data is loaded or a study is stored.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import TYPE_CHECKING, Any

from neural_jax.core.errors import ArgumentError, NeuralValidationError, NeuralWarning
from neural_jax.methods import Method, resolve_method, resolve_scheduler

if TYPE_CHECKING:
    from neural_jax.data import Dataset
    from neural_jax.ir.nodes import Network

__all__ = ["BackendUnavailable", "StrategyUnavailable", "dataset_for", "pick_network",
           "require_strategy", "resolve_backend", "search_methods"]


class BackendUnavailable(NeuralValidationError):
    """The requested backend cannot train trials (yet)."""


class StrategyUnavailable(NeuralValidationError):
    """The requested search method needs a library that is not installed."""


#: :mod:`search` strategy registry names -> the module they import (an optional dependency)
STRATEGY_MODULES: dict[str, str] = {"optuna": "optuna"}


def pick_network(code: str, network: str | None, name: str = "<string>") -> Network:
    """The network named ``network`` of ``code``, or its first (warning when there are more);
    ``name`` is the file's name in errors."""
    from neural_jax.dsl.api import parse, parse_all

    if network is not None:
        return parse(code, name, network=network)
    nets = parse_all(code, name)
    if len(nets) > 1:
        warnings.warn(NeuralWarning(
            f"the file defines {len(nets)} networks; searching the first, {nets[0].name!r} "
            f"(others: {', '.join(n.name for n in nets[1:])}; choose one with --network / "
            f"network=)"), stacklevel=4)
    return nets[0]


def dataset_for(net, data: Any, **options: Any) -> Dataset:
    """``data`` as a :class:`neural_jax.data.Dataset` for ``net``: any kind
    :func:`neural_jax.data.as_dataset` takes; the name ``synthetic`` without an
    ``input_shape`` makes data shaped for the network."""
    from neural_jax.data import as_dataset
    from neural_jax.data.network_fit import synthetic_for

    synthetic = isinstance(data, str) and data.strip().lower() == "synthetic"
    if synthetic and "input_shape" not in options:
        options.pop("data_dir", None)
        return synthetic_for(net, **options)
    return as_dataset(data, **options)


def resolve_backend(backend: str) -> str:
    """The canonical backend name (:func:`neural_jax.executors.normalize_backend`).

    Raises:
      UnknownBackend: a name of no backend.
      BackendUnavailable: its framework (torch, tensorflow) is not installed.
    """
    from neural_jax.executors.backends import FRAMEWORK_MODULES, normalize_backend

    name = normalize_backend(backend)
    module = FRAMEWORK_MODULES.get(name)
    if module is None or importlib.util.find_spec(module) is not None:
        return name
    raise BackendUnavailable(f"backend {backend!r} needs {module}, which is not installed",
                             hint=f'pip install "neural-jax[{module}]", or use backend="jax"')


def require_strategy(method: Method | Any, named: Any = None) -> None:
    """Checks that the library a method's strategy needs is installed.

    Args:
      method: a :class:`neural_jax.methods.Method` (anything else is a strategy instance,
        whose library was imported to build it).
      named: what the user called it, for the message (default the strategy's name).

    Raises:
      StrategyUnavailable: e.g. ``optuna`` without optuna installed.
    """
    if not isinstance(method, Method):
        return
    module = STRATEGY_MODULES.get(method.strategy)
    if module is None or importlib.util.find_spec(module) is not None:
        return
    shown = named if isinstance(named, str) else method.strategy
    raise StrategyUnavailable(f"strategy {shown!r} needs {module}, which is not installed",
                              hint=f"pip install {module}, or use another strategy (e.g. 'tpe')")


def method_of(strategy: Any) -> Method | Any | None:
    """The :class:`Method` a strategy argument names, the strategy instance itself, or None
    (the network's ``search_method``).

    Raises:
      UnknownMethodError: an unknown name (with the names and the closest).
      StrategyUnavailable: a method whose library is not installed.
      TypeError: neither a name nor a :class:`search.Strategy`.
    """
    import search

    if strategy is None:
        return None
    if isinstance(strategy, str):
        method = resolve_method(strategy)[1]
        require_strategy(method, strategy)
        return method
    if isinstance(strategy, search.Strategy):
        return strategy
    raise TypeError(f"strategy must be a method name (e.g. 'tpe') or a search.Strategy "
                    f"instance, got {type(strategy).__name__} {strategy!r}")


def scheduler_of(scheduler: Any, early_stopping: bool) -> Any:
    """A scheduler name of :data:`neural_jax.methods.SCHEDULERS`, a scheduler instance, or None."""
    import search

    if scheduler is None:
        return "sh" if early_stopping else None
    if isinstance(scheduler, str):
        name = resolve_scheduler(scheduler)
    elif isinstance(scheduler, search.Scheduler):
        name = scheduler
    else:
        raise TypeError(f"scheduler must be a scheduler name (e.g. 'asha') or a "
                        f"search.Scheduler instance, got {type(scheduler).__name__} {scheduler!r}")
    if early_stopping and name != "sh":
        raise ArgumentError(f"early_stopping=True means scheduler 'sh', but scheduler "
                         f"{scheduler!r} was given; give one of them")
    return name


def search_methods(config: Any) -> tuple[Method | Any | None, Any]:
    """The method and the scheduler an :class:`neural_jax.engine_config.EngineConfig`'s
    ``strategy``, ``scheduler`` and ``early_stopping`` name, checked together.

    Raises:
      UnknownMethodError / StrategyUnavailable / TypeError: see :func:`method_of`.
      ValueError: a strategy and a scheduler (or ``early_stopping``) that name different
        schedulers.
    """
    method = method_of(config.strategy)  # an unknown name fails here, before any work
    sched = scheduler_of(config.scheduler, config.early_stopping)
    strategy = config.strategy
    if (isinstance(strategy, str) and method.scheduler and isinstance(sched, str)
            and sched != method.scheduler):
        raise ArgumentError(
            f"strategy {strategy!r} means scheduler {method.scheduler!r}, but "
            f"scheduler {sched!r} was given; give one of them")
    return method, sched
