"""The PyTorch bridge: the same IR as a ``torch.nn.Module``, weights both ways, torch trials.

::

    module = build_module(net, config)            # one configuration of an IR Network
    y = module(x)                                 # channel-last x; logits as Model.apply
    load_jax_variables(module, variables)         # Flax variables -> module
    variables = to_jax_variables(module)          # and back (numpy arrays)
    save_state_dict(module, path); load_state_dict(module, path)
    result = train_trial(net, dataset, config)    # a MemberResult, trained in PyTorch

Every layer kind of SPEC §2 has one rule in :data:`RULES`; each computes exactly what the
Flax rule of :mod:`neural_jax.jax` computes (padding, kernels, gate orders, epsilons,
momentum conventions), and a layer or value torch cannot express raises
:class:`~bridges.errors.BackendError` naming the layer, its path and ``pytorch``.
The training side (:func:`train_trial`, :func:`build_optimizer`) is imported on first use,
so building and converting models does not load the training stack.
"""

from typing import Any

from bridges.errors import BackendError, WeightMismatch
from bridges.torch.model import TorchNetwork, build_module
from bridges.torch.rules import RULES, make_layer
from bridges.torch.weights import (
    load_jax_variables,
    load_state_dict,
    save_state_dict,
    to_jax_variables,
)

__all__ = [
    "RULES",
    "BackendError",
    "KerasOptimizer",
    "TorchNetwork",
    "WeightMismatch",
    "build_module",
    "build_optimizer",
    "load_jax_variables",
    "load_state_dict",
    "make_layer",
    "save_state_dict",
    "to_jax_variables",
    "train_trial",
]

_LAZY = {"train_trial": "bridges.torch.train", "build_optimizer": "bridges.torch.optim",
         "KerasOptimizer": "bridges.torch.optim"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bridges.torch' has no attribute {name!r}")
