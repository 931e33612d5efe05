"""One configuration trained in PyTorch with the DSL's settings: :func:`train_trial`.

The loop mirrors :meth:`neural_jax.population.trainer.Trainer.fit`, so a torch trial and a JAX
trial of the same configuration report the same things:

* data: ``dataset.fit_to(net.input_shape)``, then ``split_validation(validation_split,
  seed=seed)`` (the same split as the JAX trainer);
* each epoch permutes the training set (a ``torch.Generator`` seeded from ``seed``) and
  runs every FULL batch (the last partial batch is dropped); the epoch's ``loss`` is the
  mean of the step losses and each train metric the mean over the examples seen, both
  from the training-mode outputs;
* evaluation runs batches of ``min(4 batch_size, 1024)`` in evaluation mode, every example
  counted once: ``val_loss`` and ``val_<metric>``;
* a non-finite training loss stops the run as failed (``"the training loss became nan in
  epoch 3"``); ``patience`` stops it once ``monitor`` has not improved for more than
  ``patience`` epochs, and the best weights are kept (``val``/``test`` are theirs).

The optimizer, schedule, loss and metrics are the JAX side's (see
:mod:`bridges.torch.optim`, :mod:`bridges.torch.losses`). torch's global generator is
seeded from ``seed`` inside ``torch.random.fork_rng``, so the caller's random state is left
as it was.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from bridges.torch.losses import torch_loss, torch_metric
from bridges.torch.model import TorchNetwork, build_module
from bridges.torch.optim import build_optimizer
from neural_jax.data import Dataset
from neural_jax.executors.outcome import TrialOutcome as MemberResult
from neural_jax.ir.config import validate_config
from neural_jax.ir.defaults import default_config
from neural_jax.ir.nodes import Network
from neural_jax.population.loop import fit_epochs, prepare_data
from neural_jax.train.losses import get_loss
from neural_jax.train.metrics import get_metric
from neural_jax.train.spec import TrainSpec, check_loss_labels, training_spec

__all__ = ["train_trial"]

Tensor = torch.Tensor


def _metric_fns(spec: TrainSpec, loss, final_activation) -> dict[str, Callable]:
    """The metrics by history key (as :func:`neural_jax.population.program.metric_fns`
    keys them)."""
    fns = {}
    for name, params in spec.metrics:
        if name == "loss":
            continue
        key = name if name != "top_k_accuracy" else f"top_{params.get('k', 5)}_accuracy"
        extra: dict[str, Any] = {}
        if name == "accuracy":
            extra = {"loss": loss, "final_activation": final_activation}
        fns[key] = torch_metric(get_metric(name, **params, **extra))
    return fns


def _tensor(a: np.ndarray, ids: bool, device: torch.device) -> Tensor:
    if ids or np.issubdtype(a.dtype, np.integer):
        return torch.as_tensor(np.asarray(a, np.int64), device=device)
    return torch.as_tensor(np.asarray(a, np.float32), device=device)


class _Run:
    """The pieces of one trial: module, loss, metrics, optimizer and their evaluation."""

    def __init__(self, module: TorchNetwork, spec: TrainSpec, device: torch.device) -> None:
        self.module, self.spec, self.device = module, spec, device
        jax_loss = get_loss(spec.loss, final_activation=module.final_activation,
                            **spec.loss_params)
        self.loss = torch_loss(jax_loss)
        self.metrics = _metric_fns(spec, jax_loss, module.final_activation)
        self.optimizer = build_optimizer(spec.optimizer, spec.optimizer_args,
                                         module.parameters())

    def epoch(self, x: Tensor, y: Tensor, generator: torch.Generator) -> dict[str, float]:
        bs = self.spec.batch_size
        n_steps = len(x) // bs
        perm = torch.randperm(len(x), generator=generator)[: n_steps * bs]
        self.module.train()
        losses, sums, count = [], dict.fromkeys(self.metrics, 0.0), 0
        for i in range(n_steps):
            idx = perm[i * bs:(i + 1) * bs].to(self.device)
            xb, yb = x[idx], y[idx]
            self.optimizer.zero_grad(set_to_none=True)
            logits = self.module(xb)
            loss = torch.mean(self.loss(logits, yb))
            loss.backward()
            self.optimizer.step()
            losses.append(loss.detach())
            with torch.no_grad():
                for k, fn in self.metrics.items():
                    sums[k] += float(torch.sum(fn(logits, yb)))
            count += len(xb)
        rec = {"loss": float(torch.mean(torch.stack(losses)))}
        rec.update({k: s / max(count, 1) for k, s in sums.items()})
        return rec

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor) -> dict[str, float]:
        if len(x) == 0:
            return {}
        bs = min(self.spec.batch_size * 4, 1024)
        self.module.eval()
        sums = dict.fromkeys(["loss", *self.metrics], 0.0)
        for i in range(0, len(x), bs):
            xb, yb = x[i:i + bs], y[i:i + bs]
            logits = self.module(xb)
            sums["loss"] += float(torch.sum(self.loss(logits, yb)))
            for k, fn in self.metrics.items():
                sums[k] += float(torch.sum(fn(logits, yb)))
        return {k: s / len(x) for k, s in sums.items()}


def _state(module: torch.nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def train_trial(net: Network, dataset: Dataset, config: Mapping[str, Any] | None = None,
                overrides: Mapping[str, Any] | None = None, index: int = 0, *,
                num_threads: int | None = None, device: str | torch.device = "cpu",
                on_epoch: Callable[[int, dict], None] | None = None,
                should_stop: Callable[[int, float], bool] | None = None) -> MemberResult:
    """Trains one configuration of ``net`` in PyTorch (see the module docstring).

    Args:
      net: the network.
      dataset: the data (validation is carved from its training split).
      config: HPO values by path; missing ones take
        :func:`neural_jax.ir.defaults.default_config`.
      overrides: ``epochs``, ``batch_size``, ``seed``, ``validation_split``, ``patience``.
      index: the member index the result carries.
      num_threads: torch intra-op threads for this trial (restored afterwards); None
        leaves torch's setting alone.
      device: where to train.
      on_epoch: called as ``on_epoch(epoch, record)`` after each finished epoch.
      should_stop: a search's early stopping, ``should_stop(epoch, score)``
        (:func:`neural_jax.population.loop.fit_epochs`).

    Returns:
      A :class:`~neural_jax.population.MemberResult` whose ``history`` has the JAX
      trainer's keys and whose ``variables`` is the kept (best) ``state_dict``.

    Raises:
      BackendError: a layer, loss, metric or learning rate PyTorch cannot run exactly.
      TrainConfigError: a bad optimizer, schedule, loss or metric setting.
      ValueError: ``batch_size`` larger than the training set.
    """
    full = {**default_config(net), **validate_config(net, config)}
    spec = training_spec(net, full, overrides)
    threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(int(num_threads))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.seed)
            return _fit(net, dataset, full, spec, index, torch.device(device), on_epoch,
                        should_stop)
    finally:
        if num_threads is not None:
            torch.set_num_threads(threads)


def _fit(net: Network, dataset: Dataset, full: dict[str, Any], spec: TrainSpec, index: int,
         device: torch.device, on_epoch: Callable[[int, dict], None] | None,
         should_stop: Callable[[int, float], bool] | None = None) -> MemberResult:
    check_loss_labels(net, dataset, full, spec.loss)
    data = prepare_data(dataset, net.input_shape, spec)
    module = build_module(net, full).to(device)
    run = _Run(module, spec, device)
    ids = module.takes_ids
    x_tr, y_tr = _tensor(data.x_train, ids, device), _tensor(data.y_train, False, device)
    evaluate = None
    if data.x_val is not None:
        x_val, y_val = _tensor(data.x_val, ids, device), _tensor(data.y_val, False, device)

        def evaluate() -> dict[str, float]:
            return run.evaluate(x_val, y_val)

    generator = torch.Generator().manual_seed(spec.seed)
    out = fit_epochs(spec, lambda epoch: run.epoch(x_tr, y_tr, generator), evaluate,
                     lambda: _state(module), on_epoch, should_stop)
    module.load_state_dict(out.variables)
    val: dict[str, float] = {}
    test: dict[str, float] = {}
    if not out.failed:
        if evaluate is not None:
            val = evaluate()
        if len(data.x_test):
            test = run.evaluate(_tensor(data.x_test, ids, device),
                                _tensor(data.y_test, False, device))
    return dataclasses.replace(out, index=index, config=dict(full), val=val, test=test,
                               variables=copy.copy(out.variables))
