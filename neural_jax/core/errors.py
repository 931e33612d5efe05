"""The errors a user can cause: one root, :class:`NeuralError`, with a place and a hint.

Every error raised while reading, lowering or checking a `.neural` file is a
:class:`NeuralError` that carries line, column, the source line and a hint; nothing else may
escape the front end (SPEC §5). Every other error a user can cause (a bad flag, training
setting, dataset or weight file) derives from :class:`NeuralError` too, usually through
:class:`MessageError`, next to the builtin error it used to be (``ValueError``...), so that
the command line shows each as its message alone and ``except ValueError`` keeps working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ArgumentError",
    "MessageError",
    "NeuralError",
    "NeuralSyntaxError",
    "NeuralValidationError",
    "NeuralWarning",
    "did_you_mean",
]


#: the most characters of a source line an error shows (a window around the column)
SHOWN_WIDTH = 100


class NeuralWarning(UserWarning):
    """A problem that does not stop the run (e.g. a search-space key that binds to nothing)."""


class NeuralError(Exception):
    """Base class of every error a user can cause (DSL text, flags, settings, files).

    Attributes:
      message: what is wrong, one line.
      line: 1-based line of the offending text (0 when the problem has no place).
      column: 1-based column.
      source_line: the text of that line ('' when unknown).
      hint: one line telling what to do.
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        line: int = 0,
        column: int = 0,
        source_line: str = "",
        hint: str = "",
    ) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.source_line = source_line
        self.hint = hint
        super().__init__(self._text())

    def _text(self) -> str:
        """What ``str()`` of the error gives (the full message, see :meth:`format`)."""
        return self.format()

    def _window(self) -> tuple[str, int]:
        """The source line (clipped to :data:`SHOWN_WIDTH` around the column) and the
        column's index in it."""
        text, col = self.source_line, max(self.column - 1, 0)
        if len(text) <= SHOWN_WIDTH:
            return text, col
        start = max(0, min(col - SHOWN_WIDTH // 2, len(text) - SHOWN_WIDTH))
        end = start + SHOWN_WIDTH
        head, tail = ("..." if start else ""), ("..." if end < len(text) else "")
        return head + text[start:end] + tail, col - start + len(head)

    @property
    def caret(self) -> str:
        """A line with a caret under the offending column."""
        return self._caret(self.source_line, self.column - 1)

    @staticmethod
    def _caret(text: str, col: int) -> str:
        if not text or col < 0:
            return ""
        return "".join(c if c == "\t" else " " for c in text[:col]) + "^"

    def format(self) -> str:
        """The full, multi-line message shown to the user."""
        where = f"line {self.line}, column {self.column}: " if self.line else ""
        out = [f"{self.kind}: {where}{self.message}"]
        if self.source_line:
            text, col = self._window()  # a long line: the part around the column
            shown = "".join(c if c.isprintable() or c == "\t" else "?" for c in text)
            out.append("    " + shown)
            out.append("    " + (self._caret(text, col) if self.column > 0 else ""))
        if self.hint:
            out.append(f"hint: {self.hint}")
        return "\n".join(out)

    def __reduce__(self):  # keeps errors picklable across worker processes
        return _rebuild, (type(self), self.args, dict(self.__dict__))


def _rebuild(cls: type, args: tuple, state: dict) -> NeuralError:
    """An error of class ``cls`` again, without calling its (maybe narrower) ``__init__``."""
    err = cls.__new__(cls)
    super(NeuralError, err).__init__(*args)  # the builtin base's init, as __init__ calls it
    err.__dict__.update(state)
    return err


class NeuralSyntaxError(NeuralError, SyntaxError):
    """The text does not parse."""

    kind = "syntax error"

    def __init__(self, message: str, **kw) -> None:
        NeuralError.__init__(self, message, **kw)

    def __str__(self) -> str:  # SyntaxError has its own __str__
        return self.format()


class NeuralValidationError(NeuralError, ValueError):
    """The text parses but means nothing (bad value, bad shape, unknown name...)."""

    kind = "validation error"


class MessageError(NeuralError):
    """A user error of the Python API whose ``str()`` is its message alone.

    Subclasses stand for errors that were builtin ones (``ValueError``, ``RuntimeError``...):
    ``str(err)`` is the message, as it was, and :meth:`format` (what the command line shows)
    is ``error: <message>`` and the hint.
    """

    def _text(self) -> str:
        return self.message


class ArgumentError(MessageError, ValueError):
    """A bad value of a flag or of an argument of the Python API (a count below 1, two
    options that contradict each other); the message says what to give."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Returns ' (did you mean X?)'-style text, or '' when nothing is close."""
    cands = list(candidates)
    lower = {c.lower(): c for c in cands}
    close = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
    return f"did you mean '{lower[close[0]]}'?" if close else ""
