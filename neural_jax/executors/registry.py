"""The executor registry: a backend name -> the ``"module:Class"`` that trains it.

Names are strings, imported only when a search uses them, so ``neural_jax`` never imports
the bridges (or torch, TensorFlow, Ray) to start a JAX search, and a package that provides
an executor registers it here without ``neural_jax`` importing it.
"""

from __future__ import annotations

import importlib
from typing import Any

from neural_jax.executors.backends import normalize_backend
from neural_jax.executors.base import Capabilities, Executor

__all__ = ["EXECUTORS", "executor_class", "load_ref"]

#: canonical backend name -> ``"module:Class"`` of its :class:`Executor`
EXECUTORS: dict[str, str] = {
    "jax": "neural_jax.population.executor:PopulationExecutor",
    "pytorch": "bridges.executor:WorkerPoolExecutor",
    "tensorflow": "bridges.executor:WorkerPoolExecutor",
    # "ray": trials spread over a Ray cluster (issue 10), e.g.
    # "neural_ray.executor:RayExecutor"; its name joins executors.backends.BACKENDS then
}


def load_ref(ref: str) -> Any:
    """The object a ``"package.module:attribute"`` string names, imported now.

    Raises:
      ValueError: ``ref`` has no ``:``.
      ImportError / AttributeError: the module or the attribute does not exist.
    """
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"a lazy reference is 'module:attribute', got {ref!r}")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def executor_class(backend: str) -> type[Executor]:
    """The :class:`Executor` class that trains ``backend`` (any spelling of its name).

    Raises:
      UnknownBackend: an unknown backend name.
      TypeError: the registered class does not satisfy the executor contract.
    """
    name = normalize_backend(backend)
    cls = load_ref(EXECUTORS[name])
    if not (isinstance(cls, type) and issubclass(cls, Executor)
            and isinstance(getattr(cls, "capabilities", None), Capabilities)):
        raise TypeError(f"{EXECUTORS[name]} is not an Executor with capabilities")
    if name not in cls.capabilities.frameworks:
        raise TypeError(f"{EXECUTORS[name]} does not train {name!r} "
                        f"(its frameworks: {cls.capabilities.frameworks})")
    return cls
