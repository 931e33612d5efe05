"""Macros expand in their own pass; repetition makes deep copies sharing one parameter."""

from __future__ import annotations

import pytest

from neural_jax import NeuralValidationError, parse
from neural_jax.dsl import ast, expand_macros, parse_ast
from neural_jax.ir import Choice, search_space

MACROS = """
define ConvBlock(filters=32, k=3) {
  Conv2D(filters, kernel_size=k, padding="same", activation="relu")
  BatchNormalization()
}
define Stage(f) {
  ConvBlock(f, k=1) * 2
  MaxPooling2D(2)
}
network M {
  input: (16, 16, 3)
  layers:
    ConvBlock(filters=HPO(choice(32, 64))) * 2
    Stage(HPO(range(8, 16, step=8)))
    ConvBlock()
    Flatten()
    Output(10)
}
"""


def test_expansion_is_a_separate_pass():
    f = parse_ast(MACROS)
    before = f.networks[0].entries[1].items[0].value
    assert isinstance(before, ast.Call) and before.name == "ConvBlock"
    g = expand_macros(f)
    after = g.networks[0].entries[1].items[0].value
    assert isinstance(after, ast.Group) and after.macro == "ConvBlock"
    assert [i.value.name for i in after.items] == ["Conv2D", "BatchNormalization"]


def test_macro_parameters_defaults_and_nesting():
    n = parse(MACROS)
    types = [layer.type for layer in n.layers]
    assert types == ["Conv2D", "BatchNormalization"] * 2 + ["Conv2D", "BatchNormalization"] * 2 + \
        ["MaxPooling2D", "Conv2D", "BatchNormalization", "Flatten", "Output"]
    # default filters=32, k=3 on the plain call
    last_conv = n.layers[9]
    assert last_conv.get("filters") == 32 and last_conv.get("kernel_size") == 3
    # nested macro: k=1 passed through Stage -> ConvBlock
    assert n.layers[4].get("kernel_size") == 1


def test_repetition_copies_share_one_parameter_with_the_first_path():
    n = parse(MACROS)
    a, b = n.layers[0].get("filters"), n.layers[2].get("filters")
    assert isinstance(a, Choice) and a is b and a.path == "layers[0].filters"
    assert n.layers[0].path == "layers[0]" and n.layers[2].path == "layers[2]"
    assert [layer.repeat for layer in n.layers[:4]] == [((0, 0, 2),), ((0, 0, 2),),
                                                       ((0, 1, 2),), ((0, 1, 2),)]
    names = [p.name for p in search_space(n)]
    assert names == ["layers[0].filters", "layers[4].filters"]


def test_repetition_copies_are_independent_layers():
    n = parse("network R { input: (8,) layers: Dense(4) * 3 Output(1) }")
    assert [layer.path for layer in n.layers] == ["layers[0]", "layers[1]", "layers[2]",
                                                  "layers[3]"]
    assert n.layers[0] is not n.layers[1]
    assert n.layers[0].params == n.layers[1].params


def test_macro_without_parameters_and_bare_call():
    n = parse("define Head { Flatten() Dense(3) }\nnetwork A { input: (2, 2) layers: Head Head() }")
    assert [layer.type for layer in n.layers] == ["Flatten", "Dense", "Flatten", "Dense"]


def test_hpo_in_macro_argument_keeps_call_site_span():
    n = parse(MACROS)
    h = n.layers[0].get("filters")
    line = MACROS.split("\n")[h.span.line - 1]
    assert "HPO(choice(32, 64))" in line and h.span.line == 13


def test_device_on_a_macro_call_applies_to_its_layers():
    n = parse('define B { Dense(2) Dense(3) }\nnetwork A { input: (2,) layers: B() @ "gpu" }')
    assert [layer.device for layer in n.layers] == ["gpu", "gpu"]


@pytest.mark.parametrize("text,msg,line", [
    ("define A { B() }\ndefine B { A() }\nnetwork N { input: (1,) layers: A() }",
     "macro recursion: A -> B -> A", 2),
    ("define A { A() }\nnetwork N { input: (1,) layers: A() }", "macro recursion: A -> A", 1),
    ("define A(x) { Dense(x) }\nnetwork N { input: (1,) layers: A() }", "needs argument 'x'", 2),
    ("define A(x) { Dense(x) }\nnetwork N { input: (1,) layers: A(1, 2) }", "takes 1 argument", 2),
    ("define A(units) { Dense(units) }\nnetwork N { input: (1,) layers: A(unit=3) }",
     "no parameter 'unit'", 2),
    ("define A { Dense(1) }\ndefine A { Dense(2) }\nnetwork N { input: (1,) layers: A() }",
     "defined twice", 2),
    ("define Dense { Flatten() }\nnetwork N { input: (1,) layers: Dense() }",
     "name of a built-in layer", 1),
    ("network N { input: (1,) layers: Nothing(3) }", "unknown layer or macro 'Nothing'", 1),
])
def test_macro_errors(text, msg, line):
    with pytest.raises(NeuralValidationError, match=msg) as e:
        parse(text)
    assert e.value.line == line and e.value.column >= 1 and e.value.hint != "" or "recursion" in msg
