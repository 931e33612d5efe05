"""W&B logging of a search, checked in the files W&B writes offline (no server here)."""

from __future__ import annotations

import json
import math
import pathlib
import struct

import pytest

wandb = pytest.importorskip("wandb")

from neural_jax.core.errors import NeuralValidationError  # noqa: E402
from neural_jax.tracking import WandbTracker  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _records(path: pathlib.Path):
    """The protobuf records of a ``run-*.wandb`` file (a LevelDB-style log of 32 KiB blocks)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, block, buf = 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        pos += 7
        if kind == 0 and length == 0:
            break
        buf += data[pos:pos + length]
        pos += length
        if kind in (1, 4):  # a full record, or the last piece of one
            rec = pb.Record()
            rec.ParseFromString(buf)
            buf = b""
            yield rec


def _runs(folder: pathlib.Path) -> list[dict]:
    """Every offline run under ``folder``: name, group, job type, config, history, summary."""
    out = []
    for f in sorted(folder.glob("wandb/offline-run-*/run-*.wandb")):
        run = {"history": [], "summary": {}, "config": {}}
        for rec in _records(f):
            kind = rec.WhichOneof("record_type")
            if kind == "run":
                run.update(name=rec.run.display_name, group=rec.run.run_group,
                           job_type=rec.run.job_type)
                run["config"].update({u.key: json.loads(u.value_json)
                                      for u in rec.run.config.update})
            elif kind == "config":
                run["config"].update({u.key: json.loads(u.value_json) for u in rec.config.update})
            elif kind == "history":
                run["history"].append({(i.key or i.nested_key[0]): json.loads(i.value_json)
                                       for i in rec.history.item})
            elif kind == "summary":
                for u in rec.summary.update:
                    run["summary"][u.key or ".".join(u.nested_key)] = json.loads(u.value_json)
        out.append(run)
    return out


def _record(number, value, state="complete"):
    return {"number": number, "params": {"optimizer.learning_rate": 0.01 * (number + 1),
                                         "layers[1].activation": "relu"},
            "history": [{"epoch": 1, "loss": 1.0, "val_accuracy": 0.5},
                        {"epoch": 2, "loss": 0.5, "val_accuracy": 0.75}],
            "val": {"accuracy": 0.75}, "value": value, "state": state,
            **({"message": "the training loss became nan in epoch 2"} if state == "failed" else {})}


class _Opt:
    trials = [_record(0, 0.75), _record(1, math.nan, "failed")]
    best_value = 0.75
    best_params = {"optimizer.learning_rate": 0.01}


def test_each_trial_is_a_run_with_its_curve_and_the_study_has_a_summary(tmp_path):
    t = WandbTracker("p", group="g", mode="offline", directory=str(tmp_path),
                     config={"dataset": "digits"})
    t.on_round(0, _Opt.trials)
    t.finish(_Opt())
    runs = {r["name"]: r for r in _runs(tmp_path)}
    assert set(runs) == {"trial-0", "trial-1", "g-summary"}
    ok = runs["trial-0"]
    assert ok["group"] == "g" and ok["job_type"] == "trial"
    assert ok["config"]["optimizer.learning_rate"] == pytest.approx(0.01)
    assert ok["config"]["dataset"] == "digits"
    curve = [h["val_accuracy"] for h in ok["history"] if "val_accuracy" in h]
    assert curve == [0.5, 0.75]
    assert ok["summary"]["value"] == 0.75 and ok["summary"]["best_val_accuracy"] == 0.75
    bad = runs["trial-1"]
    assert bad["summary"]["value"] is None and bad["summary"]["state"] == "failed"
    assert "epoch 2" in bad["summary"]["message"]
    summary = runs["g-summary"]
    assert summary["job_type"] == "study" and summary["summary"]["best_value"] == 0.75
    assert summary["summary"]["best/optimizer.learning_rate"] == 0.01


@pytest.mark.parametrize("quiet,env,shown", [(None, None, False), (False, None, True),
                                               (None, "0", True)])
def test_w_and_b_output_is_off_unless_asked_for(tmp_path, capfd, monkeypatch, quiet, env, shown):
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    if env is None:
        monkeypatch.delenv("NEURAL_WANDB_QUIET", raising=False)
    else:
        monkeypatch.setenv("NEURAL_WANDB_QUIET", env)
    t = WandbTracker("p", group="g", mode="offline", directory=str(tmp_path), quiet=quiet)
    t.log_trial(_record(0, 0.75))
    wandb.teardown()  # flushes the run's file (finish() does this after the summary run)
    out = capfd.readouterr()
    lines = [ln for ln in (out.out + out.err).splitlines() if ln.startswith("wandb:")]
    assert bool(lines) == shown, lines
    if shown:  # W&B's own summary of the run, as it prints it without the tracker
        assert any("Run summary" in ln for ln in lines)
    assert [r["name"] for r in _runs(tmp_path)] == ["trial-0"]  # logged either way


def test_bad_mode_is_a_clear_error():
    with pytest.raises(NeuralValidationError, match="mode"):
        WandbTracker("p", mode="sometimes")


def test_config_launch_logs_every_trial(tmp_path, monkeypatch):
    from configs.digits_mlp import get_config
    from neural_jax.experiment import run_hpo

    monkeypatch.chdir(ROOT)
    cfg = get_config()
    cfg.search.n_trials, cfg.search.population, cfg.search.epochs = 2, 2, 1
    cfg.search.strategy = "random"
    cfg.logging.wandb, cfg.logging.mode, cfg.logging.dir = True, "offline", str(tmp_path)
    out = run_hpo(cfg)
    runs = _runs(tmp_path)
    trials = [r for r in runs if r.get("job_type") == "trial"]
    assert len(trials) == 2 == out["trials"], runs
    assert all(r.get("group") == "digits_mlp-digits-random" for r in runs), runs
    for r in trials:
        assert any("val_accuracy" in h for h in r["history"])
        assert "optimizer.learning_rate" in r["config"]
    study = [r for r in runs if r.get("job_type") == "study"]
    assert study and study[0]["summary"]["best_value"] == pytest.approx(out["best_value"])
