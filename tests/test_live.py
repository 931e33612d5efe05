"""The live view of `neural hpo`: its record from synthetic hooks, a real search drawn on a
terminal console, and the CLI's plain output where there is no terminal."""

from __future__ import annotations

import io
import math
import pathlib
import re

import pytest
from rich.console import Console
from tiny_search import TINY_SEARCH

from neural_jax.cli import main
from neural_jax.hpo import HPOptimizer
from neural_jax.live import LiveView, top_trials, top_trials_table

EX = pathlib.Path(__file__).resolve().parents[1] / "examples"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")

CODE = TINY_SEARCH


def _console() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=100, color_system="standard")


def _text(console: Console) -> str:
    return ANSI.sub("", console.file.getvalue())


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _trial(number, state, value, epochs=2, params=None):
    return {"number": number, "state": state, "value": value, "params": params or {"lr": 0.01},
            "history": [{"epoch": e + 1, "loss": 1.0} for e in range(epochs)]}


def test_synthetic_hooks_count_trials_failures_and_the_best():
    clock = _Clock()
    view = LiveView(6, epochs=2, console=_console(), clock=clock)
    view.on_epoch(1, {0: {"loss": 1.0, "val_accuracy": 0.5, "samples": 96},
                      1: {"loss": 0.9, "val_accuracy": 0.6, "samples": 96}})
    clock.t += 2.0
    s = view.snapshot()
    assert s["samples_per_second"] == pytest.approx(96.0)  # 2 x 96 examples in 2 s
    assert (s["trials_done"], s["round"], s["epoch"], s["epochs"], s["training"]) == (0, 1, 1, 2, 2)
    assert s["round_best"] == 0.6 and s["best_value"] is None and s["trial_epochs"] == 2
    assert s["fraction"] == pytest.approx(2 / 12) and s["rate"] == pytest.approx(1.0)
    assert s["eta"] == pytest.approx(2.0 * 5)  # 1/6 done in 2 s

    # round 1: one complete trial, one whose loss became NaN
    view.on_round(0, [_trial(0, "complete", 0.7), _trial(1, "failed", math.nan, epochs=1)])
    s = view.snapshot()
    assert (s["trials_done"], s["failed"], s["pruned"]) == (2, 1, 0)
    assert (s["best_value"], s["best_trial"], s["round_best"], s["epoch"]) == (0.7, 0, None, None)
    assert s["trial_epochs"] == 3 and s["round"] == 2

    # round 2 completes nothing: the best stays, the counts move
    view.on_epoch(1, {0: {"loss": 0.5, "val_accuracy": 0.95}})
    view.on_round(1, [_trial(2, "pruned", 0.95, epochs=1), _trial(3, "failed", None, epochs=0)])
    s = view.snapshot()
    assert (s["trials_done"], s["failed"], s["pruned"]) == (4, 2, 1)
    assert (s["best_value"], s["best_trial"]) == (0.7, 0)

    view.on_round(2, [_trial(4, "complete", 0.9), _trial(5, "complete", 0.8)])
    clock.t += 1.0
    s = view.snapshot()
    assert (s["trials_done"], s["round"], s["best_value"], s["best_trial"]) == (6, 3, 0.9, 4)
    assert s["eta"] == 0.0 and s["fraction"] == 1.0 and s["trial_epochs"] == 8

    view.console.print(view.render())
    out = _text(view.console)
    assert "6/6 done" in out and "val_accuracy 0.9000  (trial #4)" in out
    assert "failed 2  pruned 1" in out and "eta 0:00:00" in out and "trial-epochs/s" in out


def test_a_resumed_study_counts_its_trials_and_times_only_this_run():
    clock = _Clock()
    view = LiveView(10, epochs=2, console=_console(), clock=clock)
    view.start()  # the clock starts; then the study opens with 6 finished trials, best 0.8
    view.resume(6, 0.8, 4)
    clock.t += 3.0
    view.on_round(0, [_trial(6, "complete", 0.7), _trial(7, "complete", 0.9)])
    view.stop()
    s = view.snapshot()
    assert (s["trials_done"], s["best_value"], s["best_trial"]) == (8, 0.9, 7)
    # 2 of the 4 trials left took 3 s: 3 s more, not the 3.75 s of 8/10 done in 3 s
    assert s["fraction"] == pytest.approx(0.8) and s["eta"] == pytest.approx(3.0)
    assert s["rate"] == pytest.approx(4 / 3)  # this run's trial-epochs only


