"""Parameter distributions: :class:`Float`, :class:`Int`, :class:`Categorical`, :class:`Condition`.

Notation: every distribution maps its values to one coordinate ``u`` in ``[0, 1]``.

* continuous float: ``u = (x - lo) / (hi - lo)``, or ``(ln x - ln lo) / (ln hi - ln lo)`` when
  ``log`` is set;
* discrete (ints, stepped floats, categoricals) with ``k`` values: value ``i`` occupies the
  bin ``[i/k, (i+1)/k)`` and encodes to its centre ``(i + 0.5) / k``;
* a log-scaled int has no uniform bins: it is continuous in the encoded space over
  ``[ln(lo - 0.5), ln(hi + 0.5)]`` and rounds on decoding, so each integer gets a share of
  ``[0, 1]`` proportional to its width on the log axis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

from search.errors import SearchSpaceError

__all__ = ["Condition", "Float", "Int", "Categorical", "Distribution"]


def _is_number(v: Any) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool)


def _freeze(v: Any) -> Any:
    """Lists (from JSON) become tuples so that values are hashable and comparable."""
    if isinstance(v, list | tuple):
        return tuple(_freeze(e) for e in v)
    return v


def _thaw(v: Any) -> Any:
    """Tuples become lists for JSON."""
    if isinstance(v, tuple):
        return [_thaw(e) for e in v]
    return v


def _bin(u: float, k: int) -> int:
    return min(max(int(math.floor(u * k)), 0), k - 1)


@dataclass(frozen=True)
class Condition:
    """Makes a parameter active only when ``parent`` takes one of ``values``.

    Attributes:
      parent: name of the parameter the condition reads.
      values: the parent values for which the conditioned parameter is active.
    """

    parent: str
    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        vals = self.values
        if not isinstance(vals, tuple | list | set | frozenset):
            vals = (vals,)
        object.__setattr__(self, "values", tuple(_freeze(v) for v in vals))
        if not self.values:
            raise SearchSpaceError(f"condition on {self.parent!r} lists no values")

    def holds(self, value: Any) -> bool:
        """Whether the parent's ``value`` activates the conditioned parameter."""
        return any(_same(value, v) for v in self.values)


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python; a condition on True must not fire for 1.
    return type(a) is type(b) and a == b or (_is_number(a) and _is_number(b) and a == b)


def _conditions(raw: Any) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if isinstance(raw, Condition):
        return (raw,)
    if isinstance(raw, Mapping):
        return tuple(Condition(str(k), v) for k, v in raw.items())
    if isinstance(raw, Sequence) and all(isinstance(c, Condition) for c in raw):
        return tuple(raw)
    raise SearchSpaceError(
        f"condition must be a mapping like {{'optimizer': 'SGD'}}, got {raw!r}"
    )


@dataclass(frozen=True)
class _Base:
    """Fields shared by every distribution."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "condition", _conditions(self.condition))  # type: ignore[attr-defined]

    @property
    def levels(self) -> int | None:
        """Number of values (``None`` for a continuous coordinate)."""
        return None

    def _cond_dict(self) -> dict[str, Any]:
        conds = self.condition  # type: ignore[attr-defined]
        if not conds:
            return {}
        return {
            "condition": {
                c.parent: (_thaw(c.values[0]) if len(c.values) == 1 else _thaw(list(c.values)))
                for c in conds
            }
        }


@dataclass(frozen=True)
class Float(_Base):
    """A real parameter on ``[lo, hi]``, optionally log-scaled or on the grid ``lo + i*step``.

    Args:
      lo: lower bound (inclusive).
      hi: upper bound (inclusive); must exceed ``lo``.
      log: search ``ln x`` uniformly (needs ``lo > 0``; not combinable with ``step``).
      step: grid spacing; values are ``lo, lo + step, ... <= hi``.
      condition: ``{"parent": value_or_values}`` or :class:`Condition` (s).
    """

    lo: float
    hi: float
    log: bool = False
    step: float | None = None
    condition: Any = field(default=None)

    kind = "float"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (_is_number(self.lo) and _is_number(self.hi)):
            raise SearchSpaceError(f"min and max must be numbers, got {self.lo!r}, {self.hi!r}")
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)):
            raise SearchSpaceError("min and max must be finite")
        if self.lo >= self.hi:
            raise SearchSpaceError(f"min ({self.lo}) must be < max ({self.hi})")
        if self.log and self.lo <= 0:
            raise SearchSpaceError(f"log scale needs min > 0, got min={self.lo}")
        if self.step is not None:
            if not _is_number(self.step) or self.step <= 0:
                raise SearchSpaceError(f"step must be > 0, got {self.step!r}")
            if self.step > self.hi - self.lo:
                raise SearchSpaceError(
                    f"step ({self.step}) is larger than the range max - min ({self.hi - self.lo})"
                )
            if self.log:
                raise SearchSpaceError("log and step cannot be combined for a float")
        object.__setattr__(self, "lo", float(self.lo))
        object.__setattr__(self, "hi", float(self.hi))

    @property
    def levels(self) -> int | None:
        if self.step is None:
            return None
        return int(math.floor((self.hi - self.lo) / self.step + 1e-9)) + 1

    def encode(self, x: Any) -> float:
        """Maps a value to ``[0, 1]``."""
        if not _is_number(x) or not self.lo - 1e-12 <= x <= self.hi + 1e-12:
            raise SearchSpaceError(f"value {x!r} is outside [{self.lo}, {self.hi}]")
        if self.step is not None:
            k = self.levels
            i = min(max(round((x - self.lo) / self.step), 0), k - 1)
            return (i + 0.5) / k
        if self.log:
            return (math.log(x) - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        return (x - self.lo) / (self.hi - self.lo)

    def decode(self, u: float) -> float:
        """Maps ``u`` in ``[0, 1]`` back to a value."""
        u = min(max(float(u), 0.0), 1.0)
        if self.step is not None:
            x = self.lo + _bin(u, self.levels) * self.step
            return float(f"{x:.12g}")  # drop float noise such as 0.30000000000000004
        if self.log:
            x = math.exp(math.log(self.lo) + u * (math.log(self.hi) - math.log(self.lo)))
        else:
            x = self.lo + u * (self.hi - self.lo)
        return min(max(x, self.lo), self.hi)

    def to_dict(self) -> dict[str, Any]:
        """The seed's dict format."""
        d: dict[str, Any] = {"type": "float", "min": self.lo, "max": self.hi}
        if self.log:
            d["log"] = True
        if self.step is not None:
            d["step"] = self.step
        return d | self._cond_dict()


