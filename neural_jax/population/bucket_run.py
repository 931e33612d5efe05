"""One bucket made ready to train: model, compiled program, device data, memory plan.

:class:`BucketRun` holds what the engine's epoch loop (:mod:`neural_jax.population.engine`)
needs for one bucket: the model built for its structure (at the padded widths), the cached
:class:`~neural_jax.population.program.Program`, the training set and the evaluation
batches resident on the devices (replicated; the member axis is sharded over
``jax.local_devices()``), the memory plan (:mod:`neural_jax.population.memory`), every
member's initial state (:meth:`BucketRun.init_members`) and the evaluation of kept weights
(:meth:`BucketRun.evaluate_kept`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from neural_jax.ir.nodes import Network
from neural_jax.population.bucket import (
    Bucket,
    PopulationConfigError,
    compile_seconds,
    member_epoch_seconds,
)
from neural_jax.population.compiling import compiler_options
from neural_jax.population.memory import MemoryPlan, estimate_member_bytes, plan_chunks
from neural_jax.population.program import cached_program, choose_mode
from neural_jax.population.sizing import pad_ids, padded_size
from neural_jax.population.trees import eval_batches, to_host, tree_take

__all__ = ["BucketRun"]

logger = logging.getLogger(__name__)


class BucketRun:
    """The compiled program and device data of one bucket.

    Args:
      net: the network.
      data: ``data(validation_split, seed) -> (fitted dataset, split or None)``.
      bucket: the bucket.
      mode: ``"auto"`` or one of :data:`~neural_jax.population.program.MODES`.
      memory_budget: bytes a call may use (None: the default budget).
      pad_members: the member count a search asks every bucket to share, or None.
      store: a :class:`~neural_jax.population.program_store.ProgramStore`, or None.
      rounds: how many calls like this one the caller expects (compile options).
      trial_ids: the scheduler's ids of the call's configurations, or None (positions).

    Raises:
      PopulationConfigError: a batch larger than the training set.
    """

    def __init__(self, net: Network, data: Callable[[float, int], tuple[Any, Any]],
                 bucket: Bucket, mode: str = "auto", memory_budget: int | None = None,
                 pad_members: int | None = None, store: Any = None, rounds: int = 1,
                 trial_ids: Sequence[int] | None = None) -> None:
        from neural_jax.ir.checker import infer_shapes
        from neural_jax.jax import build_model
        from neural_jax.jax.padding import plan_macs

        self.net, self.b = net, bucket
        self.pad_members, self.store, self.trial_ids = pad_members, store, trial_ids
        spec = bucket.spec
        self.ds, split = data(spec.validation_split, spec.seed)
        self.split = split
        x_tr, y_tr = (split.x_train, split.y_train) if split else (self.ds.x_train,
                                                                     self.ds.y_train)
        if len(x_tr) // spec.batch_size == 0:
            raise PopulationConfigError(
                f"batch_size {spec.batch_size} is larger than the {len(x_tr)} training "
                "examples; use a smaller batch_size")
        mode = choose_mode(net) if mode == "auto" else mode
        self.model = build_model(net, bucket.configs[0],
                                 conv_impl="patches" if mode.endswith("patches") else "xla",
                                 pad_widths=bucket.pads)
        devs = jax.local_devices()
        self.D = len(devs)
        mesh = Mesh(np.array(devs), ("pop",))
        self.msh = NamedSharding(mesh, PartitionSpec("pop"))
        self.rep = NamedSharding(mesh, PartitionSpec())
        rows = infer_shapes(net, self.model.config)
        self.macs = plan_macs(rows, self.model.plan.layers, tuple(net.input_shape))
        # a program whose whole run (over every round the caller expects to run it) costs
        # less than a compilation is compiled cheaply
        n_samples = len(x_tr) // spec.batch_size * spec.batch_size
        run_s = member_epoch_seconds(self.macs, n_samples) * max(len(bucket), pad_members or 0) \
            * spec.epochs * rounds
        fast = run_s < compile_seconds()
        self.prog = cached_program(net, bucket, self.model, len(x_tr), mode, self.D,
                                   split is not None, fast)
        self.traces0 = dict(self.prog.traces)
        self.x = jax.device_put(np.asarray(x_tr), self.rep)
        self.y = jax.device_put(np.asarray(y_tr), self.rep)
        # every epoch also evaluates the validation set (selection) and the test split
        # (only reported), so the kept weights' metrics are those of their epoch
        self.evals = {}
        if split is not None:
            self.evals["val"] = jax.device_put(
                eval_batches(split.x_val, split.y_val, spec.batch_size), self.rep)
        if len(self.ds.x_test):
            self.evals["test"] = jax.device_put(
                eval_batches(self.ds.x_test, self.ds.y_test, spec.batch_size), self.rep)
        self.x0 = np.zeros((spec.batch_size,) + x_tr.shape[1:], x_tr.dtype)
        var = self.model.variable_shapes(self.x0)
        opt = jax.eval_shape(self.prog.tx.init, var["params"])
        act = 0
        for row in rows:
            with contextlib.suppress(TypeError):
                act += int(np.prod([d or 1 for d in row[2]]))
        eb = min(spec.batch_size * 4, 1024)
        mb = estimate_member_bytes(var, opt, act, spec.batch_size, eb)
        self.plan: MemoryPlan = plan_chunks(len(bucket), mb, memory_budget, self.D)

    # --- sizes ----------------------------------------------------------------------------

    def size(self, n: int) -> int:
        """The compiled member count for ``n`` members (:func:`~.sizing.padded_size`)."""
        spec = self.b.spec
        padding_s = spec.epochs * member_epoch_seconds(
            self.macs, self.prog.n_steps * spec.batch_size)
        return padded_size(n, self.D, self.plan, self.pad_members, padding_s,
                           compile_seconds())

    def trial_id(self, index: int) -> int:
        """The scheduler's id of the configuration at ``index`` of the call."""
        return int(index) if self.trial_ids is None else self.trial_ids[index]

    # --- init and evaluation --------------------------------------------------------------

    def init_members(self) -> dict[str, Any]:
        """Every member's initial state, as writable host arrays."""
        b, n = self.b, len(self.b)
        prog = self.prog
        hp_rows = [self.model.hparams(c) for c in b.configs]
        hp = {k: np.stack([np.asarray(r[k]) for r in hp_rows]) for k in hp_rows[0]}
        seeds = np.asarray(b.seeds, np.uint32)
        opt_vals = {k: np.asarray([v[k] for v in b.opt_values], np.float32)
                    for k in b.opt_values[0]}
        size = self.size(n)
        parts = []
        for start in range(0, n, size):
            ids = np.arange(start, min(n, start + size))
            idx = pad_ids(ids, size)
            args = jax.device_put((seeds[idx], tree_take(hp, idx), tree_take(opt_vals, idx)),
                                  self.msh)
            args = (args[0], args[1], self.x0, args[2])
            overlap = getattr(prog.epoch, "start", None)  # None when wrapped by a caller
            stored = self.store is not None and prog.ident is not None
            if stored and overlap is not None and prog.epoch.store is None:
                prog.epoch.store, prog.epoch.ident = self.store, (prog.ident, "epoch")
            if start == 0 and self.plan.n_chunks == 1 and overlap is not None:
                # the epoch program is lowered first and compiles while the init is traced,
                # lowered and compiled (its members' shapes come without tracing the init)
                one = prog.member_shapes(self.x0, {k: v[0] for k, v in hp.items()})
                members = jax.tree.map(lambda a: jax.ShapeDtypeStruct(
                    (size,) + tuple(a.shape), a.dtype, sharding=self.msh), one)
                mask = jax.ShapeDtypeStruct((size,), np.bool_, sharding=self.msh)
                overlap(members, mask, self.x, self.y, self.evals)
            init = prog.init
            if stored:
                sig = str(jax.tree.map(lambda a: (a.shape, a.dtype), args))
                if sig not in prog.stored_init:
                    try:
                        prog.stored_init[sig] = self.store.compile(
                            prog._init_impl, args, (prog.ident, "init"),
                            compiler_options("init"))
                    except Exception as e:  # noqa: BLE001 - e.g. an op jax.export refuses
                        logger.info("init program not stored (%s: %s)", type(e).__name__, e)
                        prog.stored_init[sig] = prog.init
                init = prog.stored_init[sig]
            out = to_host(init(*args))
            parts.append(tree_take(out, np.arange(len(ids))))
        if len(parts) == 1:
            return parts[0]
        return jax.tree.map(lambda *a: np.concatenate(a), *parts)

    def evaluate_kept(self, pop: dict[str, Any], ids: np.ndarray,
                      data: Any) -> dict[int, dict[str, float]]:
        """Metrics of the kept weights of members ``ids`` on device-resident eval batches."""
        if len(ids) == 0 or data is None:
            return {}
        size = self.size(len(ids))
        out = {}
        for i in range(0, len(ids), size):
            ch = ids[i:i + size]
            idx = pad_ids(ch, size)
            sub = jax.device_put((tree_take(pop["best_params"], idx),
                                  tree_take(pop["best_state"], idx),
                                  tree_take(pop["hp"], idx)), self.msh)
            m = jax.device_get(self.prog.evaluate(*sub, *data))
            for row, mid in enumerate(ch):
                out[mid] = {k: float(v[row]) for k, v in m.items()}
        return out
