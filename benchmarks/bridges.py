"""Training speed of one network in each framework: JAX trainer vs the PyTorch and TF bridges.

The seed MNIST CNN (Conv2D 32 3x3, MaxPool 2, Dense 128, Output 10) on the real MNIST t10k
split (8k train / 2k test, 20% of train for validation), batch 64, Adam 1e-3, the same DSL
text for every side: our JAX single trainer (``neural run``), the PyTorch bridge's
``train_trial`` and the TensorFlow bridge's ``train_trial`` (what ``backend="pytorch"`` /
``"tensorflow"`` trials run), plus the same CNN written by hand in plain PyTorch as the
reference for the bridge's overhead. Prints one table: median samples/s of the steady epochs
(the first epoch, with compilation / graph tracing, is shown apart) and validation accuracy.

    python benchmarks/bridges.py [--repeats 3] [--epochs 3] [--mnist-dir ../shared/data/mnist]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CNN = """network MNIST { input: (28, 28, 1) layers: Conv2D(32, kernel_size=3, activation="relu")
  MaxPooling2D(pool_size=2) Flatten() Dense(128, activation="relu") Output(10, activation="softmax")
  optimizer: Adam(learning_rate=0.001) train { batch_size: 64, validation_split: 0.2, seed: 0 } }"""


def _steady(history, n_train: int) -> tuple[float, float, float]:
    secs = [h["seconds"] for h in history]
    steady = secs[1:] or secs
    last_acc = history[-1].get("val_accuracy", float("nan"))
    return n_train / statistics.median(steady), secs[0], last_acc


def jax_side(net, ds, epochs):
    from neural_jax.population.trainer import train

    r = train(net, ds, epochs=epochs)
    return _steady(r.history, int(len(ds.x_train) * 0.8) // 64 * 64)


def bridge_side(backend, net, ds, epochs):
    if backend == "pytorch":
        from bridges.torch import train_trial
    else:
        from bridges.tensorflow import train_trial
    r = train_trial(net, ds, {}, overrides={"epochs": epochs})
    if r.failed:
        raise RuntimeError(r.message)
    return _steady(r.history, int(len(ds.x_train) * 0.8) // 64 * 64)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--mnist-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    args = ap.parse_args()
    from train_single import torch_side

    from neural_jax import parse
    from neural_jax.data import load

    ds = load("mnist_t10k", data_dir=args.mnist_dir).fit_to((28, 28, 1))
    net = parse(CNN)
    sides = {
        "JAX trainer (neural run)": lambda: jax_side(net, ds, args.epochs),
        "PyTorch bridge (train_trial)": lambda: bridge_side("pytorch", net, ds, args.epochs),
        "TensorFlow bridge (train_trial)": lambda: bridge_side("tensorflow", net, ds, args.epochs),
        "plain PyTorch by hand": lambda: (lambda s, a: (s, float("nan"), a))(
            *torch_side("cnn", ds, args.epochs)),
    }
    rows = []
    for name, run in sides.items():
        runs = [run() for _ in range(args.repeats)]
        rows.append((name, statistics.median(r[0] for r in runs),
                     statistics.median(r[1] for r in runs), statistics.median(r[2] for r in runs)))
    ref = rows[0][1]
    print(f"machine: {os.cpu_count()} CPU cores; seed CNN on MNIST t10k (8k/2k), batch 64, "
          f"{args.epochs} epochs, median of {args.repeats}")
    print(f"{'side':<34} {'samples/s':>10} {'vs JAX':>7} {'1st epoch s':>11} {'val acc':>8}")
    for name, sps, first, acc in rows:
        print(f"{name:<34} {sps:>10.0f} {sps / ref:>7.2f} {first:>11.2f} {acc:>8.3f}")


if __name__ == "__main__":
    main()
