"""Every network of ``examples/*.neural`` computes in Keras what it computes in JAX."""

from __future__ import annotations

import pathlib
import warnings

import pytest
from tf_helpers import assert_close, assert_same_tree, jax_reference

pytest.importorskip("tensorflow")

import bridges.tensorflow as btf
from neural_jax import parse_all

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[2] / "examples").glob("*.neural"))


def _networks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [pytest.param(net, id=f"{path.stem}-{net.name}")
                for path in EXAMPLES for net in parse_all(path.read_text(), str(path))]


@pytest.mark.parametrize("net", _networks())
def test_example_matches_jax(net):
    jmodel, x, variables, y_jax = jax_reference(net, batch=2)
    model = btf.build_model(net)
    assert model.final_activation == jmodel.final_activation
    assert model.neural.output_shape == jmodel.output_shape
    btf.load_jax_variables(model, variables)
    assert_close(model(x, training=False).numpy(), y_jax)
    assert_same_tree(btf.to_jax_variables(model), variables)
    assert tuple(model(x, training=True).shape) == y_jax.shape
