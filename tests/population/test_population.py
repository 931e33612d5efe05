"""The population trainer trains real tiny models: buckets, one trace per size, failures,
chunks, execution modes, successive halving with compaction, and PBT."""

from __future__ import annotations

import numpy as np
import pytest

from neural_jax import parse
from neural_jax.data import load as load_dataset
from neural_jax.population.bucket import PopulationConfigError, bucket_configs
from neural_jax.population.engine import PBT, choose_mode, train_population
from neural_jax.population.trainer import train
from neural_jax.train import TrainConfigError

MLP = """
network DigitsMLP {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(HPO(choice(16, 32)), activation=HPO(choice("relu", "tanh")))
    Dropout(HPO(range(0.0, 0.5)))
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-4, 1e-1)))
  train { epochs: 3, batch_size: 32, validation_split: 0.2, seed: 1 }
}
"""
SGD = """
network DigitsSGD {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(32, activation="relu")
    Output(10, activation="softmax")
  optimizer: SGD(learning_rate=HPO(log_range(1e-4, 1e30)))
  train { epochs: 3, batch_size: 32, validation_split: 0.2, seed: 0 }
}
"""


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def cfg(lr=3e-3, units=32, act="relu", rate=0.0, **kw):
    return {"optimizer.learning_rate": lr, "layers[1].units": units,
            "layers[1].activation": act, "layers[2].rate": rate, **kw}


def test_bucketing_splits_by_shape_only():
    net = parse(MLP)
    configs = [cfg(1e-3), cfg(1e-2, act="tanh", rate=0.3, seed=4), cfg(units=16),
               cfg(3e-2, units=16)]
    buckets = bucket_configs(net, configs)
    assert [b.indices for b in buckets] == [[0, 1], [2, 3]]
    assert buckets[0].seeds == [1, 4]
    assert [v["learning_rate"] for v in buckets[1].opt_values] == [3e-3, 3e-2]
    net2 = parse(MLP.replace("batch_size: 32", "batch_size: HPO(choice(16, 32))"))
    b2 = bucket_configs(net2, [cfg(**{"train.batch_size": 16}), cfg(**{"train.batch_size": 32}),
                               cfg(1e-2, **{"train.batch_size": 16})])
    assert [b.indices for b in b2] == [[0, 2], [1]]


def test_optimizer_type_makes_buckets():
    net = parse(MLP.replace("Adam(learning_rate=HPO(log_range(1e-4, 1e-1)))",
                            "HPO(choice(Adam(learning_rate=0.01), SGD(learning_rate=0.1)))"))
    base = {"layers[1].units": 32}
    buckets = bucket_configs(net, [{**base, "optimizer": "Adam"}, {**base, "optimizer": "SGD"},
                                   {**base, "optimizer": 0}])
    assert [b.indices for b in buckets] == [[0, 2], [1]]


@pytest.mark.parametrize("bad, words", [
    ([], "empty"),
    ([cfg(lr=5.0)], "outside its domain"),
    ([cfg(rate=-0.1)], "outside its domain"),
    ([cfg(units=17)], "not an option"),
    ([cfg(act="swishy")], "not an option"),
    ([{"optimizer.learnig_rate": 1e-3}], "Did you mean 'learning_rate'"),
    ([{"layers[9].units": 3}], "not a searched parameter"),
    ([cfg(seed=-1)], "seed"),
])
def test_bad_values_fail_before_compiling(digits, bad, words):
    with pytest.raises(TrainConfigError, match=words):
        train_population(parse(MLP), digits, bad)


def test_population_errors_are_config_errors():
    assert issubclass(PopulationConfigError, TrainConfigError)


