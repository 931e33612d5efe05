"""The TensorFlow bridge: the same IR as a Keras 3 model on TensorFlow.

::

    from bridges.tensorflow import build_model, load_jax_variables, to_jax_variables

    model = build_model(net, config)          # keras.Model for one configuration
    load_jax_variables(model, jax_variables)  # from neural_jax.jax.build_model(...).init(...)
    y = model(x, training=False)              # what the JAX Model.apply returns
    result = train_trial(net, load("digits"), config)   # a trial trained in Keras

The model computes what the Flax rules of :mod:`neural_jax.jax` compute, including their
deviations from plain Keras (see :mod:`.layers` and :mod:`.custom`): it returns the Output
layer's logits when its activation is softmax or sigmoid (``model.final_activation``).
Weights travel by JAX path (:mod:`.weights`); weight files are Keras ``.weights.h5``.
Training (:mod:`.train`) mirrors :class:`neural_jax.train.Trainer` with Keras optimizers
that follow the optax chains of :mod:`neural_jax.train.optimizers` (:mod:`.optim`) and the
losses and metrics of :mod:`neural_jax.train` (:mod:`.losses`).

Keras must run on TensorFlow: the bridge sets ``KERAS_BACKEND=tensorflow`` when nothing
else has chosen a backend and raises :class:`~bridges.errors.BackendError` otherwise. A
layer or value Keras cannot express exactly raises ``BackendError`` naming the layer, its
path and the backend.
"""

from __future__ import annotations

from bridges.errors import BackendError, WeightMismatch
from bridges.tensorflow.layers import RULES, make_layer
from bridges.tensorflow.model import NetworkInfo, build_model
from bridges.tensorflow.optim import build_optimizer, build_schedule
from bridges.tensorflow.train import train_trial
from bridges.tensorflow.weights import (
    load_jax_variables,
    load_weights,
    save_weights,
    to_jax_variables,
)

__all__ = [
    "RULES",
    "BackendError",
    "NetworkInfo",
    "WeightMismatch",
    "build_model",
    "build_optimizer",
    "build_schedule",
    "load_jax_variables",
    "load_weights",
    "make_layer",
    "save_weights",
    "to_jax_variables",
    "train_trial",
]
