"""Bucketing: which configurations of a network can share one compiled training program.

A population trainer compiles one program per *bucket* and vmaps it over the bucket's
members. Two configurations share a bucket exactly when every value that fixes a shape or
the traced computation is equal; everything else is a per-member input.

Structural (a different value means a different bucket):

* every argument the layer registry marks ``shape_affecting`` (units, filters, kernel
  size, strides, padding, pool size, heads, ...) and the index of a layer choice, compared
  on the resolved layer plan (:func:`neural_jax.jax.plan_network`);
* ``batch_size``, ``epochs``, ``validation_split`` (they fix the step count and the data
  split), the early-stopping ``patience`` and ``monitor``;
* the optimizer's structure (:func:`neural_jax.train.optimizer_structure`: optimizer type,
  flags such as ``nesterov``/``amsgrad``, which optional arguments are present, schedule
  type and list lengths);
* the loss and its parameters (``label_smoothing``, ``delta``) and the metric list: losses
  are built with their parameters fixed, so a different value is a different program.

Per member (one program serves every value):

* every float hyperparameter of the optimizer and of its learning-rate schedule
  (``learning_rate``, ``beta_1``, ``epsilon``, ``weight_decay``, ``clipnorm``,
  ``learning_rate.decay_rate``, ...): written into each member's optimizer state with
  :func:`neural_jax.train.set_hyperparams`;
* the model's dynamic values (``Model.dynamic_paths``): dropout / spatial-dropout rates,
  Gaussian-noise stddev, BatchNorm momentum and epsilon, RNN and attention dropout, and
  categorical choices that do not change shapes (activations, dispatched with
  ``lax.switch``);
* the seed (``"seed"`` key of a configuration, default the network's ``train.seed``):
  initial weights, data order and dropout masks of that member.

Width padding (``pad``): a searched width (the ``units`` of a Dense, the ``filters`` of a
Conv1D/2D/3D, a categorical of integers) whose layer is followed by channel-wise layers and
a contracting layer can be padded (:func:`neural_jax.jax.padding.paddable`). Configurations
that then differ only in such widths share one bucket built at the widest option; each
member's true width is a per-member value, its extra units are masked to zero, its initial
weights are its own narrow network's (Glorot scale of the true fan-in/fan-out) and the
padded weights get exactly zero gradient, so every member trains as its own network does
(to rounding; :mod:`neural_jax.jax.padding` gives the argument and the rules). It costs the
flops of the widest option for every member and saves one compiled program per width
combination; ``pad="auto"`` pads a group when the estimated extra compute,
``6 * (MACs_wide - MACs_own) * n_train * epochs`` summed over its members at
:func:`flops_per_second`, is below one :func:`compile_seconds` per program saved (at
least one: a later round reuses the wide program), and when the group has at most
:data:`MAX_WIDTH_COMBOS` width combinations (each is initialised once per member).

Every value is checked against its declared domain before anything is compiled.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from neural_jax.ir.defaults import default_config
from neural_jax.ir.nodes import Network
from neural_jax.ir.space import SearchParam, search_space
from neural_jax.ir.training.checks import TrainConfigError
from neural_jax.ir.training.resolve import optimizer_hyperparams, optimizer_structure
from neural_jax.train.spec import TrainSpec, training_spec

__all__ = ["MAX_WIDTH_COMBOS", "Bucket", "PopulationConfigError", "bucket_configs",
           "check_config", "compile_seconds", "flops_per_second", "member_epoch_seconds"]

#: configuration keys that are not HPO paths
RESERVED = ("seed",)
#: most width combinations a padded bucket may hold (its init runs each of them)
MAX_WIDTH_COMBOS = 8


def compile_seconds(platform: str | None = None) -> float:
    """Estimated seconds to compile one training program (measured on the digits MLP:
    1-2 s on a 2-core CPU; about 1 s on a GPU)."""
    import jax

    return 1.5 if (platform or jax.default_backend()) == "cpu" else 1.0


def flops_per_second(platform: str | None = None) -> float:
    """A conservative training throughput in flop/s (2e10 measured on a 2-core CPU)."""
    import jax

    return 2e10 if (platform or jax.default_backend()) == "cpu" else 2e13


def member_epoch_seconds(macs: int, n_samples: int, platform: str | None = None) -> float:
    """Estimated seconds of one member's training epoch: ``6 * MACs * samples`` flops."""
    return 6.0 * macs * n_samples / flops_per_second(platform)


class PopulationConfigError(TrainConfigError):
    """A population that cannot be trained as given (no members, a value out of its domain)."""


@dataclasses.dataclass
class Bucket:
    """Configurations that share one compiled program.

    Attributes:
      key: the structural key (hashable) every member shares.
      indices: positions of the members in the list given to :func:`bucket_configs`.
      configs: each member's full configuration (defaults filled in).
      spec: the training settings of the first member (structure identical for all).
      opt_values: per member, the optimizer's float hyperparameters by the names
        :func:`neural_jax.train.set_hyperparams` takes.
      seeds: per member seed.
      pads: HPO paths of the padded widths (``build_model(..., pad_widths=pads)``).
    """

    key: tuple
    indices: list[int]
    configs: list[dict[str, Any]]
    spec: TrainSpec
    opt_values: list[dict[str, Any]]
    seeds: list[int]
    pads: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.indices)


