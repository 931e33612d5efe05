"""The population axis is sharded over every local device (4 fake CPU devices here)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np

from neural_jax import parse
from neural_jax.data import load as load_dataset
from neural_jax.population.engine import train_population

ROOT = pathlib.Path(__file__).resolve().parents[2]
NET = """
network DigitsSGD {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(32, activation="relu")
    Output(10, activation="softmax")
  optimizer: SGD(learning_rate=HPO(log_range(1e-4, 1e30)))
  train { epochs: 2, batch_size: 32, validation_split: 0.2, seed: 0 }
}
"""
CONFIGS = [{"optimizer.learning_rate": lr, "seed": i}
           for i, lr in enumerate((0.02, 0.05, 1e30, 0.1, 0.2, 0.3))]

SCRIPT = f"""
import json, jax
from neural_jax import parse
from neural_jax.data import load
from neural_jax.population import engine as pop
seen = []
orig = pop.Program.bind
def bind(self, model):
    out = orig(self, model)
    epoch = out.epoch
    def spy(members, *a):
        seen.append(len(jax.tree_util.tree_leaves(members)[0].sharding.device_set))
        return epoch(members, *a)
    out.epoch = spy
    return out
pop.Program.bind = bind
r = pop.train_population(parse({NET!r}), load("digits"), {CONFIGS!r}, mode="vmap")
print(json.dumps({{"devices": len(jax.local_devices()), "sharded_over": seen,
                  "sizes": r.stats[0]["sizes"], "traces": r.stats[0]["traces"]["epoch"],
                  "val": [m.val.get("loss") for m in r], "failed": [m.failed for m in r]}}))
"""


def test_population_is_sharded_over_four_devices_and_matches_one_device():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=False, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    assert rec["devices"] == 4
    assert rec["sharded_over"] == [4, 4]
    assert rec["sizes"] == [8, 8]  # 6 members padded to 8; 5 after the failure, still 8
    assert rec["traces"] == 1
    assert rec["failed"] == [False, False, True, False, False, False]
    here = train_population(parse(NET), load_dataset("digits"), CONFIGS, mode="vmap")
    np.testing.assert_allclose([v for v in rec["val"] if v is not None],
                               [m.val["loss"] for m in here if not m.failed], rtol=1e-4)


STORE_SCRIPT = """
import json, sys, warnings, jax
from neural_jax.hpo import HPOptimizer
code = '''
network ShardedStoreMLP {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(HPO(choice(16, 32)), activation="relu")
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-3, 1e-2)))
  train { epochs: 2, batch_size: 32, validation_split: 0.2, seed: 0 }
}
'''
cache = sys.argv[1] if sys.argv[1] != "off" else False
opt = HPOptimizer(strategy="random", n_trials=8, population=4, epochs=2, seed=0,
                  compilation_cache=cache)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    opt.optimize(code, dataset_name="digits")
st = opt.program_store
print(json.dumps({"devices": len(jax.local_devices()), "hits": st and st.hits,
                  "misses": st and st.misses, "vals": [t["value"] for t in opt.trials]}))
"""


def test_sharded_programs_are_stored_and_reload_with_the_same_results(tmp_path):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)}
    env.pop("NEURAL_JAX_COMPILATION_CACHE", None)

    def run(cache):
        out = subprocess.run([sys.executable, "-c", STORE_SCRIPT, cache], capture_output=True,
                             text=True, check=False, env=env, cwd=ROOT, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    plain = run("off")
    cold = run(str(tmp_path / "cache"))
    warm = run(str(tmp_path / "cache"))
    assert plain["devices"] == 4 and plain["hits"] is None
    assert (cold["hits"], cold["misses"]) == (0, 2) and (warm["hits"], warm["misses"]) == (2, 0)
    np.testing.assert_allclose(cold["vals"], plain["vals"], rtol=0, atol=1e-6)
    assert warm["vals"] == cold["vals"]
