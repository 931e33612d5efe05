"""The syntax tree of a `.neural` file: what was written, where, before any meaning is given.

Every node carries a :class:`~neural_jax.core.source.Span` (byte offsets into the source and
1-based line/column), so that errors point at the right place and :func:`generate_optimized_dsl`
can substitute text in place. Spans never take part in equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neural_jax.core.source import NO_SPAN, Source, Span

__all__ = [
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
    items: tuple[Node, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class ListNode:
    items: tuple[Node, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Arg:
    """One argument of a call; ``name`` is None for a positional one."""

    name: str | None
    value: Node
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

    value: Node
    device: Literal | None = None
    block: tuple[Item, ...] | None = None
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
    entries: tuple[Section | BlockSection, ...]
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
    params: tuple[tuple[str, Node | None], ...]
    body: tuple[Item, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class FileNode:
    networks: tuple[NetworkNode, ...]
    macros: tuple[MacroNode, ...]
    source: Source = field(default_factory=lambda: Source(""), compare=False)


Node = Literal | Name | TupleNode | ListNode | Call
