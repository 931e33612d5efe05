"""generate_optimized_dsl writes the best values in place and leaves every other byte."""

from __future__ import annotations

import difflib
import pathlib
import warnings

import pytest

from neural_jax import NeuralValidationError, NeuralWarning, generate_optimized_dsl, parse
from neural_jax.ir import search_space

EX = pathlib.Path(__file__).resolve().parents[2] / "examples"


def changed_lines(a: str, b: str) -> list[str]:
    return [line for line in difflib.ndiff(a.splitlines(), b.splitlines())
            if line[:2] in ("- ", "+ ")]


def test_hpo_expressions_replaced_comments_untouched():
    code = (EX / "digits_mlp.neural").read_text()
    best = {"layers[1].units": 128, "layers[1].activation": "gelu", "layers[2].rate": 0.125,
            "layers[3].units": 48, "optimizer.learning_rate": 0.003}
    out = generate_optimized_dsl(code, best)
    assert "HPO" not in out
    assert out.startswith("// A small MLP for scikit-learn's 8x8 digits")
    assert 'Dense(128, activation="gelu")' in out and "Dropout(0.125)" in out
    assert "Dense(48, activation=\"relu\")" in out and "Adam(learning_rate=0.003)" in out
    assert len(changed_lines(code, out)) == 2 * 4  # four lines changed, nothing else
    n = parse(out)
    assert search_space(n) == ()


def test_seed_usage_with_aliases_on_fixed_values():
    code = (EX / "mnist_cnn.neural").read_text()
    with pytest.warns(NeuralWarning, match="dropout_rate"):
        out = generate_optimized_dsl(code, {"learning_rate": 0.0042, "batch_size": 128,
                                            "dropout_rate": 0.3})
    assert "optimizer: Adam(learning_rate=0.0042)" in out
    assert "  batch_size: 128\n" in out
    assert len(changed_lines(code, out)) == 4


def test_missing_values_are_inserted():
    code = ("network A {\n  input: (4,)\n  layers:\n    Dense(8)\n    Output(1)\n"
            "  optimizer: Adam()\n}\n")
    out = generate_optimized_dsl(code, {"learning_rate": 0.01, "layers[0].activation": "relu",
                                        "epochs": 7, "batch_size": 32})
    n = parse(out)
    assert n.optimizer.get("learning_rate") == 0.01
    assert n.layers[0].get("activation") == "relu"
    assert n.train.epochs == 7 and n.train.batch_size == 32


def test_inserted_into_existing_train_block():
    code = "network A { input: (4,) layers: Dense(1)\n  train {\n    epochs: 2\n  }\n}"
    out = generate_optimized_dsl(code, {"batch_size": 16})
    assert parse(out).train.batch_size == 16 and parse(out).train.epochs == 2


def test_macro_argument_and_repetition_substituted_at_call_site():
    code = (EX / "spec_example.neural").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = generate_optimized_dsl(code, {"layers[0].filters": 64, "train.batch_size": 32})
    assert "ConvBlock(filters=64) * 2 # repetition" in out
    assert "batch_size: 32\n" in out
    assert "# comments: '#' or '//' to end of line" in out


def test_layer_and_optimizer_choice_pick_the_option_text():
    code = (EX / "layer_choice.neural").read_text()
    out = generate_optimized_dsl(code, {"layers[1]": "Dropout", "layers[1].choice[1].rate": 0.3,
                                        "optimizer": "SGD", "optimizer.choice[1].momentum": 0.9,
                                        "train.epochs": 12, "train.batch_size": 64,
                                        "train.validation_split": 0.2})
    n = parse(out)
    assert n.layers[1].type == "Dropout" and n.layers[1].get("rate") == 0.3
    assert n.optimizer.type == "SGD" and n.optimizer.get("momentum") == 0.9
    assert search_space(n) == ()


def test_shared_parameter_is_written_everywhere():
    code = (EX / "resnet_blocks.neural").read_text()
    out = generate_optimized_dsl(code, {"layers[7].block[0].filters": 128})
    assert "ResBlock(128, strides=2)" in out


def test_numpy_values_and_bad_values():
    import numpy as np

    code = (EX / "digits_mlp.neural").read_text()
    out = generate_optimized_dsl(code, {"layers[3].units": np.int64(32),
                                        "layers[2].rate": np.float32(0.25)})
    assert "Dense(32, activation" in out and "Dropout(0.25)" in out
    with pytest.raises(NeuralValidationError, match="rate must be in"):
        generate_optimized_dsl(code, {"layers[2].rate": 1.5})
    with pytest.warns(NeuralWarning, match="matches nothing"):
        generate_optimized_dsl(code, {"no_such_param": 1})


def test_layer_choice_written_back_from_any_label():
    from neural_jax import generate_optimized_dsl

    code = ("network N {\n  input: (8,)\n  layers:\n"
            "    HPO(choice(Dense(4), Dropout(HPO(range(0.1, 0.5)))))\n    Output(2)\n}\n")
    for value in ("Dropout", "dropout", 1, "Dropout(HPO(range(0.1, 0.5)))"):
        out = generate_optimized_dsl(code, {"layers[0]": value, "layers[0].choice[1].rate": 0.2})
        assert "    Dropout(0.2)\n" in out, out