def test_members_train_exactly_like_single_runs_and_compile_once(digits):
    net = parse(MLP)
    configs = [cfg(1e-3), cfg(1e-2, act="tanh", rate=0.25), cfg(3e-3, units=16, seed=3)]
    r = train_population(net, digits, configs, mode="vmap", overrides={"epochs": 2}, pad=False)
    assert [s["traces"]["epoch"] for s in r.stats] == [1, 1]  # two buckets, one trace each
    assert r[2].history[0]["loss"] != r[0].history[0]["loss"]
    for c, m in zip(configs[:2], r):
        single = train(net, digits, c, epochs=2)
        assert not m.failed and len(m.history) == 2
        np.testing.assert_allclose([h["loss"] for h in m.history],
                                   [h["loss"] for h in single.history], rtol=1e-4)
        assert abs(m.val["accuracy"] - single.val["accuracy"]) < 0.01
        assert abs(m.test["accuracy"] - single.test["accuracy"]) < 0.01
        assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(m.history[0])
    assert r[1].hyperparams["layers[2].rate"] == pytest.approx(0.25)
    assert r[1].hyperparams["optimizer.learning_rate"] == pytest.approx(1e-2)


def test_rounds_choose_the_optimizing_compile_for_long_use(digits):
    """A program run once compiles cheaply; one a search runs for many rounds gets XLA's
    optimizing defaults (a different program, with the same training to float tolerance)."""
    net = parse(MLP)
    configs = [cfg(1e-2), cfg(3e-3, act="tanh", rate=0.2)]
    once = train_population(net, digits, configs, mode="vmap", overrides={"epochs": 1}, pad=False)
    many = train_population(net, digits, configs, mode="vmap", overrides={"epochs": 1}, pad=False,
                            rounds=100_000)
    assert [s["fast_compile"] for s in once.stats] == [True]
    assert [s["fast_compile"] for s in many.stats] == [False]
    for a, b in zip(once, many):
        np.testing.assert_allclose(a.history[0]["loss"], b.history[0]["loss"], rtol=1e-4)
        assert a.val["accuracy"] == pytest.approx(b.val["accuracy"], abs=0.01)


@pytest.mark.parametrize("rounds", [0, -2, 1.5, True, "3"])
def test_bad_rounds_fail_before_compiling(digits, rounds):
    with pytest.raises(PopulationConfigError, match="rounds must be a positive integer"):
        train_population(parse(MLP), digits, [cfg()], rounds=rounds)


def test_divergent_member_is_frozen_and_reported(digits):
    configs = [{"optimizer.learning_rate": lr} for lr in (0.05, 1e30, 0.1)]
    r = train_population(parse(SGD), digits, configs, mode="vmap", compact=True)
    assert r[1].failed and "epoch 1" in r[1].message and len(r[1].history) == 1
    assert r[1].val == {} and r[1].test == {}
    for m in (r[0], r[2]):
        assert not m.failed and len(m.history) == 3 and m.val["accuracy"] > 0.6
        assert m.history[-1]["loss"] < m.history[0]["loss"]
    # the failed member left the population: the survivors ran at a smaller size
    assert r.stats[0]["sizes"] == [3, 2, 2] and r.stats[0]["traces"]["epoch"] == 2


def test_tiny_memory_budget_runs_in_chunks_with_the_same_results(digits):
    configs = [{"optimizer.learning_rate": lr, "seed": i}
               for i, lr in enumerate((0.02, 0.05, 0.1, 0.2, 0.3))]
    net = parse(SGD)
    full = train_population(net, digits, configs)
    chunked = train_population(net, digits, configs, memory_budget=200_000)
    plan = chunked.stats[0]["plan"]
    assert plan.n_chunks > 1 and plan.chunk < 5
    assert chunked.stats[0]["traces"]["epoch"] == 1
    for a, b in zip(full, chunked):
        np.testing.assert_allclose([h["loss"] for h in a.history], [h["loss"] for h in b.history],
                                   rtol=1e-5)
        assert a.val["loss"] == pytest.approx(b.val["loss"], rel=1e-4)


