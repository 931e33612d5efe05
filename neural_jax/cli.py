"""The ``neural`` command.

``neural check FILE`` reads a `.neural` file, prints each network's per-layer shape table
and its search space, and exits non-zero with the error (line, column, caret, hint) when the
file is not valid. ``neural run FILE --dataset NAME`` trains one configuration and saves its
parameters (msgpack) and a JSON metrics record (``--backend pytorch``/``tensorflow``
trains through the bridges, :data:`RUNNERS`). ``neural hpo FILE --dataset NAME`` searches
(:mod:`neural_jax.cli_hpo`); ``neural trials`` lists a stored study's trials
(:mod:`neural_jax.cli_trials`). ``neural compile`` and ``neural export`` (in
:mod:`bridges.cli`) write standalone TensorFlow / PyTorch / JAX scripts and trained weights
for those frameworks.

Commands and runs that live in other modules are named by lazy ``"module:function"``
strings (:data:`COMMANDS`, :data:`RUNNERS`), imported when the parser is built or the run
starts, so this package imports no bridge.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from neural_jax.cli_report import (
    data_options,
    diverged,
    epoch_printer,
    failed_status,
    plural,
    print_scores,
    report_divergence,
)
from neural_jax.core.errors import NeuralError, NeuralWarning

__all__ = ["COMMANDS", "RUNNERS", "build_parser", "main"]

#: ``add(sub)`` functions adding the sub-commands other modules hold
COMMANDS: tuple[str, ...] = (
    "neural_jax.cli_hpo:add_command",
    "bridges.cli:add_commands",  # compile, export
    "neural_jax.cli_trials:add_commands",
)

#: backend -> ``run(args, net, config, overrides, dataset)`` of ``neural run --backend``
#: for a backend that does not train with the JAX trainer
RUNNERS: dict[str, str] = {
    "pytorch": "bridges.cli:run_in_backend",
    "tensorflow": "bridges.cli:run_in_backend",
}


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
    """``neural check``: the shape table and search space of each network of a file."""
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
    """``neural run``: trains one configuration and saves it (``--out``)."""
    import pathlib

    from neural_jax.cli_paths import check_output_dir
    from neural_jax.data import DatasetError
    from neural_jax.dsl.api import load
    from neural_jax.hpo import dataset_for
    from neural_jax.ir.checker import check
    from neural_jax.train.checkpoint import save_run

    check_output_dir(args.out, "--out", inputs=[args.file])  # before any training
    net = load(args.file, args.network)
    check(net)
    from neural_jax.population.best import load_best

    best = load_best(args.params) if args.params else None  # a file or `neural hpo -o` folder
    from neural_jax.ir.config import (
        active_keys,
        config_labels,
        parse_json,
        validate_config,
    )

    if not args.params:
        config = {}
    else:
        config = best["params"] if best is not None else parse_json(args.params)

    if best is None or "program" not in best:  # values given by hand (JSON text or a
        # plain {path: value} file): checked before any data is loaded or compiled
        config = validate_config(net, config, where="--params")
    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed}
    try:
        ds = dataset_for(net, args.dataset, **data_options(args.dataset, args.data_dir))
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if best is not None:
        from neural_jax.cli_best import run_best

        rc = run_best(args, net, best, ds)
        if rc >= 0:
            return rc
    if args.backend in RUNNERS:
        from neural_jax.executors import load_ref

        return load_ref(RUNNERS[args.backend])(args, net, config, overrides, ds)
    from neural_jax.population.trainer import Trainer

    trainer = Trainer(net, config, overrides)
    spec = trainer.spec
    searched = [p for p in active_keys(net, trainer.config) if p not in config]
    if searched:
        labels = config_labels(net, {p: trainer.config[p] for p in searched})
        print("HPO parameters fixed for this run (pass --params to choose): " + ", ".join(
            f"{p}={v!r}" for p, v in labels.items()))
    print(f"training {net.name} on {ds.name}: {plural(spec.epochs, 'epoch')}, "
          f"batch {spec.batch_size}, {spec.optimizer}, "
          f"validation {spec.validation_split:g} of the training split")

    try:
        result = trainer.fit(ds, on_epoch=epoch_printer(spec.epochs))
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    reason = diverged(result, ds)
    if result.failed and reason is None:
        return failed_status(result, reason)
    if not result.failed:
        print_scores(result)
    if result.variables is None:  # nothing to keep
        return report_divergence(reason, None)
    out = save_run(pathlib.Path(args.out), net, result)  # a diverged run too: its history
    print(f"saved parameters and metrics to {out}")
    return report_divergence(reason, str(out))


def build_parser() -> argparse.ArgumentParser:
    """The ``neural`` argument parser: ``check`` and ``run`` here, the others by
    :data:`COMMANDS`."""
    from neural_jax.cli_values import non_negative_int, positive_int
    from neural_jax.executors import load_ref

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
    r.add_argument("--epochs", type=positive_int, help="override the file's epochs")
    r.add_argument("--batch-size", type=positive_int, help="override the file's batch_size")
    r.add_argument("--seed", type=non_negative_int, help="override the file's seed")
    r.add_argument("--params",
                   help='JSON values for HPO parameters, e.g. \'{"layers[1].units": 64}\', '
                   "a JSON file, or the folder (or best.json) of `neural hpo -o DIR`: its best "
                   "trial trains again in the search's program, reproducing its score")
    r.add_argument("--backend", default="jax", choices=["jax", "pytorch", "tensorflow"])
    r.add_argument("--data-dir", help="where dataset files are (default $NEURAL_DATA_DIR)")
    r.add_argument("--out", default="runs/latest", help="folder for parameters and metrics")
    r.set_defaults(func=cmd_run)
    for ref in COMMANDS:  # hpo, compile, export, trials: by lazy name
        load_ref(ref)(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Runs the CLI; returns the exit status.

    A closed standard output (``neural trials ... | head -1``) ends the command quietly
    with status 141, as Unix tools killed by SIGPIPE do.
    """
    try:
        status = _main(argv)
        sys.stdout.flush()  # what is buffered fails here, not in the interpreter's exit
    except BrokenPipeError:
        return _broken_pipe()
    return status


