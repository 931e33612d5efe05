"""Weights between a Keras model of the bridge and JAX variables, and Keras weight files.

A tensor is named by its JAX path: ``params/layers_3/block/block_0/kernel`` or
``batch_stats/layers_2/moving_mean``. The Keras model's layers carry the Flax module names,
so :func:`weight_table` finds every Keras variable's path by walking the layers: a built-in
leaf layer contributes its weights by Keras name (``kernel``, ``bias``, ``gamma``,
``moving_mean``, ``recurrent_kernel``, ...; the non-trainable ones, BatchNorm's moving
statistics, go to ``batch_stats``), Bidirectional its ``forward_layer`` /
``backward_layer``, and the layers of :mod:`bridges.tensorflow.custom` their own names.
Random-seed states of Keras' stochastic layers are not weights and are not transferred.

Layouts agree except the depthwise kernels: ``(*k, 1, C m)`` in Flax, ``(*k, C, m)`` in
Keras (DepthwiseConv2D's ``kernel``, SeparableConv2D's ``depthwise_kernel``); the same
numbers, reshaped.

Weight files are Keras' ``.weights.h5`` (``model.save_weights``). Before Keras reads one,
:func:`load_weights` compares every tensor of the file with the model and rejects a file
that does not fit with :class:`~bridges.errors.WeightMismatch` naming the first tensor that
is missing, unexpected or of another shape.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bridges.errors import BackendError, WeightMismatch
from bridges.tensorflow import custom
from bridges.tensorflow._keras import BACKEND, load

tf, keras = load()

__all__ = ["WeightEntry", "load_jax_variables", "load_weights", "save_weights",
           "to_jax_variables", "weight_table"]


@dataclass(frozen=True)
class WeightEntry:
    """One Keras variable and its JAX name.

    Attributes:
      path: ``(collection, module, ..., name)``, e.g. ``("params", "layers_0", "kernel")``.
      variable: the Keras variable.
      jax_shape: its shape in the JAX tree.
    """

    path: tuple[str, ...]
    variable: Any
    jax_shape: tuple[int, ...]

    @property
    def name(self) -> str:
        """``params/layers_0/kernel``."""
        return "/".join(self.path)

    def to_jax(self) -> np.ndarray:
        """The variable's value in the JAX layout."""
        return _numpy(self.variable).reshape(self.jax_shape)

    def assign_jax(self, value: np.ndarray) -> None:
        """Sets the variable from a value in the JAX layout."""
        shape = tuple(self.variable.shape)
        self.variable.assign(np.asarray(value, self.variable.dtype).reshape(shape))


def _numpy(var) -> np.ndarray:
    """A variable's value as a numpy array (through TensorFlow, without numpy's ``__array__``)."""
    return np.asarray(tf.convert_to_tensor(var.value).numpy())


def _depthwise(layer, var) -> bool:
    return ((isinstance(layer, keras.layers.DepthwiseConv2D) and var.name == "kernel")
            or (isinstance(layer, keras.layers.SeparableConv2D)
                and var.name == "depthwise_kernel"))


def _walk(layer, prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """``(module path + name, variable, owning layer)`` for every weight under ``layer``."""
    if isinstance(layer, custom.NeuralLayer):
        for name, var in layer.jax_params().items():
            yield prefix + (name,), var, layer
        for name, child in layer.jax_children().items():
            yield from _walk(child, prefix + (name,))
    elif isinstance(layer, keras.layers.Bidirectional):
        yield from _walk(layer.forward_layer, prefix + ("forward_layer",))
        yield from _walk(layer.backward_layer, prefix + ("backward_layer",))
    else:
        for var in layer.weights:
            yield prefix + (var.name,), var, layer


def weight_table(model) -> list[WeightEntry]:
    """Every weight of ``model`` with its JAX path, in the model's layer order."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        for path, var, owner in _walk(layer, (layer.name,)):
            shape = tuple(int(d) for d in var.shape)
            if _depthwise(owner, var):
                shape = shape[:-2] + (1, shape[-2] * shape[-1])
            collection = "params" if var.trainable else "batch_stats"
            out.append(WeightEntry((collection,) + path, var, shape))
    return out


def to_jax_variables(model) -> dict[str, dict]:
    """The model's weights as a JAX variables tree of numpy arrays.

    Returns:
      ``{"params": {...}, "batch_stats": {...}}`` with the structure
      ``neural_jax.jax.build_model(net, config).init(key, x)`` gives.
    """
    tree: dict[str, dict] = {"params": {}, "batch_stats": {}}
    for entry in weight_table(model):
        node = tree
        for key in entry.path[:-1]:
            node = node.setdefault(key, {})
        node[entry.path[-1]] = entry.to_jax()
    return tree


def _flatten(tree: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from _flatten(value, prefix + (str(key),))
    else:
        yield prefix, tree


def _mismatch(message: str, hint: str) -> WeightMismatch:
    return WeightMismatch(f"{message} (backend: {BACKEND})", hint=hint)


def load_jax_variables(model, variables: Mapping[str, Any]) -> None:
    """Copies JAX variables into the Keras model.

    Args:
      model: from :func:`bridges.tensorflow.build_model`.
      variables: ``{"params": ..., "batch_stats": ...}`` from the JAX model of the same
        network and configuration (``init`` or a trained copy).

    Raises:
      WeightMismatch: naming the first tensor that is missing, of another shape, or not
        in the model; nothing is copied then.
    """
    given = {path: leaf for path, leaf in _flatten(variables)}
    hint = "use variables of the same network and configuration"
    table = weight_table(model)
    for entry in table:
        if entry.path not in given:
            raise _mismatch(f"tensor {entry.name} {entry.jax_shape} is missing from the "
                            "variables", hint)
        shape = tuple(np.shape(given[entry.path]))
        if shape != entry.jax_shape:
            raise _mismatch(f"tensor {entry.name} has shape {shape} in the variables, the "
                            f"model expects {entry.jax_shape}", hint)
    known = {entry.path for entry in table}
    for path in given:
        if path not in known:
            raise _mismatch(f"tensor {'/'.join(path)} of the variables is not in the model",
                            hint)
    for entry in table:
        entry.assign_jax(np.asarray(given[entry.path]))


# --- Keras weight files -------------------------------------------------------------------

def save_weights(model, path: str | os.PathLike) -> None:
    """Writes the model's weights to a Keras ``.weights.h5`` file."""
    path = os.fspath(path)
    if not path.endswith(".weights.h5"):
        raise BackendError(f"weight file {path!r} must end in .weights.h5 (backend: {BACKEND})",
                           hint="name it like model.weights.h5")
    _keras_save(model, path)


def _keras_save(model, path: str) -> None:
    # Keras' writer converts tensors with np.array(copy=False), which numpy 2 warns about
    # for TensorFlow tensors; the file is right, the warning is not ours to act on.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept",
                                category=DeprecationWarning)
        model.save_weights(path)


