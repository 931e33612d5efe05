"""Population Based Training inside a population (Jaderberg et al. 2017, "Population Based
Training of Neural Networks", Sec. 3: *exploit* by truncation selection, *explore* by
perturbation).

Notation: ``P`` active members, scores :math:`s_i` to minimise, quantile :math:`q`. Every
``interval`` epochs the :math:`\\lceil qP \\rceil` worst members each copy the weights,
BatchNorm statistics, optimizer state and kept-best weights of a member drawn uniformly
from the :math:`\\lceil qP \\rceil` best (a gather by index over the member axis), keep
their own PRNG key (so their data order stays their own), and multiply each perturbed
float hyperparameter by a factor drawn from ``factors`` (0.8 or 1.2 in the paper),
clipped to the parameter's declared domain. Shapes and dtypes are unchanged, so the
compiled epoch is not traced again. Hyperparameters are named by their configuration
paths: ``"optimizer.learning_rate"``, ``"optimizer.learning_rate.decay_rate"``,
``"layers[2].rate"``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["PBT", "apply_pbt", "exploit", "explore", "perturbed"]


@dataclasses.dataclass(frozen=True)
class PBT:
    """PBT settings for :func:`neural_jax.population.train_population`.

    Attributes:
      interval: epochs between exploit/explore steps (``k``).
      quantile: fraction of the population replaced each time (bottom) and used as
        donors (top); at least one member each.
      factors: the perturbation factors.
      hyperparams: paths of the float hyperparameters to perturb; None: every float
        parameter of the search space that is a per-member value, plus those that differ
        across the initial population.
      seed: seed of the donor draws and perturbations.
    """

    interval: int = 2
    quantile: float = 0.25
    factors: tuple[float, ...] = (0.8, 1.2)
    hyperparams: tuple[str, ...] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if int(self.interval) < 1:
            raise ValueError(f"PBT interval must be >= 1 epoch, got {self.interval}")
        if not 0.0 < self.quantile <= 0.5:
            raise ValueError(f"PBT quantile must be in (0, 0.5], got {self.quantile}")
        if not self.factors or any(f <= 0 for f in self.factors):
            raise ValueError(f"PBT factors must be positive, got {self.factors}")


def exploit(scores: np.ndarray, quantile: float, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """Truncation selection.

    Args:
      scores: ``(P,)`` values to minimise (non-finite ones rank last).
      quantile: the fraction replaced / used as donors.
      rng: the generator for donor draws.

    Returns:
      ``(losers, donors)``: positions of the replaced members and, for each, the position
      of the member it copies.
    """
    scores = np.where(np.isfinite(scores), scores, np.inf)
    p = len(scores)
    n = max(1, math.ceil(quantile * p))
    if p < 2:
        return np.zeros(0, int), np.zeros(0, int)
    n = min(n, p // 2)
    order = np.argsort(scores, kind="stable")
    top, bottom = order[:n], order[p - n:]
    return bottom, rng.choice(top, size=n, replace=True)


def explore(values: Mapping[str, np.ndarray], losers: np.ndarray, factors: Sequence[float],
            bounds: Mapping[str, tuple[float | None, float | None]], rng: np.random.Generator
            ) -> dict[str, np.ndarray]:
    """Perturbs the losers' hyperparameters (already copied from their donors).

    Args:
      values: ``{path: (P,) array}`` after the copy.
      losers: positions to perturb.
      factors: multiplicative factors drawn uniformly.
      bounds: ``{path: (low, high)}`` clip intervals.
      rng: the generator.

    Returns:
      New ``{path: (P,) array}``.
    """
    out = {}
    for name, v in values.items():
        v = np.array(v, dtype=np.float64, copy=True)
        f = rng.choice(np.asarray(factors, float), size=len(losers))
        v[losers] = v[losers] * f.reshape((-1,) + (1,) * (v.ndim - 1))
        lo, hi = bounds.get(name, (None, None))
        if lo is not None or hi is not None:
            v = np.clip(v, -np.inf if lo is None else lo, np.inf if hi is None else hi)
        out[name] = v
    return out


_COPIED = ("params", "state", "opt", "hp", "best_params", "best_state", "best_score")


def apply_pbt(pop: dict, ids: np.ndarray, scores: np.ndarray, pbt: PBT,
              rng: np.random.Generator, names: Sequence[str],
              bounds: Mapping[str, tuple[float | None, float | None]]) -> dict:
    """One exploit/explore step on a population store (member axis first).

    Args:
      pop: the members (see :mod:`neural_jax.population.program`), host or device arrays.
      ids: positions in ``pop`` of the active members, ``scores`` theirs (minimised).
      pbt: the settings.
      rng: the generator.
      names: hyperparameters to perturb (``"optimizer.<name>"`` or a model path).
      bounds: their clip intervals.

    Returns:
      The new store, with ``"_events"``: ``[(position, {"from": position, "hyperparams"})]``.
    """
    from neural_jax.population.trees import to_host, tree_put, tree_take
    from neural_jax.train.optimizers import hyperparams_of, set_hyperparams

    losers, donors = exploit(scores, pbt.quantile, rng)
    pop = dict(pop)
    if len(losers) == 0:
        pop["_events"] = []
        return pop
    li, di = ids[losers], ids[donors]
    host = isinstance(jax.tree_util.tree_leaves(pop["params"])[0], np.ndarray)
    for k in _COPIED:
        pop[k] = tree_put(pop[k], li, tree_take(pop[k], di), len(li))
    hyper = hyperparams_of(pop["opt"])
    values = {n: (np.asarray(hyper[n.split(".", 1)[1]]) if n.startswith("optimizer.")
                  else np.asarray(pop["hp"][n])) for n in names}
    new = explore(values, li, pbt.factors, bounds, rng)
    opt_new = {n.split(".", 1)[1]: jnp.asarray(v, jnp.float32) for n, v in new.items()
               if n.startswith("optimizer.")}
    if opt_new:
        pop["opt"] = set_hyperparams(pop["opt"], **opt_new)
    for n, v in new.items():
        if not n.startswith("optimizer."):
            pop["hp"] = {**pop["hp"], n: jnp.asarray(v, jnp.float32)}
    if host:
        pop = to_host(pop)
    pop["_events"] = [(int(loser), {"from": int(donor), "hyperparams": {n: float(new[n][loser])
                                                                       for n in names}})
                      for loser, donor in zip(li, di, strict=True)]
    return pop


def perturbed(pbt: PBT, net: Any, bucket: Any, model: Any
              ) -> tuple[list[str], dict[str, tuple[float, float | None]]]:
    """The hyperparameters PBT perturbs in ``bucket`` and their clip intervals.

    Args:
      pbt: the settings (``hyperparams`` None: every searched per-member float value,
        plus those that differ across the bucket's initial members; the learning rate
        when there is none).
      net: the network (its search space gives the domains).
      bucket: the bucket (:class:`~neural_jax.population.bucket.Bucket`).
      model: the bucket's model (its per-member ``dynamic`` values).

    Raises:
      PopulationConfigError: a named hyperparameter that is not a per-member float value.
    """
    from neural_jax.ir.space import search_space
    from neural_jax.population.bucket import PopulationConfigError

    opt = [f"optimizer.{k}" for k in bucket.opt_values[0]]
    dyn = [p for p, d in model.dynamic.items() if d.kind == "float"]
    space = {p.name: p for p in search_space(net)}
    if pbt.hyperparams is not None:
        unknown = [n for n in pbt.hyperparams if n not in opt + dyn]
        if unknown:
            raise PopulationConfigError(
                f"PBT cannot perturb {', '.join(unknown)}: not a per-member float "
                f"hyperparameter of this bucket (it has {', '.join(opt + dyn)}).")
        names = list(pbt.hyperparams)
    else:
        searched = {n for n, p in space.items() if p.kind == "float"}
        names = [n for n in opt + dyn if n in searched]
        for n in opt:
            k = n.split(".", 1)[1]
            if n not in names and len({np.asarray(v[k]).tobytes()
                                       for v in bucket.opt_values}) > 1:
                names.append(n)
        for n in dyn:
            if n not in names and len({float(c.get(n, 0.0)) for c in bucket.configs}) > 1:
                names.append(n)
        names = names or [n for n in opt if n in ("optimizer.learning_rate",)]
    bounds = {k: ((space[k].low if k in space else 0.0), (space[k].high if k in space else None))
              for k in names}
    return names, bounds
