"""How the ``neural`` command and the absl launchers show errors and warnings a user caused.

A user error (bad DSL, an unknown strategy, a missing file, a dataset that does not fit) is
recognised by its class and shown as its message alone, one line (plus the caret and hint of
a DSL error), never with a traceback of ours; anything else is a bug and keeps its
traceback. Warnings print as ``warning: ...``, not with our source path and line.
"""

from __future__ import annotations

import contextlib
import json
import sys
import warnings
from typing import TextIO

__all__ = ["install_warning_format", "user_message"]


def user_message(exc: BaseException) -> tuple[str, int] | None:
    """The message and exit status for an error a user caused, or None for a bug.

    A user error is a :class:`~neural_jax.core.errors.NeuralError` (every typed error of
    ``neural_jax`` and ``bridges``), a :class:`search.errors.SearchError`, a file that cannot
    be read, a JSON value that does not parse, a file that is not UTF-8 text, or Ctrl-C.

    Args:
      exc: the exception that ended a command.

    Returns:
      ``(text, status)``: the text to print on standard error and the exit status (1; 2
      for an unreadable JSON value, as for other bad arguments; 130 for Ctrl-C).
    """
    from neural_jax.core.errors import NeuralError
    from search.errors import SearchError

    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", 130
    if isinstance(exc, NeuralError):
        return exc.format(), 1
    if isinstance(exc, SearchError):
        return f"error: {exc}", 1
    if isinstance(exc, FileNotFoundError):
        return f"error: no such file: {exc.filename or exc}", 1
    if isinstance(exc, IsADirectoryError):
        return f"error: cannot read {exc.filename}: it is a directory, not a file", 1
    if isinstance(exc, OSError) and exc.filename:
        return f"error: cannot read {exc.filename}: {exc.strerror}", 1
    if isinstance(exc, json.JSONDecodeError):
        return f"error: not valid JSON: {exc}", 2
    if isinstance(exc, UnicodeDecodeError):
        return f"error: the file is not UTF-8 text ({exc.reason} at byte {exc.start})", 1
    return None


def _show(message, category, filename, lineno, file: TextIO | None = None, line=None) -> None:
    stream = file if file is not None else sys.stderr
    with contextlib.suppress(OSError, ValueError):  # a closed stream: nowhere to warn
        stream.write(f"warning: {message}\n")


def install_warning_format() -> None:
    """Prints warnings as ``warning: <message>`` (no path, line or category) from now on."""
    warnings.showwarning = _show
