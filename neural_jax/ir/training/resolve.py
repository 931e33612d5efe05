"""Optimizer and schedule settings given as Python values, checked and split for a backend.

:func:`resolve_schedule` and :func:`resolve_optimizer` check a config against its
declaration (names, aliases, defaults, domains) and split it into what may differ per
population member (floats, lists of floats) and what fixes the compiled program (flags,
numbers used only at initialisation, which optional arguments are given, list lengths).
:func:`optimizer_hyperparams` and :func:`optimizer_structure` are the two halves as the
population engine and the bridges use them; :func:`resolve_loss` checks a loss. Pure
Python: the JAX trainer, the PyTorch and TensorFlow bridges and the code generators all
read these, and none needs the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from neural_jax.ir.training.checks import (
    TrainConfigError,
    as_bool,
    as_float,
    check_arg_names,
    check_number,
    find,
)
from neural_jax.ir.training.losses import LOSSES, logit_activation
from neural_jax.ir.training.optimizers import CLIP_ARGS, OPTIMIZERS, OptimizerDecl
from neural_jax.ir.training.schedules import SCHEDULES, ScheduleDecl

__all__ = ["ResolvedLoss", "ResolvedOptimizer", "ResolvedSchedule", "optimizer_hyperparams",
           "optimizer_structure", "resolve_loss", "resolve_optimizer", "resolve_schedule"]

Vector = tuple[float, ...]


class ResolvedSchedule:
    """A schedule with checked arguments.

    Attributes:
      decl: its declaration.
      dynamic: float arguments, and lists of floats (tuples), that may vary per member.
      static: flags and absent optional arguments.
    """

    def __init__(self, decl: ScheduleDecl, dynamic: Mapping[str, float | Vector],
                 static: Mapping[str, Any]) -> None:
        self.decl = decl
        self.dynamic = dict(dynamic)
        self.static = dict(static)


def _vector(value: Any, name: str, where: str) -> Vector:
    if hasattr(value, "reshape") and hasattr(value, "tolist"):  # a numpy / jax array
        value = value.reshape(-1).tolist()
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise TrainConfigError(f"{where}: '{name}' must be a list of numbers, got {value!r}.")
    return tuple(as_float(v, name, where) for v in value)


def _check_piecewise(args: Mapping[str, Any]) -> None:
    boundaries, values = args["boundaries"], args["values"]
    if len(values) != len(boundaries) + 1:
        raise TrainConfigError(
            "PiecewiseConstantDecay: 'values' must have one more entry than "
            f"'boundaries', got {len(values)} values for {len(boundaries)} boundaries.")
    if any(b <= a for a, b in zip(boundaries, boundaries[1:], strict=False)):
        raise TrainConfigError(
            "PiecewiseConstantDecay: 'boundaries' must be strictly increasing, "
            f"got {list(boundaries)}.")
    if any(v < 0 for v in values):
        raise TrainConfigError(
            f"PiecewiseConstantDecay: 'values' must be >= 0, got {list(values)}.")


#: cross-argument checks of the resolved arguments
_CHECKS = {"PiecewiseConstantDecay": _check_piecewise}


def _given(decl: ScheduleDecl, args: Any) -> dict[str, Any]:
    where, names = decl.name, list(decl.arg_names)
    if args is None:
        return {}
    if isinstance(args, Mapping):
        given: dict[str, Any] = {}
        for key, value in args.items():
            canonical = decl.arg_aliases.get(key, key)
            check_arg_names([canonical], names, where)
            if canonical in given:
                raise TrainConfigError(f"{where}: '{canonical}' is given twice.")
            given[canonical] = value
        return given
    if isinstance(args, Sequence) and not isinstance(args, str):
        if len(args) > len(names):
            raise TrainConfigError(
                f"{where} takes at most {len(names)} arguments ({', '.join(names)}), "
                f"got {len(args)}.")
        return dict(zip(names, args, strict=False))
    raise TrainConfigError(
        f"{where}: arguments must be a mapping of names to values, got {args!r}.")


def resolve_schedule(name: str, args: Mapping[str, Any] | Sequence[Any] | None = None
                     ) -> ResolvedSchedule:
    """Checks schedule arguments and splits them into dynamic and static parts.

    Args:
      name: schedule name (any case), e.g. ``"ExponentialDecay"``.
      args: keyword arguments (argument aliases allowed), or positional arguments in the
        declared order.

    Raises:
      TrainConfigError: unknown schedule or argument, missing argument, bad value.
    """
    decl = find(SCHEDULES, name, "schedule")
    where = decl.name
    given = _given(decl, args)
    dynamic: dict[str, float | Vector] = {}
    static: dict[str, Any] = {}
    for p in decl.params:
        if p.name not in given and p.required:
            raise TrainConfigError(
                f"{where} needs '{p.name}' (arguments: {', '.join(decl.arg_names)}).")
        value = given.get(p.name, p.default)
        if p.kind == "bool":
            static[p.name] = as_bool(value, p.name, where)
        elif value is None and p.default is None:  # an optional argument left out
            static[p.name] = None
        elif p.name in decl.vectors:
            dynamic[p.name] = _vector(value, p.name, where)
        else:
            dynamic[p.name] = check_number(p, value, where)
    check = _CHECKS.get(decl.name)
    if check is not None:
        check({**dynamic, **static})
    return ResolvedSchedule(decl, dynamic, static)


@dataclass(frozen=True)
class ResolvedOptimizer:
    """An optimizer with checked arguments.

    Attributes:
      decl: its declaration.
      floats: float arguments other than the learning rate (per member).
      flags: structural values (flags, initial_accumulator_value).
      lr: a float, a :class:`ResolvedSchedule` or a callable of the step.
    """

    decl: OptimizerDecl
    floats: dict[str, float]
    flags: dict[str, Any]
    lr: Any


def _resolve_lr(value: Any, where: str, spec) -> Any:
    if isinstance(value, Mapping):
        check_arg_names(value, ("schedule", "args"), f"{where} learning_rate schedule")
        if "schedule" not in value:
            raise TrainConfigError(
                f"{where}: a learning_rate mapping needs a 'schedule' name, e.g. "
                "{'schedule': 'ExponentialDecay', 'args': {...}}.")
        return resolve_schedule(value["schedule"], value.get("args"))
    if isinstance(value, ResolvedSchedule) or callable(value):
        return value  # a callable works in JAX, its arguments traced in
    return check_number(spec, value, where)


def resolve_optimizer(name: str, args: Mapping[str, Any] | None = None) -> ResolvedOptimizer:
    """Checks an optimizer's Keras arguments and splits them (see the module docstring).

    Raises:
      TrainConfigError: unknown optimizer, schedule or argument (with the closest name), a
        value of the wrong type or out of its domain, two clipping arguments.
    """
    decl = find(OPTIMIZERS, name, "optimizer")
    where = decl.name
    args = {} if args is None else args
    if not isinstance(args, Mapping):
        raise TrainConfigError(
            f"{where}: arguments must be a mapping of Keras argument names to values, "
            f"got {args!r}.")
    check_arg_names(args, decl.arg_names, where)
    floats: dict[str, float] = {}
    flags: dict[str, Any] = {}
    lr: Any = None
    for p in decl.params:
        value = args.get(p.name, p.default)
        if p.name == "learning_rate":
            lr = _resolve_lr(value, where, p)
        elif p.kind == "bool":
            flags[p.name] = as_bool(value, p.name, where)
        elif value is None:
            if p.default is not None:
                raise TrainConfigError(f"{where}: '{p.name}' must be a number.")
        else:  # structural numbers (used only at init) are flags, the others per member
            (flags if p.name in decl.structural else floats)[p.name] = check_number(
                p, value, where)
    clips = [c for c in CLIP_ARGS if c in floats]
    if len(clips) > 1:
        raise TrainConfigError(
            f"{where}: only one of clipnorm, clipvalue and global_clipnorm may be set, "
            f"got {', '.join(clips)}.")
    return ResolvedOptimizer(decl, floats, flags, lr)


def optimizer_hyperparams(name: str, args: Mapping[str, Any] | None = None
                          ) -> dict[str, Any]:
    """The per-member values of a config, under the names ``set_hyperparams`` takes.

    Floats for optimizer arguments; for a schedule, ``"learning_rate.<arg>"`` entries
    (a float or a tuple of floats) instead of ``"learning_rate"``. Defaults are filled in.
    """
    resolved = resolve_optimizer(name, args)
    values: dict[str, Any] = {}
    if isinstance(resolved.lr, ResolvedSchedule):
        values.update({f"learning_rate.{k}": v for k, v in resolved.lr.dynamic.items()})
    elif isinstance(resolved.lr, float):
        values["learning_rate"] = resolved.lr
    values.update(resolved.floats)
    return values


def optimizer_structure(name: str, args: Mapping[str, Any] | None = None) -> tuple:
    """A hashable key: configs with equal keys share one compiled update.

    It holds the optimizer, its flags and static numbers, which optional float
    arguments are present, and the schedule with its flags and list lengths.
    """
    resolved = resolve_optimizer(name, args)
    lr = resolved.lr
    if isinstance(lr, ResolvedSchedule):
        lr_key: Any = (lr.decl.name, tuple(sorted(lr.static.items())),
                       tuple(sorted((k, (len(v),) if isinstance(v, tuple) else ())
                                    for k, v in lr.dynamic.items())))
    elif isinstance(lr, float):
        lr_key = "constant"
    else:
        lr_key = ("callable", id(lr))
    return (resolved.decl.name, tuple(sorted(resolved.flags.items())),
            tuple(sorted(resolved.floats)), lr_key)


@dataclass(frozen=True)
class ResolvedLoss:
    """A loss with checked parameters.

    Attributes:
      name: the canonical name.
      params: its float parameters (``label_smoothing``, ``delta``), defaults filled in.
      final_activation: ``"softmax"``/``"sigmoid"`` when the loss applies it to the
        pre-activation logits it receives, else None.
      from_logits: whether outputs without such an activation are logits.
    """

    name: str
    params: dict[str, float]
    final_activation: str | None
    from_logits: bool


def resolve_loss(name: str, *, final_activation: str | None = None,
                 from_logits: bool | None = None, **params: Any) -> ResolvedLoss:
    """Checks a loss and its parameters against the declaration.

    Raises:
      TrainConfigError: unknown loss or parameter, a value out of its domain, or
        ``from_logits`` where it cannot apply.
    """
    decl = find(LOSSES, name, "loss")
    key = decl.name
    activation = logit_activation(final_activation)
    if from_logits is not None:
        from_logits = as_bool(from_logits, "from_logits", key)
        if from_logits and not decl.probabilistic:
            raise TrainConfigError(
                f"{key} compares outputs with targets directly and has no from_logits; "
                "drop the argument.")
        if from_logits and activation is not None:
            raise TrainConfigError(
                f"{key}: from_logits=True contradicts the final activation "
                f"'{activation}'; the loss already receives that layer's logits. "
                "Drop from_logits, or remove the activation from the last layer.")
    floats = [p for p in decl.params if p.name != "from_logits"]
    check_arg_names(params, [p.name for p in floats], f"Loss '{key}'")
    values = {p.name: check_number(p, params.get(p.name, p.default), key) for p in floats}
    return ResolvedLoss(key, values, activation, bool(from_logits))
