"""The syntax tree of a `.neural` file: what was written, where, before any meaning is given.

Every node carries a :class:`Span` (byte offsets into the source and 1-based line/column), so
that errors point at the right place and :func:`generate_optimized_dsl` can substitute text
in place. Spans never take part in equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

__all__ = [
    "Span",
    "Source",
    "Literal",
    "Name",
    "TupleNode",
    "ListNode",
    "Call",
    "Arg",
    "Item",
    "Group",
    "Section",
    "BlockSection",
    "NetworkNode",
    "MacroNode",
    "FileNode",
    "Node",
]


@dataclass(frozen=True)
class Span:
    """A region of the source: ``text[start:end]``, starting at ``line``:``column``."""

    start: int = 0
    end: int = 0
    line: int = 0
    column: int = 0

    @property
    def known(self) -> bool:
        return self.line > 0


NO_SPAN = Span()


@dataclass(frozen=True)
class Source:
    """The text being read and its name, for error messages."""

    text: str
    name: str = "<string>"

    def line_text(self, line: int) -> str:
        lines = self.text.split("\n")
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        col = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return line, col

    def error(self, cls, span: Span | None, message: str, hint: str = ""):
        """Builds an error of class ``cls`` placed at ``span``."""
        if span is None or not span.known:
            return cls(message, hint=hint)
        return cls(
            message,
            line=span.line,
            column=span.column,
            source_line=self.line_text(span.line),
            hint=hint,
        )


@dataclass(frozen=True)
class Literal:
    """A number, string, bool or None."""

    value: object
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Name:
    """A bare identifier: a macro parameter, a bare layer/optimizer name, or a mistake."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class TupleNode:
    items: tuple["Node", ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class ListNode:
    items: tuple["Node", ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Arg:
    """One argument of a call; ``name`` is None for a positional one."""

    name: str | None
    value: "Node"
    span: Span = field(default=NO_SPAN, compare=False)
    name_span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Call:
    """``Name(args)``. ``close`` is the offset of the closing parenthesis."""

    name: str
    args: tuple[Arg, ...]
    span: Span = field(default=NO_SPAN, compare=False)
    close: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Item:
    """An entry of a layer list or a section: ``value [@ "device"] [{ block }] [* N]``."""

    value: "Node"
    device: Literal | None = None
    block: tuple["Item", ...] | None = None
    repeat: int | None = None
    span: Span = field(default=NO_SPAN, compare=False)
    repeat_span: Span = field(default=NO_SPAN, compare=False)
    block_span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Group:
    """The layers a macro call expanded to (made by :mod:`neural_jax.dsl.macros`)."""

    macro: str
    items: tuple[Item, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Section:
    """``key: item, item ...``"""

    key: str
    items: tuple[Item, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class BlockSection:
    """``key { entries }`` (``train {}``, ``execution {}``, ``early_stopping {}``)."""

    key: str
    entries: tuple[Union[Section, "BlockSection"], ...]
    span: Span = field(default=NO_SPAN, compare=False)
    close: int = field(default=0, compare=False)


@dataclass(frozen=True)
class NetworkNode:
    name: str
    entries: tuple[Section | BlockSection, ...]
    span: Span = field(default=NO_SPAN, compare=False)
    close: int = field(default=0, compare=False)


@dataclass(frozen=True)
class MacroNode:
    """``define Name(params) { items }``; params are (name, default or None)."""

    name: str
    params: tuple[tuple[str, "Node | None"], ...]
    body: tuple[Item, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class FileNode:
    networks: tuple[NetworkNode, ...]
    macros: tuple[MacroNode, ...]
    source: Source = field(default_factory=lambda: Source(""), compare=False)


Node = Union[Literal, Name, TupleNode, ListNode, Call]
