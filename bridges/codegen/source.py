"""Python source text: a call formatter, indentation and module sections.

:class:`Call` renders a call on one line when it fits in :data:`WIDTH` columns and breaks
it like hand-written code otherwise; :func:`join_sections` spaces a module's parts as
hand-written code is.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

__all__ = ["WIDTH", "Call", "indent", "join_sections"]

#: the column limit generated code is wrapped at
WIDTH = 99

@dataclass
class Call:
    """A call expression ``fn(*args, **kwargs)`` whose arguments may be calls themselves.

    Arguments are source strings or :class:`Call` objects; a keyword whose value is None is
    left out.
    """

    fn: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)

    def _items(self) -> list[tuple[str, Any]]:
        out = [("", a) for a in self.args]
        out += [(f"{k}=", v) for k, v in self.kwargs.items() if v is not None]
        return out

    def flat(self) -> str:
        """The call on one line."""
        parts = [k + (v.flat() if isinstance(v, Call) else str(v)) for k, v in self._items()]
        return f"{self.fn}({', '.join(parts)})"

    def render(self, col: int = 0, prefix: str = "", suffix: str = "") -> str:
        """The call as source; continuation lines are indented relative to the first line.

        Args:
          col: the column the first line will start at (for the width limit only).
          prefix: text before the call on its first line (``x = ``).
          suffix: text after the closing parenthesis (``(x)``).
        """
        line = prefix + self.flat() + suffix
        if col + len(line) <= WIDTH:
            return line
        last = self._items()[-1] if self._items() else None
        if last is not None and isinstance(last[1], Call):
            # Hug a trailing call: `Outer(a, Inner(` ... `))`.
            head = "".join(k + (v.flat() if isinstance(v, Call) else str(v)) + ", "
                           for k, v in self._items()[:-1])
            opening = f"{prefix}{self.fn}({head}{last[0]}"
            if "\n" not in head and col + len(opening) + len(last[1].fn) + 1 <= WIDTH:
                return last[1].render(col, opening, ")" + suffix)
        items = []
        for k, v in self._items():
            if isinstance(v, Call):
                items.append(v.render(col + 4, prefix=k).replace("\n", "\n    "))
            else:
                items.append(k + str(v))
        if not any("\n" in it for it in items):
            # Fill continuation lines greedily, the closing parenthesis on the last one.
            lines, cur = [], ""
            for i, it in enumerate(items):
                piece = it + ("," if i < len(items) - 1 else ")" + suffix)
                if cur and col + 4 + len(cur) + 1 + len(piece) > WIDTH:
                    lines.append(cur)
                    cur = piece
                else:
                    cur = f"{cur} {piece}" if cur else piece
            lines.append(cur)
            if all(col + 4 + len(ln) <= WIDTH for ln in lines):
                return f"{prefix}{self.fn}(\n" + "\n".join("    " + ln for ln in lines)
        body = ",\n".join("    " + it for it in items)
        return f"{prefix}{self.fn}(\n{body},\n){suffix}"


def indent(text: str, n: int) -> str:
    """Indents every non-empty line of ``text`` by ``n`` spaces."""
    pad = " " * n
    return "\n".join(pad + ln if ln.strip() else "" for ln in text.split("\n"))


def join_sections(parts: list[str]) -> str:
    """Sections separated like hand-written modules: two blank lines around definitions."""
    out = parts[0]
    for prev, part in itertools.pairwise(parts):
        defn = part.startswith(("def ", "class ", "if __name__", "@"))
        prev_defn = prev.startswith(("def ", "class ", "@"))
        out += ("\n\n\n" if defn or prev_defn else "\n\n") + part
    return out + "\n"
