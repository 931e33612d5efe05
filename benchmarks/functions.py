"""Standard black-box test functions, vectorised over rows, all minimised.

Definitions, domains and optima follow Surjanovic & Bingham, "Virtual Library of Simulation
Experiments: Test Functions and Datasets" (https://www.sfu.ca/~ssurjano/). Every function
takes ``x`` of shape ``(n, d)`` in its natural domain and returns ``(n,)`` values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ALL_FUNCTIONS",
    "FUNCTIONS",
    "HELD_OUT",
    "TestFunction",
    "ackley",
    "branin",
    "hartmann3",
    "hartmann6",
    "levy",
    "rosenbrock",
    "six_hump_camel",
    "styblinski_tang",
]


def branin(x: np.ndarray) -> np.ndarray:
    """Branin-Hoo on ``[-5, 10] x [0, 15]``; three global minima of 0.397887."""
    x1, x2 = x[:, 0], x[:, 1]
    a, b, c = 1.0, 5.1 / (4 * np.pi**2), 5 / np.pi
    r, s, t = 6.0, 10.0, 1 / (8 * np.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * np.cos(x1) + s


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(x: np.ndarray) -> np.ndarray:
    """Hartmann 6-D on ``[0, 1]^6``; minimum -3.32237."""
    inner = np.sum(_H6_A[None] * (x[:, None, :] - _H6_P[None]) ** 2, axis=2)
    return -np.sum(_H6_ALPHA[None] * np.exp(-inner), axis=1)


def levy(x: np.ndarray) -> np.ndarray:
    """Levy on ``[-10, 10]^d``; minimum 0 at ``x = 1``."""
    w = 1 + (x - 1) / 4
    first = np.sin(np.pi * w[:, 0]) ** 2
    mid = np.sum(
        (w[:, :-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:, :-1] + 1) ** 2), axis=1
    )
    last = (w[:, -1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[:, -1]) ** 2)
    return first + mid + last


def rosenbrock(x: np.ndarray) -> np.ndarray:
    """Rosenbrock on ``[-5, 10]^d``; minimum 0 at ``x = 1``."""
    return np.sum(100 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (x[:, :-1] - 1) ** 2, axis=1)


def ackley(x: np.ndarray) -> np.ndarray:
    """Ackley on ``[-32.768, 32.768]^d``; minimum 0 at ``x = 0``."""
    d = x.shape[1]
    a = -20 * np.exp(-0.2 * np.sqrt(np.sum(x**2, axis=1) / d))
    return a - np.exp(np.sum(np.cos(2 * np.pi * x), axis=1) / d) + 20 + np.e


def styblinski_tang(x: np.ndarray) -> np.ndarray:
    """Styblinski-Tang on ``[-5, 5]^d``; minimum -39.16617 d at ``x = -2.903534``."""
    return 0.5 * np.sum(x**4 - 16 * x**2 + 5 * x, axis=1)


_H3_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array(
    [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]
)


def hartmann3(x: np.ndarray) -> np.ndarray:
    """Hartmann 3-D on ``[0, 1]^3``; minimum -3.86278."""
    inner = np.sum(_H3_A[None] * (x[:, None, :] - _H3_P[None]) ** 2, axis=2)
    return -np.sum(_H3_ALPHA[None] * np.exp(-inner), axis=1)


def six_hump_camel(x: np.ndarray) -> np.ndarray:
    """Six-hump camel on ``[-3, 3] x [-2, 2]``; two global minima of -1.0316285."""
    x1, x2 = x[:, 0], x[:, 1]
    return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2


@dataclass(frozen=True)
class TestFunction:
    """A benchmark problem: function, box and known minimum."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    minimum: float

    @property
    def d(self) -> int:
        return len(self.lower)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Maps points of ``[0, 1]^d`` linearly onto the box."""
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        return lo + np.asarray(u) * (hi - lo)

    __test__ = False  # not a pytest class


FUNCTIONS: dict[str, TestFunction] = {
    "branin": TestFunction(
        "Branin", branin, (-5.0, 0.0), (10.0, 15.0), 0.397887357729739
    ),
    "hartmann6": TestFunction(
        "Hartmann6", hartmann6, (0.0,) * 6, (1.0,) * 6, -3.32236801141551
    ),
    "levy5": TestFunction("Levy-5D", levy, (-10.0,) * 5, (10.0,) * 5, 0.0),
    "rosenbrock4": TestFunction(
        "Rosenbrock-4D", rosenbrock, (-5.0,) * 4, (10.0,) * 4, 0.0
    ),
}

#: Functions no default was tuned on, to check that a change to a strategy is general; run them
#: with ``--functions ackley5,styblinski4,hartmann3,camel`` (not part of the default table).
HELD_OUT: dict[str, TestFunction] = {
    "ackley5": TestFunction("Ackley-5D", ackley, (-32.768,) * 5, (32.768,) * 5, 0.0),
    "styblinski4": TestFunction(
        "Styblinski-Tang-4D",
        styblinski_tang,
        (-5.0,) * 4,
        (5.0,) * 4,
        -4 * 39.16616570377142,
    ),
    "hartmann3": TestFunction(
        "Hartmann3", hartmann3, (0.0,) * 3, (1.0,) * 3, -3.86278214782076
    ),
    "camel": TestFunction(
        "Six-hump camel", six_hump_camel, (-3.0, -2.0), (3.0, 2.0), -1.0316284534898774
    ),
}

ALL_FUNCTIONS: dict[str, TestFunction] = FUNCTIONS | HELD_OUT
