r"""Keras optimizers and learning-rate schedules with the math of :mod:`neural_jax.train`.

Notation: :math:`g` gradient, :math:`\theta` parameters, :math:`\eta` learning rate,
:math:`\lambda` weight decay, :math:`t` the 1-based step, :math:`\beta_1, \beta_2` decays.

The configuration is resolved by :mod:`neural_jax.ir.training.resolve`
(``optimizer_structure``, ``optimizer_hyperparams``, ``resolve_schedule``), as for the JAX
trainer, so names, defaults, ranges and errors are the same. Keras
applies clipping (``clipnorm`` per tensor, ``clipvalue``, ``global_clipnorm``), then the
decoupled weight decay :math:`\theta \leftarrow \theta - \eta\lambda\theta`, then the update,
with the learning rate of the current step: that is the optax chain of
:mod:`neural_jax.train.optimizers`. SGD, RMSprop, Adagrad and Lion are Keras' own classes,
whose updates equal the optax chains. Adam/AdamW, Nadam and Adamax are :class:`OptaxAdam`
and :class:`OptaxAdamax`, because Keras computes them differently:

* Adam (Kingma & Ba 2015, Alg. 1, as optax): :math:`\hat m = m/(1-\beta_1^t)`,
  :math:`\hat v = v/(1-\beta_2^t)`, :math:`\theta \leftarrow \theta - \eta\,\hat m /
  (\sqrt{\hat v} + \epsilon)`; Keras adds :math:`\epsilon` to :math:`\sqrt v` instead.
  AMSGrad takes the running maximum of :math:`\hat v` (Keras: of :math:`v`).
* Nadam (Dozat 2016, as optax): :math:`\hat m = \beta_1 m/(1-\beta_1^{t+1}) +
  (1-\beta_1) g/(1-\beta_1^t)`; Keras adds a momentum-decay schedule.
* Adamax: :math:`u = \max(\beta_2 u, |g| + \epsilon)`, :math:`\theta \leftarrow \theta -
  \eta\,m/((1-\beta_1^t)\,u)`; Keras adds :math:`\epsilon` after the maximum.

Schedules (:class:`Schedule`) evaluate the formulas of :mod:`neural_jax.train.schedules` at
Keras' ``optimizer.iterations`` (0 for the first update, like the optax state's count).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from bridges.errors import BackendError
from bridges.tensorflow._keras import BACKEND, load
from neural_jax.ir.training.resolve import (
    ResolvedSchedule,
    optimizer_hyperparams,
    optimizer_structure,
    resolve_schedule,
)

tf, keras = load()

__all__ = ["OPTIMIZERS", "SCHEDULES", "OptaxAdam", "OptaxAdamax", "Schedule", "build_optimizer",
           "build_schedule"]


class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """A schedule of :mod:`neural_jax.train.schedules`, evaluated with TensorFlow ops.

    Args:
      name: the canonical name (``"ExponentialDecay"``, ...).
      args: every argument, defaults filled in (floats, or lists for
        PiecewiseConstantDecay).
    """

    def __init__(self, name: str, args: Mapping[str, Any]) -> None:
        self.name = name
        self.args = dict(args)

    def __call__(self, step):
        t = tf.cast(step, tf.float32)
        a = self.args
        f = SCHEDULES[self.name]
        return tf.cast(f(t, **a), tf.float32)

    def get_config(self) -> dict:
        return {"name": self.name, "args": self.args}


def _exponential(t, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    p = t / decay_steps
    if staircase:
        p = tf.floor(p)
    return initial_learning_rate * tf.pow(tf.constant(decay_rate, tf.float32), p)


def _inverse_time(t, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    p = t / decay_steps
    if staircase:
        p = tf.floor(p)
    return initial_learning_rate / (1.0 + decay_rate * p)


def _cosine_part(t, decay_steps, alpha, start):
    fraction = tf.minimum(t, decay_steps) / decay_steps
    return start * ((1.0 - alpha) * 0.5 * (1.0 + tf.cos(math.pi * fraction)) + alpha)


def _cosine(t, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
            warmup_steps=0.0):
    if warmup_target is None:
        return _cosine_part(t, decay_steps, alpha, initial_learning_rate)
    warm = initial_learning_rate + (warmup_target - initial_learning_rate) * (
        t / max(warmup_steps, 1.0))
    decayed = _cosine_part(t - warmup_steps, decay_steps, alpha, warmup_target)
    return tf.where(t < warmup_steps, warm, decayed)


def _warmup_cosine(t, peak, warmup_steps, decay_steps, initial_learning_rate=0.0, alpha=0.0):
    return _cosine(t, initial_learning_rate, decay_steps, alpha, peak, warmup_steps)


def _piecewise(t, boundaries, values):
    index = tf.reduce_sum(tf.cast(t > tf.constant(boundaries, tf.float32), tf.int32))
    return tf.gather(tf.constant(values, tf.float32), index)


def _polynomial(t, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                cycle=False):
    if cycle:
        decay_steps = decay_steps * tf.where(t == 0, 1.0, tf.math.ceil(t / decay_steps))
    else:
        t = tf.minimum(t, decay_steps)
    remaining = 1.0 - t / decay_steps
    return (initial_learning_rate - end_learning_rate) * tf.pow(remaining, power) \
        + end_learning_rate


def _step(t, initial_learning_rate, step_size, gamma=0.1):
    return initial_learning_rate * tf.pow(tf.constant(gamma, tf.float32),
                                          tf.floor(t / step_size))


#: the TensorFlow formula of each schedule the IR declares
#: (:data:`neural_jax.ir.training.SCHEDULES`), keyed by its canonical name
SCHEDULES = {
    "ExponentialDecay": _exponential,
    "InverseTimeDecay": _inverse_time,
    "CosineDecay": _cosine,
    "WarmupCosineDecay": _warmup_cosine,
    "PiecewiseConstantDecay": _piecewise,
    "PolynomialDecay": _polynomial,
    "StepDecay": _step,
}


def _adam_terms(opt, gradient, variable, learning_rate):
    """``(lr, g, beta_1, beta_2, t, i)`` of an Adam-family step in ``variable``'s dtype
    (``t`` counts from 1; ``i`` indexes the slot variables)."""
    dtype = variable.dtype
    return (tf.cast(learning_rate, dtype), tf.cast(gradient, dtype),
            tf.constant(opt.beta_1, dtype), tf.constant(opt.beta_2, dtype),
            tf.cast(opt.iterations + 1, dtype), opt._get_variable_index(variable))


class OptaxAdam(keras.optimizers.Optimizer):
    """Adam as optax computes it (see the module docstring); ``nesterov`` makes it Nadam."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, nesterov=False, name="adam", **kwargs) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.amsgrad, self.nesterov = bool(amsgrad), bool(nesterov)

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._m = [self.add_variable_from_reference(v, "momentum") for v in var_list]
        self._v = [self.add_variable_from_reference(v, "velocity") for v in var_list]
        self._vmax = ([self.add_variable_from_reference(v, "velocity_max") for v in var_list]
                      if self.amsgrad else [])

    def update_step(self, gradient, variable, learning_rate) -> None:
        lr, g, b1, b2, t, i = _adam_terms(self, gradient, variable, learning_rate)
        m, v = self._m[i], self._v[i]
        self.assign(m, (1.0 - b1) * g + b1 * m)
        self.assign(v, (1.0 - b2) * tf.square(g) + b2 * v)
        if self.nesterov:
            m_hat = b1 * m / (1.0 - tf.pow(b1, t + 1.0)) + (1.0 - b1) * g / (1.0 - tf.pow(b1, t))
        else:
            m_hat = m / (1.0 - tf.pow(b1, t))
        v_hat = v / (1.0 - tf.pow(b2, t))
        if self.amsgrad:
            self.assign(self._vmax[i], tf.maximum(self._vmax[i], v_hat))
            v_hat = self._vmax[i]
        self.assign_sub(variable, lr * (m_hat / (tf.sqrt(v_hat) + self.epsilon)))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                      amsgrad=self.amsgrad, nesterov=self.nesterov)
        return config


