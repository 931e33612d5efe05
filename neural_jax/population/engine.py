"""Population training: many configurations of one network in one compiled program.

::

    results = train_population(net, load("digits"), configs,
                               scheduler=SuccessiveHalving(min_resource=1, eta=2),
                               pbt=None, mode="auto")
    # the same, with the settings as one object
    results = train_population(net, load("digits"), configs,
                               PopulationOptions(scheduler=SuccessiveHalving(), mode="auto"))
    best = max((r for r in results if not r.failed), key=lambda r: r.val["accuracy"])

The configurations are split into buckets (:mod:`neural_jax.population.bucket` says which
values are structure and which are per member; with ``pad``, configurations that differ
only in searched layer widths share one bucket, exactly). Each bucket runs one compiled
epoch (:mod:`neural_jax.population.program`) over its members, with the training
data resident on the device and the member axis sharded over ``jax.local_devices()``
(padded to a multiple of the device count, or to ``pad_members`` when that costs less than
a compilation; padding members are inactive copies). When the bucket does not fit the
memory budget it runs in chunks (:mod:`neural_jax.population.memory`). Members live in host
memory between calls (gathers and scatters are numpy indexing, not device programs); the
epoch also reports validation and test metrics, so the kept weights need no extra
evaluation program.

At every epoch boundary, on the host (one :class:`~neural_jax.population.stopping.EarlyStopping`
state machine per bucket decides who trains on; the scheduler, PBT and ``on_epoch`` plug in
there):

* a member whose training loss is NaN/inf keeps its previous state and is reported
  failed (the others go on);
* ``patience`` early stopping (the network's ``early_stopping``) and the ``scheduler``
  (any :class:`search.schedulers.Scheduler`: successive halving / ASHA rungs, Hyperband
  brackets, median stopping; called through its vectorised ``decide`` with the member's
  index as trial id and the monitored value, minimised) stop members;
* the surviving members are gathered into a smaller array (padded to the device count),
  so stopped and failed members stop costing compute; every distinct size is traced once
  (``compact="auto"`` does it only when the saved epochs outweigh a new compilation;
  :mod:`neural_jax.population.sizing`);
* with ``pbt``, every ``pbt.interval`` epochs the worst quantile copies a top member and
  perturbs its hyperparameters (:mod:`neural_jax.population.pbt`), without recompiling.

Execution modes (``mode``): ``"vmap"``, ``"patches"`` (convolutions as patches x batched
matmul), ``"sequential"`` (``lax.map`` over members: the one-after-another baseline
compiled once) and ``"sequential_patches"``; ``"auto"`` applies :func:`choose_mode`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neural_jax.data import Dataset
from neural_jax.ir.nodes import Network
from neural_jax.population.bucket import bucket_configs
from neural_jax.population.bucket_run import BucketRun
from neural_jax.population.options import PopulationOptions
from neural_jax.population.pbt import PBT, apply_pbt, perturbed
from neural_jax.population.program import Program, choose_mode
from neural_jax.population.residency import Residency
from neural_jax.population.results import (
    MemberResult,
    PopulationResult,
    epoch_record,
    kept_metrics,
    member_results,
)
from neural_jax.population.stopping import EarlyStopping

__all__ = ["PBT", "MemberResult", "PopulationOptions", "PopulationResult", "Program",
           "choose_mode", "train_population"]


def train_population(net: Network, dataset: Dataset, configs: Sequence[Mapping[str, Any]],
                     options: PopulationOptions | None = None,
                     **settings: Any) -> PopulationResult:
    """Trains every configuration of ``net`` on ``dataset`` as a population.

    Args:
      net: the network.
      dataset: the data (validation carved from its training split, as a single run does,
        with the network's ``train.seed`` for every member, so all members are selected
        on the same examples; a member's own ``"seed"`` sets its initial weights, data
        order and dropout; the test split is only reported).
      configs: one ``{hpo_path: value}`` dict per member, optionally with ``"seed"``.
      options: the settings (:class:`PopulationOptions`); None: the defaults.
      **settings: fields of :class:`PopulationOptions` by name (``scheduler=``, ``pbt=``,
        ``mode=``, ``overrides=``, ``keep_variables=``, ``rounds=``, ...), over
        ``options``.

    Returns:
      A :class:`PopulationResult`: one :class:`MemberResult` per configuration, in order.

    Raises:
      PopulationConfigError: no configurations, a value outside its domain, an unknown
        key, a bad setting, or a batch larger than the training set, before anything is
        compiled.
      TypeError: a setting :class:`PopulationOptions` does not have.
    """
    opts = options or PopulationOptions()
    if settings:
        opts = dataclasses.replace(opts, **settings)
    opts.check(len(configs))
    fitted = dataset.fit_to(net.input_shape)
    buckets = bucket_configs(net, configs, opts.overrides, pad=opts.pad,
                             n_train=len(fitted.x_train))
    from neural_jax.train.spec import check_loss_labels

    for b in buckets:  # a loss the labels cannot feed fails before anything compiles
        check_loss_labels(net, dataset, b.configs[0], b.spec.loss)
    splits: dict[tuple, Any] = {}

    def data(vs: float, seed: int):
        if (vs, seed) not in splits:
            splits[vs, seed] = fitted.split_validation(vs, seed=seed) if vs > 0 else None
        return fitted, splits[vs, seed]

    runs = [BucketRun(net, data, b, opts.mode, opts.memory_budget, opts.pad_members,
                      opts.program_store, opts.rounds, opts.trial_ids) for b in buckets]
    out: list[MemberResult | None] = [None] * len(configs)
    stats = []
    for i, run in enumerate(runs):
        res, st = _train_bucket(run, i, opts)
        stats.append(st)
        for r in res:
            out[r.index] = r
    result = PopulationResult(out)
    result.stats = stats
    return result


def _train_bucket(run: BucketRun, bucket_index: int,
                  opts: PopulationOptions) -> tuple[list[MemberResult], dict[str, Any]]:
    """The epoch loop of one bucket: epochs of the member program, and at each boundary the
    early-stopping machine, the scheduler, ``on_epoch`` and PBT."""
    b, spec, prog = run.b, run.b.spec, run.prog
    n = len(b)
    sign = prog.sign
    mon = spec.monitor if run.split is not None or not spec.monitor.startswith("val_") else "loss"
    es = EarlyStopping(n, spec.patience)
    histories: list[list[dict]] = [[] for _ in range(n)]
    lineages: list[list[dict]] = [[] for _ in range(n)]
    kept: list[dict[str, dict[str, float]] | None] = [None] * n  # metrics of kept weights
    pbt, scheduler = opts.pbt, opts.scheduler
    rng = np.random.default_rng(pbt.seed if pbt else 0)
    names, bounds = perturbed(pbt, run.net, b, run.model) if pbt else ([], {})
    members = Residency(run, run.init_members(), opts.compact)
    stats = {"mode": prog.mode, "members": n, "plan": run.plan, "sizes": [], "pads": b.pads,
             "fast_compile": prog.fast_compile,
             "member_epochs": 0, "compute_member_epochs": 0, "epoch_seconds": [],
             "epoch_samples": prog.n_steps * spec.batch_size, "kept_size": 0}
    steady_t, steady_samples = 0.0, 0
    samples = prog.n_steps * spec.batch_size
    for epoch in range(1, spec.epochs + 1):
        ids = np.flatnonzero(es.active)
        if len(ids) == 0:
            break
        was_active = es.active.copy()
        outs, size, n_chunks, dt, steady = members.epoch(ids, es.active, spec.epochs - epoch + 1)
        stats["epoch_seconds"].append(dt)
        stats["sizes"].append(size)
        stats["member_epochs"] += len(ids)
        stats["compute_member_epochs"] += size * n_chunks
        if steady:
            steady_t += dt
            steady_samples += len(ids) * samples
        # the epoch's results, through the early-stopping machine
        records, trained, losses, scores, improved = {}, [], [], [], []
        for ch, out in outs:
            for row, m in enumerate(ch):
                if not was_active[m]:
                    continue
                rec = epoch_record(out, row, epoch, dt if out["finite"][row] else None)
                histories[m].append(rec)
                trained.append(m)
                losses.append(rec["loss"])
                scores.append(sign * rec.get(mon, rec["loss"]))
                improved.append(bool(out["improved"][row]))
                if out["finite"][row]:
                    records[b.indices[m]] = {**rec, "samples": samples}
                    if out["improved"][row]:
                        kept[m] = kept_metrics(out, row, run.evals)
        es.step(epoch, trained, losses, scores, improved)
        judged = {m: s for m, s in zip(trained, scores, strict=True) if es.active[m]}
        if scheduler is not None and judged and epoch < spec.epochs:
            ms = np.array(sorted(judged))
            stop = scheduler.decide(epoch, np.array([judged[m] for m in ms]),
                                    ids=[run.trial_id(b.indices[m]) for m in ms])
            es.stop(ms[np.asarray(stop, bool)], epoch, "scheduler")
        if opts.on_epoch is not None:
            opts.on_epoch(epoch, records)
        if pbt is not None and epoch % pbt.interval == 0 and epoch < spec.epochs:
            pids = np.flatnonzero(es.active)
            if len(pids) >= 2:
                sc = np.array([judged[m] for m in pids])
                pop = apply_pbt(members.host(), pids, sc, pbt, rng, names, bounds)
                for loser, ev in pop.pop("_events"):
                    lineages[loser].append({"epoch": epoch, "from": int(b.indices[ev["from"]]),
                                            "hyperparams": ev["hyperparams"]})
                    kept[loser] = kept[ev["from"]]  # it copied the donor's kept weights
                members.replace(pop)
    stats["kept_size"] = members.kept_size
    stats["samples_per_second"] = steady_samples / steady_t if steady_t > 0 else float("nan")
    res = member_results(run, members.host(), es, histories, lineages, kept, bucket_index,
                         opts.keep_variables)
    stats["traces"] = {k: v - run.traces0.get(k, 0) for k, v in prog.traces.items()}
    return res, stats
