"""The strategy contract shared by every search strategy.

Notation: a search space of ``d`` parameters is encoded as the unit box ``[0, 1]^d`` (one
coordinate per parameter, see :mod:`search.space`). Strategies only ever see encoded points
and *minimised* objective values; the :class:`~search.study.Study` decodes points into
parameter dicts, flips the sign for ``direction="maximize"`` and keeps failed trials away
from the strategy (a failed trial is never passed to :meth:`Strategy.tell`).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from search.errors import SearchExhausted

__all__ = ["Dimension", "SearchExhausted", "Strategy", "single_objective"]


@dataclass(frozen=True)
class Dimension:
    """What a strategy may know about one encoded coordinate.

    Attributes:
      name: the parameter's name in the study.
      kind: ``"float"``, ``"int"`` or ``"categorical"``.
      levels: number of distinct values the coordinate decodes to (``None`` for a
        continuous float). Level ``i`` of ``k`` occupies ``[i/k, (i+1)/k)``; its centre is
        ``(i + 0.5) / k``. Ints and stepped floats have levels too, categoricals always.
      log: whether the coordinate is log-scaled (informational; encoding already applied).
      conditional: ``True`` when the parameter is only active for some values of others.
    """

    name: str
    kind: str
    levels: int | None = None
    log: bool = False
    conditional: bool = False


class Strategy(abc.ABC):
    """Base class of all strategies. Two required methods: :meth:`ask` and :meth:`tell`.

    Contract:
      * :meth:`bind` is called once by the study before the first ``ask``, with the
        encoded dimensions and a seed. Subclasses needing set-up override it (and call
        ``super().bind``).
      * ``ask(n)`` returns an ``(n, d)`` float array in ``[0, 1]``: ``n`` distinct, useful
        points (a population asks for many at once; model-based strategies must
        diversify, e.g. by constant liar or fantasies). Points asked and not yet told are
        *pending*; a strategy should account for them in the next ``ask``.
      * ``tell(x, y)`` reports finished trials: ``x`` of shape ``(m, d)``, ``y`` of shape
        ``(m,)`` (or ``(m, k)`` for ``k`` objectives), every objective minimised and finite.
        Pruned trials are told with their last intermediate value.
      * ``state_dict()`` / ``load_state_dict()`` make the strategy resumable from storage;
        the default stores nothing strategy-specific (the study replays ``tell`` on resume).
      * Given the same seed and the same calls, results are identical.
      * A finite strategy (a grid) may return fewer than ``n`` rows when nearly exhausted
        and raises :class:`~search.errors.SearchExhausted` when it has nothing left.
    """

    #: registry name (set by subclasses)
    name: str = ""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self.dims: tuple[Dimension, ...] = ()
        self.rng = np.random.default_rng(seed)

    @property
    def d(self) -> int:
        """Number of encoded coordinates."""
        return len(self.dims)

    def bind(self, dims: Sequence[Dimension], seed: int | None = None) -> None:
        """Attaches the strategy to a space; called once by the study."""
        self.dims = tuple(dims)
        if seed is not None:
            self.seed = seed
        self.rng = np.random.default_rng(self.seed)

    @abc.abstractmethod
    def ask(self, n: int) -> np.ndarray:
        """Returns ``n`` encoded points, shape ``(n, d)``, values in ``[0, 1]``."""

    @abc.abstractmethod
    def tell(self, x: np.ndarray, y: np.ndarray) -> None:
        """Observes finished trials (objective minimised)."""

    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments (except ``seed``) to rebuild it by name.

        The study stores them so that ``load_study`` can recreate the strategy from the
        registry; the default (``{}``) rebuilds it with default arguments.
        """
        return {}

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state needed to resume beyond replaying ``tell``."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores what :meth:`state_dict` returned."""
        del state


def single_objective(x: np.ndarray, y: np.ndarray,
                     refusal: str) -> tuple[np.ndarray, np.ndarray]:
    """Told points ``(m, d)`` and their single objective ``(m,)``, for :meth:`Strategy.tell`.

    Args:
      x: The points, one or several.
      y: Their values: ``(m,)`` or one column ``(m, 1)``.
      refusal: The message for values of several objectives; ``{shape}`` stands for
        their shape.

    Raises:
      ValueError: ``y`` has several columns, or not one value a point.
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 2:
        if y.shape[1] != 1:
            raise ValueError(refusal.format(shape=y.shape))
        y = y[:, 0]
    y = y.reshape(-1)
    if len(x) != len(y):
        raise ValueError(f"tell got {len(x)} points but {len(y)} values")
    return x, y
