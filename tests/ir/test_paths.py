"""Every HPO parameter gets a unique, stable path (SPEC §4)."""

from __future__ import annotations

import pathlib

from neural_jax import load, parse
from neural_jax.ir import search_space

EX = pathlib.Path(__file__).resolve().parents[2] / "examples"


def names(n):
    return [p.name for p in search_space(n)]


def test_spec_example_paths():
    import pytest

    from neural_jax import NeuralWarning

    with pytest.warns(NeuralWarning):
        n = load(EX / "spec_example.neural")
    assert names(n) == ["layers[0].filters", "layers[6].units", "layers[6].activation",
                        "layers[7].rate", "optimizer.learning_rate", "train.batch_size"]


def test_block_schedule_and_train_paths():
    n = parse("""network P {
      input: (8, 8, 3)
      layers:
        ResidualConnection() { Conv2D(HPO(choice(3, 6)), 3, padding="same") Conv2D(3, 1) }
        Flatten()
        Output(2)
      optimizer: SGD(learning_rate=ExponentialDecay(HPO(log_range(0.01, 0.1)), 100,
                                                    HPO(range(0.5, 0.9))))
      train { epochs: HPO(range(2, 5)), validation_split: HPO(range(0.1, 0.3)),
              early_stopping { patience: HPO(choice(2, 4)) } }
    }""")
    assert names(n) == ["layers[0].block[0].filters",
                        "optimizer.learning_rate.initial_learning_rate",
                        "optimizer.learning_rate.decay_rate",
                        "train.epochs", "train.validation_split", "train.early_stopping.patience"]


def test_paths_are_stable_across_reparse_and_formatting():
    text = ("network A { input: (4,) layers: Dense(HPO(choice(2, 4))) "
            "Dropout(HPO(range(0.0, 0.5))) }")
    spaced = text.replace("(", " ( ").replace(")", " ) ").replace(" ( ", "(")
    assert names(parse(text)) == names(parse(spaced)) == ["layers[0].units", "layers[1].rate"]


def test_conditional_parameters_of_choices():
    n = load(EX / "layer_choice.neural")
    space = {p.name: p for p in search_space(n)}
    assert space["layers[1]"].choices == ("Dense", "Dropout")
    assert space["layers[1].choice[0].units"].condition == (("layers[1]", "Dense"),)
    assert space["layers[1].choice[1].rate"].condition == (("layers[1]", "Dropout"),)
    assert space["optimizer"].choices == ("Adam", "SGD")
    assert space["optimizer.choice[1].momentum"].condition == (("optimizer", "SGD"),)
    assert space["train.epochs"].kind == "int"


def test_named_hpo_ties_places_together():
    n = parse("network T { input: (4,) layers: Dense(HPO(choice(8, 16), name='width')) "
              "Dense(HPO(choice(8, 16), name='width')) Output(1) }")
    a, b = n.layers[0].get("units"), n.layers[1].get("units")
    assert a is b and a.path == "width"
    assert names(n) == ["width"]
