"""The training declarations of the IR: every name and spelling a backend accepts, the DSL
accepts too, and the declarations are pure Python."""

from __future__ import annotations

import subprocess
import sys

import pytest
from training_samples import dsl_call

from neural_jax import parse
from neural_jax.core.errors import NeuralValidationError
from neural_jax.ir import check
from neural_jax.ir.defaults import default_config
from neural_jax.ir.params import CHECKS, REQUIRED
from neural_jax.ir.training import (
    LOSSES,
    METRICS,
    OPTIMIZERS,
    SCHEDULES,
    lookup,
    metric_preset,
    spellings,
)

NET = """network T {{
  input: (4,)
  layers: Dense(8, activation="relu") Output(3, activation="softmax")
  {body}
}}"""


def _parse(body: str):
    return parse(NET.format(body=body))


def test_every_declaration_is_well_formed():
    for table in (OPTIMIZERS, SCHEDULES, LOSSES, METRICS):
        for name, decl in table.items():
            assert decl.name == name
            assert len(set(decl.arg_names)) == len(decl.arg_names), name
            assert all(p.kind in CHECKS for p in decl.params), name
            assert set(decl.arg_aliases.values()) <= set(decl.arg_names), name
            assert set(decl.structural) <= set(decl.arg_names), name
            for p in decl.params:  # a default is a legal value (None: an optional argument)
                if p.default not in (REQUIRED, None):
                    assert p.check(p.default) is None, (name, p)


def test_no_spelling_names_two_things():
    for table in (OPTIMIZERS, SCHEDULES, LOSSES, METRICS):
        seen = [s for d in table.values() for s in (d.name.lower(), *map(str.lower, d.aliases))]
        assert len(seen) == len(set(seen)) == len(spellings(table))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_the_dsl_accepts_every_optimizer(name):
    net = _parse(f"optimizer: {dsl_call(OPTIMIZERS[name])}")
    assert net.optimizer.type == name


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_the_dsl_accepts_every_schedule(name):
    net = _parse(f"optimizer: Adam(learning_rate={dsl_call(SCHEDULES[name])})")
    assert net.optimizer.get("learning_rate").type == name
    check(net)


@pytest.mark.parametrize("name,spelling", [
    (d.name, s) for t in (LOSSES,) for d in t.values() for s in (d.name, *d.aliases)])
def test_the_dsl_accepts_every_loss_spelling(name, spelling):
    assert _parse(f'loss: "{spelling}"').loss.name == name


@pytest.mark.parametrize("name,spelling", [
    (d.name, s) for d in METRICS.values() for s in (d.name, *d.aliases)])
def test_the_dsl_accepts_every_metric_spelling(name, spelling):
    (metric,) = _parse(f'loss: "sparse_categorical_crossentropy" metrics: ["{spelling}"]'
                       ).metrics
    assert metric.name == name
    assert dict(metric.params) == metric_preset(spelling)


def test_a_preset_keeps_its_argument_and_an_explicit_one_wins():
    (m,) = _parse('metrics: ["categorical_accuracy"]').metrics
    assert (m.name, dict(m.params)) == ("accuracy", {"kind": "categorical"})
    (m,) = _parse("metrics: [accuracy(threshold=0.7)]").metrics
    assert dict(m.params) == {"threshold": 0.7}
    with pytest.raises(NeuralValidationError, match="kind"):
        _parse('metrics: [accuracy(kind="dense")]')


# The names the DSL used to reject while the trainer ran them.
DRIFTED = {
    "InverseTimeDecay": "InverseTimeDecay(initial_learning_rate=0.1, decay_steps=4, "
                        "decay_rate=0.5)",
    "CosineDecay(warmup_steps=)": "CosineDecay(0.0, 20, warmup_target=0.05, warmup_steps=5)",
    "StepDecay(initial_learning_rate=)": "StepDecay(initial_learning_rate=0.05, step_size=3)",
}


