"""A search space: an ordered mapping of parameter names to distributions, with conditions.

Notation: a space of ``d`` parameters encodes to the unit box ``[0, 1]^d``, one coordinate
per parameter in definition order (see :mod:`search.distributions` for each coordinate).
An inactive conditional parameter still owns its coordinate; it encodes to ``0.5`` and is
dropped on decoding.

The seed's dict format (SPEC §4) reads and writes both ways::

    {"learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "log": True},
     "batch_size":    {"type": "categorical", "values": [32, 64, 128, 256]},
     "units":         {"type": "int", "min": 32, "max": 512, "step": 32},
     "optimizer":     {"type": "categorical", "values": ["Adam", "SGD"]},
     "momentum":      {"type": "float", "min": 0.8, "max": 0.99,
                       "condition": {"optimizer": "SGD"}}}
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from search.distributions import Categorical, Distribution, Float, Int, _freeze
from search.errors import SearchSpaceError
from search.strategies.base import Dimension

__all__ = ["Space", "Float", "Int", "Categorical"]

_TYPES = {
    "float": "float", "real": "float", "uniform": "float", "double": "float",
    "int": "int", "integer": "int",
    "categorical": "categorical", "choice": "categorical", "category": "categorical",
}
_KEYS = {"type", "min", "max", "low", "high", "log", "step", "values", "choices", "condition"}


class Space(Mapping[str, Distribution]):
    """An ordered, immutable collection of named distributions.

    Args:
      params: name -> :class:`Float` / :class:`Int` / :class:`Categorical`, in the order
        of the encoded coordinates.

    Raises:
      SearchSpaceError: a condition names an unknown parameter, names itself, or
        conditions form a cycle.
    """

    def __init__(self, params: Mapping[str, Distribution] | None = None) -> None:
        self._params: dict[str, Distribution] = {}
        for name, dist in (params or {}).items():
            if not isinstance(dist, Float | Int | Categorical):
                raise SearchSpaceError(
                    f"parameter {name!r}: expected Float, Int or Categorical, got {dist!r}"
                )
            self._params[str(name)] = dist
        self._check_conditions()
        self._order = self._topological_order()

    # -- Mapping -------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Distribution:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Space):
            return False
        return list(self._params.items()) == list(other._params.items())

    def __hash__(self) -> int:
        return hash(tuple(self._params))

    def __repr__(self) -> str:
        return f"Space({self._params!r})"

    # -- structure -------------------------------------------------------------------------
    def _check_conditions(self) -> None:
        for name, dist in self._params.items():
            for cond in dist.condition:
                if cond.parent == name:
                    raise SearchSpaceError(f"parameter {name!r}: condition on itself")
                if cond.parent not in self._params:
                    hint = difflib.get_close_matches(cond.parent, list(self._params), n=1)
                    extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                    raise SearchSpaceError(
                        f"parameter {name!r}: condition on unknown parameter {cond.parent!r}"
                        f"{extra}; add it to the space"
                    )
                parent = self._params[cond.parent]
                if isinstance(parent, Categorical):
                    for v in cond.values:
                        try:
                            parent.index(v)
                        except SearchSpaceError:
                            raise SearchSpaceError(
                                f"parameter {name!r}: condition value {v!r} is not a value of "
                                f"{cond.parent!r} ({list(parent.values)!r})"
                            ) from None

    def _topological_order(self) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(n: str) -> None:
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                raise SearchSpaceError(f"parameter {n!r}: conditions form a cycle")
            state[n] = 1
            for c in self._params[n].condition:
                visit(c.parent)
            state[n] = 2
            order.append(n)

        for n in self._params:
            visit(n)
        return order

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in coordinate order."""
        return tuple(self._params)

    @property
    def dims(self) -> tuple[Dimension, ...]:
        """What a strategy sees of each coordinate."""
        return tuple(
            Dimension(
                name=n,
                kind=d.kind,
                levels=d.levels,
                log=bool(getattr(d, "log", False)),
                conditional=bool(d.condition),
            )
            for n, d in self._params.items()
        )

    def active(self, params: Mapping[str, Any]) -> dict[str, bool]:
        """Which parameters are active given (possibly partial) values of their parents."""
        act: dict[str, bool] = {}
        for n in self._order:
            act[n] = all(
                act[c.parent] and c.parent in params and c.holds(params[c.parent])
                for c in self._params[n].condition
            )
        return {n: act[n] for n in self._params}

    # -- encoding --------------------------------------------------------------------------
    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """Encodes a parameter dict to a point of ``[0, 1]^d``.

        Raises:
          SearchSpaceError: an unknown name, a missing active parameter or a value outside
            its distribution.
        """
        unknown = [k for k in params if k not in self._params]
        if unknown:
            raise SearchSpaceError(f"unknown parameter(s) {unknown!r}; space has {list(self)!r}")
        act = self.active(params)
        u = np.full(len(self), 0.5)
        for i, (n, d) in enumerate(self._params.items()):
            if not act[n]:
                continue
            if n not in params:
                raise SearchSpaceError(f"parameter {n!r} is active but has no value")
            try:
                u[i] = d.encode(params[n])
            except SearchSpaceError as e:
                raise SearchSpaceError(f"parameter {n!r}: {e}") from None
        return u

    def decode(self, u: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """Decodes a point of ``[0, 1]^d``; inactive conditional parameters are dropped."""
        u = np.asarray(u, dtype=float).reshape(-1)
        if u.shape[0] != len(self):
            raise SearchSpaceError(f"point has {u.shape[0]} coordinates, space has {len(self)}")
        values = {n: d.decode(u[i]) for i, (n, d) in enumerate(self._params.items())}
        act = self.active(values)
        return {n: v for n, v in values.items() if act[n]}

    def decode_batch(self, u: np.ndarray) -> list[dict[str, Any]]:
        """Decodes each row of an ``(n, d)`` array."""
        return [self.decode(row) for row in np.asarray(u, dtype=float).reshape(-1, len(self))]

    def canonical(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Restores value types lost in JSON (tuples, ints) and drops inactive parameters."""
        out: dict[str, Any] = {}
        act = self.active({k: _freeze(v) for k, v in params.items()})
        for n, d in self._params.items():
            if n not in params or not act[n]:
                continue
            v = params[n]
            if isinstance(d, Categorical):
                try:
                    v = d.values[d.index(v)]
                except SearchSpaceError:
                    v = _freeze(v)
            elif isinstance(d, Int) and isinstance(v, float) and v.is_integer():
                v = int(v)
            out[n] = v
        return out

    def sample(self, rng: np.random.Generator | int | None = None,
               n: int = 1) -> list[dict[str, Any]]:
        """Draws ``n`` parameter dicts uniformly in the encoded space."""
        rng = np.random.default_rng(rng)
        return self.decode_batch(rng.random((n, len(self))))

    # -- dict format -----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, spec: Mapping[str, Mapping[str, Any]]) -> Space:
        """Builds a space from the seed's dict format (SPEC §4).

        Raises:
          SearchSpaceError: naming the key and the problem (min >= max, log with min <= 0,
            unknown type, empty values, condition on an unknown parameter, bad step, ...).
        """
        if isinstance(spec, Space):
            return spec
        if not isinstance(spec, Mapping):
            raise SearchSpaceError(f"a search space must be a dict of name -> spec, got {spec!r}")
        return cls({str(k): _parse_entry(str(k), v) for k, v in spec.items()})

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The seed's dict format; ``Space.from_dict(s.to_dict()) == s``."""
        return {n: d.to_dict() for n, d in self._params.items()}


def _parse_entry(key: str, entry: Any) -> Distribution:
    if isinstance(entry, Float | Int | Categorical):
        return entry
    if not isinstance(entry, Mapping):
        raise SearchSpaceError(
            f"{key!r}: expected a dict like {{'type': 'float', ...}}, got {entry!r}")
    extra = [k for k in entry if k not in _KEYS]
    if extra:
        hint = difflib.get_close_matches(str(extra[0]), sorted(_KEYS), n=1)
        raise SearchSpaceError(
            f"{key!r}: unknown field {extra[0]!r}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
        )
    typ = entry.get("type")
    if typ is None:  # infer the obvious cases
        if "values" in entry or "choices" in entry:
            typ = "categorical"
        else:
            lo, hi = entry.get("min", entry.get("low")), entry.get("max", entry.get("high"))
            ints = isinstance(lo, int) and isinstance(hi, int) and not entry.get("log")
            typ = "int" if ints else "float"
    kind = _TYPES.get(str(typ).lower())
    if kind is None:
        hint = difflib.get_close_matches(str(typ), list(_TYPES), n=1)
        raise SearchSpaceError(
            f"{key!r}: unknown type {typ!r}; use 'float', 'int' or 'categorical'"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
        )
    cond = entry.get("condition")
    try:
        if kind == "categorical":
            if "values" not in entry and "choices" not in entry:
                raise SearchSpaceError("a categorical needs 'values'")
            return Categorical(entry.get("values", entry.get("choices")), condition=cond)
        lo, hi = entry.get("min", entry.get("low")), entry.get("max", entry.get("high"))
        if lo is None or hi is None:
            raise SearchSpaceError(f"a {kind} needs 'min' and 'max'")
        log = entry.get("log", False)
        if not isinstance(log, bool):
            raise SearchSpaceError(f"log must be true or false, got {log!r}")
        if kind == "int":
            return Int(lo, hi, log=log, step=entry.get("step", 1), condition=cond)
        return Float(lo, hi, log=log, step=entry.get("step"), condition=cond)
    except SearchSpaceError as e:
        raise SearchSpaceError(f"{key!r}: {e}") from None
