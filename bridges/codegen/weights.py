"""Trained weights in the layout of a generated script's model.

A generated script names its layers for readers (``conv2d_0.layer.weight``) while the
bridge's module follows the Flax tree (``layers_0.weight``), and a generated Keras model may
build a layer from other Keras classes than the bridge does. :func:`torch_state_dict` and
:func:`keras_model` therefore build the script's own model (its source, run as a module),
copy the bridge model's trained tensors into it in order, and check that both models give
the same outputs on a random batch before anything is written; a layer whose tensors the two
lay out differently is a :class:`~bridges.errors.WeightMismatch` naming it.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

import numpy as np

from bridges.errors import WeightMismatch

__all__ = ["keras_model", "script_namespace", "torch_state_dict"]


def script_namespace(net, backend: str, config: Mapping[str, Any]) -> types.ModuleType:
    """The generated script for ``net``/``config``, run as a module (its ``main`` is not)."""
    from bridges.codegen.api import generate_code

    source = generate_code(net, backend, dict(config))
    module = types.ModuleType(f"generated_{backend}_{net.name}")
    exec(compile(source, f"<generated {backend} script>", "exec"), module.__dict__)  # noqa: S102
    return module


def _probe(net) -> np.ndarray:
    shape = (2,) + tuple(16 if d is None else int(d) for d in net.input_shape)
    rng = np.random.default_rng(0)
    from neural_jax.ir.defaults import default_config
    from neural_jax.ir.plan import plan_network

    plan = plan_network(net, default_config(net))
    if plan.layers and plan.layers[0].type == "Embedding":
        return rng.integers(0, int(plan.layers[0].arg("input_dim")), size=shape)
    return rng.normal(size=shape).astype(np.float32)


def _same(a: np.ndarray, b: np.ndarray, what: str, net) -> None:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-5):
        diff = float(np.abs(a - b).max()) if a.shape == b.shape else float("nan")
        raise WeightMismatch(
            f"the weights of network '{net.name}' do not reproduce its outputs in the "
            f"generated {what} script (largest difference {diff:.3g})",
            hint="load them with the bridge instead (`neural export --layout bridge`)")


def torch_state_dict(net, config: Mapping[str, Any], module) -> dict[str, Any]:
    """The trained bridge ``module``'s tensors as a ``state_dict`` of the generated
    PyTorch script's ``Model`` (``model.load_state_dict(torch.load(path))`` reads it)."""
    import torch

    script = script_namespace(net, "pytorch", config)
    torch.manual_seed(0)
    model = script.build_model()
    source = [(k, v) for k, v in module.state_dict().items() if v.is_floating_point()]
    out, i = {}, 0
    for key, target in model.state_dict().items():
        if not target.is_floating_point():  # e.g. BatchNorm's num_batches_tracked
            out[key] = target
            continue
        if i < len(source) and tuple(source[i][1].shape) == tuple(target.shape):
            out[key] = source[i][1].detach().clone()
            i += 1
        elif "bias_hh" in key:  # torch's recurrent layers have a second bias, Keras' one
            out[key] = torch.zeros_like(target)
        else:
            got = f"{source[i][0]} {tuple(source[i][1].shape)}" if i < len(source) else "nothing"
            raise WeightMismatch(
                f"tensor {key} {tuple(target.shape)} of the generated PyTorch script of "
                f"network '{net.name}' has no counterpart in the trained model (next: {got})",
                hint="load the weights with the bridge (`neural export --layout bridge`)")
    if i != len(source):
        raise WeightMismatch(
            f"the trained model of network '{net.name}' has {len(source) - i} tensors the "
            f"generated PyTorch script does not (first: {source[i][0]})",
            hint="load the weights with the bridge (`neural export --layout bridge`)")
    model.load_state_dict(out)
    model.eval()
    module.eval()
    x = torch.as_tensor(_probe(net))
    with torch.no_grad():
        _same(model(x).numpy(), module(x).numpy(), "PyTorch", net)
    return model.state_dict()


def keras_model(net, config: Mapping[str, Any], model) -> Any:
    """The generated Keras script's model holding the trained bridge ``model``'s weights
    (its ``save_weights`` file loads with the script's ``model.load_weights(path)``)."""
    script = script_namespace(net, "tensorflow", config)
    target = script.build_model()
    x = _probe(net)
    target(x[:1])
    src, dst = model.get_weights(), target.get_weights()
    if [w.shape for w in src] != [w.shape for w in dst]:
        raise WeightMismatch(
            f"the generated Keras script of network '{net.name}' holds its weights in other "
            f"shapes than the trained model ({len(dst)} arrays vs {len(src)})",
            hint="load the weights with the bridge (bridges.tensorflow.load_weights)")
    target.set_weights(src)
    _same(np.asarray(target(x, training=False)), np.asarray(model(x, training=False)),
          "TensorFlow", net)
    return target
