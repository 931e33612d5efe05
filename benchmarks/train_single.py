"""Single-configuration training speed: our JAX trainer vs the same network in plain PyTorch.

Same data (digits for the MLP, the real MNIST t10k split for the CNN), same batch size,
same optimizer (Adam 1e-3), same number of epochs, one process, CPU. Prints one table of
median samples/s over --repeats runs (compile time excluded for JAX: the first epoch is
reported separately) and the final validation accuracy of each side.

    python benchmarks/train_single.py [--repeats 3] [--epochs 3] [--mnist-dir ../shared/data/mnist]
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MLP = """network MLP { input: (8, 8, 1) layers: Flatten() Dense(256, activation="relu")
  Dense(256, activation="relu") Output(10, activation="softmax")
  optimizer: Adam(learning_rate=0.001) train { batch_size: 64, validation_split: 0.2, seed: 0 } }"""
CNN = """network MNIST { input: (28, 28, 1) layers: Conv2D(32, kernel_size=3, activation="relu")
  MaxPooling2D(pool_size=2) Flatten() Dense(128, activation="relu") Output(10, activation="softmax")
  optimizer: Adam(learning_rate=0.001) train { batch_size: 64, validation_split: 0.2, seed: 0 } }"""


def ours(text, ds, epochs):
    from neural_jax import parse
    from neural_jax.population.trainer import Trainer

    t = Trainer(parse(text), overrides={"epochs": epochs})
    times = []
    r = t.fit(ds, on_epoch=lambda e, rec: times.append(rec["seconds"]))
    n_train = int(len(ds.x_train) * 0.8) // 64 * 64
    steady = times[1:] or times
    return n_train / statistics.median(steady), r.val.get("accuracy", float("nan")), times[0]


def torch_side(kind, ds, epochs):
    import torch
    from torch import nn

    torch.manual_seed(0)
    x = ds.x_train.astype("float32")
    y = ds.y_train.astype("int64")
    n_val = int(len(x) * 0.2)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(x))
    xv, yv, xt, yt = x[idx[:n_val]], y[idx[:n_val]], x[idx[n_val:]], y[idx[n_val:]]
    if kind == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256),
                              nn.ReLU(), nn.Linear(256, 10))
        to_t = lambda a: torch.from_numpy(a.reshape(len(a), -1))  # noqa: E731
    else:
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(13 * 13 * 32, 128), nn.ReLU(), nn.Linear(128, 10))
        to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))  # noqa: E731
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    xt_t, yt_t = to_t(xt), torch.from_numpy(yt)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(xt_t))
        for i in range(0, len(perm) // 64 * 64, 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            loss = lossf(model(xt_t[b]), yt_t[b])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        acc = (model(to_t(xv)).argmax(1).numpy() == yv).mean()
    return (len(xt) // 64 * 64) / statistics.median(times), float(acc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--mnist-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    args = ap.parse_args()
    from neural_jax.data import load

    digits = load("digits")
    rows = []
    cases = [("MLP 64-256-256-10, digits", MLP, "mlp", digits)]
    try:
        cases.append(("seed CNN, MNIST t10k (8k/2k)", CNN, "cnn",
                      load("mnist_t10k", data_dir=args.mnist_dir).fit_to((28, 28, 1))))
    except Exception as e:  # noqa: BLE001 - the data folder may be absent
        print(f"(CNN skipped: {e})")
    for name, text, kind, ds in cases:
        o = [ours(text, ds, args.epochs) for _ in range(args.repeats)]
        t = [torch_side(kind, ds, args.epochs) for _ in range(args.repeats)]
        ours_sps = statistics.median(r[0] for r in o)
        torch_sps = statistics.median(r[0] for r in t)
        rows.append((name, ours_sps, torch_sps, ours_sps / torch_sps,
                     statistics.median(r[1] for r in o), statistics.median(r[1] for r in t),
                     statistics.median(r[2] for r in o)))
    import os

    print(f"machine: {os.cpu_count()} CPU cores; epochs {args.epochs}, batch 64, "
          f"median of {args.repeats}")
    print(f"{'case':<32} {'ours samples/s':>15} {'torch samples/s':>16} {'ratio':>6} "
          f"{'ours val acc':>12} {'torch val acc':>13} {'1st epoch s':>11}")
    for r in rows:
        print(f"{r[0]:<32} {r[1]:>15.0f} {r[2]:>16.0f} {r[3]:>6.2f} {r[4]:>12.3f} "
              f"{r[5]:>13.3f} {r[6]:>11.2f}")


if __name__ == "__main__":
    main()
