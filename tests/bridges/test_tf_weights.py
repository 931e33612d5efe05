"""Weight transfer and Keras weight files: round trips, and what does not fit is rejected."""

from __future__ import annotations

import numpy as np
import pytest
from tf_helpers import assert_same_tree, jax_reference, net_of

pytest.importorskip("tensorflow")

import bridges.tensorflow as btf
from bridges.errors import BackendError, WeightMismatch

LAYERS_A = ("Conv2D(4, 3, padding='same') BatchNormalization() DepthwiseConv2D(3) "
            "Flatten() Dense(8, activation='relu') Output(3, activation='softmax')")
LAYERS_B = ("Conv2D(5, 3, padding='same') BatchNormalization() DepthwiseConv2D(3) "
            "Flatten() Dense(8, activation='relu') Output(3, activation='softmax')")


@pytest.fixture(scope="module")
def a():
    net = net_of("(6, 6, 2)", LAYERS_A)
    _, x, variables, _ = jax_reference(net)
    model = btf.build_model(net)
    btf.load_jax_variables(model, variables)
    return net, model, x, variables


def test_file_round_trip(a, tmp_path):
    net, model, x, variables = a
    path = tmp_path / "a.weights.h5"
    btf.save_weights(model, path)
    fresh = btf.build_model(net)
    btf.load_weights(fresh, path)
    assert_same_tree(btf.to_jax_variables(fresh), variables)
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())


def test_variables_of_another_network_are_rejected(a):
    _, model, _, variables = a
    _, _, other, _ = jax_reference(net_of("(6, 6, 2)", LAYERS_B))
    with pytest.raises(WeightMismatch) as e:
        btf.load_jax_variables(model, other)
    # the first tensor in model order is the first convolution's kernel
    assert "params/layers_0/kernel" in str(e.value)
    assert "(3, 3, 2, 5)" in str(e.value) and "(3, 3, 2, 4)" in str(e.value)
    assert "tensorflow" in str(e.value)
    assert_same_tree(btf.to_jax_variables(model), variables)  # nothing was copied


def test_missing_and_unexpected_tensors_are_named(a):
    _, model, _, variables = a
    stats = dict(variables["batch_stats"])
    stats["layers_1"] = {k: v for k, v in stats["layers_1"].items() if k != "moving_variance"}
    with pytest.raises(WeightMismatch, match="batch_stats/layers_1/moving_variance"):
        btf.load_jax_variables(model, {**variables, "batch_stats": stats})
    extra = {**variables, "params": {**variables["params"], "layers_9": {"kernel": np.ones(3)}}}
    with pytest.raises(WeightMismatch, match="params/layers_9/kernel .* not in the model"):
        btf.load_jax_variables(model, extra)


def test_a_file_of_another_shape_is_rejected(a, tmp_path):
    _, model, _, variables = a
    other = btf.build_model(net_of("(6, 6, 2)", LAYERS_B))
    path = tmp_path / "b.weights.h5"
    btf.save_weights(other, path)
    with pytest.raises(WeightMismatch) as e:
        btf.load_weights(model, path)
    assert "params/layers_0/kernel" in str(e.value)
    assert "(3, 3, 2, 5)" in str(e.value)
    assert_same_tree(btf.to_jax_variables(model), variables)


def test_a_file_with_other_layers_is_rejected(a, tmp_path):
    _, model, _, _ = a
    other = btf.build_model(
        net_of("(6, 6, 2)", LAYERS_A.replace("Flatten()", "Flatten() Dense(8)")))
    path = tmp_path / "c.weights.h5"
    btf.save_weights(other, path)
    with pytest.raises(WeightMismatch, match="tensor params/layers_5/kernel"):
        btf.load_weights(model, path)


def test_a_missing_file_is_a_clear_error(a, tmp_path):
    _, model, _, _ = a
    with pytest.raises(BackendError, match="no weight file"):
        btf.load_weights(model, tmp_path / "nothing.weights.h5")
    bad = tmp_path / "text.weights.h5"
    bad.write_text("not hdf5")
    with pytest.raises(BackendError, match="not a Keras .weights.h5 file"):
        btf.load_weights(model, bad)
    with pytest.raises(BackendError, match="must end in .weights.h5"):
        btf.save_weights(model, tmp_path / "a.h5")
