"""Checking training settings given as Python values: the config error, lookup and checks.

A config (``{"learning_rate": 1e-3}``, a loss name and its parameters) reaches the trainer
and the bridges without passing the DSL. :func:`find` resolves a name the way the DSL does
(any case, or an alias) and an unknown name raises :class:`TrainConfigError` with the
closest known names; :func:`check_number` checks a value against its declared domain. Every
implementation table in :mod:`neural_jax.train` and ``bridges`` is a plain dict keyed by
the canonical names of :mod:`neural_jax.ir.training`. Pure Python.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

from neural_jax.core.errors import MessageError
from neural_jax.ir.params import REQUIRED, ParamSpec
from neural_jax.ir.training.decl import TrainingDecl
from neural_jax.ir.training.decl import lookup as ir_lookup

__all__ = ["TrainConfigError", "as_bool", "as_float", "check_arg_names", "check_number",
           "check_range", "did_you_mean", "find", "signature"]


class TrainConfigError(MessageError, ValueError):
    """A loss, metric, optimizer or schedule configuration that cannot be used.

    Raised for unknown names, unknown or missing arguments and out-of-range values.
    The message names the offending item and says what would be accepted.
    """


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Returns a ``" Did you mean 'x'?"`` suffix for ``name``, or an empty string."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
    if not close:
        return ""
    quoted = [f"'{lowered[c]}'" for c in close]
    quoted = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f" Did you mean {quoted}?"


def find(decls: Mapping[str, TrainingDecl], name: Any, kind: str) -> TrainingDecl:
    """The IR declaration that ``name`` spells (any case, or an alias).

    Args:
      decls: A registry of :mod:`neural_jax.ir.training`, keyed by canonical name.
      name: The name a config or the DSL gives.
      kind: What the registry holds, for the error message ("optimizer", ...).

    Raises:
      TrainConfigError: If ``name`` is not a string or names nothing in ``decls``.
    """
    if not isinstance(name, str):
        raise TrainConfigError(
            f"{kind} name must be a string, got {type(name).__name__} {name!r}.")
    key = ir_lookup(decls, name)
    if key is None:
        shown = sorted(decls)
        raise TrainConfigError(
            f"Unknown {kind} '{name}'.{did_you_mean(name, shown)} "
            f"Known {kind}s: {', '.join(shown)}.")
    return decls[key]


def signature(decls: Mapping[str, TrainingDecl], name: Any, kind: str) -> list[tuple[str, Any]]:
    """Ordered ``(argument, default)`` pairs of ``name``, for binding positional arguments.

    Required arguments have the default ``inspect.Parameter.empty``.

    Raises:
      TrainConfigError: If ``name`` names nothing in ``decls`` (see :func:`find`).
    """
    return [(p.name, inspect.Parameter.empty if p.default is REQUIRED else p.default)
            for p in find(decls, name, kind).params]


#: the interval of each numeric domain of :mod:`neural_jax.ir.params`, as
#: :func:`check_range` takes it
_BOUNDS: dict[str, dict[str, Any]] = {
    "positive": {"low": 0.0, "low_open": True},
    "nonneg": {"low": 0.0},
    "rate": {"low": 0.0, "high": 1.0, "high_open": True},
    "unit": {"low": 0.0, "high": 1.0},
    "pos_int": {"low": 1.0},
    "nonneg_int": {"low": 0.0},
}


def check_number(spec: ParamSpec, value: Any, where: str) -> float:
    """``value`` as a float inside the domain the IR declares for ``spec``."""
    number = as_float(value, spec.name, where)
    return check_range(number, spec.name, where, **_BOUNDS.get(spec.kind, {}))


def check_arg_names(given: Iterable[str], allowed: Iterable[str], where: str) -> None:
    """Raises :class:`TrainConfigError` for the first argument not in ``allowed``."""
    allowed = list(allowed)
    for arg in given:
        if arg not in allowed:
            raise TrainConfigError(
                f"{where} has no argument '{arg}'.{did_you_mean(arg, allowed)} "
                f"Its arguments: {', '.join(allowed) or '(none)'}.")


def as_float(value: Any, name: str, where: str) -> float:
    """Converts a plain number to ``float``, rejecting bools, strings and NaN/inf."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if hasattr(value, "shape") and getattr(value, "shape", None) == ():
            value = value.item()  # a numpy / jax scalar
            return as_float(value, name, where)
        raise TrainConfigError(
            f"{where}: '{name}' must be a number, got {type(value).__name__} {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise TrainConfigError(f"{where}: '{name}' must be finite, got {value}.")
    return value


def as_bool(value: Any, name: str, where: str) -> bool:
    """Accepts only real booleans (``True``/``False``) for flag arguments."""
    if not isinstance(value, bool):
        raise TrainConfigError(
            f"{where}: '{name}' must be True or False, got {value!r}.")
    return value


def check_range(value: float, name: str, where: str, *, low: float | None = None,
                high: float | None = None, low_open: bool = False,
                high_open: bool = False) -> float:
    """Checks ``value`` against an interval and returns it.

    Args:
      value: The number to check.
      name: Argument name, for the message.
      where: The optimizer / schedule / loss the argument belongs to.
      low: Lower bound, or None for unbounded.
      high: Upper bound, or None for unbounded.
      low_open: Whether the lower bound is excluded.
      high_open: Whether the upper bound is excluded.

    Returns:
      ``value`` unchanged.

    Raises:
      TrainConfigError: If the value is outside the interval.
    """
    bad_low = low is not None and (value <= low if low_open else value < low)
    bad_high = high is not None and (value >= high if high_open else value > high)
    if bad_low or bad_high:
        left = "-inf" if low is None else f"{low:g}"
        right = "inf" if high is None else f"{high:g}"
        interval = (("(" if low_open or low is None else "[") + f"{left}, {right}"
                    + (")" if high_open or high is None else "]"))
        raise TrainConfigError(
            f"{where}: '{name}' must be in {interval}, got {value:g}.")
    return value
