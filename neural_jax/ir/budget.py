"""What a network costs in memory, from the shape checker's shapes, before anything is built.

Notation (as in :mod:`neural_jax.population.memory`): :math:`n_p` parameters of one model,
:math:`a` activation values of one example summed over the layers' outputs, :math:`B` the
training batch, 4 bytes a value. Training one model needs about

.. math:: m = 4\\,(5 n_p + 3 a B)

bytes: parameters, their gradients, two optimizer slots (Adam) and the kept best weights
(:math:`5 n_p`), and the forward activations kept for the backward pass, their gradients
and temporaries (:math:`3 a B`). :func:`check_memory` refuses a configuration whose ``m``
exceeds :func:`memory_limit`: the machine's total memory (``psutil``), or
``NEURAL_JAX_MEMORY_LIMIT`` (bytes, or a number with ``KB``/``MB``/``GB``/``TB``) when it is
set. The error names the layer that costs the most.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from neural_jax.core.errors import NeuralValidationError
from neural_jax.ir.registry import LAYERS

__all__ = ["LayerCost", "check_memory", "layer_params", "memory_limit", "training_bytes",
           "ENV_LIMIT"]

ENV_LIMIT = "NEURAL_JAX_MEMORY_LIMIT"
_BYTES = 4
_UNITS = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40,
          "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


@dataclass(frozen=True)
class LayerCost:
    """One layer's share: ``params`` weights and ``activations`` output values per example."""

    layer: Any  # the IR Layer (for its place in the source)
    path: str
    params: int
    activations: int
    output: tuple


def _d(x: Any) -> int:
    return 1 if x is None else int(x)


def _prod(xs) -> int:
    return math.prod(_d(x) for x in xs)


def _k(args: Mapping[str, Any], n: int) -> int:
    k = args.get("kernel_size", 1)
    return _prod(k) if isinstance(k, tuple) else _d(k) ** n


def _rnn(kind: str, f: int, u: int) -> int:
    gates = LAYERS[kind].gates
    return gates * (f * u + u * u + 2 * u)


def layer_params(kind: str, args: Mapping[str, Any], shape_in: tuple, shape_out: tuple,
                 inner: tuple[str, Mapping[str, Any]] | None = None) -> int:
    """Trainable weights of one layer (Keras' count; an estimate where backends differ).

    Args:
      kind: the layer type.
      args: its resolved arguments.
      shape_in, shape_out: shapes without the batch axis (None counts as 1).
      inner: ``(type, args)`` of a wrapped layer (Bidirectional, TimeDistributed).
    """
    cin = _d(shape_in[-1]) if shape_in else 1
    cout = _d(shape_out[-1]) if shape_out else 1
    bias = 1 if args.get("use_bias", True) else 0
    if kind in ("Dense", "Output"):
        return cin * cout + bias * cout
    if kind in ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose"):
        n = len(shape_in) - 1
        return _k(args, n) * cin * cout + bias * cout
    if kind == "SeparableConv2D":
        return _k(args, 2) * cin + cin * cout + bias * cout
    if kind == "DepthwiseConv2D":
        return (_k(args, 2) + bias) * cout
    if kind == "Embedding":
        return _d(args.get("input_dim")) * _d(args.get("output_dim"))
    if kind == "BatchNormalization":
        return 4 * cout
    if kind in ("LayerNormalization", "GroupNormalization"):
        return 2 * cout
    if kind in ("LSTM", "GRU", "SimpleRNN"):
        return _rnn(kind, cin, _d(args.get("units")))
    if kind == "Bidirectional" and inner is not None:
        return 2 * _rnn(inner[0], cin, _d(inner[1].get("units")))
    if kind == "TimeDistributed" and inner is not None:
        return layer_params(inner[0], inner[1], shape_in[1:], shape_out[1:])
    if kind == "MultiHeadAttention":
        hk = _d(args.get("num_heads")) * _d(args.get("key_dim"))
        return 3 * (cin * hk + hk) + hk * cin + cin
    if kind == "TransformerEncoder":
        ff = _d(args.get("ff_dim"))
        return 4 * (cin * cin + cin) + 4 * cin + 2 * cin * ff + ff + cin
    if kind == "PositionalEmbedding":
        return _d(args.get("max_len")) * cin
    if kind == "ResidualConnection" and tuple(shape_in) != tuple(shape_out):
        return cin * cout + cout  # the 1x1 projection
    return 0


