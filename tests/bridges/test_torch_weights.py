"""Weights and bad input in the PyTorch bridge: variables and state_dict files that do not
fit are rejected naming the first tensor; layers torch cannot build name layer, path and
backend."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch_helpers import (
    net_of,
    one_thread,  # noqa: F401 - an autouse fixture
    parity,
    random_variables,
    sample_input,
)

from bridges.errors import BackendError, WeightMismatch
from bridges.torch import (
    build_module,
    load_jax_variables,
    load_state_dict,
    make_layer,
    save_state_dict,
    to_jax_variables,
)
from neural_jax.ir.plan import LayerPlan
from neural_jax.jax import build_model

CNN = ("(8, 8, 2)", ("Conv2D(4, 3, padding='same') BatchNormalization() Flatten() "
                     "Dense(6) Output(3, activation='softmax')"))



def _variables(inp: str, text: str):
    net = net_of(inp, text)
    return random_variables(build_model(net), sample_input(net))


def test_torch_layouts_and_names():
    module = build_module(net_of(*CNN))
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    assert shapes == {
        "layers_0.weight": (4, 2, 3, 3), "layers_0.bias": (4,),
        "layers_1.weight": (4,), "layers_1.bias": (4,),
        "layers_1.running_mean": (4,), "layers_1.running_var": (4,),
        "layers_3.weight": (6, 256), "layers_3.bias": (6,),
        "layers_4.weight": (3, 6), "layers_4.bias": (3,)}
    assert module.final_activation == "softmax"
    assert module.layers_1.momentum == pytest.approx(0.01)  # torch's convention of 0.99


def test_round_trip_through_jax_variables_is_exact():
    _, _, module, _, x = parity(net_of(*CNN))
    back = to_jax_variables(module)
    other = build_module(net_of(*CNN))
    load_jax_variables(other, back)
    for (k, a), (_, b) in zip(module.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), k
    other.eval()
    module.eval()
    with torch.no_grad():
        assert torch.equal(other(torch.from_numpy(x)), module(torch.from_numpy(x)))


def test_variables_of_another_network_name_the_first_tensor():
    module = build_module(net_of(*CNN))
    wider = _variables("(8, 8, 2)", "Conv2D(5, 3, padding='same') BatchNormalization() "
                                    "Flatten() Dense(6) Output(3)")
    with pytest.raises(WeightMismatch, match=r"params/layers_0/kernel has shape \(3, 3, 2, 5\), "
                                             r"the module expects \(3, 3, 2, 4\).*pytorch"):
        load_jax_variables(module, wider)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    no_norm = _variables("(8, 8, 2)", "Conv2D(4, 3, padding='same') Flatten() Dense(6) "
                                      "Output(3)")
    with pytest.raises(WeightMismatch, match="params/layers_1/gamma is missing"):
        load_jax_variables(module, no_norm)
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_unexpected_and_missing_collections():
    module = build_module(net_of(*CNN))
    variables = to_jax_variables(module)
    variables["params"]["layers_9"] = {"kernel": np.zeros((2, 2), np.float32)}
    with pytest.raises(WeightMismatch, match="params/layers_9/kernel is unexpected"):
        load_jax_variables(module, variables)
    variables = to_jax_variables(module)
    del variables["batch_stats"]
    with pytest.raises(WeightMismatch, match="batch_stats/layers_1/moving_mean is missing"):
        load_jax_variables(module, variables)


def test_state_dict_file_round_trip(tmp_path):
    module = build_module(net_of(*CNN))
    path = tmp_path / "model.pt"
    save_state_dict(module, path)
    other = build_module(net_of(*CNN))
    load_state_dict(other, path)
    for (k, a), (_, b) in zip(module.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), k


def test_state_dict_file_that_does_not_fit(tmp_path):
    path = tmp_path / "wide.pt"
    save_state_dict(build_module(net_of("(8, 8, 2)", "Conv2D(4, 3, padding='same') "
                                        "BatchNormalization() Flatten() Dense(7) Output(3)")),
                    path)
    module = build_module(net_of(*CNN))
    with pytest.raises(WeightMismatch, match=r"tensor layers_3.weight has shape \(7, 256\), "
                                             r"the module expects \(6, 256\)"):
        load_state_dict(module, path)
    fewer = tmp_path / "fewer.pt"
    save_state_dict(build_module(net_of("(8, 8, 2)", "Conv2D(4, 3, padding='same') "
                                        "Flatten() Dense(6) Output(3)")), fewer)
    with pytest.raises(WeightMismatch, match="tensor layers_1.weight is missing"):
        load_state_dict(module, fewer)
    extra = tmp_path / "extra.pt"
    state = dict(module.state_dict(), **{"layers_5.weight": torch.zeros(2)})
    torch.save(state, extra)
    with pytest.raises(WeightMismatch, match="tensor layers_5.weight is unexpected"):
        load_state_dict(module, extra)


def test_missing_and_broken_files(tmp_path):
    module = build_module(net_of(*CNN))
    with pytest.raises(WeightMismatch, match="no state_dict file at .*nothing.pt"):
        load_state_dict(module, tmp_path / "nothing.pt")
    broken = tmp_path / "broken.pt"
    broken.write_text("not a checkpoint")
    with pytest.raises(WeightMismatch, match="not a torch state_dict file"):
        load_state_dict(module, broken)


def test_wrong_input_shape_is_a_backend_error():
    module = build_module(net_of(*CNN))
    with pytest.raises(BackendError, match=r"takes inputs of shape \(batch, 8, 8, 2\)"):
        module(torch.zeros(2, 8, 8, 3))


def test_layers_torch_cannot_build_name_layer_path_and_backend():
    dense = LayerPlan("Dense", "layers[0].layer", "layer", (("units", 3),))
    bad_wrap = LayerPlan("Bidirectional", "layers[0]", "layers_0", (("merge_mode", "concat"),),
                         inner=dense)
    with pytest.raises(BackendError, match=r"Bidirectional at layers\[0\]: .*LSTM, GRU or "
                                           r"SimpleRNN.*backend: pytorch"):
        make_layer(bad_wrap, (5, 3))
    with pytest.raises(BackendError, match=r"Warp at layers\[2\]: this layer has no rule.*"
                                           r"backend: pytorch"):
        make_layer(LayerPlan("Warp", "layers[2]", "layers_2"), (5, 3))
    heads = LayerPlan("TransformerEncoder", "layers[1]", "layers_1",
                      (("num_heads", 8), ("ff_dim", 4)))
    with pytest.raises(BackendError, match=r"TransformerEncoder at layers\[1\]: 8 heads do not "
                                           r"fit 4 features.*backend: pytorch"):
        make_layer(heads, (5, 4))


def test_token_ids_out_of_range_read_nan_as_in_jax():
    net = net_of("(5,)", "Embedding(4, 2)")
    module = build_module(net)
    y = module(torch.tensor([[0, 3, -1, 4, -5]]))
    assert torch.equal(y[0, 2], module.layers_0.weight[3])  # -1 counts from the end
    assert torch.isnan(y[0, 3:]).all() and not torch.isnan(y[0, :3]).any()


def test_an_unknown_feature_axis_is_a_backend_error():
    module = build_module(net_of("(None, None, 8)", "LSTM(4) Dense(3)"))
    assert module(torch.zeros(2, 7, 8)).shape == (2, 3)
    with pytest.raises(BackendError, match=r"Dense at layers\[1\]: its input's feature axis "
                                           r"is unknown.*backend: pytorch"):
        build_module(net_of("(None, None, 8)", "Flatten() Dense(3)"))
