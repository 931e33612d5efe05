"""Build options of the JAX backend: width padding is exact, conv_impl="patches" agrees."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax_helpers import net_of, numpy_variables

from neural_jax.ir.space import search_space
from neural_jax.jax import BackendError, build_model, plan_network
from neural_jax.jax.padding import paddable

MLP = """Flatten()
 Dense(HPO(choice(8, 16, 24)), activation=HPO(choice("sigmoid", "gelu")))
 Dropout(HPO(range(0.0, 0.6)))
 GaussianNoise(0.3)
 Activation("softplus")
 Dense(HPO(choice(4, 12)), activation="tanh")
 Output(3, activation="softmax")"""
CNN = """Conv2D(HPO(choice(2, 5)), kernel_size=3, padding="same", activation="relu")
 SpatialDropout2D(0.25)
 MaxPooling2D(pool_size=2)
 Conv2D(3, kernel_size=2, activation="relu")
 Flatten()
 Output(3, activation="softmax")"""


def _pair(net, widths, pads, x, hp):
    """Initial weights and training outputs of the narrow model and of the padded one
    (one compiled program: eager calls would compile every op on its own)."""
    narrow = build_model(net, widths)
    wide = build_model(net, widths, pad_widths=pads)

    @jax.jit
    def both(x):
        key, rng = jax.random.PRNGKey(3), jax.random.PRNGKey(11)
        vn = narrow.init(key, x)
        vw = wide.init(key, x, wide.hparams({**hp, **widths}))
        yn, _ = narrow.apply(vn, x, train=True, rng=rng, hparams=hp)
        yw, _ = wide.apply(vw, x, train=True, rng=rng, hparams={**hp, **widths})
        return vn, vw, yn, yw

    return (narrow, wide, *both(x))


@pytest.mark.parametrize("w1, w2", [(8, 4), (16, 12), (24, 4)])
def test_padded_mlp_is_the_narrow_network(w1, w2):
    net = net_of("(3, 4)", MLP)
    x = jax.random.normal(jax.random.PRNGKey(0), (5, 3, 4))
    widths = {"layers[1].units": w1, "layers[5].units": w2}
    hp = {"layers[2].rate": 0.4, "layers[1].activation": "sigmoid"}
    _, _, vn, vw, yn, yw = _pair(net, widths, list(widths), x, hp)
    assert vw["params"]["layers_1"]["kernel"].shape == (12, 24)
    assert vw["params"]["layers_5"]["kernel"].shape == (24, 12)
    np.testing.assert_allclose(yw, yn, atol=1e-6)
    # the narrow weights sit in the corner, zeros elsewhere (Glorot scale of the true sizes)
    k = vw["params"]["layers_5"]["kernel"]
    np.testing.assert_array_equal(k[:w1, :w2], vn["params"]["layers_5"]["kernel"])
    assert float(jnp.abs(k).sum()) == pytest.approx(float(jnp.abs(k[:w1, :w2]).sum()))


def test_padded_conv_with_pooling_flatten_and_spatial_dropout_is_exact():
    net = net_of("(6, 6, 2)", CNN)
    x = jax.random.normal(jax.random.PRNGKey(0), (4, 6, 6, 2))
    _, _, _, vw, yn, yw = _pair(net, {"layers[0].filters": 2}, ["layers[0].filters"], x, {})
    assert vw["params"]["layers_3"]["kernel"].shape == (2, 2, 5, 3)
    np.testing.assert_allclose(yw, yn, atol=1e-6)


def test_padded_weights_get_zero_gradient():
    net = net_of("(3, 4)", MLP)
    x = jax.random.normal(jax.random.PRNGKey(0), (5, 3, 4))
    widths = {"layers[1].units": 8, "layers[5].units": 4}
    wide = build_model(net, widths, pad_widths=list(widths))
    hp = wide.hparams({**widths, "layers[2].rate": 0.2})

    @jax.jit
    def grads(x):
        v = wide.init(jax.random.PRNGKey(1), x, hp)

        def loss(params):
            y, _ = wide.apply({**v, "params": params}, x, train=True, rng=jax.random.PRNGKey(2),
                              hparams=hp)
            return jnp.sum(y ** 2)

        return jax.grad(loss)(v["params"])

    g = grads(x)
    assert float(jnp.abs(g["layers_1"]["kernel"][:, 8:]).max()) == 0.0
    assert float(jnp.abs(g["layers_1"]["bias"][8:]).max()) == 0.0
    assert float(jnp.abs(g["layers_5"]["kernel"][8:, :]).max()) == 0.0
    assert float(jnp.abs(g["layers_5"]["kernel"][:, 4:]).max()) == 0.0
    assert float(jnp.abs(g["layers_6"]["kernel"][4:, :]).max()) == 0.0


def test_traced_widths_select_the_member_init():
    net = net_of("(3, 4)", MLP)
    x = jnp.ones((2, 3, 4))
    wide = build_model(net, {}, pad_widths=["layers[1].units"])
    init = jax.jit(jax.vmap(lambda w: wide.init(jax.random.PRNGKey(0), x, {"layers[1].units": w})))
    both = init(jnp.asarray([8, 24], jnp.int32))
    for row, w in enumerate((8, 24)):
        narrow = jax.jit(build_model(net, {"layers[1].units": w}).init)(jax.random.PRNGKey(0), x)
        np.testing.assert_array_equal(both["params"]["layers_1"]["kernel"][row, :, :w],
                                      narrow["params"]["layers_1"]["kernel"])


def test_what_can_be_padded():
    net = net_of("(6,)", """Dense(HPO(choice(4, 8)))
 BatchNormalization()
 Dense(HPO(choice(2, 3)))
 LayerNormalization()
 Dense(HPO(choice(5, 7)))
 Output(2, activation="softmax")""")
    found = paddable(plan_network(net, {}).layers, search_space(net))
    assert list(found) == ["layers[4].units"]  # normalisation mixes channels or shifts zeros
    with pytest.raises(BackendError, match="cannot pad layers\\[0\\].units"):
        build_model(net, {}, pad_widths=["layers[0].units"])
    with pytest.raises(BackendError, match="not an option"):
        build_model(net, {}, pad_widths=["layers[4].units"]).hparams({"layers[4].units": 6})
    soft = net_of("(6,)", """Dense(HPO(choice(4, 8)), activation="softmax")
 Dense(HPO(choice(2, 3)), activation=HPO(choice("relu", "softmax")))
 Dense(HPO(choice(5, 7)))
 Activation("softmax")
 Dense(HPO(choice(3, 9)))
 Output(2, activation="softmax")""")
    # a softmax over the padded channels would count the padding
    assert list(paddable(plan_network(soft, {}).layers, search_space(soft))) == ["layers[4].units"]


CONVS = """Conv2D(4, kernel_size=3, strides=2, padding="same", activation="relu")
 ResidualConnection() { Conv2D(6, kernel_size=3, padding="same") }
 SeparableConv2D(5, kernel_size=2)
 MaxPooling2D(pool_size=2)
 Flatten()
 Output(3, activation="softmax")"""


def test_conv_impl_patches_matches_xla():
    net = net_of("(9, 9, 2)", CONVS)
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 9, 9, 2))
    xla = build_model(net)
    patches = build_model(net, conv_impl="patches")
    assert patches.conv_impl == "patches"
    v = numpy_variables(xla, x)

    @jax.jit
    def run(v, x):
        outs = [m.apply(v, x)[0] for m in (xla, patches)]
        grads = [jax.grad(lambda p, m=m: jnp.sum(m.apply({**v, "params": p}, x)[0] ** 2))(
                     v["params"])
                 for m in (xla, patches)]
        return outs, grads

    (y1, y2), (g1, g2) = run(v, x)
    np.testing.assert_allclose(y2, y1, rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g2)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="conv_impl"):
        build_model(net, conv_impl="im2col")
