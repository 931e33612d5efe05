"""The one default configuration of a network: the values a run uses when nothing is given.

Every HPO parameter gets a value: the first option of a choice, the middle of a range
(snapped to its step, rounded for an integer range) and the geometric middle of a log range.
The trainer, :func:`neural_jax.jax.build_model`, both bridges and the code generators all
start from :func:`default_config`, so ``Trainer(net)`` and ``build_model(net)`` build the
same network. (The shape checker instead visits the ends of every range; that is
:func:`neural_jax.ir.checker.first_value`, not a default.)
"""

from __future__ import annotations

import math
from typing import Any

from neural_jax.ir.nodes import Layer, LogRange, Network, Optimizer, Range
from neural_jax.ir.space import search_space

__all__ = ["default_config", "middle_value"]


def middle_value(h: Range | LogRange) -> float | int:
    """The middle of a range: snapped to its step, rounded when integer; geometric if log."""
    if isinstance(h, LogRange):
        v = math.sqrt(h.low * h.high)
    else:
        v = (h.low + h.high) / 2
        if h.step is not None:
            v = h.low + round((v - h.low) / h.step) * h.step
            v = min(v, h.high)
    return int(round(v)) if h.is_int else float(v)


def default_config(net: Network) -> dict[str, Any]:
    """A value for every HPO parameter of ``net`` (see the module docstring).

    A choice of layers or optimizers is given by the index of its option (0).
    """
    out: dict[str, Any] = {}
    for p in search_space(net):
        if p.kind == "categorical":
            opts = p.options
            out[p.name] = 0 if opts and isinstance(opts[0], (Layer, Optimizer)) else p.choices[0]
        else:
            h = (LogRange if p.log else Range)(path=p.name, low=p.low, high=p.high,
                                               **({} if p.log else {"step": p.step}),
                                               is_int=p.kind == "int")
            out[p.name] = middle_value(h)
    return out
