"""The settings object of a population run, and the single trainer as a population of one."""

from __future__ import annotations

import numpy as np
import pytest

from neural_jax import parse
from neural_jax.data import load as load_dataset
from neural_jax.population import MemberResult, PopulationOptions, train_population
from neural_jax.population.bucket import PopulationConfigError
from neural_jax.population.trainer import Trainer

MLP = """
network M {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(32, activation="relu")
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-3, 1e-1)))
  train { epochs: 3, batch_size: 32, validation_split: 0.2, seed: 0 }
}
"""


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_options_object_and_keywords_train_the_same(digits):
    net = parse(MLP)
    configs = [{"optimizer.learning_rate": lr, "seed": i} for i, lr in enumerate((3e-3, 3e-2))]
    seen = []
    by_kw = train_population(net, digits, configs, mode="vmap", overrides={"epochs": 2},
                             on_epoch=lambda e, recs: seen.append((e, sorted(recs))))
    opts = PopulationOptions(mode="vmap", overrides={"epochs": 2})
    by_obj = train_population(net, digits, configs, opts)
    assert seen == [(1, [0, 1]), (2, [0, 1])]
    for a, b in zip(by_kw, by_obj, strict=True):
        assert isinstance(a, MemberResult)
        assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
        assert a.val == b.val and len(a.history) == 2
    assert by_obj[1].val["accuracy"] > 0.8
    # keywords given with an options object override its fields
    longer = train_population(net, digits, configs[:1], opts, overrides={"epochs": 3})
    assert len(longer[0].history) == 3
    assert longer[0].history[1]["loss"] == by_obj[0].history[1]["loss"]


@pytest.mark.parametrize("bad, words", [
    ({"mode": "fast"}, "unknown mode"),
    ({"rounds": 0}, "rounds must be a positive integer"),
    ({"compact": "yes"}, "compact must be"),
])
def test_bad_options_are_population_config_errors(bad, words):
    with pytest.raises(PopulationConfigError, match=words):
        PopulationOptions(**bad)


def test_trial_ids_must_be_one_distinct_id_per_configuration(digits):
    with pytest.raises(PopulationConfigError, match="trial_ids must give 2 distinct ids"):
        train_population(parse(MLP), digits, [{}, {}], trial_ids=[4, 4])
    with pytest.raises(TypeError):
        train_population(parse(MLP), digits, [{}], population=3)


def test_the_trainer_is_a_population_of_one(digits):
    net = parse(MLP)
    config = {"optimizer.learning_rate": 0.01}
    single = Trainer(net, config).fit(digits)
    (member,) = train_population(net, digits, [config], pad=False, keep_variables=True)
    assert [h["loss"] for h in single.history] == [h["loss"] for h in member.history]
    assert single.val == member.val and single.test == member.test
    assert single.best_epoch == member.best_epoch == 3
    np.testing.assert_array_equal(np.asarray(single.variables["params"]["layers_1"]["kernel"]),
                                  np.asarray(member.variables["params"]["layers_1"]["kernel"]))


def test_a_diverged_epoch_is_recorded_as_the_single_run_loop_records_it(digits):
    net = parse(MLP)
    (r,) = train_population(net, digits, [{"optimizer.learning_rate": 0.01}],
                            overrides={"epochs": 1})
    ok = r.history[0]
    assert list(ok) == ["epoch", "loss", "accuracy", "val_accuracy", "val_loss", "seconds"]
    single = Trainer(parse(MLP.replace("HPO(log_range(1e-3, 1e-1))", "1e30").replace(
        "Adam(", "SGD(")), overrides={"epochs": 2}).fit(digits)
    assert single.failed and single.message == "the training loss became nan in epoch 1"
    assert [list(h) for h in single.history] == [["epoch", "loss", "accuracy"]]
