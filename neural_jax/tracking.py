"""Weights & Biases logging of a search: one W&B run per trial, grouped by study.

W&B's sweep dashboards compare *runs*: a parallel-coordinates panel over their configs, a
table sorted by a summary value, and overlaid learning curves. So :class:`WandbTracker`
logs each finished trial as its own run (``group`` = the study name, ``job_type="trial"``,
``config`` = the trial's parameters, one history row per epoch with ``step=epoch``, summary:
the objective value, state and final validation metrics) as soon as its round is done, and
:meth:`WandbTracker.finish` adds one ``job_type="study"`` run holding the table of all
trials and the best configuration.

Offline use (no server, e.g. a cluster without network): set ``WANDB_MODE=offline`` (or pass
``mode="offline"``) and ``wandb sync`` the ``wandb/`` folder later.

Quiet by default: W&B prints some 25 lines for every run it starts and finishes (banner,
sparkline history, summary, sync hints), which for one run per trial buries a search's own
output; the tracker starts its runs with W&B's ``silent`` setting and without console
capture (a trial's run does not own the process's terminal). ``quiet=False``, or
``NEURAL_WANDB_QUIET=0`` in the environment (for ``neural hpo --wandb`` and the configs),
gives W&B back its usual output.

``wandb`` is imported when a tracker is made, so the rest of the package never needs it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from neural_jax.core.errors import NeuralValidationError

__all__ = ["WandbTracker"]


def _json_value(v: Any) -> Any:
    """A value W&B stores as JSON: finite numbers, strings and bools; others as text."""
    if isinstance(v, (bool, str)) or v is None:
        return v
    if isinstance(v, (int, float)):
        return v if math.isfinite(v) else None
    try:
        f = float(v)
        return f if math.isfinite(f) else None
    except (TypeError, ValueError):
        return str(v)


class WandbTracker:
    """Logs the trials of a search to Weights & Biases.

    Args:
      project: the W&B project.
      group: the run group (normally the study name); trials and the study summary share it.
      entity: the W&B entity (team or user), or None for the default.
      mode: ``"online"``, ``"offline"`` or ``"disabled"``; None lets ``WANDB_MODE`` decide.
      tags: tags for every run.
      config: extra config recorded on every run (network file, dataset, strategy...).
      directory: where W&B writes its local files (default: ``./wandb``).
      quiet: keep W&B's console output off (module docstring); None: on unless
        ``NEURAL_WANDB_QUIET`` is ``0``, ``false``, ``no`` or ``off``.

    Use it as the engine's round callback::

        tracker = WandbTracker("my-project", group="digits-tpe")
        opt = HPOptimizer(..., on_round=tracker.on_round)
        opt.optimize(...)
        tracker.finish(opt)

    Raises:
      NeuralValidationError: wandb is not installed (install the ``wandb`` extra).
    """

    def __init__(self, project: str, group: str | None = None, *, entity: str | None = None,
                 mode: str | None = None, tags: Sequence[str] = (),
                 config: Mapping[str, Any] | None = None, directory: str | None = None,
                 quiet: bool | None = None) -> None:
        try:
            import wandb
        except ImportError as e:
            raise NeuralValidationError(
                "W&B logging needs the wandb package, which is not installed",
                hint='pip install "neural-jax[wandb]"') from e
        if mode is not None and mode not in ("online", "offline", "disabled"):
            raise NeuralValidationError(
                f"W&B mode must be 'online', 'offline' or 'disabled', got {mode!r}")
        self._wandb = wandb
        self.project = project
        self.group = group
        self.entity = entity
        self.mode = mode
        self.tags = list(tags)
        self.config = {k: _json_value(v) for k, v in dict(config or {}).items()}
        self.directory = directory
        if quiet is None:
            flag = os.environ.get("NEURAL_WANDB_QUIET", "1").strip().lower()
            quiet = flag not in ("0", "false", "no", "off")
        self.quiet = bool(quiet)
        self.logged: list[int] = []

    def _init(self, **kwargs: Any):
        kwargs = {"project": self.project, "group": self.group, "entity": self.entity,
                  "tags": self.tags, "dir": self.directory, "reinit": "create_new", **kwargs}
        if self.mode is not None:
            kwargs["mode"] = self.mode
        if self.quiet:
            kwargs["settings"] = self._wandb.Settings(silent=True, console="off")
        return self._wandb.init(**{k: v for k, v in kwargs.items() if v is not None})

    def log_trial(self, record: Mapping[str, Any]) -> None:
        """Logs one finished trial (a record of ``HPOptimizer.trials``) as a run."""
        number = int(record["number"])
        params = {k: _json_value(v) for k, v in dict(record.get("params", {})).items()}
        run = self._init(name=f"trial-{number}", job_type="trial",
                         config={**self.config, **params, "trial": number})
        try:
            for rec in record.get("history", ()) or ():
                row = {k: _json_value(v) for k, v in rec.items() if k != "epoch"}
                step = int(rec.get("epoch", 0))
                run.log({**row, "epoch": step}, step=step)
            run.summary["value"] = _json_value(record.get("value"))
            run.summary["state"] = str(record.get("state", ""))
            for k, v in dict(record.get("val", {}) or {}).items():
                run.summary[f"best_val_{k}"] = _json_value(v)
            if record.get("message"):
                run.summary["message"] = str(record["message"])
        finally:
            run.finish(exit_code=0 if record.get("state") != "failed" else 1)
        self.logged.append(number)

    def on_round(self, round_index: int, records: Sequence[Mapping[str, Any]]) -> None:
        """The engine's ``on_round`` callback: logs every trial of the round."""
        for rec in records:
            self.log_trial(rec)

    def finish(self, optimizer: Any) -> None:
        """Logs the study summary run: a table of all trials and the best configuration.

        Args:
          optimizer: the :class:`neural_jax.hpo.HPOptimizer` after ``optimize``.
        """
        trials = list(getattr(optimizer, "trials", []))
        names = sorted({k for t in trials for k in t.get("params", {})})
        run = self._init(name=f"{self.group or 'study'}-summary", job_type="study",
                         config={**self.config, "n_trials": len(trials)})
        try:
            table = self._wandb.Table(columns=["trial", "state", "value", *names])
            for t in trials:
                table.add_data(int(t["number"]), str(t.get("state", "")),
                               _json_value(t.get("value")),
                               *[_json_value(t.get("params", {}).get(n)) for n in names])
            run.log({"trials": table})
            run.summary["best_value"] = _json_value(getattr(optimizer, "best_value", None))
            for k, v in dict(getattr(optimizer, "best_params", {}) or {}).items():
                run.summary[f"best/{k}"] = _json_value(v)
        finally:
            run.finish()
            # finish() may return before the last records are written; tearing the W&B
            # service down flushes them, so the files are complete when the search returns.
            self._wandb.teardown()
