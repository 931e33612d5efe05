"""Rounds of PyTorch trials in worker processes: a pool started every round vs one kept.

A search with ``backend="pytorch"`` and ``parallel_trials=N`` trains each round's trials in
N worker processes. ``run_trials`` without a pool starts them for the call and stops them
after, so every round pays for spawning the processes and importing torch and neural_jax
in each; the engine now keeps one :class:`bridges.trials.TrialPool` for the whole search.
This runs the same rounds (the digits search network of ``hpo_end_to_end.py``, fixed
configurations, the same seeds) both ways, alternating, and prints the wall time of each
round and of all of them, median over ``--repeats``.

    python benchmarks/trial_pool.py [--rounds 4] [--trials 4] [--workers 2] [--epochs 3]
        [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "benchmarks"))  # after ROOT: benchmarks/bridges.py is not the package


def rounds(net, ds, configs, args, pool) -> list[float]:
    from bridges.trials import run_trials

    out = []
    for r in range(args.rounds):
        t0 = time.perf_counter()
        res = run_trials(net, ds, configs[r], "pytorch", workers=args.workers,
                         overrides={"epochs": args.epochs}, pool=pool)
        out.append(time.perf_counter() - t0)
        assert not any(x.failed for x in res), [x.message for x in res]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--trials", type=int, default=4, help="trials a round")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import numpy as np
    from hpo_end_to_end import CODE

    from bridges.trials import TrialPool
    from neural_jax.data import load
    from neural_jax.dsl.api import parse
    from neural_jax.ir.lift import lift
    from neural_jax.ir.space import bind_search_space

    net0 = parse(CODE)
    net = lift(net0, bind_search_space(net0, None))
    ds = load("digits")
    rng = np.random.default_rng(0)
    configs = [[{"layers[1].units": int(rng.choice([64, 128])),
                 "layers[1].activation": str(rng.choice(["relu", "gelu", "tanh"])),
                 "layers[2].rate": float(rng.uniform(0, 0.4)),
                 "optimizer.learning_rate": float(10 ** rng.uniform(-4, np.log10(3e-2))),
                 "optimizer.beta_1": float(rng.uniform(0.8, 0.95)), "seed": r * 100 + i}
                for i in range(args.trials)] for r in range(args.rounds)]
    times: dict[str, list[list[float]]] = {"per_round": [], "kept": []}
    for _ in range(args.repeats):
        times["per_round"].append(rounds(net, ds, configs, args, None))
        with TrialPool(args.workers) as pool:
            times["kept"].append(rounds(net, ds, configs, args, pool))

    print(f"machine: {os.cpu_count()} CPU cores; {args.rounds} rounds of {args.trials} PyTorch "
          f"trials ({args.epochs} epochs, digits) in {args.workers} worker processes; "
          f"median of {args.repeats}")
    print("\n| workers | " + " | ".join(f"round {r + 1} s" for r in range(args.rounds))
          + " | all rounds s |")
    print("|---|" + "---|" * (args.rounds + 1))
    med = {}
    for key, name in (("per_round", "started every round (no pool)"),
                      ("kept", "kept for the search (TrialPool)")):
        cols = [statistics.median(t[r] for t in times[key]) for r in range(args.rounds)]
        med[key] = statistics.median(sum(t) for t in times[key])
        print(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cols) + f" | {med[key]:.2f} |")
    print(f"\nkept pool: {med['per_round'] / med['kept']:.2f}x faster over all rounds")


if __name__ == "__main__":
    main()
