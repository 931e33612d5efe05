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

Every value is checked against its declared domain before anything is compiled.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from neural_jax.ir.nodes import Layer, Network, Optimizer
from neural_jax.ir.space import SearchParam, search_space
from neural_jax.train._registry import TrainConfigError, did_you_mean
from neural_jax.train.optimizers import optimizer_hyperparams, optimizer_structure
from neural_jax.train.spec import TrainSpec, default_config, training_spec

__all__ = ["Bucket", "PopulationConfigError", "bucket_configs", "check_config"]

#: configuration keys that are not HPO paths
RESERVED = ("seed",)


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
    """

    key: tuple
    indices: list[int]
    configs: list[dict[str, Any]]
    spec: TrainSpec
    opt_values: list[dict[str, Any]]
    seeds: list[int]

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


def _check_param(p: SearchParam, value: Any, where: str) -> None:
    if p.kind == "categorical":
        if value in p.choices:
            return
        if p.options and isinstance(p.options[0], (Layer, Optimizer)):
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(p.options):
                return
            if isinstance(value, (Layer, Optimizer)) or any(
                    getattr(o, "type", None) == value for o in p.options):
                return
        if isinstance(value, str) and value.lower() in [str(c).lower() for c in p.choices]:
            return
        raise PopulationConfigError(
            f"{where}: {value!r} is not an option of '{p.name}'; use one of "
            f"{', '.join(map(repr, p.choices))}.")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PopulationConfigError(f"{where}: '{p.name}' must be a finite number, got {value!r}.")
    tol = 1e-9 * max(1.0, abs(p.high or 0.0), abs(p.low or 0.0))
    if (p.low is not None and value < p.low - tol) or (p.high is not None and value > p.high + tol):
        raise PopulationConfigError(
            f"{where}: '{p.name}' = {value!r} is outside its domain [{p.low}, {p.high}]; "
            "use a value inside it or widen the range in the network.")
    if p.kind == "int" and float(value) != int(value):
        raise PopulationConfigError(f"{where}: '{p.name}' must be an integer, got {value!r}.")


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
    if not isinstance(config, Mapping):
        raise PopulationConfigError(f"{where}: a configuration is a dict of HPO paths to "
                                    f"values, got {type(config).__name__}.")
    params = {p.name: p for p in (space if space is not None else search_space(net))}
    for key, value in config.items():
        if key in RESERVED:
            if key == "seed" and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise PopulationConfigError(f"{where}: 'seed' must be a non-negative int, got {value!r}.")
            continue
        if key in params:
            _check_param(params[key], value, where)
        elif not key.startswith("optimizer."):
            raise PopulationConfigError(
                f"{where}: '{key}' is not a searched parameter of network '{net.name}'."
                f"{did_you_mean(key, params)} It has: {', '.join(params) or 'none'}.")
    full = {**default_config(net), **{k: v for k, v in config.items() if k not in RESERVED}}
    return full


def _structure(net: Network, full: dict[str, Any], spec: TrainSpec) -> tuple:
    from neural_jax.jax.plan import plan_network

    plan = plan_network(net, full)
    layers = tuple(_freeze(p) for p in plan.layers)
    return (layers, plan.final_activation, spec.batch_size, spec.epochs, spec.validation_split,
            spec.patience, spec.monitor, spec.loss, _freeze(spec.loss_params), _freeze(spec.metrics),
            optimizer_structure(spec.optimizer, spec.optimizer_args))


def bucket_configs(net: Network, configs: Sequence[Mapping[str, Any]],
                   overrides: Mapping[str, Any] | None = None) -> list[Bucket]:
    """Groups configurations into buckets that share one compiled program.

    Args:
      net: the network.
      configs: one ``{hpo_path: value}`` dict per member (see the module docstring).
      overrides: training overrides applied to every member (``epochs``, ``batch_size``...).

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
    space = search_space(net)
    buckets: dict[tuple, Bucket] = {}
    for i, cfg in enumerate(configs):
        full = check_config(net, cfg, f"configuration {i}", space)
        spec = training_spec(net, full, overrides)
        key = _structure(net, full, spec)
        values = optimizer_hyperparams(spec.optimizer, spec.optimizer_args)
        seed = int(cfg.get("seed", spec.seed))
        b = buckets.get(key)
        if b is None:
            b = buckets[key] = Bucket(key, [], [], spec, [], [])
        b.indices.append(i)
        b.configs.append(full)
        b.opt_values.append(values)
        b.seeds.append(seed)
    return list(buckets.values())
