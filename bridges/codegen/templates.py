"""The parts of a generated script that every backend shares.

A script reads top to bottom as: a header comment (network, backend, configuration), the
imports, the settings taken from the DSL as constants, the data hook ``load_data()``, the
model, the training code and ``main()`` with a command line. Only the model and training
parts differ between backends; this module writes the rest. The data hook is plain numpy,
so it is the same text in every backend.
"""

from __future__ import annotations

import math

from bridges.codegen.context import Context, lit
from bridges.codegen.datasets import dataset_constant, dataset_hook
from bridges.codegen.source import indent, join_sections

__all__ = [
    "constants",
    "data_hook",
    "early_stopping_lines",
    "epoch_line",
    "fmt_float",
    "header",
    "main_block",
]

_FRAMEWORKS = {"tensorflow": "TensorFlow/Keras", "pytorch": "PyTorch", "jax": "JAX/Flax"}


def header(ctx: Context) -> str:
    """The opening comment: network, backend and the configuration used."""
    framework = _FRAMEWORKS[ctx.backend]
    lines = [(f"# {ctx.net.name}: a {framework} training script generated from a Neural DSL "
             "network."), "#", f"# Backend: {ctx.backend}"]
    if ctx.config:
        lines.append("# Configuration (the value chosen for each HPO parameter):")
        for k in sorted(ctx.config):
            lines.append(f"#   {k} = {lit(ctx.config[k])}")
    else:
        lines.append("# Configuration: the network has no HPO parameters.")
    deps = {"tensorflow": "keras (TensorFlow)", "pytorch": "torch",
            "jax": "jax, flax and optax"}[ctx.backend]
    if ctx.dataset:
        extra = "and scikit-learn" if ctx.dataset == "digits" else "and numpy"
        lines += ["#",
                  f"# Data: {ctx.dataset}, read and split as `neural run --dataset {ctx.dataset}` "
                  "does",
                  f"# (see load_dataset()). It needs only {deps}, numpy {extra}."]
    else:
        lines += ["#",
                  f"# It needs only {deps} and numpy. Replace load_data() with your own data."]
    lines.append("# Run it with `python <this file> --epochs N`; --weights FILE starts from "
                 "trained weights" if ctx.backend != "jax" else
                 "# Run it with `python <this file> --epochs N`.")
    if ctx.backend != "jax":
        lines.append("# (`neural export`), --evaluate reports the test data's loss and "
                     "metrics.")
    return "\n".join(lines)


def constants(ctx: Context) -> str:
    """The DSL's settings as module constants."""
    s = ctx.spec
    lines = ["# Settings from the DSL.",
             f"INPUT_SHAPE = {lit(ctx.data_shape)}  # one example, channel-last, no batch axis",
             f"OUTPUT_SHAPE = {lit(tuple(ctx.output_shape))}"]
    if ctx.vocab_size is not None:
        lines.append(f"VOCAB_SIZE = {ctx.vocab_size}  # inputs are token ids in [0, VOCAB_SIZE)")
    lines += [f"EPOCHS = {s.epochs}",
              f"BATCH_SIZE = {s.batch_size}",
              f"VALIDATION_SPLIT = {lit(float(s.validation_split))}"]
    if s.patience is not None:
        lines.append(f"PATIENCE = {s.patience}  # early stopping: epochs without improvement "
                     "of MONITOR")
        lines.append(f"MONITOR = {lit(s.monitor)}")
    lines.append(f"SEED = {s.seed}")
    if ctx.dataset:
        lines += dataset_constant(ctx.dataset)
    else:
        lines.append("N_TRAIN = 512  # training examples made by the default load_data()")
    return "\n".join(lines)


def _labels(ctx: Context) -> list[str]:
    loss = ctx.task.loss
    if loss == "sparse_categorical_crossentropy":
        return ["y = scores.argmax(axis=-1).astype(np.int64)  # class ids"]
    if loss == "categorical_crossentropy":
        return [("y = np.eye(OUTPUT_SHAPE[-1], dtype=np.float32)[scores.argmax(axis=-1)]"
                "  # one-hot")]
    if loss == "binary_crossentropy":
        return ["y = (scores > 0).astype(np.float32)  # 0/1 targets"]
    return ["y = (scores / scores.std()).astype(np.float32)  # regression targets"]


def data_hook(ctx: Context) -> str:
    """``load_data()`` and ``load_test_data()``: the real data of ``ctx.dataset``
    (:mod:`bridges.codegen.datasets`), else random data of the input shape with targets from
    a random teacher."""
    if ctx.dataset:
        return join_sections(dataset_hook(ctx, ctx.dataset)).rstrip("\n")
    if ctx.vocab_size is not None:
        make = ["x = rng.integers(0, VOCAB_SIZE, size=(n,) + INPUT_SHAPE)",
                "teacher = rng.normal(size=(VOCAB_SIZE, int(np.prod(OUTPUT_SHAPE))))",
                "scores = teacher[x].mean(axis=1).reshape((n,) + OUTPUT_SHAPE)"]
        what = "token ids"
    else:
        make = ["x = rng.normal(size=(n,) + INPUT_SHAPE).astype(np.float32)",
                "teacher = rng.normal(size=(x[0].size, int(np.prod(OUTPUT_SHAPE))))",
                "scores = (x.reshape(n, -1) @ teacher).reshape((n,) + OUTPUT_SHAPE)"]
        what = "inputs"
    body = [
        '"""Returns ``(x_train, y_train, x_val, y_val)``.',
        "",
        "This is the data hook: replace its body with your own data. By default it makes",
        f"small random {what} of the network's input shape, with targets from a fixed random",
        "linear teacher so that there is something to learn. Inputs are channel-last,",
        "``(examples,) + INPUT_SHAPE``, as in the DSL.",
        '"""',
        "rng = np.random.default_rng(seed)",
        "n_val = round(n_train * VALIDATION_SPLIT / (1.0 - VALIDATION_SPLIT))",
        "n = n_train + n_val",
        *make,
        *_labels(ctx),
        "return x[:n_train], y[:n_train], x[n_train:], y[n_train:]",
    ]
    sig = "def load_data(n_train: int = N_TRAIN, seed: int = SEED) -> tuple[np.ndarray, ...]:"
    test = ("def load_test_data() -> tuple[np.ndarray, np.ndarray]:\n"
            '    """Data for ``--evaluate``: random data has no test part, so the validation '
            'data."""\n'
            "    _, _, x, y = load_data()\n"
            "    return x, y")
    return sig + "\n" + indent("\n".join(body), 4) + "\n\n\n" + test


