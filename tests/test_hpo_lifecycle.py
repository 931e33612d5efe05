"""A search from start to end: what it refuses up front, a Ctrl-C after the last epoch,
and a second ``optimize()`` on the same object reporting only its own search."""

from __future__ import annotations

import importlib.util
import signal
import sys
import warnings

import pytest

import search
from neural_jax import hpo, inputs
from neural_jax.hpo import HPOptimizer, StrategyUnavailable
from tests.tiny_search import tiny_lr_search

TINY = tiny_lr_search(2)


@pytest.fixture
def no_optuna(monkeypatch):
    """An install without optuna (it is only a [dev] dependency)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "optuna" else real(name, *a))
    monkeypatch.setitem(sys.modules, "optuna", None)


def test_optuna_without_optuna_is_refused_before_any_work(no_optuna, tmp_path, monkeypatch):
    said = "strategy 'optuna' needs optuna, which is not installed"
    with pytest.raises(StrategyUnavailable, match=said) as err:
        HPOptimizer(strategy="optuna", n_trials=2)
    assert "pip install optuna" in err.value.format()
    with pytest.raises(StrategyUnavailable, match="strategy 'Optuna_Strategy' needs optuna"):
        HPOptimizer(strategy="Optuna_Strategy")
    # the network's own search_method: refused before the data loads or a study is stored
    loaded = []
    monkeypatch.setattr(hpo, "dataset_for", lambda *a, **k: loaded.append(a))
    db = tmp_path / "s.db"
    code = TINY.replace("epochs: 2,", 'epochs: 2, search_method: "optuna",')
    with pytest.raises(StrategyUnavailable, match=said):
        HPOptimizer(n_trials=2, storage=f"sqlite:///{db}", study_name="s").optimize(code)
    assert not loaded and not db.exists()
    # the search library alone says so too, when the strategy is built
    with pytest.raises(search.StrategyUnavailableError, match=f"{said}; pip install optuna"):
        search.get_strategy("optuna")


def test_a_ctrl_c_during_the_last_rounds_tells_is_an_interrupt(tmp_path):
    def on_round(rnd, records):
        signal.raise_signal(signal.SIGINT)  # after the last stop.check() of the search

    opt = HPOptimizer(strategy="random", n_trials=2, population=2, seed=0, on_round=on_round,
                      storage=f"sqlite:///{tmp_path / 'i.db'}", study_name="late",
                      compilation_cache=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        best = opt.optimize(TINY)
    assert opt.interrupted
    said = [str(w.message) for w in caught]
    assert any("interrupted: 2 finished trials kept in the study 'late'" in m for m in said), said
    assert [t.state.name for t in opt.study.trials] == ["COMPLETE", "COMPLETE"]
    assert set(best) == {"optimizer.learning_rate"}  # every trial had finished: kept
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_search_on_the_same_object_reports_only_itself():
    presses = []

    def on_epoch(epoch, records):
        if not presses:
            presses.append(epoch)
            signal.raise_signal(signal.SIGINT)

    opt = HPOptimizer(strategy="random", n_trials=2, population=2, seed=0, on_epoch=on_epoch,
                      compilation_cache=False, keep_best=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert opt.optimize(TINY) == {}
    assert opt.interrupted and opt.trials == [] and opt.best_trial is None
    best = opt.optimize(TINY)  # the same object, again: nothing of the first search stays
    assert not opt.interrupted and not opt.timed_out
    assert len(opt.trials) == 2 and len(opt.study.trials) == 2
    assert set(best) == {"optimizer.learning_rate"} and opt.best_value is not None
    assert opt.best_trial is not None
    first_value = opt.best_value

    opt.timeout = 1e-9  # a third search that times out before its first round
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert opt.optimize(TINY) == {}
    assert opt.timed_out and opt.trials == [] and opt.best_value is None
    assert opt.best_params == {} and opt.best_trial is None
    assert any("after 0 trials" in str(w.message) for w in caught)
    opt.timeout = None
    opt.optimize(TINY)
    assert not opt.timed_out and len(opt.trials) == 2 and opt.best_value == first_value


def test_input_binding_lives_in_its_own_module_and_the_old_names_still_import():
    from neural_jax.hpo import BackendUnavailable, _pick_network, dataset_for, pick_network

    assert _pick_network is pick_network is inputs.pick_network
    assert dataset_for is inputs.dataset_for and BackendUnavailable is inputs.BackendUnavailable
    with pytest.warns(hpo.NeuralWarning, match="defines 2 networks; searching the first, 'Tiny'"):
        net = pick_network(TINY + TINY.replace("Tiny", "Other"), None)
    assert net.name == "Tiny"
