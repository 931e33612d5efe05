"""The compiled programs of one bucket: init, one epoch (train + validation), evaluation.

Notation: ``P`` members (the leading axis of every member array), ``N`` training
examples, ``B`` batch size, ``S = floor(N / B)`` steps per epoch.

A member is a pytree ``{"params", "state", "opt", "hp", "key", "best_params",
"best_state", "best_score"}``: its weights, BatchNorm statistics, optimizer state (with
its float hyperparameters inside, see :mod:`neural_jax.train.optimizers`), the model's
per-call values, its PRNG key, and the weights with the best monitored score so far.
Keys follow :class:`neural_jax.train.trainer.Trainer` exactly (``key, init = split(seed)``
then one ``split`` per epoch), so a member trains like a single run with its seed.

One epoch of one member permutes the device-resident training set with its own key and
``lax.scan``s the ``S`` steps, then evaluates every evaluation set it is given (validation,
and the test split, which is only reported) in masked batches: so the metrics of the kept
weights are those of their epoch, and a search needs no separate evaluation program. The
population runs it as

* ``"vmap"``: ``jax.vmap`` over members (batched matmuls, grouped convolutions);
* ``"patches"``: the same, with convolutions computed as patches x matmul
  (``build_model(..., conv_impl="patches")``, :mod:`neural_jax.jax.layers_conv`);
* ``"sequential"``: ``lax.map`` over members inside one program: the member-at-a-time
  baseline, compiled once;
* ``"sequential_patches"``: ``lax.map`` over members with convolutions as patches x
  matmul: one member's activations at a time stay in cache, which on CPU beats both
  vmapped forms for convolutional networks (benchmarks/RESULTS.md).

After the epoch a member whose training loss is not finite, or that is inactive (stopped,
failed, or padding), keeps its previous state: ``where(ok, new, old)`` on every leaf. The
member axis is sharded over ``jax.local_devices()`` by the caller; every function here is
traced once per member count (``Program.traces`` counts it).

Compile time: on CPU a program of a small network compiles in seconds but may run all its
epochs in less, so the programs that run little are compiled with cheaper XLA options
(:data:`COMPILER_OPTIONS`, CPU only): the init and the fallback evaluation, which run once,
without backend optimisation (``xla_backend_optimization_level=0``) and with XLA's older
loop emitters (``xla_cpu_use_fusion_emitters=False``: the digits init compiles in 0.25 s
instead of 1.0 s, so the epoch's compilation beside it has both cores); the epoch, when the
caller estimates its whole run below one compilation (``fast_compile``), at level 1 with
XLA's older loop emitters (``xla_cpu_use_fusion_emitters=False``); the whole run counts every
round of a search that reuses the program (``train_population(rounds=)``). Measured on the
digits MLP (population 16, 2-core CPU, ``benchmarks/compile_floor.py``): the epoch compiles
in about 1.5 s of CPU time instead of 3.3 s and runs an epoch in 0.048 s instead of 0.028 s.
Otherwise XLA's defaults.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from neural_jax.ir.nodes import Network
from neural_jax.train.bucket import Bucket
from neural_jax.train.losses import get_loss
from neural_jax.train.metrics import mean_from_stats
from neural_jax.train.optimizers import build_optimizer, set_hyperparams
from neural_jax.train.trainer import _metric_fns

__all__ = ["COMPILER_OPTIONS", "MODES", "Program", "cached_program", "choose_mode", "compiler_options",
           "eval_batches", "nice_size", "to_host", "tree_put", "tree_take"]

logger = logging.getLogger(__name__)

#: XLA compile options of each program on CPU (see the module docstring)
COMPILER_OPTIONS = {
    "init": {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False},
    "evaluate": {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False},
    "epoch_fast": {"xla_backend_optimization_level": 1, "xla_cpu_use_fusion_emitters": False},
    "epoch": {},
}

MODES = ("vmap", "patches", "sequential", "sequential_patches")
_CONV = {"Conv1D", "Conv2D", "Conv3D"}  # ungrouped convolutions that patches replace


def choose_mode(net: Network, configs: Sequence[Mapping[str, Any]] | None = None,
                platform: str | None = None) -> str:
    """The execution mode ``"auto"`` uses.

    Rule (from benchmarks/population.py, see benchmarks/RESULTS.md): on accelerators
    ``"vmap"``; on CPU ``"sequential_patches"`` when the network has an ungrouped
    convolution (the grouped convolution vmap makes of it is several times slower there,
    and one member's activations at a time stay in cache), else ``"vmap"``.
    """
    platform = platform or jax.default_backend()
    if platform != "cpu":
        return "vmap"

    def has_conv(items) -> bool:
        for it in items:
            for opt in getattr(it, "values", None) or (it,):
                if getattr(opt, "type", None) in _CONV:
                    return True
                if getattr(opt, "block", None) and has_conv(opt.block):
                    return True
        return False

    return "sequential_patches" if has_conv(net.layers) else "vmap"


def tree_take(tree, idx):
    """``tree[idx]`` on every leaf (numpy indexing on host leaves: no device program)."""
    return jax.tree.map(lambda a: a[idx], tree)


def tree_put(tree, idx, sub, n):
    """``tree[idx] = sub[:n]`` on every leaf (host numpy or device arrays)."""
    def put(a, s):
        if isinstance(a, np.ndarray):
            a[idx] = np.asarray(s)[:n]
            return a
        return a.at[idx].set(s[:n])
    return jax.tree.map(put, tree, sub)


def _layout(a) -> Any:
    """``a``'s sharding when it spans several devices; None on one device, where every
    layout is the same and a compiled program takes any of them."""
    sh = getattr(a, "sharding", None)
    return sh if sh is not None and len(sh.device_set) > 1 else None


class OverlappedCompile:
    """Compiles a bucket's epoch program on a worker thread while the init program compiles.

    XLA compiles a module on one thread and releases the GIL, so on a 2-core CPU the two
    first compilations of a bucket overlap. ``start`` takes the epoch's arguments with the
    members given abstractly (``jax.ShapeDtypeStruct``), traces and lowers them on the
    calling thread (Python work, which holds the GIL) and hands only the XLA compilation to
    the worker, so the caller's next tracing does not wait behind it; ``__call__`` runs the
    compiled epoch when the real arguments have that signature, else the jitted function.
    """

    def __init__(self, jitted, fn=None, options: dict | None = None) -> None:
        self.jitted = jitted
        self.fn, self.options = fn, options
        self.store, self.ident = None, None  # a ProgramStore, set by the caller
        self._futures: dict[Any, concurrent.futures.Future] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _signature(args) -> Any:
        leaves, tree = jax.tree.flatten(args)
        return tree, tuple((tuple(a.shape), str(a.dtype), _layout(a)) for a in leaves)

    def start(self, *args) -> None:
        """Starts compiling for ``args`` (once per signature) on a worker thread; with a
        ``store`` (:class:`neural_jax.train.program_store.ProgramStore`) the program is
        loaded from it, or exported to it, first."""
        sig = self._signature(args)
        with self._lock:
            if sig in self._futures:
                return
            fut = self._futures[sig] = concurrent.futures.Future()
        try:
            finish = None
            if self.store is not None:
                try:
                    prepared = self.store.prepare(self.fn, args, self.ident, self.options)
                    finish = functools.partial(self.store.finish, prepared)
                except Exception as e:  # noqa: BLE001 - e.g. an op jax.export refuses
                    logger.info("program not stored (%s: %s); compiling it directly",
                                type(e).__name__, e)
            if finish is None:
                finish = self.jitted.lower(*args).compile
        except Exception as e:  # noqa: BLE001 - reported by the jitted fallback
            fut.set_exception(e)
            return

        def work() -> None:
            try:
                fut.set_result(finish())
            except BaseException as e:  # noqa: BLE001 - reported by the jitted fallback
                fut.set_exception(e)
            finally:
                _COMPILING.discard(threading.current_thread())

        thread = threading.Thread(target=work, daemon=True, name="neural-compile")
        _COMPILING.add(thread)
        thread.start()

    def __call__(self, *args):
        sig = self._signature(args)
        if self.store is not None and sig not in self._futures:
            self.start(*args)  # e.g. a compacted member count: stored as well
        fut = self._futures.get(sig)
        if fut is not None:
            try:
                return fut.result()(*args)
            except (TypeError, ValueError):  # a signature the abstract one missed
                pass
        return self.jitted(*args)


#: the compilation threads :meth:`OverlappedCompile.start` runs (see :func:`wait_for_compilations`)
_COMPILING: set[threading.Thread] = set()


def wait_for_compilations(timeout: float | None = None) -> None:
    """Waits for the compilations running on worker threads to finish.

    A process must not exit while XLA compiles on one of them: the interpreter's shutdown
    stops the thread inside XLA's C++ and the process aborts (``terminate called after
    throwing an instance of ''``). An interrupted search calls this before it returns.
    """
    for thread in list(_COMPILING):
        thread.join(timeout)


def compiler_options(program: str) -> dict:
    """The program's compile options here (:data:`COMPILER_OPTIONS` on CPU, else none)."""
    return dict(COMPILER_OPTIONS[program]) if jax.default_backend() == "cpu" else {}


