"""Schedule conformance: every registered schedule against the Keras formula by hand."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neural_jax.train import (
    SCHEDULES,
    TrainConfigError,
    get_schedule,
    schedule_signature,
)


def _cos(t, steps, alpha, start):
    t = min(t, steps)
    return start * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * t / steps)) + alpha)


# name -> (args, reference(step) written from the Keras documentation formulas)
CASES = {
    "ExponentialDecay": (
        {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
        lambda t: 0.1 * 0.5 ** (t / 10)),
    "ExponentialDecay/staircase": (
        {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5,
         "staircase": True},
        lambda t: 0.1 * 0.5 ** (t // 10)),
    "InverseTimeDecay": (
        {"initial_learning_rate": 0.2, "decay_steps": 4, "decay_rate": 0.5},
        lambda t: 0.2 / (1 + 0.5 * t / 4)),
    "CosineDecay": (
        {"initial_learning_rate": 0.1, "decay_steps": 20, "alpha": 0.1},
        lambda t: _cos(t, 20, 0.1, 0.1)),
    "CosineDecay/warmup": (
        {"initial_learning_rate": 0.0, "decay_steps": 20, "warmup_target": 0.5,
         "warmup_steps": 5},
        lambda t: 0.5 * t / 5 if t < 5 else _cos(t - 5, 20, 0.0, 0.5)),
    "WarmupCosineDecay": (
        {"peak": 1.0, "warmup_steps": 4, "decay_steps": 16},
        lambda t: t / 4 if t < 4 else _cos(t - 4, 16, 0.0, 1.0)),
    "PiecewiseConstantDecay": (
        {"boundaries": [3, 7], "values": [1.0, 0.5, 0.1]},
        lambda t: 1.0 if t <= 3 else (0.5 if t <= 7 else 0.1)),
    "PolynomialDecay": (
        {"initial_learning_rate": 0.1, "decay_steps": 10, "power": 2.0},
        lambda t: (0.1 - 1e-4) * (1 - min(t, 10) / 10) ** 2 + 1e-4),
    "PolynomialDecay/cycle": (
        {"initial_learning_rate": 0.1, "decay_steps": 10, "end_learning_rate": 0.01,
         "cycle": True},
        lambda t: (0.09 * (1 - t / (10 * max(1, math.ceil(t / 10)))) + 0.01)),
    "StepDecay": (
        {"initial_learning_rate": 1.0, "step_size": 5, "gamma": 0.5},
        lambda t: 0.5 ** (t // 5)),
}
STEPS = [0, 1, 3, 4, 5, 7, 8, 10, 13, 20, 24, 30, 100]


def test_every_schedule_has_a_case():
    covered = {name.split("/")[0] for name in CASES}
    assert covered == set(SCHEDULES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_schedule_matches_keras_formula(case):
    args, reference = CASES[case]
    schedule = get_schedule(case.split("/")[0], args)
    got = jax.jit(jax.vmap(schedule))(jnp.asarray(STEPS))
    want = np.array([reference(t) for t in STEPS], np.float32)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-7)


def test_schedule_name_is_case_insensitive_and_positional_args_bind():
    by_keyword = get_schedule("exponentialdecay",
                              {"initial_learning_rate": 0.1, "decay_steps": 10,
                               "decay_rate": 0.5})
    by_position = get_schedule("ExponentialDecay", [0.1, 10, 0.5])
    assert float(by_keyword(7)) == pytest.approx(float(by_position(7)))
    assert [n for n, _ in schedule_signature("StepDecay")] == [
        "initial_learning_rate", "step_size", "gamma"]


def test_spec_spellings_are_aliases():
    step = get_schedule("StepDecay", {"initial": 1.0, "step_size": 2, "gamma": 0.1})
    assert float(step(2)) == pytest.approx(0.1)
    warm = get_schedule("WarmupCosineDecay",
                        {"peak_learning_rate": 2.0, "warmup_steps": 2, "decay_steps": 4})
    assert float(warm(2)) == pytest.approx(2.0)
    assert float(warm(0)) == 0.0  # the warmup starts at 0.0 by default


@pytest.mark.parametrize("name,args,match", [
    ("ExponentalDecay", {}, "Did you mean 'ExponentialDecay'"),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_step": 1,
                          "decay_rate": 0.5}, "Did you mean 'decay_steps'"),
    ("ExponentialDecay", {"initial_learning_rate": 0.1}, "needs 'decay_steps'"),
    ("ExponentialDecay", {"initial_learning_rate": -0.1, "decay_steps": 1,
                          "decay_rate": 0.5}, "initial_learning_rate' must be in"),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 0}, "decay_steps"),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "alpha": 2.0},
     "alpha"),
    ("StepDecay", {"initial_learning_rate": "big", "step_size": 1}, "must be a number"),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 1,
                          "decay_rate": 0.5, "staircase": 1}, "True or False"),
    ("PiecewiseConstantDecay", {"boundaries": [1, 2], "values": [1.0]}, "one more"),
    ("PiecewiseConstantDecay", {"boundaries": [2, 1], "values": [1.0, 2.0, 3.0]},
     "strictly increasing"),
    ("PolynomialDecay", {"initial_learning_rate": float("nan"), "decay_steps": 1},
     "finite"),
])
def test_bad_schedule_config_is_a_typed_error(name, args, match):
    with pytest.raises(TrainConfigError, match=match):
        get_schedule(name, args)
