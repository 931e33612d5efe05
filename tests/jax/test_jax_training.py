"""A few Adam steps on synthetic data lower the loss, for a network of every layer group."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax_helpers import net_of

from neural_jax.ir import LAYERS
from neural_jax.jax import build_model
from neural_jax.train import get_loss

GROUP_NETS = {
    "core": ("(4, 3)", ("Reshape((12,)) Dense(16, activation='relu') Dropout(0.1) "
                        "Activation('tanh') Dense(8)")),
    "convolution": ("(8, 8, 2)", ("Conv2D(4, 3, padding='same', activation='relu') "
                                  "SeparableConv2D(4, 3) Conv2DTranspose(2, 2, strides=2) "
                                  "Flatten()")),
    "pooling": ("(8, 8, 2)", ("Conv2D(4, 3, padding='same') MaxPooling2D(2) "
                              "AveragePooling2D(2, padding='same') GlobalMaxPooling2D()")),
    "normalisation": ("(12,)", ("Dense(8) BatchNormalization() LayerNormalization() "
                                "GroupNormalization(2)")),
    "recurrent": ("(5, 3)", "Bidirectional(GRU(4, return_sequences=true)) LSTM(4)"),
    "attention": ("(6, 8)", ("PositionalEmbedding(6) TransformerEncoder(2, 8, dropout=0.0) "
                             "GlobalAveragePooling1D()")),
    "structure": ("(4, 3)", ("TimeDistributed(Dense(4)) Flatten() "
                             "ResidualConnection() { Dense(8, activation='relu') }")),
    "noise": ("(4, 3)", "GaussianNoise(0.1) SpatialDropout1D(0.2) Flatten()"),
}


def test_every_group_is_trained():
    assert set(GROUP_NETS) == {s.group for s in LAYERS.values()}


@pytest.mark.parametrize("group", sorted(GROUP_NETS))
def test_adam_steps_lower_the_loss(group):
    inp, layers = GROUP_NETS[group]
    net = net_of(inp, f"{layers} Output(3, activation='softmax')")
    model = build_model(net)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(32,) + tuple(net.input_shape)), jnp.float32)
    y = jnp.asarray(np.argmax(np.asarray(x).reshape(32, -1) @ rng.normal(size=(x[0].size, 3)),
                              axis=1))
    loss_fn = get_loss("sparse_categorical_crossentropy", final_activation=model.final_activation)
    variables = jax.jit(model.init)(jax.random.PRNGKey(0), x)
    opt = optax.adam(1e-2)
    opt_state = opt.init(variables["params"])

    @jax.jit
    def step(variables, opt_state, key):
        def loss_of(params):
            out, state = model.apply({**variables, "params": params}, x, train=True, rng=key)
            return jnp.mean(loss_fn(out, y)), state

        (loss, state), grads = jax.value_and_grad(loss_of, has_aux=True)(variables["params"])
        updates, opt_state = opt.update(grads, opt_state)
        params = optax.apply_updates(variables["params"], updates)
        return {**variables, **state, "params": params}, opt_state, loss

    losses = []
    for key in jax.random.split(jax.random.PRNGKey(1), 25):
        variables, opt_state, loss = step(variables, opt_state, key)
        losses.append(float(loss))
    assert np.isfinite(losses).all()
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3]), losses
