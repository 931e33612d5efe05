"""A population vmapped over (variables, hparams, rng) compiles once."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax_helpers import net_of

from neural_jax.jax import BackendError, build_model

NET = """Dense(16, activation=HPO(choice("relu", "tanh", "gelu")))
 Dropout(HPO(range(0.0, 0.6)))
 BatchNormalization(momentum=HPO(range(0.8, 0.99)))
 Output(3, activation="softmax")"""


def test_dynamic_paths_and_defaults():
    model = build_model(net_of("(6,)", NET), {"layers[1].rate": 0.25})
    assert model.dynamic_paths == ("layers[0].activation", "layers[1].rate", "layers[2].momentum")
    hp = model.hparams()
    assert int(hp["layers[0].activation"]) == 0  # the first option
    assert float(hp["layers[1].rate"]) == 0.25  # from the build config
    # the one default_config (neural_jax.ir.defaults): the middle of the range, as Trainer uses
    assert float(hp["layers[2].momentum"]) == pytest.approx(0.895)
    assert int(model.hparams({"layers[0].activation": "gelu"})["layers[0].activation"]) == 2
    with pytest.raises(BackendError, match="not an option"):
        model.hparams({"layers[0].activation": "selu"})


def test_vmapped_population_traces_once():
    model = build_model(net_of("(6,)", NET))
    x = jax.random.normal(jax.random.PRNGKey(0), (8, 6))
    members = 4
    keys = jax.random.split(jax.random.PRNGKey(1), members)
    one = model.init(keys[0], x)
    variables = jax.tree.map(lambda a: jnp.stack([a] * members), one)  # same weights
    traces = []

    def forward(variables, hparams, rng):
        traces.append(1)
        return model.apply(variables, x, train=True, rng=rng, hparams=hparams)

    step = jax.jit(jax.vmap(forward))
    rng = jnp.stack([jax.random.PRNGKey(7)] * members)  # same draws for every member

    def hparams(rates, acts):
        return {"layers[0].activation": jnp.asarray(acts, jnp.int32),
                "layers[1].rate": jnp.asarray(rates, jnp.float32),
                "layers[2].momentum": jnp.full((members,), 0.9)}

    y, state = step(variables, hparams([0.0, 0.3, 0.5, 0.0], [0, 0, 0, 1]), rng)
    y2, _ = step(variables, hparams([0.1, 0.2, 0.4, 0.5], [2, 1, 0, 2]), rng)
    assert len(traces) == 1
    assert y.shape == (members, 8, 3) and y2.shape == (members, 8, 3)
    assert state["batch_stats"]["layers_2"]["moving_mean"].shape == (members, 16)
    # Different rates (same weights, same draws) give different outputs ...
    assert not np.allclose(y[0], y[1]) and not np.allclose(y[1], y[2])
    # ... and each member matches the same call made on its own.
    alone = jax.jit(forward)
    for i, (rate, act) in enumerate([(0.0, 0), (0.3, 0), (0.5, 0), (0.0, 1)]):
        hp = {"layers[0].activation": act, "layers[1].rate": rate, "layers[2].momentum": 0.9}
        np.testing.assert_allclose(y[i], alone(one, model.hparams(hp), rng[i])[0],
                                   rtol=1e-4, atol=1e-5)