@dataclass(frozen=True)
class Int(_Base):
    """An integer parameter on ``[lo, hi]`` with a step, or log-scaled.

    Args:
      lo: lower bound (inclusive).
      hi: upper bound (inclusive); must exceed ``lo``.
      log: search ``ln x`` (needs ``lo > 0`` and ``step == 1``).
      step: grid spacing; values are ``lo, lo + step, ... <= hi``.
      condition: ``{"parent": value_or_values}`` or :class:`Condition` (s).
    """

    lo: int
    hi: int
    log: bool = False
    step: int = 1
    condition: Any = field(default=None)

    kind = "int"

    def __post_init__(self) -> None:
        super().__post_init__()
        for what, v in (("min", self.lo), ("max", self.hi), ("step", self.step)):
            if not (_is_int(v) or (_is_number(v) and float(v).is_integer())):
                raise SearchSpaceError(f"{what} must be an integer, got {v!r}")
        object.__setattr__(self, "lo", int(self.lo))
        object.__setattr__(self, "hi", int(self.hi))
        object.__setattr__(self, "step", int(self.step))
        if self.lo >= self.hi:
            raise SearchSpaceError(f"min ({self.lo}) must be < max ({self.hi})")
        if self.step <= 0:
            raise SearchSpaceError(f"step must be > 0, got {self.step}")
        if self.step > self.hi - self.lo:
            raise SearchSpaceError(
                f"step ({self.step}) is larger than the range max - min ({self.hi - self.lo})"
            )
        if self.log and self.lo <= 0:
            raise SearchSpaceError(f"log scale needs min > 0, got min={self.lo}")
        if self.log and self.step != 1:
            raise SearchSpaceError("log and step cannot be combined for an int")

    @property
    def levels(self) -> int | None:
        if self.log:
            return None
        return (self.hi - self.lo) // self.step + 1

    def _log_bounds(self) -> tuple[float, float]:
        return math.log(self.lo - 0.5), math.log(self.hi + 0.5)

    def encode(self, x: Any) -> float:
        """Maps a value to ``[0, 1]``."""
        if not (_is_number(x) and float(x).is_integer()) or not self.lo <= x <= self.hi:
            raise SearchSpaceError(f"value {x!r} is not an integer in [{self.lo}, {self.hi}]")
        if self.log:
            a, b = self._log_bounds()
            return (math.log(x) - a) / (b - a)
        k = self.levels
        i = min(max(round((x - self.lo) / self.step), 0), k - 1)
        return (i + 0.5) / k

    def decode(self, u: float) -> int:
        """Maps ``u`` in ``[0, 1]`` back to a value."""
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            a, b = self._log_bounds()
            return int(min(max(round(math.exp(a + u * (b - a))), self.lo), self.hi))
        return self.lo + _bin(u, self.levels) * self.step

    def to_dict(self) -> dict[str, Any]:
        """The seed's dict format."""
        d: dict[str, Any] = {"type": "int", "min": self.lo, "max": self.hi}
        if self.log:
            d["log"] = True
        if self.step != 1:
            d["step"] = self.step
        return d | self._cond_dict()


@dataclass(frozen=True)
class Categorical(_Base):
    """A choice among ``values`` (numbers, strings, bools, tuples, ``None``).

    Args:
      values: the choices, at least one; lists are stored as tuples.
      condition: ``{"parent": value_or_values}`` or :class:`Condition` (s).
    """

    values: tuple[Any, ...]
    condition: Any = field(default=None)

    kind = "categorical"

    def __post_init__(self) -> None:
        super().__post_init__()
        vals = self.values
        if isinstance(vals, str) or not isinstance(vals, Sequence):
            raise SearchSpaceError(f"values must be a list, got {vals!r}")
        if len(vals) == 0:
            raise SearchSpaceError("values is empty: give at least one choice")
        object.__setattr__(self, "values", tuple(_freeze(v) for v in vals))

    @property
    def levels(self) -> int:
        return len(self.values)

    def index(self, x: Any) -> int:
        """Position of ``x`` among the values (type-strict, so ``True`` is not ``1``)."""
        x = _freeze(x)
        for i, v in enumerate(self.values):
            if type(v) is type(x) and v == x:
                return i
        for i, v in enumerate(self.values):
            if _same(v, x):
                return i
        raise SearchSpaceError(f"value {x!r} is not one of {list(self.values)!r}")

    def encode(self, x: Any) -> float:
        """Maps a value to the centre of its bin."""
        return (self.index(x) + 0.5) / len(self.values)

    def decode(self, u: float) -> Any:
        """Maps ``u`` in ``[0, 1]`` back to a value."""
        return self.values[_bin(min(max(float(u), 0.0), 1.0), len(self.values))]

    def to_dict(self) -> dict[str, Any]:
        """The seed's dict format."""
        values = [_thaw(v) for v in self.values]
        return {"type": "categorical", "values": values} | self._cond_dict()


Distribution = Float | Int | Categorical
