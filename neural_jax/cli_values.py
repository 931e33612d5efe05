"""Argument types of the ``neural`` command: every value is checked while the command line is
read, so a bad one is a one-line error naming the flag before anything loads or trains.

Each function is an ``argparse`` ``type=``: it returns the value (canonical where there is a
canonical form) or raises :class:`argparse.ArgumentTypeError`, which argparse shows as
``neural hpo: error: argument --epochs: ...`` with exit status 2. The rules for numbers are
:mod:`neural_jax.engine_config`'s, the ones a search's :class:`EngineConfig` is checked by.
"""

from __future__ import annotations

import argparse
import json

from neural_jax.engine_config import SeedRange, positive_number_problem, whole_number_problem

__all__ = ["json_object", "non_negative_int", "positive_float", "positive_int", "scheduler",
           "search_method"]


def _whole_number(text: str, floor: str, *bounds: int | None) -> int:
    """``text`` as a whole number within ``bounds`` (:func:`whole_number_problem`'s)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number {floor}, got {text!r}") from None
    problem = whole_number_problem(value, *bounds)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1 (``--epochs``, ``--population``, ``--workers``, ``--n-trials``...)."""
    return _whole_number(text, ">= 1")


def non_negative_int(text: str) -> int:
    """A whole number from 0 to 2**32 - 1 (``--seed``)."""
    return _whole_number(text, ">= 0", *SeedRange)


def positive_float(text: str) -> float:
    """A finite number > 0 (``--timeout``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if positive_number_problem(value) is not None:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def _registry_error(e) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{e.message}; {e.hint}" if e.hint else e.message)


def search_method(text: str) -> str:
    """A method name of :data:`neural_jax.methods.METHODS` (or an evosax algorithm)."""
    from neural_jax.methods import UnknownMethodError, resolve_method

    try:
        return resolve_method(text)[0]
    except UnknownMethodError as e:
        raise _registry_error(e) from None


def scheduler(text: str) -> str:
    """A scheduler name of :data:`neural_jax.methods.SCHEDULERS`."""
    from neural_jax.methods import UnknownMethodError, resolve_scheduler

    try:
        return resolve_scheduler(text)
    except UnknownMethodError as e:
        raise _registry_error(e) from None


#: a ``--space`` value that works as written (the hints of search-space errors show it)
SPACE_EXAMPLE = (
    '{"optimizer.learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "log": true}}'
)


def json_object(text: str) -> str:
    """JSON text of an object (``--space``); returned unchanged, parsed by the command."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"must be a JSON object of search values by path, e.g. "
            f"'{SPACE_EXAMPLE}', got {type(value).__name__} {text}")
    return text
