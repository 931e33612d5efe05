"""Resume and interrupts, ``neural trials``, data files and diverged trials, as users meet them.

Which trials count toward ``--n-trials``: COMPLETE, PRUNED and FAILED ones, except failures
whose configuration was re-queued (a process killed with -9: its running trials are failed
and copied as WAITING trials on resume). Ctrl-C turns the running trials back into WAITING
ones. So a resumed search always ends with ``--n-trials`` trained configurations.
"""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import subprocess
import time

import pytest

from tests.acceptance.conftest import NEURAL, assert_ok, assert_user_error, run, user_env

SEARCH = """
network Tiny {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(HPO(choice(16, 32)), activation="relu")
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-3, 3e-2)))
  train { epochs: 60, batch_size: 32, validation_split: 0.2 }
}
"""

DIVERGING = """
network D {
  input: (64,)
  layers:
    Dense(32, activation="relu")
    Output(10, activation="softmax")
  optimizer: SGD(learning_rate=HPO(choice(0.05, 1000.0)))
  train { epochs: 2, batch_size: 64, validation_split: 0.2 }
}
"""

N = 6


def _hpo(*extra: str) -> list[str]:
    return ["hpo", "tiny.neural", "--n-trials", str(N), "--population", "2", "--no-live",
            "--storage", "sqlite:///x.db", "--study", "s", *extra]