def entry() -> None:
    """The ``neural`` console script: :func:`main`, then the process's exit.

    Once the command's work is done and said, a Ctrl-C could only interrupt the
    interpreter's exit (JAX's atexit clean-up then prints a traceback and the status is
    lost), so it is ignored from there on.
    """
    import signal

    status = main()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(status)


def _broken_pipe() -> int:
    """Points standard output at /dev/null (the interpreter's last flush must not fail
    again) and returns 141 (128 + SIGPIPE)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (a test's captured output)
        pass
    return 141


def _main(argv: list[str] | None) -> int:
    import logging

    # JAX reports at INFO that it found no TPU on every start; not news on a command line
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
    from neural_jax.user_errors import install_warning_format

    install_warning_format()  # "warning: ..." lines, not our source path and line
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # a bad flag value (argparse printed it) or --help
        return e.code if isinstance(e.code, int) else 2
    try:
        return args.func(args)
    except NeuralError as e:
        text = e.format()
        argument = getattr(e, "argument", None)  # a flag's value: name the flag
        if argument:
            flag = argument.replace("_", "-")
            text = text.replace(f"{e.kind}: ", f"{e.kind}: argument --{flag}: ", 1)
        print(text, file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # main() ends quietly
    except json.JSONDecodeError as e:
        print(f"error: --params / --space is not valid JSON: {e}", file=sys.stderr)
        return 2
    except BaseException as e:  # noqa: BLE001 - only errors a user caused lose their traceback
        # the same rules as the absl launchers (neural_jax.user_errors): typed errors of ours,
        # files that cannot be read (outputs are checked before any work, in cli_paths),
        # Ctrl-C; anything else is a bug and keeps its traceback
        from neural_jax.user_errors import user_message

        shown = user_message(e) if not isinstance(e, SystemExit) else None
        if shown is None:
            raise
        print(shown[0], file=sys.stderr)
        return shown[1]


if __name__ == "__main__":
    entry()
