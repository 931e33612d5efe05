"""A live terminal view of a running search, and the final table of its top trials.

The view is fed by the engine's two hooks: ``on_epoch(epoch, {member: record})`` after every
epoch of every bucket (JAX populations, see :func:`neural_jax.population.train_population`)
and ``on_round(round, trial records)`` after every round (every backend; PyTorch and
TensorFlow trials report nothing in between, so the view then moves once a round).

Progress is counted in trial-epochs: a finished trial counts its full ``epochs`` (a pruned or
failed trial is done even though it stopped early), a trial in training the epochs it has
reported so far. With ``f`` the finished fraction and ``t`` the elapsed time,
``eta = t (1 - f) / (f - f0)``, with ``f0`` the part a resumed study had done before this run
(:meth:`LiveView.resume`); the rate is the trial-epochs actually trained per second.

:meth:`LiveView.snapshot` computes the record of the progress and :meth:`LiveView.render`
draws it; while the view is started, a :class:`rich.live.Live` redraws it a few times a second
(so the clock moves during a compilation) and after every epoch. ``rich`` is imported when
this module is, and this module only when a view is made (``import neural_jax`` stays light).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

__all__ = ["LiveView", "format_params", "top_trials", "top_trials_table"]


def _clock(seconds: float | None) -> str:
    """``75.2`` -> ``"0:01:15"``; None -> ``"-"``."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    s = round(max(seconds, 0.0))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


