"""The best model of a search can be had: saved, trained again to the same score, and loaded
into the generated PyTorch and TensorFlow scripts."""

from __future__ import annotations

import json
import re

import pytest

from tests.acceptance.conftest import assert_ok, assert_user_error, run


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """`neural hpo -o best` of the digits search (8 trials, 3 epochs, populations of 4)."""
    import shutil

    from tests.acceptance.conftest import EXAMPLES

    work = tmp_path_factory.mktemp("best")
    shutil.copytree(EXAMPLES, work / "examples")
    res = assert_ok(run(["neural", "hpo", "examples/digits_search.neural", "--n-trials", "8",
                         "--population", "4", "--epochs", "3", "-o", "best"], work))
    return work, res


def test_hpo_writes_the_best_trial_folder(searched):
    work, res = searched
    folder = work / "best"
    for name in ("best.neural", "best.json", "params.msgpack", "metrics.json", "network.neural"):
        assert (folder / name).exists(), name
    metrics = json.loads((folder / "metrics.json").read_text())
    best = json.loads((folder / "best.json").read_text())
    assert metrics["metric"] == "val_accuracy" and metrics["value"] == best["value"]
    assert metrics["val"]["accuracy"] == metrics["value"]
    assert best["seed"] == best["trial"]  # search seed 0 + trial number
    assert f"best val_accuracy: {metrics['value']:.4f}" in res.out
    assert "HPO(" not in (folder / "best.neural").read_text()
    assert_ok(run(["neural", "check", "best/best.neural"], work))


def test_run_with_the_best_params_reproduces_the_searched_score(searched):
    work, _ = searched
    metrics = json.loads((work / "best" / "metrics.json").read_text())
    res = assert_ok(run(["neural", "run", "examples/digits_search.neural", "--params", "best",
                         "--out", "rerun"], work))
    assert "the same" in res.out, res
    again = json.loads((work / "rerun" / "metrics.json").read_text())
    assert again["val"] == metrics["val"]  # bit for bit
    assert again["test"] == metrics["test"]


@pytest.mark.parametrize(("backend", "weights"), [("pytorch", "model.pt"),
                                                  ("tensorflow", "model.weights.h5")])
def test_exported_weights_load_into_the_generated_script(searched, backend, weights):
    work, _ = searched
    metrics = json.loads((work / "best" / "metrics.json").read_text())
    assert_ok(run(["neural", "export", "best", "--backend", backend], work))
    script = f"best_{backend}.py"
    assert_ok(run(["neural", "compile", "best/best.neural", "--backend", backend,
                   "--dataset", "digits", "-o", script], work))
    out = assert_ok(run(["python", script, "--weights", f"best/{weights}", "--epochs", "0",
                         "--evaluate"], work))
    acc = float(re.search(r"^test accuracy (\d+\.\d+)", out.out, re.M).group(1))
    assert abs(acc - metrics["test"]["accuracy"]) < 2e-3, (acc, metrics["test"])


def test_params_that_name_no_best_trial_are_clear_errors(searched):
    work, _ = searched
    assert_user_error(run(["neural", "run", "examples/digits_search.neural", "--params",
                           "nowhere"], work), "nowhere", "neither JSON")
    assert_user_error(run(["neural", "run", "examples/digits_search.neural", "--params",
                           "examples"], work), "best.json")
    (work / "broken.json").write_text('{"params": ')
    assert_user_error(run(["neural", "run", "examples/digits_search.neural", "--params",
                           "broken.json"], work), "broken.json:1:", "not valid JSON")


def test_hpo_output_ending_in_neural_keeps_its_old_meaning(workdir):
    res = assert_ok(run(["neural", "hpo", "examples/digits_search.neural", "--n-trials", "2",
                         "--population", "2", "--epochs", "1", "-o", "opt.neural"], workdir))
    assert "give -o a folder" in res.out
    assert "HPO(" not in (workdir / "opt.neural").read_text()
