"""Search spaces: DSL HPO expressions and `search_space=` dicts bound to paths and aliases."""

from __future__ import annotations

import pathlib
import warnings

import pytest

from neural_jax import NeuralValidationError, NeuralWarning, bind_search_space, load, parse
from neural_jax.ir import search_space, to_space_dict

EX = pathlib.Path(__file__).resolve().parents[2] / "examples"
SEED = (EX / "mnist_cnn.neural").read_text()
SEED_SPACE = {
    "learning_rate": {"type": "float", "min": 0.0001, "max": 0.01, "log": True},
    "batch_size": {"type": "categorical", "values": [32, 64, 128, 256]},
    "dropout_rate": {"type": "float", "min": 0.1, "max": 0.5},
}


def test_space_of_an_example_has_kinds_bounds_steps_and_log():
    n = load(EX / "digits_mlp.neural")
    d = to_space_dict(search_space(n))
    assert d == {
        "layers[1].units": {"type": "categorical", "values": [32, 64, 128]},
        "layers[1].activation": {"type": "categorical", "values": ["relu", "gelu", "tanh"]},
        "layers[2].rate": {"type": "float", "min": 0.0, "max": 0.4},
        "layers[3].units": {"type": "int", "min": 16, "max": 64, "step": 16},
        "optimizer.learning_rate": {"type": "float", "min": 1e-4, "max": 3e-2, "log": True},
    }


def test_seed_dict_binds_aliases_and_warns_for_unbound_keys():
    net = parse(SEED)
    with pytest.warns(NeuralWarning, match="'dropout_rate' binds to nothing"):
        params = bind_search_space(net, SEED_SPACE)
    by = {p.name: p for p in params}
    assert set(by) == {"optimizer.learning_rate", "train.batch_size"}
    assert by["optimizer.learning_rate"].log and by["optimizer.learning_rate"].origin == "dict"
    assert by["train.batch_size"].choices == (32, 64, 128, 256)


def test_dropout_rate_binds_every_dropout_layer():
    net = parse("network D { input: (4,) layers: "
                "Dense(8) Dropout(0.1) Dense(8) Dropout(0.2) Output(1) }")
    (p,) = bind_search_space(net, {"dropout_rate": {"type": "float", "min": 0.0, "max": 0.5}})
    assert p.name == "dropout_rate" and p.targets == ("layers[1].rate", "layers[3].rate")


def test_union_with_dsl_and_dict_wins_on_the_same_path():
    net = load(EX / "digits_mlp.neural")
    space = {"learning_rate": {"type": "float", "min": 1e-3, "max": 1e-1, "log": True},
             "layers[4].units": {"type": "categorical", "values": [10]}}
    with pytest.warns(NeuralWarning,
                      match="replaces the HPO expression at optimizer.learning_rate"):
        params = bind_search_space(net, space)
    by = {p.name: p for p in params}
    lr = by["optimizer.learning_rate"]
    assert lr.low == 1e-3 and lr.origin == "dict"
    assert "layers[1].units" in by and by["layers[4].units"].choices == (10,)
    assert len(by) == 6


def test_optimizer_alias_and_conditions():
    """The seed's conditional form: momentum applies when the search picks SGD."""
    net = parse(SEED)
    params = bind_search_space(net, {
        "optimizer": {"type": "categorical", "values": ["Adam", "SGD"]},
        "momentum": {"type": "float", "min": 0.8, "max": 0.99, "condition": {"optimizer": "SGD"}},
    })
    by = {p.name: p for p in params}
    assert by["optimizer"].choices == ("Adam", "SGD") and by["optimizer"].targets == ("optimizer",)
    assert by["optimizer.momentum"].condition == (("optimizer", "SGD"),)
    with pytest.raises(NeuralValidationError, match="momentum must be in"):
        bind_search_space(net, {"momentum": {"type": "float", "min": 0.5, "max": 1.5}})


@pytest.mark.parametrize("entry,msg", [
    ({"type": "float", "min": 1.0, "max": 0.1}, "min must be < max"),
    ({"type": "float", "min": 0.0, "max": 0.1, "log": True}, "log scale needs min > 0"),
    ({"type": "floaty", "min": 0.0, "max": 0.1}, "unknown type 'floaty'"),
    ({"type": "categorical", "values": []}, "non-empty 'values'"),
    ({"type": "int", "min": 1, "max": 10, "step": 0}, "step must be in"),
    ({"type": "float", "min": 0.0, "max": float("nan")}, "finite number"),
    ("0.1", "expected a dict"),
])
def test_malformed_dict_entries(entry, msg):
    net = parse(SEED)
    with pytest.raises(NeuralValidationError, match=msg) as e:
        bind_search_space(net, {"learning_rate": entry})
    assert "learning_rate" in str(e.value) and e.value.hint


def test_dict_values_are_checked_against_the_target_domain():
    net = parse("network D { input: (4,) layers: Dense(8) Dropout(0.1) Output(1) }")
    with pytest.raises(NeuralValidationError, match="rate must be in \\[0, 1\\)"):
        bind_search_space(net, {"dropout_rate": {"type": "float", "min": 0.1, "max": 1.5}})
    with pytest.raises(NeuralValidationError, match="takes whole numbers"):
        bind_search_space(net, {"layers[0].units": {"type": "float", "min": 1, "max": 8}})
    with pytest.raises(NeuralValidationError, match="optimizer names"):
        bind_search_space(net, {"optimizer": {"type": "categorical", "values": ["Adamm"]}})


def test_no_dict_gives_the_dsl_space():
    net = load(EX / "digits_mlp.neural")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bind_search_space(net, None) == search_space(net)
