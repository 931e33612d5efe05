"""One trial trained in TensorFlow/Keras, with the settings and records of the JAX trainer.

:func:`train_trial` mirrors :meth:`neural_jax.train.Trainer.fit`:

* settings from :func:`neural_jax.train.spec.training_spec` (loss, metrics, optimizer and
  schedule, epochs, batch size, validation split, seed, patience, monitor);
* data from ``dataset.fit_to(net.input_shape)`` and the same stratified
  ``split_validation(spec.validation_split, seed=spec.seed)``;
* each epoch permutes the training set and runs every full batch (the last partial batch
  is dropped, so one shape serves every step) in one ``tf.function`` whose loop is a graph
  loop, traced once per run; evaluation runs padded batches with a mask, so every example
  counts once, also traced once;
* history: one dict per epoch with ``epoch``, ``loss``, the train metrics, ``val_loss``,
  ``val_<metric>`` and ``seconds`` (the JAX trainer's keys);
* a NaN/inf epoch loss stops the run as failed (the message names the epoch); ``patience``
  stops it when the monitored value has not improved for more than ``patience`` epochs,
  and the best weights are kept.

Randomness (initial weights, dropout, noise) comes from ``keras.utils.set_random_seed(
spec.seed)`` and the shuffles from a numpy generator seeded with ``spec.seed``; the numbers
differ from the JAX run's, the procedure does not.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from bridges.tensorflow._keras import load
from bridges.tensorflow.losses import loss_fn, metric_fn
from bridges.tensorflow.model import build_model, input_dtype
from bridges.tensorflow.optim import build_optimizer
from bridges.tensorflow.weights import to_jax_variables
from neural_jax.data import Dataset
from neural_jax.executors.outcome import TrialOutcome as MemberResult
from neural_jax.ir.config import validate_config
from neural_jax.ir.defaults import default_config
from neural_jax.ir.nodes import Network
from neural_jax.population.loop import fit_epochs, prepare_data
from neural_jax.train.losses import get_loss
from neural_jax.train.metrics import get_metric
from neural_jax.train.spec import check_loss_labels, training_spec

tf, keras = load()

__all__ = ["train_trial"]


def _metrics(spec, loss, final_activation) -> dict:
    """History key -> configured Metric, exactly as the JAX trainer names and builds them."""
    out = {}
    for name, params in spec.metrics:
        if name == "loss":
            continue
        key = name if name != "top_k_accuracy" else f"top_{params.get('k', 5)}_accuracy"
        extra: dict[str, Any] = {"loss": loss} if name == "accuracy" else {}
        if name in ("accuracy", "mae", "mse", "mean_absolute_error", "mean_squared_error"):
            extra["final_activation"] = final_activation
        out[key] = get_metric(name, **params, **extra)
    return out


class _Program:
    """The compiled train epoch and eval batch of one model."""

    def __init__(self, model, optimizer, loss, metrics, batch_size: int) -> None:
        self.model, self.optimizer = model, optimizer
        self.loss, self.metrics = loss, metrics
        self.batch_size = batch_size
        self.optimizer.build(model.trainable_variables)
        self.train_epoch = tf.function(self._train_epoch)
        self.eval_batch = tf.function(self._eval_batch)

    def _stats(self, z, y, mask=None) -> dict:
        out = {}
        for key, fn in self.metrics.items():
            v = fn(z, y)
            m = tf.ones_like(v) if mask is None else mask
            out[key] = tf.stack([tf.reduce_sum(v * m), tf.reduce_sum(m)])
        return out

    def _train_epoch(self, x, y, perm):
        model, variables = self.model, self.model.trainable_variables
        n_steps = tf.shape(perm)[0]
        total = tf.constant(0.0)
        stats = {k: tf.zeros([2]) for k in self.metrics}
        for i in tf.range(n_steps):
            xb, yb = tf.gather(x, perm[i]), tf.gather(y, perm[i])
            with tf.GradientTape() as tape:
                z = model(xb, training=True)
                loss = tf.reduce_mean(self.loss(z, yb))
            grads = tape.gradient(loss, variables)
            self.optimizer.apply_gradients(zip(grads, variables))
            total += loss
            new = self._stats(z, yb)
            stats = {k: stats[k] + new[k] for k in stats}
        return total / tf.cast(n_steps, tf.float32), stats

    def _eval_batch(self, x, y, mask):
        z = self.model(x, training=False)
        out = {"loss": tf.stack([tf.reduce_sum(self.loss(z, y) * mask), tf.reduce_sum(mask)])}
        out.update(self._stats(z, y, mask))
        return out

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Metrics over all of ``x`` (padded batches, masked), like ``Trainer.evaluate``."""
        if len(x) == 0:
            return {}
        bs = min(self.batch_size * 4, 1024)
        n = math.ceil(len(x) / bs)
        pad = n * bs - len(x)
        xp = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
        yp = np.concatenate([y, np.zeros((pad,) + y.shape[1:], y.dtype)])
        mask = np.concatenate([np.ones(len(x), np.float32), np.zeros(pad, np.float32)])
        sums: dict[str, np.ndarray] = {}
        for i in range(n):
            part = slice(i * bs, (i + 1) * bs)
            out = self.eval_batch(xp[part], yp[part], mask[part])
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + v.numpy()
        # sorted, as the JAX trainer's dicts come out of jit
        return {k: _mean(sums[k]) for k in sorted(sums)}


