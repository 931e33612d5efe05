"""Every registered executor resolves, satisfies the contract, and trains a real round."""

from __future__ import annotations

import dataclasses
import inspect
import math

import pytest

from neural_jax.executors import (
    BACKENDS,
    EXECUTORS,
    Capabilities,
    Executor,
    ExecutorSettings,
    TrialOutcome,
    UnknownBackend,
    executor_class,
    load_ref,
    normalize_backend,
)

CODE = """
network Tiny {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(16, activation="relu")
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(3e-3, 3e-2)))
  train { epochs: 2, batch_size: 64, validation_split: 0.2 }
}
"""


@pytest.mark.parametrize("name", sorted(EXECUTORS))
def test_every_registered_name_resolves_to_an_executor(name):
    assert name in BACKENDS  # every executor is reachable by a backend name
    cls = executor_class(name)
    assert inspect.isclass(cls) and issubclass(cls, Executor)
    assert not inspect.isabstract(cls)
    caps = cls.capabilities
    assert isinstance(caps, Capabilities) and dataclasses.is_dataclass(caps)
    with pytest.raises(dataclasses.FrozenInstanceError):
        caps.supports_pbt = not caps.supports_pbt  # type: ignore[misc]
    assert name in caps.frameworks
    # the run signature is the protocol's, keyword for keyword
    want = inspect.signature(Executor.run).parameters
    got = inspect.signature(cls.run).parameters
    assert list(got) == list(want)
    assert all(got[k].kind == want[k].kind for k in want)


@pytest.mark.parametrize("name", sorted(EXECUTORS))
def test_capabilities_are_consistent(name):
    caps = executor_class(name).capabilities
    if caps.parallel == "population":
        assert caps.max_workers == 1  # members train together in one process
    if caps.supports_pbt:  # weights copied between members: they live in one program
        assert caps.parallel == "population" and caps.trains_in_process
    if caps.defers_interrupt:
        assert caps.trains_in_process
    if caps.to_jax_variables is not None:
        assert callable(load_ref(caps.to_jax_variables))
    if caps.max_workers is not None:
        assert caps.max_workers >= 1


def test_spellings_and_unknown_names():
    assert [normalize_backend(n) for n in ("torch", "pytorch", "tf", "Keras", "flax",
                                           " JAX ")] == [
        "pytorch", "pytorch", "tensorflow", "tensorflow", "jax", "jax"]
    assert executor_class("torch") is executor_class("pytorch")
    with pytest.raises(UnknownBackend, match="unknown backend 'mxnet'.*pytorch"):
        executor_class("mxnet")


def test_capabilities_refuse_a_bad_parallel_kind():
    with pytest.raises(ValueError, match="parallel"):
        Capabilities(frameworks=("jax",), parallel="threads")


def test_load_ref_needs_module_and_attribute():
    assert load_ref("neural_jax.executors:TrialOutcome") is TrialOutcome
    with pytest.raises(ValueError, match="module:attribute"):
        load_ref("neural_jax.executors.TrialOutcome")


def _round(name: str, **settings):
    from neural_jax.data import load
    from neural_jax.dsl.api import parse
    from neural_jax.ir.lift import lift
    from neural_jax.ir.space import search_space

    net0 = parse(CODE)
    net = lift(net0, search_space(net0))
    configs = [{"optimizer.learning_rate": 1e-2, "seed": 0},
               {"optimizer.learning_rate": 2e-2, "seed": 1}]
    cls = executor_class(name)
    with cls(ExecutorSettings(backend=name, population=2, **settings)) as ex:
        out = ex.run(net, load("digits"), configs, trial_ids=[7, 8])
    return configs, out


def _check_outcomes(configs, out):
    assert len(out) == len(configs)
    for i, (c, o) in enumerate(zip(configs, out)):
        assert isinstance(o, TrialOutcome)
        assert o.index == i and not o.failed, o.message
        assert o.config["optimizer.learning_rate"] == c["optimizer.learning_rate"]
        assert [h["epoch"] for h in o.history] == [1, 2]
        assert all(math.isfinite(h["loss"]) and h["loss"] > 0 for h in o.history)
        assert o.history[-1]["loss"] < o.history[0]["loss"] * 1.5
        assert 0.5 < o.val["accuracy"] <= 1.0  # digits, 2 epochs: well above chance (0.1)
        assert 0.5 < o.test["accuracy"] <= 1.0
        assert o.variables is None  # not asked to keep them


def test_a_real_round_through_the_jax_executor():
    configs, out = _round("jax")
    _check_outcomes(configs, out)
    assert getattr(out, "stats", None)  # per-bucket facts of the population


def test_a_real_round_through_the_pytorch_executor_with_one_worker():
    pytest.importorskip("torch")
    configs, out = _round("pytorch", workers=1)
    _check_outcomes(configs, out)
