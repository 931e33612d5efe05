"""The intermediate representation: frozen dataclasses every backend reads.

A :class:`Network` holds its layers, loss, metrics, optimizer and training settings. Any value
that is searched is an :class:`HPO` node (:class:`Choice`, :class:`Range`, :class:`LogRange`)
carrying the unique, stable ``path`` that names it in a study (SPEC §4). Source spans are kept
for messages and in-place substitution but never take part in equality, so that
``parse(to_dsl(ir)) == ir``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from neural_jax.core.source import NO_SPAN, Source, Span

__all__ = [
    "HPO",
    "Choice",
    "Range",
    "LogRange",
    "Layer",
    "Schedule",
    "Optimizer",
    "Loss",
    "Metric",
    "EarlyStopping",
    "Train",
    "Execution",
    "Network",
    "Params",
    "leaves",
]

#: explicit arguments, in signature order: ((name, value), ...)
Params = tuple[tuple[str, Any], ...]


def _get(params: Params, name: str, default: Any = None) -> Any:
    for k, v in params:
        if k == name:
            return v
    return default


def leaves(value: Any) -> Iterator[Any]:
    """The items of a parameter value, with nested tuples flattened (a value itself if none).

    Args:
      value: A parameter value: a scalar, an HPO node, or a (nested) tuple of them.

    Yields:
      Each non-tuple item, in order.
    """
    if isinstance(value, tuple):
        for x in value:
            yield from leaves(x)
    else:
        yield value


@dataclass(frozen=True, kw_only=True)
class HPO:
    """A searched value. ``path`` is its name in the study."""

    path: str
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def kind(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class Choice(HPO):
    """``HPO(choice(a, b, ...))``; values may be literals, tuples, Layers or Optimizers."""

    values: tuple[Any, ...]
    #: repetition frames when this choice stands in a layer list (see :class:`Layer`)
    repeat: tuple[tuple[int, int, int], ...] = ()

    @property
    def kind(self) -> str:
        return "categorical"


@dataclass(frozen=True, kw_only=True)
class Range(HPO):
    """``HPO(range(lo, hi[, step=s]))``: uniform (or a grid when ``step`` is set)."""

    low: float
    high: float
    step: float | None = None
    is_int: bool = False

    @property
    def kind(self) -> str:
        return "int" if self.is_int else "float"


@dataclass(frozen=True, kw_only=True)
class LogRange(HPO):
    """``HPO(log_range(lo, hi))``: log-uniform, ``lo > 0``."""

    low: float
    high: float
    is_int: bool = False

    @property
    def kind(self) -> str:
        return "int" if self.is_int else "float"


@dataclass(frozen=True, kw_only=True)
class Layer:
    """One layer call.

    Attributes:
      type: canonical layer name (``Dense``).
      params: the arguments written, by name, in signature order (defaults not filled in;
        use :meth:`get`).
      path: ``layers[3]``, ``layers[0].block[1]``, ``layers[2].layer``...
      device: ``"gpu:0"`` etc. from ``@ "..."``, or None.
      block: the nested ``{ ... }`` layers, or None.
      repeat: repetition frames ``((site, copy, count), ...)`` from ``* N``, outermost first.
    """

    type: str
    params: Params = ()
    path: str = ""
    device: str | None = None
    block: tuple[Any, ...] | None = None
    repeat: tuple[tuple[int, int, int], ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)
    arg_spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False)
    close: int = field(default=0, compare=False)

    def get(self, name: str, default: Any = None) -> Any:
        """The written value of ``name``, else the registry default, else ``default``."""
        from neural_jax.ir.registry import LAYERS

        for k, v in self.params:
            if k == name:
                return v
        spec = LAYERS[self.type].param(name)
        if spec is not None and not spec.required:
            return spec.default
        return default

    @property
    def args(self) -> dict[str, Any]:
        """Every argument with defaults filled in."""
        from neural_jax.ir.registry import LAYERS

        out = {p.name: p.default for p in LAYERS[self.type].params if not p.required}
        out.update(dict(self.params))
        return out


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A learning-rate schedule call (``ExponentialDecay(...)``)."""

    type: str
    params: Params = ()
    path: str = ""
    span: Span = field(default=NO_SPAN, compare=False)

    def get(self, name: str, default: Any = None) -> Any:
        return _get(self.params, name, default)


@dataclass(frozen=True, kw_only=True)
class Optimizer:
    """``Adam(learning_rate=...)``; a param value may be a :class:`Schedule` or an HPO."""

    type: str
    params: Params = ()
    path: str = "optimizer"
    span: Span = field(default=NO_SPAN, compare=False)
    close: int = field(default=0, compare=False)
    arg_spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False)

    def get(self, name: str, default: Any = None) -> Any:
        return _get(self.params, name, default)


@dataclass(frozen=True, kw_only=True)
class Loss:
    name: str = "sparse_categorical_crossentropy"
    params: Params = ()
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, kw_only=True)
class Metric:
    name: str
    params: Params = ()


@dataclass(frozen=True, kw_only=True)
class EarlyStopping:
    patience: Any = 5
    monitor: str = "val_loss"


@dataclass(frozen=True, kw_only=True)
class Train:
    """``train {}`` settings (None = not written; the trainer applies its defaults)."""

    epochs: Any = None
    batch_size: Any = None
    validation_split: Any = None
    search_method: Any = None
    seed: int | None = None
    early_stopping: EarlyStopping | None = None
    spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False)
    in_block: bool = field(default=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class Execution:
    device: str = "auto"


@dataclass(frozen=True, kw_only=True)
class Network:
    """A whole network as written in one ``network Name { ... }``."""

    name: str
    input_shapes: tuple[tuple[int | None, ...], ...]
    layers: tuple[Any, ...]  # Layer | Choice of Layers
    loss: Loss | None = None
    metrics: tuple[Metric, ...] = ()
    optimizer: Any = None  # Optimizer | Choice of Optimizers | None
    train: Train = field(default_factory=Train)
    execution: Execution | None = None
    span: Span = field(default=NO_SPAN, compare=False)
    close: int = field(default=0, compare=False)
    source: Source = field(default_factory=lambda: Source(""), compare=False, repr=False)
    #: where each path's value stands in the source (for in-place substitution)
    sites: Any = field(default_factory=dict, compare=False, repr=False)

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        """The single input shape of a sequential network."""
        return self.input_shapes[0]

    def walk_layers(self) -> Iterator[Layer]:
        """Every Layer, depth first, including blocks, wrapped layers and choice options."""
        yield from _walk(self.layers)


def _walk(items) -> Iterator[Layer]:
    for it in items:
        if isinstance(it, Choice):
            yield from _walk(v for v in it.values if isinstance(v, Layer))
        elif isinstance(it, Layer):
            yield it
            for _, v in it.params:
                if isinstance(v, Layer):
                    yield from _walk((v,))
                elif isinstance(v, Choice):
                    yield from _walk(x for x in v.values if isinstance(x, Layer))
            if it.block:
                yield from _walk(it.block)
