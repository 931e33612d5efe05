"""``synthetic`` data shaped for a given network: ``neural hpo FILE --dataset synthetic``.

A user who has a network but no data yet (or a test) asks for ``synthetic``; without an
explicit ``input_shape`` the generator takes its options from the network:

* ``input_shape``: the network's input (batch axis dropped), an open axis (``None``, a
  variable-length sequence) given :data:`OPEN_AXIS_LENGTH` steps;
* classification with ``num_classes`` = the output width (2 for one sigmoid unit with
  ``binary_crossentropy``), regression with ``output_dim`` = the output width for a
  regression loss (:data:`neural_jax.ir.training.REGRESSION_LOSSES`: ``mse``, ``mae``,
  ``huber`` and their other names);
* ``vocab_size``: the first ``Embedding``'s ``input_dim`` (inputs are token ids);
* one-hot float labels for ``categorical_crossentropy`` (integer class ids otherwise).

Options given by the caller win over the derived ones.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from neural_jax.data._builtin import synthetic
from neural_jax.data._dataset import Dataset
from neural_jax.ir.training import is_regression_loss

__all__ = ["OPEN_AXIS_LENGTH", "is_regression_loss", "synthetic_options", "synthetic_for"]

#: what a sequence (or any other) axis the network leaves open, ``None``, is in the data
OPEN_AXIS_LENGTH = 16


def synthetic_options(net: Any) -> dict[str, Any]:
    """The ``synthetic`` options that fit ``net`` (a :class:`neural_jax.ir.nodes.Network`)."""
    from neural_jax.ir.checker import infer_shapes

    # an open axis (a variable-length sequence) gets a fixed length: dropping it would give
    # the network inputs of the wrong rank
    shape = tuple(OPEN_AXIS_LENGTH if d is None else int(d) for d in net.input_shape)
    out = infer_shapes(net, {})[-1][2]
    width = int(out[-1]) if out and out[-1] is not None else 1
    loss = (net.loss.name if net.loss is not None else "sparse_categorical_crossentropy").lower()
    opts: dict[str, Any] = {"input_shape": shape}
    if is_regression_loss(loss):
        opts.update(task="regression", output_dim=width)
    else:
        opts.update(task="classification", num_classes=max(2, width))
    vocab = next((layer.get("input_dim") for layer in net.walk_layers()
                  if layer.type == "Embedding"), None)
    if isinstance(vocab, int):
        opts["vocab_size"] = vocab
    return opts


def synthetic_for(net: Any, **options: Any) -> Dataset:
    """``synthetic(**synthetic_options(net), **options)``, one-hot for a one-hot loss."""
    ds = synthetic(**{**synthetic_options(net), **options})
    loss = net.loss.name.lower() if net.loss is not None else ""
    if loss == "categorical_crossentropy" and ds.num_classes:
        eye = np.eye(ds.num_classes, dtype=np.float32)
        ds = dataclasses.replace(ds, y_train=eye[ds.y_train], y_test=eye[ds.y_test])
    return ds
