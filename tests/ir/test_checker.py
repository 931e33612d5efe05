"""Shape inference: real shapes for every layer kind, errors at the offending layer."""

from __future__ import annotations

import re

import pytest
from layer_samples import sample_call, sample_inputs

from neural_jax import NeuralValidationError, check, parse
from neural_jax.ir import LAYERS, infer_shapes
from neural_jax.ir.checker import configurations


def shapes(text: str, config=None):
    return [r[2] for r in infer_shapes(parse(text), config)]


def one(input_shape: str, layer: str):
    return shapes(f"network S {{ input: {input_shape} layers: {layer} }}")[-1]


@pytest.mark.parametrize("inp,layer,out", [
    ("(28, 28, 1)", "Conv2D(32, 3)", (26, 26, 32)),
    ("(28, 28, 1)", "Conv2D(32, 3, padding='same')", (28, 28, 32)),
    ("(28, 28, 1)", "Conv2D(8, 3, strides=2)", (13, 13, 8)),
    ("(28, 28, 1)", "Conv2D(8, 3, strides=2, padding='same')", (14, 14, 8)),
    ("(28, 28, 1)", "Conv2D(8, (3, 5), strides=(1, 2))", (26, 12, 8)),
    ("(28, 28, 1)", "Conv2D(8, 3, dilation_rate=2)", (24, 24, 8)),
    ("(100, 4)", "Conv1D(6, 5, padding='causal', dilation_rate=4)", (100, 6)),
    ("(100, 4)", "Conv1D(6, 5, strides=3)", (32, 6)),
    ("(8, 16, 16, 1)", "Conv3D(4, 3)", (6, 14, 14, 4)),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, strides=2)", (15, 15, 5)),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, strides=2, padding='same')", (14, 14, 5)),
    ("(9, 9, 3)", "DepthwiseConv2D(3, depth_multiplier=2)", (7, 7, 6)),
    ("(9, 9, 3)", "SeparableConv2D(10, 3, padding='same')", (9, 9, 10)),
    ("(28, 28, 32)", "MaxPooling2D(2)", (14, 14, 32)),
    ("(27, 27, 32)", "MaxPooling2D(2)", (13, 13, 32)),
    ("(27, 27, 32)", "MaxPooling2D(2, padding='same')", (14, 14, 32)),
    ("(27, 27, 32)", "AveragePooling2D(3, strides=2)", (13, 13, 32)),
    ("(50, 8)", "MaxPooling1D(4)", (12, 8)),
    ("(8, 8, 8, 2)", "AveragePooling3D(2)", (4, 4, 4, 2)),
    ("(5, 5, 7)", "GlobalAveragePooling2D()", (7,)),
    ("(5, 7)", "GlobalMaxPooling1D()", (7,)),
    ("(2, 5, 5, 7)", "GlobalMaxPooling3D()", (7,)),
    ("(3, 4, 5)", "Flatten()", (60,)),
    ("(12,)", "Reshape((3, -1))", (3, 4)),
    ("(12,)", "Reshape(target_shape=(2, 2, 3))", (2, 2, 3)),
    ("(12,)", "Dense(5)", (5,)),
    ("(10, 12)", "Dense(5)", (10, 5)),
    ("(20,)", "Embedding(100, 16)", (20, 16)),
    ("(20, 3)", "LSTM(8)", (8,)),
    ("(20, 3)", "GRU(8, return_sequences=true)", (20, 8)),
    ("(20, 3)", "Bidirectional(SimpleRNN(8, return_sequences=true))", (20, 16)),
    ("(20, 3)", "TimeDistributed(Dense(4))", (20, 4)),
    ("(20, 12)", "MultiHeadAttention(2, 6)", (20, 12)),
    ("(20, 12)", "TransformerEncoder(2, 32)", (20, 12)),
    ("(20, 12)", "PositionalEmbedding(32)", (20, 12)),
    ("(4, 4, 8)", "GroupNormalization(4)", (4, 4, 8)),
    ("(4, 4, 8)", "SpatialDropout2D(0.2)", (4, 4, 8)),
    ("(4, 8)", "SpatialDropout1D(0.2)", (4, 8)),
    ("(4, 4, 8)", "ResidualConnection() { Conv2D(16, 3, strides=2, padding='same') }", (2, 2, 16)),
    ("(6,)", "ResidualConnection() { Dense(3) }", (3,)),
])
def test_shape_rules(inp, layer, out):
    assert one(inp, layer) == out


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_runs_its_rule_on_a_legal_input(name):
    """Conformance over the whole registry: a legal call gives a shape of positive dims."""
    tried = []
    for inp in sample_inputs(name):
        try:
            out = one(inp, sample_call(name))
        except NeuralValidationError as e:
            tried.append(str(e))
            continue
        assert all(d is None or d >= 1 for d in out)
        return
    pytest.fail(f"{name} accepted no sample input: {tried}")


