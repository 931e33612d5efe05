"""The ``neural trials`` command: a stored study's trials, for people and for scripts.

``neural trials --storage URL --study NAME`` prints one row per trial (number, state, value,
parameters, duration, and why a trial failed, was pruned or is waiting again) and a summary
line; ``--format csv`` and ``--format json`` print the same records for scripts (CSV: one
``param:NAME`` column per parameter). Without ``--study`` it lists the studies of the
storage. The command only reads: an SQLite URL whose file does not exist is an error, not a
new empty database.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
from typing import Any

__all__ = ["add_commands", "cmd_trials", "completed_note", "earlier_outcomes", "study_records",
           "trial_records"]

_STATES = ["complete", "pruned", "failed", "running", "waiting"]


def _note(t, requeued_as: dict[int, int]) -> str:
    """Why a trial is not simply complete: its failure reason, pruning step or re-queue."""
    sa = t.system_attrs
    state = t.state.value
    if state == "FAILED":
        reason = str(sa.get("fail_reason") or "failed (no reason stored)")
        if t.number in requeued_as:
            reason += f"; re-queued as #{requeued_as[t.number]}"
        return reason
    if state == "PRUNED":
        return f"pruned at step {t.last_step}" if t.last_step is not None else "pruned"
    if state == "WAITING" and sa.get("requeued"):
        return f"re-queued: {sa.get('requeue_reason', 'interrupted')}"
    if state == "WAITING" and "requeued_from" in sa:
        return f"re-queued from #{sa['requeued_from']}"
    return ""


def trial_records(trials) -> list[dict[str, Any]]:
    """Plain records of stored trials (``FrozenTrial``), in number order.

    Each holds ``number``, ``state`` (lower case), ``value`` (the first objective, None
    unless complete), ``values``, ``params``, ``duration_s``, ``note`` (failure reason and
    the like), ``fail_reason``, ``intermediate_values``, ``user_attrs``, ``datetime_start``,
    ``datetime_complete``.
    """
    trials = sorted(trials, key=lambda t: t.number)
    requeued_as = {int(t.system_attrs["requeued_from"]): t.number for t in trials
                   if "requeued_from" in t.system_attrs}
    out = []
    for t in trials:
        d = t.duration
        out.append({
            "number": t.number, "state": t.state.value.lower(),
            "value": t.values[0] if t.values else None,
            "values": list(t.values) if t.values else None, "params": dict(t.params),
            "duration_s": None if d is None else round(d.total_seconds(), 3),
            "note": _note(t, requeued_as), "fail_reason": t.system_attrs.get("fail_reason"),
            "intermediate_values": {str(k): v for k, v in sorted(t.intermediate_values.items())},
            "user_attrs": dict(t.user_attrs),
            "datetime_start": t.datetime_start.isoformat() if t.datetime_start else None,
            "datetime_complete": t.datetime_complete.isoformat() if t.datetime_complete else None,
        })
    return out


def study_records(study) -> list[dict[str, Any]]:
    """A :class:`search.Study`'s trials in the form ``HPOptimizer.trials`` holds them
    (``number``, ``params``, ``value``, ``state``, ``message``), for the top-trials table."""
    return [{**r, "message": r["note"]} for r in trial_records(study.trials)]


def earlier_outcomes(study) -> dict[str, int]:
    """``{"failed": n, "pruned": m}``: the trials of ``study`` that ended so before this
    run, counted as :meth:`search.Study.n_counted` counts them (a failure whose
    configuration was re-queued is not counted; its copy is)."""
    if study is None:
        return {"failed": 0, "pruned": 0}
    trials = study.trials
    copies = {t.system_attrs.get("requeued_from") for t in trials}
    failed = sum(1 for t in trials if t.state.value == "FAILED" and t.number not in copies)
    pruned = sum(1 for t in trials if t.state.value == "PRUNED")
    return {"failed": failed, "pruned": pruned}


def completed_note(study, n_trials: int) -> str:
    """What a rerun of a finished study says: it is complete, and what it holds."""
    records = trial_records(study.trials)
    counts = {s: sum(1 for r in records if r["state"] == s) for s in _STATES}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return (f"study {study.name!r} is already complete: {study.n_counted()} of {n_trials} "
            f"trials trained ({parts}); nothing to train. Raise --n-trials to search further, "
            f"or list its trials with: neural trials --storage {study.storage.url} "
            f"--study {study.name}")


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    return repr(v) if isinstance(v, str) else str(v)


def _table(records: list[dict[str, Any]]) -> str:
    head = ("#", "state", "value", "params", "duration", "note")
    rows = [(str(r["number"]), r["state"],
             "-" if r["values"] is None else ", ".join(f"{v:.4f}" for v in r["values"]),
             ", ".join(f"{k}={_fmt_value(v)}" for k, v in r["params"].items()),
             "-" if r["duration_s"] is None else f"{r['duration_s']:.1f}s", r["note"])
            for r in records]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def _csv(records: list[dict[str, Any]]) -> str:
    names = sorted({k for r in records for k in r["params"]})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["number", "state", "value", "duration_s", "note",
                "datetime_start", "datetime_complete", *(f"param:{n}" for n in names)])
    for r in records:
        w.writerow([r["number"], r["state"], "" if r["value"] is None else r["value"],
                    "" if r["duration_s"] is None else r["duration_s"], r["note"],
                    r["datetime_start"] or "", r["datetime_complete"] or "",
                    *(r["params"].get(n, "") for n in names)])
    return buf.getvalue().rstrip("\n")


def _summary(name: str, direction: str, records: list[dict[str, Any]]) -> str:
    counts = {s: sum(1 for r in records if r["state"] == s) for s in _STATES}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    done = [r for r in records if r["state"] == "complete" and r["value"] is not None]
    best = ""
    if done:
        pick = max if direction == "maximize" else min
        b = pick(done, key=lambda r: r["value"])
        best = f"; best {b['value']:.4f} (#{b['number']}, {direction})"
    return f"study {name!r}: {len(records)} trials ({parts or 'none'}){best}"


def _open_storage(url: str):
    """The storage at ``url``, read-only in spirit: a missing SQLite file is an error."""
    import search
    from search.errors import StorageError

    if url.startswith("sqlite:///") and url not in ("sqlite:///", "sqlite:///:memory:"):
        path = url[len("sqlite:///"):].split("?")[0]
        if not os.path.isfile(path):
            raise StorageError(f"no database file {path!r} (from --storage {url}); give the "
                               "URL a search wrote, e.g. sqlite:///hpo.db")
    elif url.startswith("sqlite:") and not url.startswith("sqlite:///"):
        raise StorageError(f"cannot parse storage URL {url!r}; expected e.g. 'sqlite:///hpo.db'")
    return search.get_storage(url)


def cmd_trials(args: argparse.Namespace) -> int:
    """``neural trials``: see the module docstring."""
    from search.errors import SearchError, StudyNotFoundError
    from search.trial import TrialState

    try:
        store = _open_storage(args.storage)
        names = store.study_names()
        if args.study is None:
            if not names:
                print(f"no studies in {store.url}")
                return 0
            print(f"studies in {store.url}:")
            for n in names:
                sid = store.find_study(n)
                records = trial_records(store.get_trials(sid))
                direction = store.get_study_info(sid)["directions"][0]
                print("  " + _summary(n, direction, records).removeprefix("study "))
            return 0
        sid = store.find_study(args.study)
        if sid is None:
            raise StudyNotFoundError(f"no study named {args.study!r} in {store.url}; stored "
                                     f"studies: {', '.join(names) if names else 'none'}")
        info = store.get_study_info(sid)
        states = None if not args.state else [TrialState.parse(s) for s in args.state]
        records = trial_records(store.get_trials(sid, states))
    except (SearchError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    direction = info["directions"][0]
    if args.sort == "value":
        sign = -1.0 if direction == "maximize" else 1.0
        records.sort(key=lambda r: (r["value"] is None, sign * (r["value"] or 0.0), r["number"]))
    if args.format == "json":
        print(json.dumps({"study": args.study, "storage": store.url,
                          "directions": info["directions"], "trials": records}, indent=2))
    elif args.format == "csv":
        print(_csv(records))
    else:
        if records:
            print(_table(records))
            print()
        print(_summary(args.study, direction, records))
    return 0


def add_commands(sub) -> None:
    """Adds ``trials`` to the ``neural`` sub-command parser."""
    t = sub.add_parser("trials", help="list a stored study's trials (table, CSV or JSON)",
                       description="List the trials of a study that `neural hpo --storage` "
                                   "wrote: state, value, parameters, duration and why a trial "
                                   "failed. Without --study, list the stored studies.")
    t.add_argument("--storage", required=True, help="SQLAlchemy URL, e.g. sqlite:///hpo.db")
    t.add_argument("--study", default=None, help="the study (default: list the studies)")
    t.add_argument("--format", default="table", choices=["table", "csv", "json"])
    t.add_argument("--state", action="append", choices=_STATES, default=None,
                   help="only trials in this state (repeatable)")
    t.add_argument("--sort", default="number", choices=["number", "value"],
                   help="by trial number (default) or best value first")
    t.set_defaults(func=cmd_trials)