class OptaxAdamax(keras.optimizers.Optimizer):
    """Adamax as optax computes it (see the module docstring)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="adamax", **kwargs) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._m = [self.add_variable_from_reference(v, "momentum") for v in var_list]
        self._u = [self.add_variable_from_reference(v, "norm") for v in var_list]

    def update_step(self, gradient, variable, learning_rate) -> None:
        lr, g, b1, b2, t, i = _adam_terms(self, gradient, variable, learning_rate)
        m, u = self._m[i], self._u[i]
        self.assign(m, (1.0 - b1) * g + b1 * m)
        self.assign(u, tf.maximum(tf.abs(g) + self.epsilon, b2 * u))
        self.assign_sub(variable, lr * ((m / (1.0 - tf.pow(b1, t))) / u))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return config


def build_schedule(value: Mapping[str, Any]) -> Schedule:
    """The Keras schedule of a ``{"schedule": name, "args": {...}}`` learning rate.

    Raises:
      TrainConfigError: what :func:`neural_jax.ir.training.resolve.resolve_schedule` rejects.
    """
    if not isinstance(value, ResolvedSchedule):
        value = resolve_schedule(value.get("schedule"), value.get("args"))
    args: dict[str, Any] = dict(value.static)
    for key, v in value.dynamic.items():
        v = np.asarray(v)
        args[key] = v.tolist() if v.ndim else float(v)
    return Schedule(value.decl.name, args)


def _learning_rate(args: Mapping[str, Any], values: Mapping[str, Any]):
    value = args.get("learning_rate")
    if isinstance(value, (Mapping, ResolvedSchedule)):
        return build_schedule(value)
    if "learning_rate" not in values:
        raise BackendError(f"a learning rate given as a Python function cannot be used by "
                           f"Keras (backend: {BACKEND})",
                           hint="give a number or a schedule {'schedule': name, 'args': {...}}")
    return float(values["learning_rate"])


def build_optimizer(name: str, args: Mapping[str, Any] | None = None) -> Any:
    """A Keras optimizer with the math of ``neural_jax.train.build_optimizer(name, args)``.

    Args:
      name: Adam, AdamW, SGD, RMSprop, Adagrad, Adamax, Nadam or Lion (any case).
      args: Keras keyword arguments; ``learning_rate`` may be a schedule mapping
        ``{"schedule": "ExponentialDecay", "args": {...}}``.

    Raises:
      TrainConfigError: what the JAX registry rejects (unknown names, bad values).
      BackendError: a learning rate given as a Python function.
    """
    struct = optimizer_structure(name, args)
    values = optimizer_hyperparams(name, args)
    canonical, flags = struct[0], dict(struct[1])
    lr = _learning_rate(dict(args or {}), values)
    f = {k: float(v) for k, v in values.items() if not k.startswith("learning_rate")}
    common = {k: f[k] for k in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm")
              if k in f}
    build = OPTIMIZERS.get(canonical)
    if build is None:
        raise BackendError(
            f"optimizer {canonical!r} has no Keras counterpart (backend: {BACKEND})",
            hint="use one of " + ", ".join(OPTIMIZERS))
    return build(canonical, lr, f, flags, common)


def _adam(name, lr, f, flags, common):
    return OptaxAdam(lr, f["beta_1"], f["beta_2"], f["epsilon"],
                     amsgrad=bool(flags.get("amsgrad", False)), nesterov=name == "Nadam",
                     name=name.lower(), **common)


def _adamax(name, lr, f, flags, common):
    return OptaxAdamax(lr, f["beta_1"], f["beta_2"], f["epsilon"], **common)


def _sgd(name, lr, f, flags, common):
    return keras.optimizers.SGD(lr, momentum=f["momentum"], nesterov=bool(flags["nesterov"]),
                                **common)


def _rmsprop(name, lr, f, flags, common):
    return keras.optimizers.RMSprop(lr, rho=f["rho"], momentum=f["momentum"],
                                    epsilon=f["epsilon"], centered=bool(flags["centered"]),
                                    **common)


def _adagrad(name, lr, f, flags, common):
    return keras.optimizers.Adagrad(
        lr, initial_accumulator_value=float(flags["initial_accumulator_value"]),
        epsilon=f["epsilon"], **common)


def _lion(name, lr, f, flags, common):
    return keras.optimizers.Lion(lr, beta_1=f["beta_1"], beta_2=f["beta_2"], **common)


#: the Keras optimizer of each optimizer the IR declares
#: (:data:`neural_jax.ir.training.OPTIMIZERS`), keyed by its canonical name:
#: ``build(name, learning_rate, floats, flags, clipping_and_decay) -> optimizer``
OPTIMIZERS = {
    "Adam": _adam,
    "AdamW": _adam,
    "SGD": _sgd,
    "RMSprop": _rmsprop,
    "Adagrad": _adagrad,
    "Adamax": _adamax,
    "Nadam": _adam,
    "Lion": _lion,
}
