"""Weights across backends: Flax variables <-> a torch module, and torch state_dict files.

A torch module's sub-module path is its Flax module path (see :mod:`bridges.torch.slots`),
so ``variables["params"]["layers_2"]["block"]["block_0"]["kernel"]`` is the tensor
``layers_2.block.block_0.weight`` in the layer's torch layout. Every transfer checks the
whole tree before it copies anything and rejects a tree or file that does not fit with a
:class:`~bridges.errors.WeightMismatch` naming the first tensor that differs (in the
module's order: missing or of another shape; then the first unexpected one).
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from bridges.errors import WeightMismatch
from bridges.torch.slots import BridgeLayer, Slot

__all__ = ["load_jax_variables", "load_state_dict", "save_state_dict", "to_jax_variables"]

_BACKEND = "(backend: pytorch)"


def _slots(module: nn.Module) -> Iterator[tuple[tuple[str, ...], BridgeLayer, Slot]]:
    """``(flax path, layer, slot)`` for every tensor of ``module``, in module order."""
    for name, sub in module.named_modules():
        if isinstance(sub, BridgeLayer):
            path = tuple(name.split(".")) if name else ()
            for slot in sub.slots:
                yield (slot.collection, *path, slot.jax_name), sub, slot


def _flatten(tree: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(tree, Mapping):
        out: dict[tuple[str, ...], Any] = {}
        for k, v in tree.items():
            out.update(_flatten(v, prefix + (str(k),)))
        return out
    return {prefix: tree}


def _name(key: tuple[str, ...]) -> str:
    return "/".join(key)


def _network(module: nn.Module) -> str:
    net = getattr(module, "network", None)
    return f"network '{net.name}'" if net is not None else "the module"


def load_jax_variables(module: nn.Module, variables: Mapping[str, Any]) -> nn.Module:
    """Copies Flax variables (``{"params": ..., "batch_stats": ...}``) into ``module``.

    Args:
      module: from :func:`bridges.torch.build_module`.
      variables: as produced by ``neural_jax.jax.build_model(net, config).init(key, x)``
        (JAX or numpy arrays) for the same network and configuration.

    Returns:
      ``module``, for chaining.

    Raises:
      WeightMismatch: a tensor is missing, unexpected or of another shape; nothing is
        copied then.
    """
    given = _flatten(dict(variables))
    plan = []
    for key, layer, slot in _slots(module):
        if key not in given:
            raise WeightMismatch(
                f"the variables do not fit {_network(module)}: tensor {_name(key)} is "
                f"missing {_BACKEND}",
                hint="pass the variables of the same network and configuration")
        value = np.asarray(given.pop(key))
        if tuple(value.shape) != slot.keras_shape:
            raise WeightMismatch(
                f"the variables do not fit {_network(module)}: tensor {_name(key)} has shape "
                f"{tuple(value.shape)}, the module expects {slot.keras_shape} {_BACKEND}",
                hint="pass the variables of the same network and configuration")
        plan.append((layer, slot, value))
    if given:
        key = next(iter(given))
        raise WeightMismatch(
            f"the variables do not fit {_network(module)}: tensor {_name(key)} is "
            f"unexpected {_BACKEND}",
            hint="pass the variables of the same network and configuration")
    with torch.no_grad():
        for layer, slot, value in plan:
            target = getattr(layer, slot.torch_name)
            source = torch.from_numpy(np.array(value, dtype=np.float32))
            target.copy_(slot.layout.to_torch(source, slot.keras_shape))
    return module


def to_jax_variables(module: nn.Module) -> dict[str, dict]:
    """The module's tensors as a Flax variables tree of numpy arrays (Keras layouts).

    Returns:
      ``{"params": {...}, "batch_stats": {...}}``, the structure
      ``neural_jax.jax.build_model(...).init`` gives; :func:`load_jax_variables` inverts it
      exactly.
    """
    out: dict[str, dict] = {"params": {}, "batch_stats": {}}
    for key, layer, slot in _slots(module):
        tensor = getattr(layer, slot.torch_name).detach().cpu()
        node = out
        for part in key[:-1]:
            node = node.setdefault(part, {})
        node[key[-1]] = slot.layout.to_keras(tensor, slot.keras_shape).contiguous().numpy()
    return out


def save_state_dict(module: nn.Module, path: str | os.PathLike) -> None:
    """Writes ``module.state_dict()`` to ``path`` with ``torch.save``."""
    torch.save(module.state_dict(), os.fspath(path))


def load_state_dict(module: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Loads a file written by :func:`save_state_dict` (or any torch state_dict file).

    Raises:
      WeightMismatch: the file is missing or unreadable, or a tensor in it is missing,
        unexpected or of another shape (the first such tensor is named); nothing is loaded
        then.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightMismatch(f"no state_dict file at {path} {_BACKEND}",
                             hint="check the path; save_state_dict(module, path) writes one")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    # what torch raises for a file that is not a checkpoint
    except (RuntimeError, ValueError, EOFError, OSError, TypeError, AttributeError,
            pickle.UnpicklingError, zipfile.BadZipFile) as e:
        raise WeightMismatch(f"{path} is not a torch state_dict file: {e} {_BACKEND}",
                             hint="write it with save_state_dict(module, path)") from None
    if not isinstance(state, Mapping):
        raise WeightMismatch(f"{path} holds a {type(state).__name__}, not a state_dict "
                             f"{_BACKEND}", hint="write it with save_state_dict(module, path)")
    expected = module.state_dict()
    for key, tensor in expected.items():
        if key not in state:
            raise WeightMismatch(
                f"{path} does not fit {_network(module)}: tensor {key} is missing {_BACKEND}",
                hint="load a file saved from the same network and configuration")
        got = state[key]
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(tensor.shape):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise WeightMismatch(
                f"{path} does not fit {_network(module)}: tensor {key} has shape {shape}, "
                f"the module expects {tuple(tensor.shape)} {_BACKEND}",
                hint="load a file saved from the same network and configuration")
    for key in state:
        if key not in expected:
            raise WeightMismatch(
                f"{path} does not fit {_network(module)}: tensor {key} is unexpected "
                f"{_BACKEND}", hint="load a file saved from the same network and configuration")
    module.load_state_dict(state)
    return module
