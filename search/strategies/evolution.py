"""Evolution strategies and genetic algorithms from evosax, run by name on the unit box.

Notation: ``d`` encoded coordinates, population size ``p``. The evolutionary algorithm (ES)
works on an unconstrained *genotype* ``g in R^d``; the strategy serves the *phenotype*

    u = snap(bound(1/2 + s * g)),

where ``s`` (``scale``, default 1/6) is the box length of one genotype unit and ``snap``
moves every coordinate with ``levels=k`` to the centre ``(i + 1/2)/k`` of its bin. Boundary
handling (Hansen, "The CMA Evolution Strategy: A Tutorial", 2016, appendix B), ``bounds=``:

* ``"resample"`` (default): a member whose phenotype leaves the box is replaced by another
  draw from the same search distribution (the ES asked again with a derived key), up to
  ``_MAX_RESAMPLE`` times, then clipped. This is what the ``cmaes`` library behind Optuna's
  ``CmaEsSampler`` does (``CMA.ask``, ``n_max_resampling=100``): the ES sees a sample of its
  distribution truncated to the box, with no mass piled on a bound;
* ``"clip"``: ``clip`` to ``[0, 1]``, which piles infeasible samples onto the bounds;
* ``"reflect"``: ``reflect(z) = 1 - |(z mod 2) - 1|``, which avoids the pile but mirrors a
  basin near a bound into two nearby copies.

All three are the identity inside the box. The ES is told the genotype actually served.
Population-based algorithms (which do not resample) fall back to clipping. Snapping happens
only for evaluation; the ES keeps its continuous genotype, so step-size adaptation is not
disturbed by the discretisation. Distribution-based algorithms start with their mean at the
centre of the box (``g = 0``); an algorithm's default step size of 1 is therefore ``s`` in
box units, 1/6 of the range as in Optuna's ``CmaEsSampler``.

Generations and ``ask(n)``. An ES proposes a generation of exactly ``p`` members and needs
all ``p`` fitnesses before it can propose the next one, while a study may ask for any
``n`` at any time. The rule:

* ``ask(n)`` serves the current generation's members in order. When they run out before
  the generation is complete, it serves *extras*: members of a fresh proposal drawn from the
  same ES state with another key (another sample of the same search distribution; for a
  population-based algorithm, another offspring of the same parents). Extra ``j`` of a round
  stands for member ``j``; every served point belongs to a *slot* ``j`` in ``0..p-1``,
  and points of slots that already have a value are skipped.
* ``tell`` matches each told point to the served point it equals; the first value told for
  a slot is that slot's fitness. When every slot has a fitness, the ES is told the
  generation (slot genotypes and fitnesses), and the next ``ask`` advances to a new
  generation. Values for a slot that was already filled, and points the strategy never
  served (e.g. enqueued ones), are kept in the history but do not reach the ES.
* With ``popsize=None`` the population size is the CMA-ES default ``4 + floor(3 ln d)``
  (at least 4), made a multiple of the first ``ask``'s ``n`` when that is larger than 1
  (``max(n, n * round(p0 / n))``), so a study that always asks for a population of ``n``
  wastes no evaluation. The size is rounded up if the algorithm rejects it (e.g. odd sizes
  for antithetic sampling).

Population-based algorithms (SimpleGA, DifferentialEvolution, PSO, ...) are initialised
with an evaluated population, so their first generation is uniform on the box.

Resuming. The whole ES state is a function of the seed and the ordered sequence of told
values, because every key is derived from the seed and the generation number. So
:meth:`Evolution.state_dict` stores the seed, the population size, the told ``(x, y)``
history and the position in the current generation, and :meth:`load_state_dict` replays
the history. Replaying ``tell`` alone into a fresh strategy (what a study does when it
restores nothing) rebuilds the same ES too: ``tell`` regenerates the proposals it needs to
match a point, and a point told twice with the same value is recognised and ignored.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from search.strategies._evosax_names import (
    SHORT_NAMES,
    algorithm_class,
    available_algorithms,
    resolve_algorithm,
)
from search.strategies.base import Dimension, Strategy, single_objective

__all__ = ["SHORT_NAMES", "Evolution", "available_algorithms", "resolve_algorithm"]

#: tolerance for recognising a told point as one the strategy served (encode/decode noise)
_MATCH_ATOL = 1e-9
#: how many rounds of extras ``tell`` may draw to recognise a point it did not serve
_MAX_ROUNDS = 4
#: redraws of a member outside the box before it is clipped (``bounds="resample"``)
_MAX_RESAMPLE = 100
#: compiled ES objects shared by all strategies with the same algorithm, size and options
_ES_CACHE: dict[Any, Any] = {}


def _reflect(z: np.ndarray) -> np.ndarray:
    """Mirror ``z`` into ``[0, 1]`` (period 2, identity on the box)."""
    t = np.mod(z, 2.0)
    return np.where(t > 1.0, 2.0 - t, t)


def _default_popsize(d: int) -> int:
    return max(4, 4 + math.floor(3 * math.log(max(d, 1))))


class Evolution(Strategy):
    """Any evosax 0.3 algorithm, by name, as a search strategy on ``[0, 1]^d``.

    Args:
      algorithm: an evosax registry name, e.g. ``"CMA_ES"``, ``"Sep_CMA_ES"``, ``"SNES"``,
        ``"xNES"``, ``"Open_ES"``, ``"SimpleGA"``, ``"DifferentialEvolution"``, ``"PSO"``
        (see :func:`available_algorithms`).
      popsize: population size per generation; ``None`` picks one (module docstring).
      scale: box length of one genotype unit (the algorithm's unit step size).
      bounds: ``"resample"`` (default), ``"clip"`` or ``"reflect"``, how a genotype outside the
        box is brought back (module docstring).
      seed: random seed (``bind`` may override it).
      **es_kwargs: options for the algorithm. Names the algorithm's constructor takes
        (e.g. ``optimizer``, ``std_schedule``, ``use_antithetic_sampling``) are passed to
        it; every other name must be a field of its ``Params`` (e.g. ``std_init``,
        ``crossover_rate``, ``inertia_coeff``) and overrides the default value.
    """

    name = "evolution"

    def __init__(
        self,
        algorithm: str = "CMA_ES",
        popsize: int | None = None,
        *,
        scale: float = 1 / 6,
        bounds: str = "resample",
        seed: int | None = None,
        **es_kwargs: Any,
    ) -> None:
        super().__init__(seed)
        algorithm = resolve_algorithm(algorithm)
        cls = algorithm_class(algorithm)
        if popsize is not None and popsize < 2:
            raise ValueError(f"popsize must be at least 2, got {popsize}")
        if bounds not in ("resample", "reflect", "clip"):
            raise ValueError(f"bounds must be 'resample', 'reflect' or 'clip', got {bounds!r}")
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale}")
        accepted = set(inspect.signature(cls.__init__).parameters) - {
            "self",
            "population_size",
            "solution",
        }
        self.algorithm = algorithm
        self.popsize = popsize
        self.scale = float(scale)
        self.bounds = bounds
        self._ctor_kwargs = {k: v for k, v in es_kwargs.items() if k in accepted}
        self._param_overrides = {
            k: v for k, v in es_kwargs.items() if k not in accepted
        }
        self._reset()

    # ------------------------------------------------------------------ set-up
    def bind(self, dims: Sequence[Dimension], seed: int | None = None) -> None:
        super().bind(dims, seed)
        self._reset()

    def _reset(self) -> None:
        """Forgets everything but the options; the ES is built on the first ask."""
        self._key_seed = (
            int(self.seed)
            if self.seed is not None
            else int(self.rng.integers(2**31 - 1))
        )
        self._p: int | None = self.popsize
        self._es = None
        self._params = None
        self._state = None  # ES state after the current generation's ask
        self._pre_state = None  # ES state the current generation was asked from
        self._initialised = False  # population-based: has ``init`` seen a population?
        self._gen = 0
        self._geno: list[np.ndarray] = []  # rounds of (p, d) genotypes
        self._pheno: list[np.ndarray] = []  # the served points of those rounds
        self._told: list[np.ndarray] = []  # per round, which samples were told
        self._served = 0  # samples of this generation handed out so far
        self._slot_fit = np.full(0, np.nan)
        self._slot_geno = np.zeros((0, 0))
        self.history_x: list[list[float]] = []
        self.history_y: list[float] = []

    def _build(self, n_first: int) -> None:
        import jax

        d = self.d
        if d == 0:
            raise RuntimeError("Evolution.ask called before bind(dims)")
        if self._p is None:
            p0 = _default_popsize(d)
            self._p = (
                p0 if n_first <= 1 else max(n_first, n_first * round(p0 / n_first))
            )
        cls = algorithm_class(self.algorithm)
        es, last_error = None, None
        for p in range(self._p, self._p + 4):
            try:
                es = self._cached_es(cls, p, d)
                break
            except AssertionError as err:  # evosax asserts on unsupported sizes
                last_error = err
        if es is None:
            raise ValueError(
                f"{self.algorithm} rejects population size {self._p}: {last_error}"
            )
        self._p = es.population_size
        params = es.default_params
        fields = set(getattr(params, "__dataclass_fields__", {}))
        unknown = sorted(set(self._param_overrides) - fields)
        if unknown:
            raise TypeError(
                f"{self.algorithm} has no option {', '.join(map(repr, unknown))}; its "
                f"params are {sorted(fields)}"
            )
        if self._param_overrides:
            params = params.replace(**self._param_overrides)
        self._es, self._params = es, params
        self._base_key = jax.random.key(self._key_seed)
        self._start_generation()

    def _cached_es(self, cls: type, p: int, d: int) -> Any:
        import jax.numpy as jnp

        try:
            key = (self.algorithm, p, d, tuple(sorted(self._ctor_kwargs.items())))
            hash(key)
        except TypeError:  # unhashable option: build a private, uncached ES
            key = None
        if key is not None and key in _ES_CACHE:
            return _ES_CACHE[key]
        es = cls(population_size=p, solution=jnp.zeros(d), **self._ctor_kwargs)
        if key is not None:
            _ES_CACHE[key] = es
        return es

    @property
    def _population_based(self) -> bool:
        from evosax.algorithms.population_based.base import PopulationBasedAlgorithm

        return isinstance(self._es, PopulationBasedAlgorithm)

    # ------------------------------------------------------------- generations
    def _keys(self) -> tuple[Any, Any, Any]:
        import jax

        k = jax.random.fold_in(self._base_key, self._gen)
        k_ask, k_tell, k_extra = jax.random.split(k, 3)
        return k_ask, k_tell, k_extra

    def _start_generation(self) -> None:
        import jax
        import jax.numpy as jnp

        p, d = self._p, self.d
        self._geno, self._pheno, self._told = [], [], []
        self._served = 0
        self._slot_fit = np.full(p, np.nan)
        self._slot_geno = np.zeros((p, d))
        k_ask, _, _ = self._keys()
        if not self._initialised and not self._population_based:
            self._state = self._es.init(k_ask, jnp.zeros(d), self._params)
            self._initialised = True
        if self._initialised:
            self._pre_state = self._state
            pop, self._state = self._es.ask(k_ask, self._pre_state, self._params)
            self._add_round(self._resample(np.asarray(pop, dtype=np.float64), k_ask))
        else:  # population-based, before init: a uniform population
            u = np.asarray(jax.random.uniform(k_ask, (p, d)), dtype=np.float64)
            self._add_round((u - 0.5) / self.scale)

    def _add_round(self, geno: np.ndarray) -> None:
        self._geno.append(geno)
        self._pheno.append(self._phenotype(geno))
        self._told.append(np.zeros(len(geno), dtype=bool))

    def _draw_extra_round(self) -> None:
        import jax

        _, _, k_extra = self._keys()
        key = jax.random.fold_in(k_extra, len(self._geno))
        if self._initialised:
            pop, _ = self._es.ask(key, self._pre_state, self._params)
            self._add_round(self._resample(np.asarray(pop, dtype=np.float64), key))
        else:
            u = np.asarray(jax.random.uniform(key, (self._p, self.d)), dtype=np.float64)
            self._add_round((u - 0.5) / self.scale)

    def _resample(self, geno: np.ndarray, key: Any) -> np.ndarray:
        """Redraws members outside the box from the same ES state (``bounds="resample"``)."""
        if self.bounds != "resample" or self._population_based:
            return geno
        import jax

        limit = 0.5 / self.scale  # |g| beyond this leaves the box
        for t in range(_MAX_RESAMPLE):
            bad = np.any(np.abs(geno) > limit, axis=1)
            if not bad.any():
                break
            pop, _ = self._es.ask(jax.random.fold_in(key, 1000 + t), self._pre_state, self._params)
            geno = np.where(bad[:, None], np.asarray(pop, dtype=np.float64), geno)
        return geno

    def _phenotype(self, geno: np.ndarray) -> np.ndarray:
        z = 0.5 + self.scale * geno
        u = _reflect(z) if self.bounds == "reflect" else np.clip(z, 0.0, 1.0)  # resample: clip rest
        for j, dim in enumerate(self.dims):
            if dim.levels:
                k = dim.levels
                u[:, j] = (np.clip(np.floor(u[:, j] * k), 0, k - 1) + 0.5) / k
        return u

    def _advance_if_complete(self) -> None:
        if self._es is None or np.isnan(self._slot_fit).any():
            return
        import jax.numpy as jnp

        _, k_tell, _ = self._keys()
        pop = jnp.asarray(self._slot_geno, dtype=jnp.float32)
        fit = jnp.asarray(self._slot_fit, dtype=jnp.float32)
        if self._initialised:
            self._state, _ = self._es.tell(k_tell, pop, fit, self._state, self._params)
        else:
            self._state = self._es.init(k_tell, pop, fit, self._params)
            self._initialised = True
        self._gen += 1
        self._start_generation()

    # ---------------------------------------------------------------- contract
    def ask(self, n: int) -> np.ndarray:
        """Serves ``n`` points of the current generation (extras past its end)."""
        if self._es is None:
            self._build(n)
        self._advance_if_complete()
        out = np.empty((n, self.d))
        p = self._p
        for i in range(n):
            while True:
                r, j = divmod(self._served, p)
                while r >= len(self._geno):
                    self._draw_extra_round()
                self._served += 1
                if not self._told[r][j] and np.isnan(self._slot_fit[j]):
                    break
            out[i] = self._pheno[r][j]
        return out

    def tell(self, x: np.ndarray, y: np.ndarray) -> None:
        """Records values; a generation is passed to the ES once all its slots have one."""
        x, y = single_objective(
            x, y, "Evolution optimises a single objective; got values of shape {shape}. "
            "Use a multi-objective strategy for several objectives.")
        for xi, yi in zip(x, y):
            self._tell_one(xi, float(yi))

    def _tell_one(self, x: np.ndarray, y: float) -> None:
        if (
            self._es is None
        ):  # a replay into a fresh strategy: build as the first ask would
            self._build(self._p or 1)
        self._advance_if_complete()
        hit = self._match(x)
        if hit is None:
            if self._seen(x, y):
                return
        else:
            r, j, already = hit
            if already:
                if self._seen(x, y):
                    return
            else:
                self._told[r][j] = True
                if np.isnan(self._slot_fit[j]):
                    self._slot_fit[j] = y
                    self._slot_geno[j] = self._geno[r][j]
        self.history_x.append([float(v) for v in x])
        self.history_y.append(y)

    def _match(self, x: np.ndarray) -> tuple[int, int, bool] | None:
        """Finds the sample equal to ``x``: served and untold first, then any untold."""
        while True:
            best = None
            for r, pheno in enumerate(self._pheno):
                close = np.flatnonzero(np.max(np.abs(pheno - x), axis=1) <= _MATCH_ATOL)
                for j in close:
                    told = bool(self._told[r][j])
                    served = r * self._p + j < self._served
                    rank = (told, not served)
                    if best is None or rank < best[0]:
                        best = (rank, r, int(j))
            if best is not None and not best[0][0]:
                return best[1], best[2], False
            if len(self._geno) >= _MAX_ROUNDS:
                return None if best is None else (best[1], best[2], True)
            self._draw_extra_round()

    def _seen(self, x: np.ndarray, y: float) -> bool:
        if not self.history_y:
            return False
        hx = np.asarray(self.history_x)
        same = np.max(np.abs(hx - x), axis=1) <= _MATCH_ATOL
        return bool(np.any(same & np.isclose(self.history_y, y, rtol=1e-12, atol=0.0)))

    # ------------------------------------------------------------------ resume
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (a resumed study rebuilds the same algorithm); options
        that are not JSON values (e.g. an optax optimizer) are left out."""
        import json

        config: dict[str, Any] = {"algorithm": self.algorithm, "popsize": self.popsize,
                                  "scale": self.scale, "bounds": self.bounds}
        for k, v in {**self._ctor_kwargs, **self._param_overrides}.items():
            try:
                json.dumps(v)
            except (TypeError, ValueError):
                continue
            config[k] = v
        return config

    def state_dict(self) -> dict[str, Any]:
        """Seed, population size, told history and position in the generation (JSON)."""
        return {
            "algorithm": self.algorithm,
            "seed": self._key_seed,
            "popsize": self._p,
            "built": self._es is not None,
            "x": [list(v) for v in self.history_x],
            "y": list(self.history_y),
            "generation": self._gen,
            "served": self._served,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Rebuilds the ES by replaying the told history under the stored seed."""
        if state.get("algorithm", self.algorithm) != self.algorithm:
            raise ValueError(
                f"state was saved by Evolution({state['algorithm']!r}), "
                f"not Evolution({self.algorithm!r})"
            )
        self.seed = int(state["seed"])
        self._reset()
        self._p = state["popsize"]
        if state.get("built") or state["y"]:
            self._build(self._p or 1)
        if state["y"]:
            self.tell(np.asarray(state["x"], dtype=np.float64), np.asarray(state["y"]))
        if self._es is not None:
            self._advance_if_complete()
            if self._gen == state["generation"]:
                self._served = max(self._served, int(state["served"]))
