"""The layer registry's per-layer facts are consistent with each entry's signature.

(What the facts claim about real behaviour is checked against the layers in
tests/jax/test_layer_facts.py and tests/bridges/test_torch_layer_facts.py.)"""

from __future__ import annotations

import pytest

from neural_jax.ir import LAYERS
from neural_jax.ir.backend import FAMILIES

SPECS = sorted(LAYERS)


@pytest.mark.parametrize("name", SPECS)
def test_stochastic_arguments_are_rates_or_scales_of_the_layer(name):
    spec = LAYERS[name]
    for arg in spec.stochastic:
        p = spec.param(arg)
        assert p is not None and p.kind in ("rate", "nonneg"), (name, arg)


@pytest.mark.parametrize("name", SPECS)
def test_width_args_and_pad_roles_fit_the_signature(name):
    spec = LAYERS[name]
    assert spec.pad_role in (None, "consume", "mask", "pass")
    if spec.width_arg is not None:
        p = spec.param(spec.width_arg)
        assert p is not None and p.kind == "pos_int" and p.shape_affecting
        assert spec.pad_role == "consume"  # a padded producer also absorbs padding
    if spec.pad_role == "consume":
        assert spec.needs_features  # a matmul over the input features


@pytest.mark.parametrize("name", SPECS)
def test_wrappers_and_cells_are_marked_as_such(name):
    spec = LAYERS[name]
    assert (spec.wraps is not None) == any(p.kind == "layer" for p in spec.params)
    if spec.wraps_recurrent:
        assert spec.wraps is not None
    assert spec.recurrent == (spec.group == "recurrent" and spec.wraps is None)
    assert spec.family in FAMILIES


def test_draws_reads_the_stochastic_arguments():
    lstm = LAYERS["LSTM"]
    assert not lstm.draws({"units": 4})
    assert not lstm.draws({"dropout": 0.0, "recurrent_dropout": 0})
    assert lstm.draws({"recurrent_dropout": 0.2})
    assert not LAYERS["Dense"].draws({"units": 4, "dropout": 0.5})


def test_only_embedding_reads_token_ids():
    assert [n for n, s in LAYERS.items() if s.takes_ids] == ["Embedding"]
