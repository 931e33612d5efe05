"""The structure layers, written once over a few per-backend primitives.

ResidualConnection, TimeDistributed and Bidirectional compute the same thing in every
backend; only the array operations differ. This module holds that computation as plain
functions over arrays it never inspects itself: each backend passes its primitives
(``reshape``, ``shape``, ``concat``, a 1x1 ``project``) and a ``fail(message, hint)`` that
makes the backend's own error. See ``docs/backends.md`` for the contract.

Notation: shapes include the batch axis (``None`` where unknown) and are channel-last.

* ResidualConnection: ``y = block(x)``; ``y + x`` when the shapes agree, else
  ``y + project(x) + b`` with a 1x1 projection (the ResNet "option B" shortcut): a matmul
  for flat input, else a 1x1 convolution with stride ``s_i = ceil(n_in_i / n_out_i)`` per
  spatial axis, which is exact when ``ceil(n_in_i / s_i) == n_out_i``.
* TimeDistributed: ``(B, T, *rest)`` is folded to ``(B T, *rest)``, the wrapped layer
  applied, and the result unfolded to ``(B, T, *out)``.
* Bidirectional: ``merge(forward(x), backward(x))`` by ``merge_mode``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from neural_jax.ir.plan import error
from neural_jax.ir.registry import LAYERS

__all__ = ["MERGE_MODES", "Fail", "failure", "merge", "merge_mode", "projection_kernel",
           "projection_strides", "residual", "time_distributed", "wrapped"]

#: ``fail(message, hint) -> exception`` (the backend's own error type)
Fail = Callable[[str, str], Exception]
MERGE_MODES = ("concat", "sum", "mul", "ave")
Shape = Sequence[Any]


def failure(plan: Any, backend: str) -> Fail:
    """The ``fail`` of a layer plan: a :class:`~neural_jax.ir.plan.BackendError` at it."""

    def fail(message: str, hint: str = "") -> Exception:
        return error(None, plan, message, hint, backend=backend)

    return fail


def _recurrent_names() -> str:
    names = [n for n, s in LAYERS.items() if s.recurrent]
    return ", ".join(names[:-1]) + " or " + names[-1]


def wrapped(plan: Any, fail: Fail) -> Any:
    """The wrapped layer plan of a wrapper (``plan.inner``), checked against the registry.

    Args:
      plan: a plan of a layer whose registry entry has ``wraps`` set.
      fail: the backend's error constructor.

    Raises:
      The backend's error: no wrapped layer, or a wrapper of recurrent layers around
      another kind.
    """
    spec, inner = LAYERS[plan.type], plan.inner
    if spec.wraps_recurrent and (inner is None or not LAYERS[inner.type].recurrent):
        raise fail(f"{spec.name} wraps {_recurrent_names()} only", "wrap a recurrent layer")
    if inner is None:
        raise fail(f"{spec.name} needs a wrapped layer", f"write {spec.name}(Dense(...))")
    return inner


def merge_mode(plan: Any, fail: Fail) -> str:
    """A Bidirectional plan's ``merge_mode``, checked.

    Raises:
      The backend's error: a mode not in :data:`MERGE_MODES`.
    """
    mode = plan.arg("merge_mode", "concat")
    if mode not in MERGE_MODES:
        raise fail(f"unknown merge_mode {mode!r}", "use concat, sum, mul or ave")
    return mode


def merge(forward: Any, backward: Any, mode: str, concat: Callable[[list], Any]) -> Any:
    """The two directions of a Bidirectional merged by ``mode``.

    Args:
      forward, backward: the outputs of the two recurrent layers.
      mode: one of :data:`MERGE_MODES` (checked by :func:`merge_mode`).
      concat: ``concat([a, b]) -> array`` along the last axis.
    """
    if mode == "concat":
        return concat([forward, backward])
    if mode == "sum":
        return forward + backward
    if mode == "mul":
        return forward * backward
    return (forward + backward) / 2.0


def time_distributed(layer: Callable[[Any], Any], x: Any, shape: Callable[[Any], tuple],
                     reshape: Callable[[Any, tuple], Any]) -> Any:
    """``layer`` applied to every time step of ``x`` by folding time into the batch.

    Args:
      layer: the wrapped layer, ``layer(x) -> y`` on ``(batch, *rest)``.
      x: a ``(B, T, *rest)`` batch.
      shape: ``shape(a)`` -> the dimensions of ``a`` (dynamic ones where the backend
        needs them, as long as ``reshape`` takes them).
      reshape: ``reshape(a, dims) -> array``; ``dims`` may hold one ``-1``.
    """
    b, t, *rest = shape(x)
    y = layer(reshape(x, (-1, *rest)))
    return reshape(y, (b, t, *tuple(shape(y))[1:]))


def projection_kernel(shape_in: Shape, shape_out: Shape, fail: Fail) -> tuple | None:
    """The residual shortcut's kernel shape (Keras layout), or None for the identity.

    Args:
      shape_in: the residual input's shape, batch axis included.
      shape_out: the block's output shape, batch axis included.
      fail: the backend's error constructor.

    Returns:
      ``(C_in, C_out)`` for flat input, ``(1, ..., 1, C_in, C_out)`` otherwise, or None
      when the shapes agree.

    Raises:
      The backend's error: the block changes the rank.
    """
    shape_in, shape_out = tuple(shape_in), tuple(shape_out)
    if shape_in == shape_out:
        return None
    if len(shape_in) != len(shape_out):
        raise fail(f"the block changes the rank {shape_in} -> {shape_out}",
                   "a residual block must keep the rank")
    return (1,) * (len(shape_in) - 2) + (shape_in[-1], shape_out[-1])


def projection_strides(shape_in: Shape, shape_out: Shape, fail: Fail) -> tuple[int, ...]:
    """The 1x1 projection's strides, ``ceil(n_in / n_out)`` per spatial axis.

    Args:
      shape_in, shape_out: as for :func:`projection_kernel`; the spatial sizes known.
      fail: the backend's error constructor.

    Returns:
      ``()`` for flat input.

    Raises:
      The backend's error: no integer stride maps the input's spatial size to the output's.
    """
    spatial = list(zip(tuple(shape_in)[1:-1], tuple(shape_out)[1:-1]))
    strides = tuple(math.ceil(a / b) for a, b in spatial)
    if any(-(-a // s) != b for (a, b), s in zip(spatial, strides)):
        raise fail(f"no 1x1 projection maps {tuple(shape_in)} to {tuple(shape_out)}",
                   "keep the spatial size or downsample by an integer stride")
    return strides


def residual(block: Callable[[Any], Any], x: Any, shape: Callable[[Any], tuple],
             project: Callable[[Any, tuple[int, ...]], Any] | None, fail: Fail) -> Any:
    """``block(x) + x``, or ``block(x) + project(x, strides)`` when the shapes differ.

    Args:
      block: the residual block, ``block(x) -> y``.
      x: the input batch.
      shape: ``shape(a)`` -> the static dimensions of ``a``.
      project: ``project(x, strides) -> x W + b`` (a matmul when ``strides == ()``, else a
        1x1 ``VALID`` convolution), or None when the backend built no projection.
      fail: the backend's error constructor.

    Raises:
      The backend's error: the block changes the rank, no projection was built for
      shapes that differ, or no 1x1 projection maps the shapes.
    """
    y = block(x)
    if projection_kernel(shape(x), shape(y), fail) is None:
        return y + x
    if project is None:
        raise fail(f"the block maps {tuple(shape(x))} to {tuple(shape(y))}, but the input "
                   "shape known when the layer was built needed no projection",
                   "give the network's input: every dimension")
    return y + project(x, projection_strides(shape(x), shape(y), fail))
