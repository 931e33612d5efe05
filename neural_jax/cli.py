"""The ``neural`` command.

``neural check FILE`` reads a `.neural` file, prints each network's per-layer shape table
and its search space, and exits non-zero with the error (line, column, caret, hint) when the
file is not valid.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from neural_jax.dsl.errors import NeuralError, NeuralWarning

__all__ = ["main"]


def _space_table(params) -> str:
    if not params:
        return "search space: none (no HPO expressions)"
    rows = []
    for p in params:
        if p.kind == "categorical":
            dom = "{" + ", ".join(repr(c) for c in p.choices) + "}"
        else:
            dom = f"[{p.low!r}, {p.high!r}]"
            if p.step is not None:
                dom += f" step {p.step!r}"
            if p.log:
                dom += " log"
        cond = ""
        if p.condition:
            cond = " if " + " and ".join(f"{k} == {v!r}" for k, v in p.condition)
        rows.append((p.name, p.kind, dom + cond))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"search space: {len(params)} parameter{'s' if len(params) != 1 else ''}"]
    lines += [f"  {a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def cmd_check(args: argparse.Namespace) -> int:
    from neural_jax.dsl.api import load, parse_all
    from neural_jax.ir.checker import check
    from neural_jax.ir.space import search_space, to_space_dict

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NeuralWarning)
        if args.file == "-":
            nets = parse_all(sys.stdin.read(), "<stdin>")
        else:
            net = load(args.file, args.network) if args.network else None
            if net is not None:
                nets = (net,)
            else:
                import pathlib

                nets = parse_all(pathlib.Path(args.file).read_bytes(), args.file)
        reports = [(n, check(n), search_space(n)) for n in nets]
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.json:
        out = [{"network": n.name, "input_shape": list(n.input_shape),
                "layers": [{"path": r.path, "layer": r.layer, "output": r.output}
                           for r in rep.rows],
                "search_space": to_space_dict(space)} for n, rep, space in reports]
        print(json.dumps(out, indent=2, default=str))
        return 0
    for i, (n, rep, space) in enumerate(reports):
        if i:
            print()
        print(f"network {n.name}: ok ({rep.configs_checked} configuration"
              f"{'s' if rep.configs_checked != 1 else ''} checked)")
        print(rep.table())
        print(_space_table(space))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neural", description="The Neural DSL on JAX.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="parse and shape-check a .neural file; print its search space")
    c.add_argument("file", help="the .neural file ('-' reads standard input)")
    c.add_argument("--network", help="check only this network of the file")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(func=cmd_check)
    return p


def main(argv: list[str] | None = None) -> int:
    """Runs the CLI; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NeuralError as e:
        print(e.format(), file=sys.stderr)
        return 1
    except FileNotFoundError as e:
        print(f"error: no such file: {e.filename}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
