"""Where text came from: a :class:`Source` and the :class:`Span` of a region in it.

Every syntax-tree node and IR node carries a span, so that errors point at the right place
and :func:`~neural_jax.dsl.generate_optimized_dsl` can substitute text in place. Spans never
take part in equality.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NO_SPAN", "Source", "Span"]


@dataclass(frozen=True)
class Span:
    """A region of the source: ``text[start:end]``, starting at ``line``:``column``."""

    start: int = 0
    end: int = 0
    line: int = 0
    column: int = 0

    @property
    def known(self) -> bool:
        """Whether the span points at real text (line 0 means no place)."""
        return self.line > 0


NO_SPAN = Span()


@dataclass(frozen=True)
class Source:
    """The text being read and its name, for error messages."""

    text: str
    name: str = "<string>"

    def line_text(self, line: int) -> str:
        """The text of 1-based ``line`` ('' when out of range)."""
        lines = self.text.split("\n")
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        col = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return line, col

    def error(self, cls, span: Span | None, message: str, hint: str = "") -> Exception:
        """Builds an error of class ``cls`` (a ``NeuralError``) placed at ``span``."""
        if span is None or not span.known:
            return cls(message, hint=hint)
        return cls(
            message,
            line=span.line,
            column=span.column,
            source_line=self.line_text(span.line),
            hint=hint,
        )