def main_block(ctx: Context, seed_lines: list[str], load_lines: list[str] | None = None,
               test_lines: list[str] | None = None) -> str:
    """``main()`` and the command line.

    Args:
      ctx: the context.
      seed_lines: lines seeding the framework.
      load_lines: lines loading the weights file ``weights`` into ``model`` (``--weights``).
      test_lines: lines setting ``logs`` to the test metrics of ``model`` on ``x_test``,
        ``y_test`` (``--evaluate``).
    """
    framework = _FRAMEWORKS[ctx.backend]
    extra = load_lines is not None
    body = [
        '"""Trains the network on ``load_data()``; returns the training loss of each epoch.',
        "",
        "``weights`` (a file of `neural export`) is loaded before training (``epochs=0``",
        "only evaluates it); ``report_test`` prints the loss and metrics on load_test_data().",
        '"""' if extra else "",
    ]
    body = body if extra else [
        '"""Trains the network on ``load_data()``; returns the training loss of each epoch."""']
    body += [
        *seed_lines,
        "data = load_data(N_TRAIN if n_train is None else n_train)",
        "model = build_model()",
    ]
    if extra:
        body += ["if weights is not None:", indent("\n".join(load_lines), 4),
                 "losses = train(model, data, EPOCHS if epochs is None else epochs,",
                 "               BATCH_SIZE if batch_size is None else batch_size)",
                 "if report_test:",
                 "    x_test, y_test = load_test_data()",
                 indent("\n".join(test_lines), 4),
                 '    print("test " + " ".join(f"{k} {v:.4f}" for k, v in sorted(logs.items())),',
                 "          flush=True)",
                 "return losses"]
        sig = ("def main(epochs: int | None = None, n_train: int | None = None,\n"
               "         batch_size: int | None = None, weights: str | None = None,\n"
               "         report_test: bool = False) -> list[float]:\n")
    else:
        body += ["return train(model, data, EPOCHS if epochs is None else epochs,",
                 "             BATCH_SIZE if batch_size is None else batch_size)"]
        sig = ("def main(epochs: int | None = None, n_train: int | None = None,\n"
               "         batch_size: int | None = None) -> list[float]:\n")
    main = sig + indent("\n".join(body), 4)
    cli = "\n".join([
        'if __name__ == "__main__":',
        f'    parser = argparse.ArgumentParser(description="Train {ctx.net.name} ({framework}).")',
        '    parser.add_argument("--epochs", type=int, default=None, help=f"default {EPOCHS}")',
        '    parser.add_argument("--n-train", type=int, default=None,',
        '                        help="number of examples load_data() makes")',
        '    parser.add_argument("--batch-size", type=int, default=None,',
        '                        help=f"default {BATCH_SIZE}")',
        *([
            '    parser.add_argument("--weights", default=None,',
            '                        help="start from these weights (a file of `neural export`)")',
            '    parser.add_argument("--evaluate", action="store_true",',
            '                        help="print the loss and metrics on the test data'
            ' at the end")',
        ] if extra else []),
        "    args = parser.parse_args()",
        ("    main(args.epochs, args.n_train, args.batch_size, args.weights, args.evaluate)"
         if extra else "    main(args.epochs, args.n_train, args.batch_size)"),
    ])
    return main + "\n\n\n" + cli


def epoch_line(loss: str, val: str) -> list[str]:
    """Source that prints ``epoch 1 loss 2.3012 val_loss 2.2000 val_accuracy 0.1200``.

    Args:
      loss: an expression for the epoch's training loss.
      val: an expression for the dict of validation values (may be empty).
    """
    return [f'line = f"epoch {{epoch}} loss {{{loss}:.4f}}"',
            f'for k in sorted({val}, key=lambda k: (k != "val_loss", k)):  # val_loss first',
            f'    line += f" {{k}} {{{val}[k]:.4f}}"',
            "print(line, flush=True)"]


def early_stopping_lines(keep: list[str]) -> list[str]:
    """Source ending an epoch of a patience loop: track ``best``/``bad`` on ``MONITOR`` (the
    training loss when it is absent), run ``keep`` (lines that save the best model) on an
    improvement, stop after more than ``PATIENCE`` epochs without one."""
    return ["score = logs.get(MONITOR, losses[-1])",
            'if best is None or (score > best if "acc" in MONITOR else score < best):',
            *("    " + line for line in keep),
            "else:",
            "    bad += 1",
            "    if bad > PATIENCE:  # more than PATIENCE epochs without improvement",
            '        print(f"early stopping after epoch {epoch}", flush=True)',
            "        break"]


def fmt_float(v: float) -> str:
    """A float literal (integers keep a trailing ``.0``)."""
    v = float(v)
    return repr(v) if math.isfinite(v) else f'float("{v}")'
