"""Shape inference over the IR: every layer's output shape, errors at the offending layer.

A network with HPO parameters has many shapes. :func:`check` evaluates the shape rules for a
set of configurations: every combination of the values that can change shapes (each option of
a choice, both bounds of a range) when there are at most ``max_combos`` of them, otherwise
the all-low and all-high configurations plus one-at-a-time variations. The first failing
configuration is reported with the parameter values that make it fail.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neural_jax.core.errors import NeuralValidationError
from neural_jax.ir.nodes import HPO, Choice, Layer, Network, Range, leaves
from neural_jax.ir.registry import LAYERS
from neural_jax.ir.shapes import RuleContext, ShapeError, fmt_shape

#: the batch a run uses when the file gives none (``neural_jax.train.spec.DEFAULTS``; kept
#: here so that checking a file does not import the trainer)
DEFAULT_BATCH = 32

__all__ = ["ShapeRow", "ShapeReport", "check", "infer_shapes", "resolve", "first_value"]


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
        return config[value.path] if value.path in config else first_value(value)
    if isinstance(value, tuple):
        return tuple(resolve(v, config) for v in value)
    return value


def first_value(h: HPO) -> Any:
    """The first option of a choice (its index for layers), the low end of a range.

    Shape checking traces a configuration that names only the shape-changing values and
    reads every other HPO value here; it is not the default a run uses
    (:func:`neural_jax.ir.defaults.default_config`).
    """
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
                for x in leaves(v):
                    if isinstance(x, HPO):
                        out.setdefault(x.path, x)
                    if isinstance(x, Layer):
                        _shape_hpos((x,), out)
            if it.block:
                _shape_hpos(it.block, out)


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
    return _trace(net, dict(config or {})).rows


def _one_input(net: Network) -> None:
    if len(net.input_shapes) != 1:
        raise net.source.error(
            NeuralValidationError, net.span,
            f"network '{net.name}' has {len(net.input_shapes)} inputs; a layer list is one "
            "sequential model with one input",
            "give one input shape")


@dataclass
class _Trace:
    """One configuration run through the layers.

    ``rows`` as :func:`infer_shapes` returns them; ``starts[i]`` the first row of top-level
    item ``i``; ``shapes[i]`` the input shape of item ``i`` (``shapes[-1]`` the output);
    ``costs`` every layer's :class:`~neural_jax.ir.budget.LayerCost` when asked for.
    """

    rows: list
    starts: list
    shapes: list
    costs: list | None = None


def _trace(net: Network, config: Mapping[str, Any], costs: list | None = None, begin: int = 0,
           shape: tuple | None = None, until=None) -> _Trace:
    """Runs the top-level items from ``begin`` (with input ``shape``); ``until(i, shape)``
    may stop the run after item ``i`` (the rest is known to match another run)."""
    _one_input(net)
    rows: list[tuple] = []
    starts: list[int] = []
    shapes: list = []
    shape = tuple(net.input_shape) if shape is None else shape
    items = net.layers
    n = len(items)
    for i in range(begin, n):
        starts.append(len(rows))
        shapes.append(shape)
        shape = _item(net, items[i], i, n, shape, config, rows, 0, True, costs)
        if until is not None and until(i, shape):
            break
    shapes.append(shape)
    return _Trace(rows, starts, shapes, costs)


def _item(net, it, i, n, shape, config, rows, depth, first, costs):
    layer = it
    if isinstance(it, Choice):
        layer = it.values[_option(it, config)]
    if layer.type == "Output" and depth == 0 and i != n - 1:
        raise _err(net, layer, "Output must be the last layer",
                   "use Dense(...) for hidden layers", config)
    if layer.type == "Embedding" and not (first and i == 0):
        raise _err(net, layer, "Embedding must be the first layer: it takes integer token ids",
                   "move it to the top of the layers: list", config)
    return apply_layer(net, layer, shape, config, rows, depth, path=it.path, costs=costs)


def _run(net: Network, items, shape, config, rows, depth, first=False, costs=None):
    n = len(items)
    for i, it in enumerate(items):
        shape = _item(net, it, i, n, shape, config, rows, depth, first, costs)
    return shape


def _option(choice: Choice, config) -> int:
    from neural_jax.ir.config import choice_index

    value = resolve(choice, config)
    index = choice_index(choice.values, value)
    if index is None:
        raise NeuralValidationError(f"{value!r} is not an option of {choice.path}",
                                    hint=f"use an index in 0..{len(choice.values) - 1}")
    return index


def apply_layer(net, layer: Layer, shape, config, rows=None, depth=0, path=None, costs=None):
    """Output shape of one layer (recording rows for blocks when ``rows`` is given, and
    each layer's parameter and activation counts when ``costs`` is given)."""
    spec = LAYERS[layer.type]
    args = {k: resolve(v, config) for k, v in layer.args.items()}
    sub_rows: list = []
    ctx = RuleContext(name=layer.type)
    if layer.block is not None:
        ctx.block = lambda s: _run(net, layer.block, s, config, sub_rows, depth + 1, costs=costs)
    inner = None
    if spec.wraps:
        inner = layer.get(spec.wraps)
        ctx.inner = lambda s: apply_layer(net, inner, s, config)
    try:
        out = spec.shape(tuple(shape), args, ctx)
    except ShapeError as e:
        raise _err(net, layer, e.message, e.hint, config) from None
    if costs is not None:
        from neural_jax.ir.budget import LayerCost, layer_params

        wrapped = None
        if isinstance(inner, Layer):
            wrapped = (inner.type, {k: resolve(v, config) for k, v in inner.args.items()})
        costs.append(LayerCost(layer, path or layer.path,
                               layer_params(layer.type, args, tuple(shape), tuple(out), wrapped),
                               math.prod(1 if d is None else d for d in out), tuple(out)))
    if rows is not None:
        rows.append((path or layer.path, layer.type, out, depth))
        rows.extend(sub_rows)
    return out


def _err(net: Network, layer: Layer, message: str, hint: str, config) -> NeuralValidationError:
    items = list(config.items())
    used = ", ".join(f"{k}={v!r}" for k, v in items[:6]) + (", ..." if len(items) > 6 else "")
    where = f" (with {used})" if items else ""
    return net.source.error(NeuralValidationError, layer.span,
                            f"{layer.type} at {layer.path}: {message}{where}", hint)


class _Overlay(Mapping):
    """``base`` with one path set to another value, without copying ``base``."""

    def __init__(self, base: Mapping[str, Any], key: str, value: Any) -> None:
        self.base, self.key, self.value = base, key, value

    def __getitem__(self, k):
        return self.value if k == self.key else self.base[k]

    def __iter__(self):
        yield self.key
        yield from (k for k in self.base if k != self.key)

    def __len__(self):
        return len(self.base) + (self.key not in self.base)


def _batch_sizes(net: Network) -> int:
    """The largest training batch the network can use (what its memory is judged at)."""
    b = net.train.batch_size
    if b is None:
        return DEFAULT_BATCH
    if isinstance(b, Choice):
        return max(int(v) for v in b.values)
    if isinstance(b, HPO):
        return int(b.high)
    return int(b)


class _Table:
    """Per row and dimension the values seen over the runs (min/max, None, rank changes)."""

    def __init__(self, base: _Trace) -> None:
        self.base = base
        self.lo: list[list] = [[None] * len(r[2]) for r in base.rows]
        self.hi: list[list] = [[None] * len(r[2]) for r in base.rows]
        self.none = [[False] * len(r[2]) for r in base.rows]
        self.varies = [False] * len(base.rows)
        for k, row in enumerate(base.rows):
            self._merge(k, row[2])

    def _merge(self, k: int, out: tuple) -> None:
        if len(out) != len(self.lo[k]):
            self.varies[k] = True
            return
        lo, hi, none = self.lo[k], self.hi[k], self.none[k]
        for d, v in enumerate(out):
            if v is None:
                none[d] = True
            elif lo[d] is None:
                lo[d] = hi[d] = v
            else:
                lo[d], hi[d] = min(lo[d], v), max(hi[d], v)

    def add(self, run: _Trace, begin: int) -> None:
        """Merges ``run`` (started at top-level item ``begin``) into the rows it covers."""
        base = self.base
        for j, start in enumerate(run.starts):
            i = begin + j
            b0 = base.starts[i]
            b1 = base.starts[i + 1] if i + 1 < len(base.starts) else len(base.rows)
            r1 = run.starts[j + 1] if j + 1 < len(run.starts) else len(run.rows)
            mine = run.rows[start:r1]
            if len(mine) != b1 - b0:
                for k in range(b0, b1):
                    self.varies[k] = True
                continue
            for k, row in zip(range(b0, b1), mine):
                self._merge(k, row[2])

    def text(self, k: int) -> str:
        if self.varies[k]:
            return fmt_shape(self.base.rows[k][2]) + " (varies)"
        dims = []
        for lo, hi, none in zip(self.lo[k], self.hi[k], self.none[k]):
            if lo is None:
                dims.append("None")
            elif none:
                dims.append("?")
            else:
                dims.append(str(lo) if lo == hi else f"{lo}..{hi}")
        return "(" + ", ".join(["None"] + dims) + ")"


def _uses(net: Network) -> dict[str, tuple[int, int]]:
    """For each shape-changing HPO path, the first and last top-level item using it."""
    out: dict[str, tuple[int, int]] = {}
    for i, it in enumerate(net.layers):
        found: dict[str, HPO] = {}
        _shape_hpos((it,), found)
        for p in found:
            out[p] = (out[p][0], i) if p in out else (i, i)
    return out


def check(net: Network, max_combos: int = 64, memory: bool = True) -> ShapeReport:
    """Infers every layer's shape for the configurations that matter; raises on a mismatch,
    and on a configuration too large to train on this machine (:mod:`neural_jax.ir.budget`).

    Every configuration of :func:`configurations` is checked. Beyond ``max_combos`` the
    one-at-a-time variations start at the first layer that uses the varied value and stop
    where the shapes rejoin the all-low run, so a long network costs about linear time.

    Returns:
      A :class:`ShapeReport` whose rows show each dimension as a number, or ``lo..hi`` where
      the HPO parameters make it vary.
    """
    from neural_jax.ir.budget import check_memory, memory_limit

    _one_input(net)
    hpos: dict[str, HPO] = {}
    _shape_hpos(net.layers, hpos)
    cands = {p: _candidates(h) for p, h in hpos.items()}
    total = 1
    for c in cands.values():
        total *= len(c)
        if total > max_combos:
            break
    limit = memory_limit() if memory else None
    batch = _batch_sizes(net) if memory else 0

    def full(config) -> _Trace:
        run = _trace(net, config, [] if memory else None)
        if memory:
            check_memory(net, run.costs, batch, config, limit)
        return run

    if total <= max_combos:
        keys = list(cands)
        configs = [dict(zip(keys, combo)) for combo in itertools.product(*cands.values())]
        runs = [full(c) for c in configs]
        table = _Table(runs[0])
        for r in runs[1:]:
            table.add(r, 0)
        n_configs = len(configs)
    else:
        low = {p: c[0] for p, c in cands.items()}
        high = {p: c[-1] for p, c in cands.items()}
        base = full(low)
        table = _Table(base)
        table.add(full(high), 0)
        n_configs = 2
        uses = _uses(net)
        for p, c in cands.items():
            first, last = uses[p]
            for v in c[1:]:
                def rejoined(i, shape, last=last):
                    return i >= last and shape == base.shapes[i + 1]

                run = _trace(net, _Overlay(low, p, v), None, first, base.shapes[first], rejoined)
                table.add(run, first)
                n_configs += 1
    base = table.base
    choice_labels = {x.path: "choice(" + "|".join(v.type for v in x.values) + ")"
                     for x in net.layers if isinstance(x, Choice)}
    rows = [ShapeRow(path, choice_labels.get(path, layer), table.text(k), depth)
            for k, (path, layer, _, depth) in enumerate(base.rows)]
    return ShapeReport(net.name, net.input_shape, tuple(rows), n_configs)
