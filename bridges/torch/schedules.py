"""Learning-rate schedules for torch optimizers: the JAX schedule functions, per step.

The formulas live once, in :mod:`neural_jax.train.schedules` (Keras' semantics). A torch
optimizer needs the rate as a Python float before each update, so :func:`schedule_fn`
jit-compiles the JAX function with its arguments bound and evaluates it at the optimizer's
step count (``0`` for the first update, Keras' ``optimizer.iterations``). Values are the JAX
trainer's to the bit (float32).

Arguments come resolved and validated by :func:`neural_jax.ir.training.resolve.resolve_schedule`
(through the optimizer helpers), so names and defaults are the IR's
(:data:`neural_jax.ir.training.SCHEDULES`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from neural_jax.train.schedules import SCHEDULES as _JAX_SCHEDULES

__all__ = ["SCHEDULES", "schedule_fn"]

Schedule = Callable[[int], float]

#: canonical name -> the JAX ``fn(step, **args) -> learning rate``
SCHEDULES: dict[str, Callable[..., jax.Array]] = dict(_JAX_SCHEDULES)


def schedule_fn(name: str, dynamic: Mapping[str, Any], static: Mapping[str, Any]) -> Schedule:
    """``step -> learning rate`` (a float) for a schedule with resolved arguments.

    Args:
      name: the Keras name (``"ExponentialDecay"``).
      dynamic: float and list arguments (numbers, lists or numpy arrays).
      static: flags and absent optional arguments.

    Raises:
      KeyError: ``name`` is not a schedule here (callers turn it into a BackendError).
    """
    fn = SCHEDULES[name]
    bound = {k: jnp.asarray(v) for k, v in dynamic.items()}
    compiled = jax.jit(functools.partial(fn, **bound, **dict(static)))

    def schedule(step: int) -> float:
        return float(compiled(jnp.float32(step)))

    schedule.__name__ = name
    return schedule
