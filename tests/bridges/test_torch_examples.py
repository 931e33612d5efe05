"""Every network of examples/*.neural built in PyTorch: the same outputs as the Flax model
from the same variables, exact weight round trips, and training steps that lower the loss."""

from __future__ import annotations

import pathlib
import warnings

import pytest

torch = pytest.importorskip("torch")

from torch_helpers import (
    assert_close,
    final_shape,
    one_thread,  # noqa: F401 - an autouse fixture
    parity,
    same_tree,
    sgd_lowers_the_loss,
)

from bridges.torch import to_jax_variables
from neural_jax import parse_all

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[2] / "examples").glob("*.neural"))



def _example_networks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [pytest.param(net, id=f"{path.stem}-{net.name}")
                for path in EXAMPLES for net in parse_all(path.read_text(), str(path))]


NETWORKS = _example_networks()


def test_there_are_examples():
    assert len(NETWORKS) >= 10


@pytest.mark.parametrize("net", NETWORKS)
def test_example_matches_jax(net):
    y_jax, y_torch, module, variables, _ = parity(net)
    assert y_torch.shape == (2,) + final_shape(net, module.config)
    assert_close(y_jax, y_torch)
    assert same_tree(to_jax_variables(module), variables)


@pytest.mark.parametrize("net", NETWORKS)
def test_example_trains(net):
    sgd_lowers_the_loss(net, steps=2, lr=1e-3)
