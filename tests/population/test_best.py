"""The best trial's weights: a padded member's weights cut to its own network's."""

from __future__ import annotations

import jax

from neural_jax.data import load
from neural_jax.dsl.api import parse
from neural_jax.population.best import narrow_variables
from neural_jax.population.engine import train_population
from neural_jax.population.trainer import Trainer

NET = """network W {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(HPO(choice(16, 32)), activation="relu")
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=0.01)
  train { epochs: 2, batch_size: 64, validation_split: 0.2 }
}
"""


def test_a_padded_members_weights_narrow_to_its_own_network():
    net = parse(NET)
    ds = load("digits")
    res = train_population(net, ds, [{"layers[1].units": 16}, {"layers[1].units": 32}],
                           keep_variables=True, pad=True)
    assert res.stats[0]["pads"] == ("layers[1].units",)
    narrow = narrow_variables(res[0].variables, net, res[0].config, [(32, 16)])
    shapes = jax.tree.map(lambda a: a.shape, narrow)["params"]
    assert shapes["layers_1"]["kernel"] == (64, 16) and shapes["layers_2"]["kernel"] == (16, 10)
    fitted = ds.fit_to(net.input_shape)
    got = Trainer(net, res[0].config).evaluate(narrow, fitted.x_test, fitted.y_test)
    assert abs(got["accuracy"] - res[0].test["accuracy"]) < 1e-6
