"""Search quality: our strategies against Optuna's counterparts on standard test functions.

Launch (repository root):

    python benchmarks/search_quality.py                 # 20 seeds, every pair, batch 1 and 8
    python benchmarks/search_quality.py --seeds 3 --pairs cmaes --functions branin
    python benchmarks/search_quality.py --pairs tpe --functions ackley5,styblinski4,hartmann3,camel
    OMP_NUM_THREADS=1 python benchmarks/search_quality.py --jobs 2 --cap gp=10

``--log FILE`` records every finished run and skips recorded ones, so a long run can be
stopped and resumed. ``--jobs N`` runs the (pair, function, batch, seed, side) runs in ``N``
worker processes;
each run is timed inside its own process, so with as many jobs as idle cores the times are
those of a one-core run (``OMP_NUM_THREADS=1`` keeps torch, used by Optuna's GPSampler, to
one thread as well).

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

from benchmarks.functions import ALL_FUNCTIONS, FUNCTIONS, TestFunction

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


def _one_run(task: tuple[str, str, int, int, str]) -> dict[str, Any]:
    """One seed of one side of one cell (a worker's unit of work)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    pair, fkey, batch, seed, side = task
    spec, _, budget, _ = PAIRS[pair]
    f = ALL_FUNCTIONS[fkey]
    if side == "ours":
        cls = _our_class(spec)
        return run_ours(lambda: _make_ours(pair, cls, seed), f, seed, budget, batch)
    return run_optuna(_make_optuna(pair, seed, batch), f, budget, batch)


def _load_log(path: str | None) -> dict[tuple, dict[str, Any]]:
    """Runs already recorded in a ``--log`` file (one JSON object per line)."""
    if not path or not os.path.exists(path):
        return {}
    out = {}
    with open(path) as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                out[tuple(rec["task"])] = rec["result"]
    return out


def _record(results: dict, log: Any, task: tuple, res: dict[str, Any]) -> None:
    results[task] = res
    pair, fkey, batch, seed, side = task
    print(f"# run {pair} {fkey} b{batch} seed {seed} {side}: regret {res['regret']:.4g}",
          file=sys.stderr, flush=True)
    if log is not None:
        log.write(json.dumps({"task": list(task), "result": res}) + "\n")
        log.flush()


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
    parser.add_argument(
        "--functions",
        default=",".join(FUNCTIONS),
        help=f"comma list of {','.join(ALL_FUNCTIONS)} (default: the first four; the rest are "
        "held out, for checking that a change is general)",
    )
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
    parser.add_argument(
        "--jobs", type=int, default=1, help="worker processes (default 1: in this process)"
    )
    parser.add_argument(
        "--log",
        default=None,
        help="append every finished run to this JSON-lines file and skip runs it already "
        "holds (resumes a stopped run; a later call with fewer --seeds prints its table)",
    )
    args = parser.parse_args(argv)

    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")

    pairs = [p for p in args.pairs.split(",") if p]
    fkeys = [k for k in args.functions.split(",") if k]
    unknown = [k for k in fkeys if k not in ALL_FUNCTIONS]
    if unknown:
        parser.error(
            f"unknown function(s) {', '.join(unknown)}; choose from {', '.join(ALL_FUNCTIONS)}"
        )
    batches = [int(b) for b in args.batches.split(",") if b]
    caps = {k: int(v) for k, v in (c.split("=", 1) for c in args.cap)}
    cells = [(p, k, b) for p in pairs for k in fkeys for b in batches]
    seeds = {p: list(range(min(args.seeds, caps.get(p, args.seeds)))) for p in pairs}
    sides = {p: (["ours"] if _our_class(PAIRS[p][0]) else []) + ["optuna"] for p in pairs}
    # Seed-major order: a run stopped early still holds whole seeds of every cell.
    top = max(len(v) for v in seeds.values())
    tasks = [
        (p, k, b, s, side)
        for s in range(top)
        for p, k, b in cells
        for side in sides[p]
        if s < len(seeds[p])
    ]
    results = _load_log(args.log)
    todo = [t for t in tasks if t not in results]
    log = open(args.log, "a") if args.log else None  # noqa: SIM115 - closed below
    try:
        if args.jobs > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as pool:
                for task, res in zip(todo, pool.map(_one_run, todo)):
                    _record(results, log, task, res)
        else:
            for task in todo:
                _record(results, log, task, _one_run(task))
    finally:
        if log is not None:
            log.close()

    rows, raw = [], []
    for pair, fkey, batch in cells:
        _, _, budget, label = PAIRS[pair]
        f = ALL_FUNCTIONS[fkey]
        runs = {
            side: [results[(pair, fkey, batch, s, side)] for s in seeds[pair]]
            for side in sides[pair]
        }
        ours = _summary(runs["ours"]) if "ours" in runs else None
        theirs = _summary(runs["optuna"])
        row = {
            "pair": label,
            "function": f.name,
            "batch": batch,
            "budget": budget,
            "seeds": len(seeds[pair]),
            "ours": ours,
            "optuna": theirs,
        }
        rows.append(row)
        raw.append(
            row
            | {
                "ours_runs": [r["regret"] for r in runs["ours"]] if "ours" in runs else None,
                "optuna_runs": [r["regret"] for r in runs["optuna"]],
            }
        )
        print(
            f"# {label} | {f.name} | batch {batch} | seeds {len(seeds[pair])} | ours {ours} "
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
