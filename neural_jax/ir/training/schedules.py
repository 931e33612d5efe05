"""The learning-rate schedules a network may name (SPEC §3), declared once for every backend.

Each entry is the Keras-style signature in positional order. ``arg_aliases`` are the other
argument spellings every backend accepts (``StepDecay(initial=...)``, optax's
``WarmupCosineDecay(init_value=...)``). An argument with default ``None`` is optional; flags
(``staircase``, ``cycle``), the presence of an optional argument and the lengths of
``PiecewiseConstantDecay``'s lists fix the compiled program, every other argument may differ
per population member.
"""

from __future__ import annotations

from dataclasses import dataclass

from neural_jax.ir.params import ParamSpec as P
from neural_jax.ir.training.decl import TrainingDecl

__all__ = ["SCHEDULES", "ScheduleDecl"]


@dataclass(frozen=True)
class ScheduleDecl(TrainingDecl):
    """A learning-rate schedule.

    Attributes:
      vectors: arguments that are lists of numbers (their lengths are structural).
    """

    vectors: frozenset[str] = frozenset()


_LR0 = P("initial_learning_rate", "nonneg")
_STEPS = P("decay_steps", "pos_int")


def _sched(name: str, *params: P, arg_aliases=None) -> ScheduleDecl:
    return ScheduleDecl(
        name, params, arg_aliases=dict(arg_aliases or {}),
        structural=frozenset(p.name for p in params if p.kind in ("bool", "numbers")),
        vectors=frozenset(p.name for p in params if p.kind == "numbers"))


SCHEDULES: dict[str, ScheduleDecl] = {d.name: d for d in (
    _sched("ExponentialDecay", _LR0, _STEPS, P("decay_rate", "positive"),
           P("staircase", "bool", False)),
    _sched("InverseTimeDecay", _LR0, _STEPS, P("decay_rate", "nonneg"),
           P("staircase", "bool", False)),
    _sched("CosineDecay", _LR0, _STEPS, P("alpha", "unit", 0.0),
           P("warmup_target", "nonneg", None), P("warmup_steps", "nonneg_int", 0)),
    _sched("WarmupCosineDecay", P("peak", "nonneg"), P("warmup_steps", "nonneg_int"), _STEPS,
           P("alpha", "unit", 0.0), P("initial_learning_rate", "nonneg", 0.0),
           arg_aliases={"peak_learning_rate": "peak", "warmup_target": "peak",
                        "init_value": "initial_learning_rate"}),
    _sched("PiecewiseConstantDecay", P("boundaries", "numbers"), P("values", "numbers")),
    _sched("PolynomialDecay", _LR0, _STEPS, P("end_learning_rate", "nonneg", 0.0001),
           P("power", "nonneg", 1.0), P("cycle", "bool", False)),
    _sched("StepDecay", _LR0, P("step_size", "pos_int"), P("gamma", "positive", 0.1),
           arg_aliases={"initial": "initial_learning_rate"}),
)}
