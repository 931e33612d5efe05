"""validate_config: the one check of a configuration every entry point shares."""

from __future__ import annotations

import pytest

from neural_jax import parse
from neural_jax.ir.config import ConfigError, config_labels, validate_config
from neural_jax.ir.defaults import default_config
from neural_jax.ir.plan import plan_network
from neural_jax.train.spec import bind_config, training_spec

CHOICES = """
network Choices {
  input: (64,)
  layers:
    Dense(32, activation=HPO(choice("relu", "tanh")))
    HPO(choice(Dense(HPO(choice(16, 32)), activation="relu"), Dropout(HPO(range(0.1, 0.5)))))
    Output(10, activation="softmax")
  optimizer: HPO(choice(Adam(learning_rate=HPO(log_range(1e-4, 1e-2))), SGD(learning_rate=0.1)))
  train {
    epochs: HPO(range(1, 5))
    batch_size: HPO(choice(32, 64))
    validation_split: HPO(range(0.1, 0.3, step=0.1))
  }
}
"""


@pytest.fixture(scope="module")
def net():
    return parse(CHOICES)


@pytest.mark.parametrize("value", ["Dropout", "dropout", 1, 1.0, "Dropout(HPO(range(0.1, 0.5)))"])
def test_layer_choice_labels_become_indices(net, value):
    assert validate_config(net, {"layers[1]": value}) == {"layers[1]": 1}
    plan = plan_network(net, bind_config(net, {"layers[1]": value}))
    assert [p.type for p in plan.layers] == ["Dense", "Dropout", "Output"]


def test_optimizer_labels_and_plain_choices(net):
    cfg = validate_config(net, {"optimizer": "sgd", "layers[0].activation": "TANH",
                                "train.batch_size": 64.0, "train.epochs": 3.0, "seed": 7})
    assert cfg == {"optimizer": 1, "layers[0].activation": "tanh", "train.batch_size": 64,
                   "train.epochs": 3, "seed": 7}
    assert isinstance(cfg["train.epochs"], int)
    spec = training_spec(net, bind_config(net, {"optimizer": "SGD"}))
    assert spec.optimizer == "SGD" and spec.optimizer_args["learning_rate"] == 0.1
    assert config_labels(net, cfg)["optimizer"] == "SGD"


def test_canonical_configs_pass_unchanged(net):
    full = default_config(net)
    assert validate_config(net, full) == full


def test_aliases_and_fixed_optimizer_arguments():
    n = parse("network N { input: (4,) layers: Output(2) optimizer: SGD(learning_rate=0.1) }")
    assert validate_config(n, {"learning_rate": 0.5}) == {"optimizer.learning_rate": 0.5}
    assert validate_config(n, {"optimizer.momentum": 0.9}) == {"optimizer.momentum": 0.9}
    with pytest.raises(ConfigError, match="has no argument 'momentun'. Did you mean 'momentum'"):
        validate_config(n, {"optimizer.momentun": 0.9})
    with pytest.raises(ConfigError, match=r"'optimizer.momentum' must be in \[0, 1\), got 1.5"):
        validate_config(n, {"optimizer.momentum": 1.5})
    with pytest.raises(ConfigError, match="float32 range"):
        validate_config(n, {"optimizer.learning_rate": 10 ** 400})


@pytest.mark.parametrize("config, words", [
    ({"layers[2]": "Dropout"}, ["'layers[2]' is not a searched parameter",
                                "Did you mean 'layers[1]'",
                                "known keys: layers[0].activation, layers[1]"]),
    ({"layers[1]": "Conv2D"}, ["'Conv2D' is not an option of 'layers[1]'", "'Dense', 'Dropout'"]),
    ({"layers[1]": 2}, ["2 is not an option", "index 0..1"]),
    ({"layers[1].choice[1].rate": 1.5}, ["= 1.5 is outside its domain", "[0.1, 0.5]"]),
    ({"train.epochs": 2.5}, ["takes a whole number, got 2.5", "[1, 5]"]),
    ({"train.epochs": "ten"}, ["takes a number, got 'ten'"]),
    ({"train.epochs": True}, ["takes a number, got True"]),
    ({"train.validation_split": 0.15}, ["is not on its grid", "steps of 0.1"]),
    ({"train.batch_size": 48}, ["48 is not an option", "32, 64"]),
    ({"layers[0].activation": "swishy"}, ["'swishy' is not an option"]),
    ({"seed": -1}, ["'seed' must be a non-negative whole number"]),
    ({"optimizer.choice[0].learning_rate": float("nan")}, ["takes a number, got nan"]),
    ({"train.epochs": 10 ** 400}, ["'train.epochs' takes a number"]),
])
def test_bad_configurations_name_key_and_domain(net, config, words):
    with pytest.raises(ConfigError) as info:
        validate_config(net, config, where="--params")
    text = info.value.format()
    assert text.startswith("error: --params: ")
    for w in words:
        assert w in text, text


def test_not_a_mapping(net):
    with pytest.raises(ConfigError, match="a configuration is a dict"):
        validate_config(net, [("layers[1]", 0)])


def test_a_network_without_search_says_so():
    n = parse("network N { input: (4,) layers: Dense(3) Output(2) }")
    with pytest.raises(ConfigError) as info:
        validate_config(n, {"layers[0].units": 8})
    assert "no HPO(...) values" in info.value.hint


def test_trainer_and_bridges_refuse_bad_configs(net):
    from neural_jax.population.trainer import Trainer

    with pytest.raises(ConfigError, match="outside its domain"):
        Trainer(net, {"layers[1].choice[1].rate": 1.5})
    torch_model = pytest.importorskip("bridges.torch.model")
    with pytest.raises(ConfigError, match="not an option"):
        torch_model.build_module(net, {"layers[1]": "Conv2D"})
    module = torch_model.build_module(net, {"layers[1]": "Dropout"})
    names = [type(m).__name__ for m in module.modules()]
    assert names[1:] == ["DenseLayer", "DropoutLayer", "DenseLayer"]


def test_active_keys_follow_the_chosen_options(net):
    from neural_jax.ir.config import active_keys

    full = bind_config(net, {"layers[1]": "Dropout", "optimizer": "SGD"})
    keys = active_keys(net, full)
    assert "layers[1].choice[1].rate" in keys and "layers[1].choice[0].units" not in keys
    assert "optimizer.choice[0].learning_rate" not in keys and "train.epochs" in keys