def _stop_after_first_round(cwd, sig) -> tuple[int, str]:
    """Starts the search and sends ``sig`` once its first round is reported."""
    proc = subprocess.Popen([*NEURAL, *_hpo()], cwd=cwd, env=user_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    out = []
    try:
        for line in proc.stdout:
            out.append(line)
            if line.startswith("round 1:"):
                time.sleep(0.3)  # into the next round's training
                proc.send_signal(sig)
                break
        out.append(proc.communicate(timeout=120)[0])
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, "".join(out)


def _trials(cwd) -> list[dict]:
    res = assert_ok(run(["neural", "trials", "--storage", "sqlite:///x.db", "--study", "s",
                         "--format", "json"], cwd))
    return json.loads(res.out)["trials"]


def _states(trials) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in trials:
        out[t["state"]] = out.get(t["state"], 0) + 1
    return out


def test_ctrl_c_requeues_running_trials_exits_130_and_a_resume_trains_exactly_n(workdir):
    (workdir / "tiny.neural").write_text(SEARCH)
    rc, text = _stop_after_first_round(workdir, signal.SIGINT)
    assert rc == 130, text
    assert "Traceback" not in text, text
    # a round's buckets finish one by one, so part of the interrupted round may be kept
    # (or none of it, when the interrupt is taken between two rounds)
    said = re.search(r"warning: interrupted: (\d) finished trials? kept(?: and (\d) running "
                     r"trials? re-queued)? in the study 's'; run again with --storage "
                     r"sqlite:///x\.db --study s to resume", text)
    assert said, text
    kept, requeued = int(said.group(1)), int(said.group(2) or 0)
    assert kept + requeued in (4, 6) and kept < 6 and "study_name=" not in text
    trials = _trials(workdir)
    assert _states(trials) == {"complete": kept, **({"waiting": requeued} if requeued else {})}
    waiting = {t["number"]: t["params"] for t in trials if t["state"] == "waiting"}
    assert all(t["note"] == "re-queued: interrupted (Ctrl-C)"
               for t in trials if t["number"] in waiting)

    res = assert_ok(run(["neural", *_hpo()], workdir))
    assert f"round 1: trials {kept + 2}/6" in res.out and "trials 6/6" in res.out
    trials = _trials(workdir)
    assert _states(trials) == {"complete": N}  # nothing lost, nothing trained twice
    assert {t["number"]: t["params"] for t in trials if t["number"] in waiting} == waiting

    again = assert_ok(run(["neural", *_hpo()], workdir))
    assert "study 's' is already complete: 6 of 6 trials trained (6 complete); nothing to " \
           "train. Raise --n-trials to search further" in again.out
    assert "top 5 trials by val_accuracy:" in again.out and again.out.count("\n  #") == 5
    assert "round" not in again.out
    best = max(t["value"] for t in trials)
    assert f"best val_accuracy: {best:.4f}" in again.out


def test_kill_9_then_resume_trains_exactly_n_configurations(workdir):
    (workdir / "tiny.neural").write_text(SEARCH)
    rc, text = _stop_after_first_round(workdir, signal.SIGKILL)
    assert rc == -signal.SIGKILL, text
    before = _states(_trials(workdir))
    assert before.get("running", 0) >= 1, before
    assert before["complete"] + before["running"] in (4, 6), before
    assert_ok(run(["neural", *_hpo()], workdir))
    trials = _trials(workdir)
    # the killed trials are failed markers, their copies are trained: 6 configurations
    killed = before["running"]
    assert _states(trials) == {"complete": N, "failed": killed}
    dead = [t for t in trials if t["state"] == "failed"]
    assert all("died while the trial was running; re-queued as #" in t["note"] for t in dead)
    table = assert_ok(run(["neural", "trials", "--storage", "sqlite:///x.db", "--study", "s"],
                          workdir)).out
    assert table.splitlines()[0].split() == ["#", "state", "value", "params", "duration", "note"]
    assert f"study 's': {N + killed} trials (6 complete, {killed} failed); best" in table


def test_neural_trials_formats_and_its_errors(workdir):
    (workdir / "d.neural").write_text(DIVERGING)
    from sklearn.datasets import load_digits

    d = load_digits()
    rows = [",".join([*(f"p{i}" for i in range(64)), "digit"])]
    rows += [",".join([*(f"{v:g}" for v in x), str(y)]) for x, y in zip(d.data, d.target)]
    (workdir / "digits.csv").write_text("\n".join(rows) + "\n")
    res = assert_ok(run(["neural", "hpo", "d.neural", "--dataset", "digits.csv", "--strategy",
                         "grid", "--n-trials", "2", "--population", "2", "--no-live",
                         "--storage", "sqlite:///x.db", "--study", "s"], workdir))
    assert 'best configuration: {"optimizer.learning_rate": 0.05}' in res.out

    table = assert_ok(run(["neural", "trials", "--storage", "sqlite:///x.db", "--study", "s"],
                          workdir)).out
    assert "diverged: the training loss reached" in table
    assert "study 's': 2 trials (1 complete, 1 failed); best" in table
    got = list(csv.DictReader(io.StringIO(assert_ok(run(
        ["neural", "trials", "--storage", "sqlite:///x.db", "--study", "s", "--format", "csv"],
        workdir)).out)))
    by_lr = {float(r["param:optimizer.learning_rate"]): r for r in got}
    assert by_lr[1000.0]["state"] == "failed" and by_lr[1000.0]["value"] == ""
    assert by_lr[1000.0]["note"].startswith("diverged:")
    assert by_lr[0.05]["state"] == "complete" and float(by_lr[0.05]["value"]) > 0.5

    listing = assert_ok(run(["neural", "trials", "--storage", "sqlite:///x.db"], workdir)).out
    assert "'s': 2 trials (1 complete, 1 failed)" in listing
    assert_user_error(run(["neural", "trials", "--storage", "sqlite:///x.db", "--study", "nope"],
                          workdir), "no study named 'nope'", "stored studies: s", rc=1)
    assert_user_error(run(["neural", "trials", "--storage", "sqlite:///typo.db", "--study", "s"],
                          workdir), "no database file 'typo.db'", rc=1)
    assert not (workdir / "typo.db").exists()  # a read-only command creates nothing
    assert_user_error(run(["neural", "trials", "--storage", "mysql+nodriver://h/db"], workdir),
                      "cannot open storage", rc=1)


@pytest.mark.parametrize("name, words", [
    ("data.json", ["data.json", ".json files are not supported", ".npz or .csv file"]),
    ("missing.csv", ["no such .csv file", "missing.csv"]),
])
def test_a_dataset_file_that_cannot_be_used_is_one_clear_line(workdir, name, words):
    (workdir / "d.neural").write_text(DIVERGING)
    if name == "data.json":
        (workdir / name).write_text("{}")
    res = assert_user_error(run(["neural", "hpo", "d.neural", "--dataset", name, "--n-trials", "1",
                                 "--no-live"], workdir), *words, rc=1)
    assert "pickle" not in res.text
