"""Planning: the IR resolved for one configuration, ready for a backend's layer rules.

A network with HPO parameters stands for many models. Planning fixes the values that
change shapes (units, filters, kernel sizes, layer-choice index...) from the configuration
and leaves every other searched value as a :class:`Dyn` marker: a per-call input read
from the ``hparams`` dict the model is applied with. Float values (dropout rates, noise
stddev, BatchNorm momentum, epsilons) are passed as scalars; categorical values that do
not change shapes (an activation choice) are passed as the index of the chosen option and
dispatched with ``lax.switch``. This is what lets one compiled program serve a population
whose members differ in those values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neural_jax.core.errors import NeuralError
from neural_jax.ir.checker import first_value, resolve
from neural_jax.ir.nodes import HPO, Choice, Layer, Network
from neural_jax.ir.params import is_number
from neural_jax.ir.registry import LAYERS

__all__ = ["BackendError", "Dyn", "LayerPlan", "NetworkPlan", "constant_plan", "error",
           "module_name", "plan_network"]


class BackendError(NeuralError):
    """A layer (or a combination of values) that this backend cannot express exactly.

    Raised instead of building a silently different model. The message names the layer,
    its path and the backend.
    """

    kind = "backend error"


@dataclass(frozen=True)
class Dyn:
    """A value that is an input of each call rather than part of the compiled structure.

    Attributes:
      path: the HPO path, the key in ``hparams``.
      kind: ``"float"`` (the value itself is passed) or ``"index"`` (the index of the
        chosen option in ``options`` is passed).
      options: the option values of a categorical choice, else ``()``.
      default: the value used when ``hparams`` lacks the path (in the form it is
        passed: a float, or an option index).
    """

    path: str
    kind: str
    options: tuple[Any, ...] = ()
    default: Any = 0.0


@dataclass(frozen=True)
class LayerPlan:
    """One layer with its arguments resolved for one configuration.

    Attributes:
      type: canonical layer name.
      path: the IR path of the layer (for messages).
      name: the Flax submodule name (``layers_3``, ``block_0``, ``layer``).
      args: every argument, ``(name, value)``; shape-affecting values are plain Python
        values, searched values that do not change shapes are :class:`Dyn`.
      block: the plans of the nested ``{ ... }`` block, or None.
      inner: the plan of a wrapped layer (Bidirectional, TimeDistributed), or None.
    """

    type: str
    path: str
    name: str
    args: tuple[tuple[str, Any], ...] = ()
    block: tuple[LayerPlan, ...] | None = None
    inner: LayerPlan | None = None

    def arg(self, name: str, default: Any = None) -> Any:
        """The resolved value of argument ``name``."""
        for k, v in self.args:
            if k == name:
                return v
        return default

    def replace_arg(self, name: str, value: Any) -> LayerPlan:
        """A copy with argument ``name`` set to ``value``."""
        args = tuple((k, value if k == name else v) for k, v in self.args)
        return LayerPlan(self.type, self.path, self.name, args, self.block, self.inner)


@dataclass(frozen=True)
class NetworkPlan:
    """A whole network resolved for one configuration.

    Attributes:
      layers: the top-level layer plans, in order.
      final_activation: ``"softmax"``/``"sigmoid"`` when the Output layer has it (it is
        then removed from the plan, so the model returns logits), else None.
      dynamic: path -> :class:`Dyn` for every per-call value the plan reads.
    """

    layers: tuple[LayerPlan, ...]
    final_activation: str | None
    dynamic: Mapping[str, Dyn]


def module_name(path: str) -> str:
    """The submodule name for the last segment of an IR path: ``layers[3]`` -> ``layers_3``."""
    last = path.rsplit(".", 1)[-1] if path else "layer"
    return re.sub(r"[^0-9A-Za-z_]", "_", last).strip("_") or "layer"


def error(net: Network | None, layer: Layer | LayerPlan | Any, message: str,
          hint: str = "", backend: str = "jax") -> BackendError:
    """A :class:`BackendError` placed at ``layer`` in the source when it is known."""
    text = f"{layer.type} at {layer.path}: {message} (backend: {backend})"
    span = getattr(layer, "span", None)
    if net is not None and isinstance(layer, Layer):
        return net.source.error(BackendError, span, text, hint)
    return BackendError(text, hint=hint)


def _normalise(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _dynamic(value: Any, config: Mapping[str, Any], dyn: dict[str, Dyn], net: Network,
             layer: Layer, name: str, backend: str = "jax") -> Any:
    """A non-shape-affecting argument: a constant, or a :class:`Dyn` for an HPO value."""
    if not isinstance(value, HPO):
        return _normalise(value)
    chosen = config[value.path] if value.path in config else first_value(value)
    if isinstance(value, Choice) and not all(is_number(v) for v in value.values):
        options = tuple(_normalise(v) for v in value.values)
        if isinstance(chosen, int) and not isinstance(chosen, bool) and 0 <= chosen < len(options):
            index = chosen
        elif _normalise(chosen) in options:
            index = options.index(_normalise(chosen))
        else:
            raise error(net, layer, f"{chosen!r} is not an option of {value.path}",
                        f"use one of {', '.join(map(repr, value.values))}", backend=backend)
        d = Dyn(value.path, "index", options, index)
    else:
        d = Dyn(value.path, "float", (), float(chosen))
    dyn.setdefault(value.path, d)
    return d


class _Planner:
    def __init__(self, net: Network, config: Mapping[str, Any], backend: str = "jax") -> None:
        self.backend = backend
        self.net = net
        self.config = config
        self.dynamic: dict[str, Dyn] = {}

    def item(self, item: Any) -> LayerPlan:
        """A list entry: a Layer, or a layer choice resolved by its configured index."""
        name = module_name(item.path)
        if isinstance(item, Choice):
            return self.layer(item.values[self.index(item)], name)
        return self.layer(item, name)

    def index(self, choice: Choice) -> int:
        """The configured option of a layer choice (an index; a label is accepted too)."""
        from neural_jax.ir.config import choice_index
        from neural_jax.ir.printer import format_call

        value = resolve(choice, self.config)
        index = choice_index(choice.values, value)
        if index is None:
            labels = tuple(format_call(o) for o in choice.values)
            raise BackendError(
                f"{value!r} is not an option of the layer choice {choice.path} "
                f"(backend: {self.backend})",
                hint=f"use one of {', '.join(labels)} or an index in 0..{len(labels) - 1}")
        return index

    def layer(self, layer: Layer, name: str) -> LayerPlan:
        spec = LAYERS.get(layer.type)
        if spec is None:
            raise error(self.net, layer, "unknown layer kind", backend=self.backend)
        args: list[tuple[str, Any]] = []
        inner = None
        for key, value in layer.args.items():
            p = spec.param(key)
            if key == spec.wraps:
                if isinstance(value, Choice):
                    value = value.values[self.index(value)]
                inner = self.layer(value, "layer")
            elif p is not None and p.shape_affecting:
                args.append((key, _normalise(resolve(value, self.config))))
            else:
                args.append((key, _dynamic(value, self.config, self.dynamic, self.net,
                                           layer, key, self.backend)))
        block = None
        if layer.block is not None:
            block = tuple(self.item(it) for it in layer.block)
        return LayerPlan(layer.type, layer.path, name, tuple(args), block, inner)


def plan_network(net: Network, config: Mapping[str, Any], backend: str = "jax") -> NetworkPlan:
    """Resolves ``net`` for ``config``.

    Args:
      net: the network.
      config: ``{hpo_path: value}``; shape-affecting paths fix the structure, other paths
        set the defaults of the per-call values.
      backend: the backend named in errors.

    Returns:
      The :class:`NetworkPlan`.

    Raises:
      BackendError: a dynamic Output activation that includes softmax or sigmoid (the
        model returns logits for those, which must be known when it is built), or an
        out-of-range layer-choice index.
    """
    planner = _Planner(net, config, backend)
    plans = [planner.item(it) for it in net.layers]
    final = None
    if plans and plans[-1].type == "Output":
        act = plans[-1].arg("activation")
        if isinstance(act, Dyn):
            if any(o in ("softmax", "sigmoid") for o in act.options):
                raise error(net, plans[-1], "a searched Output activation that includes "
                            "softmax or sigmoid cannot be compiled once for all its values",
                            "fix the Output activation, or search an Activation layer before it",
                            backend=backend)
        elif act in ("softmax", "sigmoid"):
            final = act
            plans[-1] = plans[-1].replace_arg("activation", None)
    used: dict[str, Dyn] = {}
    _collect(plans, used)
    ordered = {p: planner.dynamic[p] for p in planner.dynamic if p in used}
    return NetworkPlan(tuple(plans), final, ordered)


def _collect(plans, out: dict[str, Dyn]) -> None:
    for p in plans:
        for _, v in p.args:
            if isinstance(v, Dyn):
                out[v.path] = v
        if p.block:
            _collect(p.block, out)
        if p.inner is not None:
            _collect((p.inner,), out)


def _constant(v: Any) -> Any:
    if not isinstance(v, Dyn):
        return v
    return v.options[int(v.default)] if v.kind == "index" else float(v.default)


def constant_plan(plan: NetworkPlan | LayerPlan | None) -> Any:
    """``plan`` with every :class:`Dyn` replaced by its configured value.

    Backends that build one model per configuration (the PyTorch and TensorFlow bridges,
    generated code) use this: a float per-call value becomes the float, an index becomes the
    option it names (``"gelu"``).
    """
    if plan is None:
        return None
    if isinstance(plan, NetworkPlan):
        return NetworkPlan(tuple(constant_plan(p) for p in plan.layers), plan.final_activation, {})
    args = tuple((k, _constant(v)) for k, v in plan.args)
    block = None if plan.block is None else tuple(constant_plan(p) for p in plan.block)
    return LayerPlan(plan.type, plan.path, plan.name, args, block, constant_plan(plan.inner))
