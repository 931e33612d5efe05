"""Parameter specifications: the legal domain of every layer / optimizer / train argument.

A :class:`ParamSpec` names an argument, its kind, its Keras default and its domain. ``check``
returns ``None`` for a legal value and otherwise a short phrase saying what is wrong; the
lowering pass turns it into a :class:`NeuralValidationError` at the argument's position.
For an HPO expression every value it can take is checked (the bounds of a range, each option
of a choice), so ``Dropout(HPO(range(0.5, 1.5)))`` is an error before anything runs.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ParamSpec", "ACTIVATIONS", "FLOAT_KINDS", "FLOAT_MAX", "INT_MAX", "REQUIRED",
           "is_int", "is_number"]

#: kinds whose values are floats (an int written there is read as a float)
FLOAT_KINDS = ("positive", "nonneg", "rate", "unit")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Marks a parameter without default.
REQUIRED: Any = _Required()

#: Activation names accepted everywhere (SPEC §2); None means linear.
ACTIVATIONS = (
    "relu",
    "gelu",
    "tanh",
    "sigmoid",
    "softmax",
    "elu",
    "selu",
    "swish",
    "silu",
    "leaky_relu",
    "softplus",
    "linear",
)


def is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


#: the largest size or count a backend can index (XLA, PyTorch and TensorFlow use int32 here)
INT_MAX = 2**31 - 1
#: the largest magnitude of a float value: models compute in float32
FLOAT_MAX = 3.4028234663852886e38


def _shown(v: Any) -> str:
    """``v`` for a message; a huge int by its digit count."""
    if is_int(v) and abs(v) >= 10**30:
        return f"a {len(str(abs(v)))}-digit number"
    return repr(v)


def _num_in(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False, integer=False):
    def check(v: Any) -> str | None:
        if integer and not is_int(v):
            return f"must be a whole number, got {v!r}"
        if not is_number(v) or (isinstance(v, float) and math.isnan(v)):
            return f"must be a number, got {v!r}"
        if isinstance(v, float) and math.isinf(v):
            return f"must be a finite number, got {v!r}"
        if integer and v > INT_MAX:
            return f"must be at most {INT_MAX} (2**31 - 1), got {_shown(v)}"
        if not integer and abs(v) > FLOAT_MAX:
            return f"must be at most {FLOAT_MAX:.3g} (the float32 range), got {_shown(v)}"
        below = v <= lo if lo_open else v < lo
        above = v >= hi if hi_open else v > hi
        if below or above:
            lb = "(" if lo_open else "["
            rb = ")" if hi_open else "]"
            his = "inf" if hi == math.inf else f"{hi:g}"
            return f"must be in {lb}{lo:g}, {his}{rb}, got {v!r}"
        return None

    return check


POSITIVE_INT = _num_in(1, math.inf, integer=True)
NONNEG_INT = _num_in(0, math.inf, integer=True)
POSITIVE = _num_in(0, math.inf, lo_open=True)
NONNEG = _num_in(0, math.inf)
RATE = _num_in(0, 1, hi_open=True)
UNIT = _num_in(0, 1)


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else f"must be true or false, got {v!r}"


def _activation(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str) and v.lower() in ACTIVATIONS:
        return None
    return f"must be one of {', '.join(ACTIVATIONS)}, got {v!r}"


def _one_of(*options: str):
    def check(v: Any) -> str | None:
        if isinstance(v, str) and v.lower() in options:
            return None
        return f"must be one of {', '.join(repr(o) for o in options)}, got {v!r}"

    return check


def _int_tuple(lo: int):
    """An int or a tuple of ints, each >= lo (sizes, strides, dilation)."""

    def check(v: Any) -> str | None:
        items = v if isinstance(v, tuple) else (v,)
        if not items:
            return "must not be empty"
        for x in items:
            if not is_int(x) or x < lo:
                what = "positive whole numbers" if lo >= 1 else "whole numbers >= 0"
                return f"must be {what} (an int or a tuple), got {v!r}"
            if x > INT_MAX:
                return f"must be at most {INT_MAX} (2**31 - 1), got {_shown(x)}"
        return None

    return check


def _target_shape(v: Any) -> str | None:
    items = v if isinstance(v, tuple) else (v,)
    if not items or not all(is_int(x) and (x >= 1 or x == -1) for x in items):
        return f"must be a tuple of positive ints (one may be -1), got {v!r}"
    if sum(1 for x in items if x == -1) > 1:
        return f"may contain -1 only once, got {v!r}"
    return None


def _str(v: Any) -> str | None:
    return None if isinstance(v, str) else f"must be a string, got {v!r}"


def _any(v: Any) -> str | None:
    return None


CHECKS: dict[str, Callable[[Any], str | None]] = {
    "pos_int": POSITIVE_INT,
    "nonneg_int": NONNEG_INT,
    "positive": POSITIVE,
    "nonneg": NONNEG,
    "rate": RATE,
    "unit": UNIT,
    "bool": _bool,
    "activation": _activation,
    "padding": _one_of("valid", "same"),
    "padding1d": _one_of("valid", "same", "causal"),
    "sizes": _int_tuple(1),
    "target_shape": _target_shape,
    "str": _str,
    "layer": _any,  # a nested layer call, checked by the lowering pass
    "any": _any,
    "merge": _one_of("concat", "sum", "mul", "ave"),
    "label_kind": _one_of("sparse", "categorical", "binary"),
    "numbers": lambda v: None
    if isinstance(v, tuple) and all(is_number(x) and x not in (math.inf, -math.inf) for x in v)
    else f"must be a list of numbers, got {v!r}",
}


@dataclass(frozen=True)
class ParamSpec:
    """One argument of a layer, optimizer, schedule or loss.

    Attributes:
      name: the Keras argument name.
      kind: a key of :data:`CHECKS` (its domain).
      default: the Keras default, or :data:`REQUIRED`.
      shape_affecting: whether different values need different compiled programs
        (units, filters, kernel sizes...); float rates and activations do not.
    """

    name: str
    kind: str
    default: Any = REQUIRED
    shape_affecting: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def check(self, value: Any) -> str | None:
        """``None`` when ``value`` is legal, else what is wrong."""
        return CHECKS[self.kind](value)

    @property
    def wants_int(self) -> bool:
        return self.kind in ("pos_int", "nonneg_int", "sizes")
