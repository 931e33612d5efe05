"""One EngineConfig for HPOptimizer, ``neural hpo`` and the experiment configs: its fields,
its checks, and ``population`` / ``workers`` (with the old ``parallel_trials``)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from tiny_search import tiny_lr_search

from neural_jax import hpo
from neural_jax.cli import build_parser, main
from neural_jax.core.errors import NeuralValidationError
from neural_jax.engine_config import EngineConfig
from neural_jax.hpo import HPOptimizer

FIELDS = [f.name for f in dataclasses.fields(EngineConfig)]


def test_the_three_builders_name_every_field():
    """HPOptimizer's arguments, the ``neural hpo`` flags and the experiment configs all
    build the same EngineConfig: a field one of them forgot fails here."""
    init = set(inspect.signature(HPOptimizer.__init__).parameters)
    run = set(inspect.signature(HPOptimizer.optimize).parameters)
    assert set(FIELDS) <= init | run
    hpo_parser = build_parser()._subparsers._group_actions[0].choices["hpo"]
    dests = {a.dest for a in hpo_parser._actions}
    cli_names = {"study_name": "study", "compilation_cache": None, "pbt_interval": None,
                 "mode": None, "keep_best": "output"}  # named otherwise, or not a flag
    for name in FIELDS:
        flag = cli_names.get(name, name)
        assert flag is None or flag in dests, name
    from neural_jax.cli_hpo import engine_config

    args = build_parser().parse_args(["hpo", "f.neural", "--population", "3", "--workers",
                                      "2", "--parallel-trials", "4", "--seed", "5",
                                      "--backend", "torch", "--metric", "val_loss"])
    cfg = engine_config(args)
    assert (cfg.population, cfg.workers, cfg.parallel_trials, cfg.seed, cfg.backend,
            cfg.metric) == (3, 2, 4, 5, "torch", "val_loss")


def test_experiment_configs_build_it(monkeypatch):
    import configs.digits_mlp as digits
    from neural_jax.experiment import engine_config

    cfg = digits.get_config()
    ec = engine_config(cfg)
    assert (ec.strategy, ec.n_trials, ec.population, ec.epochs, ec.timeout) == (
        "tpe", 16, 8, None, None)  # 0 means the default
    cfg.search.population = -1
    with pytest.raises(ValueError, match="population must be a whole number >= 1, got -1"):
        engine_config(cfg)
    cfg.search.population, cfg.search.n_trials = 8, 0
    with pytest.raises(ValueError, match="n_trials must be a whole number >= 1, got 0"):
        engine_config(cfg)  # 0 is no default for n_trials


@pytest.mark.parametrize("name,value", [("workers", 0), ("workers", -1), ("workers", 1.5),
                                        ("population", 0), ("parallel_trials", -3),
                                        ("seed", -1), ("seed", 2**32)])
def test_bad_numbers_are_refused_by_name(name, value):
    with pytest.raises(ValueError, match=f"{name} must be a whole number"):
        EngineConfig(**{name: value})
    with pytest.raises(ValueError, match=f"{name} must be a whole number"):
        HPOptimizer(**{name: value})


def test_setting_an_attribute_checks_it_again():
    opt = HPOptimizer(n_trials=2)
    opt.timeout = 5
    assert opt.config.timeout == 5 and opt.timeout == 5
    with pytest.raises(ValueError, match="timeout must be > 0 seconds"):
        opt.timeout = -1
    with pytest.raises(ValueError, match="workers must be a whole number >= 1, got 0"):
        opt.workers = 0
    assert opt.config.timeout == 5  # a refused value changes nothing


def test_population_and_workers_and_the_old_spelling():
    assert EngineConfig(n_trials=40).sizes("population") == (16, 1)
    assert EngineConfig(n_trials=5).sizes("workers") == (5, 1)
    # parallel_trials keeps its old meaning per backend
    assert EngineConfig(n_trials=40, parallel_trials=3).sizes("population") == (3, 1)
    assert EngineConfig(n_trials=40, parallel_trials=3).sizes("workers") == (16, 3)
    # the option given by its own name wins
    old = EngineConfig(n_trials=40, parallel_trials=3, population=4, workers=2)
    assert old.sizes("population") == (4, 2) and old.sizes("workers") == (4, 2)


def test_workers_for_jax_is_an_error_before_any_work(monkeypatch):
    loaded = []
    monkeypatch.setattr(hpo, "dataset_for", lambda *a, **k: loaded.append(a))
    opt = HPOptimizer(strategy="random", n_trials=2, workers=2)
    with pytest.raises(NeuralValidationError, match="(?s)workers=2: backend 'jax'.*population="):
        opt.optimize(tiny_lr_search(1))
    assert not loaded and opt.study is None
    # the old spelling means the population there: no error
    HPOptimizer(n_trials=2, parallel_trials=2)


def test_neural_hpo_workers_flag(tmp_path, capsys):
    src = tmp_path / "t.neural"
    src.write_text(tiny_lr_search(1))
    assert main(["hpo", str(src), "--workers", "0"]) == 2
    assert "argument --workers: must be a whole number >= 1, got 0" in capsys.readouterr().err
    assert main(["hpo", str(src), "--workers", "-1"]) == 2
    assert main(["hpo", str(src), "--workers", "2", "--n-trials", "1", "--no-live"]) == 1
    err = capsys.readouterr().err
    assert "workers=2: backend 'jax'" in err and "Traceback" not in err


def test_population_with_pytorch_is_the_trials_per_round():
    pytest.importorskip("torch")
    rounds = []
    opt = HPOptimizer(strategy="random", n_trials=4, population=2, workers=1, seed=0, epochs=1,
                      on_round=lambda r, recs: rounds.append(len(recs)))
    opt.optimize(tiny_lr_search(1), backend="pytorch")
    assert rounds == [2, 2]  # population: trials per round; one worker, in this process
    assert all(t["state"] == "complete" for t in opt.trials)
    assert opt.best_value > 0.3  # one epoch of a 16-unit MLP on digits: above chance
