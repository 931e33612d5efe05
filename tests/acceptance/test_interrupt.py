"""Ctrl-C in a JAX search, at every moment a user may press it.

The first Ctrl-C is recorded and the search stops at the next safe point (after the current
epoch, or before the next round); a second one stops it at once. Either way the command
exits 130 without a traceback, keeps the finished trials, re-queues the running ones, and a
resume trains exactly ``--n-trials`` configurations. The compilation cache is off, so every
process compiles its programs (the window in which a KeyboardInterrupt used to abort the
process or be swallowed by JAX's garbage-collection hook).
"""

from __future__ import annotations

import json
import pathlib
import signal
import sqlite3
import subprocess
import threading
import time

from tests.acceptance.conftest import NEURAL, assert_ok, run, user_env

SEARCH = """
network Tiny {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(HPO(choice(16, 32)), activation="relu")
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-3, 3e-2)))
  train { epochs: 20, batch_size: 32, validation_split: 0.2 }
}
"""

N = 12  # the third interrupted run must still have a round to go after its first
ENV = user_env(NEURAL_JAX_COMPILATION_CACHE="0")
BAD = ("Traceback", "terminate called", "Exception ignored", "FATAL")


def _hpo(db: str = "x.db") -> list[str]:
    return ["hpo", "tiny.neural", "--n-trials", str(N), "--population", "2", "--no-live",
            "--storage", f"sqlite:///{db}", "--study", "s"]


def _running(db: pathlib.Path) -> bool:
    """Whether the study has a RUNNING trial (the search asked a round; it compiles now)."""
    try:
        with sqlite3.connect(db, timeout=0.1) as con:
            return con.execute("select count(*) from search_trials where state = 'RUNNING'"
                               ).fetchone()[0] > 0
    except sqlite3.Error:  # not created yet, or locked by the writer
        return False


def _interrupt(cwd: pathlib.Path, when: str, db: str = "x.db", signals: int = 1,
               ) -> tuple[int, str]:
    """Runs the search and sends SIGINT ``signals`` times (0.3 s apart), ``when``:

    ``"compile"``: as soon as the first round's trials are running (it is compiling);
    ``"epochs"``: 0.3 s after the first round is reported, inside the second's epochs;
    ``"round"``: the moment the first round is reported, between two rounds.
    """
    proc = subprocess.Popen([*NEURAL, *_hpo(db)], cwd=cwd, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if when == "compile" and _running(cwd / db):
                break
            if when != "compile" and any(line.startswith("round 1:") for line in out):
                if when == "epochs":
                    time.sleep(0.3)
                break
            time.sleep(0.02)
        assert proc.poll() is None, "".join(out)  # the search was still going
        for i in range(signals):
            if i:
                time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        reader.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, "".join(out)


def _states(cwd: pathlib.Path, db: str = "x.db") -> dict[str, int]:
    res = assert_ok(run(["neural", "trials", "--storage", f"sqlite:///{db}", "--study", "s",
                         "--format", "json"], cwd))
    states: dict[str, int] = {}
    for t in json.loads(res.out)["trials"]:
        states[t["state"]] = states.get(t["state"], 0) + 1
    return states


def _assert_stopped(rc: int, text: str) -> None:
    assert rc == 130, text
    for bad in BAD:
        assert bad not in text, text
    assert "stopping after the current epoch (Ctrl-C again to stop at once)" in text, text
    assert "warning: interrupted:" in text and "--storage sqlite:///" in text, text


def test_ctrl_c_during_compile_mid_epochs_and_between_rounds_then_resume(tmp_path):
    (tmp_path / "tiny.neural").write_text(SEARCH)
    seen = []
    for when in ("compile", "epochs", "round"):
        rc, text = _interrupt(tmp_path, when)
        _assert_stopped(rc, text)
        states = _states(tmp_path)
        assert set(states) <= {"complete", "waiting"}, (when, states, text)  # none lost
        assert states.get("waiting", 0) in (0, 2), (when, states, text)
        seen.append(states)
    assert seen[0] == {"waiting": 2}, seen  # stopped in the first round's compilation
    assert seen[-1].get("complete", 0) >= 2, seen
    res = assert_ok(run(["neural", *_hpo()], tmp_path, env=ENV))
    assert f"trials {N}/{N}" in res.out, res
    assert _states(tmp_path) == {"complete": N}  # nothing lost, nothing trained twice


def test_a_second_ctrl_c_during_compile_stops_at_once_and_cleanly(tmp_path):
    (tmp_path / "tiny.neural").write_text(SEARCH)
    rc, text = _interrupt(tmp_path, "compile", db="y.db", signals=2)
    _assert_stopped(rc, text)
    assert "round 1:" not in text, text  # it did not wait for an epoch
    assert _states(tmp_path, "y.db") == {"waiting": 2}
