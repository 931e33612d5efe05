"""``neural trials`` on a study written through the search library (no training needed)."""

from __future__ import annotations

import csv
import io
import json

from neural_jax.cli import main
from search import create_study

SPACE = {"lr": {"type": "float", "min": 1e-4, "max": 1e-1, "log": True},
         "act": {"type": "categorical", "values": ["relu", "tanh"]}}


def _study(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = create_study("exp", url, SPACE, "random", direction="minimize", seed=0)
    a, b, c, d, e = study.ask(5)
    study.tell(a, 0.30)
    study.tell(b, 0.10)
    c.report(1, 0.9)
    study.tell(c, state="pruned")
    study.tell(d, state="failed", reason="diverged: the training loss became nan in epoch 2")
    study.requeue(e, "interrupted (Ctrl-C)")
    return url, study


def test_table_json_csv_sort_and_state(tmp_path, capsys):
    url, study = _study(tmp_path)
    assert main(["trials", "--storage", url, "--study", "exp"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["#", "state", "value", "params", "duration", "note"]
    assert out[4].split()[:2] == ["2", "pruned"] and out[4].endswith("pruned at step 1")
    assert out[5].endswith("diverged: the training loss became nan in epoch 2")
    assert out[6].endswith("re-queued: interrupted (Ctrl-C)") and out[6].split()[1] == "waiting"
    assert out[-1] == ("study 'exp': 5 trials (2 complete, 1 pruned, 1 failed, 1 waiting); "
                       "best 0.1000 (#1, minimize)")

    assert main(["trials", "--storage", url, "--study", "exp", "--format", "json",
                 "--sort", "value"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["directions"] == ["minimize"]
    assert [t["number"] for t in data["trials"]][:2] == [1, 0]  # lowest value first
    failed = next(t for t in data["trials"] if t["state"] == "failed")
    assert failed["fail_reason"].startswith("diverged") and failed["values"] is None
    assert data["trials"][0]["params"] == study.trials[1].params

    assert main(["trials", "--storage", url, "--study", "exp", "--format", "csv",
                 "--state", "complete", "--state", "failed"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["state"] for r in rows] == ["complete", "complete", "failed"]
    assert {"param:lr", "param:act"} <= set(rows[0])
    assert float(rows[1]["value"]) == 0.1 and float(rows[1]["duration_s"]) >= 0


def test_listing_and_errors(tmp_path, capsys):
    url, _ = _study(tmp_path)
    assert main(["trials", "--storage", url]) == 0
    assert "'exp': 5 trials (2 complete, 1 pruned, 1 failed, 1 waiting)" in capsys.readouterr().out
    assert main(["trials", "--storage", url, "--study", "other"]) == 1
    assert "no study named 'other'" in capsys.readouterr().err
    assert main(["trials", "--storage", "sqlite:nope"]) == 1
    assert "cannot parse storage URL 'sqlite:nope'" in capsys.readouterr().err
    assert main(["trials", "--storage", "not a url"]) == 1
    assert "cannot parse storage URL" in capsys.readouterr().err
