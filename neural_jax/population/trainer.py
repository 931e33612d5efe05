"""Training one configuration of a network: a population of one.

``Trainer(net, config).fit(dataset)`` trains the configuration with the population engine's
member program (:mod:`neural_jax.population.program`) over a member axis of one, so a
single run and a member of a search are the same computation: each epoch is one compiled
call that permutes the device-resident training set with ``jax.random`` and ``lax.scan``s
every full batch (the last partial batch is dropped, so that one shape serves every step),
then evaluates the validation and test splits in padded, masked batches (every example
counts once). The init and the epoch compile once per structure (see
``Trainer.compilations``).

Early stopping watches ``monitor`` (``val_loss`` by default) with ``patience`` epochs and
keeps the best weights (:class:`neural_jax.population.stopping.EarlyStopping`). A
non-finite training loss stops the run and marks it failed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from neural_jax.core.errors import MessageError
from neural_jax.data import Dataset
from neural_jax.ir.nodes import Network
from neural_jax.train.losses import get_loss
from neural_jax.train.spec import TrainSpec, bind_config, training_spec

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


class Trainer:
    """One network configuration, trained as a population of one.

    Args:
      net: the network.
      config: HPO values by path (missing ones: :func:`default_config`).
      overrides: ``epochs``, ``batch_size``, ``seed``, ``validation_split``, ``patience``.

    Attributes:
      compilations: traces of the member program this trainer caused: ``init``,
        ``train_epoch`` and ``evaluate`` (a structure compiled before, by this trainer or
        a population, is reused and not counted).

    Raises:
      ConfigError: an unknown key, a value outside its domain or of the wrong type.
    """

    def __init__(self, net: Network, config: Mapping[str, Any] | None = None,
                 overrides: Mapping[str, Any] | None = None) -> None:
        from neural_jax.jax import build_model
        from neural_jax.population.bucket import bucket_configs
        from neural_jax.population.program import choose_mode, metric_fns

        self.net = net
        self.config = bind_config(net, config)  # labels -> indices; bad keys/values fail here
        self.overrides = dict(overrides or {})
        self.spec = training_spec(net, self.config, overrides)
        self.bucket = bucket_configs(net, [self.config], overrides)[0]
        # on CPU, convolutions run as patches x matmul (XLA's CPU convolution is slow; see
        # neural_jax.jax.layers_conv), by the rule every population uses
        self.mode = choose_mode(net)
        self.model = build_model(net, self.config,
                                 conv_impl="patches" if self.mode.endswith("patches") else "xla")
        self.hparams = self.model.hparams(self.config)  # per-call values, strings as indices
        self.loss = get_loss(self.spec.loss, final_activation=self.model.final_activation,
                             **self.spec.loss_params)
        self.metrics = metric_fns(self.spec, self.loss, self.model.final_activation)
        self.compilations = {"init": 0, "train_epoch": 0, "evaluate": 0}
        self._program = None

    def evaluate(self, variables: Any, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Metrics of ``variables`` over all of ``x`` (padded batches, masked), computed by
        the member program's evaluation."""
        import jax

        from neural_jax.population.program import Program
        from neural_jax.population.trees import eval_batches

        if len(x) == 0:
            return {}
        if self._program is None:
            self._program = Program(self.bucket, self.spec.batch_size, self.mode).bind(
                self.model)
        prog = self._program
        before = prog.traces["evaluate"]
        one = lambda tree: jax.tree.map(lambda a: np.asarray(a)[None], tree)  # noqa: E731
        params = variables["params"]
        state = {k: v for k, v in variables.items() if k != "params"}
        out = prog.evaluate(one(params), one(state), one(self.hparams),
                            *eval_batches(np.asarray(x), np.asarray(y), self.spec.batch_size))
        self.compilations["evaluate"] += prog.traces["evaluate"] - before
        return {k: float(v[0]) for k, v in jax.device_get(out).items()}

    def fit(self, dataset: Dataset, on_epoch: Callable[[int, dict], None] | None = None
            ) -> TrainResult:
        """Trains on ``dataset`` (validation carved from its training split).

        Args:
          dataset: the data.
          on_epoch: called as ``on_epoch(epoch, record)`` after each finished epoch.

        Raises:
          DatasetError: the data cannot be fitted to the network's input.
          ValueError: ``batch_size`` larger than the training part, or a loss the labels
            cannot feed.
        """
        from neural_jax.population.engine import train_population

        shown = None
        if on_epoch is not None:
            def shown(epoch: int, records: dict[int, dict]) -> None:
                if 0 in records:
                    on_epoch(epoch, {k: v for k, v in records[0].items() if k != "samples"})

        result = train_population(self.net, dataset, [self.config], mode=self.mode,
                                  overrides=self.overrides, keep_variables=True, pad=False,
                                  compact=False, on_epoch=shown)
        r, stats = result[0], result.stats[0]
        for ours, theirs in (("init", "init"), ("train_epoch", "epoch"),
                             ("evaluate", "evaluate")):
            self.compilations[ours] += stats["traces"].get(theirs, 0)
        seconds = sum(h.get("seconds", 0.0) for h in r.history)
        return TrainResult(history=r.history, val=r.val, test=r.test, variables=r.variables,
                           config=dict(self.config), spec=self.spec, failed=r.failed,
                           message=r.message, stopped_early=r.stopped_epoch is not None,
                           best_epoch=r.best_epoch,
                           samples_per_second=len(r.history) * stats["epoch_samples"]
                           / max(seconds, 1e-9))


def train(net: Network, dataset: Dataset, config: Mapping[str, Any] | None = None,
          on_epoch: Callable[[int, dict], None] | None = None, **overrides: Any) -> TrainResult:
    """Trains one configuration of ``net`` on ``dataset`` (see :class:`Trainer`)."""
    return Trainer(net, config, overrides).fit(dataset, on_epoch)
