"""Population training speed and quality: our population trainer vs one-config-at-a-time PyTorch.

Prints ONE table from one run:

* throughput (training samples/s summed over members, compile excluded: the first epoch
  of every compiled size is not counted) of ``train_population`` for an MLP
  784-256-256-10, population 32, batch 64, and the seed MNIST CNN (Conv2D 32 3x3,
  MaxPool 2, Dense 128, Output 10), population 8, batch 64, both on the real MNIST t10k
  split (8,000 train / 2,000 test, 20% of train held out for validation); next to the same
  configurations (Adam, learning rates spread over log-space) trained one after another in
  plain PyTorch (``torch.set_num_threads(<cores>)``), one epoch each, same data, batch
  and optimizer. Every CNN execution mode is also timed on a subset of the data.
* successive halving (eta 2, rungs at epochs 1, 2, 4) vs full training of the same
  32-member population (digits MLP with searched learning rate, dropout and activation):
  best validation accuracy and member-epochs.
* successive halving vs full training of a seed-CNN population of 16 on MNIST t10k (4
  epochs), wall time with compiles: where an epoch costs more than a compile.
* PBT (interval 2 epochs, quantile 0.25) vs the best fixed learning rate of the same
  initial population (digits MLP, SGD, 8 learning rates over log-space).

    python benchmarks/population.py [--repeats 3] [--mnist-dir ../shared/data/mnist]

Throughput rows report the median over ``--repeats`` runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MLP = """network MLP { input: (784,) layers: Dense(256, activation="relu")
  Dense(256, activation="relu") Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-4, 1e-2)))
  train { batch_size: 64, validation_split: 0.2, seed: 0, epochs: 3 } }"""
CNN = """network MNIST { input: (28, 28, 1) layers: Conv2D(32, kernel_size=3, activation="relu")
  MaxPooling2D(pool_size=2) Flatten() Dense(128, activation="relu") Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-4, 1e-2)))
  train { batch_size: 64, validation_split: 0.2, seed: 0, epochs: 2 } }"""
DIGITS = """network DigitsMLP { input: (8, 8, 1) layers: Flatten()
  Dense(64, activation=HPO(choice("relu", "tanh", "gelu"))) Dropout(HPO(range(0.0, 0.5)))
  Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-4, 1e-1)))
  train { batch_size: 32, validation_split: 0.2, seed: 0, epochs: 8 } }"""
PBT_NET = """network DigitsSGD { input: (8, 8, 1) layers: Flatten() Dense(64, activation="relu")
  Output(10, activation="softmax")
  optimizer: SGD(learning_rate=HPO(log_range(1e-4, 1.0)))
  train { batch_size: 32, validation_split: 0.2, seed: 0, epochs: 8 } }"""


def lrs(n: int) -> list[float]:
    return [float(v) for v in np.geomspace(1e-4, 1e-2, n)]


def ours(text: str, ds, n: int, mode: str = "auto", epochs: int | None = None):
    from neural_jax import parse
    from neural_jax.population.engine import train_population

    cfgs = [{"optimizer.learning_rate": lr, "seed": i} for i, lr in enumerate(lrs(n))]
    over = {"epochs": epochs} if epochs else None
    r = train_population(parse(text), ds, cfgs, mode=mode, overrides=over)
    st = r.stats[0]
    return st["samples_per_second"], st["mode"], max(m.val["accuracy"] for m in r if not m.failed)


def torch_seq(kind: str, ds, n: int) -> float:
    """Samples/s of the ``n`` configurations trained one after another, one epoch each."""
    import torch
    from torch import nn

    torch.set_num_threads(os.cpu_count() or 1)
    x = ds.x_train.astype("float32")
    x = x / 255.0 if x.max() > 1.5 else x
    y = ds.y_train.astype("int64")
    n_tr = len(x) - int(len(x) * 0.2)
    if kind == "mlp":
        xt = torch.from_numpy(x[:n_tr].reshape(n_tr, -1))
    else:
        nchw = x[:n_tr].reshape(n_tr, 28, 28, 1).transpose(0, 3, 1, 2)
        xt = torch.from_numpy(np.ascontiguousarray(nchw))
    yt = torch.from_numpy(y[:n_tr])
    total, samples = 0.0, 0
    for i, lr in enumerate(lrs(n)):
        torch.manual_seed(i)
        if kind == "mlp":
            model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                  nn.Linear(256, 10))
        else:
            model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(13 * 13 * 32, 128), nn.ReLU(), nn.Linear(128, 10))
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        lossf = nn.CrossEntropyLoss()
        t0 = time.perf_counter()
        perm = torch.randperm(n_tr)
        for s in range(0, n_tr // 64 * 64, 64):
            b = perm[s:s + 64]
            opt.zero_grad()
            lossf(model(xt[b]), yt[b]).backward()
            opt.step()
        total += time.perf_counter() - t0
        samples += n_tr // 64 * 64
    return samples / total


def successive_halving(ds):
    from neural_jax import parse
    from neural_jax.population.engine import train_population
    from search.schedulers import SuccessiveHalving

    net = parse(DIGITS)
    rng = np.random.default_rng(0)
    cfgs = [{"optimizer.learning_rate": float(np.exp(rng.uniform(np.log(1e-4), np.log(1e-1)))),
             "layers[2].rate": float(rng.uniform(0, 0.5)),
             "layers[1].activation": ["relu", "tanh", "gelu"][int(rng.integers(3))], "seed": i}
            for i in range(32)]
    out = {}
    for name, sched in (("full", None), ("sh", SuccessiveHalving(min_resource=1, eta=2)),
                        ("sh2", SuccessiveHalving(min_resource=2, eta=2))):
        t0 = time.perf_counter()
        r = train_population(net, ds, cfgs, scheduler=sched)
        dt = time.perf_counter() - t0
        out[name] = (max(m.val["accuracy"] for m in r if not m.failed), r.stats[0]["member_epochs"],
                     r.stats[0]["compute_member_epochs"], sum(r.stats[0]["epoch_seconds"]), dt,
                     r.stats[0]["traces"]["epoch"])
    return out


def successive_halving_cnn(ds, members: int = 16, epochs: int = 4):
    """SH vs full training of a CNN population, wall time included (compiles and all).

    Here an epoch costs more than a compile, so stopped members should save wall time.
    Each side runs in a fresh program cache (the two do not share a compiled program).
    """
    from neural_jax import parse
    from neural_jax.population import engine as population
    from neural_jax.population import program as population_program
    from search.schedulers import SuccessiveHalving

    net = parse(CNN)
    cfgs = [{"optimizer.learning_rate": lr, "seed": i} for i, lr in enumerate(lrs(members))]
    out = {}
    for name, sched in (("full", None), ("sh", SuccessiveHalving(min_resource=1, eta=2))):
        population_program._PROGRAMS.clear()
        t0 = time.perf_counter()
        r = population.train_population(net, ds, cfgs, scheduler=sched,
                                        overrides={"epochs": epochs})
        out[name] = (max(m.val["accuracy"] for m in r if not m.failed),
                     r.stats[0]["member_epochs"], time.perf_counter() - t0)
    return out


def pbt(ds):
    from neural_jax import parse
    from neural_jax.population.engine import PBT, train_population

    net = parse(PBT_NET)
    cfgs = [{"optimizer.learning_rate": float(v), "seed": i}
            for i, v in enumerate(np.geomspace(1e-4, 1.0, 8))]
    fixed = train_population(net, ds, cfgs)
    p = train_population(net, ds, cfgs, pbt=PBT(interval=2, quantile=0.25, seed=0))

    def best(r, k):
        return (max if k == "accuracy" else min)(m.val[k] for m in r if not m.failed)

    scores = {k: (best(fixed, k), best(p, k)) for k in ("accuracy", "loss")}
    return scores, p.stats[0]["traces"]["epoch"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mnist-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    args = ap.parse_args()
    import jax

    from neural_jax.data import load

    mnist = load("mnist_t10k", data_dir=args.mnist_dir)
    digits = load("digits")
    rows: list[tuple[str, ...]] = []

    def add(row: tuple[str, ...]) -> None:
        rows.append(row)
        print("partial:", " | ".join(row), file=sys.stderr, flush=True)

    def paired(text, kind, n):
        """Ours and torch alternated per repeat, so both see the same machine load."""
        mine, theirs, mode = [], [], ""
        for _ in range(args.repeats):
            sps, mode, _ = ours(text, mnist, n)
            mine.append(sps)
            theirs.append(torch_seq(kind, mnist, n))
        ratios = [a / b for a, b in zip(mine, theirs)]
        return statistics.median(mine), statistics.median(theirs), statistics.median(ratios), mode

    a, b, ratio, mode = paired(MLP, "mlp", 32)
    add(("MLP 784-256-256-10, pop 32, batch 64", f"{a:,.0f} ({mode})", f"{b:,.0f}",
                 f"{ratio:.2f}x", ">= 1.5x"))
    a, t_cnn, ratio, mode = paired(CNN, "cnn", 8)
    add(("seed CNN, pop 8, batch 64", f"{a:,.0f} ({mode})", f"{t_cnn:,.0f}",
                 f"{ratio:.2f}x", ">= 1.0x"))
    from neural_jax.data import from_arrays

    sub = from_arrays(mnist.x_train[:2000], mnist.y_train[:2000], mnist.x_test[:10],
                      mnist.y_test[:10], name="mnist_subset")
    for mode in ("vmap", "patches", "sequential", "sequential_patches"):
        s = ours(CNN, sub, 8, mode=mode)[0]
        add((f"  seed CNN pop 8, mode {mode} (2k-example subset, 1 run)", f"{s:,.0f}",
                     f"{t_cnn:,.0f}", f"{s / t_cnn:.2f}x", ""))
    sh = successive_halving(digits)
    f = sh["full"]
    for key, label in (("sh", "rungs 1, 2, 4"), ("sh2", "rungs 2, 4")):
        s = sh[key]
        add((f"SH (eta 2, {label}) vs full, digits MLP pop 32, 8 epochs: best val acc",
             f"{100 * s[0]:.2f}% SH", f"{100 * f[0]:.2f}% full", f"{100 * (s[0] - f[0]):+.2f} pts",
             "within 0.5 pts"))
        add(("  member-epochs (computed incl. masked/padding), train seconds, epoch traces",
             f"{s[1]} ({s[2]}), {s[3]:.1f}s, {s[5]}", f"{f[1]} ({f[2]}), {f[3]:.1f}s, {f[5]}",
             f"{100 * s[1] / f[1]:.0f}% / {100 * s[3] / f[3]:.0f}% time", "<= 50%"))
    cnn = successive_halving_cnn(mnist)
    s, f = cnn["sh"], cnn["full"]
    add(("SH (eta 2, rungs 1, 2) vs full, seed CNN pop 16, 4 epochs, MNIST t10k: best val acc",
         f"{100 * s[0]:.2f}% SH", f"{100 * f[0]:.2f}% full", f"{100 * (s[0] - f[0]):+.2f} pts",
         "within 0.5 pts"))
    add(("  member-epochs, wall seconds (compiles included)", f"{s[1]}, {s[2]:.1f}s",
         f"{f[1]}, {f[2]:.1f}s", f"{100 * s[1] / f[1]:.0f}% / {100 * s[2] / f[2]:.0f}% time",
         "saves time"))
    pbt_best, pbt_traces = pbt(digits)
    acc, loss = pbt_best["accuracy"], pbt_best["loss"]
    add(("PBT vs best fixed lr, digits SGD pop 8, 8 epochs: best val acc",
                 f"{100 * acc[1]:.2f}% PBT", f"{100 * acc[0]:.2f}% fixed",
                 f"{100 * (acc[1] - acc[0]):+.2f} pts", "PBT better"))
    add(("  best val loss (lower is better)", f"{loss[1]:.4f} PBT", f"{loss[0]:.4f} fixed",
                 f"{loss[1] - loss[0]:+.4f}", f"epoch traces {pbt_traces}"))
    import torch

    print(f"machine: {os.cpu_count()} CPU cores, jax {jax.__version__} ({jax.default_backend()}), "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), repeats {args.repeats} "
          f"(median; ratio = median of per-repeat ratios), load average at end "
          f"{os.getloadavg()[0]:.1f}")
    print("| benchmark | ours | reference | ratio | target |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