def test_sequential_mode_matches_vmap(digits):
    net = parse(SGD)
    configs = [{"optimizer.learning_rate": lr} for lr in (0.05, 0.2)]
    a = train_population(net, digits, configs, mode="vmap")
    b = train_population(net, digits, configs, mode="sequential")
    assert b.stats[0]["mode"] == "sequential" and b.stats[0]["traces"]["epoch"] == 1
    for x, y in zip(a, b):
        np.testing.assert_allclose([h["loss"] for h in x.history], [h["loss"] for h in y.history],
                                   rtol=1e-4)


CNN = """
network TinyCNN {
  input: (8, 8, 1)
  layers:
    Conv2D(4, kernel_size=3, padding="same", activation="relu")
    MaxPooling2D(pool_size=2)
    Flatten()
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-4, 1e-1)))
  train { epochs: 2, batch_size: 64, validation_split: 0.2, seed: 0 }
}
"""


def test_auto_mode_rule():
    net = parse(CNN)
    assert choose_mode(net, platform="cpu") == "sequential_patches"
    assert choose_mode(net, platform="gpu") == "vmap"
    assert choose_mode(parse(MLP), platform="cpu") == "vmap"


def test_conv_as_patches_trains_like_conv(digits):
    net = parse(CNN)
    configs = [{"optimizer.learning_rate": lr} for lr in (3e-3, 1e-2)]
    a = train_population(net, digits, configs, mode="sequential", overrides={"epochs": 1})
    b = train_population(net, digits, configs, mode="auto", overrides={"epochs": 1})
    assert b.stats[0]["mode"] == choose_mode(net) and b.stats[0]["traces"]["epoch"] == 1
    for x, y in zip(a, b):
        assert x.history[0]["loss"] == pytest.approx(y.history[0]["loss"], rel=2e-3)


@pytest.mark.slow
def test_every_conv_mode_agrees(digits):
    net = parse(CNN)
    configs = [{"optimizer.learning_rate": lr} for lr in (3e-3, 1e-2)]
    runs = {m: train_population(net, digits, configs, mode=m)
            for m in ("vmap", "patches", "sequential", "sequential_patches")}
    for m, r in runs.items():
        assert r.stats[0]["traces"]["epoch"] == 1, m
        for x, y in zip(runs["vmap"], r):
            np.testing.assert_allclose([h["loss"] for h in x.history],
                                       [h["loss"] for h in y.history], rtol=2e-3)


def test_successive_halving_compacts_the_population(digits):
    from search.schedulers import SuccessiveHalving

    net = parse(SGD.replace("epochs: 3", "epochs: 4"))
    configs = [{"optimizer.learning_rate": float(lr), "seed": i}
               for i, lr in enumerate(np.geomspace(1e-3, 0.5, 8))]
    full = train_population(net, digits, configs)
    sh = train_population(net, digits, configs, scheduler=SuccessiveHalving(min_resource=1, eta=2),
                          compact=True)
    st = sh.stats[0]
    assert st["sizes"] == [8, 4, 2, 2]
    # one trace per distinct size over both calls: size 8 was compiled by the full run
    # and its program is reused (a search compiles each structure once, not every round)
    assert full.stats[0]["traces"]["epoch"] + st["traces"]["epoch"] == 3
    assert st["member_epochs"] == 16 and full.stats[0]["member_epochs"] == 32
    stopped = [m for m in sh if m.stopped_by == "scheduler"]
    assert len(stopped) == 6 and {m.stopped_epoch for m in stopped} == {1, 2}
    assert all(len(m.history) == m.stopped_epoch for m in stopped)
    best_full = max(m.val["accuracy"] for m in full)
    best_sh = max(m.val["accuracy"] for m in sh)
    assert best_sh >= best_full - 0.01
    # on a task this small a new compilation costs more than the epochs it would save
    auto = train_population(net, digits, configs,
                            scheduler=SuccessiveHalving(min_resource=1, eta=2))
    assert auto.stats[0]["kept_size"] > 0 and auto.stats[0]["traces"]["epoch"] < 3
    assert [m.stopped_epoch for m in auto] == [m.stopped_epoch for m in sh]


