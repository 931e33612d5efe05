"""The same search two ways on digits: our engine vs a sequential Optuna + PyTorch loop.

Same space (below), same number of trials, same epochs, batch size, validation split and
seeds; each side uses its TPE. Ours trains each round's population in one compiled program
per bucket; Optuna's loop trains one PyTorch model per trial. Prints wall time and best
validation accuracy side by side.

Both sides are timed from the search's start with their libraries imported and the data
loaded before the clock starts (the Optuna side always was). Ours uses JAX's persistent
compilation cache in ``--cache-dir``; the default is a new empty directory, so the run is
COLD (every program compiled). Run twice with the same ``--cache-dir`` for a WARM figure,
or pass ``--no-cache``.

    python benchmarks/hpo_end_to_end.py [--trials 32] [--epochs 10] [--population 16]
        [--cache-dir DIR | --no-cache] [--side both|ours|optuna]
"""

from __future__ import annotations

import argparse
import os
import pathlib
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


def ours(trials: int, epochs: int, population: int, cache: str | bool = False):
    import neural_jax.train.population  # noqa: F401
    import search  # noqa: F401 - imported before the clock, as torch and optuna are
    from neural_jax.data import load
    from neural_jax.hpo import HPOptimizer

    load("digits")  # the Optuna side loads the data before its clock too
    t0 = time.perf_counter()
    opt = HPOptimizer(strategy="tpe", n_trials=trials, population=population, epochs=epochs,
                      seed=0, compilation_cache=cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt.optimize(CODE, dataset_name="digits")
    return time.perf_counter() - t0, opt.best_value


def optuna_torch(trials: int, epochs: int):
    import optuna
    import torch
    from torch import nn

    from neural_jax.data import load

    torch.set_num_threads(os.cpu_count() or 1)
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
        torch.manual_seed(trial.number)
        model = nn.Sequential(nn.Linear(64, units), acts[act](), nn.Dropout(rate), nn.Linear(units, 10))
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
                                sampler=optuna.samplers.TPESampler(seed=0, multivariate=True))
    study.optimize(objective, n_trials=trials)
    return time.perf_counter() - t0, study.best_value


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--population", type=int, default=16)
    ap.add_argument("--cache-dir", default=None,
                    help="persistent compilation cache (default: a new empty one: cold)")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--side", choices=("both", "ours", "optuna"), default="both")
    args = ap.parse_args()
    cache = False if args.no_cache else (args.cache_dir or tempfile.mkdtemp(prefix="nj_xla_"))
    warm = bool(not args.no_cache and args.cache_dir and any(pathlib.Path(args.cache_dir).glob("*")))
    print(f"machine: {os.cpu_count()} CPU cores; {args.trials} trials x {args.epochs} epochs, "
          f"batch 64, digits (1,437 train / 360 test, validation 20% of train)")
    print(f"{'search':<40} {'wall s':>8} {'best val acc':>13}")
    label = "no cache" if args.no_cache else ("warm cache" if warm else "cold cache")
    t_ours = t_opt = None
    if args.side in ("both", "ours"):
        t_ours, acc_ours = ours(args.trials, args.epochs, args.population, cache)
        name = f"neural_jax (TPE, population {args.population}, {label})"
        print(f"{name:<40} {t_ours:>8.2f} {acc_ours:>13.4f}", flush=True)
    if args.side in ("both", "optuna"):
        t_opt, acc_opt = optuna_torch(args.trials, args.epochs)
        print(f"{'Optuna TPE + PyTorch, sequential':<40} {t_opt:>8.2f} {acc_opt:>13.4f}")
    if t_ours and t_opt:
        print(f"speed-up: {t_opt / t_ours:.2f}x")


if __name__ == "__main__":
    main()
