"""IR -> canonical DSL text, and parse(print(ir)) == ir for every example."""

from __future__ import annotations

import pathlib
import warnings

import pytest

from neural_jax import parse, parse_all, to_dsl
from neural_jax.ir.printer import format_value, to_dsl_file

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[2] / "examples").glob("*.neural"))


def _nets(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse_all(path.read_text())


def test_there_are_at_least_twelve_examples():
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_round_trips(path):
    nets = _nets(path)
    text = to_dsl_file(nets)
    again = parse_all(text)
    assert again == nets
    # the canonical text is a fixed point
    assert to_dsl_file(again) == text


@pytest.mark.parametrize("value,text", [
    (3, "3"), (-2, "-2"), (0.5, "0.5"), (1e-4, "0.0001"), (1e-7, "1e-07"), (2.0, "2.0"),
    (True, "true"), (None, "None"), ("relu", '"relu"'), ('a"b\\c\n', r'"a\"b\\c\n"'),
    ((3, 3), "(3, 3)"), ((7,), "(7,)"),
])
def test_values(value, text):
    assert format_value(value) == text


def test_canonical_form():
    n = parse("network A { input: (None, 8) layers: dense(units=4, activation='relu') "
              "output(2) optimizer: 'sgd(0.1, momentum=0.9)' batch_size: 16 }")
    assert to_dsl(n) == (
        "network A {\n"
        "  input: (8,)\n"
        "  layers:\n"
        '    Dense(4, activation="relu")\n'
        "    Output(2)\n"
        "  optimizer: SGD(learning_rate=0.1, momentum=0.9)\n"
        "  train {\n"
        "    batch_size: 16\n"
        "  }\n"
        "}\n")


def test_repeated_groups_print_as_macros_and_keep_sharing():
    text = """define B(f) { Conv2D(f, 3, padding="same") Conv2D(f, 1) }
    network R { input: (8, 8, 3) layers: B(HPO(choice(4, 8))) * 3 Flatten() Dense(2) * 2 }"""
    n = parse(text)
    out = to_dsl(n)
    assert "define Repeat0() {" in out and "Repeat0() * 3" in out and "Dense(2) * 2" in out
    assert 'name="layers[0].filters"' in out  # the second conv of the block shares filters
    assert parse(out) == n


def test_nested_repetition_round_trips():
    text = """define Inner { Dense(4) * 2 Dropout(0.1) }
    network R { input: (8,) layers: Inner() * 3 Output(1) }"""
    n = parse(text)
    assert len(n.layers) == 10
    assert parse(to_dsl(n)) == n