def _jit(fn, program: str):
    """``jax.jit`` with the program's compile options (:func:`compiler_options`)."""
    options = compiler_options(program)
    return jax.jit(fn, compiler_options=options) if options else jax.jit(fn)


def to_host(tree):
    """Writable host copies of every leaf."""
    return jax.tree.map(lambda a: np.array(a), jax.device_get(tree))




def eval_batches(x: np.ndarray, y: np.ndarray, batch_size: int):
    """``(xb, yb, mask)`` of shape ``(n, E, ...)``: padded, masked batches (as the Trainer)."""
    eb = min(batch_size * 4, 1024)
    n = max(1, math.ceil(len(x) / eb))
    pad = n * eb - len(x)
    xp = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
    yp = np.concatenate([y, np.zeros((pad,) + y.shape[1:], y.dtype)])
    mask = np.concatenate([np.ones(len(x), np.float32), np.zeros(pad, np.float32)])
    return (xp.reshape((n, eb) + x.shape[1:]), yp.reshape((n, eb) + y.shape[1:]),
            mask.reshape(n, eb))


def _where(ok, new, old):
    return jax.tree.map(lambda a, b: jnp.where(ok.reshape(ok.shape + (1,) * (a.ndim - ok.ndim)), a, b),
                        new, old)


class Program:
    """Compiled functions of one bucket in one execution mode.

    Args:
      bucket: the bucket (its first member fixes the structure).
      n_train: training examples (fixes the step count).
      mode: one of :data:`MODES`.
      devices: how many devices the member axis is sharded over.
      has_val: whether a validation set is evaluated every epoch.
      fast_compile: compile the epoch with cheaper options (module docstring); for
        programs whose whole run is estimated below one compilation.

    ``conv_impl`` of the model it is bound to must be ``"patches"`` for the patch modes.
    """

    def __init__(self, bucket: Bucket, n_train: int, mode: str, devices: int = 1,
                 has_val: bool = True, fast_compile: bool = False) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)} or 'auto'")
        spec = bucket.spec
        self.bucket, self.spec, self.mode, self.devices = bucket, spec, mode, devices
        self.model: Any = None
        self.n_steps = n_train // spec.batch_size
        self.has_val = has_val
        self.fast_compile = fast_compile
        self.ident: str | None = None  # see cached_program
        self.stored_init: dict[Any, Any] = {}  # init programs from a ProgramStore
        self._member_shapes: dict[Any, Any] = {}
        self.traces = {"init": 0, "epoch": 0, "evaluate": 0}

    def bind(self, model) -> Program:
        """Builds loss, metrics, optimizer and the jitted functions for ``model``."""
        spec = self.spec
        self.model = model
        self.loss = get_loss(spec.loss, final_activation=model.final_activation, **spec.loss_params)
        self.metrics = _metric_fns(spec, self.loss, model.final_activation)
        self.tx = build_optimizer(spec.optimizer, spec.optimizer_args)
        self.sign = -1.0 if "acc" in spec.monitor else 1.0
        self.init = _jit(self._init_impl, "init")
        name = "epoch_fast" if self.fast_compile else "epoch"
        self.epoch = OverlappedCompile(_jit(self._epoch_impl, name), self._epoch_impl,
                                       compiler_options(name))
        self.evaluate = _jit(self._evaluate_impl, "evaluate")
        return self

    # --- per member ---------------------------------------------------------------------

    def _member_init(self, seed, hp, x0):
        key, init_key = jax.random.split(jax.random.PRNGKey(seed))
        variables = self.model.init(init_key, x0, hp)
        params = variables["params"]
        state = {k: v for k, v in variables.items() if k != "params"}
        return {"params": params, "state": state, "opt": self.tx.init(params), "hp": hp,
                "key": key, "best_params": params, "best_state": state,
                "best_score": jnp.asarray(jnp.inf, jnp.float32)}

    def _loss_fn(self, params, state, x, y, rng, hp):
        logits, new_state = self.model.apply({"params": params, **state}, x, train=True,
                                             rng=rng, hparams=hp)
        return jnp.mean(self.loss(logits, y)), (logits, new_state)

    def _member_epoch(self, m, x, y, evals):
        bs, n_steps = self.spec.batch_size, self.n_steps
        key, ek = jax.random.split(m["key"])
        perm_key, step_key = jax.random.split(ek)
        perm = jax.random.permutation(perm_key, x.shape[0])[: n_steps * bs].reshape(n_steps, bs)
        keys = jax.random.split(step_key, n_steps)
        hp = m["hp"]

        def step(carry, inp):
            params, state, opt = carry
            idx, k = inp
            xb, yb = x[idx], y[idx]
            (loss, (logits, new_state)), grads = jax.value_and_grad(
                self._loss_fn, has_aux=True)(params, state, xb, yb, k, hp)
            updates, opt = self.tx.update(grads, opt, params)
            params = optax.apply_updates(params, updates)
            stats = {n: mt.batch_stats(logits, yb) for n, mt in self.metrics.items()}
            return (params, new_state or state, opt), (loss, stats)

        (params, state, opt), (losses, stats) = lax.scan(
            step, (m["params"], m["state"], m["opt"]), (perm, keys))
        out = {"loss": jnp.mean(losses)}
        out.update({f"train_{k}": mean_from_stats((jnp.sum(v[0]), jnp.sum(v[1])))
                    for k, v in stats.items()})
        new = {**m, "params": params, "state": state, "opt": opt, "key": key}
        if evals:
            for name, metrics in self._member_evals({"params": params, **state}, hp, evals).items():
                out.update({f"{name}_{k}": v for k, v in metrics.items()})
        return new, out

    def _member_evals(self, variables, hp, evals):
        """Metrics on several evaluation sets with one scan over their concatenated batches
        (one traced forward pass instead of one per set: less to compile)."""
        names = list(evals)
        counts = [evals[n][0].shape[0] for n in names]
        xb, yb, mask = (jnp.concatenate([evals[n][i] for n in names]) if len(names) > 1
                        else evals[names[0]][i] for i in range(3))

        def one(carry, inp):
            x, y, mk = inp
            logits, _ = self.model.apply(variables, x, train=False, rng=None, hparams=hp)
            loss = self.loss(logits, y)
            o = {"loss": (jnp.sum(loss * mk), jnp.sum(mk))}
            for name, metric in self.metrics.items():
                o[name] = metric.batch_stats(logits, y, mk)
            return carry, o

        _, stats = lax.scan(one, None, (xb, yb, mask))
        out, start = {}, 0
        for name, c in zip(names, counts):
            out[name] = {k: mean_from_stats((jnp.sum(v[0][start:start + c]), jnp.sum(v[1][start:start + c])))
                         for k, v in stats.items()}
            start += c
        return out

    def _member_eval(self, variables, hp, xb, yb, mask):
        return self._member_evals(variables, hp, {"": (xb, yb, mask)})[""]

    # --- over members -------------------------------------------------------------------

    def _over_members(self, fn, members, *shared):
        """``fn(member, *shared)`` for every member, by the program's mode."""
        if not self.mode.startswith("sequential"):
            return jax.vmap(lambda m: fn(m, *shared))(members)
        d = self.devices
        if d == 1:
            return lax.map(lambda m: fn(m, *shared), members)
        split = jax.tree.map(lambda a: a.reshape((d, a.shape[0] // d) + a.shape[1:]), members)
        out = jax.vmap(lambda part: lax.map(lambda m: fn(m, *shared), part))(split)
        return jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), out)

    def member_shapes(self, x0, hp: Mapping[str, Any]) -> dict[str, Any]:
        """The shapes and dtypes of one member as :meth:`_member_init` makes it, without
        tracing the init (``hp``: one member's values, for their dtypes)."""
        key = (tuple(x0.shape), str(x0.dtype),
               tuple((k, np.shape(v), str(np.asarray(v).dtype)) for k, v in sorted(hp.items())))
        cached = self._member_shapes.get(key)
        if cached is not None:
            return cached
        var = self.model.variable_shapes(x0)
        params = var["params"]
        state = {k: v for k, v in var.items() if k != "params"}
        # the dtype jnp.asarray would give, without making a device array (the first one a
        # process makes compiles JAX's staging programs: 0.2 s)
        scalar = lambda v: jax.ShapeDtypeStruct(  # noqa: E731
            np.shape(v), jax.dtypes.canonicalize_dtype(np.asarray(v).dtype))
        out = self._member_shapes[key] = {
            "params": params, "state": state, "opt": jax.eval_shape(self.tx.init, params),
            "hp": {k: scalar(v) for k, v in hp.items()},
            "key": jax.eval_shape(lambda: jax.random.PRNGKey(0)),
            "best_params": params, "best_state": state,
            "best_score": jax.ShapeDtypeStruct((), jnp.float32)}
        return out

    def _init_impl(self, seeds, hp, x0, opt_values):
        self.traces["init"] += 1  # counts traces, not calls
        members = jax.vmap(lambda k, h: self._member_init(k, h, x0))(seeds, hp)
        members["opt"] = set_hyperparams(members["opt"], **opt_values)
        return members

    def _epoch_impl(self, members, active, x, y, evals):
        """One epoch; ``evals`` maps a prefix (``"val"``, ``"test"``) to eval batches."""
        self.traces["epoch"] += 1
        new, out = self._over_members(lambda m, x_, y_, v_: self._member_epoch(m, x_, y_, v_),
                                      members, x, y, evals)
        finite = jnp.isfinite(out["loss"])
        ok = active & finite
        new = _where(ok, new, members)
        mon = self.spec.monitor
        score = out.get(mon, out.get("val_loss" if mon.startswith("val_") else "loss", out["loss"]))
        score = self.sign * score
        improved = ok & (score < new["best_score"])
        new["best_params"] = _where(improved, new["params"], new["best_params"])
        new["best_state"] = _where(improved, new["state"], new["best_state"])
        new["best_score"] = jnp.where(improved, score, new["best_score"])
        out["finite"] = finite
        out["improved"] = improved
        return new, out

    def _evaluate_impl(self, params, state, hp, xb, yb, mask):
        self.traces["evaluate"] += 1

        def fn(m, xb_, yb_, mk_):
            return self._member_eval({"params": m["params"], **m["state"]}, m["hp"], xb_, yb_, mk_)

        return self._over_members(fn, {"params": params, "state": state, "hp": hp}, xb, yb, mask)


def nice_size(n: int) -> int:
    """The smallest of 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, ... that is >= n."""
    size = 1
    while size < n:
        size = size + size // 2 if size >= 2 and (size & (size - 1)) == 0 else (
            size * 4 // 3 if size > 2 else size + 1)
    return size


_PROGRAMS: collections.OrderedDict = collections.OrderedDict()
_PROGRAMS_MAX = 16


def cached_program(net: Network, bucket: Bucket, model, n_train: int, mode: str, devices: int,
             has_val: bool, fast_compile: bool = False) -> Program:
    """The bucket's compiled program, reused across calls (e.g. the rounds of a search).

    A program depends only on the network, the bucket's structural key and the data and
    device layout; every per-member value is an input. Reusing it across calls means a
    search compiles each structure once, not once per round.
    """
    key = (net, bucket.key, n_train, mode, devices, has_val, fast_compile)
    try:
        prog = _PROGRAMS.pop(key)
    except (KeyError, TypeError):
        prog = None
    if prog is None:
        prog = Program(bucket, n_train, mode, devices, has_val, fast_compile).bind(model)
        prog.ident = repr(key)  # what a stored program depends on besides its arguments
    try:
        _PROGRAMS[key] = prog
        while len(_PROGRAMS) > _PROGRAMS_MAX:
            _PROGRAMS.popitem(last=False)
    except TypeError:  # an unhashable key: no reuse
        pass
    return prog
