"""Every form of SPEC §1-§4 parses to the syntax tree / IR we expect."""

from __future__ import annotations

import pytest

from neural_jax import parse, parse_all
from neural_jax.dsl import ast
from neural_jax.dsl.parser import grammar_text, parse_ast
from neural_jax.ir import Choice, Layer, LogRange, Range

BASE = """
network N {{
  input: (8,)
  layers:
    {layers}
  {rest}
}}
"""


def net(layers: str = "Dense(4)", rest: str = ""):
    return parse(BASE.format(layers=layers, rest=rest))


def test_grammar_is_generic():
    g = grammar_text()
    # no layer, optimizer or section name is a token of the grammar
    for word in ("Dense", "Conv2D", "Adam", "epochs", "batch_size", '"layers"', '"input"'):
        assert word not in g


def test_comments_both_styles_and_spans():
    text = "# hash\n// slashes\nnetwork A { // trailing\n input: (3,) # x\n layers: Dense(2) }\n"
    f = parse_ast(text)
    (n,) = f.networks
    assert n.name == "A"
    layers = [e for e in n.entries if e.key == "layers"][0]
    call = layers.items[0].value
    assert isinstance(call, ast.Call) and call.name == "Dense"
    assert (call.span.line, call.span.column) == (5, 10)
    assert text[call.span.start:call.span.end] == "Dense(2)"


@pytest.mark.parametrize("lit,expected", [
    ('"relu"', "relu"), ("'relu'", "relu"), (r'"a\"b"', 'a"b'), (r"'it\'s'", "it's"),
    (r'"tab\there"', "tab\there"), (r'"back\\slash"', "back\\slash"), (r'"\u00e9"', "\u00e9"),
])
def test_string_quotes_and_escapes(lit, expected):
    f = parse_ast(f"network A {{ input: (1,) layers: Activation({lit}) }}")
    call = f.networks[0].entries[1].items[0].value
    assert call.args[0].value.value == expected


@pytest.mark.parametrize("lit,expected", [
    ("1e-4", 1e-4), (".5", 0.5), ("5.", 5.0), ("-3", -3), ("+2", 2), ("1E3", 1000.0),
    ("true", True), ("False", False), ("TRUE", True), ("None", None), ("(3, 3)", (3, 3)),
    ("(3,)", (3,)), ("[32, 64]", (32, 64)), ("()", ()), ("(7)", 7),
])
def test_literals(lit, expected):
    f = parse_ast(f"network A {{ input: (1,) layers: X(v={lit}) }}")
    v = f.networks[0].entries[1].items[0].value.args[0].value
    if isinstance(v, (ast.TupleNode, ast.ListNode)):
        got = tuple(x.value for x in v.items)
    else:
        got = v.value
    assert got == expected and type(got) is type(expected)


def test_free_section_order_and_key_spacing():
    a = parse("network A { input: (4,) layers: Dense(2) optimizer: SGD() loss: 'mse' }")
    b = parse("network A { loss : 'mse'\n optimizer :SGD()\n layers :\n Dense(2)\n input:(4,) }")
    assert a == b


def test_train_block_commas_optional_and_execute_synonym():
    a = net(rest="train { epochs: 3, batch_size: 16, validation_split: 0.1 } "
                 "execution { device: 'cpu' }")
    b = net(rest="train { epochs: 3 batch_size: 16\n validation_split: 0.1 } "
                 "execute { device: 'cpu' }")
    assert a == b
    assert a.train.epochs == 3 and a.train.batch_size == 16 and a.train.validation_split == 0.1
    assert a.execution.device == "cpu"


def test_batch_size_top_level_or_in_train():
    a = net(rest="batch_size: 32")
    b = net(rest="train { batch_size: 32 }")
    assert a.train.batch_size == b.train.batch_size == 32


def test_batch_size_in_both_places_train_wins_with_warning():
    from neural_jax import NeuralWarning

    with pytest.warns(NeuralWarning, match="train {} value is used"):
        n = net(rest="batch_size: 32\n train { batch_size: 64 }")
    assert n.train.batch_size == 64


def test_metrics_list_and_call():
    n = net(rest='metrics: ["accuracy", top_k_accuracy(k=3), "loss"]')
    assert [m.name for m in n.metrics] == ["accuracy", "top_k_accuracy", "loss"]
    assert n.metrics[1].params == (("k", 3),)


def test_several_networks_per_file():
    nets = parse_all("network A { input: (2,) layers: Dense(1) }\n"
                     "network B { input: (3,) layers: Dense(2) }")
    assert [n.name for n in nets] == ["A", "B"]
    assert parse("network A { input: (2,) layers: Dense(1) }\n"
                 "network B { input: (3,) layers: Dense(2) }",
                 network="B").input_shape == (3,)


def test_leading_none_is_batch_and_several_inputs():
    n = parse("network A { input: (None, 28, 28) layers: Flatten() }")
    assert n.input_shape == (28, 28)
    m = parse("network A { input: (32,), (10,) layers: Dense(1) }")
    assert m.input_shapes == ((32,), (10,))
    assert parse("network A { input: 784 layers: Dense(1) }").input_shape == (784,)


