"""The program store: exported programs reload without tracing, bad entries are misses."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from neural_jax.population.program_store import ProgramStore, code_digest


def step(params, batch):
    """A real optimizer step whose result holds optax's NamedTuple states."""
    tx = optax.adam(1e-2)
    state = tx.init(params)

    def loss(p):
        return jnp.mean((batch["x"] @ p["w"] + p["b"] - batch["y"]) ** 2)

    value, grads = jax.value_and_grad(loss)(params)
    updates, state = tx.update(grads, state, params)
    return optax.apply_updates(params, updates), state, {"loss": value}


@pytest.fixture
def args():
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(3, 2)).astype(np.float32), "b": np.zeros(2, np.float32)}
    batch = {"x": rng.normal(size=(8, 3)).astype(np.float32),
             "y": rng.normal(size=(8, 2)).astype(np.float32)}
    return params, batch


def traced(fn):
    count = []

    def wrapped(*a):
        count.append(1)
        return fn(*a)

    wrapped.__name__ = fn.__name__
    return wrapped, count


def same(a, b):
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    return ta == tb and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb))


def test_second_store_loads_without_tracing(tmp_path, args):
    want = jax.jit(step)(*args)
    fn, count = traced(step)
    first = ProgramStore(tmp_path)
    assert same(first.compile(fn, args, ("step",))(*args), want)
    assert (first.hits, first.misses, len(count)) == (0, 1, 1)
    second = ProgramStore(tmp_path)  # as a new process would
    run = second.compile(fn, args, ("step",), {"xla_backend_optimization_level": 1})
    # other compile options are another entry; the same options load it
    assert (second.hits, second.misses) == (0, 1)
    third = ProgramStore(tmp_path)
    run = third.compile(fn, args, ("step",), {"xla_backend_optimization_level": 1})
    assert (third.hits, third.misses, len(count)) == (1, 0, 2)
    assert same(run(*args), want)


def test_key_depends_on_shapes_and_identity(tmp_path, args):
    store = ProgramStore(tmp_path)
    fn, count = traced(step)
    store.compile(fn, args, ("a",))
    params, batch = args
    longer = {k: np.concatenate([v, v]) for k, v in batch.items()}
    store.compile(fn, (params, longer), ("a",))
    store.compile(fn, args, ("b",))
    assert (store.hits, store.misses, len(count)) == (0, 3, 3)
    k1 = store.key("x")
    assert k1 == store.key("x") and k1 != store.key("y")
    assert len(code_digest()) == 64


def test_key_changes_with_the_libraries_traced_into_a_program(monkeypatch):
    store = ProgramStore("unused")
    before = store.key("x")
    monkeypatch.setattr(optax, "__version__", "0.0.0-other")
    assert store.key("x") != before  # an upgraded optax never runs an old program


def test_corrupt_entry_is_a_miss_and_is_rewritten(tmp_path, args):
    fn, _ = traced(step)
    ProgramStore(tmp_path).compile(fn, args, ("step",))
    (entry,) = tmp_path.glob("*.program")
    entry.write_bytes(b"not a program")
    store = ProgramStore(tmp_path)
    run = store.compile(fn, args, ("step",))
    assert (store.hits, store.misses) == (0, 1)
    assert same(run(*args), jax.jit(step)(*args))
    again = ProgramStore(tmp_path)
    again.compile(fn, args, ("step",))
    assert again.hits == 1  # the rewritten entry is good


def test_unwritable_store_still_runs(tmp_path, args):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the directory should be")
    store = ProgramStore(blocker / "programs")
    fn, _ = traced(step)
    run = store.compile(fn, args, ("step",))
    assert same(run(*args), jax.jit(step)(*args))
    assert store.misses == 1 and not (blocker / "programs").exists()



MLP = """
network StoreRefusedMLP {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(16, activation="relu")
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-3, 1e-2)))
  train { epochs: 2, batch_size: 64, validation_split: 0.2, seed: 0 }
}
"""