@pytest.mark.parametrize("inp,layers,msg,bad_line", [
    ("(28, 28, 1)", "Conv2D(8, 3)\n Dense(10)",
     "Dense at layers[1]: Dense expects a flat input", 2),
    ("(28, 28, 1)", "Conv2D(8, 3)\n LSTM(4)", "expects input of rank 3", 2),
    ("(4, 4, 1)", "Conv2D(8, 5)", "kernel/pool of size 5 does not fit an input of size 4", 1),
    ("(3, 3, 1)", "Conv2D(8, 3, dilation_rate=2)", "size 5 does not fit", 1),
    ("(4, 4, 6)", "GroupNormalization(4)", "groups=4 does not divide the 6 channels", 1),
    ("(12,)", "Reshape((5, 5))", "cannot reshape", 1),
    ("(12,)", "Reshape((5, -1))", "not divisible", 1),
    ("(10, 8)", "PositionalEmbedding(4)", "exceeds PositionalEmbedding max_len=4", 1),
    ("(10, 8)", "Dense(3)\n Embedding(10, 4)", "Embedding must be the first layer", 2),
    ("(10,)", "Output(3)\n Dense(3)", "Output must be the last layer", 1),
    ("(8, 8, 2)", "ResidualConnection() {\n Conv2D(4, 3) }", "no 1x1 projection", 1),
    ("(8, 8, 2)", "ResidualConnection() {\n Flatten() }", "changes the rank", 1),
    ("(8, 8, 2)", "Conv2D(4, (3, 3, 3))", "kernel_size (3, 3, 3) has 3 values", 1),
    ("(10, 8)", "TransformerEncoder(2, 16) {\n Dense(4) }", "must keep the shape", 1),
])
def test_shape_errors_point_at_the_layer(inp, layers, msg, bad_line):
    text = f"network S {{ input: {inp}\n layers:\n {layers}\n}}"
    with pytest.raises(NeuralValidationError, match=re.escape(msg)) as e:
        check(parse(text))
    assert e.value.line == bad_line + 2
    assert e.value.hint and e.value.caret.endswith("^")


def test_hpo_configuration_that_breaks_is_named():
    n = parse("network S { input: (6, 6, 1) layers: Conv2D(4, HPO(choice(3, 7))) Flatten() }")
    with pytest.raises(NeuralValidationError, match="layers\\[0\\].kernel_size=7"):
        check(n)


def test_check_table_shows_ranges_for_searched_dimensions():
    n = parse("network S { input: (8, 8, 1) layers: Conv2D(HPO(choice(4, 8)), 3) Flatten() "
              "Dense(HPO(range(16, 64, step=16))) Dropout(HPO(range(0.1, 0.5))) Output(10) }")
    rep = check(n)
    outs = [r.output for r in rep.rows]
    assert outs == ["(None, 6, 6, 4..8)", "(None, 144..288)", "(None, 16..64)", "(None, 16..64)",
                    "(None, 10)"]
    # dropout's rate cannot change a shape, so it is not enumerated
    assert rep.configs_checked == 4
    assert "layers[0]" in rep.table() and "(None, 8, 8, 1)" in rep.table()


def test_many_choices_fall_back_to_extremes():
    layers = " ".join("Dense(HPO(choice(2, 3, 4, 5)))" for _ in range(6))
    n = parse(f"network S {{ input: (4,) layers: {layers} }}")
    cfgs = configurations(n)
    assert 2 < len(cfgs) < 4 ** 6


def test_layer_choice_branches_are_each_checked():
    n = parse("network S { input: (8, 8, 1) "
              "layers: HPO(choice(Flatten(), Conv2D(2, 3))) Dense(3) }")
    with pytest.raises(NeuralValidationError, match="layers\\[0\\]=1"):
        check(n)


def test_several_inputs_need_a_merge():
    with pytest.raises(NeuralValidationError, match="2 inputs"):
        check(parse("network S { input: (4,), (5,) layers: Dense(3) }"))
