r"""Keras-named optimizers built from optax, with every float hyperparameter in state.

Notation: :math:`g` gradient, :math:`\theta` parameters, :math:`\eta` learning rate,
:math:`\lambda` weight decay, :math:`t` step. Each optimizer is the optax chain

.. math:: u = -\eta\,d(g) - \eta\lambda\theta

where :math:`d` is the optimizer's direction (Adam: Kingma & Ba 2015, Alg. 1; Lion: Chen
et al. 2023, Alg. 2; ...), preceded by optional gradient clipping. The weight decay is
decoupled (Loshchilov & Hutter 2019, Alg. 2 line 12), as Keras 3 applies it for every
optimizer; SGD and RMSprop apply momentum after scaling by :math:`\eta`, as Keras does.

Known differences from Keras: ``epsilon`` is added to :math:`\sqrt{\hat v}` (optax,
paper form) rather than to :math:`\sqrt{v}`; Nadam is Dozat's (2016) form without
Keras' momentum-decay schedule.

Hyperparameters in state
------------------------
:func:`build_optimizer` wraps the chain in ``optax.inject_hyperparams``. Every float
argument (``learning_rate``, ``beta_1``, ``epsilon``, ``weight_decay``, clipping
thresholds, ...) lives in ``opt_state.hyperparams`` and every float argument of a
learning-rate schedule in ``opt_state.hyperparams_states["learning_rate"].args``. A
population trainer builds one optimizer per bucket, initialises one state per member
and writes each member's values with :func:`set_hyperparams`; the update is traced
once for all members. :func:`hyperparams_of` reads them back under flat names:
``"beta_1"``, ``"learning_rate"`` (the rate used by the latest update) and, for a
schedule, ``"learning_rate.decay_rate"`` and so on.

Flags (``nesterov``, ``amsgrad``, ``centered``), ``initial_accumulator_value`` (used only
at init), the optimizer and schedule names, whether ``weight_decay`` / clipping are given
at all, and the lengths of ``PiecewiseConstantDecay`` lists are structural:
:func:`neural_jax.ir.training.resolve.optimizer_structure` returns them as a hashable bucket
key. Names, signatures, defaults and domains are the declarations of
:data:`neural_jax.ir.training.OPTIMIZERS`; this module holds the optax chains.

Example::

    opt = build_optimizer("Adam", {"learning_rate": 1e-3})
    state = opt.init(params)
    state = set_hyperparams(state, learning_rate=3e-4, beta_1=0.8)
    updates, state = opt.update(grads, state, params)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import optax

from neural_jax.ir.training import OPTIMIZERS as DECLS
from neural_jax.ir.training.checks import TrainConfigError, did_you_mean, signature
from neural_jax.ir.training.resolve import (
    ResolvedOptimizer,
    ResolvedSchedule,
    resolve_optimizer,
)
from neural_jax.train.schedules import InjectableSchedule, ScheduleArgsState

__all__ = [
    "OPTIMIZERS",
    "build_optimizer",
    "hyperparams_of",
    "optimizer_names",
    "optimizer_signature",
    "set_hyperparams",
]

_HP = dict[str, jax.Array]
#: ``chain(hp, flags) -> transforms`` producing the update :math:`-\eta d(g)`
_Chain = Callable[[_HP, dict[str, Any]], list[optax.GradientTransformation]]


def _scale_lr(hp: _HP) -> optax.GradientTransformation:
    return optax.scale(-hp["learning_rate"])


def _adam_chain(hp, flags):
    if flags["amsgrad"]:
        direction = optax.scale_by_amsgrad(b1=hp["beta_1"], b2=hp["beta_2"],
                                           eps=hp["epsilon"])
    else:
        direction = optax.scale_by_adam(b1=hp["beta_1"], b2=hp["beta_2"],
                                        eps=hp["epsilon"])
    return [direction, _scale_lr(hp)]


def _sgd_chain(hp, flags):
    # Keras: v <- m v - lr g; theta <- theta + v (nesterov: theta + m v - lr g).
    return [_scale_lr(hp), optax.trace(decay=hp["momentum"], nesterov=flags["nesterov"])]


def _rmsprop_chain(hp, flags):
    scale_by = optax.scale_by_stddev if flags["centered"] else optax.scale_by_rms
    # eps inside the square root, as Keras' RMSprop.
    return [scale_by(decay=hp["rho"], eps=hp["epsilon"], eps_in_sqrt=True),
            _scale_lr(hp), optax.trace(decay=hp["momentum"])]


def _adagrad_chain(hp, flags):
    return [optax.scale_by_rss(
        initial_accumulator_value=flags["initial_accumulator_value"],
        eps=hp["epsilon"]), _scale_lr(hp)]


def _adamax_chain(hp, flags):
    del flags
    return [optax.scale_by_adamax(b1=hp["beta_1"], b2=hp["beta_2"], eps=hp["epsilon"]),
            _scale_lr(hp)]


def _nadam_chain(hp, flags):
    del flags
    return [optax.scale_by_adam(b1=hp["beta_1"], b2=hp["beta_2"], eps=hp["epsilon"],
                                nesterov=True), _scale_lr(hp)]


def _lion_chain(hp, flags):
    del flags
    return [optax.scale_by_lion(b1=hp["beta_1"], b2=hp["beta_2"]), _scale_lr(hp)]


#: the optax chain of each optimizer the IR declares
#: (:data:`neural_jax.ir.training.OPTIMIZERS`), keyed by its canonical name; AdamW is Adam
#: with its default weight decay
OPTIMIZERS: dict[str, _Chain] = {
    "Adam": _adam_chain,
    "AdamW": _adam_chain,
    "SGD": _sgd_chain,
    "RMSprop": _rmsprop_chain,
    "Adagrad": _adagrad_chain,
    "Adamax": _adamax_chain,
    "Nadam": _nadam_chain,
    "Lion": _lion_chain,
}


def optimizer_names() -> list[str]:
    """Keras names of all declared optimizers."""
    return list(DECLS)


def optimizer_signature(name: str) -> list[tuple[str, Any]]:
    """Ordered ``(argument, Keras default)`` pairs, for binding positional arguments."""
    return signature(DECLS, name, "optimizer")


def _clip_each_by_norm(max_norm: jax.Array) -> optax.GradientTransformation:
    """Keras ``clipnorm``: rescales each gradient tensor to norm at most ``max_norm``."""

    def update(updates, state, params=None):
        del params

        def clip(g):
            norm = jnp.sqrt(jnp.sum(jnp.square(g)))
            return g * (max_norm / jnp.maximum(norm, max_norm))

        return jax.tree.map(clip, updates), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def _factory(resolved: ResolvedOptimizer) -> Callable[..., optax.GradientTransformation]:
    """The inner factory for ``inject_hyperparams``: one keyword per float argument."""
    chain, flags = OPTIMIZERS[resolved.decl.name], resolved.flags

    def factory(**hp: jax.Array) -> optax.GradientTransformation:
        parts: list[optax.GradientTransformation] = []
        if "clipnorm" in hp:
            parts.append(_clip_each_by_norm(hp["clipnorm"]))
        if "clipvalue" in hp:
            parts.append(optax.clip(hp["clipvalue"]))
        if "global_clipnorm" in hp:
            parts.append(optax.clip_by_global_norm(hp["global_clipnorm"]))
        parts.extend(chain(hp, flags))
        if "weight_decay" in hp:
            # Decoupled decay -lr * wd * theta, added after momentum as in Keras.
            parts.append(optax.add_decayed_weights(
                -hp["learning_rate"] * hp["weight_decay"]))
        return optax.chain(*parts)

    names = ["learning_rate", *resolved.floats]
    factory.__signature__ = inspect.Signature(  # read by optax.inject_hyperparams
        [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names])
    factory.__name__ = resolved.decl.name
    return factory


def build_optimizer(name: str, args: Mapping[str, Any] | None = None
                    ) -> optax.GradientTransformationExtraArgs:
    """Builds a Keras-named optimizer as an optax transformation.

    Args:
      name: Optimizer name, case-insensitive: Adam, AdamW, SGD, RMSprop, Adagrad,
        Adamax, Nadam, Lion.
      args: Keras keyword arguments (``learning_rate``, ``beta_1``, ``beta_2``,
        ``epsilon``, ``weight_decay``, ``momentum``, ``nesterov``, ``rho``,
        ``centered``, ``amsgrad``, ``initial_accumulator_value``, ``clipnorm``,
        ``clipvalue``, ``global_clipnorm``); missing ones take Keras defaults.
        ``learning_rate`` may be a number, a schedule mapping
        ``{"schedule": "ExponentialDecay", "args": {...}}`` or an optax schedule.

    Returns:
      An ``optax.inject_hyperparams`` transformation. Pass ``params`` to ``update``
      when ``weight_decay`` is set.

    Raises:
      TrainConfigError: Unknown optimizer, schedule or argument (with the closest
        name), a value of the wrong type, or a value out of range.
    """
    resolved = resolve_optimizer(name, args)
    lr = resolved.lr
    if isinstance(lr, ResolvedSchedule) and not isinstance(lr, InjectableSchedule):
        lr = InjectableSchedule(lr)
    return optax.inject_hyperparams(_factory(resolved))(learning_rate=lr, **resolved.floats)


# ----------------------------------------------------------------------------------
# Reading and writing hyperparameters in an optimizer state.

_INJECT_STATES = (optax.InjectStatefulHyperparamsState, optax.InjectHyperparamsState)


def _find_inject(state: Any) -> Any:
    if isinstance(state, _INJECT_STATES):
        return state
    children = (state.values() if isinstance(state, dict)
                else state if isinstance(state, (tuple, list)) else ())
    for child in children:
        found = _find_inject(child)
        if found is not None:
            return found
    return None


def _replace_inject(state: Any, new: Any) -> Any:
    if isinstance(state, _INJECT_STATES):
        return new
    if isinstance(state, dict):
        return {k: _replace_inject(v, new) for k, v in state.items()}
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return type(state)(*(_replace_inject(v, new) for v in state))
    if isinstance(state, (tuple, list)):
        return type(state)(_replace_inject(v, new) for v in state)
    return state


def _inject_state(opt_state: Any) -> Any:
    found = _find_inject(opt_state)
    if found is None:
        raise TrainConfigError(
            "This optimizer state holds no injected hyperparameters; build the "
            "optimizer with neural_jax.train.build_optimizer.")
    return found


def hyperparams_of(opt_state: Any) -> dict[str, jax.Array]:
    """Flat view of the hyperparameters in an optimizer state.

    Args:
      opt_state: State of a :func:`build_optimizer` optimizer, possibly nested in
        tuples (``optax.chain``) or named tuples, possibly batched over members.

    Returns:
      ``{"learning_rate": ..., "beta_1": ..., "learning_rate.decay_rate": ...}``;
      ``learning_rate`` is the rate used by the latest update (the step-0 rate
      after ``init``).
    """
    inject = _inject_state(opt_state)
    values = dict(inject.hyperparams)
    for key, sched in getattr(inject, "hyperparams_states", {}).items():
        if isinstance(sched, ScheduleArgsState):
            values.update({f"{key}.{arg}": v for arg, v in sched.args.items()})
    return values


def _cast_like(old: jax.Array, value: Any, key: str) -> jax.Array:
    # Same dtype and shape as before, so a jitted update is not traced again.
    new = jnp.asarray(value, dtype=jnp.result_type(old))
    try:
        return jnp.broadcast_to(new, jnp.shape(old))
    except ValueError:
        raise TrainConfigError(
            f"Hyperparameter '{key}' has shape {jnp.shape(old)} in the optimizer "
            f"state; got a value of shape {jnp.shape(new)}.") from None


def set_hyperparams(opt_state: Any, **values: Any) -> Any:
    """Returns a copy of ``opt_state`` with some hyperparameters replaced.

    Works inside ``jit`` and ``vmap`` (values may be tracers); dtypes and shapes are
    kept, so jitted functions are not retraced.

    Args:
      opt_state: State of a :func:`build_optimizer` optimizer (see
        :func:`hyperparams_of`).
      **values: New values by flat name: ``learning_rate=3e-4``, ``beta_1=0.8``; for a
        scheduled learning rate, its arguments as ``**{"learning_rate.decay_rate": x}``
        or ``learning_rate={"decay_rate": x}``.

    Returns:
      The updated state.

    Raises:
      TrainConfigError: A name that is not in the state, or ``learning_rate`` given
        as a number while the rate follows a schedule.
    """
    inject = _inject_state(opt_state)
    hyper = dict(inject.hyperparams)
    sched_states = dict(getattr(inject, "hyperparams_states", {}))
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat.update({f"{key}.{arg}": v for arg, v in value.items()})
        else:
            flat[key] = value
    known = list(hyperparams_of(opt_state))
    for key, value in flat.items():
        base, _, arg = key.partition(".")
        sched = sched_states.get(base)
        if arg and isinstance(sched, ScheduleArgsState) and arg in sched.args:
            new_args = dict(sched.args)
            new_args[arg] = _cast_like(sched.args[arg], value, key)
            sched_states[base] = sched._replace(args=new_args)
        elif not arg and base in sched_states:
            args = (", ".join(f"'{base}.{a}'" for a in sched.args)
                    if isinstance(sched, ScheduleArgsState) else "none")
            raise TrainConfigError(
                f"'{base}' follows a schedule and is recomputed every step; set the "
                f"schedule's arguments instead ({args}).")
        elif not arg and key in hyper:
            hyper[key] = _cast_like(hyper[key], value, key)
        else:
            raise TrainConfigError(
                f"The optimizer state has no hyperparameter '{key}'."
                f"{did_you_mean(key, known)} It has: {', '.join(known)}.")
    if isinstance(inject, optax.InjectStatefulHyperparamsState):
        new = inject._replace(hyperparams=hyper, hyperparams_states=sched_states)
    else:
        new = inject._replace(hyperparams=hyper)
    return _replace_inject(opt_state, new)
