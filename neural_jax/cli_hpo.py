"""The ``neural hpo`` command: a search, its progress and its outputs.

On a terminal it shows a live view (:mod:`neural_jax.live`) and ends with a table of the top
trials, elsewhere (or with ``--no-live``) it prints one line per round. Its flags build the
search's :class:`neural_jax.engine_config.EngineConfig` (:func:`engine_config`), the object
``HPOptimizer`` and the ``experiments/`` config files share.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import TYPE_CHECKING

from neural_jax.cli_report import data_options, plural
from neural_jax.core.errors import NeuralError

if TYPE_CHECKING:
    from neural_jax.engine_config import EngineConfig

__all__ = ["add_command", "cmd_hpo", "engine_config"]


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
    from neural_jax.executors import executor_class

    try:
        parallel = executor_class(args.backend).capabilities.parallel
    except NeuralError:  # an unknown backend is reported by optimize()
        return
    if args.parallel_trials and parallel == "population":
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
        vals = [r["value"] for r in records
                if r.get("value") is not None and r["state"] == "complete"]
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

    opt = HPOptimizer.from_config(engine_config(args, keep_best=keeps_best(args)),
                                  on_round=report, on_start=on_start,
                                  on_epoch=view.on_epoch if view is not None else None)
    opt.resume_hint = "--storage {storage} --study {study}"  # the API's words are study_name=
    opt.persist_hint = "--storage sqlite:///hpo.db --study NAME"
    opt.epochs_hint = "--epochs {epochs}"
    try:
        with view if view is not None else contextlib.nullcontext():
            best = opt.optimize(code, dataset_name=args.dataset, search_space=space,
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


def engine_config(args: argparse.Namespace, **extra) -> EngineConfig:
    """The :class:`~neural_jax.engine_config.EngineConfig` the ``neural hpo`` flags describe
    (``extra``: fields the command decides, e.g. ``keep_best``).

    Raises:
      ValueError: a value the config refuses (the flags' types already refused most).
    """
    from neural_jax.engine_config import EngineConfig

    return EngineConfig(
        strategy=args.strategy, scheduler=args.scheduler, n_trials=args.n_trials,
        timeout=args.timeout, early_stopping=args.early_stopping, population=args.population,
        workers=args.workers, parallel_trials=args.parallel_trials, epochs=args.epochs,
        seed=args.seed, storage=args.storage, study_name=args.study, backend=args.backend,
        metric=args.metric, direction=args.direction,
        data_dir=data_options(args.dataset, args.data_dir).get("data_dir"), **extra)


def add_command(sub) -> None:
    """Adds ``hpo`` to the ``neural`` sub-command parser."""
    from neural_jax.cli_values import (
        json_object,
        non_negative_int,
        positive_float,
        positive_int,
        search_method,
    )
    from neural_jax.cli_values import scheduler as scheduler_name
    from neural_jax.methods import methods_help, schedulers_help

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
                   help="trials per round: members trained together (jax), trials handed to "
                        "the workers (pytorch/tensorflow); default min(--n-trials, 16)")
    h.add_argument("--workers", type=positive_int, default=None,
                   help="pytorch/tensorflow: worker processes training trials side by side "
                        "(default 1)")
    h.add_argument("--timeout", type=positive_float, default=None, help="seconds")
    h.add_argument("--storage", default=None, help="SQLAlchemy URL, e.g. sqlite:///hpo.db")
    h.add_argument("--study", default=None, help="study name (resumes it when it exists)")
    h.add_argument("--epochs", type=positive_int, default=None)
    h.add_argument("--seed", type=non_negative_int, default=0)
    h.add_argument("--early-stopping", action="store_true",
                   help="same as --scheduler sh: successive halving (JAX populations; "
                        "PyTorch / TensorFlow trials after every epoch)")
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
                   help="the older spelling: --workers for pytorch/tensorflow, --population "
                        "for jax")
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