class LiveView:
    """Trials done, round and epoch, best value, rate, elapsed and ETA of a running search.

    Use it as a context manager around :meth:`neural_jax.hpo.HPOptimizer.optimize` and pass
    its methods as the optimizer's hooks::

        with LiveView(n_trials=16, epochs=15) as view:
            opt = HPOptimizer(n_trials=16, on_round=view.on_round, on_epoch=view.on_epoch)
            opt.optimize(code, dataset_name="digits")

    Args:
      n_trials: how many trials the search trains in all.
      metric: the optimized metric (its value is read from the trial records, and from the
        per-epoch records for the best of the round in progress).
      direction: ``"maximize"`` or ``"minimize"``.
      epochs: epochs per trial, for the progress and the ETA; None learns it from the
        first finished round (until then progress counts whole trials).
      title: the panel's title.
      console: where to draw (default: a :class:`rich.console.Console` on stdout).
      refresh_per_second: redraws per second after epochs, at most (rounds always draw;
        between epochs the clock is redrawn up to 4 times a second).
      clock: the time source, in seconds.
    """

    def __init__(self, n_trials: int, *, metric: str = "val_accuracy",
                 direction: str = "maximize", epochs: int | None = None,
                 title: str = "neural hpo", console: Console | None = None,
                 refresh_per_second: float = 4.0,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
        self.n_trials = n_trials
        self.metric = metric
        self.direction = direction
        self.epochs = epochs
        self.title = title
        self.console = console if console is not None else Console()
        self.refresh_per_second = refresh_per_second
        self._now = clock
        self._lock = threading.RLock()
        self._live: Live | None = None
        self._t0: float | None = None
        self._last_draw = -math.inf
        self.trials_done = 0
        self.rounds_done = 0
        self.failed = 0
        self.pruned = 0
        self.best_value: float | None = None
        self.best_trial: int | None = None
        self._epochs_seen = 0          # the longest history seen: epochs when not given
        self._trial_epochs = 0         # trial-epochs of finished rounds
        self._member_epoch: dict[int, int] = {}   # round in progress: member -> last epoch
        self._epoch: int | None = None
        self._training = 0
        self._round_best: float | None = None
        self._samples = 0  # training examples seen (JAX populations report them per epoch)
        self._resumed = 0  # trials a resumed study had finished before this run

    # ------------------------------------------------------------------------ hooks

    def _better(self, a: float, b: float | None) -> bool:
        return b is None or (a > b if self.direction == "maximize" else a < b)

    def resume(self, trials_done: int, best_value: float | None = None,
               best_trial: int | None = None) -> None:
        """A resumed study's finished trials and best (``HPOptimizer(on_start=...)``): they
        count as done; rate and ETA stay those of this run's own work."""
        with self._lock:
            self.trials_done = self._resumed = trials_done
            if best_value is not None and math.isfinite(best_value):
                self.best_value, self.best_trial = float(best_value), best_trial
        self._draw(force=True)

    def on_epoch(self, epoch: int, records: Mapping[int, Mapping[str, float]]) -> None:
        """After one epoch of one bucket: ``{member index in the round: epoch record}``."""
        with self._lock:
            self._started()
            self._epoch = epoch
            self._training = len(records)
            self._epochs_seen = max(self._epochs_seen, epoch)
            for m, rec in records.items():
                self._member_epoch[m] = max(self._member_epoch.get(m, 0), epoch)
                self._samples += int(rec.get("samples", 0) or 0)
                v = rec.get(self.metric)
                if _finite(v) and self._better(v, self._round_best):
                    self._round_best = float(v)
        self._draw()

    def on_round(self, rnd: int, records: Sequence[Mapping[str, Any]]) -> None:
        """After round ``rnd`` (from 0): the trial records of :class:`HPOptimizer`."""
        with self._lock:
            self._started()
            self.rounds_done = rnd + 1
            self.trials_done += len(records)
            for r in records:
                history = r.get("history") or ()
                self._trial_epochs += len(history)
                self._epochs_seen = max(self._epochs_seen, len(history))
                state, value = r.get("state"), r.get("value")
                if state == "failed":
                    self.failed += 1
                elif state == "pruned":
                    self.pruned += 1
                elif (state == "complete" and _finite(value)
                      and self._better(value, self.best_value)):
                    self.best_value, self.best_trial = float(value), r.get("number")
            self._member_epoch.clear()
            self._epoch, self._training, self._round_best = None, 0, None
        self._draw(force=True)

    # ------------------------------------------------------------------------ record

    def snapshot(self) -> dict[str, Any]:
        """The progress as plain values (what :meth:`render` draws).

        Returns:
          A dict with ``trials_done``, ``n_trials``, ``round`` (the one in progress, from 1;
          the last one once all trials are done), ``epoch`` and ``epochs`` (of the round in
          progress; None between rounds or when unknown), ``training`` (members that
          reported the last epoch), ``best_value``, ``best_trial``, ``round_best`` (the best
          per-epoch metric of the round in progress), ``failed``, ``pruned``,
          ``trial_epochs``, ``rate`` (trial-epochs/s), ``samples_per_second`` (training
          examples per second, from the epochs' ``samples``; None when not reported, as for
          PyTorch and TensorFlow trials), ``elapsed``, ``eta`` (seconds, None
          before anything finished) and ``fraction`` (finished part of the search).
        """
        with self._lock:
            elapsed = 0.0 if self._t0 is None else max(self._now() - self._t0, 0.0)
            in_round = sum(self._member_epoch.values())
            per_trial = self.epochs or self._epochs_seen or None
            finished = self.trials_done >= self.n_trials
            if finished:
                fraction = 1.0
            elif per_trial:
                # members of the round in progress cannot be further along than a whole trial
                part = sum(min(e, per_trial) for e in self._member_epoch.values())
                fraction = (self.trials_done * per_trial + part) / (self.n_trials * per_trial)
            else:
                fraction = self.trials_done / self.n_trials
            fraction = min(max(fraction, 0.0), 1.0)
            ran = fraction - self._resumed / self.n_trials  # this run's share of the search
            trial_epochs = self._trial_epochs + in_round
            return {
                "trials_done": self.trials_done, "n_trials": self.n_trials,
                "round": self.rounds_done if finished else self.rounds_done + 1,
                "epoch": self._epoch, "epochs": per_trial, "training": self._training,
                "best_value": self.best_value, "best_trial": self.best_trial,
                "round_best": self._round_best, "failed": self.failed, "pruned": self.pruned,
                "trial_epochs": trial_epochs,
                "rate": trial_epochs / elapsed if elapsed > 0 and trial_epochs else None,
                "samples_per_second": (self._samples / elapsed if elapsed > 0 and self._samples
                                       else None),
                "elapsed": elapsed,
                "eta": 0.0 if finished else (elapsed * (1 - fraction) / ran
                                             if ran > 0 else None),
                "fraction": fraction,
            }

    # ------------------------------------------------------------------------ drawing

    def render(self) -> Panel:
        """One frame: a panel with the progress bar and the numbers of :meth:`snapshot`."""
        s = self.snapshot()
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=1.0, completed=s["fraction"], width=30),
                    Text(f"{s['trials_done']}/{s['n_trials']} done  {s['fraction']:.0%}"))
        grid.add_row("trials", bar)
        if s["trials_done"] >= s["n_trials"]:
            where = f"{s['round']} (all trials done)"
        elif s["epoch"] is None:
            where = f"{s['round']}  training"
        else:
            where = (f"{s['round']}  epoch {s['epoch']}/{s['epochs'] or '?'}  "
                     f"{s['training']} member{'s' if s['training'] != 1 else ''} training")
        grid.add_row("round", where)
        if s["best_value"] is None:
            best = Text(f"{self.metric} -  (no trial complete yet)")
        else:
            best = Text(f"{self.metric} {s['best_value']:.4f}  (trial #{s['best_trial']})")
        if s["round_best"] is not None:
            best.append(f"  this round {s['round_best']:.4f}", style="dim")
        grid.add_row("best", best)
        grid.add_row("stopped", f"failed {s['failed']}  pruned {s['pruned']}")
        rate = "-" if s["rate"] is None else f"{s['rate']:.1f}"
        sps = ("" if s["samples_per_second"] is None
               else f"  {s['samples_per_second']:,.0f} samples/s")
        grid.add_row("speed", f"{rate} trial-epochs/s{sps}  ({s['trial_epochs']} trial-epochs)")
        grid.add_row("time", f"elapsed {_clock(s['elapsed'])}  eta {_clock(s['eta'])}")
        # a fixed width: a panel sized to its text would jump as the numbers change
        return Panel(grid, title=self.title, title_align="left",
                     width=min(self.console.width, 80))

    def _started(self) -> None:
        if self._t0 is None:
            self._t0 = self._now()

    def _draw(self, force: bool = False) -> None:
        # epochs of a small network take milliseconds: draw at most refresh_per_second times
        live = self._live
        if live is None:
            return
        now = self._now()
        if force or now - self._last_draw >= 1.0 / self.refresh_per_second:
            self._last_draw = now
            live.refresh()

    def start(self) -> LiveView:
        """Starts the clock and the live display (prints go above it while it runs)."""
        with self._lock:
            self._started()
        if self._live is None:
            # the background redraw only moves the clock (during compilations); epochs and
            # rounds draw themselves, so it need not follow a high refresh_per_second
            self._live = Live(console=self.console, get_renderable=self.render,
                              refresh_per_second=min(self.refresh_per_second, 4.0))
            self._live.start(refresh=True)
        return self

    def stop(self) -> None:
        """Draws the last frame and leaves it on the screen."""
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()

    def __enter__(self) -> LiveView:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------- final table

