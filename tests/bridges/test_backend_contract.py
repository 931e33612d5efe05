"""Every interpreter of the IR covers every registered layer through one builder per family
(docs/backends.md), or lists what it lacks; asking for a missing layer is a user error."""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

from neural_jax.ir import LAYERS
from neural_jax.ir.backend import FAMILIES, lookup_rule, rule_table
from neural_jax.ir.plan import BackendError, LayerPlan

#: interpreter -> (module, builders, table)
INTERPRETERS = {
    "jax": ("neural_jax.jax.rules", "BUILDERS", "RULES"),
    "pytorch": ("bridges.torch.rules", "BUILDERS", "RULES"),
    "tensorflow": ("bridges.tensorflow.layers", "BUILDERS", "RULES"),
    "codegen-flax": ("bridges.codegen.emit_flax", "BUILDERS", "FLAX"),
    "codegen-torch": ("bridges.codegen.emit_torch", "BUILDERS", "TORCH"),
    "codegen-keras": ("bridges.codegen.emit_keras", "BUILDERS", "KERAS"),
}
#: interpreter -> the layers it lacks on purpose
LACKS: dict[str, set[str]] = {name: set() for name in INTERPRETERS}


def _load(name: str):
    module, builders, table = INTERPRETERS[name]
    mod = importlib.import_module(module)
    return getattr(mod, builders), getattr(mod, table)


@pytest.mark.parametrize("name", sorted(INTERPRETERS))
def test_every_interpreter_covers_every_layer_or_says_what_it_lacks(name):
    builders, table = _load(name)
    assert set(builders) <= set(FAMILIES), f"{name}: builders for unknown families"
    lacking = {n for n, s in LAYERS.items() if s.family not in builders}
    assert lacking == LACKS[name]
    assert set(table) == set(LAYERS) - LACKS[name]
    assert list(table) == [n for n in LAYERS if n in table]  # registry order
    assert all(callable(rule) for rule in table.values())


def test_every_layer_names_a_known_family():
    assert all(spec.family in FAMILIES for spec in LAYERS.values())
    assert len(FAMILIES) == len(set(FAMILIES))


def test_a_family_left_out_leaves_its_layers_out_and_the_lookup_names_them():
    table = rule_table({"dense": lambda: "dense rule"})
    assert table == {"Dense": "dense rule", "Output": "dense rule"}
    plan = LayerPlan("Dropout", "layers[0]", "layers_0", (("rate", 0.5),))
    with pytest.raises(BackendError, match=r"Dropout at layers\[0\]: this layer has no rule "
                                           r"in the JAX backend \(backend: jax\)"):
        lookup_rule(table, plan, "jax", "the JAX backend")
    assert lookup_rule(table, LayerPlan("Dense", "layers[1]", "layers_1", ()), "jax",
                       "the JAX backend") == "dense rule"


@pytest.mark.parametrize("module,attr,call", [
    ("neural_jax.jax.rules", "RULES", lambda m, p: m.make_layer(p)),
    ("bridges.torch.rules", "RULES", lambda m, p: m.make_layer(p, (4,))),
    ("bridges.tensorflow.layers", "RULES", lambda m, p: m.make_layer(p)),
])
def test_a_backend_that_lacks_a_layer_raises_the_user_error(module, attr, call, monkeypatch):
    mod = importlib.import_module(module)
    monkeypatch.setattr(mod, attr, {k: v for k, v in getattr(mod, attr).items()
                                    if k != "Flatten"})
    with pytest.raises(BackendError, match="Flatten at layers.0.: this layer has no rule"):
        call(mod, LayerPlan("Flatten", "layers[0]", "layers_0", ()))


@pytest.mark.parametrize("path,table", [
    ("neural_jax/jax/layers_attention.py", "neural_jax.jax.rules"),
    ("bridges/torch/layers_attention.py", "bridges.torch.rules"),
    ("bridges/codegen/datasets.py", "bridges.codegen.templates"),
])
def test_layer_modules_do_not_import_the_table_that_imports_them(path, table):
    root = pathlib.Path(__file__).resolve().parents[2]
    names = set()
    for node in ast.walk(ast.parse((root / path).read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    assert table not in names, f"{path} imports {table}, which imports it"
