"""The same search two ways on digits: our engine vs a sequential Optuna + PyTorch loop.

Same space (below), same number of trials, same epochs, batch size, validation split and
seeds; each side uses its TPE. Ours trains each round's population in one compiled program
per bucket; Optuna's loop trains one PyTorch model per trial. Prints wall time and best
validation accuracy side by side.

Both sides are timed from the search's start with their libraries imported and the data
loaded before the clock starts. Every search runs in a new process. Ours is measured COLD
(a new empty compilation cache: every program traced and compiled) and then WARM (the same
search again in another process with that cache: programs loaded from the program store and
the compilation cache). ``--seeds N`` repeats everything for seeds 0..N-1 (TPE seeds of both
sides, trial seeds); the table gives each run and the medians.

``--sizes`` runs several search sizes (trials x epochs) one after the other. The Optuna loop
runs once per ``--torch-threads`` value (on a 2-core machine one thread is faster for this
small MLP than two); speed-ups are against its faster row.

    python benchmarks/hpo_end_to_end.py [--sizes 32x10,128x20] [--population 16]
        [--seeds 3] [--side both|ours|optuna] [--torch-threads 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CODE = """
network DigitsSearch {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(HPO(choice(64, 128)), activation=HPO(choice("relu", "gelu", "tanh")))
    Dropout(HPO(range(0.0, 0.4)))
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-4, 3e-2)), beta_1=HPO(range(0.8, 0.95)))
  train { batch_size: 64, validation_split: 0.2, seed: 0 }
}
"""


def ours(trials: int, epochs: int, population: int, cache: str | bool = False, seed: int = 0):
    import neural_jax.jax
    import neural_jax.population.engine  # noqa: F401
    import search  # noqa: F401 - imported before the clock, as torch and optuna are
    from neural_jax.data import load
    from neural_jax.hpo import HPOptimizer

    load("digits")  # the Optuna side loads the data before its clock too
    t0 = time.perf_counter()
    opt = HPOptimizer(strategy="tpe", n_trials=trials, population=population, epochs=epochs,
                      seed=seed, compilation_cache=cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt.optimize(CODE, dataset_name="digits")
    return time.perf_counter() - t0, opt.best_value


def optuna_torch(trials: int, epochs: int, seed: int = 0, threads: int = 1):
    import optuna
    import torch
    from torch import nn

    from neural_jax.data import load

    torch.set_num_threads(threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ds = load("digits")
    split = ds.split_validation(0.2, seed=0)
    xt = torch.from_numpy(split.x_train.reshape(len(split.x_train), -1).astype("float32"))
    yt = torch.from_numpy(split.y_train.astype("int64"))
    xv = torch.from_numpy(split.x_val.reshape(len(split.x_val), -1).astype("float32"))
    yv = split.y_val
    acts = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}

    def objective(trial):
        units = trial.suggest_categorical("units", [64, 128])
        act = trial.suggest_categorical("activation", ["relu", "gelu", "tanh"])
        rate = trial.suggest_float("rate", 0.0, 0.4)
        lr = trial.suggest_float("lr", 1e-4, 3e-2, log=True)
        beta1 = trial.suggest_float("beta_1", 0.8, 0.95)
        torch.manual_seed(1000 * seed + trial.number)
        model = nn.Sequential(nn.Linear(64, units), acts[act](), nn.Dropout(rate),
                              nn.Linear(units, 10))
        opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(beta1, 0.999), eps=1e-7)
        lossf = nn.CrossEntropyLoss()
        best = 0.0
        for _ in range(epochs):
            model.train()
            perm = torch.randperm(len(xt))
            for i in range(0, len(perm) // 64 * 64, 64):
                b = perm[i:i + 64]
                opt.zero_grad()
                lossf(model(xt[b]), yt[b]).backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                acc = float((model(xv).argmax(1).numpy() == yv).mean())
            best = max(best, acc)  # the kept-best-weights rule our trainer uses
        return best

    t0 = time.perf_counter()
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True))
    study.optimize(objective, n_trials=trials)
    return time.perf_counter() - t0, study.best_value


def _measure(side: str, seed: int, size: tuple[int, int], args, cache: str | None = None,
             threads: int | None = None) -> dict:
    """One measurement in a fresh process (imports and in-memory caches not shared)."""
    cmd = [sys.executable, __file__, "--one", side, "--seed", str(seed), "--sizes",
           f"{size[0]}x{size[1]}", "--population", str(args.population)]
    if cache:
        cmd += ["--cache-dir", cache]
    if threads:
        cmd += ["--torch-threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _size(text: str) -> tuple[int, int]:
    try:
        trials, epochs = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a size is TRIALSxEPOCHS, e.g. 32x10; got {text!r}") from None
    return trials, epochs


def _table(size: tuple[int, int], rows: dict[str, list[dict]], threads: list[int]) -> None:
    names = {"cold": "neural_jax, cold cache (first search)",
             "warm": "neural_jax, warm cache (same search again)",
             **{f"optuna{t}": f"Optuna TPE + PyTorch, sequential, {t} torch thread{'s' * (t > 1)}"
                for t in threads}}
    print(f"\n{size[0]} trials x {size[1]} epochs\n")
    print("| search | wall s per seed | median wall s | best val acc per seed | median acc |")
    print("|---|---|---|---|---|")
    med = {}
    for k, rs in rows.items():
        if not rs:
            continue
        ts, accs = [r["seconds"] for r in rs], [r["acc"] for r in rs]
        med[k] = (statistics.median(ts), statistics.median(accs))
        print(f"| {names[k]} | {', '.join(f'{t:.2f}' for t in ts)} | {med[k][0]:.2f} | "
              f"{', '.join(f'{a:.4f}' for a in accs)} | {med[k][1]:.4f} |")
    refs = [k for k in med if k.startswith("optuna")]
    if not refs:
        return
    # the reference is the Optuna loop at its fastest thread count (median over seeds)
    ref = min(refs, key=lambda k: med[k][0])
    for k in ("cold", "warm"):
        if k in med:
            ratios = [o["seconds"] / r["seconds"] for o, r in zip(rows[ref], rows[k])]
            print(f"speed-up {k} vs the faster Optuna row ({names[ref].split(', ')[-1]}): "
                  f"{med[ref][0] / med[k][0]:.2f}x (median of same-seed ratios "
                  f"{statistics.median(ratios):.2f}x); best accuracy {med[k][1]:.4f} vs "
                  f"{med[ref][1]:.4f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="32x10",
                    help="comma-separated search sizes TRIALSxEPOCHS (default 32x10)")
    ap.add_argument("--population", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=3, help="searches per side (seeds 0..n-1)")
    ap.add_argument("--side", choices=("both", "ours", "optuna"), default="both")
    ap.add_argument("--torch-threads", default="1,2",
                    help="torch thread counts for the Optuna loop, each a row (default 1,2; "
                         "speed-ups are against the faster)")
    ap.add_argument("--one", choices=("ours", "optuna"), help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--cache-dir", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = [_size(s) for s in args.sizes.split(",")]
    threads = [int(t) for t in str(args.torch_threads).split(",")]
    if args.one == "ours":
        t, acc = ours(*sizes[0], args.population, args.cache_dir or False, args.seed)
        print(json.dumps({"seconds": t, "acc": acc}))
        return
    if args.one == "optuna":
        t, acc = optuna_torch(*sizes[0], args.seed, threads[0])
        print(json.dumps({"seconds": t, "acc": acc}))
        return

    print(f"machine: {os.cpu_count()} CPU cores; batch 64, digits (1,437 train / 360 test, "
          f"validation 20% of train); population {args.population}; every search in a new "
          f"process; seeds 0-{args.seeds - 1}")
    for size in sizes:
        rows: dict[str, list[dict]] = {"cold": [], "warm": [],
                                       **{f"optuna{t}": [] for t in threads}}
        for seed in range(args.seeds):
            if args.side in ("both", "ours"):
                cache = tempfile.mkdtemp(prefix="nj_xla_")
                rows["cold"].append(_measure("ours", seed, size, args, cache))
                rows["warm"].append(_measure("ours", seed, size, args, cache))
                shutil.rmtree(cache, ignore_errors=True)
            if args.side in ("both", "optuna"):
                for t in threads:
                    rows[f"optuna{t}"].append(_measure("optuna", seed, size, args, threads=t))
        _table(size, rows, threads)


if __name__ == "__main__":
    main()
