"""What one XLA:CPU compilation of a population training program costs, from a bare step up.

The end-to-end digits search (``hpo_end_to_end.py``) spends most of a cold run compiling.
This measures, for 16 members of the digits MLP (64 -> 128 -> 10, batch 64, 17 steps an
epoch), the compile CPU seconds and the seconds per epoch of

* hand-written vmapped epochs (a ``lax.scan`` of steps), from a bare SGD step up to Adam with
  dropout and a 3-way activation switch, which is what the searched network needs;
* the engine's own epoch program for that network (``Program._epoch_impl``: the same step
  plus the shuffle, validation and test passes, and best-weight bookkeeping),

and dropout alone (float32 uniforms against our 16-bit draws), each under the engine's
cheap CPU options (``COMPILER_OPTIONS["epoch_fast"]``) and XLA's defaults. Compile time is
process CPU time of ``.compile()`` (XLA compiles on one thread);
epoch time is the median of 15 runs. Nothing is cached (no persistent cache is enabled).

    python benchmarks/compile_floor.py
"""

from __future__ import annotations

import os
import pathlib
import statistics
import sys
import time
from functools import partial

os.environ.setdefault("NEURAL_JAX_COMPILATION_CACHE", "0")
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

P, STEPS, BATCH, N = 16, 17, 64, 1150
ACTS = [jax.nn.relu, partial(jax.nn.gelu, approximate=False), jnp.tanh]


def hand_epoch(adam: bool, dropout: bool, switch: bool):
    """A vmapped epoch of the MLP with the chosen parts."""
    tx = (optax.inject_hyperparams(optax.adam)(learning_rate=1e-3, b1=0.9) if adam
          else optax.sgd(1e-3))

    def init(key):
        k1, k2 = jax.random.split(key)
        p = {"w1": jax.random.normal(k1, (64, 128)) * 0.1, "b1": jnp.zeros(128),
             "w2": jax.random.normal(k2, (128, 10)) * 0.1, "b2": jnp.zeros(10)}
        return p, tx.init(p)

    def loss(p, x, y, key, act, rate):
        pre = x @ p["w1"] + p["b1"]
        h = lax.switch(act, ACTS, pre) if switch else jax.nn.relu(pre)
        if dropout:
            keep = jax.random.bernoulli(key, 1.0 - rate, h.shape)
            h = jnp.where(keep, h / (1.0 - rate), 0.0)
        z = h @ p["w2"] + p["b2"]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), y[:, None], 1))

    def epoch(p, s, key, act, rate, x, y):
        def step(carry, i):
            p, s = carry
            k = jax.random.fold_in(key, i)
            idx = jax.random.randint(k, (BATCH,), 0, N)
            value, g = jax.value_and_grad(loss)(p, x[idx], y[idx], k, act, rate)
            u, s = tx.update(g, s, p)
            return (optax.apply_updates(p, u), s), value
        return lax.scan(step, (p, s), jnp.arange(STEPS))

    keys = jax.random.split(jax.random.key(0), P)
    p, s = jax.vmap(init)(keys)
    args = (p, s, keys, jnp.arange(P) % 3, jnp.full(P, 0.2), jnp.ones((N, 64)),
            jnp.zeros(N, jnp.int32))
    fn = jax.vmap(epoch, in_axes=(0, 0, 0, 0, 0, None, None))
    return fn, args


