"""The compiled programs of one bucket: init, one epoch (train + validation), evaluation.

Notation: ``P`` members (the leading axis of every member array), ``N`` training
examples, ``B`` batch size, ``S = floor(N / B)`` steps per epoch.

A member is a pytree ``{"params", "state", "opt", "hp", "key", "best_params",
"best_state", "best_score"}``: its weights, BatchNorm statistics, optimizer state (with
its float hyperparameters inside, see :mod:`neural_jax.train.optimizers`), the model's
per-call values, its PRNG key, and the weights with the best monitored score so far.
Keys are ``key, init = split(seed)`` then one ``split`` per epoch, so a member trains
the same whatever population it is in; the single trainer
(:class:`neural_jax.population.trainer.Trainer`) is a population of one of this program.

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

Compilation (XLA options, overlapped compiles) is :mod:`neural_jax.population.compiling`.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from neural_jax.ir.nodes import Network
from neural_jax.population.bucket import Bucket
from neural_jax.population.compiling import OverlappedCompile, compiler_options, jit
from neural_jax.population.options import MODES
from neural_jax.population.stopping import monitor_sign
from neural_jax.population.trees import where_members
from neural_jax.train.losses import get_loss
from neural_jax.train.metrics import get_metric, mean_from_stats
from neural_jax.train.optimizers import build_optimizer, set_hyperparams
from neural_jax.train.spec import TrainSpec

__all__ = ["MODES", "Program", "cached_program", "choose_mode", "metric_fns", "nice_size"]

_CONV = {"Conv1D", "Conv2D", "Conv3D"}  # ungrouped convolutions that patches replace


def metric_fns(spec: TrainSpec, loss, final_activation: str | None) -> dict[str, Any]:
    """The configured metrics of ``spec`` by history key (``top_k_accuracy`` is keyed
    ``top_<k>_accuracy``; ``loss`` is always reported and not listed)."""
    fns = {}
    for name, params in spec.metrics:
        if name == "loss":
            continue
        key = name if name != "top_k_accuracy" else f"top_{params.get('k', 5)}_accuracy"
        extra = {"loss": loss} if name == "accuracy" else {}
        if name in ("accuracy", "mae", "mse", "mean_absolute_error", "mean_squared_error"):
            extra["final_activation"] = final_activation
        fns[key] = get_metric(name, **params, **extra)
    return fns


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


class Program:
    """Compiled functions of one bucket in one execution mode.

    Args:
      bucket: the bucket (its first member fixes the structure).
      n_train: training examples (fixes the step count).
      mode: one of :data:`MODES`.
      devices: how many devices the member axis is sharded over.
      has_val: whether a validation set is evaluated every epoch.
      fast_compile: compile the epoch with cheaper options (:mod:`.compiling`); for
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
        self.metrics = metric_fns(spec, self.loss, model.final_activation)
        self.tx = build_optimizer(spec.optimizer, spec.optimizer_args)
        self.sign = monitor_sign(spec.monitor)
        self.init = jit(self._init_impl, "init")
        name = "epoch_fast" if self.fast_compile else "epoch"
        self.epoch = OverlappedCompile(jit(self._epoch_impl, name), self._epoch_impl,
                                       compiler_options(name))
        self.evaluate = jit(self._evaluate_impl, "evaluate")
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
        for name, c in zip(names, counts, strict=True):
            out[name] = {k: mean_from_stats((jnp.sum(v[0][start:start + c]),
                                             jnp.sum(v[1][start:start + c])))
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
        new = where_members(ok, new, members)
        mon = self.spec.monitor
        score = out.get(mon, out.get("val_loss" if mon.startswith("val_") else "loss", out["loss"]))
        score = self.sign * score
        improved = ok & (score < new["best_score"])
        new["best_params"] = where_members(improved, new["params"], new["best_params"])
        new["best_state"] = where_members(improved, new["state"], new["best_state"])
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
