"""The IR -> ``torch.nn.Module``: :func:`build_module` and the :class:`TorchNetwork` it returns.

A torch module is built for ONE configuration: the values that change shapes fix the
structure as on the JAX side, and the per-call values of the JAX model (dropout rates,
BatchNorm momentum, a searched activation...) become constants
(:func:`neural_jax.ir.plan.constant_plan`). Called on a channel-last batch it returns what
:meth:`neural_jax.jax.Model.apply` returns: the Output layer's pre-activation logits when
its activation is softmax or sigmoid (:attr:`TorchNetwork.final_activation` says which),
else the outputs. ``module.train()`` / ``module.eval()`` select training behaviour
(dropout, noise, batch statistics) as ``apply(train=...)`` does; a new module is in
evaluation mode, like ``apply``'s default ``train=False``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from bridges.torch.rules import Sequence
from neural_jax.ir.checker import infer_shapes
from neural_jax.ir.config import validate_config
from neural_jax.ir.defaults import default_config
from neural_jax.ir.nodes import Network
from neural_jax.ir.plan import BackendError, NetworkPlan, constant_plan, plan_network
from neural_jax.ir.registry import LAYERS

__all__ = ["TorchNetwork", "build_module"]

Tensor = torch.Tensor


class TorchNetwork(Sequence):
    """A network built for one configuration; its children are ``layers_0``, ``layers_1``...

    Attributes:
      network: the IR it was built from.
      config: the full configuration (shape-affecting defaults filled in).
      plan: the constant layer plans.
      input_shape: the input shape without the batch axis.
      output_shape: the checker's output shape without the batch axis.
    """

    def __init__(self, net: Network, config: Mapping[str, Any], plan: NetworkPlan,
                 output_shape: tuple) -> None:
        super().__init__(plan.layers, tuple(net.input_shape))
        self.network = net
        self.config = dict(config)
        self.plan = plan
        self.input_shape = tuple(net.input_shape)
        self.output_shape = tuple(output_shape)
        self.takes_ids = bool(plan.layers) and LAYERS[plan.layers[0].type].takes_ids

    @property
    def final_activation(self) -> str | None:
        """``"softmax"``/``"sigmoid"`` of the Output layer (not applied by ``forward``), or None."""
        return self.plan.final_activation

    def _prepare(self, x: Any) -> Tensor:
        x = torch.as_tensor(x)
        want, got = self.input_shape, tuple(x.shape[1:])
        if len(got) != len(want) or any(w is not None and w != g for w, g in zip(want, got)):
            dims = ", ".join("None" if d is None else str(d) for d in want)
            raise BackendError(
                f"network '{self.network.name}' takes inputs of shape (batch, {dims}), got "
                f"{tuple(x.shape)} (backend: pytorch)",
                hint="reshape the data to the network's input: shape")
        if not self.takes_ids and x.dtype != torch.float32:
            x = x.float()  # as JAX without x64: every non-id input becomes float32
        return x

    def forward(self, x: Any) -> Tensor:
        """Runs the network on a channel-last batch (token ids when it starts with Embedding).

        Returns:
          The outputs; logits when :attr:`final_activation` is set.
        """
        return super().forward(self._prepare(x))

    def predict(self, x: Any) -> Tensor:
        """The outputs with the final softmax/sigmoid applied (evaluation mode, no gradient)."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                y = self(x)
        finally:
            self.train(was_training)
        if self.final_activation == "softmax":
            return torch.softmax(y, dim=-1)
        if self.final_activation == "sigmoid":
            return torch.sigmoid(y)
        return y


def _top_level_output(rows) -> tuple:
    top = [r for r in rows if r[3] == 0]
    return tuple(top[-1][2]) if top else ()


def build_module(net: Network, config: Mapping[str, Any] | None = None) -> TorchNetwork:
    """Builds the torch module of ``net`` for one configuration.

    Args:
      net: a network from :func:`neural_jax.parse`.
      config: ``{hpo_path: value}``; missing shape-affecting values take the checker's
        defaults, missing per-call values their defaults, as in
        :func:`neural_jax.jax.build_model`.

    Returns:
      A :class:`TorchNetwork` in evaluation mode (call ``.train()`` to train it); its
      parameters are drawn from torch's global generator with Keras' initialisers.

    Raises:
      NeuralValidationError: the configuration gives a layer an input it cannot take.
      BackendError: a layer or value PyTorch cannot express exactly.
    """
    full = {**default_config(net), **validate_config(net, config)}
    rows = infer_shapes(net, full)
    plan = constant_plan(plan_network(net, full, backend="pytorch"))
    return TorchNetwork(net, full, plan, _top_level_output(rows)).eval()
