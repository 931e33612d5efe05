"""Front-end speed: parse + macro expansion + lowering, and shape checking, per example file.

Prints one table (median of N runs after one warm-up, milliseconds). Run:
    python benchmarks/parse_speed.py [--runs 50]
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    t0 = time.perf_counter()
    from neural_jax import check, parse_all
    from neural_jax.dsl.parser import _lark

    _lark()
    print(f"import + grammar build: {(time.perf_counter() - t0) * 1e3:.0f} ms (once per process)")
    warnings.simplefilter("ignore")
    rows = []
    for path in sorted((ROOT / "examples").glob("*.neural")):
        text = path.read_text()
        parse_all(text)
        tp, tc = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            nets = parse_all(text)
            tp.append(time.perf_counter() - t)
            t = time.perf_counter()
            for n in nets:
                check(n)
            tc.append(time.perf_counter() - t)
        rows.append((path.name, len(text), statistics.median(tp) * 1e3,
                     statistics.median(tc) * 1e3))
    print(f"{'example':<30} {'bytes':>6} {'parse ms':>9} {'check ms':>9}")
    for name, size, p, c in sorted(rows, key=lambda r: -r[1]):
        print(f"{name:<30} {size:>6} {p:>9.2f} {c:>9.2f}")


if __name__ == "__main__":
    main()
