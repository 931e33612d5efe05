"""The ``neural`` command.

``neural check FILE`` reads a `.neural` file, prints each network's per-layer shape table
and its search space, and exits non-zero with the error (line, column, caret, hint) when the
file is not valid. ``neural run FILE --dataset NAME`` trains one configuration and saves its
parameters (msgpack) and a JSON metrics record. ``neural hpo FILE --dataset NAME`` searches;
on a terminal it shows a live view (:mod:`neural_jax.live`) and ends with a table of the top
trials, elsewhere (or with ``--no-live``) it prints one line per round.
``neural compile`` and ``neural export`` (in :mod:`neural_jax.cli_bridges`) write standalone
TensorFlow / PyTorch / JAX scripts and trained weights for those frameworks.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from neural_jax.core.errors import NeuralError, NeuralWarning

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


def epoch_printer(epochs: int):
    """An ``on_epoch`` callback printing one line per epoch: ``epoch  2/10  loss 0.31 ...``."""

    def show(epoch: int, rec: dict) -> None:
        parts = [f"{k} {v:.4f}" for k, v in rec.items() if k not in ("epoch", "seconds")]
        print(f"epoch {epoch:>3}/{epochs}  " + "  ".join(parts) +
              f"  ({rec.get('seconds', 0):.1f}s)", flush=True)

    return show


def cmd_run(args: argparse.Namespace) -> int:
    """``neural run``: trains one configuration and saves it (``--out``)."""
    import pathlib

    from neural_jax.data import DatasetError
    from neural_jax.dsl.api import load
    from neural_jax.hpo import dataset_for
    from neural_jax.ir.checker import check
    from neural_jax.cli_paths import check_output_dir
    from neural_jax.train.checkpoint import save_run

    check_output_dir(args.out, "--out", inputs=[args.file])  # before any training
    net = load(args.file, args.network)
    check(net)
    from neural_jax.train.best import load_best

    best = load_best(args.params) if args.params else None  # a file or `neural hpo -o` folder
    from neural_jax.ir.config import active_keys, config_labels, parse_json, validate_config

    config = (best["params"] if best is not None else parse_json(args.params)) if args.params else {}

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
    if args.backend != "jax":
        from neural_jax.cli_bridges import run_in_backend

        return run_in_backend(args, net, config, overrides, ds)
    from neural_jax.train.trainer import Trainer

    trainer = Trainer(net, config, overrides)
    spec = trainer.spec
    searched = [p for p in active_keys(net, trainer.config) if p not in config]
    if searched:
        print("HPO parameters fixed for this run (pass --params to choose): " + ", ".join(
            f"{p}={v!r}" for p, v in config_labels(net, {p: trainer.config[p] for p in searched}).items()))
    print(f"training {net.name} on {ds.name}: {plural(spec.epochs, 'epoch')}, batch {spec.batch_size}, "
          f"{spec.optimizer}, validation {spec.validation_split:g} of the training split")

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


def plural(n: int, word: str) -> str:
    """``1 epoch``, ``2 epochs``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def data_options(dataset: str, data_dir: str | None) -> dict:
    """The ``data_dir`` option of ``--data-dir`` for a dataset that reads files, else none:
    a built-in dataset that reads no files (``digits``, ``synthetic``) ignores it, as it
    ignores ``$NEURAL_DATA_DIR``."""
    if not data_dir:
        return {}
    import inspect

    from neural_jax.data._registry import DATASETS, _key

    loader = DATASETS.get(_key(dataset)) if isinstance(dataset, str) else None
    if loader is not None and "data_dir" not in inspect.signature(loader).parameters:
        return {}
    return {"data_dir": data_dir}


def diverged(result, ds) -> str | None:
    """Why a training run diverged (:mod:`neural_jax.train.divergence`, the rule ``neural
    hpo`` fails trials by), or None."""
    from neural_jax.train.divergence import divergence

    return divergence(result.history or [], getattr(ds, "num_classes", None))


def print_scores(result) -> None:
    """The ``validation:`` and ``test:`` lines of a finished run."""
    print("validation: " + "  ".join(f"{k} {v:.4f}" for k, v in result.val.items()))
    print("test:       " + "  ".join(f"{k} {v:.4f}" for k, v in result.test.items()))


