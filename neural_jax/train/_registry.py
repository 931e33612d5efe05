"""Shared pieces of the training registries: the config error and name lookup.

Every registry in :mod:`neural_jax.train` is a plain ``name -> callable`` dict whose
keys are lower-case. Lookups are case-insensitive, so ``"Adam"``, ``"adam"`` and
``"ADAM"`` all name the same optimizer, and an unknown name raises
:class:`TrainConfigError` with the closest known names.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from neural_jax.core.errors import MessageError

__all__ = ["TrainConfigError"]

T = TypeVar("T")


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


def lookup(registry: Mapping[str, T], name: str, kind: str,
           display: Iterable[str] | None = None) -> tuple[str, T]:
    """Finds ``name`` in a registry with lower-case keys, ignoring case.

    Args:
      registry: Mapping from lower-case names to entries.
      name: The name a config or the DSL gives.
      kind: What the registry holds, for the error message ("optimizer", ...).
      display: Names to list in the error message (default: the registry keys).

    Returns:
      The lower-case key and the entry.

    Raises:
      TrainConfigError: If ``name`` is not a string or not in the registry.
    """
    shown = sorted(display if display is not None else registry)
    if not isinstance(name, str):
        raise TrainConfigError(
            f"{kind} name must be a string, got {type(name).__name__} {name!r}.")
    key = name.strip().lower()
    if key not in registry:
        raise TrainConfigError(
            f"Unknown {kind} '{name}'.{did_you_mean(name, shown)} "
            f"Known {kind}s: {', '.join(shown)}.")
    return key, registry[key]


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
