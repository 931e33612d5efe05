"""Population training: many configurations of one network in one compiled program.

::

    results = train_population(net, load("digits"), configs,
                               scheduler=SuccessiveHalving(min_resource=1, eta=2),
                               pbt=None, mode="auto")
    best = max((r for r in results if not r.failed), key=lambda r: r.val["accuracy"])

The configurations are split into buckets (:mod:`neural_jax.train.bucket` says which
values are structure and which are per member; with ``pad``, configurations that differ
only in searched layer widths share one bucket, exactly). Each bucket runs one compiled
epoch (:mod:`neural_jax.train.population_program`) over its members, with the training
data resident on the device and the member axis sharded over ``jax.local_devices()``
(padded to a multiple of the device count, or to ``pad_members`` when that costs less than
a compilation; padding members are inactive copies). When the bucket does not fit the
memory budget it runs in chunks (:mod:`neural_jax.train.memory`). Members live in host
memory between calls (gathers and scatters are numpy indexing, not device programs); the
epoch also reports validation and test metrics, so the kept weights need no extra
evaluation program.

At every epoch boundary, on the host:

* a member whose training loss is NaN/inf keeps its previous state and is reported
  failed (the others go on);
* ``patience`` early stopping (the network's ``early_stopping``) and the ``scheduler``
  (any :class:`search.schedulers.Scheduler`: successive halving / ASHA rungs, Hyperband
  brackets, median stopping; called through its vectorised ``decide`` with the member's
  index as trial id and the monitored value, minimised) stop members;
* the surviving members are gathered into a smaller array (padded to the device count),
  so stopped and failed members stop costing compute; every distinct size is traced once
  (``compact="auto"`` does it only when the saved epochs outweigh a new compilation);
* with ``pbt``, every ``pbt.interval`` epochs the worst quantile copies a top member and
  perturbs its hyperparameters (:mod:`neural_jax.train.pbt`), without recompiling.

Execution modes (``mode``): ``"vmap"``, ``"patches"`` (convolutions as patches x batched
matmul), ``"sequential"`` (``lax.map`` over members: the one-after-another baseline
compiled once) and ``"sequential_patches"``; ``"auto"`` applies :func:`choose_mode`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from neural_jax.data import Dataset
from neural_jax.executors.outcome import TrialOutcome
from neural_jax.ir.nodes import Network
from neural_jax.ir.space import search_space
from neural_jax.train.bucket import (
    Bucket,
    PopulationConfigError,
    bucket_configs,
    compile_seconds,
    member_epoch_seconds,
)
from neural_jax.train.memory import MemoryPlan, estimate_member_bytes, plan_chunks
from neural_jax.train.optimizers import hyperparams_of
from neural_jax.train.pbt import PBT, apply_pbt
from neural_jax.train.population_program import (
    MODES,
    Program,
    cached_program,
    choose_mode,
    compiler_options,
    eval_batches,
    nice_size,
    to_host,
    tree_put,
    tree_take,
)

__all__ = ["PBT", "MemberResult", "PopulationResult", "Program", "choose_mode", "train_population"]

logger = logging.getLogger(__name__)

#: the record of one member (one trial outcome, shared by every executor)
MemberResult = TrialOutcome


class PopulationResult(list):
    """The list of :class:`MemberResult` (in configuration order), with ``stats``: one
    dict per bucket (``mode``, ``members``, ``plan``, ``traces``, ``sizes``,
    ``member_epochs``, ``compute_member_epochs``, ``epoch_seconds``, ``samples_per_second``)."""

    stats: list[dict[str, Any]]


def _record(out: Mapping[str, np.ndarray], row: int, epoch: int) -> dict[str, float]:
    rec = {"epoch": epoch, "loss": float(out["loss"][row])}
    for k, v in out.items():
        if k.startswith("train_"):
            rec[k[len("train_"):]] = float(v[row])
        elif k.startswith("val_"):
            rec[k] = float(v[row])
    return rec


class _BucketRun:
    """Trains one bucket; fills ``results`` (see :func:`train_population`)."""

    def __init__(self, net, data, bucket: Bucket, bucket_index: int, mode: str,
                 memory_budget, scheduler, pbt: PBT | None, on_epoch, keep_variables,
                 compact: bool | str = "auto", pad_members: int | None = None,
                 store=None, rounds: int = 1, trial_ids: Sequence[int] | None = None) -> None:
        from neural_jax.ir.checker import infer_shapes
        from neural_jax.jax import build_model
        from neural_jax.jax.padding import plan_macs

        self.net, self.b, self.bi, self.compact = net, bucket, bucket_index, compact
        self.pad_members = pad_members
        self.store = store
        self.trial_ids = trial_ids
        self.scheduler, self.pbt, self.on_epoch, self.keep = scheduler, pbt, on_epoch, keep_variables
        spec = bucket.spec
        self.ds, split = data(spec.validation_split, spec.seed)
        self.split = split
        x_tr, y_tr = (split.x_train, split.y_train) if split else (self.ds.x_train, self.ds.y_train)
        if len(x_tr) // spec.batch_size == 0:
            raise PopulationConfigError(
                f"batch_size {spec.batch_size} is larger than the {len(x_tr)} training examples; "
                "use a smaller batch_size")
        mode = choose_mode(net) if mode == "auto" else mode
        self.model = build_model(net, bucket.configs[0],
                                 conv_impl="patches" if mode.endswith("patches") else "xla",
                                 pad_widths=bucket.pads)
        devs = jax.local_devices()
        self.D = len(devs)
        mesh = Mesh(np.array(devs), ("pop",))
        self.msh, self.rep = NamedSharding(mesh, PartitionSpec("pop")), NamedSharding(mesh, PartitionSpec())
        rows = infer_shapes(net, self.model.config)
        self.macs = plan_macs(rows, self.model.plan.layers, tuple(net.input_shape))
        # a program whose whole run (over every round the caller expects to run it) costs
        # less than a compilation is compiled cheaply
        n_samples = len(x_tr) // spec.batch_size * spec.batch_size
        run_s = member_epoch_seconds(self.macs, n_samples) * max(len(bucket), pad_members or 0) \
            * spec.epochs * rounds
        fast = run_s < compile_seconds()
        self.prog = cached_program(net, bucket, self.model, len(x_tr), mode, self.D, split is not None,
                             fast)
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
            try:
                act += int(np.prod([d or 1 for d in row[2]]))
            except TypeError:
                pass
        eb = min(spec.batch_size * 4, 1024)
        mb = estimate_member_bytes(var, opt, act, spec.batch_size, eb)
        self.plan: MemoryPlan = plan_chunks(len(bucket), mb, memory_budget, self.D)

    # --- helpers --------------------------------------------------------------------------

    def _pad(self, n: int) -> int:
        """Compiled member count for ``n`` members: a multiple of the device count rounded
        up to a size of :func:`nice_size` (at most a third of the members are padding), so that
        rounds of a search with slightly different bucket sizes reuse compiled programs.
        With ``pad_members`` (a search passes its population size) every bucket is padded
        to that size when the epochs of the padding members cost less than a compilation
        (:func:`neural_jax.train.bucket.member_epoch_seconds`), so every round and bucket
        of a search shares one compiled size."""
        exact = math.ceil(n / self.D) * self.D
        if self.plan.n_chunks > 1 or exact > self.plan.chunk:
            return min(self.plan.chunk, exact)

        def fits(size: int) -> bool:
            return size * self.plan.member_bytes <= self.plan.budget

        nice = nice_size(math.ceil(n / self.D)) * self.D
        if self.pad_members:
            hint = math.ceil(self.pad_members / self.D) * self.D
            extra = (hint - n) * self.b.spec.epochs * member_epoch_seconds(
                self.macs, self.prog.n_steps * self.b.spec.batch_size)
            if hint >= nice and fits(hint) and extra < compile_seconds():
                return hint
        return nice if fits(nice) else exact

    def _padded(self, ids: np.ndarray, size: int) -> np.ndarray:
        return np.concatenate([ids, np.full(size - len(ids), ids[0], ids.dtype)])

    def _trial_id(self, index: int) -> int:
        """The scheduler's id of the configuration at ``index`` of the call."""
        return int(index) if self.trial_ids is None else self.trial_ids[index]

    def _init(self):
        """Every member's initial state, as writable host arrays."""
        b, n = self.b, len(self.b)
        hp_rows = [self.model.hparams(c) for c in b.configs]
        hp = {k: np.stack([np.asarray(r[k]) for r in hp_rows]) for k in hp_rows[0]}
        seeds = np.asarray(b.seeds, np.uint32)
        opt_vals = {k: np.asarray([v[k] for v in b.opt_values], np.float32) for k in b.opt_values[0]}
        size = self._pad(n)
        parts = []
        for start in range(0, n, size):
            ids = np.arange(start, min(n, start + size))
            idx = self._padded(ids, size)
            args = jax.device_put((seeds[idx], tree_take(hp, idx), tree_take(opt_vals, idx)), self.msh)
            args = (args[0], args[1], self.x0, args[2])
            overlap = getattr(self.prog.epoch, "start", None)  # None when wrapped by a caller
            stored = self.store is not None and self.prog.ident is not None
            if stored and overlap is not None and self.prog.epoch.store is None:
                self.prog.epoch.store, self.prog.epoch.ident = self.store, (self.prog.ident, "epoch")
            if start == 0 and self.plan.n_chunks == 1 and overlap is not None:
                # the epoch program is lowered first and compiles while the init is traced,
                # lowered and compiled (its members' shapes come without tracing the init)
                one = self.prog.member_shapes(self.x0, {k: v[0] for k, v in hp.items()})
                members = jax.tree.map(lambda a: jax.ShapeDtypeStruct(
                    (size,) + tuple(a.shape), a.dtype, sharding=self.msh), one)
                mask = jax.ShapeDtypeStruct((size,), np.bool_, sharding=self.msh)
                overlap(members, mask, self.x, self.y, self.evals)
            init = self.prog.init
            if stored:
                sig = str(jax.tree.map(lambda a: (a.shape, a.dtype), args))
                if sig not in self.prog.stored_init:
                    try:
                        self.prog.stored_init[sig] = self.store.compile(
                            self.prog._init_impl, args, (self.prog.ident, "init"),
                            compiler_options("init"))
                    except Exception as e:  # noqa: BLE001 - e.g. an op jax.export refuses
                        logger.info("init program not stored (%s: %s)", type(e).__name__, e)
                        self.prog.stored_init[sig] = self.prog.init
                init = self.prog.stored_init[sig]
            out = to_host(init(*args))
            parts.append(tree_take(out, np.arange(len(ids))))
        if len(parts) == 1:
            return parts[0]
        return jax.tree.map(lambda *a: np.concatenate(a), *parts)

    def _worth(self, old: int, new: int, remaining: int, first_dt, steady_dt) -> bool:
        """Whether compacting ``old`` -> ``new`` members (a new compiled size) pays off.

        ``compact="auto"``: yes when the time saved over the remaining epochs,
        ``remaining * t_epoch * (1 - new / old)``, exceeds the compile time, estimated as
        the first epoch at ``old`` minus a steady one (half the first epoch before a steady
        one is measured).
        """
        if self.compact is not True and self.compact is not False:
            first = first_dt.get(old, 0.0)
            steady = steady_dt.get(old, first / 2)
            compile_s = max(first - steady, 0.0)
            return remaining * steady * (1 - new / old) > compile_s
        return bool(self.compact)

    def _pbt_names(self) -> list[str]:
        opt = [f"optimizer.{k}" for k in self.b.opt_values[0]]
        dyn = [p for p, d in self.model.dynamic.items() if d.kind == "float"]
        if self.pbt.hyperparams is not None:
            unknown = [n for n in self.pbt.hyperparams if n not in opt + dyn]
            if unknown:
                raise PopulationConfigError(
                    f"PBT cannot perturb {', '.join(unknown)}: not a per-member float "
                    f"hyperparameter of this bucket (it has {', '.join(opt + dyn)}).")
            return list(self.pbt.hyperparams)
        searched = {p.name for p in search_space(self.net) if p.kind == "float"}
        names = [n for n in opt + dyn if n in searched]
        for n in opt:
            k = n.split(".", 1)[1]
            if n not in names and len({np.asarray(v[k]).tobytes() for v in self.b.opt_values}) > 1:
                names.append(n)
        for n in dyn:
            if n not in names and len({float(c.get(n, 0.0)) for c in self.b.configs}) > 1:
                names.append(n)
        return names or [n for n in opt if n in ("optimizer.learning_rate",)]

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> tuple[list[dict], dict]:
        b, spec, prog = self.b, self.b.spec, self.prog
        n = len(b)
        sign = prog.sign
        mon = spec.monitor if self.split is not None or not spec.monitor.startswith("val_") else "loss"
        pop = self._init()
        res = [{"history": [], "failed": False, "message": "", "stopped_epoch": None,
                "stopped_by": "", "best_epoch": 0, "lineage": [], "bad": 0} for _ in range(n)]
        best: list[dict[str, dict[str, float]] | None] = [None] * n  # metrics of kept weights
        active = np.ones(n, bool)
        rng = np.random.default_rng(self.pbt.seed if self.pbt else 0)
        names = self._pbt_names() if self.pbt else []
        space = {p.name: p for p in search_space(self.net)}
        bounds = {k: ((space[k].low if k in space else 0.0), (space[k].high if k in space else None))
                  for k in names}
        cur, cur_ids = None, None
        stats = {"mode": prog.mode, "members": n, "plan": self.plan, "sizes": [], "pads": b.pads,
                 "fast_compile": prog.fast_compile,
                 "member_epochs": 0, "compute_member_epochs": 0, "epoch_seconds": []}
        seen_sizes: set[int] = set()
        first_dt: dict[int, float] = {}
        steady_dt: dict[int, float] = {}
        cur_size = 0
        stats["kept_size"] = 0
        steady_t, steady_samples = 0.0, 0
        for epoch in range(1, spec.epochs + 1):
            ids = np.flatnonzero(active)
            if len(ids) == 0:
                break
            was_active = active.copy()
            size = self._pad(len(ids))
            run_ids = ids
            if cur is not None and size < cur_size and size not in seen_sizes and not self._worth(
                    cur_size, size, spec.epochs - epoch + 1, first_dt, steady_dt):
                run_ids, size = cur_ids, cur_size  # stopped members stay, masked
                stats["kept_size"] += 1
            chunks = [run_ids[i:i + size] for i in range(0, len(run_ids), size)]
            single = len(chunks) == 1
            if cur is not None and not (single and np.array_equal(cur_ids, run_ids)):
                pop = tree_put(pop, cur_ids, cur, len(cur_ids))
                cur, cur_ids = None, None
            t0 = time.perf_counter()
            outs = []
            for ch in chunks:
                if cur is not None:
                    sub = cur
                else:
                    sub = jax.device_put(tree_take(pop, self._padded(ch, size)), self.msh)
                mask = np.zeros(size, bool)
                mask[: len(ch)] = active[ch]
                new, out = prog.epoch(sub, jax.device_put(mask, self.msh), self.x, self.y, self.evals)
                outs.append((ch, jax.device_get(out)))
                if single:
                    cur, cur_ids, cur_size = new, run_ids, size
                else:
                    pop = tree_put(pop, ch, to_host(new), len(ch))
            dt = time.perf_counter() - t0
            stats["epoch_seconds"].append(dt)
            stats["sizes"].append(size)
            stats["member_epochs"] += len(ids)
            stats["compute_member_epochs"] += size * len(chunks)
            if size in seen_sizes:
                steady_t += dt
                steady_samples += len(ids) * prog.n_steps * spec.batch_size
                steady_dt[size] = dt
            else:
                first_dt[size] = dt
            seen_sizes.add(size)
            records, scores = {}, {}
            for ch, out in outs:
                for row, m in enumerate(ch):
                    if not was_active[m]:
                        continue
                    r = res[m]
                    rec = _record(out, row, epoch)
                    rec["seconds"] = dt
                    r["history"].append(rec)
                    if not out["finite"][row]:
                        r["failed"], active[m] = True, False
                        r["message"] = f"the training loss became {rec['loss']} in epoch {epoch}"
                        continue
                    records[b.indices[m]] = {**rec, "samples": prog.n_steps * spec.batch_size}
                    if out["improved"][row]:
                        r["best_epoch"], r["bad"] = epoch, 0
                        best[m] = {name: {k[len(name) + 1:]: float(v[row]) for k, v in out.items()
                                          if k.startswith(name + "_")} for name in self.evals}
                    else:
                        r["bad"] += 1
                        if spec.patience is not None and r["bad"] > spec.patience:
                            active[m], r["stopped_epoch"], r["stopped_by"] = False, epoch, "patience"
                            continue
                    scores[m] = sign * rec.get(mon, rec["loss"])
            if self.scheduler is not None and scores and epoch < spec.epochs:
                ms = np.array(sorted(scores))
                stop = self.scheduler.decide(epoch, np.array([scores[m] for m in ms]),
                                             ids=[self._trial_id(b.indices[m]) for m in ms])
                for m in ms[np.asarray(stop, bool)]:
                    active[m], res[m]["stopped_epoch"], res[m]["stopped_by"] = False, epoch, "scheduler"
            if self.on_epoch is not None:
                self.on_epoch(epoch, records)
            if self.pbt is not None and epoch % self.pbt.interval == 0 and epoch < spec.epochs:
                pids = np.flatnonzero(active)
                if len(pids) >= 2:
                    if cur is not None:
                        pop = tree_put(pop, cur_ids, cur, len(cur_ids))
                        cur, cur_ids = None, None
                    sc = np.array([scores[m] for m in pids])
                    pop = apply_pbt(pop, pids, sc, self.pbt, rng, names, bounds)
                    for loser, ev in pop.pop("_events"):
                        res[loser]["lineage"].append({"epoch": epoch, "from": int(b.indices[ev["from"]]),
                                                      "hyperparams": ev["hyperparams"]})
                        best[loser] = best[ev["from"]]  # it copied the donor's kept weights
        if cur is not None:
            pop = tree_put(pop, cur_ids, cur, len(cur_ids))
        stats["samples_per_second"] = steady_samples / steady_t if steady_t > 0 else float("nan")
        self._finish(pop, res, best)
        stats["traces"] = {k: v - self.traces0.get(k, 0) for k, v in prog.traces.items()}
        return res, stats

    def _evaluate(self, pop, ids, data) -> dict[int, dict[str, float]]:
        """Metrics of the kept weights of ``ids`` on device-resident eval batches."""
        if len(ids) == 0 or data is None:
            return {}
        size = self._pad(len(ids))
        out = {}
        for i in range(0, len(ids), size):
            ch = ids[i:i + size]
            idx = self._padded(ch, size)
            sub = jax.device_put((tree_take(pop["best_params"], idx), tree_take(pop["best_state"], idx),
                                  tree_take(pop["hp"], idx)), self.msh)
            m = jax.device_get(self.prog.evaluate(*sub, *data))
            for row, mid in enumerate(ch):
                out[mid] = {k: float(v[row]) for k, v in m.items()}
        return out

    def _finish(self, pop, res, best) -> None:
        ok = np.array([i for i, r in enumerate(res) if not r["failed"]], int)
        # members whose kept weights are their initial ones (no epoch improved the monitored
        # value) are evaluated with the evaluation program; the others have their metrics
        rest = np.array([i for i in ok if best[i] is None], int)
        metrics = {name: {int(i): best[i].get(name, {}) for i in ok if best[i] is not None}
                   for name in ("val", "test")}
        for name in self.evals:
            metrics[name].update(self._evaluate(pop, rest, self.evals[name]))
        val, test = (metrics["val"] if self.split else {}), metrics["test"]
        hyper = {f"optimizer.{k}": np.asarray(v) for k, v in hyperparams_of(pop["opt"]).items()
                 if k in self.b.opt_values[0]}
        hyper.update({k: np.asarray(v) for k, v in pop["hp"].items()
                      if k in self.model.dynamic and self.model.dynamic[k].kind == "float"})
        for i, r in enumerate(res):
            r.pop("bad")
            r["val"], r["test"] = val.get(i, {}), test.get(i, {})
            r["hyperparams"] = {k: float(v[i]) for k, v in hyper.items()}
            if self.keep:
                r["variables"] = to_host({"params": tree_take(pop["best_params"], i),
                                           **tree_take(pop["best_state"], i)})