def failed_status(result, reason: str | None) -> int | None:
    """For a run that failed, its error line and exit status 1; None for one that finished."""
    if not result.failed:
        return None
    if reason is None:
        print(f"error: training failed: {result.message}", file=sys.stderr)
        return 1
    return report_divergence(reason, None)


def report_divergence(reason: str | None, saved: str | None) -> int:
    """The exit status of a finished run: 0, or 1 with an error line when it diverged."""
    if reason is None:
        return 0
    kept = f"; the run is saved in {saved}" if saved else ""
    print(f"error: training {reason}{kept}; lower the learning rate", file=sys.stderr)
    return 1


def _epochs_per_trial(code: str, args: argparse.Namespace, space) -> int | None:
    """The epochs every trial trains, when the file fixes them (for the live view's ETA)."""
    if args.epochs:
        return args.epochs
    if space and ({"epochs", "train.epochs"} & set(space)):
        return None
    from neural_jax.dsl.api import parse

    try:
        epochs = parse(code, network=args.network).train.epochs
    except NeuralError:
        return None  # optimize() reports the error
    if epochs is None:
        from neural_jax.train.spec import DEFAULTS

        return DEFAULTS["epochs"]
    return epochs if isinstance(epochs, int) else None


def _live_view(code: str, args: argparse.Namespace, space):
    """A :class:`neural_jax.live.LiveView` when stdout is a terminal and ``--no-live`` is off."""
    if args.no_live:
        return None
    from rich.console import Console

    console = Console()
    # interactive: a terminal that can move the cursor (not TERM=dumb, not TTY_INTERACTIVE=0);
    # pipes, files and CI logs get the plain lines, which read well there
    if not console.is_interactive:
        return None
    import pathlib

    from neural_jax.live import LiveView

    return LiveView(args.n_trials, metric=args.metric, direction=args.direction,
                    epochs=_epochs_per_trial(code, args, space), console=console,
                    title=f"neural hpo: {pathlib.Path(args.file).name} on {args.dataset}")


def warn_ignored_options(args: argparse.Namespace) -> None:
    """One warning line for each ``neural hpo`` option that would not do what it says."""
    if args.study and not args.storage:
        print(f"warning: --study {args.study} without --storage is an in-memory study: it is "
              "lost when the command ends and cannot be resumed; add --storage "
              "sqlite:///hpo.db to keep it", file=sys.stderr)
    from bridges.trials import normalize_backend

    try:
        jax = normalize_backend(args.backend) == "jax"
    except Exception:  # noqa: BLE001 - an unknown backend is reported by optimize()
        return
    if args.parallel_trials and jax:
        size = ("; --population sets it" if args.population else
                f": it sets the population size ({args.parallel_trials}); use --population")
        print(f"warning: --parallel-trials starts worker processes for pytorch/tensorflow "
              f"trials; the JAX backend trains a population in one program{size}",
              file=sys.stderr)


