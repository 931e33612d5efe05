"""Width padding: networks that differ only in a layer's width as one masked network.

Notation: a padded layer has true width ``w`` (its member's ``units`` / ``filters``) and
padded width ``W >= w`` (the largest option of the searched value); ``u_c = [c < w]`` is
the unit mask over the ``W`` output channels.

A population whose members differ only in such widths can share one compiled program
built at width ``W``. The padded network is *exactly* the narrow one:

* the padded layer (a top-level ``Dense`` or ungrouped ``Conv1D/2D/3D`` whose width is a
  searched categorical) computes ``act(x K + b) * u``: the extra channels are zero
  whatever the activation;
* between it and the next contracting layer (the *consumer*: ``Dense``, ``Output`` or an
  ungrouped convolution) only channel-wise layers are allowed (and no softmax, which mixes
  channels, as the padded layer's activation or an ``Activation``): ``Dropout``,
  ``SpatialDropout1D/2D``, ``GaussianNoise`` and ``Activation`` (which draw their random
  numbers in the narrow layout, see below, and mask again), pooling, global pooling and
  ``Flatten`` (which keep zeros zero);
* initial weights are those of the narrow network with the same key, embedded into the
  wide arrays with zeros elsewhere (:func:`embed`): the padded layer's kernel columns and
  bias entries ``c >= w``, and the consumer's kernel rows that read padded channels. So the
  Glorot scale uses the true fan-in and fan-out;
* the gradient of every padded weight is exactly zero (their outputs are multiplied by
  zero, or their inputs are zero), so optimizers without a weight-independent drift (all
  of optax's with zero-initialised moments, weight decay included) keep them at zero;
* random draws: with ``jax_threefry_partitionable`` (JAX's default) the value drawn for a
  flat index does not depend on the array's shape, so element ``(p, c)`` of the narrow
  draw of shape ``(n, w)`` is element ``p w + c`` of a flat draw of ``n W`` values
  (:func:`narrow_draw`).

The only differences left are summation order in matmuls over zero entries (rounding).
Which values can be padded is decided on the plan (:func:`paddable`); whether padding pays
is the population trainer's choice (:mod:`neural_jax.population.bucket`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from neural_jax.ir.registry import LAYERS
from neural_jax.jax.plan import Dyn, LayerPlan

__all__ = ["WidthPad", "embed", "mask_width", "narrow_draw", "paddable", "plan_macs",
           "with_width"]



def _role(plan: LayerPlan) -> str | None:
    """The registry's ``pad_role`` of a plan's layer kind."""
    return LAYERS[plan.type].pad_role

#: the key of a padded layer's plan argument holding its width (a :class:`Dyn`)
WIDTH_ARG = "_width"


@dataclass(frozen=True)
class WidthPad:
    """One padded width.

    Attributes:
      path: the HPO path of the width (``"layers[1].units"``), the key of its ``hparams``.
      layer: the padded layer's module name.
      consumer: the module name of the next contracting layer.
      options: every width the searched value can take.
    """

    path: str
    layer: str
    consumer: str
    options: tuple[int, ...]

    @property
    def width(self) -> int:
        """The padded width ``W``."""
        return max(self.options)


def paddable(layers: Sequence[LayerPlan], space: Sequence[Any]) -> dict[str, WidthPad]:
    """The widths of a plan that :func:`with_width` can pad exactly (module docstring).

    Args:
      layers: the top-level layer plans of one configuration.
      space: the network's search parameters (:func:`neural_jax.ir.space.search_space`).

    Returns:
      ``{hpo path: WidthPad}``.
    """
    params = {p.name: p for p in space}
    out: dict[str, WidthPad] = {}
    for i, lp in enumerate(layers):
        arg = LAYERS[lp.type].width_arg
        path = f"{lp.path}.{arg}"
        p = params.get(path)
        if (arg is None or p is None or p.kind != "categorical" or p.condition
                or not _elementwise(lp.arg("activation"))
                or tuple(p.targets) != (path,) or len(p.choices) < 2
                or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0
                           for c in p.choices)):
            continue
        for nxt in layers[i + 1:]:
            if _role(nxt) == "consume":
                if LAYERS[nxt.type].group == "convolution" and nxt.type != lp.type:
                    break
                out[path] = WidthPad(path, lp.name, nxt.name, tuple(sorted(set(p.choices))))
                break
            if (_role(nxt) not in ("mask", "pass") or nxt.block or nxt.inner
                    or not _elementwise(nxt.arg("function"))):
                break
    return out


def _elementwise(act: Any) -> bool:
    """Whether an activation (a name, None or a choice) acts on each channel alone."""
    names = act.options if isinstance(act, Dyn) else (act,)
    return all(n is None or str(n).lower() != "softmax" for n in names)


def with_width(layers: Sequence[LayerPlan], pads: Mapping[str, WidthPad]) -> tuple[LayerPlan, ...]:
    """The plans with :data:`WIDTH_ARG` set on every padded layer and the drawing layers
    between it and its consumer."""
    out = list(layers)
    for pad in pads.values():
        dyn = Dyn(pad.path, "width", pad.options, pad.width)
        start = next(i for i, lp in enumerate(out) if lp.name == pad.layer)
        for i in range(start, len(out)):
            lp = out[i]
            if lp.name == pad.consumer:
                break
            if i == start or _role(lp) == "mask":
                out[i] = LayerPlan(lp.type, lp.path, lp.name, lp.args + ((WIDTH_ARG, dyn),),
                                   lp.block, lp.inner)
    return tuple(out)


def _width(plan: LayerPlan, hp: Mapping[str, Any]):
    dyn = plan.arg(WIDTH_ARG)
    return None if dyn is None else jnp.asarray(hp[dyn.path], jnp.int32)


def mask_width(y: Any, plan: LayerPlan, hp: Mapping[str, Any]) -> Any:
    """``y * u`` on the last axis when ``plan`` is padded, else ``y``."""
    w = _width(plan, hp)
    if w is None:
        return y
    return jnp.where(jnp.arange(y.shape[-1]) < w, y, jnp.zeros((), y.dtype))


def narrow_draw(draw: Callable[[tuple[int, ...]], Any], shape: tuple[int, ...],
                plan: LayerPlan, hp: Mapping[str, Any]) -> Any:
    """``draw(shape)`` laid out as the narrow network draws it (module docstring).

    Args:
      draw: ``shape -> random array`` (one key).
      shape: the wide shape, channels last.
      plan: the drawing layer's plan; without :data:`WIDTH_ARG` this is ``draw(shape)``.
      hp: the per-call values (the true width).
    """
    w = _width(plan, hp)
    if w is None:
        return draw(shape)
    n, wide = math.prod(shape[:-1]), shape[-1]
    flat = draw((n * wide,))
    idx = jnp.arange(n)[:, None] * w + jnp.minimum(jnp.arange(wide), w - 1)[None, :]
    return flat[idx].reshape(shape)


def embed(narrow: Mapping[str, Any], wide_shapes: Mapping[str, Any],
          pads: Sequence[WidthPad], widths: Mapping[str, int]) -> dict[str, Any]:
    """Narrow initial parameters placed into the wide arrays (zeros elsewhere).

    Args:
      narrow: the narrow network's ``params``.
      wide_shapes: the wide network's ``params`` (arrays or shape structs).
      pads: the padded widths.
      widths: the narrow network's width of each pad's path.
    """
    out = jax.tree.map(lambda a: a, dict(narrow))
    for pad in pads:
        w, wide = widths[pad.path], pad.width
        layer = dict(out[pad.layer])
        for k, a in layer.items():  # the padded layer's own kernel columns and bias
            layer[k] = jnp.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, wide - w)])
        out[pad.layer] = layer
        cons = dict(out[pad.consumer])
        k = cons["kernel"]
        r = k.shape[-2] // w  # Flatten of (..., w): r positions of w channels each
        k = k.reshape(k.shape[:-2] + (r, w, k.shape[-1]))
        k = jnp.pad(k, [(0, 0)] * (k.ndim - 2) + [(0, wide - w), (0, 0)])
        cons["kernel"] = k.reshape(k.shape[:-3] + (r * wide, k.shape[-1]))
        out[pad.consumer] = cons
    for name, sub in wide_shapes.items():
        for k, s in sub.items() if isinstance(sub, Mapping) else ():
            if tuple(out[name][k].shape) != tuple(s.shape):
                raise ValueError(f"padding {name}.{k}: {out[name][k].shape} != {s.shape}")
    return out


def plan_macs(rows: Sequence[tuple], layers: Sequence[LayerPlan], input_shape: tuple) -> int:
    """Multiply-accumulates per example of the Dense/Output/Conv layers (an estimate).

    Args:
      rows: the checker's ``infer_shapes`` rows ``(path, type, shape, depth)``.
      layers: the top-level plans (for kernel sizes).
      input_shape: the network's input shape.
    """
    kinds = {lp.path: lp for lp in layers}
    total, prev = 0, tuple(input_shape)
    for path, typ, shape, depth in rows:
        if depth != 0:
            continue
        shape = tuple(d or 1 for d in shape)
        lp = kinds.get(path)
        spec = LAYERS.get(typ)
        matmul = spec is not None and spec.pad_role == "consume" and bool(prev)  # Dense, Conv
        if matmul and spec.group != "convolution":
            total += math.prod(shape) * (prev[-1] or 1)
        elif matmul and lp is not None:
            k = lp.arg("kernel_size", 1)
            k = math.prod(k) if isinstance(k, (tuple, list)) else k ** (len(shape) - 1)
            total += math.prod(shape) * k * (prev[-1] or 1)
        prev = shape
    return int(total)
