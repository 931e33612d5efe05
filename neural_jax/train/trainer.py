"""Training one configuration of a network: jit-compiled epochs over device-resident data.

Each epoch is one compiled call: the training set (already on the device) is permuted with
``jax.random`` and ``lax.scan`` runs every full batch (the last partial batch is dropped,
as shuffled JAX input pipelines do, so that one shape serves every step). Evaluation runs
padded batches with a mask, so every example counts once. The train epoch and the eval pass
each compile once per run (see ``Trainer.compilations``).

Early stopping watches ``monitor`` (``val_loss`` by default) with ``patience`` epochs and
keeps the best weights. A non-finite training loss stops the run and marks it failed.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from neural_jax.core.errors import MessageError
from neural_jax.data import Dataset
from neural_jax.ir.nodes import Network
from neural_jax.train.loop import fit_epochs, prepare_data
from neural_jax.train.losses import get_loss
from neural_jax.train.metrics import get_metric, mean_from_stats
from neural_jax.train.optimizers import build_optimizer
from neural_jax.train.spec import TrainSpec, bind_config, check_loss_labels, training_spec

__all__ = ["TrainResult", "Trainer", "TrainingDiverged", "train"]


class TrainingDiverged(MessageError, RuntimeError):
    """The loss became NaN or infinite; ``epoch`` says when."""

    def __init__(self, message: str, epoch: int) -> None:
        super().__init__(message)
        self.epoch = epoch


@dataclasses.dataclass
class TrainResult:
    """What one run produced.

    Attributes:
      history: one dict per epoch: ``loss``, each metric, ``val_loss``, ``val_<metric>``,
        ``seconds``.
      val: validation metrics of the kept (best) weights.
      test: test metrics of the kept weights (never used for any choice).
      variables: the kept model variables.
      config: the HPO values the run used.
      spec: the resolved training settings.
      failed: whether the run diverged; ``message`` says how.
    """

    history: list[dict[str, float]]
    val: dict[str, float]
    test: dict[str, float]
    variables: Any
    config: dict[str, Any]
    spec: TrainSpec
    failed: bool = False
    message: str = ""
    stopped_early: bool = False
    best_epoch: int = 0
    samples_per_second: float = 0.0


def _metric_fns(spec: TrainSpec, loss, final_activation):
    fns = {}
    for name, params in spec.metrics:
        if name == "loss":
            continue
        key = name if name != "top_k_accuracy" else f"top_{params.get('k', 5)}_accuracy"
        extra = {"loss": loss} if name == "accuracy" else {}
        if name in ("accuracy", "mae", "mse", "mean_absolute_error", "mean_squared_error"):
            extra["final_activation"] = final_activation
        fns[key] = get_metric(name, **params, **extra)
    return fns


class Trainer:
    """Compiled train/eval functions for one network configuration.

    Args:
      net: the network.
      config: HPO values by path (missing ones: :func:`default_config`).
      overrides: ``epochs``, ``batch_size``, ``seed``, ``validation_split``, ``patience``.
    """

    def __init__(self, net: Network, config: Mapping[str, Any] | None = None,
                 overrides: Mapping[str, Any] | None = None) -> None:
        from neural_jax.jax import build_model

        self.net = net
        self.config = bind_config(net, config)  # labels -> indices; bad keys/values fail here
        self.spec = training_spec(net, self.config, overrides)
        # On CPU, convolutions run as patches x matmul (XLA's CPU convolution is slow; see
        # neural_jax.jax.layers_conv); the same rule the population trainer uses.
        from neural_jax.train.population_program import choose_mode

        self.conv_as_patches = choose_mode(net).endswith("patches")
        self.model = build_model(net, self.config,
                                 conv_impl="patches" if self.conv_as_patches else "xla")
        self.hparams = self.model.hparams(self.config)  # per-call values, strings as indices
        self.loss = get_loss(self.spec.loss, final_activation=self.model.final_activation,
                             **self.spec.loss_params)
        self.metrics = _metric_fns(self.spec, self.loss, self.model.final_activation)
        self.tx = build_optimizer(self.spec.optimizer, self.spec.optimizer_args)
        self.compilations = {"train_epoch": 0, "evaluate": 0}
        self._train_epoch = jax.jit(self._train_epoch_impl, static_argnums=(5,))
        self._evaluate = jax.jit(self._evaluate_impl)

    # --- compiled pieces ------------------------------------------------------------------

    def _loss_fn(self, params, state, x, y, rng, hparams):
        variables = {"params": params, **state}
        logits, new_state = self.model.apply(variables, x, train=True, rng=rng, hparams=hparams)
        per_example = self.loss(logits, y)
        return jnp.mean(per_example), (logits, new_state)

    def _train_epoch_impl(self, params, state, opt_state, data, key, n_steps):
        self.compilations["train_epoch"] += 1  # runs only while tracing
        x, y = data
        bs = self.spec.batch_size
        perm_key, step_key = jax.random.split(key)
        perm = jax.random.permutation(perm_key, x.shape[0])[: n_steps * bs].reshape(n_steps, bs)
        keys = jax.random.split(step_key, n_steps)

        def step(carry, inp):
            params, state, opt_state = carry
            idx, k = inp
            xb, yb = x[idx], y[idx]
            (loss, (logits, new_state)), grads = jax.value_and_grad(
                self._loss_fn, has_aux=True)(params, state, xb, yb, k, self.hparams)
            updates, opt_state = self.tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            stats = {name: m.batch_stats(logits, yb) for name, m in self.metrics.items()}
            return (params, new_state or state, opt_state), (loss, stats)

        (params, state, opt_state), (losses, stats) = jax.lax.scan(
            step, (params, state, opt_state), (perm, keys))
        summed = {k: (jnp.sum(v[0]), jnp.sum(v[1])) for k, v in stats.items()}
        return params, state, opt_state, jnp.mean(losses), summed

    def _evaluate_impl(self, variables, xb, yb, mask):
        self.compilations["evaluate"] += 1

        def one(carry, inp):
            x, y, m = inp
            logits, _ = self.model.apply(variables, x, train=False, rng=None, hparams=self.hparams)
            loss = self.loss(logits, y)
            out = {"loss": (jnp.sum(loss * m), jnp.sum(m))}
            for name, metric in self.metrics.items():
                out[name] = metric.batch_stats(logits, y, m)
            return carry, out

        _, stats = jax.lax.scan(one, None, (xb, yb, mask))
        return {k: mean_from_stats((jnp.sum(v[0]), jnp.sum(v[1]))) for k, v in stats.items()}

    # --- host side --------------------------------------------------------------------------

    def evaluate(self, variables, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Metrics over all of ``x`` (padded batches, masked)."""
        if len(x) == 0:
            return {}
        bs = min(self.spec.batch_size * 4, 1024)
        n = math.ceil(len(x) / bs)
        pad = n * bs - len(x)
        xp = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
        yp = np.concatenate([y, np.zeros((pad,) + y.shape[1:], y.dtype)])
        mask = np.concatenate([np.ones(len(x), np.float32), np.zeros(pad, np.float32)])
        out = self._evaluate(variables, jnp.asarray(xp.reshape((n, bs) + x.shape[1:])),
                             jnp.asarray(yp.reshape((n, bs) + y.shape[1:])),
                             jnp.asarray(mask.reshape(n, bs)))
        return {k: float(v) for k, v in out.items()}

    def fit(self, dataset: Dataset, on_epoch: Callable[[int, dict], None] | None = None
            ) -> TrainResult:
        """Trains on ``dataset`` (validation carved from its training split)."""
        spec = self.spec
        check_loss_labels(self.net, dataset, self.config, spec.loss)  # before any compile
        data = prepare_data(dataset, self.net.input_shape, spec)
        n_steps = data.n_steps
        key = jax.random.PRNGKey(spec.seed)
        key, init_key = jax.random.split(key)
        variables = self.model.init(init_key, jnp.asarray(data.x_train[: spec.batch_size]))
        run = {"params": variables["params"],
               "state": {k: v for k, v in variables.items() if k != "params"},
               "key": key}
        run["opt_state"] = self.tx.init(run["params"])
        arrays = (jnp.asarray(data.x_train), jnp.asarray(data.y_train))

        def current() -> dict[str, Any]:
            return {"params": run["params"], **run["state"]}

        def train_epoch(epoch: int) -> dict[str, float]:
            run["key"], ek = jax.random.split(run["key"])
            run["params"], run["state"], run["opt_state"], loss, stats = self._train_epoch(
                run["params"], run["state"], run["opt_state"], arrays, ek, n_steps)
            return {"loss": float(loss),
                    **{k: float(mean_from_stats(v)) for k, v in stats.items()}}

        evaluate = None
        if data.x_val is not None:
            def evaluate() -> dict[str, float]:
                return self.evaluate(current(), data.x_val, data.y_val)

        t_start = time.perf_counter()
        out = fit_epochs(spec, train_epoch, evaluate, current, on_epoch)
        elapsed = time.perf_counter() - t_start
        best_vars = out.best
        val = (self.evaluate(best_vars, data.x_val, data.y_val)
               if evaluate is not None and not out.failed else {})
        test = (self.evaluate(best_vars, data.x_test, data.y_test)
                if not out.failed and len(data.x_test) else {})
        return TrainResult(history=out.history, val=val, test=test, variables=best_vars,
                           config=dict(self.config), spec=spec, failed=out.failed,
                           message=out.message, stopped_early=out.stopped_epoch is not None,
                           best_epoch=out.best_epoch,
                           samples_per_second=len(out.history) * n_steps * spec.batch_size
                           / max(elapsed, 1e-9))


def train(net: Network, dataset: Dataset, config: Mapping[str, Any] | None = None,
          on_epoch: Callable[[int, dict], None] | None = None, **overrides: Any) -> TrainResult:
    """Trains one configuration of ``net`` on ``dataset`` (see :class:`Trainer`)."""
    return Trainer(net, config, overrides).fit(dataset, on_epoch)