def memory_limit() -> tuple[int, str]:
    """The bytes one model may need, and where that number comes from (module docstring).

    Raises:
      NeuralValidationError: ``NEURAL_JAX_MEMORY_LIMIT`` is set to something unreadable.
    """
    raw = os.environ.get(ENV_LIMIT, "").strip()
    if raw:
        m = re.fullmatch(r"(\d{1,30}(?:\.\d{1,30})?)\s*([KMGT]?B?)", raw.upper())
        if not m or float(m.group(1)) <= 0:
            raise NeuralValidationError(
                f"{ENV_LIMIT}={raw!r} is not a size",
                hint=f"write bytes or a number with KB, MB, GB or TB, e.g. {ENV_LIMIT}=16GB")
        return int(float(m.group(1)) * _UNITS[m.group(2)]), f"{ENV_LIMIT}={raw}"
    try:
        import psutil

        return int(psutil.virtual_memory().total), "this machine's memory"
    except Exception:  # noqa: BLE001 - no psutil or no way to read it: a documented fallback
        return 64 << 30, "the default limit (64 GB)"


def training_bytes(costs: Sequence[LayerCost], batch_size: int) -> int:
    """``m`` of the module docstring for one model at ``batch_size``."""
    n_p = sum(c.params for c in costs)
    a = sum(c.activations for c in costs)
    return _BYTES * (5 * n_p + 3 * a * max(1, batch_size))


def _gb(n: float) -> str:
    if n >= 1 << 60:  # past exabytes: the order of magnitude (exact for any int)
        return f"about 10^{len(str(int(n))) - 1} bytes"
    for unit, size in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 1024:,.1f} KB"


def check_memory(net, costs: Sequence[LayerCost], batch_size: int, config: Mapping[str, Any],
                 limit: tuple[int, str] | None = None) -> int:
    """Raises when training one model of ``costs`` at ``batch_size`` needs more than the limit.

    Returns:
      The estimated bytes.

    Raises:
      NeuralValidationError: at the layer that costs the most, with the estimate.
    """
    need = training_bytes(costs, batch_size)
    cap, source = limit if limit is not None else memory_limit()
    if need <= cap or not costs:
        return need
    n_p = sum(c.params for c in costs)
    a = max(1, sum(c.activations for c in costs))
    fits = (cap // _BYTES - 5 * n_p) // (3 * a)  # the largest batch that would fit
    span = dict(getattr(net.train, "spans", ())).get("batch_size")
    if fits >= 1 and span is not None:  # the model fits; its batch does not
        raise net.source.error(
            NeuralValidationError, span,
            f"training at batch {batch_size} needs about {_gb(need)}, more than {source} "
            f"({_gb(cap)})", f"use a batch_size of at most {fits:,}; {ENV_LIMIT} sets the limit")
    worst = max(costs, key=lambda c: 5 * c.params + 3 * c.activations * batch_size)
    from neural_jax.ir.shapes import fmt_shape

    parts = []
    if 5 * worst.params >= 3 * worst.activations * batch_size:
        parts.append(f"{worst.params:,} weights ({_gb(4 * worst.params)})")
        hint = "use fewer units / filters or a smaller kernel in this layer"
    else:
        parts.append(f"an output of {fmt_shape(worst.output)}, "
                     f"{_gb(4 * worst.activations)} per example")
        hint = "use smaller strides / sizes in this layer, downsample earlier, or a smaller batch"
    used = {k: v for k, v in config.items()}
    with_ = (" (with " + ", ".join(f"{k}={v!r}" for k, v in list(used.items())[:6])
             + (", ..." if len(used) > 6 else "") + ")") if used else ""
    return _fail(net, worst,
                 f"{worst.layer.type} at {worst.path} has {parts[0]}: training needs about "
                 f"{_gb(need)} at batch {batch_size}, more than {source} ({_gb(cap)}){with_}",
                 f"{hint}; {ENV_LIMIT} sets the limit")


def _fail(net, cost: LayerCost, message: str, hint: str):
    raise net.source.error(NeuralValidationError, cost.layer.span, message, hint)