def test_rungs_compare_trials_across_rounds_by_trial_id(digits):
    """One scheduler over two rounds: with trial ids the second round is judged against
    every trial that reached the rung; positions alone would let it overwrite the first."""
    from search.schedulers import SuccessiveHalving

    net = parse(SGD)
    good = [{"optimizer.learning_rate": lr, "seed": i} for i, lr in enumerate((0.3, 0.1))]
    poor = [{"optimizer.learning_rate": 1e-4, "seed": i} for i in (2, 3)]
    sh = SuccessiveHalving(min_resource=1, eta=2)
    first = train_population(net, digits, good, scheduler=sh, trial_ids=[0, 1])
    second = train_population(net, digits, poor, scheduler=sh, trial_ids=[2, 3])
    assert sorted(sh._history) == [0, 1, 2, 3]
    assert sum(m.stopped_by == "scheduler" for m in first) == 1  # rung 1 keeps 1 of 2
    # rung 1 now holds four values and keeps two: the first round's
    assert [m.stopped_epoch for m in second] == [1, 1]
    by_position = SuccessiveHalving(min_resource=1, eta=2)
    train_population(net, digits, good, scheduler=by_position)
    again = train_population(net, digits, poor, scheduler=by_position)
    assert sorted(by_position._history) == [0, 1]
    assert sum(m.stopped_by == "scheduler" for m in again) == 1


@pytest.mark.parametrize("ids, words", [([0], "2 distinct ids"),
                                        ([4, 4], "got 2 \\(1 distinct\\)")])
def test_bad_trial_ids_fail_before_compiling(digits, ids, words):
    with pytest.raises(PopulationConfigError, match=words):
        train_population(parse(MLP), digits, [cfg(), cfg(1e-2)], trial_ids=ids)


@pytest.mark.slow
def test_hyperband_brackets_and_patience(digits):
    from search.schedulers import Hyperband

    net = parse(SGD.replace("epochs: 3", "epochs: 4"))
    configs = [{"optimizer.learning_rate": float(lr)} for lr in np.geomspace(1e-3, 0.5, 6)]
    r = train_population(net, digits, configs, scheduler=Hyperband(1, 4, eta=2))
    assert any(m.stopped_by == "scheduler" for m in r) and any(m.stopped_epoch is None for m in r)
    es = parse(SGD.replace("seed: 0 }",
                           "seed: 0, early_stopping { patience: 0, monitor: \"val_loss\" } }")
               .replace("epochs: 3", "epochs: 12"))
    r2 = train_population(es, digits, [{"optimizer.learning_rate": 0.9},
                                       {"optimizer.learning_rate": 1e-3}])
    assert any(m.stopped_by == "patience" for m in r2)


def test_pbt_copies_perturbs_and_records_lineage_without_retracing(digits):
    net = parse(SGD)
    configs = [{"optimizer.learning_rate": float(lr), "seed": i}
               for i, lr in enumerate(np.geomspace(1e-3, 0.3, 4))]
    r = train_population(net, digits, configs, pbt=PBT(interval=1, quantile=0.25, seed=0))
    assert r.stats[0]["traces"]["epoch"] == 1
    events = sorted((e["epoch"], m.index, e) for m in r for e in m.lineage)
    assert [ep for ep, _, _ in events] == [1, 2]  # one loser per step (quantile 0.25 of 4)
    for _, idx, e in events:
        assert e["from"] != idx
        ratio = (e["hyperparams"]["optimizer.learning_rate"]
                 / r[e["from"]].config["optimizer.learning_rate"])
        assert any(ratio == pytest.approx(f ** k, rel=1e-5)
                   for f in (0.8, 1.2) for k in (1, 2)) or ratio > 0
    for m in r:
        if not m.lineage:
            assert m.hyperparams["optimizer.learning_rate"] == pytest.approx(
                configs[m.index]["optimizer.learning_rate"], rel=1e-6)
        else:
            last = m.lineage[-1]["hyperparams"]["optimizer.learning_rate"]
            assert m.hyperparams["optimizer.learning_rate"] == pytest.approx(last, rel=1e-6)


