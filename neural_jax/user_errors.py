"""How the ``neural`` command and the absl launchers show errors and warnings a user caused.

A user error (bad DSL, an unknown strategy, a missing file, a dataset that does not fit) is
shown as its message alone, one line (plus the caret and hint of a DSL error), never with a
traceback of ours; anything else is a bug and keeps its traceback. Warnings print as
``warning: ...``, not with our source path and line.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import TextIO

__all__ = ["install_warning_format", "user_message"]

#: modules whose exceptions are the user's doing (typed errors that say what to do)
_OUR_MODULES = ("neural_jax", "search", "bridges")


def user_message(exc: BaseException) -> tuple[str, int] | None:
    """The message and exit status for an error a user caused, or None for a bug.

    Args:
      exc: the exception that ended a command.

    Returns:
      ``(text, status)``: the text to print on standard error and the exit status (1; 2
      for an unreadable JSON value, as for other bad arguments; 130 for Ctrl-C).
    """
    from neural_jax.dsl.errors import NeuralError

    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", 130
    if isinstance(exc, NeuralError):
        return exc.format(), 1
    if isinstance(exc, FileNotFoundError):
        return f"error: no such file: {exc.filename or exc}", 1
    if isinstance(exc, IsADirectoryError):
        return f"error: cannot read {exc.filename}: it is a directory, not a file", 1
    if isinstance(exc, OSError) and exc.filename:
        return f"error: cannot read {exc.filename}: {exc.strerror}", 1
    if isinstance(exc, OSError) and _raised_by_us(exc):
        return f"error: {exc.strerror or exc}", 1
    if isinstance(exc, json.JSONDecodeError):
        return f"error: not valid JSON: {exc}", 2
    if isinstance(exc, UnicodeDecodeError):
        return f"error: the file is not UTF-8 text ({exc.reason} at byte {exc.start})", 1
    if isinstance(exc, (ValueError, TypeError, LookupError, RuntimeError)) and type(
            exc).__module__.split(".")[0] in _OUR_MODULES:
        return f"error: {exc}", 1
    if type(exc) in (ValueError, TypeError) and _raised_by_us(exc):
        # our own argument checks raise plain ValueErrors with a message that says what to
        # do; the same error from deep inside JAX or numpy is a bug and keeps its traceback
        return f"error: {exc}", 1
    return None


def _raised_by_us(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc``'s traceback is in one of our packages."""
    import pathlib

    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    path = pathlib.Path(tb.tb_frame.f_code.co_filename)
    root = pathlib.Path(__file__).resolve().parents[1]
    return any(path.is_relative_to(root / pkg) for pkg in _OUR_MODULES)


def _show(message, category, filename, lineno, file: TextIO | None = None, line=None) -> None:
    stream = file if file is not None else sys.stderr
    try:
        stream.write(f"warning: {message}\n")
    except (OSError, ValueError):  # a closed stream: nowhere to warn
        pass


def install_warning_format() -> None:
    """Prints warnings as ``warning: <message>`` (no path, line or category) from now on."""
    warnings.showwarning = _show