def engine_epoch():
    """The engine's epoch program for the searched digits network, and its arguments."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from hpo_end_to_end import CODE

    from neural_jax.data import load
    from neural_jax.dsl.api import parse
    from neural_jax.ir.lift import lift
    from neural_jax.ir.space import bind_search_space, search_space
    from neural_jax.population.bucket import bucket_configs
    from neural_jax.population.bucket_run import BucketRun

    net0 = parse(CODE)
    net = lift(net0, bind_search_space(net0, None))
    configs = []
    for i in range(P):
        c = {p.name: (p.choices[i % len(p.choices)] if p.kind == "categorical" else p.low)
             for p in search_space(net)}
        configs.append({**c, "seed": i})
    fitted = load("digits").fit_to(net.input_shape)
    (bucket,) = bucket_configs(net, configs, {"epochs": 10}, pad=True,
                               n_train=len(fitted.x_train))

    def data(vs, seed):
        return fitted, fitted.split_validation(vs, seed=seed) if vs > 0 else None

    run = BucketRun(net, data, bucket, "vmap", pad_members=P)
    prog = run.prog
    hp_rows = [run.model.hparams(c) for c in bucket.configs]
    hp = {k: np.stack([np.asarray(r[k]) for r in hp_rows]) for k in hp_rows[0]}
    opt_vals = {k: np.asarray([v[k] for v in bucket.opt_values], np.float32)
                for k in bucket.opt_values[0]}
    members = prog.init(np.asarray(bucket.seeds, np.uint32), hp, run.x0, opt_vals)
    return prog._epoch_impl, (members, np.ones(P, bool), run.x, run.y, run.evals)


def dropout_epoch(ours: bool):
    """17 dropout draws of (64, 128) for every member at rate 0.3: ours (16-bit draws, two
    per threefry word, :func:`neural_jax.jax.ops.dropout`) or float32 uniforms
    (``jax.random.uniform(...) < keep``, one word per draw)."""
    from neural_jax.jax.ops import dropout

    def uniform(x, rate, key):
        keep = 1.0 - rate
        return jnp.where(jax.random.uniform(key, x.shape) < keep, x / keep, 0.0)

    drop = dropout if ours else uniform

    def epoch(key, rate, x):
        def step(total, i):
            return total + jnp.sum(drop(x, rate, jax.random.fold_in(key, i))), None
        return lax.scan(step, 0.0, jnp.arange(STEPS))[0]

    keys = jax.random.split(jax.random.key(0), P)
    return jax.vmap(epoch, in_axes=(0, 0, None)), (keys, jnp.full(P, 0.3), jnp.ones((BATCH, 128)))


def measure(fn, args, options) -> tuple[float, float]:
    jitted = jax.jit(fn, compiler_options=options) if options else jax.jit(fn)
    lowered = jitted.lower(*args)
    t = time.process_time()
    compiled = lowered.compile()
    compile_s = time.process_time() - t
    jax.block_until_ready(compiled(*args))
    runs = []
    for _ in range(15):
        t = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        runs.append(time.perf_counter() - t)
    return compile_s, statistics.median(runs)


def main() -> None:
    from neural_jax.population.compiling import COMPILER_OPTIONS

    fast = dict(COMPILER_OPTIONS["epoch_fast"])
    rows = [("bare step: SGD, relu", hand_epoch(False, False, False)),
            ("+ Adam (hyperparameters in state)", hand_epoch(True, False, False)),
            ("+ dropout", hand_epoch(True, True, False)),
            ("+ relu/gelu/tanh switch", hand_epoch(True, True, True)),
            ("engine epoch program (+ shuffle, eval, bookkeeping)", engine_epoch()),
            ("dropout alone, float32 uniform draws", dropout_epoch(ours=False)),
            ("dropout alone, ours (two 16-bit draws per word)", dropout_epoch(ours=True))]
    print(f"machine: {os.cpu_count()} CPU cores, jax {jax.__version__}; {P} members, "
          f"{STEPS} steps of batch {BATCH} an epoch")
    print("| program | compile s (fast options) | epoch s (fast) | compile s (XLA defaults) "
          "| epoch s (defaults) |")
    print("|---|---|---|---|---|")
    for name, (fn, args) in rows:
        cf, ef = measure(fn, args, fast)
        cd, ed = measure(fn, args, {})
        print(f"| {name} | {cf:.2f} | {ef:.4f} | {cd:.2f} | {ed:.4f} |", flush=True)


if __name__ == "__main__":
    main()
