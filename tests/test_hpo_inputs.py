"""The engine's data inputs, diverged trials and Ctrl-C, on real (tiny) searches."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from sklearn.datasets import load_digits

from neural_jax import NeuralWarning
from neural_jax.data import DatasetError, load
from neural_jax.hpo import HPOptimizer
from search import TrialState

MNIST_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"

FLAT = """
network Flat {
  input: (64,)
  layers:
    Dense(32, activation=HPO(choice("relu", "tanh")))
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(3e-3, 3e-2)))
  train { epochs: 3, batch_size: 64, validation_split: 0.2 }
}
"""

MNIST = """
network M {
  input: (28, 28, 1)
  layers:
    Flatten()
    Dense(HPO(choice(32, 64)), activation="relu")
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=3e-3)
  train { epochs: 2, batch_size: 128, validation_split: 0.2 }
}
"""

DIVERGING = """
network D {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(32, activation="relu")
    Output(10, activation="softmax")
  optimizer: SGD(learning_rate=HPO(choice(0.05, 1000.0)))
  train { epochs: 2, batch_size: 64, validation_split: 0.2 }
}
"""


def _digits_csv(path: pathlib.Path, header: bool) -> pathlib.Path:
    d = load_digits()
    rows = ([",".join([*(f"p{i}" for i in range(64)), "digit"])] if header else [])
    rows += [",".join([*(f"{v:g}" for v in x), str(y)]) for x, y in zip(d.data, d.target)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.skipif(not (MNIST_DIR / "mnist").is_dir(), reason="needs the MNIST test split files")
def test_a_dataset_and_arrays_of_the_real_mnist_test_split():
    ds = load("mnist_t10k", data_dir=str(MNIST_DIR))
    opt = HPOptimizer(strategy="grid", n_trials=2, population=2, seed=0)
    best = opt.optimize(MNIST, dataset=ds)
    assert set(best) == {"layers[1].units"} and opt.best_value > 0.85
    # the same images as (x, y) arrays: a test split is held out of them
    x = np.concatenate([ds.x_train, ds.x_test])[:3000]
    y = np.concatenate([ds.y_train, ds.y_test])[:3000]
    arrays = HPOptimizer(strategy="grid", n_trials=2, population=2, seed=0)
    arrays.optimize(MNIST, dataset=(x, y))
    assert arrays.best_value > 0.75
    assert all(t["test"] for t in arrays.trials)


def test_csv_and_npz_files(tmp_path):
    csv = _digits_csv(tmp_path / "digits.csv", header=True)  # label "digit": the last column
    opt = HPOptimizer(strategy="random", n_trials=2, population=2, seed=0)
    opt.optimize(FLAT, dataset=str(csv))
    assert opt.best_value > 0.8
    d = load_digits()
    np.savez(tmp_path / "digits.npz", x=(d.data / 16).astype(np.float32), y=d.target)
    npz = HPOptimizer(strategy="random", n_trials=2, population=2, seed=0)
    npz.optimize(FLAT, dataset=tmp_path / "digits.npz")
    assert npz.best_value > 0.8
    # dataset_name= keeps working, for names and paths
    assert HPOptimizer(strategy="random", n_trials=1, population=1).optimize(
        FLAT, dataset_name=str(csv))


def test_anything_else_is_a_clear_error_before_training(tmp_path):
    opt = HPOptimizer(strategy="random", n_trials=2)
    with pytest.raises(DatasetError,
                       match="cannot use dict as a dataset; give a neural_jax.data.Dataset"):
        opt.optimize(FLAT, dataset={"x": 1})
    (tmp_path / "d.json").write_text("{}")
    with pytest.raises(DatasetError, match=r"d\.json as a dataset: \.json files are not supported"):
        opt.optimize(FLAT, dataset=str(tmp_path / "d.json"))
    assert opt.study is None  # nothing was started


def test_a_diverged_trial_is_failed_with_its_reason():
    opt = HPOptimizer(strategy="grid", n_trials=2, population=2, seed=0)
    best = opt.optimize(DIVERGING, dataset_name="digits")
    assert best == {"optimizer.learning_rate": 0.05}
    by_lr = {t.params["optimizer.learning_rate"]: t for t in opt.study.trials}
    bad = by_lr[1000.0]
    assert bad.state == TrialState.FAILED and bad.values is None
    assert bad.system_attrs["fail_reason"].startswith("diverged: the training loss reached")
    assert by_lr[0.05].state == TrialState.COMPLETE
    rec = next(t for t in opt.trials if t["params"]["optimizer.learning_rate"] == 1000.0)
    assert rec["state"] == "failed" and rec["message"].startswith("diverged")


def test_ctrl_c_requeues_the_running_trials_and_a_resume_trains_them(tmp_path, monkeypatch):
    import neural_jax.population.engine as population

    url = f"sqlite:///{tmp_path / 'i.db'}"
    real, calls = population.train_population, []

    def interrupted_second_round(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(population, "train_population", interrupted_second_round)
    opt = HPOptimizer(strategy="random", n_trials=6, population=2, storage=url, study_name="s")
    with pytest.warns(NeuralWarning, match=r"interrupted: 2 finished trials kept and 2 running "
                      r"trials re-queued in the study 's'; run again with study_name='s'"):
        opt.optimize(FLAT, dataset_name="digits")
    assert opt.interrupted
    states = [t.state for t in opt.study.trials]
    assert states == [TrialState.COMPLETE] * 2 + [TrialState.WAITING] * 2
    waiting = {t.number: t.params for t in opt.study.trials[2:]}
    monkeypatch.setattr(population, "train_population", real)
    again = HPOptimizer(strategy="random", n_trials=6, population=2, storage=url, study_name="s")
    again.optimize(FLAT, dataset_name="digits")
    trials = again.study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    assert {t.number: t.params for t in trials[2:4]} == waiting  # the interrupted ones, retrained
    assert len(again.trials) == 4


def test_without_storage_ctrl_c_says_the_trials_are_lost(monkeypatch):
    import neural_jax.population.engine as population

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(population, "train_population", interrupt)
    with pytest.warns(NeuralWarning,
                      match="in memory only and are lost; pass storage= and study_name="):
        HPOptimizer(strategy="random", n_trials=2, population=2).optimize(FLAT)