_STATE_RANK = {"complete": 0, "pruned": 1}


def top_trials(trials: Sequence[Mapping[str, Any]], direction: str = "maximize",
               top: int = 5) -> list[Mapping[str, Any]]:
    """The best ``top`` trials with a value: complete ones by value, then pruned ones."""
    sign = -1.0 if direction == "maximize" else 1.0
    rows = [t for t in trials if t.get("state") in _STATE_RANK and _finite(t.get("value"))]
    rows.sort(key=lambda t: (_STATE_RANK[t["state"]], sign * t["value"]))
    return rows[:top]


def format_params(params: Mapping[str, Any]) -> str:
    """``{"lr": 0.0012345, "act": "relu"}`` -> ``"lr=0.001235, act='relu'"``."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}"
                     for k, v in params.items())


def top_trials_table(trials: Sequence[Mapping[str, Any]], metric: str,
                     direction: str = "maximize", top: int = 5) -> Table:
    """The top trials (:func:`top_trials`) as a table: trial, value, state, parameters."""
    rows = top_trials(trials, direction, top)
    counts = {s: sum(1 for t in trials if t.get("state") == s)
              for s in ("complete", "pruned", "failed")}
    table = Table(title=f"top {len(rows)} trials by {metric}", title_justify="left",
                  caption=f"{len(trials)} trials: "
                  + ", ".join(f"{n} {s}" for s, n in counts.items()),
                  caption_justify="left")
    table.add_column("trial", justify="right", no_wrap=True)
    table.add_column(metric, justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("params", overflow="fold")
    for t in rows:
        style = None if t["state"] == "complete" else "dim"
        table.add_row(f"#{t['number']}", f"{t['value']:.4f}", t["state"],
                      format_params(t.get("params") or {}), style=style)
    return table

