"""Optimizer conformance, hyperparameters in state, and one compilation per population."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from neural_jax.train import (
    OPTIMIZERS,
    TrainConfigError,
    build_optimizer,
    get_schedule,
    hyperparams_of,
    optimizer_hyperparams,
    optimizer_signature,
    optimizer_structure,
    set_hyperparams,
)

SPEC_OPTIMIZERS = ["Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adamax", "Nadam", "Lion"]

_rng = np.random.default_rng(0)
A = jnp.asarray(_rng.normal(size=(32, 4)), jnp.float32)
B = A @ jnp.asarray([1.0, -2.0, 0.5, 3.0]) + 0.1


def lsq(params):
    return jnp.mean(jnp.square(A @ params["w"] + params["b"] - B))


def run(opt, steps, state=None, params=None):
    params = params or {"w": jnp.zeros(4), "b": jnp.zeros(())}
    state = opt.init(params) if state is None else state

    @jax.jit
    def step(params, state):
        grads = jax.grad(lsq)(params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    for _ in range(steps):
        params, state = step(params, state)
    return params, state


def test_registry_covers_the_spec():
    assert set(SPEC_OPTIMIZERS) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", SPEC_OPTIMIZERS)
def test_optimizer_lowers_least_squares_loss(name):
    lr = 0.5 if name == "Adagrad" else 0.05  # Adagrad's steps shrink fastest
    opt = build_optimizer(name, {"learning_rate": lr})
    start = float(lsq({"w": jnp.zeros(4), "b": jnp.zeros(())}))
    params, state = run(opt, 40)
    assert float(lsq(params)) < 0.5 * start
    assert np.isfinite(float(lsq(params)))
    assert float(hyperparams_of(state)["learning_rate"]) == pytest.approx(lr)


@pytest.mark.parametrize("name", SPEC_OPTIMIZERS)
def test_optimizer_hyperparams_are_injectable(name):
    opt = build_optimizer(name, {"learning_rate": 0.05})
    params = {"w": jnp.ones(4), "b": jnp.ones(())}
    grads = jax.grad(lsq)(params)
    state = opt.init(params)
    small = set_hyperparams(state, learning_rate=0.01)
    big = set_hyperparams(state, learning_rate=0.1)
    update = jax.jit(opt.update)
    u_small, _ = update(grads, small, params)
    u_big, _ = update(grads, big, params)
    # Every direction here is linear in the learning rate at the first step.
    np.testing.assert_allclose(u_big["w"], 10 * u_small["w"], rtol=1e-4)
    names = set(hyperparams_of(state))
    for arg, default in optimizer_signature(name):
        if isinstance(default, float) and arg != "initial_accumulator_value":
            assert arg in names


@pytest.mark.parametrize("name", SPEC_OPTIMIZERS)
def test_optimizer_with_schedule_and_weight_decay_runs(name):
    opt = build_optimizer(name, {
        "learning_rate": {"schedule": "ExponentialDecay",
                          "args": {"initial_learning_rate": 0.05, "decay_steps": 10,
                                   "decay_rate": 0.5}},
        "weight_decay": 1e-4, "global_clipnorm": 10.0})
    params, state = run(opt, 20)
    assert float(lsq(params)) < float(lsq({"w": jnp.zeros(4), "b": jnp.zeros(())}))
    hp = hyperparams_of(state)
    # The rate used by the 20th update (step 19).
    assert float(hp["learning_rate"]) == pytest.approx(0.05 * 0.5 ** 1.9, rel=1e-5)
    assert float(hp["learning_rate.decay_rate"]) == pytest.approx(0.5)


def test_keras_defaults():
    hp = optimizer_hyperparams("Adam")
    assert hp == pytest.approx({"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999,
                                "epsilon": 1e-7})
    assert optimizer_hyperparams("SGD") == pytest.approx(
        {"learning_rate": 0.01, "momentum": 0.0})
    assert optimizer_hyperparams("AdamW")["weight_decay"] == pytest.approx(0.004)
    assert optimizer_hyperparams("Lion")["beta_2"] == pytest.approx(0.99)
    assert optimizer_hyperparams("rmsprop")["rho"] == pytest.approx(0.9)


def test_sgd_momentum_and_weight_decay_follow_keras():
    lr, m, wd = 0.1, 0.9, 0.01
    opt = build_optimizer("SGD", {"learning_rate": lr, "momentum": m, "nesterov": True,
                                  "weight_decay": wd})
    theta = jnp.array([1.0, -2.0])
    state = opt.init(theta)
    v = np.zeros(2)
    expected = np.asarray(theta)
    for g in ([0.5, 1.0], [-1.0, 0.25]):
        g = np.asarray(g)
        decayed = expected - lr * wd * expected  # Keras applies the decay first
        v = m * v - lr * g
        expected = decayed + m * v - lr * g
        updates, state = opt.update(jnp.asarray(g), state, theta)
        theta = optax.apply_updates(theta, updates)
        np.testing.assert_allclose(theta, expected, rtol=1e-6)


def test_adam_matches_optax_adam():
    params = {"w": jnp.ones(4), "b": jnp.ones(())}
    ours = build_optimizer("Adam", {"learning_rate": 0.01, "epsilon": 1e-8})
    ref = optax.adam(0.01, eps=1e-8)
    s1, s2 = ours.init(params), ref.init(params)
    update1, update2 = jax.jit(ours.update), jax.jit(ref.update)
    for _ in range(3):
        g = jax.grad(lsq)(params)
        u1, s1 = update1(g, s1, params)
        u2, s2 = update2(g, s2, params)
        np.testing.assert_allclose(u1["w"], u2["w"], rtol=1e-5)
        params = optax.apply_updates(params, u1)


def test_clipping_arguments():
    grads = jnp.array([30.0, 40.0])  # norm 50
    for args, want in [({"clipnorm": 5.0}, [-3.0, -4.0]),
                       ({"global_clipnorm": 5.0}, [-3.0, -4.0]),
                       ({"clipvalue": 1.0}, [-1.0, -1.0])]:
        opt = build_optimizer("SGD", {"learning_rate": 1.0, **args})
        updates, _ = opt.update(grads, opt.init(grads))
        np.testing.assert_allclose(updates, want, rtol=1e-6)


def test_one_compilation_for_four_members_with_different_rates():
    opt = build_optimizer("SGD", {"learning_rate": 0.1})
    rates = jnp.array([0.1, 0.01, 0.3, 0.0])
    params = {"w": jnp.zeros((4, 4)), "b": jnp.zeros((4,))}
    states = jax.vmap(lambda p, lr: set_hyperparams(opt.init(p), learning_rate=lr))(
        params, rates)
    traces = []

    @jax.jit
    def step(params, states):
        traces.append(1)

        def member(p, s):
            g = jax.grad(lsq)(p)
            u, s = opt.update(g, s, p)
            return optax.apply_updates(p, u), s, g

        return jax.vmap(member)(params, states)

    new_params, states, grads = step(params, states)
    np.testing.assert_allclose(new_params["w"], -rates[:, None] * grads["w"], rtol=1e-6)
    # New values written into state do not retrace.
    states = set_hyperparams(states, learning_rate=jnp.array([0.2, 0.2, 0.05, 0.05]))
    step(new_params, states)
    assert len(traces) == 1
    np.testing.assert_allclose(hyperparams_of(states)["learning_rate"], [0.2, 0.2, 0.05, 0.05])


def test_one_compilation_for_members_with_different_schedule_args():
    configs = [{"learning_rate": {"schedule": "WarmupCosineDecay",
                                  "args": {"peak": peak, "warmup_steps": warm,
                                           "decay_steps": 10}},
                "beta_1": b1}
               for peak, warm, b1 in [(0.1, 2, 0.9), (0.05, 4, 0.8), (0.2, 1, 0.95),
                                      (0.01, 3, 0.5)]]
    keys = {optimizer_structure("Adam", c) for c in configs}
    assert len(keys) == 1
    opt = build_optimizer("Adam", configs[0])
    values = {k: jnp.asarray([optimizer_hyperparams("Adam", c)[k] for c in configs])
              for k in optimizer_hyperparams("Adam", configs[0])}
    params = {"w": jnp.zeros((4, 4)), "b": jnp.zeros((4,))}
    states = jax.vmap(lambda p, v: set_hyperparams(opt.init(p), **v))(params, values)
    traces = []

    @jax.jit
    def step(params, states):
        traces.append(1)

        def member(p, s):
            u, s = opt.update(jax.grad(lsq)(p), s, p)
            return optax.apply_updates(p, u), s

        return jax.vmap(member)(params, states)

    seen = []
    for _ in range(6):
        params, states = step(params, states)
        seen.append(hyperparams_of(states)["learning_rate"])
    assert len(traces) == 1
    for i, config in enumerate(configs):
        reference = get_schedule("WarmupCosineDecay", config["learning_rate"]["args"])
        np.testing.assert_allclose([s[i] for s in seen],
                                   [float(reference(t)) for t in range(6)], rtol=1e-5)
    np.testing.assert_allclose(hyperparams_of(states)["beta_1"], [0.9, 0.8, 0.95, 0.5])


def test_structural_arguments_change_the_bucket_key():
    assert optimizer_structure("Adam", {"learning_rate": 0.1}) == optimizer_structure(
        "adam", {"learning_rate": 0.2, "beta_1": 0.5})
    assert optimizer_structure("Adam") != optimizer_structure("Adam", {"amsgrad": True})
    assert optimizer_structure("Adam") != optimizer_structure("Adam",
                                                              {"weight_decay": 0.1})
    assert optimizer_structure("Adam") != optimizer_structure("AdamW")


@pytest.mark.parametrize("name,args,match", [
    ("Adamm", {}, "Did you mean 'Adam'"),
    ("Adam", {"lerning_rate": 0.1}, "Did you mean 'learning_rate'"),
    ("Adam", {"beta1": 0.9}, "Did you mean 'beta_1'"),
    ("SGD", {"beta_1": 0.9}, "SGD has no argument 'beta_1'"),
    ("Adam", {"learning_rate": -0.1}, "learning_rate' must be in"),
    ("Adam", {"beta_1": 1.0}, r"beta_1' must be in \[0, 1\)"),
    ("RMSprop", {"rho": -0.5}, "rho"),
    ("SGD", {"momentum": 1.5}, "momentum"),
    ("Adam", {"weight_decay": -1.0}, "weight_decay"),
    ("AdamW", {"weight_decay": None}, "weight_decay' must be a number"),
    ("Adam", {"learning_rate": "fast"}, "must be a number"),
    ("SGD", {"nesterov": "yes"}, "True or False"),
    ("Adam", {"clipnorm": 1.0, "clipvalue": 1.0}, "only one of"),
    ("Adam", {"learning_rate": {"schedule": "CosinDecay", "args": {}}},
     "Did you mean 'CosineDecay'"),
    ("Adam", {"learning_rate": {"args": {}}}, "needs a 'schedule'"),
])
def test_bad_optimizer_config_is_a_typed_error(name, args, match):
    with pytest.raises(TrainConfigError, match=match):
        build_optimizer(name, args)
    assert issubclass(TrainConfigError, ValueError)


def test_set_hyperparams_errors():
    plain = build_optimizer("Adam").init(jnp.zeros(2))
    with pytest.raises(TrainConfigError, match="Did you mean 'beta_1'"):
        set_hyperparams(plain, beta1=0.5)
    scheduled = build_optimizer("Adam", {"learning_rate": {
        "schedule": "StepDecay", "args": {"initial": 0.1, "step_size": 3}}}).init(
        jnp.zeros(2))
    with pytest.raises(TrainConfigError, match="follows a schedule"):
        set_hyperparams(scheduled, learning_rate=0.5)
    state = set_hyperparams(scheduled, learning_rate={"gamma": 0.5})
    assert float(hyperparams_of(state)["learning_rate.gamma"]) == 0.5
    with pytest.raises(TrainConfigError, match="no injected hyperparameters"):
        hyperparams_of(optax.adam(0.1).init(jnp.zeros(2)))


def test_state_nested_in_a_chain_is_found():
    opt = optax.chain(optax.identity(), build_optimizer("SGD", {"learning_rate": 0.1}))
    state = set_hyperparams(opt.init(jnp.zeros(2)), learning_rate=0.5)
    updates, _ = opt.update(jnp.ones(2), state)
    np.testing.assert_allclose(updates, [-0.5, -0.5])


def test_piecewise_schedule_lists_vary_per_member():
    def config(boundaries, values):
        return {"learning_rate": {"schedule": "PiecewiseConstantDecay",
                                  "args": {"boundaries": boundaries, "values": values}}}

    configs = [config([1, 2], [1.0, 0.5, 0.25]), config([1, 2], [0.2, 0.1, 0.0])]
    assert optimizer_structure("SGD", configs[0]) == optimizer_structure("SGD", configs[1])
    longer = config([1, 2, 3], [1.0, 0.5, 0.25, 0.1])
    assert optimizer_structure("SGD", configs[0]) != optimizer_structure("SGD", longer)
    opt = build_optimizer("SGD", configs[0])
    values = {k: jnp.stack([jnp.asarray(optimizer_hyperparams("SGD", c)[k]) for c in configs])
              for k in optimizer_hyperparams("SGD", configs[0])}
    states = jax.vmap(lambda v: set_hyperparams(opt.init(jnp.zeros(())), **v))(values)
    update = jax.jit(jax.vmap(lambda s: opt.update(jnp.ones(()), s)))
    seen = []
    for _ in range(4):
        updates, states = update(states)
        seen.append(-updates)
    np.testing.assert_allclose(np.stack(seen, 1), [[1.0, 1.0, 0.5, 0.25],
                                                   [0.2, 0.2, 0.1, 0.0]], rtol=1e-6)