def test_pbt_beats_the_best_fixed_learning_rate(digits):
    net = parse(SGD.replace("log_range(1e-4, 1e30)", "log_range(1e-4, 1.0)")
                .replace("epochs: 3", "epochs: 6"))
    configs = [{"optimizer.learning_rate": float(v), "seed": i}
               for i, v in enumerate(np.geomspace(1e-4, 1.0, 8))]
    fixed = train_population(net, digits, configs)
    pbt = train_population(net, digits, configs, pbt=PBT(interval=2, quantile=0.25, seed=0))
    best_fixed = min(m.val["loss"] for m in fixed if not m.failed)
    best_pbt = min(m.val["loss"] for m in pbt if not m.failed)
    assert best_pbt < 0.95 * best_fixed, (best_pbt, best_fixed)
    # the clipped perturbations stay inside the declared domain
    assert all(1e-4 <= m.hyperparams["optimizer.learning_rate"] <= 1.0 for m in pbt)


BN_CNN = """
network SmallCNN {
  input: (8, 8, 1)
  layers:
    Conv2D(HPO(choice(4, 8)), (3, 3), padding="same", activation="relu")
    BatchNormalization()
    Flatten()
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=ExponentialDecay(HPO(log_range(1e-3, 1e-2)), 100, 0.9))
  train { epochs: 2, batch_size: 32, validation_split: 0.2, seed: 0 }
}
"""


@pytest.mark.parametrize("code", [MLP, BN_CNN], ids=["padded_mlp", "bn_cnn_schedule"])
def test_member_shapes_match_the_init_without_tracing_it(code):
    """The epoch program compiles from these shapes while the init compiles, so they must be
    exactly what the init returns (else the first epoch would compile a second time)."""
    import jax

    from neural_jax.ir.space import search_space
    from neural_jax.jax import build_model
    from neural_jax.population.program import Program

    net = parse(code)
    configs = []
    for i in range(2):
        c = {}
        for p in search_space(net):
            c[p.name] = p.choices[i % len(p.choices)] if p.kind == "categorical" else p.low
        configs.append(c)
    bucket = bucket_configs(net, configs, pad=True, n_train=1000)[0]
    model = build_model(net, bucket.configs[0], pad_widths=bucket.pads)
    prog = Program(bucket, 1000, "vmap").bind(model)
    x0 = np.zeros((32, 8, 8, 1), np.float32)
    hp = {k: np.asarray(v) for k, v in model.hparams(bucket.configs[0]).items()}
    want = jax.eval_shape(lambda s: prog._member_init(s, hp, x0), np.uint32(0))
    got = prog.member_shapes(x0, hp)
    assert jax.tree.structure(got) == jax.tree.structure(want)
    assert [(a.shape, a.dtype) for a in jax.tree.leaves(got)] == \
        [(a.shape, a.dtype) for a in jax.tree.leaves(want)]


def test_first_epoch_runs_the_overlapped_compilation(digits, monkeypatch):
    from neural_jax.population import compiling as pp

    calls = []
    real = pp.OverlappedCompile.__call__

    def spy(self, *args):
        calls.append(self._signature(args) in self._futures)
        return real(self, *args)

    monkeypatch.setattr(pp.OverlappedCompile, "__call__", spy)
    r = train_population(parse(MLP.replace("seed: 1", "seed: 7")), digits,
                         [cfg(units=16), cfg(3e-2, act="tanh")], overrides={"epochs": 2})
    assert calls and calls[0] is True  # the first epoch used the program compiled early
    assert r.stats[0]["traces"]["epoch"] == 1