@pytest.mark.parametrize("case", sorted(DRIFTED))
def test_formerly_rejected_schedules_are_accepted(case):
    net = _parse(f"optimizer: SGD(learning_rate={DRIFTED[case]})")
    check(net)
    sched = net.optimizer.get("learning_rate")
    assert sched.type == case.split("(")[0]


def test_argument_aliases_become_the_canonical_name():
    a = _parse("optimizer: Adam(learning_rate=StepDecay(initial=0.1, step_size=3))")
    b = _parse("optimizer: Adam(learning_rate=StepDecay(initial_learning_rate=0.1, "
               "step_size=3))")
    assert a.optimizer.get("learning_rate").params == b.optimizer.get("learning_rate").params
    assert dict(a.optimizer.get("learning_rate").params)["initial_learning_rate"] == 0.1
    w = _parse("optimizer: Adam(learning_rate=WarmupCosineDecay(peak_learning_rate=0.1, "
               "warmup_steps=2, decay_steps=10, init_value=0.01))")
    assert dict(w.optimizer.get("learning_rate").params) == {
        "peak": 0.1, "warmup_steps": 2, "decay_steps": 10, "initial_learning_rate": 0.01}


def test_lookup_ignores_case_and_knows_aliases():
    assert lookup(OPTIMIZERS, "sgd") == "SGD" and lookup(OPTIMIZERS, "RMSPROP") == "RMSprop"
    assert lookup(LOSSES, "Mean_Squared_Error") == "mse"
    assert lookup(METRICS, "acc") == "accuracy" and lookup(METRICS, "nope") is None
    assert lookup(SCHEDULES, 3) is None


def test_default_config_takes_the_middle_of_a_range():
    net = parse("""network T {
      input: (4,)
      layers: Dense(HPO(range(16, 256, step=16))) Dropout(HPO(range(0.1, 0.5)))
              Output(3, activation="softmax")
      optimizer: Adam(learning_rate=HPO(log_range(1e-4, 1e-2)))
      train { batch_size: HPO(choice(16, 32)) }
    }""")
    cfg = default_config(net)
    assert cfg["layers[0].units"] == 144
    assert cfg["layers[1].rate"] == pytest.approx(0.3)
    assert cfg["optimizer.learning_rate"] == pytest.approx(1e-3)
    assert cfg["train.batch_size"] == 16


def test_the_declarations_import_no_backend():
    code = ("import sys, neural_jax.ir.training.resolve, neural_jax.ir.defaults; "
            "print(sorted(m for m in ('jax', 'optax', 'torch', 'tensorflow', 'numpy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_python_settings_are_checked_against_the_declarations():
    from neural_jax.ir.training import TrainConfigError
    from neural_jax.ir.training.resolve import (
        optimizer_hyperparams,
        optimizer_structure,
        resolve_schedule,
    )

    step = resolve_schedule("stepdecay", {"initial": 0.1, "step_size": 3})
    assert step.decl.name == "StepDecay"
    assert step.dynamic == {"initial_learning_rate": 0.1, "step_size": 3.0, "gamma": 0.1}
    lr = {"schedule": "PiecewiseConstantDecay",
          "args": {"boundaries": [2, 5], "values": [0.1, 0.05, 0.01]}}
    assert optimizer_hyperparams("sgd", {"learning_rate": lr}) == {
        "learning_rate.boundaries": (2.0, 5.0), "learning_rate.values": (0.1, 0.05, 0.01),
        "momentum": 0.0}
    assert optimizer_structure("SGD", {"learning_rate": lr}) == (
        "SGD", (("nesterov", False),), ("momentum",),
        ("PiecewiseConstantDecay", (), (("boundaries", (2,)), ("values", (3,)))))
    with pytest.raises(TrainConfigError, match="Did you mean 'decay_steps'"):
        resolve_schedule("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_step": 2,
                                              "decay_rate": 0.5})
    with pytest.raises(TrainConfigError, match="momentum' must be in \\[0, 1\\)"):
        optimizer_hyperparams("SGD", {"momentum": 1.5})
