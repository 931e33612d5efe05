"""Shape inference over the IR: every layer's output shape, errors at the offending layer.

A network with HPO parameters has many shapes. :func:`check` evaluates the shape rules for a
set of configurations: every combination of the values that can change shapes (each option of
a choice, both bounds of a range) when there are at most ``max_combos`` of them, otherwise
the all-low and all-high configurations plus one-at-a-time variations. The first failing
configuration is reported with the parameter values that make it fail.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neural_jax.dsl.errors import NeuralValidationError
from neural_jax.ir.nodes import HPO, Choice, Layer, LogRange, Network, Range
from neural_jax.ir.registry import LAYERS
from neural_jax.ir.shapes import RuleContext, ShapeError, fmt_shape

__all__ = ["ShapeRow", "ShapeReport", "check", "infer_shapes", "resolve", "default_config"]


@dataclass(frozen=True)
class ShapeRow:
    """One line of the shape table."""

    path: str
    layer: str
    output: str
    depth: int = 0


@dataclass(frozen=True)
class ShapeReport:
    """What :func:`check` found: one row per layer and the number of configurations checked."""

    network: str
    input_shape: tuple
    rows: tuple[ShapeRow, ...]
    configs_checked: int

    def table(self) -> str:
        width = max([len(r.path) + 2 * r.depth for r in self.rows] + [5])
        lw = max([len(r.layer) for r in self.rows] + [5])
        lines = [f"{'path':<{width}}  {'layer':<{lw}}  output shape",
                 f"{'input':<{width}}  {'':<{lw}}  {fmt_shape(self.input_shape)}"]
        for r in self.rows:
            lines.append(f"{'  ' * r.depth + r.path:<{width}}  {r.layer:<{lw}}  {r.output}")
        return "\n".join(lines)


def resolve(value: Any, config: Mapping[str, Any]) -> Any:
    """Replaces HPO nodes in ``value`` by their configured values."""
    if isinstance(value, HPO):
        return config[value.path] if value.path in config else default_value(value)
    if isinstance(value, tuple):
        return tuple(resolve(v, config) for v in value)
    return value


def default_value(h: HPO) -> Any:
    if isinstance(h, Choice):
        return 0 if isinstance(h.values[0], Layer) else h.values[0]
    return h.low


def _candidates(h: HPO) -> list:
    if isinstance(h, Choice):
        return list(range(len(h.values))) if isinstance(h.values[0], Layer) else list(h.values)
    if isinstance(h, Range) and h.step is not None:
        n = int((h.high - h.low) // h.step)
        return [h.low, h.low + n * h.step] if n else [h.low]
    return [h.low, h.high]


def _shape_hpos(items, out: dict[str, HPO]) -> None:
    for it in items:
        if isinstance(it, Choice):
            out.setdefault(it.path, it)
            _shape_hpos(it.values, out)
        elif isinstance(it, Layer):
            spec = LAYERS[it.type]
            for k, v in it.params:
                if not spec.param(k).shape_affecting:
                    continue
                for x in _flat(v):
                    if isinstance(x, HPO):
                        out.setdefault(x.path, x)
                    if isinstance(x, Layer):
                        _shape_hpos((x,), out)
            if it.block:
                _shape_hpos(it.block, out)


def _flat(v):
    if isinstance(v, tuple):
        for x in v:
            yield from _flat(x)
    else:
        yield v


def configurations(net: Network, max_combos: int = 64) -> list[dict[str, Any]]:
    """The configurations :func:`check` evaluates (see the module docstring)."""
    hpos: dict[str, HPO] = {}
    _shape_hpos(net.layers, hpos)
    if not hpos:
        return [{}]
    cands = {p: _candidates(h) for p, h in hpos.items()}
    total = 1
    for c in cands.values():
        total *= len(c)
    if total <= max_combos:
        keys = list(cands)
        return [dict(zip(keys, combo)) for combo in itertools.product(*cands.values())]
    low = {p: c[0] for p, c in cands.items()}
    high = {p: c[-1] for p, c in cands.items()}
    out = [low, high]
    for p, c in cands.items():
        for v in c[1:]:
            out.append({**low, p: v})
    return out


def infer_shapes(net: Network, config: Mapping[str, Any] | None = None) -> list[tuple]:
    """Rows ``(path, layer, output shape, depth)`` for one configuration.

    Raises:
      NeuralValidationError: at the first layer whose input shape it cannot take.
    """
    config = dict(config or {})
    if len(net.input_shapes) != 1:
        raise net.source.error(
            NeuralValidationError, net.span,
            f"network '{net.name}' has {len(net.input_shapes)} inputs; a layer list is one "
            "sequential model with one input",
            "give one input shape")
    rows: list[tuple] = []
    _run(net, net.layers, net.input_shape, config, rows, 0, first=True)
    return rows


def _run(net: Network, items, shape, config, rows, depth, first=False):
    n = len(items)
    for i, it in enumerate(items):
        layer = it
        if isinstance(it, Choice):
            layer = it.values[_option(it, config)]
        if layer.type == "Output" and depth == 0 and i != n - 1:
            raise _err(net, layer, "Output must be the last layer",
                       "use Dense(...) for hidden layers", config)
        if layer.type == "Embedding" and not (first and i == 0):
            raise _err(net, layer, "Embedding must be the first layer: it takes integer token ids",
                       "move it to the top of the layers: list", config)
        shape = apply_layer(net, layer, shape, config, rows, depth, path=it.path)
    return shape


def _option(choice: Choice, config) -> int:
    from neural_jax.ir.config import choice_index

    value = resolve(choice, config)
    index = choice_index(choice.values, value)
    if index is None:
        raise NeuralValidationError(f"{value!r} is not an option of {choice.path}",
                                    hint=f"use an index in 0..{len(choice.values) - 1}")
    return index


def apply_layer(net, layer: Layer, shape, config, rows=None, depth=0, path=None):
    """Output shape of one layer (recording rows for blocks when ``rows`` is given)."""
    spec = LAYERS[layer.type]
    args = {k: resolve(v, config) for k, v in layer.args.items()}
    sub_rows: list = []
    ctx = RuleContext(name=layer.type)
    if layer.block is not None:
        ctx.block = lambda s: _run(net, layer.block, s, config, sub_rows, depth + 1)
    if spec.wraps:
        inner = layer.get(spec.wraps)
        ctx.inner = lambda s: apply_layer(net, inner, s, config)
    try:
        out = spec.shape(tuple(shape), args, ctx)
    except ShapeError as e:
        raise _err(net, layer, e.message, e.hint, config) from None
    if rows is not None:
        rows.append((path or layer.path, layer.type, out, depth))
        rows.extend(sub_rows)
    return out


def _err(net: Network, layer: Layer, message: str, hint: str, config) -> NeuralValidationError:
    used = ", ".join(f"{k}={v!r}" for k, v in config.items())
    where = f" (with {used})" if used else ""
    return net.source.error(NeuralValidationError, layer.span,
                            f"{layer.type} at {layer.path}: {message}{where}", hint)


def default_config(net: Network) -> dict[str, Any]:
    hpos: dict[str, HPO] = {}
    _shape_hpos(net.layers, hpos)
    return {p: default_value(h) for p, h in hpos.items()}


def check(net: Network, max_combos: int = 64) -> ShapeReport:
    """Infers every layer's shape for the configurations that matter; raises on a mismatch.

    Returns:
      A :class:`ShapeReport` whose rows show each dimension as a number, or ``lo..hi`` where
      the HPO parameters make it vary.
    """
    configs = configurations(net, max_combos)
    runs = [infer_shapes(net, c) for c in configs]
    base = runs[0]
    rows = []
    same_structure = all(len(r) == len(base) for r in runs)
    choice_labels = {x.path: "choice(" + "|".join(v.type for v in x.values) + ")"
                     for x in net.layers if isinstance(x, Choice)}
    for i, (path, layer, out, depth) in enumerate(base):
        if same_structure and all(len(r[i][2]) == len(out) for r in runs):
            dims = []
            for d in range(len(out)):
                vals = {r[i][2][d] for r in runs}
                if len(vals) == 1:
                    v = vals.pop()
                    dims.append("None" if v is None else str(v))
                elif None in vals:
                    dims.append("?")
                else:
                    dims.append(f"{min(vals)}..{max(vals)}")
            text = "(" + ", ".join(["None"] + dims) + ")"
        else:
            text = fmt_shape(out) + " (varies)"
        label = choice_labels.get(path, layer)
        rows.append(ShapeRow(path, label, text, depth))
    return ShapeReport(net.name, net.input_shape, tuple(rows), len(configs))
