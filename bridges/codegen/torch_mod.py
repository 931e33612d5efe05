"""What a PyTorch layer emitter returns: a module expression and its activation.

:class:`Mod` holds a torch module expression (a :class:`~bridges.codegen.source.Call`)
and the name of the activation applied to its output; :data:`ACTIVATIONS` gives each DSL
activation as a module (for ``nn.Sequential``) and as a function of a tensor (for
``forward``), with Keras 3's definitions (exact ``gelu``, ``leaky_relu`` slope 0.2).
"""

from __future__ import annotations

from dataclasses import dataclass

from bridges.codegen.source import Call

__all__ = ["ACTIVATIONS", "FUNCTIONS", "Mod"]

#: activation -> (module expression, function of "x")
ACTIVATIONS = {
    "linear": ("nn.Identity()", "{x}"), "relu": ("nn.ReLU()", "torch.relu({x})"),
    "gelu": ("nn.GELU()", "F.gelu({x})"), "tanh": ("nn.Tanh()", "torch.tanh({x})"),
    "sigmoid": ("nn.Sigmoid()", "torch.sigmoid({x})"),
    "softmax": ("nn.Softmax(dim=-1)", "torch.softmax({x}, dim=-1)"),
    "elu": ("nn.ELU()", "F.elu({x})"), "selu": ("nn.SELU()", "F.selu({x})"),
    "swish": ("nn.SiLU()", "F.silu({x})"), "silu": ("nn.SiLU()", "F.silu({x})"),
    "leaky_relu": ("nn.LeakyReLU(0.2)", "F.leaky_relu({x}, 0.2)"),
    "softplus": ("nn.Softplus()", "F.softplus({x})"),
}
#: activation -> a plain function (for the KerasRNN helper)
FUNCTIONS = {"linear": "nn.Identity()", "relu": "torch.relu", "gelu": "F.gelu",
             "tanh": "torch.tanh", "sigmoid": "torch.sigmoid", "softmax": "nn.Softmax(-1)",
             "elu": "F.elu", "selu": "F.selu", "swish": "F.silu", "silu": "F.silu",
             "leaky_relu": "nn.LeakyReLU(0.2)", "softplus": "F.softplus"}


@dataclass
class Mod:
    """A module expression and the activation (or None) applied to its output."""

    expr: Call | str
    act: str | None = None

    def items(self) -> list[Call | str]:
        """The module, then the activation module, for an ``nn.Sequential``."""
        if self.act in (None, "linear"):
            return [self.expr]
        return [self.expr, ACTIVATIONS[self.act][0]]

    def single(self) -> Call | str:
        """One module expression (a Sequential when there is an activation)."""
        items = self.items()
        return items[0] if len(items) == 1 else Call("nn.Sequential", items)

