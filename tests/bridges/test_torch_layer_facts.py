"""``needs_features`` of the registry entries against the torch bridge, which creates weights
before the first call and so needs the input's feature axis when a layer's weights use it."""

from __future__ import annotations

import pytest
from layer_samples import legal_input, sample_call
from torch_helpers import net_of, one_thread  # noqa: F401 - fixture

from bridges.torch import build_module
from neural_jax.ir import LAYERS
from neural_jax.ir.plan import BackendError

#: the sample input shapes with the feature axis unknown
UNKNOWN = ["(None,)", "(16, None)", "(16, 16, None)", "(8, 8, 8, None)"]
#: the layers whose needs come from the layers they hold
HOLDERS = {n for n, s in LAYERS.items() if s.group == "structure"}


@pytest.mark.parametrize("name", sorted(set(LAYERS) - HOLDERS - {"Embedding"}))
def test_torch_needs_the_feature_axis_exactly_where_the_registry_says(name):
    text = sample_call(name)
    inp = legal_input(text, UNKNOWN)
    if inp is None:
        pytest.skip(f"the checker rejects {name} without a known feature axis")
    net = net_of(inp, text)
    if LAYERS[name].needs_features:
        with pytest.raises(BackendError, match="feature axis is unknown"):
            build_module(net)
    else:
        build_module(net)


def test_some_layers_were_tried_both_ways():
    tried = {n: legal_input(sample_call(n), UNKNOWN) is not None
             for n in set(LAYERS) - HOLDERS - {"Embedding"}}
    assert any(tried[n] and LAYERS[n].needs_features for n in tried)
    assert any(tried[n] and not LAYERS[n].needs_features for n in tried)