def train_population(net: Network, dataset: Dataset, configs: Sequence[Mapping[str, Any]], *,
                     scheduler: Any = None, pbt: PBT | None = None, mode: str = "auto",
                     memory_budget: int | None = None,
                     on_epoch: Callable[[int, dict[int, dict]], None] | None = None,
                     overrides: Mapping[str, Any] | None = None,
                     keep_variables: bool = False,
                     compact: bool | str = "auto", pad: bool | str = "auto",
                     pad_members: int | None = None,
                     program_store: Any = None, rounds: int = 1,
                     trial_ids: Sequence[int] | None = None) -> PopulationResult:
    """Trains every configuration of ``net`` on ``dataset`` as a population.

    Args:
      net: the network.
      dataset: the data (validation carved from its training split, as the Trainer does,
        with the network's ``train.seed`` for every member, so all members are selected
        on the same examples; a member's own ``"seed"`` sets its initial weights, data
        order and dropout; the test split is only reported).
      configs: one ``{hpo_path: value}`` dict per member, optionally with ``"seed"``.
      scheduler: a :class:`search.schedulers.Scheduler` judged at every epoch boundary.
      pbt: :class:`PBT` settings, or None.
      mode: ``"auto"`` or one of ``"vmap"``, ``"patches"``, ``"sequential"``.
      memory_budget: bytes a call may use; None: :func:`neural_jax.train.memory.default_budget`.
      on_epoch: called as ``on_epoch(epoch, {member index: record})`` after every epoch of
        every bucket (a copy of the history record, with ``samples``: the training examples
        the member saw in the epoch).
      overrides: training overrides for every member (``epochs``, ``batch_size``...).
      keep_variables: return each member's kept weights.
      compact: when members stop or fail, gather the survivors into a smaller compiled
        size: True always, False never (stopped members stay in the array, masked), or
        ``"auto"``: when the time it saves over the remaining epochs exceeds the
        measured compile time of a new size (a size compiled before is always reused).
      pad: width padding (:mod:`neural_jax.train.bucket`): configurations that differ only
        in searched layer widths train as one bucket at the widest option, exactly as
        their own networks. True, False, or ``"auto"``: when the padding's extra compute
        costs less than the compilations it saves.
      pad_members: pad every bucket to this many members when the padding members' epochs
        cost less than a compilation (a search passes its population size, so every round
        and bucket reuses one compiled size).
      program_store: a :class:`neural_jax.train.program_store.ProgramStore`: the init and
        epoch programs are loaded from it instead of traced (and exported to it when missing).
      rounds: how many calls like this one (same network, sizes and epochs) the caller
        expects to make in all, this one included; a search passes its number of rounds.
        A program is compiled with XLA's cheaper CPU options when its estimated run over all
        of them is below one compilation, with the optimizing defaults otherwise, so pass
        the same value in every call of a search (both variants are separate programs).
      trial_ids: the ids the ``scheduler`` knows the members by, one per configuration,
        distinct (default: their positions in ``configs``). A search that calls this once
        per round with one scheduler passes its trial numbers, so that a rung compares
        every trial of the search that reached it, not members of different rounds that
        share a position.

    Returns:
      A :class:`PopulationResult`: one :class:`MemberResult` per configuration, in order.

    Raises:
      PopulationConfigError: no configurations, a value outside its domain, an unknown
        key, or a batch larger than the training set, before anything is compiled.
    """
    if mode != "auto" and mode not in MODES:
        raise PopulationConfigError(f"unknown mode {mode!r}; use 'auto' or one of {', '.join(MODES)}")
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        raise PopulationConfigError(f"rounds must be a positive integer, got {rounds!r}")
    if trial_ids is not None:
        trial_ids = [int(i) for i in trial_ids]
        if len(trial_ids) != len(configs) or len(set(trial_ids)) != len(trial_ids):
            raise PopulationConfigError(
                f"trial_ids must give {len(configs)} distinct ids, one per configuration; "
                f"got {len(trial_ids)} ({len(set(trial_ids))} distinct)")
    fitted = dataset.fit_to(net.input_shape)
    buckets = bucket_configs(net, configs, overrides, pad=pad, n_train=len(fitted.x_train))
    from neural_jax.train.spec import check_loss_labels

    for b in buckets:  # a loss the labels cannot feed fails before anything compiles
        check_loss_labels(net, dataset, b.configs[0], b.spec.loss)
    splits: dict[tuple, Any] = {}

    def data(vs: float, seed: int):
        if (vs, seed) not in splits:
            splits[vs, seed] = fitted.split_validation(vs, seed=seed) if vs > 0 else None
        return fitted, splits[vs, seed]

    if compact not in (True, False, "auto"):
        raise PopulationConfigError(f"compact must be True, False or 'auto', got {compact!r}")
    runs = [_BucketRun(net, data, b, i, mode, memory_budget, scheduler, pbt, on_epoch,
                       keep_variables, compact, pad_members, program_store, rounds, trial_ids)
            for i, b in enumerate(buckets)]
    out: list[MemberResult | None] = [None] * len(configs)
    stats = []
    for i, run in enumerate(runs):
        res, st = run.run()
        stats.append(st)
        for m, r in enumerate(res):
            idx = run.b.indices[m]
            out[idx] = MemberResult(index=idx, config=run.b.configs[m], bucket=i, **r)
    result = PopulationResult(out)
    result.stats = stats
    return result
