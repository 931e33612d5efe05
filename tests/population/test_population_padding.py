"""Width padding in the population trainer (exact per member), member-count padding, the
number of compiled programs per search, and the persistent compilation cache."""

from __future__ import annotations

import collections
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from neural_jax import parse
from neural_jax.data import load as load_dataset
from neural_jax.population import program as population_program
from neural_jax.population.bucket import bucket_configs
from neural_jax.population.engine import train_population
from neural_jax.population.trainer import train

ROOT = pathlib.Path(__file__).resolve().parents[2]
MLP = """
network PaddedMLP {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(HPO(choice(12, 24)), activation=HPO(choice("relu", "tanh")))
    Dropout(HPO(range(0.0, 0.5)))
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-4, 1e-1)))
  train { epochs: 2, batch_size: 32, validation_split: 0.2, seed: 1 }
}
"""
CNN = """
network PaddedCNN {
  input: (8, 8, 1)
  layers:
    Conv2D(HPO(choice(2, 4)), kernel_size=3, padding="same", activation="relu")
    MaxPooling2D(pool_size=2)
    Flatten()
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-4, 1e-1)))
  train { epochs: 1, batch_size: 64, validation_split: 0.2, seed: 0 }
}
"""


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture
def fresh_programs(monkeypatch):
    """No compiled program reused from another test."""
    monkeypatch.setattr(population_program, "_PROGRAMS", collections.OrderedDict())


def _losses(member):
    return [h["loss"] for h in member.history]


def cfg(units, lr=3e-3, act="relu", rate=0.2, **kw):
    return {"layers[1].units": units, "optimizer.learning_rate": lr,
            "layers[1].activation": act, "layers[2].rate": rate, **kw}


def test_padded_members_train_exactly_as_alone(digits, fresh_programs):
    net = parse(MLP)
    configs = [cfg(24, 1e-2, "tanh", 0.3), cfg(12, 3e-3, rate=0.25), cfg(12, 2e-2, seed=5)]
    r = train_population(net, digits, configs, mode="vmap", pad=True)
    assert len(r.stats) == 1 and r.stats[0]["pads"] == ("layers[1].units",)
    assert r.stats[0]["traces"]["epoch"] == 1
    alone = train_population(net, digits, configs, mode="vmap", pad=False)
    assert len(alone.stats) == 2
    for m, a in zip(r, alone):
        np.testing.assert_allclose(_losses(m), _losses(a), rtol=1e-5, atol=1e-5)
        assert m.val["loss"] == pytest.approx(a.val["loss"], rel=1e-5, abs=1e-5)
        assert m.test["accuracy"] == pytest.approx(a.test["accuracy"], abs=1e-6)
    # the narrow member with the network's seed is the single trainer's run too
    single = train(net, digits, configs[1])
    np.testing.assert_allclose(_losses(r[1]), _losses(single), rtol=1e-5, atol=1e-5)
    assert r[1].val["accuracy"] == pytest.approx(single.val["accuracy"], abs=1e-6)


def test_padded_conv_filters_are_exact(digits, fresh_programs):
    net = parse(CNN)
    configs = [{"layers[0].filters": f, "optimizer.learning_rate": 1e-2, "seed": i}
               for i, f in enumerate((2, 4, 2))]
    r = train_population(net, digits, configs, pad=True)
    alone = train_population(net, digits, configs, pad=False)
    assert [len(r.stats), len(alone.stats)] == [1, 2]
    for m, a in zip(r, alone):
        np.testing.assert_allclose(_losses(m), _losses(a), rtol=1e-5, atol=1e-5)


def test_auto_padding_follows_the_cost():
    net = parse(MLP)
    configs = [cfg(12), cfg(24)]
    assert len(bucket_configs(net, configs, pad="auto", n_train=1_000)) == 1
    assert len(bucket_configs(net, configs, pad=False)) == 2
    big = parse(MLP.replace("choice(12, 24)", "choice(16, 8192)"))
    wide = [cfg(16), cfg(8192)]
    assert len(bucket_configs(big, wide, pad="auto", n_train=1_000_000)) == 2  # costs > compile
    assert len(bucket_configs(big, wide, pad=True)) == 1


def test_a_search_compiles_one_program_of_each_kind(fresh_programs, monkeypatch):
    from neural_jax.hpo import HPOptimizer
    from neural_jax.population.program import Program

    traces = collections.Counter()
    for kind in ("_init_impl", "_epoch_impl", "_evaluate_impl"):
        real = getattr(Program, kind)

        def spy(self, *a, _real=real, _kind=kind):
            traces[_kind] += 1  # runs only while tracing
            return _real(self, *a)

        monkeypatch.setattr(Program, kind, spy)
    sizes = []
    opt = HPOptimizer(strategy="random", n_trials=7, population=4, epochs=2, seed=0,
                      compilation_cache=False,
                      on_round=lambda i, recs: sizes.append(len(recs)))
    opt.optimize(MLP.replace("PaddedMLP", "CountedMLP"), dataset_name="digits")
    assert sizes == [4, 3]  # two rounds of different sizes, two widths ...
    assert traces == {"_init_impl": 1, "_epoch_impl": 1}  # ... one program of each kind
    assert opt.best_value > 0.5


def test_pad_members_keeps_one_compiled_size(digits, fresh_programs):
    net = parse(MLP)
    a = train_population(net, digits, [cfg(12, seed=i) for i in range(3)], pad_members=6)
    b = train_population(net, digits, [cfg(24, seed=i) for i in range(5)], pad_members=6)
    assert a.stats[0]["sizes"] == [6, 6] and b.stats[0]["sizes"] == [6, 6]
    assert a.stats[0]["traces"]["epoch"] + b.stats[0]["traces"]["epoch"] == 1


CACHE_SCRIPT = """
import json, os, jax
from neural_jax.hpo import HPOptimizer
from neural_jax.population.compile_cache import enable_compilation_cache
opt = HPOptimizer(strategy="random", n_trials=2, population=2, epochs=1, seed=0)
opt.optimize('''{net}''', dataset_name="digits")
store = getattr(opt, "program_store", None)
print(json.dumps({{"dir": jax.config.jax_compilation_cache_dir,
                  "off": enable_compilation_cache(False), "best": opt.best_value,
                  "hits": store and store.hits, "misses": store and store.misses}}))
"""


@pytest.mark.parametrize("setting", ["dir", "0"])
def test_compilation_cache_on_by_default_and_off_by_env(tmp_path, setting):
    cache = tmp_path / "xla"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu",
           "NEURAL_JAX_COMPILATION_CACHE": str(cache) if setting == "dir" else "0"}
    script = CACHE_SCRIPT.format(net=MLP.replace("PaddedMLP", "CachedMLP"))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    assert rec["off"] is None
    if setting == "dir":
        assert rec["dir"] == str(cache)
        names = [p.name for p in cache.iterdir()]
        assert any("epoch_impl" in n for n in names) and any("init_impl" in n for n in names)
        # the init and epoch programs were exported beside the compiled ones ...
        assert (rec["hits"], rec["misses"]) == (0, 2)
        assert len(list((cache / "programs").glob("*.program"))) == 2
        # ... so a second process loads both instead of tracing them, with the same result
        again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               env=env, cwd=ROOT, timeout=600, check=False)
        assert again.returncode == 0, again.stderr[-3000:]
        rec2 = json.loads(again.stdout.strip().splitlines()[-1])
        assert (rec2["hits"], rec2["misses"]) == (2, 0)
        assert rec2["best"] == rec["best"]
    else:
        assert not rec["dir"] and not cache.exists()
        assert rec["hits"] is None
