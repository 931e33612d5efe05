"""The Keras script: imports, optimizer, loss, metrics and the ``model.fit`` training code.

The DSL's optimizer and schedule map one to one onto ``keras.optimizers`` (``StepDecay`` is
a staircase ``ExponentialDecay``, ``WarmupCosineDecay`` a ``CosineDecay`` with a warmup).
Early stopping keeps the JAX trainer's rule: training stops once more than ``PATIENCE``
epochs in a row did not improve ``MONITOR``, and the best weights are restored.
"""

from __future__ import annotations

from bridges.codegen import emit_keras
from bridges.codegen.context import Context, lit
from bridges.codegen.schedules import keras_schedule, optimizer_settings
from bridges.codegen.source import Call, indent, join_sections
from bridges.codegen.templates import (
    constants,
    data_hook,
    header,
    main_block,
)

__all__ = ["script"]

IMPORTS = '''\
import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402'''

EPOCH_LOG = '''\
class EpochLog(keras.callbacks.Callback):
    """Prints one line per epoch (``epoch 1 loss 2.3012 val_loss ...``), keeps the losses."""

    def __init__(self):
        super().__init__()
        self.losses = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.losses.append(float(logs["loss"]))
        line = f"epoch {epoch + 1} loss {float(logs['loss']):.4f}"
        for k in sorted(logs, key=lambda k: (k != "val_loss", k)):  # val_loss first
            if k.startswith("val_"):
                line += f" {k} {float(logs[k]):.4f}"
        print(line, flush=True)'''

_LOSSES = {"sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
           "categorical_crossentropy": "CategoricalCrossentropy",
           "binary_crossentropy": "BinaryCrossentropy", "mse": "MeanSquaredError",
           "mae": "MeanAbsoluteError", "huber": "Huber"}


def _optimizer(ctx: Context) -> str:
    opt = optimizer_settings(ctx.spec)
    lines = []
    kwargs = {}
    for k, v in opt.given.items():
        if k == "learning_rate" and opt.schedule is not None:
            lines.append(keras_schedule(*opt.schedule).render(4, "learning_rate = "))
            kwargs[k] = "learning_rate"
        else:
            kwargs[k] = lit(v)
    lines.append(Call(f"keras.optimizers.{opt.name}", [], kwargs).render(4, "return "))
    return ("def build_optimizer() -> keras.optimizers.Optimizer:\n"
            + indent("\n".join([opt.docstring(), *lines]), 4))


def _loss(ctx: Context) -> str:
    t = ctx.task
    kwargs = {}
    if t.loss in ("sparse_categorical_crossentropy", "categorical_crossentropy",
                  "binary_crossentropy"):
        kwargs["from_logits"] = "True" if t.from_logits else None
        if t.params.get("label_smoothing"):
            kwargs["label_smoothing"] = lit(t.params["label_smoothing"])
    if t.loss == "huber":
        kwargs["delta"] = lit(t.params["delta"])
    lines = []
    if t.from_logits and ctx.plan.final_activation:
        lines.append(f"# The model returns logits; the loss applies the "
                     f"{ctx.plan.final_activation} itself (numerically stable).")
    lines.append(Call(f"keras.losses.{_LOSSES[t.loss]}", [], kwargs).render(4, "return "))
    return ("def build_loss() -> keras.losses.Loss:\n"
            f'    """The DSL\'s loss: {t.loss}."""\n' + indent("\n".join(lines), 4))


def _metrics(ctx: Context) -> list[str]:
    t = ctx.task
    out = []
    for name, params in t.metrics:
        if name == "accuracy":
            if t.loss == "binary_crossentropy":
                thr = "0.0" if t.from_logits else "0.5"
                out.append(f'keras.metrics.BinaryAccuracy(threshold={thr}, name="accuracy")')
            elif t.loss == "categorical_crossentropy":
                out.append('keras.metrics.CategoricalAccuracy(name="accuracy")')
            else:
                out.append('keras.metrics.SparseCategoricalAccuracy(name="accuracy")')
        elif name == "top_k_accuracy":
            k = int(params.get("k", 5))
            cls = ("TopKCategoricalAccuracy" if t.loss == "categorical_crossentropy"
                   else "SparseTopKCategoricalAccuracy")
            out.append(f'keras.metrics.{cls}(k={k}, name="top_{k}_accuracy")')
        elif name == "mae":
            out.append('keras.metrics.MeanAbsoluteError(name="mae")')
        elif name == "mse":
            out.append('keras.metrics.MeanSquaredError(name="mse")')
    return out


def _train(ctx: Context) -> str:
    metrics = _metrics(ctx)
    body = [
        '"""Compiles and fits the model; returns the training loss of each epoch."""',
        "x_train, y_train, x_val, y_val = data",
    ]
    if len(metrics) > 1:
        body += ["metrics = [", *(f"    {m}," for m in metrics), "]"]
    else:
        body.append(f"metrics = [{', '.join(metrics)}]")
    body += [
        "model.compile(optimizer=build_optimizer(), loss=build_loss(), metrics=metrics)",
        "log = EpochLog()",
        "callbacks = [log]",
    ]
    if ctx.spec.patience is not None:
        body += [
            "# Stop once more than PATIENCE epochs in a row did not improve MONITOR (the",
            "# DSL's rule, one epoch more than Keras' own count) and keep the best weights.",
            "callbacks.append(keras.callbacks.EarlyStopping(",
            "    monitor=MONITOR, patience=PATIENCE + 1, restore_best_weights=True))",
        ]
    body += [
        "validation = (x_val, y_val) if len(x_val) else None",
        "model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,",
        "          validation_data=validation, callbacks=callbacks, shuffle=True, verbose=0)",
        "return log.losses",
    ]
    return ("def train(model: keras.Model, data: tuple, epochs: int, batch_size: int)"
            " -> list[float]:\n" + indent("\n".join(body), 4))


def script(ctx: Context) -> str:
    """The whole Keras script."""
    model = emit_keras.model_source(ctx)
    parts = [
        header(ctx), IMPORTS, constants(ctx), data_hook(ctx), model, _optimizer(ctx),
        _loss(ctx), EPOCH_LOG, _train(ctx),
        main_block(ctx, ["keras.utils.set_random_seed(SEED)"],
                   ["model.load_weights(weights)"],
                   ["logs = model.evaluate(x_test, y_test, verbose=0, return_dict=True,",
                    "                      batch_size=BATCH_SIZE if batch_size is None else "
                    "batch_size)"]),
    ]
    return join_sections(parts)