def _mean(stats) -> float:
    total, count = float(stats[0]), float(stats[1])
    return total / max(count, 1.0) if count > 0 else 0.0


def train_trial(net: Network, dataset: Dataset, config: Mapping[str, Any] | None = None,
                overrides: Mapping[str, Any] | None = None, index: int = 0, *,
                on_epoch: Callable[[int, dict], None] | None = None,
                should_stop: Callable[[int, float], bool] | None = None) -> MemberResult:
    """Trains one configuration of ``net`` in Keras (see the module docstring).

    Args:
      net: the network.
      dataset: the data; fitted to the network's input and split as the JAX trainer does.
      config: HPO values by path (missing ones: the defaults).
      overrides: ``epochs``, ``batch_size``, ``seed``, ``validation_split``, ``patience``.
      index: the trial's position, stored in the result.
      on_epoch: called as ``on_epoch(epoch, record)`` after each finished epoch.
      should_stop: a search's early stopping, ``should_stop(epoch, score)``
        (:func:`neural_jax.population.loop.fit_epochs`).

    Returns:
      A :class:`~neural_jax.population.MemberResult` whose ``variables`` is the kept
      (best) weights as a JAX variables tree of numpy arrays (:func:`to_jax_variables`), so
      ``neural_jax.jax`` can evaluate them; ``val`` and ``test`` are the metrics of those
      weights (empty when the run failed).

    Raises:
      TrainConfigError: a loss, metric or optimizer setting the JAX registries reject.
      BackendError: a layer, loss or metric this bridge cannot express.
      ValueError: ``batch_size`` larger than the training set.
    """
    full = {**default_config(net), **validate_config(net, config)}
    spec = training_spec(net, full, overrides)
    keras.utils.set_random_seed(spec.seed)
    model = build_model(net, full)
    loss = get_loss(spec.loss, final_activation=model.final_activation, **spec.loss_params)
    tf_loss = loss_fn(loss)
    metrics = {k: metric_fn(m, tf_loss)
               for k, m in _metrics(spec, loss, model.final_activation).items()}
    optimizer = build_optimizer(spec.optimizer, spec.optimizer_args)

    check_loss_labels(net, dataset, full, spec.loss)
    data = prepare_data(dataset, net.input_shape, spec)
    n_steps = data.n_steps
    dtype = input_dtype(net)

    def cast(a: np.ndarray) -> np.ndarray:  # floats for the network, ids for an Embedding
        return np.asarray(a, dtype)

    program = _Program(model, optimizer, tf_loss, metrics, spec.batch_size)
    x_data, y_data = tf.constant(cast(data.x_train)), tf.constant(data.y_train)
    rng = np.random.default_rng(spec.seed)

    def train_epoch(epoch: int) -> dict[str, float]:
        perm = rng.permutation(len(data.x_train))[: n_steps * spec.batch_size]
        loss_value, stats = program.train_epoch(
            x_data, y_data, tf.constant(perm.reshape(n_steps, spec.batch_size), tf.int32))
        return {"loss": float(loss_value), **{k: _mean(stats[k].numpy()) for k in sorted(stats)}}

    evaluate = None
    if data.x_val is not None:
        x_val = cast(data.x_val)

        def evaluate() -> dict[str, float]:
            return program.evaluate(x_val, data.y_val)

    out = fit_epochs(spec, train_epoch, evaluate, model.get_weights, on_epoch, should_stop)
    model.set_weights(out.variables)
    val = evaluate() if evaluate is not None and not out.failed else {}
    test = (program.evaluate(cast(data.x_test), data.y_test)
            if not out.failed and len(data.x_test) else {})
    return dataclasses.replace(out, index=index, config=dict(full), val=val, test=test,
                               variables=to_jax_variables(model))
