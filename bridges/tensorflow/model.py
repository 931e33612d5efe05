"""The IR -> Keras model: :func:`build_model` for one configuration of a network.

::

    model = build_model(net, {"layers[1].units": 64})
    y = model(x, training=False)      # x channel-last: (batch, *spatial, channels)

The model is a functional ``keras.Model`` whose top-level layers are named like the Flax
submodules (``layers_0``, ``layers_1``, ...). It returns what
:meth:`neural_jax.jax.Model.apply` returns: the Output layer's pre-activation logits when
its activation is softmax or sigmoid (``model.final_activation`` says which), else the
outputs. ``model.neural`` holds the network, the full configuration and the plan.

Every searched value is fixed by the configuration (missing ones take the checker's
defaults): a Keras model is one configuration, so per-call values of the JAX backend
(dropout rates, noise, BatchNorm momentum, activation choices) are constants here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridges.tensorflow._keras import load
from bridges.tensorflow.layers import make_layer
from neural_jax.ir.checker import infer_shapes
from neural_jax.ir.config import validate_config
from neural_jax.ir.defaults import default_config
from neural_jax.ir.nodes import Network
from neural_jax.ir.plan import NetworkPlan, constant_plan, plan_network
from neural_jax.ir.registry import LAYERS

tf, keras = load()

__all__ = ["NetworkInfo", "build_model", "input_dtype"]


@dataclass(frozen=True)
class NetworkInfo:
    """What a Keras model was built from (``model.neural``).

    Attributes:
      network: the IR.
      config: the full configuration (defaults filled in).
      plan: the constant plan the layers were built from.
      input_shape: the input shape without the batch axis.
      output_shape: the checker's output shape without the batch axis.
    """

    network: Network = field(repr=False)
    config: Mapping[str, Any]
    plan: NetworkPlan = field(repr=False)
    input_shape: tuple
    output_shape: tuple

    @property
    def final_activation(self) -> str | None:
        """``"softmax"``/``"sigmoid"`` of the Output layer (not applied by the model), or None."""
        return self.plan.final_activation


def input_dtype(net: Network) -> str:
    """``"int32"`` when the first layer takes token ids (an Embedding), else ``"float32"``."""
    first = net.layers[0] if net.layers else None
    spec = LAYERS.get(getattr(first, "type", None))
    return "int32" if spec is not None and spec.takes_ids else "float32"


def build_model(net: Network, config: Mapping[str, Any] | None = None) -> Any:
    """Builds the Keras model of ``net`` for one configuration.

    Args:
      net: a network from :func:`neural_jax.parse`.
      config: ``{hpo_path: value}``; missing values take the checker's defaults.

    Returns:
      A functional ``keras.Model`` taking ``(batch, *net.input_shape)`` inputs, with the
      attributes ``final_activation`` (``"softmax"``, ``"sigmoid"`` or None) and ``neural``
      (a :class:`NetworkInfo`).

    Raises:
      NeuralValidationError: the configuration gives a layer an input it cannot take.
      BackendError: a layer or value Keras cannot express exactly (the message names the
        layer, its path and the backend).
    """
    full = {**default_config(net), **validate_config(net, config)}
    rows = infer_shapes(net, full)
    plan = constant_plan(plan_network(net, full, backend="tensorflow"))
    top = [r for r in rows if r[3] == 0]
    out_shape = tuple(top[-1][2]) if top else tuple(net.input_shape)
    inputs = keras.Input(shape=tuple(net.input_shape), dtype=input_dtype(net), name="inputs")
    x = inputs
    for p in plan.layers:
        x = make_layer(p)(x)
    model = keras.Model(inputs, x, name=_model_name(net.name))
    model.final_activation = plan.final_activation
    model.neural = NetworkInfo(net, full, plan, tuple(net.input_shape), out_shape)
    return model


def _model_name(name: str) -> str:
    return (name or "network").replace("/", "_")
