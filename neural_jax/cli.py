"""The ``neural`` command.

``neural check FILE`` reads a `.neural` file, prints each network's per-layer shape table
and its search space, and exits non-zero with the error (line, column, caret, hint) when the
file is not valid. ``neural run FILE --dataset NAME`` trains one configuration and saves its
parameters (msgpack) and a JSON metrics record.
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


def cmd_run(args: argparse.Namespace) -> int:
    import pathlib

    from neural_jax.data import DatasetError, load as load_dataset
    from neural_jax.dsl.api import load
    from neural_jax.ir.checker import check
    from neural_jax.train.checkpoint import save_run

    if args.backend != "jax":
        print(f"error: backend {args.backend!r} cannot train yet; use --backend jax",
              file=sys.stderr)
        return 2
    net = load(args.file, args.network)
    check(net)
    config = json.loads(args.params) if args.params else {}
    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed}
    try:
        ds = load_dataset(args.dataset, **({"data_dir": args.data_dir} if args.data_dir else {}))
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    from neural_jax.train.trainer import Trainer

    trainer = Trainer(net, config, overrides)
    spec = trainer.spec
    searched = [p for p in trainer.config if p not in config]
    if searched:
        print("HPO parameters fixed for this run (pass --params to choose): " + ", ".join(
            f"{p}={trainer.config[p]!r}" for p in searched))
    print(f"training {net.name} on {ds.name}: {spec.epochs} epochs, batch {spec.batch_size}, "
          f"{spec.optimizer}, validation {spec.validation_split:g} of the training split")

    def show(epoch: int, rec: dict) -> None:
        parts = [f"{k} {v:.4f}" for k, v in rec.items() if k not in ("epoch", "seconds")]
        print(f"epoch {epoch:>3}/{spec.epochs}  " + "  ".join(parts) +
              f"  ({rec.get('seconds', 0):.1f}s)", flush=True)

    try:
        result = trainer.fit(ds, on_epoch=show)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if result.failed:
        print(f"error: training failed: {result.message}", file=sys.stderr)
        return 1
    print("validation: " + "  ".join(f"{k} {v:.4f}" for k, v in result.val.items()))
    print("test:       " + "  ".join(f"{k} {v:.4f}" for k, v in result.test.items()))
    out = save_run(pathlib.Path(args.out), net, result)
    print(f"saved parameters and metrics to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neural", description="The Neural DSL on JAX.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="parse and shape-check a .neural file; print its search space")
    c.add_argument("file", help="the .neural file ('-' reads standard input)")
    c.add_argument("--network", help="check only this network of the file")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(func=cmd_check)
    r = sub.add_parser("run", help="train one configuration of a network on a dataset")
    r.add_argument("file", help="the .neural file")
    r.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    r.add_argument("--network", help="the network of the file to train")
    r.add_argument("--epochs", type=int, help="override the file's epochs")
    r.add_argument("--batch-size", type=int, help="override the file's batch_size")
    r.add_argument("--seed", type=int, help="override the file's seed")
    r.add_argument("--params", help='JSON values for HPO parameters, e.g. \'{"layers[1].units": 64}\'')
    r.add_argument("--backend", default="jax", choices=["jax", "pytorch", "tensorflow"])
    r.add_argument("--data-dir", help="where dataset files are (default $NEURAL_DATA_DIR)")
    r.add_argument("--out", default="runs/latest", help="folder for parameters and metrics")
    r.set_defaults(func=cmd_run)
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
    except OSError as e:
        print(f"error: cannot read {e.filename}: {e.strerror}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
