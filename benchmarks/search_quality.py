"""Search quality: our strategies against Optuna's counterparts on standard test functions.

Launch (repository root):

    python benchmarks/search_quality.py                 # 20 seeds, every pair, batch 1 and 8
    python benchmarks/search_quality.py --seeds 3 --pairs cmaes --functions branin

One run prints one table: for each pair (GPBayesian vs ``GPSampler``, TPE vs
``TPESampler``, Evolution(CMA_ES) vs ``CmaEsSampler``), function and batch size, the median
over seeds of the final *regret* (best value found minus the known minimum) and the median
time of one *ask*, i.e. of producing one batch: one ``Strategy.ask(n)`` call for ours,
``n`` ``Study.ask`` calls for Optuna. ``last ask`` is the median over seeds of the time of
the final batch (the model-based samplers are slowest there, with the most observations).

Protocol. Budget 60 evaluations for GP and TPE, 300 for CMA-ES. A batch of ``b`` is asked,
evaluated, then told (Optuna: ``b`` trials asked, then ``b`` told); the last batch is
shortened to fit the budget. Ours runs through the Strategy contract on ``[0, 1]^d``
(``bind`` with float dimensions, the box mapped linearly); Optuna runs through
``Study.ask``/``Study.tell`` with ``FloatDistribution``s on the same box and in-memory
storage. Settings: ``GPSampler(seed)``; ``TPESampler(seed, multivariate=True,
constant_liar=batch > 1)``; ``CmaEsSampler(seed)``; all other options at their defaults,
ours included. Strategies whose module does not exist yet are shown as ``n/a``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.functions import FUNCTIONS, TestFunction

#: pair name -> (our "module:Class", Optuna sampler factory, budget, label)
PAIRS: dict[str, tuple[str, str, int, str]] = {
    "gp": (
        "search.strategies.gp:GPBayesian",
        "GPSampler",
        60,
        "GPBayesian vs GPSampler",
    ),
    "tpe": ("search.strategies.tpe:TPE", "TPESampler", 60, "TPE vs TPESampler"),
    "cmaes": (
        "search.strategies.evolution:Evolution",
        "CmaEsSampler",
        300,
        "Evolution(CMA_ES) vs CmaEsSampler",
    ),
}


def _our_class(spec: str) -> type | None:
    module, _, attr = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def _make_ours(pair: str, cls: type, seed: int) -> Any:
    if pair == "cmaes":
        return cls("CMA_ES", seed=seed)
    return cls(seed=seed)


def _make_optuna(pair: str, seed: int, batch: int) -> Any:
    import optuna

    if pair == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if pair == "tpe":
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, constant_liar=batch > 1
        )
    return optuna.samplers.CmaEsSampler(seed=seed)


def run_ours(
    make: Callable[[], Any], f: TestFunction, seed: int, budget: int, batch: int
) -> dict[str, Any]:
    """One run of a Strategy; returns the final regret and the seconds of every ask."""
    from search.strategies.base import Dimension

    strategy = make()
    strategy.bind([Dimension(f"x{i}", "float") for i in range(f.d)], seed)
    best, times, told = np.inf, [], 0
    while told < budget:
        n = min(batch, budget - told)
        start = time.perf_counter()
        u = np.asarray(strategy.ask(n), dtype=np.float64)
        times.append(time.perf_counter() - start)
        if u.shape != (n, f.d) or np.any(u < 0) or np.any(u > 1):
            raise RuntimeError(f"ask({n}) returned an invalid array of shape {u.shape}")
        y = f.fn(f.from_unit(u))
        strategy.tell(u, y)
        best = min(best, float(np.min(y)))
        told += n
    return {"regret": best - f.minimum, "ask_s": times}


def run_optuna(
    sampler: Any, f: TestFunction, budget: int, batch: int
) -> dict[str, Any]:
    """One run of an Optuna sampler through ask/tell; batches are asked, then told."""
    import optuna
    from optuna.distributions import FloatDistribution

    study = optuna.create_study(sampler=sampler, direction="minimize")
    dists = {
        f"x{i}": FloatDistribution(lo, hi)
        for i, (lo, hi) in enumerate(zip(f.lower, f.upper))
    }
    best, times, told = np.inf, [], 0
    while told < budget:
        n = min(batch, budget - told)
        start = time.perf_counter()
        trials = [study.ask(dists) for _ in range(n)]
        times.append(time.perf_counter() - start)
        x = np.array([[t.params[f"x{i}"] for i in range(f.d)] for t in trials])
        y = f.fn(x)
        for trial, value in zip(trials, y):
            study.tell(trial, float(value))
        best = min(best, float(np.min(y)))
        told += n
    return {"regret": best - f.minimum, "ask_s": times}


def _summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {
        "regret": statistics.median(r["regret"] for r in runs),
        "ask_ms": 1e3 * statistics.median(t for r in runs for t in r["ask_s"]),
        "last_ask_ms": 1e3 * statistics.median(r["ask_s"][-1] for r in runs),
    }


def _fmt(v: float | None, kind: str) -> str:
    if v is None:
        return "n/a"
    if kind == "regret":
        return f"{v:.3g}" if abs(v) >= 1e-3 else f"{v:.2e}"
    return f"{v:.1f}" if v >= 1 else f"{v:.2f}"


def versions() -> str:
    out = [f"Python {platform.python_version()}", f"{os.cpu_count()} CPU cores"]
    from importlib.metadata import PackageNotFoundError, version

    for name in ("numpy", "jax", "evosax", "optuna", "cmaes", "torch", "scipy"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:  # a missing package is just not listed
            continue
    return ", ".join(out)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", type=int, default=20, help="seeds per cell (default 20)"
    )
    parser.add_argument(
        "--pairs", default="gp,tpe,cmaes", help="comma list of gp,tpe,cmaes"
    )
    parser.add_argument("--functions", default=",".join(FUNCTIONS), help="comma list")
    parser.add_argument("--batches", default="1,8", help="comma list of batch sizes")
    parser.add_argument(
        "--cap",
        action="append",
        default=[],
        metavar="PAIR=N",
        help="at most N seeds for one pair, e.g. --cap gp=5 (GP runs are the slow ones)",
    )
    parser.add_argument(
        "--json", default=None, help="also write every run to this file"
    )
    args = parser.parse_args(argv)

    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")

    pairs = [p for p in args.pairs.split(",") if p]
    funcs = [FUNCTIONS[k] for k in args.functions.split(",") if k]
    batches = [int(b) for b in args.batches.split(",") if b]
    caps = {k: int(v) for k, v in (c.split("=", 1) for c in args.cap)}
    rows, raw = [], []
    for pair in pairs:
        spec, _, budget, label = PAIRS[pair]
        cls = _our_class(spec)
        seeds = list(range(min(args.seeds, caps.get(pair, args.seeds))))
        for f in funcs:
            for batch in batches:
                ours = None
                if cls is not None:
                    ours_runs = [
                        run_ours(
                            lambda s=s, p=pair, c=cls: _make_ours(p, c, s),
                            f,
                            s,
                            budget,
                            batch,
                        )
                        for s in seeds
                    ]
                    ours = _summary(ours_runs)
                theirs_runs = [
                    run_optuna(_make_optuna(pair, s, batch), f, budget, batch)
                    for s in seeds
                ]
                theirs = _summary(theirs_runs)
                row = {
                    "pair": label,
                    "function": f.name,
                    "batch": batch,
                    "budget": budget,
                    "seeds": len(seeds),
                    "ours": ours,
                    "optuna": theirs,
                }
                rows.append(row)
                raw.append(
                    row
                    | {
                        "ours_runs": None
                        if cls is None
                        else [r["regret"] for r in ours_runs],
                        "optuna_runs": [r["regret"] for r in theirs_runs],
                    }
                )
                print(
                    f"# {label} | {f.name} | batch {batch} | seeds {len(seeds)} | ours {ours} "
                    f"| optuna {theirs}",
                    file=sys.stderr,
                    flush=True,
                )

    header = (
        "| pair | function | batch | budget | seeds | regret ours | regret Optuna | better "
        "| ask ms ours | ask ms Optuna | last ask ms ours | last ask ms Optuna |"
    )
    print(f"search_quality: medians over seeds; {versions()}")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        o, t = r["ours"], r["optuna"]
        if o is None:
            better = "n/a"
        elif o["regret"] < t["regret"] - 1e-12:
            better = "ours"
        elif t["regret"] < o["regret"] - 1e-12:
            better = "Optuna"
        else:
            better = "tie"
        print(
            f"| {r['pair']} | {r['function']} | {r['batch']} | {r['budget']} | {r['seeds']} "
            f"| {_fmt(o and o['regret'], 'regret')} | {_fmt(t['regret'], 'regret')} | {better} "
            f"| {_fmt(o and o['ask_ms'], 'ms')} | {_fmt(t['ask_ms'], 'ms')} "
            f"| {_fmt(o and o['last_ask_ms'], 'ms')} | {_fmt(t['last_ask_ms'], 'ms')} |"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"versions": versions(), "rows": raw}, fh, indent=1)
    return {"rows": rows}


if __name__ == "__main__":
    main()
