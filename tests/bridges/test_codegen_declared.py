"""The code generators write every optimizer, schedule, loss and metric the IR declares
(:mod:`neural_jax.ir.training`), for each target framework; the generated script compiles
and names what the DSL gave. A name a generator deliberately leaves out is listed with the
reason."""

from __future__ import annotations

import warnings

import pytest
from training_samples import LOSSES, METRICS, OPTIMIZERS, SCHEDULES, dsl_call, metric_loss

from bridges.codegen import generate_code

BACKENDS = ("jax", "pytorch", "tensorflow")

#: metrics a generated script does not compute as a metric, with the reason
NOT_WRITTEN = {
    "loss": "every generated script reports the training and validation loss already",
}


def _code(body: str, backend: str, activation: str = "softmax") -> str:
    text = (f'network T {{ input: (4,) layers: Dense(8, activation="relu") '
            f'Output(3, activation="{activation}") {body} }}')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = generate_code(text, backend)
    compile(code, f"<{backend}>", "exec")
    return code


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_declared_optimizer_is_written(name, backend):
    assert f"{name}(" in _code(f"optimizer: {dsl_call(OPTIMIZERS[name])}", backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_every_declared_schedule_is_written(name, backend):
    code = _code(f"optimizer: SGD(learning_rate={dsl_call(SCHEDULES[name])})", backend)
    assert f"SGD(learning_rate={name})" in code


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_declared_loss_is_written(name, backend):
    activation = "sigmoid" if name == "binary_crossentropy" else "softmax"
    code = _code(f'loss: "{name}"', backend, activation)
    assert f"The DSL's loss, {name}" in code or f"The DSL's loss: {name}" in code


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_declared_metric_is_written(name, backend):
    code = _code(f'loss: "{metric_loss(name)}" metrics: ["{name}"]', backend)
    if name in NOT_WRITTEN:
        return
    key = "top_5_accuracy" if name == "top_k_accuracy" else name
    assert f'"{key}"' in code, key


def test_the_deliberate_gaps_are_declared_names():
    assert set(NOT_WRITTEN) <= set(METRICS)