def test_a_program_the_store_refuses_is_compiled_directly(tmp_path, monkeypatch):
    """When exporting fails (say, an op jax.export does not take), training goes on."""
    from neural_jax import parse
    from neural_jax.data import load
    from neural_jax.population.engine import train_population

    def refuse(self, *a, **k):
        raise NotImplementedError("cannot export this")

    monkeypatch.setattr(ProgramStore, "prepare", refuse)
    store = ProgramStore(tmp_path)
    configs = [{"optimizer.learning_rate": 1e-3}, {"optimizer.learning_rate": 1e-2}]
    r = train_population(parse(MLP), load("digits"), configs, program_store=store)
    assert [m.failed for m in r] == [False, False]
    assert all(m.history[-1]["loss"] < m.history[0]["loss"] for m in r)
    assert all(m.val["accuracy"] > 0.2 for m in r)  # chance is 0.1
    assert r.stats[0]["traces"]["epoch"] == 1 and not list(tmp_path.glob("*.program"))


def test_a_size_limit_evicts_the_least_recently_used(tmp_path, args):
    import os
    import time

    store = ProgramStore(tmp_path)
    for name in ("a", "b", "c"):
        store.compile(step, args, (name,))
    paths = sorted(tmp_path.glob("*.program"), key=lambda p: p.stat().st_mtime)
    size = max(p.stat().st_size for p in paths)
    old = time.time() - 100
    for age, path in enumerate(paths):  # a oldest, c newest, one second apart
        os.utime(path, (old + age, old + age))
    kept = ProgramStore(tmp_path, max_bytes=3 * size)
    kept.compile(step, args, ("a",))  # a hit: now the most recently used
    assert kept.hits == 1
    kept.max_bytes = 2 * size + size // 2
    kept.compile(step, args, ("d",))  # a write: the two least recently used (b, c) go
    left = set(tmp_path.glob("*.program"))
    assert paths[0] in left and paths[1] not in left and paths[2] not in left
    assert len(left) == 2 and sum(p.stat().st_size for p in left) <= kept.max_bytes
    unlimited = ProgramStore(tmp_path)
    for name in "efg":
        unlimited.compile(step, args, (name,))
    assert len(list(tmp_path.glob("*.program"))) == 5


def test_cache_size_limit_comes_from_the_environment(monkeypatch):
    from neural_jax import NeuralValidationError
    from neural_jax.population import compile_cache

    monkeypatch.delenv(compile_cache.MAX_BYTES_ENV, raising=False)
    assert compile_cache.max_bytes() == 2 << 30
    assert compile_cache.program_store_bytes() == (2 << 30) // 4
    monkeypatch.setenv(compile_cache.MAX_BYTES_ENV, "1e9")
    assert compile_cache.max_bytes() == 10**9
    monkeypatch.setenv(compile_cache.MAX_BYTES_ENV, "-1")
    assert compile_cache.program_store_bytes() == -1
    for bad in ("lots", "-5", "1.5", "inf"):
        monkeypatch.setenv(compile_cache.MAX_BYTES_ENV, bad)
        with pytest.raises(NeuralValidationError, match="NEURAL_JAX_CACHE_MAX_BYTES"):
            compile_cache.max_bytes()


def test_trim_removes_the_oldest_xla_entries_first(tmp_path):
    import os
    import time

    from neural_jax.population.compile_cache import trim

    old = time.time() - 100
    for age, name in enumerate(["jit_a-1", "jit_b-2", "jit_c-3"]):
        for suffix, size in (("-cache", 1000), ("-atime", 8)):
            path = tmp_path / f"{name}{suffix}"
            path.write_bytes(b"x" * size)
            os.utime(path, (old + age, old + age))
    (tmp_path / "programs").mkdir()  # the program store's directory is not touched
    assert trim(tmp_path, 5000) == 0
    assert trim(tmp_path, 2000) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "jit_b-2-atime", "jit_b-2-cache", "jit_c-3-atime", "jit_c-3-cache", "programs"]
    assert trim(tmp_path, 0) == 2 and [p.name for p in tmp_path.iterdir()] == ["programs"]
