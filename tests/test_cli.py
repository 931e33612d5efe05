"""The `neural` command end to end."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from neural_jax.cli import main

EX = pathlib.Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("path", sorted(EX.glob("*.neural")), ids=lambda p: p.stem)
def test_check_every_example(path, capsys):
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ok (" in out and "output shape" in out and "search space" in out


def test_check_prints_table_and_space(capsys):
    assert main(["check", str(EX / "digits_mlp.neural")]) == 0
    out = capsys.readouterr().out
    assert "(None, 32..128)" in out and "ok (6 configurations checked)" in out
    assert "optimizer.learning_rate  float" in out and "log" in out


def test_check_json(capsys):
    assert main(["check", "--json", str(EX / "mnist_cnn.neural")]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    assert rec["network"] == "MNIST" and rec["layers"][-1]["output"] == "(None, 10)"
    assert rec["search_space"] == {}


def test_check_bad_file_exits_non_zero_with_caret(tmp_path, capsys):
    bad = tmp_path / "bad.neural"
    bad.write_text("network A {\n  input: (4,)\n  layers:\n    Dropout(1.5)\n}\n")
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "line 4, column 13" in err and "Dropout(1.5)" in err and "^" in err and "hint:" in err


def test_check_missing_file(capsys):
    assert main(["check", "/no/such/file.neural"]) == 1
    assert "/no/such/file.neural" in capsys.readouterr().err


def test_console_script_runs_in_a_fresh_process():
    r = subprocess.run([sys.executable, "-m", "neural_jax.cli", "check",
                        str(EX / "recurrent.neural")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Bidirectional" in r.stdout


@pytest.mark.parametrize("argv,msg", [
    (["hpo", str(EX / "digits_search.neural"), "--strategy", "tpee", "--n-trials", "1"],
     "did you mean 'tpe'"),
    (["hpo", str(EX / "digits_search.neural"), "--space", "{bad"], "not valid JSON"),
    (["run", str(EX / "digits_search.neural"), "--params", '{"x":'], "not valid JSON"),
    (["hpo", str(EX / "digits_search.neural"), "--storage", "sqlite:////no/such/dir/x.db",
      "--n-trials", "1"], "cannot open storage"),
    (["hpo", str(EX / "digits_search.neural"), "--backend", "mxnet", "--n-trials", "1"],
     "unknown backend 'mxnet'"),
    (["compile", str(EX / "digits_search.neural"), "--backend", "jax", "--params", "[1"],
     "not valid JSON"),
    (["export", "/no/such/run", "--backend", "pytorch"],
     "cannot export /no/such/run: no such folder"),
])
def test_user_errors_are_messages_not_tracebacks(argv, msg, capsys):
    assert main(argv) in (1, 2)
    err = capsys.readouterr().err
    assert msg.lower() in err.lower() and "Traceback" not in err


def test_hpo_prints_progress_and_logs_to_wandb_offline(tmp_path, monkeypatch, capsys):
    pytest.importorskip("wandb")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    assert main(["hpo", str(EX / "digits_search.neural"), "--n-trials", "2", "--population", "2",
                 "--epochs", "1", "--strategy", "random", "--wandb", "proj", "--study", "s1"]) == 0
    out = capsys.readouterr().out
    assert "round 1: trials 2/2" in out and "trial-epochs/s" in out and "top 2 trials" in out
    runs = sorted((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 3  # two trials and the study summary