def _h5_tensors(path: str) -> dict[str, tuple]:
    """``{dataset path: shape}`` of an HDF5 file, in file order."""
    import h5py

    out: dict[str, tuple] = {}

    def visit(name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset):
            out[name] = tuple(obj.shape)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def _file_layout(model) -> list[tuple[str, str, tuple]]:
    """``(dataset path, tensor name, shape)`` of the model's weight file, in model order.

    Keras names datasets by its object graph (``layers/dense_1/vars/0``). To know which
    tensor each one holds, every variable is set to its own index, the model is saved to a
    scratch file, and the variables are restored. Datasets that hold no model variable (an
    attached optimizer's state) keep their Keras path as name and come last.
    """
    table = {id(e.variable): e.name for e in weight_table(model)}
    variables = list(model.variables)
    saved = [_numpy(v) for v in variables]
    layout: list[tuple[float, str, str, tuple]] = []
    try:
        for i, v in enumerate(variables):
            v.assign(np.full(v.shape, i + 1, v.dtype))
        with tempfile.TemporaryDirectory() as tmp:
            scratch = os.path.join(tmp, "layout.weights.h5")
            _keras_save(model, scratch)
            import h5py

            with h5py.File(scratch, "r") as f:
                for name, shape in _h5_tensors(scratch).items():
                    data = np.asarray(f[name]).reshape(-1)
                    tag = int(data[0]) - 1 if data.size and np.all(data == data[0]) else -1
                    if 0 <= tag < len(variables) and tuple(variables[tag].shape) == shape:
                        var = variables[tag]
                        layout.append((tag, name, table.get(id(var), var.path), shape))
                    else:
                        layout.append((math.inf, name, name, shape))
    finally:
        for v, value in zip(variables, saved):
            v.assign(value)
    return [(name, tensor, shape) for _, name, tensor, shape in sorted(layout)]


def load_weights(model, path: str | os.PathLike) -> None:
    """Reads a Keras ``.weights.h5`` file written for this network into the model.

    The state of an optimizer saved with a compiled model is not compared (Keras loads it
    into a compiled model with an optimizer and skips it otherwise).

    Raises:
      BackendError: there is no such file, or it is not an HDF5 file.
      WeightMismatch: the file holds another network's weights; the message names the
        first tensor that is missing from the file, of another shape, or not in the model.
        The model is unchanged then.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise BackendError(f"there is no weight file {path!r} (backend: {BACKEND})",
                           hint="check the path; save_weights(model, path) writes one")
    try:
        found = _h5_tensors(path)
    except OSError as e:
        raise BackendError(f"{path!r} is not a Keras .weights.h5 file ({e}) "
                           f"(backend: {BACKEND})", hint="give a file save_weights wrote") from None
    hint = "load a file saved from the same network and configuration"
    # an optimizer's state is not part of the network; Keras skips what does not fit there
    found = {k: v for k, v in found.items() if not k.startswith("optimizer/")}
    layout = [row for row in _file_layout(model) if not row[0].startswith("optimizer/")]
    for dataset, tensor, shape in layout:
        if dataset not in found:
            raise _mismatch(f"tensor {tensor} {shape} is missing from {path}", hint)
        if tuple(found[dataset]) != tuple(shape):
            raise _mismatch(f"tensor {tensor} has shape {found[dataset]} in {path}, the model "
                            f"expects {shape}", hint)
    expected = {dataset for dataset, _, _ in layout}
    for dataset, shape in found.items():
        if dataset not in expected:
            raise _mismatch(f"tensor {dataset} {shape} of {path} is not in the model", hint)
    model.load_weights(path)
