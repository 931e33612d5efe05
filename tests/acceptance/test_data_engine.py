"""Acceptance: data a user brings and the search engine's edges, run as users run them."""

from __future__ import annotations

import pathlib

from tests.acceptance.conftest import assert_ok, assert_user_error, run, user_env

SEQ = """
network Seq {
  input: (None, None, 8)
  layers:
    LSTM(HPO(choice(8, 16)))
    Output(3, activation="softmax")
  optimizer: Adam(learning_rate=1e-2)
  train { epochs: 1, batch_size: 64, validation_split: 0.2 }
}
"""

IRIS = """
network Iris {
  input: (2,)
  layers:
    Dense(HPO(choice(8, 16)), activation="relu")
    Output(3, activation="softmax")
  optimizer: Adam(learning_rate=1e-2)
  train { epochs: 2, batch_size: 16, validation_split: 0.2 }
}
"""

NAMES = ("setosa", "versicolor", "virginica")


def _iris_csv(path: pathlib.Path, n: int = 60) -> pathlib.Path:
    """A headerless file whose labels are text, as iris.data is."""
    rows = [f"{4.5 + i % 3 + (i % 7) / 10:.1f},{3 + (i % 5) / 10:.1f},{NAMES[i % 3]}"
            for i in range(n)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_headerless_csv_with_text_labels_keeps_every_sample(tmp_path):
    _iris_csv(tmp_path / "iris.csv")
    (tmp_path / "iris.neural").write_text(IRIS)
    res = assert_ok(run(["neural", "hpo", "iris.neural", "--dataset", "iris.csv",
                         "--n-trials", "2", "--population", "2"], tmp_path))
    assert "best configuration" in res.out
    (tmp_path / "count.py").write_text(
        "from neural_jax.data import load\n"
        "ds = load('iris.csv')\n"
        "print(len(ds.x_train) + len(ds.x_test), ds.num_classes, ds.x_train.shape[1])\n")
    res = assert_ok(run(["python", "count.py"], tmp_path))
    assert res.out.split() == ["60", "3", "2"]  # the first row is a sample, not a header


def test_a_variable_length_lstm_searches_on_synthetic_data(tmp_path):
    (tmp_path / "seq.neural").write_text(SEQ)
    res = assert_ok(run(["neural", "hpo", "seq.neural", "--dataset", "synthetic",
                         "--n-trials", "2", "--population", "2"], tmp_path))
    assert "trials 2/2" in res.out and "failed 0" in res.out
    assert 'best configuration: {"layers[0].units": ' in res.out


def test_strategy_optuna_without_optuna_fails_before_any_work(workdir):
    hide = workdir / "no_optuna"
    hide.mkdir()
    # an install without optuna (only a [dev] dependency): importing it finds nothing
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['optuna'] = None\n")
    env = user_env()
    env["PYTHONPATH"] = f"{hide}:{env['PYTHONPATH']}"
    res = run(["neural", "hpo", "examples/digits_search.neural", "--strategy", "optuna",
               "--storage", "sqlite:///s.db", "--study", "s", "--n-trials", "2"], workdir,
              env=env)
    assert_user_error(res, "strategy 'optuna' needs optuna, which is not installed",
                      "pip install optuna")
    assert len(res.err.strip().splitlines()) <= 2, res  # the error and its hint
    assert "round" not in res.out and not (workdir / "s.db").exists()
