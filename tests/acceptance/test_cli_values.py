"""`neural hpo` / `neural run` values: a bad one is a one-line error naming the flag and the
allowed values, within seconds (before any training); every method name does what it says."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.acceptance.conftest import assert_ok, assert_user_error, run

FILE = "examples/digits_search.neural"
#: a bad value is refused before any data is loaded or program compiled: well under this
QUICK_S = 30


@pytest.mark.parametrize("flags,words", [
    (["--strategy", "hyperbnd"], ["--strategy", "unknown search method 'hyperbnd'",
                                  "did you mean 'hyperband'", "asha", "pbt", "de", "pso"]),
    (["--scheduler", "asah"], ["--scheduler", "unknown scheduler 'asah'", "did you mean 'asha'",
                               "median, sh, asha, hyperband"]),
    (["--metric", "val_acc"], ["--metric", "unknown metric 'val_acc'", "val_loss, val_accuracy",
                               "did you mean 'val_accuracy'"]),
    (["--metric", "val_loss", "--direction", "maximize"],
     ["--direction", "contradicts metric 'val_loss'", "minimize is inferred"]),
    (["--epochs", "-2"], ["--epochs", "must be a whole number >= 1, got -2"]),
    (["--epochs", "0"], ["--epochs", "must be a whole number >= 1, got 0"]),
    (["--population", "0"], ["--population", "must be a whole number >= 1"]),
    (["--population", "-1"], ["--population", "must be a whole number >= 1"]),
    (["--n-trials", "0"], ["--n-trials", "must be a whole number >= 1"]),
    (["--timeout", "-5"], ["--timeout", "must be a number > 0"]),
    (["--space", "[1,2,3]"], ["--space", "must be a json object", "got list"]),
    (["--strategy", "hyperband", "--scheduler", "median"],
     ["strategy 'hyperband' means scheduler 'hyperband'", "'median'"]),
    (["--early-stopping", "--scheduler", "asha"], ["early_stopping", "scheduler 'sh'"]),
])
def test_a_bad_hpo_value_fails_at_once_naming_the_flag(workdir, flags, words):
    start = time.perf_counter()
    res = run(["neural", "hpo", FILE, "--no-live", "--n-trials", "2", *flags], workdir, timeout=120)
    assert_user_error(res, *words)
    assert time.perf_counter() - start < QUICK_S, res
    assert "round 1" not in res.out and "warning" not in res.err.lower(), res


@pytest.mark.parametrize("flags,words", [
    (["--epochs", "-2"], ["--epochs", "must be a whole number >= 1, got -2"]),
    (["--epochs", "0"], ["--epochs", "got 0"]),
    (["--batch-size", "0"], ["--batch-size", "must be a whole number >= 1"]),
])
def test_a_bad_run_value_fails_at_once_naming_the_flag(workdir, flags, words):
    res = run(["neural", "run", FILE, *flags], workdir, timeout=60)
    assert_user_error(res, *words, rc=2)
    assert not (workdir / "runs").exists()


def _pruned(out: str) -> int:
    return sum(int(n) for n in re.findall(r"pruned (\d+)", out))


def _study(workdir, name: str) -> dict:
    code = (
        "import json, search\n"
        f"s = search.load_study({name!r}, 'sqlite:///hpo.db')\n"
        "print(json.dumps({'strategy': type(s.strategy).__name__,\n"
        "  'algorithm': getattr(s.strategy, 'algorithm', None),\n"
        "  'directions': s.directions,\n"
        "  'states': [t.state.name for t in s.trials],\n"
        "  'pbt': [t.user_attrs.get('pbt') for t in s.trials]}))\n")
    return json.loads(assert_ok(run(["python", "-c", code], workdir, timeout=120)).out)


SEARCH = ["--no-live", "--n-trials", "4", "--population", "4", "--epochs", "3",
          "--storage", "sqlite:///hpo.db"]


@pytest.mark.parametrize("flags", [["--strategy", "hyperband"], ["--scheduler", "asha"]])
def test_hyperband_and_asha_prune(workdir, flags):
    res = assert_ok(run(["neural", "hpo", FILE, *SEARCH, "--study", "p", *flags], workdir))
    assert _pruned(res.out) >= 1, res
    info = _study(workdir, "p")
    assert "PRUNED" in info["states"] and "COMPLETE" in info["states"]


def test_pbt_copies_weights_inside_the_population(workdir):
    res = assert_ok(run(["neural", "hpo", FILE, *SEARCH, "--study", "b", "--strategy", "pbt",
                         "--metric", "val_loss"], workdir))
    assert "best val_loss" in res.out
    info = _study(workdir, "b")
    assert info["directions"] == ["minimize"]  # inferred from the metric
    copies = [ev for p in info["pbt"] for ev in p["lineage"]]
    assert copies and all("optimizer.learning_rate" in ev["hyperparams"] for ev in copies)


def test_de_is_differential_evolution(workdir):
    assert_ok(run(["neural", "hpo", FILE, *SEARCH, "--study", "d", "--strategy", "DE"], workdir))
    info = _study(workdir, "d")
    assert info["strategy"] == "Evolution" and info["algorithm"] == "DifferentialEvolution"
    assert info["states"].count("COMPLETE") == 4


def test_warnings_are_one_line_without_our_source_path(workdir):
    res = assert_ok(run(["neural", "hpo", FILE, "--no-live", "--n-trials", "4", "--population",
                         "2", "--epochs", "1", "--timeout", "0.001"], workdir))
    # how many trials start before the first check of the clock depends on the machine
    assert re.search(r"^warning: timeout of 0\.001s reached after \d trials? \(of 4\)",
                     res.err, flags=re.M), res
    assert "NeuralWarning" not in res.err and ".py:" not in res.err, res
