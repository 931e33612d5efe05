"""From a network and one configuration of its HPO parameters to concrete training settings.

A *configuration* maps HPO paths (SPEC §4) to values; what a configuration leaves out takes
:func:`neural_jax.ir.defaults.default_config`. :func:`training_spec` resolves loss, metrics,
optimizer (with its schedule), epochs, batch size, validation split, seed and early stopping
into a :class:`TrainSpec` of plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neural_jax.ir.checker import resolve
from neural_jax.ir.config import ConfigError, choice_index, validate_config
from neural_jax.ir.defaults import default_config
from neural_jax.ir.nodes import Choice, Layer, Network, Optimizer, Schedule
from neural_jax.ir.training import DEFAULT_LOSS, DEFAULT_OPTIMIZER, is_regression_loss

__all__ = ["TrainSpec", "bind_config", "training_spec", "pick_option"]

#: what a run uses when the DSL says nothing (Keras-like)
DEFAULTS = {"epochs": 10, "batch_size": 32, "validation_split": 0.2, "seed": 0,
            "loss": DEFAULT_LOSS, "optimizer": DEFAULT_OPTIMIZER, "monitor": "val_loss"}


@dataclass(frozen=True)
class TrainSpec:
    """Concrete settings of one training run (no HPO nodes left)."""

    epochs: int
    batch_size: int
    validation_split: float
    seed: int
    loss: str
    loss_params: dict[str, Any] = field(default_factory=dict)
    metrics: tuple[tuple[str, dict[str, Any]], ...] = (("accuracy", {}),)
    optimizer: str = DEFAULT_OPTIMIZER
    optimizer_args: dict[str, Any] = field(default_factory=dict)
    patience: int | None = None
    monitor: str = "val_loss"


def bind_config(net: Network, config: Mapping[str, Any] | None = None,
                where: str = "configuration") -> dict[str, Any]:
    """``config`` checked and made canonical (:func:`~neural_jax.ir.config.validate_config`:
    choice labels become indices), over :func:`default_config` for what it leaves out.

    Raises:
      ConfigError: an unknown key, a value outside its domain or of the wrong type.
    """
    return {**default_config(net), **validate_config(net, config, where=where)}


def pick_option(choice: Choice, value: Any) -> Any:
    """The option of a layer/optimizer choice named by index, label, type name or itself."""
    if isinstance(value, (Layer, Optimizer)):
        return value
    idx = choice_index(choice.values, value)
    if idx is None:
        raise ConfigError(f"{value!r} is not an option of {choice.path}")
    return choice.values[idx]


def _value(v: Any, config: Mapping[str, Any]) -> Any:
    if isinstance(v, Choice) and v.values and isinstance(v.values[0], (Layer, Optimizer)):
        return pick_option(v, config.get(v.path, 0))
    return resolve(v, config)


def _schedule_arg(s: Schedule, config) -> dict[str, Any]:
    args = {}
    for k, v in s.params:
        v = resolve(v, config)
        args[k] = list(v) if isinstance(v, tuple) else v
    return {"schedule": s.type, "args": args}


def training_spec(net: Network, config: Mapping[str, Any] | None = None,
                  overrides: Mapping[str, Any] | None = None) -> TrainSpec:
    """Resolves the training settings of ``net`` under ``config``.

    Args:
      net: the network.
      config: values by path; missing HPO parameters take :func:`default_config`.
      overrides: command-line style overrides (``epochs``, ``batch_size``, ``seed``...).
    """
    cfg = {**default_config(net), **dict(config or {})}
    over = dict(overrides or {})
    t = net.train

    def pick(key: str) -> Any:
        if over.get(key) is not None:
            return over[key]
        v = getattr(t, key, None)
        if v is None:
            return DEFAULTS[key]
        return resolve(v, cfg)

    opt = net.optimizer
    if isinstance(opt, Choice):
        opt = pick_option(opt, cfg.get(opt.path, 0))
    opt_name, opt_args = DEFAULT_OPTIMIZER, {}
    if isinstance(opt, Optimizer):
        opt_name = opt.type
        for k, v in opt.params:
            opt_args[k] = _schedule_arg(v, cfg) if isinstance(v, Schedule) else resolve(v, cfg)
    for k, v in cfg.items():  # dict-bound values on optimizer arguments
        on_optimizer = k.startswith("optimizer.") and k.count(".") == 1
        if on_optimizer and not isinstance(net.optimizer, Choice):
            opt_args[k.split(".", 1)[1]] = v
    loss_name = net.loss.name if net.loss is not None else DEFAULTS["loss"]
    loss_params = {k: resolve(v, cfg) for k, v in (net.loss.params if net.loss else ())}
    # no metrics named: accuracy for a classifier, mae for a regression loss (an accuracy of
    # real-valued targets would read 0 and mean nothing)
    metrics = tuple((m.name, dict(m.params)) for m in net.metrics) or (
        (("mae", {}),) if is_regression_loss(loss_name) else (("accuracy", {}),))
    es = t.early_stopping
    patience = over.get("patience")
    if patience is None and es is not None:
        patience = resolve(es.patience, cfg)
    return TrainSpec(
        epochs=int(pick("epochs")), batch_size=int(pick("batch_size")),
        validation_split=float(pick("validation_split")), seed=int(pick("seed")),
        loss=loss_name, loss_params=loss_params, metrics=metrics,
        optimizer=opt_name, optimizer_args=opt_args,
        patience=None if patience is None else int(patience),
        monitor=es.monitor if es is not None else DEFAULTS["monitor"],
    )


def check_loss_labels(net: Network, dataset: Any, config: Mapping[str, Any] | None = None,
                      loss: str | None = None) -> None:
    """Refuses a loss that cannot be computed on ``dataset``'s labels, before any training.

    The checker sees the network alone; this is the first place that also knows the
    labels. Integer class ids (the built-in classification datasets) need
    ``sparse_categorical_crossentropy`` or a one-unit output; one-hot losses need one-hot
    labels; an Output narrower than the number of classes cannot score them all.

    Args:
      net: the network.
      dataset: anything with ``y_train`` and ``num_classes`` (a :class:`~neural_jax.data.Dataset`).
      config: the configuration (the output width may be searched).
      loss: the loss name, default the network's.

    Raises:
      NeuralValidationError: at the ``loss:`` line (or the Output layer), with what to use.
    """
    import numpy as np

    from neural_jax.core.errors import NeuralValidationError
    from neural_jax.ir.checker import infer_shapes

    y = getattr(dataset, "y_train", None)
    classes = getattr(dataset, "num_classes", None)
    if y is None or not classes:
        return
    y = np.asarray(y)
    if not (np.issubdtype(y.dtype, np.integer) and y.ndim == 1):
        return  # one-hot or regression targets: the loss decides
    name = loss or (net.loss.name if net.loss is not None else DEFAULTS["loss"])
    rows = [r for r in infer_shapes(net, {**default_config(net), **dict(config or {})})
            if r[3] == 0]
    out = rows[-1][2] if rows else tuple(net.input_shape)
    units = out[-1] if out else None
    span = net.loss.span if net.loss is not None else net.span
    ds = getattr(dataset, "name", "the dataset")

    def fail(message: str, hint: str) -> NeuralValidationError:
        return net.source.error(NeuralValidationError, span, message, hint)

    sparse = 'use loss: "sparse_categorical_crossentropy" for integer class labels'
    if name == "categorical_crossentropy":
        raise fail(f"categorical_crossentropy needs one-hot labels, but {ds} has integer "
                   f"class ids (0..{classes - 1})", sparse)
    if is_regression_loss(name) and units not in (None, 1):
        raise fail(f"{name} compares each of the {units} outputs with the label, but {ds} has "
                   f"one integer class id per example ({classes} classes)",
                   f"{sparse}, or end with Output(1) to regress the id")
    if name == "binary_crossentropy" and classes > 2:
        raise fail(f"binary_crossentropy takes labels 0 or 1, but {ds} has {classes} classes",
                   sparse)
    if name == "sparse_categorical_crossentropy" and units is not None and units < classes:
        last = rows[-1] if rows else None
        where = f" ({last[1]} at {last[0]})" if last else ""
        raise fail(f"the network ends with {units} outputs{where}, but {ds} has {classes} "
                   f"classes", f"end with Output({classes}, ...)")