def cmd_hpo(args: argparse.Namespace) -> int:
    """``neural hpo``: the search of the module docstring, its progress and its outputs."""
    import contextlib
    import pathlib
    import time

    from neural_jax.cli_best import check_hpo_outputs, keeps_best, write_best
    from neural_jax.cli_trials import earlier_outcomes
    from neural_jax.data import DatasetError
    from neural_jax.hpo import HPOptimizer

    from neural_jax.objective import resolve_direction

    check_hpo_outputs(args)  # before any training
    code = pathlib.Path(args.file).read_text(encoding="utf-8")
    from neural_jax.inputs import pick_network

    with warnings.catch_warnings():  # optimize() warns about the file once, later
        warnings.simplefilter("ignore")
        picked = pick_network(code, args.network, name=args.file)  # errors name the file
    if args.metric is None:  # val_accuracy when the network records it, else its val_loss
        from neural_jax.objective import default_metric

        args.metric = default_metric(picked)
    warn_ignored_options(args)
    args.direction = resolve_direction(args.metric, args.direction)  # before any work
    space = json.loads(args.space) if args.space else None
    view = _live_view(code, args, space)
    start = time.perf_counter()
    state = {"done": 0, "before": 0, "best": None, "epochs": 0, "failed": 0, "pruned": 0}

    def on_start(done: int, best: float | None, number: int | None) -> None:
        # a resumed study: its finished trials count toward --n-trials, and its failed and
        # pruned ones toward the counts of the progress lines
        state.update(done=done, before=done, best=best, **earlier_outcomes(opt.study))
        if view is not None:
            view.resume(done, best, number)

    def on_round(rnd: int, records: list[dict]) -> None:
        state["done"] += len(records)
        state["epochs"] += sum(len(r.get("history") or ()) for r in records)
        vals = [r["value"] for r in records if r.get("value") is not None and r["state"] == "complete"]
        if vals:
            b = max(vals) if args.direction == "maximize" else min(vals)
            if state["best"] is None or (b > state["best"]) == (args.direction == "maximize"):
                state["best"] = b
        el = time.perf_counter() - start
        eta = el / max(state["done"] - state["before"], 1) * max(args.n_trials - state["done"], 0)
        state["failed"] += sum(1 for r in records if r["state"] == "failed")
        state["pruned"] += sum(1 for r in records if r["state"] == "pruned")
        best = "-" if state["best"] is None else f"{state['best']:.4f}"
        print(f"round {rnd + 1}: trials {state['done']}/{args.n_trials}  best {args.metric} {best}"
              f"  failed {state['failed']}  pruned {state['pruned']}  "
              f"{state['epochs'] / max(el, 1e-9):.1f} "
              f"trial-epochs/s  elapsed {el:.0f}s  eta {eta:.0f}s", flush=True)

    tracker = None
    if args.wandb:
        from neural_jax.tracking import WandbTracker

        tracker = WandbTracker(args.wandb, group=args.study, config={
            "network": args.file, "dataset": args.dataset, "strategy": args.strategy})

    def report(rnd: int, records: list[dict]) -> None:
        (view.on_round if view is not None else on_round)(rnd, records)
        if tracker is not None:
            tracker.on_round(rnd, records)

    opt = HPOptimizer(strategy=args.strategy, scheduler=args.scheduler,
                      n_trials=args.n_trials, timeout=args.timeout,
                      early_stopping=args.early_stopping, population=args.population,
                      parallel_trials=args.parallel_trials,
                      storage=args.storage, seed=args.seed, study_name=args.study,
                      epochs=args.epochs, on_round=report,
                      data_dir=data_options(args.dataset, args.data_dir).get("data_dir"),
                      on_start=on_start,
                      on_epoch=view.on_epoch if view is not None else None,
                      keep_best=keeps_best(args))
    opt.resume_hint = "--storage {storage} --study {study}"  # the API's words are study_name=
    opt.persist_hint = "--storage sqlite:///hpo.db --study NAME"
    opt.epochs_hint = "--epochs {epochs}"
    try:
        with view if view is not None else contextlib.nullcontext():
            best = opt.optimize(code, dataset_name=args.dataset, backend=args.backend,
                                search_space=space, metric=args.metric, direction=args.direction,
                                network=args.network)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if tracker is not None:
        tracker.finish(opt)
    shown = opt.trials
    if opt.study is not None:
        from neural_jax.cli_trials import completed_note, study_records

        # every trial of the study (a resumed one's earlier runs too), as the best line is
        shown = study_records(opt.study)
        if getattr(opt, "already_complete", False) and not opt.interrupted:
            print(completed_note(opt.study, args.n_trials))  # a rerun of a finished study
    rows = sorted((t for t in shown if t.get("value") is not None and t["state"] == "complete"),
                  key=lambda t: t["value"], reverse=args.direction == "maximize")[: args.top]
    if view is not None:
        from neural_jax.live import top_trials_table

        if shown:
            view.console.print()
            view.console.print(top_trials_table(shown, args.metric, args.direction, args.top))
    elif rows:
        print(f"\ntop {plural(len(rows), 'trial')} by {args.metric}:")
        for t in rows:
            ps = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}"
                           for k, v in t["params"].items())
            print(f"  #{t['number']:<4} {t['value']:.4f}  {ps}")
    if best:
        print(f"\nbest {args.metric}: {opt.best_value:.4f}")
        print("best configuration: " + json.dumps(best))
        if args.output and not write_best(args, opt, code, best):
            return 1
    if opt.interrupted:  # Ctrl-C: finished trials kept, running ones re-queued (the warning)
        return 130
    return 0 if best else 1