def _freeze(v: Any) -> Any:
    """A hashable, order-stable form of a plan value."""
    from neural_jax.jax.plan import Dyn, LayerPlan

    if isinstance(v, Dyn):
        return ("dyn", v.path, v.kind, v.options)
    if isinstance(v, LayerPlan):
        return (v.type, v.name, tuple((k, _freeze(x)) for k, x in v.args),
                None if v.block is None else tuple(_freeze(b) for b in v.block),
                None if v.inner is None else _freeze(v.inner))
    if isinstance(v, Mapping):
        return tuple(sorted((str(k), _freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    return v if isinstance(v, (str, int, float, bool, type(None))) else repr(v)


def check_config(net: Network, config: Mapping[str, Any], where: str = "configuration",
                 space: Sequence[SearchParam] | None = None) -> dict[str, Any]:
    """Checks one configuration against the network's search space.

    Args:
      net: the network.
      config: ``{hpo_path: value}`` plus optionally ``"seed"``.
      where: how to name the configuration in messages.
      space: ``search_space(net)`` when the caller already has it.

    Returns:
      The configuration with defaults filled in (``"seed"`` removed).

    Raises:
      PopulationConfigError: an unknown key or a value outside its domain.
    """
    from neural_jax.ir.config import ConfigError, validate_config

    try:  # the one check every entry point shares (choice labels become indices)
        checked = validate_config(net, config, where=where, space=space)
    except ConfigError as e:
        raise PopulationConfigError(f"{e.message}. {e.hint}." if e.hint else e.message) from None
    return {**default_config(net), **{k: v for k, v in checked.items() if k not in RESERVED}}


def _structure(net: Network, full: dict[str, Any], spec: TrainSpec) -> tuple:
    from neural_jax.jax.plan import plan_network

    plan = plan_network(net, full)
    layers = tuple(_freeze(p) for p in plan.layers)
    return (layers, plan.final_activation, spec.batch_size, spec.epochs, spec.validation_split,
            spec.patience, spec.monitor, spec.loss, _freeze(spec.loss_params),
            _freeze(spec.metrics),
            optimizer_structure(spec.optimizer, spec.optimizer_args))


def bucket_configs(net: Network, configs: Sequence[Mapping[str, Any]],
                   overrides: Mapping[str, Any] | None = None, pad: bool | str = False,
                   n_train: int | None = None) -> list[Bucket]:
    """Groups configurations into buckets that share one compiled program.

    Args:
      net: the network.
      configs: one ``{hpo_path: value}`` dict per member (see the module docstring).
      overrides: training overrides applied to every member (``epochs``, ``batch_size``...).
      pad: width padding: False, True, or ``"auto"`` (module docstring).
      n_train: training examples (for ``"auto"``'s cost estimate; default 10,000).

    Returns:
      The buckets, in order of their first member.

    Raises:
      PopulationConfigError: no configurations, an unknown key or a value outside its
        domain (before anything is compiled).
      TrainConfigError: an optimizer, schedule or loss value that cannot be used.
    """
    configs = list(configs)
    if not configs:
        raise PopulationConfigError("the population is empty: pass at least one configuration.")
    if pad not in (True, False, "auto"):
        raise PopulationConfigError(f"pad must be True, False or 'auto', got {pad!r}")
    space = search_space(net)
    rows = []
    for i, cfg in enumerate(configs):
        full = check_config(net, cfg, f"configuration {i}", space)
        spec = training_spec(net, full, overrides)
        pads = _paddable(net, full, space) if pad else {}
        wide = {**full, **{p: w.width for p, w in pads.items()}}
        rows.append((i, cfg, full, spec, _structure(net, full, spec),
                     (_structure(net, wide, spec), tuple(sorted(pads))), pads))
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault(row[5], []).append(row)
    buckets: dict[tuple, Bucket] = {}
    for (wide_key, paths), group in groups.items():
        padded = bool(paths) and _pays(net, group, pad, n_train)
        for i, cfg, full, spec, key, _, _ in group:
            key = (wide_key, paths) if padded else key
            b = buckets.get(key)
            if b is None:
                b = buckets[key] = Bucket(key, [], [], spec, [], [], paths if padded else ())
            b.indices.append(i)
            b.configs.append(full)
            b.opt_values.append(optimizer_hyperparams(spec.optimizer, spec.optimizer_args))
            b.seeds.append(int(cfg.get("seed", spec.seed)))
    return sorted(buckets.values(), key=lambda b: b.indices[0])


def _paddable(net: Network, full: dict[str, Any], space) -> dict:
    from neural_jax.jax.padding import paddable
    from neural_jax.jax.plan import plan_network

    return paddable(plan_network(net, full).layers, space)


def _macs(net: Network, config: Mapping[str, Any]) -> int:
    from neural_jax.ir.checker import infer_shapes
    from neural_jax.jax.padding import plan_macs
    from neural_jax.jax.plan import plan_network

    return plan_macs(infer_shapes(net, config), plan_network(net, config).layers,
                     tuple(net.input_shape))


def _pays(net: Network, group: list, pad: bool | str, n_train: int | None) -> bool:
    """Whether a group of configurations with paddable widths trains padded (docstring)."""
    pads = group[0][6]
    if math.prod(len(w.options) for w in pads.values()) > MAX_WIDTH_COMBOS:
        return False
    if pad is True:
        return True
    programs = len({row[4] for row in group})
    wide = {**group[0][2], **{p: w.width for p, w in pads.items()}}
    wide_macs = _macs(net, wide)
    extra = sum(wide_macs - _macs(net, row[2]) for row in group)
    spec = group[0][3]
    seconds = member_epoch_seconds(extra, n_train or 10_000) * spec.epochs
    return seconds < compile_seconds() * max(1, programs - 1)
