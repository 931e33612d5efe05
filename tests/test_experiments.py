"""The absl launchers and ml-collections configs, end to end in fresh processes."""

from __future__ import annotations

import importlib
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["digits_mlp", "mnist_cnn", "cifar10_resnet",
                                  "transformer_tokens"])
def test_configs_load_and_name_real_files(name):
    cfg = importlib.import_module(f"configs.{name}").get_config()
    assert (ROOT / cfg.network).exists()
    assert cfg.search.n_trials >= 1 and cfg.search.strategy
    doc = importlib.import_module(f"configs.{name}").__doc__
    assert doc.startswith("python -m experiments.")


def test_hpo_launcher(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "experiments.hpo", "--config=configs/digits_mlp.py",
         "--config.search.n_trials=2", "--config.search.population=2", "--config.search.epochs=1",
         "--config.search.strategy=random", f"--config.output_dir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "best value" in r.stdout
    rec = json.loads((tmp_path / "best.json").read_text())
    assert rec["trials"] == 2 and "optimizer.learning_rate" in rec["best_params"]


def test_train_launcher():
    r = subprocess.run(
        [sys.executable, "-m", "experiments.train", "--config=configs/digits_mlp.py",
         "--config.search.epochs=2"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "validation {" in r.stdout and "'accuracy'" in r.stdout


def test_launcher_rejects_unknown_override():
    r = subprocess.run([sys.executable, "-m", "experiments.hpo", "--config=configs/digits_mlp.py",
                        "--config.search.n_trails=2"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0 and "n_trails" in r.stderr