def build_parser() -> argparse.ArgumentParser:
    from neural_jax.cli_values import (
        json_object,
        non_negative_int,
        positive_float,
        positive_int,
        scheduler as scheduler_name,
        search_method,
    )
    from neural_jax.methods import methods_help, schedulers_help

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
    r.add_argument("--params", help='JSON values for HPO parameters, e.g. \'{"layers[1].units": 64}\', '
                   "a JSON file, or the folder (or best.json) of `neural hpo -o DIR`: its best "
                   "trial trains again in the search's program, reproducing its score")
    r.add_argument("--backend", default="jax", choices=["jax", "pytorch", "tensorflow"])
    r.add_argument("--data-dir", help="where dataset files are (default $NEURAL_DATA_DIR)")
    r.add_argument("--out", default="runs/latest", help="folder for parameters and metrics")
    r.set_defaults(func=cmd_run)
    h = sub.add_parser("hpo", help="search a network's hyperparameters on a dataset")
    h.add_argument("file", help="the .neural file")
    h.add_argument("--network", help="the network of the file to search (default: the first)")
    h.add_argument("--dataset", default="digits",
                   help="a dataset name (digits, mnist, mnist_t10k, cifar10, synthetic: shaped "
                        "for the network, ...) or an .npz / .csv file")
    h.add_argument("--strategy", default=None, type=search_method, metavar="METHOD",
                   help="search method (default: the file's search_method, else tpe): "
                        + methods_help() + ". pbt: population based training inside each "
                        "population (--n-trials members in all, --population per PBT "
                        "population); hyperband, asha, sh, median: random search with that "
                        "scheduler")
    h.add_argument("--scheduler", default=None, type=scheduler_name, metavar="NAME",
                   help="stop poor trials early: " + schedulers_help())
    h.add_argument("--n-trials", type=positive_int, default=16)
    h.add_argument("--population", type=positive_int, default=None,
                   help="members trained together")
    h.add_argument("--timeout", type=positive_float, default=None, help="seconds")
    h.add_argument("--storage", default=None, help="SQLAlchemy URL, e.g. sqlite:///hpo.db")
    h.add_argument("--study", default=None, help="study name (resumes it when it exists)")
    h.add_argument("--epochs", type=positive_int, default=None)
    h.add_argument("--seed", type=non_negative_int, default=0)
    h.add_argument("--early-stopping", action="store_true", help="same as --scheduler sh: successive halving (JAX populations; PyTorch / TensorFlow trials after every epoch)")
    h.add_argument("--metric", default=None,
                   help="what to optimize: loss or a metric of the network, val_ for the "
                        "validation split (default: val_accuracy when the network records "
                        "it, else val_loss); checked before training")
    h.add_argument("--direction", default=None, choices=["maximize", "minimize"],
                   help="default: inferred from --metric (losses and errors are minimized); "
                        "one contradicting the metric is an error")
    h.add_argument("--space", default=None, type=json_object,
                   help="a search_space dict as JSON")
    h.add_argument("--backend", default="jax", help="jax (populations), pytorch or tensorflow")
    h.add_argument("--parallel-trials", type=positive_int, default=None,
                   help="pytorch/tensorflow: worker processes training trials side by side")
    h.add_argument("--wandb", metavar="PROJECT", default=None,
                   help="log every trial as a W&B run in PROJECT (WANDB_MODE=offline works)")
    h.add_argument("--data-dir", default=None)
    h.add_argument("--top", type=positive_int, default=5, help="rows of the final table")
    h.add_argument("--no-live", action="store_true",
                   help="print one line per round instead of the live view (the default "
                        "when standard output is not a terminal)")
    h.add_argument("-o", "--output", default=None,
                   help="a folder for the best trial (best.neural, best.json, params.msgpack, "
                        "metrics.json); a path ending in .neural writes only the network")
    h.set_defaults(func=cmd_hpo)
    from neural_jax.cli_bridges import add_commands
    from neural_jax.cli_trials import add_commands as add_trials_command

    add_commands(sub)
    add_trials_command(sub)
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
            text = text.replace(f"{e.kind}: ", f"{e.kind}: argument --{argument.replace('_', '-')}: ", 1)
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
