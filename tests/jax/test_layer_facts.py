"""The per-layer facts of the registry entries against what the JAX layers really do."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from jax_helpers import net_of, numpy_variables, sample_input
from layer_samples import legal_input, sample_call, sample_inputs

from neural_jax.ir import LAYERS
from neural_jax.jax import build_model


def _drawing_call(name: str) -> str:
    """The sample call with every stochastic argument non-zero."""
    return sample_call(name, **{a: "0.3" for a in LAYERS[name].stochastic})


def _train_outputs(net, keys) -> list[np.ndarray]:
    model = build_model(net)
    x = sample_input(net)
    variables = numpy_variables(model, x)
    run = jax.jit(lambda v, x, k: model.apply(v, x, train=True, rng=k)[0])
    return [np.asarray(run(variables, x, jax.random.PRNGKey(k))) for k in keys]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_stochastic_layers_draw_and_the_others_do_not(name):
    spec = LAYERS[name]
    text = _drawing_call(name)
    inp = legal_input(text, sample_inputs(name))
    assert inp is not None, text
    net = net_of(inp, text)
    assert build_model(net).stochastic == bool(spec.stochastic)
    a, b, again = _train_outputs(net, (1, 2, 1))
    np.testing.assert_array_equal(a, again)  # a fixed key gives the same numbers
    if spec.stochastic:
        assert not np.allclose(a, b), f"{name} gave the same output under two keys"
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", [n for n, s in LAYERS.items() if s.stochastic])
def test_stochastic_layers_with_zero_rates_do_not_draw(name):
    text = sample_call(name, **{a: "0.0" for a in LAYERS[name].stochastic})
    net = net_of(legal_input(text, sample_inputs(name)), text)
    assert not build_model(net).stochastic
    a, b = _train_outputs(net, (1, 2))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", [n for n, s in LAYERS.items() if s.recurrent])
def test_gates_size_the_recurrent_kernels(name):
    net = net_of("(6, 3)", f"{name}(5)")
    model = build_model(net)
    params = model.variable_shapes(sample_input(net))["params"]["layers_0"]
    assert params["kernel"].shape == (3, LAYERS[name].gates * 5)
    assert params["recurrent_kernel"].shape == (5, LAYERS[name].gates * 5)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_only_id_readers_keep_integer_inputs(name):
    spec = LAYERS[name]
    inp = legal_input(sample_call(name), sample_inputs(name))
    net = net_of(inp, sample_call(name))
    model = build_model(net)
    x = np.zeros((2,) + tuple(net.input_shape), np.int32)
    assert (model._prepare(x).dtype == np.int32) == spec.takes_ids


@pytest.mark.parametrize("name", [n for n, s in LAYERS.items() if s.width_arg])
def test_width_args_set_the_output_features(name):
    spec = LAYERS[name]
    text = sample_call(name, **{spec.width_arg: "7"})
    net = net_of(legal_input(text, sample_inputs(name)), text)
    assert build_model(net).output_shape[-1] == 7


def _channel_effect(name: str) -> tuple[np.ndarray, int] | None:
    """Which output features change when only input feature 0 changes (evaluation mode),
    and the number of output features; None when the sample takes ids or is flat."""
    text = sample_call(name)
    inp = legal_input(text, sample_inputs(name)[1:])  # rank >= 2: positions and features
    if inp is None or LAYERS[name].takes_ids:
        return None
    net = net_of(inp, text)
    model = build_model(net)
    x = sample_input(net)
    variables = numpy_variables(model, x)
    y0 = np.asarray(model.apply(variables, x)[0])
    y1 = np.asarray(model.apply(variables, x.at[..., 0].add(1.0))[0])
    if name == "Flatten":  # (B, ..., C) -> (B, ... C): feature c of each position
        f = x.shape[-1]
        y0, y1 = y0.reshape(y0.shape[0], -1, f), y1.reshape(y1.shape[0], -1, f)
    changed = np.abs(y1 - y0).reshape(-1, y0.shape[-1]).max(axis=0) > 1e-6
    return changed, y0.shape[-1]


@pytest.mark.parametrize("name", [n for n, s in LAYERS.items() if s.pad_role])
def test_pad_roles_match_how_layers_mix_features(name):
    role = LAYERS[name].pad_role
    effect = _channel_effect(name)
    assert effect is not None, name
    changed, features = effect
    if role in ("mask", "pass"):  # feature by feature: only feature 0 moves
        assert changed[0] and not changed[1:].any(), (name, changed)
    else:  # "consume": a matmul over the features moves every output feature
        assert role == "consume" and changed.all() and features > 1, (name, changed)