def test_names_are_case_insensitive_and_normalised():
    n = net(layers="dense(4, activation='RELU')\n DROPOUT(0.1)",
            rest="optimizer: adamw() loss: MSE")
    assert [layer.type for layer in n.layers] == ["Dense", "Dropout"]
    assert n.layers[0].get("activation") == "relu"
    assert n.optimizer.type == "AdamW" and n.loss.name == "mse"


def test_positional_and_named_arguments_are_the_same():
    a = parse("network A { input: (8, 8, 3) layers: Conv2D(16, 3, 2, 'same', 'relu') }")
    b = parse("network A { input: (8, 8, 3) layers: Conv2D(filters=16, kernel_size=3, strides=2, "
              "padding='same', activation='relu') }")
    assert a == b
    assert a.layers[0].params == (("filters", 16), ("kernel_size", 3), ("strides", 2),
                                  ("padding", "same"), ("activation", "relu"))


def test_defaults_are_filled_on_request():
    n = parse("network A { input: (8, 8, 1) layers: Conv2D(8, 3) }").layers[0]
    assert n.params == (("filters", 8), ("kernel_size", 3))
    assert n.get("padding") == "valid" and n.get("strides") == 1
    assert n.args["activation"] is None


def test_device_placement():
    n = net(layers='Dense(4) @ "gpu:1"\n Dense(2) @ "CPU"')
    assert [layer.device for layer in n.layers] == ["gpu:1", "cpu"]


def test_quoted_and_bare_optimizer_mean_the_same():
    a = net(rest='optimizer: "Adam(learning_rate=1e-4)"')
    b = net(rest="optimizer: Adam(learning_rate=1e-4)")
    c = net(rest="optimizer: Adam")
    d = net(rest="optimizer: Adam()")
    assert a == b and c == d
    assert a.optimizer.get("learning_rate") == 1e-4


def test_quoted_optimizer_keeps_positions_for_errors():
    from neural_jax import NeuralValidationError

    with pytest.raises(NeuralValidationError) as e:
        net(rest='optimizer: "Adam(learning_rat=1e-4)"')
    assert e.value.line == 6 and "did you mean 'learning_rate'" in e.value.hint
    assert e.value.source_line[e.value.column - 1:].startswith("learning_rat")


def test_schedule_as_learning_rate():
    n = net(rest="optimizer: SGD(learning_rate=ExponentialDecay(0.1, 1000, "
                 "HPO(range(0.8, 0.99))), momentum=0.9)")
    lr = n.optimizer.get("learning_rate")
    assert lr.type == "ExponentialDecay" and lr.get("decay_steps") == 1000
    rate = lr.get("decay_rate")
    assert isinstance(rate, Range) and rate.path == "optimizer.learning_rate.decay_rate"


def test_nested_blocks():
    n = parse("""network R { input: (8, 8, 4) layers:
      ResidualConnection() {
        Conv2D(4, 3, padding="same")
        ResidualConnection() { Conv2D(4, 1) }
      }
    }""")
    outer = n.layers[0]
    assert outer.block[1].type == "ResidualConnection"
    assert outer.block[1].block[0].path == "layers[0].block[1].block[0]"


def test_wrapped_layers():
    n = parse("network S { input: (10, 4) layers: "
              "Bidirectional(LSTM(HPO(choice(8, 16)), return_sequences=true)) "
              "TimeDistributed(Dense(3)) }")
    inner = n.layers[0].get("layer")
    assert isinstance(inner, Layer) and inner.type == "LSTM"
    assert inner.get("units").path == "layers[0].layer.units"


def test_early_stopping_forms():
    a = net(rest='train { early_stopping { patience: 3, monitor: "val_accuracy" } }')
    b = net(rest='train { early_stopping: EarlyStopping(patience=3, monitor="val_accuracy") }')
    c = net(rest="train { early_stopping: 3 }")
    assert a.train.early_stopping == b.train.early_stopping
    assert c.train.early_stopping.patience == 3 and c.train.early_stopping.monitor == "val_loss"


def test_hpo_forms_are_typed_nodes():
    n = net(layers="Dense(HPO(range(8, 64, step=8)), activation=HPO(choice('relu', 'tanh')))\n"
                   " Dropout(HPO(range(0.1, 0.5)))\n Dense(HPO(log_range(8, 256)))",
            rest="optimizer: Adam(learning_rate=HPO(log_range(1e-4, 1e-2)))")
    units = n.layers[0].get("units")
    assert isinstance(units, Range) and units.is_int and units.step == 8
    assert (units.low, units.high) == (8, 64)
    act = n.layers[0].get("activation")
    assert isinstance(act, Choice) and act.values == ("relu", "tanh")
    rate = n.layers[1].get("rate")
    assert isinstance(rate, Range) and not rate.is_int
    wide = n.layers[2].get("units")
    assert isinstance(wide, LogRange) and wide.is_int
    lr = n.optimizer.get("learning_rate")
    assert isinstance(lr, LogRange) and not lr.is_int and lr.path == "optimizer.learning_rate"


def test_choice_of_tuples_and_bools():
    n = parse("network A { input: (8, 8, 1) layers: Conv2D(4, HPO(choice((3, 3), (5, 5))), "
              "use_bias=HPO(choice(true, false))) }")
    assert n.layers[0].get("kernel_size").values == ((3, 3), (5, 5))
    assert n.layers[0].get("use_bias").values == (True, False)
