r"""Learning-rate schedules with Keras names and semantics, as pure JAX functions.

Notation: :math:`t` is the optimizer step (``0`` for the first update, like Keras'
``optimizer.iterations``), :math:`\eta_0` the initial learning rate, :math:`T` the
number of decay steps, :math:`\gamma` a decay factor.

=========================  ===================================================================
ExponentialDecay           :math:`\eta_0\,\gamma^{t/T}` (``staircase``: :math:`\lfloor t/T\rfloor`)
InverseTimeDecay           :math:`\eta_0 / (1 + \gamma\,t/T)` (``staircase`` as above)
CosineDecay                :math:`\eta_0((1-\alpha)\tfrac12(1+\cos(\pi\min(t,T)/T))+\alpha)`
                           (Loshchilov & Hutter 2017, eq. 5 without restarts), with Keras'
                           optional linear warmup to ``warmup_target``
WarmupCosineDecay          linear warmup from ``initial_learning_rate`` (default ``0.0``) to
                           ``peak`` over ``warmup_steps``, then CosineDecay from ``peak``
                           over ``decay_steps`` more steps
PiecewiseConstantDecay     ``values[i]`` where :math:`i = \#\{b \in \text{boundaries}: t > b\}`
PolynomialDecay            :math:`(\eta_0-\eta_T)(1-\min(t,T)/T)^p + \eta_T` (``cycle``:
                           :math:`T \leftarrow T\lceil t/T\rceil`)
StepDecay                  :math:`\eta_0\,\gamma^{\lfloor t/s\rfloor}` (PyTorch ``StepLR``)
=========================  ===================================================================

Every schedule is a pure function ``fn(step, **args)``. :func:`get_schedule` binds the
arguments and returns ``step -> lr``. For population training the float arguments are
kept as arrays in optimizer state (:class:`InjectableSchedule`), so members with
different schedule arguments share one compiled program; boolean flags (``staircase``,
``cycle``) and the presence of an optional argument are structural.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from neural_jax.ir.training import SCHEDULES as DECLS
from neural_jax.ir.training.checks import signature
from neural_jax.ir.training.resolve import ResolvedSchedule, resolve_schedule

__all__ = [
    "SCHEDULES",
    "InjectableSchedule",
    "ScheduleArgsState",
    "get_schedule",
    "schedule_names",
    "schedule_signature",
]


def _f32(step: jax.typing.ArrayLike) -> jax.Array:
    return jnp.asarray(step, jnp.float32)


def exponential_decay(step, *, initial_learning_rate, decay_steps, decay_rate,
                      staircase=False):
    """Keras ``ExponentialDecay``: ``initial * decay_rate ** (step / decay_steps)``."""
    p = _f32(step) / decay_steps
    if staircase:
        p = jnp.floor(p)
    return initial_learning_rate * jnp.power(decay_rate, p)


def inverse_time_decay(step, *, initial_learning_rate, decay_steps, decay_rate,
                       staircase=False):
    """Keras ``InverseTimeDecay``: ``initial / (1 + decay_rate * step / decay_steps)``."""
    p = _f32(step) / decay_steps
    if staircase:
        p = jnp.floor(p)
    return initial_learning_rate / (1.0 + decay_rate * p)


def _cosine_part(t, decay_steps, alpha, start):
    fraction = jnp.minimum(t, decay_steps) / decay_steps
    cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * fraction))
    return start * ((1.0 - alpha) * cosine + alpha)


def cosine_decay(step, *, initial_learning_rate, decay_steps, alpha=0.0,
                 warmup_target=None, warmup_steps=0.0):
    """Keras ``CosineDecay``, including its optional linear warmup.

    Without ``warmup_target`` the rate decays from ``initial_learning_rate``. With it,
    the rate rises linearly from ``initial_learning_rate`` to ``warmup_target`` over
    ``warmup_steps`` and then decays from ``warmup_target`` over ``decay_steps``.
    """
    t = _f32(step)
    if warmup_target is None:
        return _cosine_part(t, decay_steps, alpha, initial_learning_rate)
    # Guarding the division keeps warmup_steps=0 NaN-free; that branch is unused then.
    warm = initial_learning_rate + (warmup_target - initial_learning_rate) * (
        t / jnp.maximum(warmup_steps, 1.0))
    decayed = _cosine_part(t - warmup_steps, decay_steps, alpha, warmup_target)
    return jnp.where(t < warmup_steps, warm, decayed)


def warmup_cosine_decay(step, *, peak, warmup_steps, decay_steps,
                        initial_learning_rate=0.0, alpha=0.0):
    """Linear warmup from ``initial_learning_rate`` (0.0) to ``peak``, then cosine decay.

    Equals Keras ``CosineDecay(initial_learning_rate, decay_steps, alpha,
    warmup_target=peak, warmup_steps=warmup_steps)``: the cosine phase lasts
    ``decay_steps`` steps after the warmup and ends at ``alpha * peak``.
    """
    return cosine_decay(step, initial_learning_rate=initial_learning_rate,
                        decay_steps=decay_steps, alpha=alpha, warmup_target=peak,
                        warmup_steps=warmup_steps)


def piecewise_constant_decay(step, *, boundaries, values):
    """Keras ``PiecewiseConstantDecay``: ``values[0]`` while ``step <= boundaries[0]``,
    ``values[i]`` while ``boundaries[i-1] < step <= boundaries[i]``, else ``values[-1]``."""
    index = jnp.sum(_f32(step) > jnp.asarray(boundaries))
    return jnp.asarray(values)[index]


def polynomial_decay(step, *, initial_learning_rate, decay_steps,
                     end_learning_rate=0.0001, power=1.0, cycle=False):
    """Keras ``PolynomialDecay``, with ``cycle`` restarting at multiples of decay_steps."""
    t = _f32(step)
    if cycle:
        multiplier = jnp.where(t == 0, 1.0, jnp.ceil(t / decay_steps))
        decay_steps = decay_steps * multiplier
    else:
        t = jnp.minimum(t, decay_steps)
    remaining = 1.0 - t / decay_steps
    return (initial_learning_rate - end_learning_rate) * jnp.power(
        remaining, power) + end_learning_rate


def step_decay(step, *, initial_learning_rate, step_size, gamma=0.1):
    """``initial_learning_rate * gamma ** floor(step / step_size)`` (PyTorch StepLR)."""
    return initial_learning_rate * jnp.power(gamma, jnp.floor(_f32(step) / step_size))


#: the pure function of each schedule the IR declares
#: (:data:`neural_jax.ir.training.SCHEDULES`), keyed by its canonical name
SCHEDULES: dict[str, Callable[..., jax.Array]] = {
    "ExponentialDecay": exponential_decay,
    "InverseTimeDecay": inverse_time_decay,
    "CosineDecay": cosine_decay,
    "WarmupCosineDecay": warmup_cosine_decay,
    "PiecewiseConstantDecay": piecewise_constant_decay,
    "PolynomialDecay": polynomial_decay,
    "StepDecay": step_decay,
}

def schedule_names() -> list[str]:
    """Display names of all declared schedules."""
    return list(DECLS)




def schedule_signature(name: str) -> list[tuple[str, Any]]:
    """Ordered ``(argument, default)`` pairs of a schedule, for binding positional args.

    Required arguments have the default ``inspect.Parameter.empty``.
    """
    return signature(DECLS, name, "schedule")


def get_schedule(name: str, args: Mapping[str, Any] | Sequence[Any] | None = None
                 ) -> Callable[[jax.typing.ArrayLike], jax.Array]:
    """Builds a ``step -> learning rate`` function from a name and Keras arguments.

    Args:
      name: Schedule name, case-insensitive (see :data:`SCHEDULES`).
      args: Keyword arguments (mapping) or positional arguments (sequence).

    Returns:
      A pure function of the step count; jit- and vmap-friendly.

    Raises:
      TrainConfigError: Unknown schedule or argument, missing argument, bad value.

    Example:
      >>> lr = get_schedule("ExponentialDecay", {"initial_learning_rate": 0.1,
      ...                   "decay_steps": 10, "decay_rate": 0.5})
      >>> round(float(lr(10)), 6)
      0.05
    """
    resolved = resolve_schedule(name, args)
    bound = {k: jnp.asarray(v) for k, v in resolved.dynamic.items()}
    fn, static = SCHEDULES[resolved.decl.name], resolved.static

    def schedule(step: jax.typing.ArrayLike) -> jax.Array:
        return fn(step, **bound, **static)

    schedule.__name__ = resolved.decl.name
    return schedule


class ScheduleArgsState(NamedTuple):
    """State of an :class:`InjectableSchedule`: step count and the float arguments."""

    count: jax.Array
    args: dict[str, jax.Array]


class InjectableSchedule(ResolvedSchedule):
    """A stateful schedule (``optax.StatefulSchedule``) whose arguments live in state.

    Used as the ``learning_rate`` of an ``optax.inject_hyperparams`` optimizer, it keeps
    ``count`` and the float schedule arguments in ``opt_state.hyperparams_states``, so a
    population can hold different arguments per member (replace them with
    :func:`neural_jax.train.set_hyperparams`) and still run one compiled program.
    """

    def __init__(self, resolved: ResolvedSchedule) -> None:
        super().__init__(resolved.decl, resolved.dynamic, resolved.static)
        self.fn = SCHEDULES[resolved.decl.name]

    def init(self) -> ScheduleArgsState:
        """Step 0 and the configured arguments as float32 arrays."""
        return ScheduleArgsState(
            count=jnp.zeros([], jnp.int32),
            args={k: jnp.asarray(v, jnp.float32) for k, v in self.dynamic.items()})

    def update(self, state: ScheduleArgsState, **extra_args) -> ScheduleArgsState:
        """Advances the step count, keeping the arguments."""
        del extra_args
        count = jnp.minimum(state.count, jnp.iinfo(jnp.int32).max - 1) + 1
        return ScheduleArgsState(count=count, args=state.args)

    def __call__(self, state: ScheduleArgsState, **extra_args) -> jax.Array:
        """The learning rate for the current step."""
        del extra_args
        return self.fn(state.count, **state.args, **self.static)
