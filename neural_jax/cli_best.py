"""The best model of a search on the command line: ``neural hpo -o DIR`` and
``neural run --params DIR``.

``neural hpo FILE -o DIR`` writes the best trial's folder
(:func:`neural_jax.population.best.save_best`:
``best.neural``, ``best.json``, ``params.msgpack``, ``metrics.json``, ``network.neural``); a
path ending in ``.neural`` keeps its older meaning (only the optimized network is written).
``neural run FILE --params DIR`` (or ``DIR/best.json``) trains that trial again in the
search's own program and so reproduces its score; ``--seed`` and ``--epochs`` change it.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from typing import Any

__all__ = ["check_hpo_outputs", "keeps_best", "run_best", "write_best"]


def keeps_best(args: argparse.Namespace) -> bool:
    """Whether ``neural hpo``'s ``-o`` asks for the best trial's folder."""
    return bool(args.output) and not str(args.output).endswith(".neural")


def check_hpo_outputs(args: argparse.Namespace) -> None:
    """Checks ``-o`` before the search: a folder, or a ``.neural`` file that is not the input.

    Raises:
      OutputPathError: ``-o`` cannot be written (see :mod:`neural_jax.cli_paths`).
    """
    from neural_jax.cli_paths import check_output_dir, check_output_file

    if not args.output:
        return
    if keeps_best(args):
        check_output_dir(args.output, "-o", inputs=[args.file])
    else:
        check_output_file(args.output, "-o", inputs=[args.file])


def write_best(args: argparse.Namespace, opt: Any, code: str, best: dict) -> bool:
    """Writes ``-o``: the optimized ``.neural`` file or the best trial's folder; False (with
    the reason on standard error) when there was nothing to write."""
    from neural_jax.cli_paths import make_parents
    from neural_jax.dsl.optimized import generate_optimized_dsl

    out = pathlib.Path(args.output)
    if not keeps_best(args):
        make_parents(out)
        out.write_text(generate_optimized_dsl(code, best), encoding="utf-8")
        print(f"wrote the optimized network to {out} (give -o a folder to keep the best "
              "trial's weights and metrics too)")
        return True
    kept = opt.best_trial
    if kept is None:
        why = ("the study was already complete, so this run trained nothing" if getattr(
            opt, "already_complete", False) else "no trial of this run completed")
        print(f"error: {why}: no weights to keep, nothing written to {out}; raise "
              "--n-trials to train more, or write the best values alone with "
              f"-o {out.with_suffix('.neural')}", file=sys.stderr)
        return False
    from neural_jax.population.best import save_best

    study_best = opt.study.best_trial.number if opt.study is not None else kept["number"]
    if study_best != kept["number"]:
        print(f"note: the study's best trial #{study_best} was trained by an earlier run "
              f"and its weights are gone; {out} holds trial #{kept['number']}, the best of "
              "this run", file=sys.stderr)
        best = kept["params"]
    save_best(out, opt.network, code, kept, metric=args.metric, direction=args.direction,
              dataset=args.dataset, backend=getattr(args, "backend", "jax") or "jax",
              search_seed=args.seed, best_params=best)
    print(f"wrote the best trial (#{kept['number']}, {args.metric} {kept['value']:.4f}) to "
          f"{out}: best.neural, best.json, params.msgpack, metrics.json")
    print(f"  train it again: neural run {args.file} --dataset {args.dataset} --params {out}")
    return True


def run_best(args: argparse.Namespace, net, record: dict, ds) -> int:
    """``neural run FILE --params DIR``: trains a search's best trial again (see module)."""
    from neural_jax.cli_report import epoch_printer
    from neural_jax.population.best import reproduce
    from neural_jax.train.checkpoint import save_run

    where = record.get("_path", "")
    if "program" not in record:  # a plain JSON file of values
        return -1
    program = record["program"]
    if record.get("backend", "jax") != "jax" or args.backend != "jax":
        print(f"note: {where} comes from a {record.get('backend')} search; training its "
              f"values in {args.backend}", file=sys.stderr)
        return -1
    same = True
    notes = []
    if args.seed is not None and args.seed != record.get("seed"):
        notes.append(f"seed {args.seed} instead of the trial's {record.get('seed')}")
    if args.epochs is not None and args.epochs != program.get("epochs"):
        notes.append(f"{args.epochs} epochs instead of the search's")
    if record.get("dataset") and ds.name != record["dataset"] and args.dataset != record["dataset"]:
        notes.append(f"dataset {args.dataset} instead of the search's {record['dataset']}")
    if args.batch_size is not None:
        print("error: --batch-size cannot change a search's trial; edit the .neural file "
              "instead", file=sys.stderr)
        return 1
    if notes:
        same = False
    seed = args.seed if args.seed is not None else record.get("seed")
    members = int(program.get("members", 1))
    metric = record.get("metric", "val_accuracy")
    print(f"training trial #{record.get('trial')} of the search ({metric} "
          f"{record.get('value', float('nan')):.4f}) again with seed {seed}, in the search's "
          f"program: a population of {members} member{'s' if members != 1 else ''} "
          f"({program.get('mode', 'auto')} mode), the first of which is reported")
    if notes:
        print("  changed: " + "; ".join(notes) + " (the score will differ)")
    epochs = args.epochs if args.epochs is not None else program.get("epochs")
    from neural_jax.train.spec import training_spec

    total = epochs or training_spec(net, record["params"]).epochs
    net, result = reproduce(net, ds, record, seed=seed, epochs=epochs,
                            on_epoch=epoch_printer(total))
    from neural_jax.cli_report import (
        diverged,
        failed_status,
        print_scores,
        report_divergence,
    )

    reason = diverged(result, ds)
    status = failed_status(result, reason)
    if status is not None:
        return status
    print_scores(result)
    if metric.startswith("val_") and same and record.get("value") is not None:
        got = result.val.get(metric[4:])
        if got is not None:
            diff = got - record["value"]
            verdict = "the same" if got == record["value"] else f"differs by {diff:+.2g}"
            print(f"{metric} {got:.4f}; the search reported {record['value']:.4f}: {verdict}")
    out = save_run(pathlib.Path(args.out), net, result)
    print(f"saved parameters and metrics to {out}")
    return report_divergence(reason, str(out))