def test_cli_resumed_study_reports_its_earlier_trials(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'hpo.db'}"
    args = ["hpo", str(EX / "digits_search.neural"), "--population", "2", "--epochs", "1",
            "--strategy", "random", "--storage", db, "--study", "r", "--no-live"]
    assert main([*args, "--n-trials", "2"]) == 0
    first = capsys.readouterr().out
    best = float(re.search(r"best val_accuracy: ([0-9.]+)", first).group(1))
    assert main([*args, "--n-trials", "4"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("round 1:"))
    assert "trials 4/4" in line and "eta 0s" in line
    shown = float(re.search(r"best val_accuracy ([0-9.]+)", line).group(1))
    assert shown >= best  # the earlier best is kept


def test_minimize_and_unknown_epochs():
    view = LiveView(4, metric="val_loss", direction="minimize", console=_console())
    assert view.snapshot()["eta"] is None and view.snapshot()["epochs"] is None
    view.on_round(0, [_trial(0, "complete", 0.4, epochs=3), _trial(1, "complete", 0.3, epochs=3)])
    s = view.snapshot()
    assert (s["best_value"], s["best_trial"], s["epochs"], s["fraction"]) == (0.3, 1, 3, 0.5)
    with pytest.raises(ValueError, match="direction"):
        LiveView(1, direction="up")


def test_top_trials_ranks_complete_before_pruned_and_drops_failed():
    trials = [_trial(0, "pruned", 0.99), _trial(1, "complete", 0.8), _trial(2, "failed", math.nan),
              _trial(3, "complete", 0.9, params={"act": "relu", "lr": 0.012345})]
    assert [t["number"] for t in top_trials(trials)] == [3, 1, 0]
    assert [t["number"] for t in top_trials(trials, "minimize", top=2)] == [1, 3]
    console = _console()
    console.print(top_trials_table(trials, "val_accuracy", top=2))
    out = _text(console)
    assert "top 2 trials by val_accuracy" in out and "state" in out and "params" in out
    assert "#3" in out and "0.9000" in out and "act='relu', lr=0.01235" in out
    assert "#0" not in out and "4 trials: 2 complete, 1 pruned, 1 failed" in out


def test_live_view_follows_a_real_search_epoch_by_epoch():
    console = _console()
    epochs_seen = []
    view = LiveView(4, epochs=2, console=console, refresh_per_second=1000)

    def on_epoch(epoch, records):
        epochs_seen.append((epoch, sorted(records)))
        view.on_epoch(epoch, records)

    with view:
        opt = HPOptimizer(strategy="random", n_trials=4, population=2, epochs=2, seed=0,
                          on_round=view.on_round, on_epoch=on_epoch)
        best = opt.optimize(CODE, dataset_name="digits")
    assert best and len(opt.trials) == 4
    # two rounds of two members, every epoch reported (a bucket per activation at most)
    assert {e for e, _ in epochs_seen} == {1, 2}
    assert sum(len(m) for _, m in epochs_seen) == 8
    s = view.snapshot()
    assert (s["trials_done"], s["round"], s["trial_epochs"]) == (4, 2, 8)
    assert s["best_value"] == pytest.approx(opt.best_value)
    assert s["best_trial"] == next(t["number"] for t in opt.trials if t["value"] == opt.best_value)

    out = _text(console)
    assert "epoch 1/2" in out and "epoch 2/2" in out  # frames drawn between rounds
    last = out[out.rindex("neural hpo"):]
    assert "4/4 done" in last and f"{opt.best_value:.4f}  (trial #{s['best_trial']})" in last
    assert "trial-epochs/s" in last and "eta 0:00:00" in last and "elapsed 0:00:" in last
    # 8 member-epochs of 17 batches of 64 examples (1,150 training examples)
    assert s["samples_per_second"] == pytest.approx(8 * 17 * 64 / s["elapsed"], rel=0.05)
    assert "samples/s" in last


_PLAIN = re.compile(r"round \d+: trials \d+/2  best val_accuracy \d\.\d{4}  "
                    r"failed \d+  pruned \d+  "
                    r"\d+\.\d trial-epochs/s  elapsed \d+s  eta \d+s")


@pytest.mark.parametrize("flags", [[], ["--no-live"]], ids=["not-a-tty", "no-live"])
def test_cli_plain_output_without_a_terminal_or_with_no_live(flags, monkeypatch, capsys):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    if flags:  # --no-live wins over a terminal
        monkeypatch.setenv("TTY_COMPATIBLE", "1")
        monkeypatch.setenv("TTY_INTERACTIVE", "1")
    else:
        monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
        monkeypatch.delenv("TTY_INTERACTIVE", raising=False)
    assert main(["hpo", str(EX / "digits_search.neural"), "--n-trials", "2", "--population", "2",
                 "--epochs", "1", "--strategy", "random", *flags]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert _PLAIN.fullmatch(lines[0]), lines[0]
    assert lines[1:3] == ["", "top 2 trials by val_accuracy:"]
    assert all(re.fullmatch(r"  #\d +\d\.\d{4}  layers\[1\]\.units=.*", x) for x in lines[3:5])
    assert lines[5] == "" and re.fullmatch(r"best val_accuracy: \d\.\d{4}", lines[6])
    assert lines[7].startswith("best configuration: {") and len(lines) == 8
    assert "\x1b" not in "".join(lines) and "╭" not in "".join(lines)


def test_cli_live_view_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["hpo", str(EX / "digits_search.neural"), "--n-trials", "2", "--population", "2",
                 "--epochs", "1", "--strategy", "random"]) == 0
    out = ANSI.sub("", capsys.readouterr().out)
    assert "neural hpo: digits_search.neural on digits" in out and "2/2 done" in out
    assert "round 1:" not in out  # no plain lines under the live view
    assert "top 2 trials by val_accuracy" in out and "complete" in out
    assert "best val_accuracy: " in out and "best configuration: {" in out
