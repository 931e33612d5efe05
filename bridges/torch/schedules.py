r"""Learning-rate schedules as plain Python functions of the optimizer step.

The same formulas as :mod:`neural_jax.train.schedules` (Keras' semantics), evaluated per
optimizer step in Python floats instead of traced JAX arrays. Notation: :math:`t` the step
(``0`` for the first update, Keras' ``optimizer.iterations``), :math:`\eta_0` the initial
rate, :math:`T` the decay steps, :math:`\gamma` a decay factor:

=========================  ==========================================================
ExponentialDecay           :math:`\eta_0\,\gamma^{t/T}` (``staircase``: :math:`\lfloor t/T\rfloor`)
InverseTimeDecay           :math:`\eta_0 / (1 + \gamma\,t/T)`
CosineDecay                :math:`\eta_0((1-\alpha)\tfrac12(1+\cos(\pi\min(t,T)/T))+\alpha)`
                           (Loshchilov & Hutter 2017, eq. 5), optional linear warmup
WarmupCosineDecay          warmup from ``initial_learning_rate`` to ``peak``, then cosine
PiecewiseConstantDecay     ``values[#{b : t > b}]``
PolynomialDecay            :math:`(\eta_0-\eta_T)(1-\min(t,T)/T)^p + \eta_T` (``cycle``)
StepDecay                  :math:`\eta_0\,\gamma^{\lfloor t/s\rfloor}`
=========================  ==========================================================

Arguments come resolved and validated by :func:`neural_jax.train.optimizers`'s public
helpers (``optimizer_hyperparams`` / ``optimizer_structure``), so names and defaults are
the JAX side's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["SCHEDULES", "schedule_fn"]

Schedule = Callable[[int], float]


def _exponential(t, *, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    p = t / decay_steps
    if staircase:
        p = math.floor(p)
    return initial_learning_rate * decay_rate ** p


def _inverse_time(t, *, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    p = t / decay_steps
    if staircase:
        p = math.floor(p)
    return initial_learning_rate / (1.0 + decay_rate * p)


def _cosine_part(t, decay_steps, alpha, start):
    fraction = min(t, decay_steps) / decay_steps
    return start * ((1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * fraction)) + alpha)


def _cosine(t, *, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
            warmup_steps=0.0):
    if warmup_target is None:
        return _cosine_part(t, decay_steps, alpha, initial_learning_rate)
    if t < warmup_steps:
        return initial_learning_rate + (warmup_target - initial_learning_rate) * (
            t / max(warmup_steps, 1.0))
    return _cosine_part(t - warmup_steps, decay_steps, alpha, warmup_target)


def _warmup_cosine(t, *, peak, warmup_steps, decay_steps, initial_learning_rate=0.0,
                   alpha=0.0):
    return _cosine(t, initial_learning_rate=initial_learning_rate, decay_steps=decay_steps,
                   alpha=alpha, warmup_target=peak, warmup_steps=warmup_steps)


def _piecewise(t, *, boundaries, values):
    index = sum(1 for b in boundaries if t > float(b))
    return float(values[index])


def _polynomial(t, *, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                power=1.0, cycle=False):
    if cycle:
        decay_steps = decay_steps * (1.0 if t == 0 else math.ceil(t / decay_steps))
    else:
        t = min(t, decay_steps)
    remaining = 1.0 - t / decay_steps
    return (initial_learning_rate - end_learning_rate) * remaining ** power + end_learning_rate


def _step(t, *, initial_learning_rate, step_size, gamma=0.1):
    return initial_learning_rate * gamma ** math.floor(t / step_size)


#: Keras name -> ``fn(step, **args) -> learning rate``
SCHEDULES: dict[str, Callable[..., float]] = {
    "ExponentialDecay": _exponential,
    "InverseTimeDecay": _inverse_time,
    "CosineDecay": _cosine,
    "WarmupCosineDecay": _warmup_cosine,
    "PiecewiseConstantDecay": _piecewise,
    "PolynomialDecay": _polynomial,
    "StepDecay": _step,
}


def _plain(v: Any) -> Any:
    if hasattr(v, "tolist"):
        return v.tolist()
    return v


def schedule_fn(name: str, dynamic: Mapping[str, Any], static: Mapping[str, Any]) -> Schedule:
    """``step -> learning rate`` for a schedule with resolved arguments.

    Args:
      name: the Keras name (``"ExponentialDecay"``).
      dynamic: float and list arguments (numbers, lists or numpy arrays).
      static: flags and absent optional arguments.

    Raises:
      KeyError: ``name`` is not a schedule here (callers turn it into a BackendError).
    """
    fn = SCHEDULES[name]
    args = {k: _plain(v) for k, v in {**dynamic, **static}.items()}

    def schedule(step: int) -> float:
        return float(fn(float(step), **args))

    schedule.__name__ = name
    return schedule
