"""Multivariate Tree-structured Parzen Estimator.

Notation: ``d`` encoded coordinates in ``[0, 1]``; ``n`` told points ``x_i`` with minimised values
``y_i``. The best ``n_l = gamma(n) = min(ceil(gamma * n), 25)`` points form the "good" set, the
rest the "bad" set (Bergstra et al. 2011, "Algorithms for Hyper-Parameter Optimization",
sec. 4). Each set gets a Parzen density, ``l(x)`` and ``g(x)``: a weighted mixture with one
component per point plus a broad prior component of weight ``prior_weight``. A component is a
product over coordinates (the multivariate form of Falkner et al. 2018, "BOHB", eq. 2) of

  * continuous / ordinal coordinates: a Gaussian truncated to ``[0, 1]``; with levels, its
    probability mass over the level's bin ``[i/k, (i+1)/k)``;
  * categorical coordinates: ``(1[c = c_i] + prior_weight / k) / (1 + prior_weight)``.

The bandwidth of point ``i`` on coordinate ``j`` is the larger gap to its sorted neighbours in
that set, clipped to ``[1 / (m + 2), 1]`` for a set of ``m`` points (the "magic clip" of
hyperopt) and floored at half a level width. Old points of the bad set weigh less once it
holds more than 25. A point of the good set weighs by its improvement on the split value,
``w_i = (tau - y_i) / max_k (tau - y_k)`` with ``tau`` the best value of the bad set: with equal
weights the ratio ``l / g`` orders candidates by the probability of improving on ``tau``, with
these it orders them by the expected improvement (Song et al. 2022, "A General Recipe for
Likelihood-free Bayesian Optimization", sec. 4). ``gamma = 0.15`` and ``prior_weight = 2``
were tuned on Branin, Hartmann-6, Levy-5 and Rosenbrock-4 at 60 evaluations; the weights and
the candidate count were also checked on Ackley-5, Styblinski-Tang-4, Hartmann-3 and the
six-hump camel (``benchmarks/RESULTS.md``). ``n_ei_candidates`` samples are drawn from ``l``
and the one maximising ``log l(x) - log g(x)`` is proposed; 128 of them (hyperopt and Optuna
draw 24) maximise that ratio more closely, which is cheap here because scoring is one
vectorised pass. In a batch, and for points asked but not yet told, each pending point joins
the bad set (constant liar with the worst value), so a batch spreads out instead of
repeating one mode.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import logsumexp, ndtr, ndtri
from scipy.stats import qmc

from search.strategies._parego import scalarize
from search.strategies._points import PointPicker
from search.strategies.base import Dimension, Strategy

__all__ = ["TPE"]


class _Parzen:
    """A Parzen mixture over encoded points ``mus`` ``(m, d)`` plus one prior component."""

    def __init__(
        self,
        mus: np.ndarray,
        weights: np.ndarray,
        levels: np.ndarray,
        cat: np.ndarray,
        prior_weight: float,
    ) -> None:
        m, d = mus.shape
        self.levels, self.cat = levels, cat
        self.prior_weight = prior_weight
        w = np.append(weights, prior_weight)
        self.log_w = np.log(w / w.sum())
        h = self._neighbor(mus)
        floor = np.where(levels > 0, 0.5 / np.maximum(levels, 1), 0.0)
        h = np.maximum(h, floor)
        # The prior component: a broad Gaussian at the centre of the box.
        self.mu = np.concatenate([mus, np.full((1, d), 0.5)])
        self.sigma = np.concatenate([np.broadcast_to(h, (m, d)), np.ones((1, d))])
        self.m = m

    @staticmethod
    def _neighbor(mus: np.ndarray) -> np.ndarray:
        """Per point and coordinate: the larger gap to its sorted neighbours (box ends count)."""
        m, d = mus.shape
        order = np.argsort(mus, axis=0, kind="stable")
        srt = np.take_along_axis(mus, order, axis=0)
        ext = np.concatenate([np.zeros((1, d)), srt, np.ones((1, d))])
        gaps = np.maximum(ext[1:-1] - ext[:-2], ext[2:] - ext[1:-1])
        if m >= 2:  # the box ends are not data: an extreme point looks inward only
            gaps[0] = ext[2] - ext[1]
            gaps[-1] = ext[-2] - ext[-3]
        h = np.empty_like(gaps)
        np.put_along_axis(h, order, gaps, axis=0)
        # "magic clip" (Bergstra et al. 2011, hyperopt): never narrower than 1 / (m + 2)
        return np.clip(h, 1.0 / min(100.0, m + 2.0), 1.0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        comp = rng.choice(self.m + 1, size=size, p=np.exp(self.log_w))
        mu, sigma = self.mu[comp], self.sigma[comp]
        lo, hi = ndtr(-mu / sigma), ndtr((1.0 - mu) / sigma)
        u = lo + (hi - lo) * rng.random(mu.shape)
        x = np.clip(mu + sigma * ndtri(np.clip(u, 1e-300, 1 - 1e-16)), 0.0, 1.0)
        for j in np.flatnonzero(self.cat):
            k = int(self.levels[j])
            probs = self._cat_probs(j)[comp]  # (size, k)
            c = (probs.cumsum(axis=1) > rng.random((size, 1))).argmax(axis=1)
            x[:, j] = (c + 0.5) / k
        return x

    def _cat_probs(self, j: int) -> np.ndarray:
        k = int(self.levels[j])
        idx = np.minimum(np.floor(self.mu[: self.m, j] * k), k - 1).astype(np.int64)
        probs = np.full((self.m + 1, k), self.prior_weight / k)
        probs[np.arange(self.m), idx] += 1.0
        probs[self.m] = 1.0  # the prior component is uniform over levels
        return probs / probs.sum(axis=1, keepdims=True)

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Log density (mass, for coordinates with levels) of points ``x`` ``(c, d)``."""
        mu, sigma = self.mu[None], self.sigma[None]  # (1, m+1, d)
        xx = x[:, None, :]
        log_z = np.log(ndtr((1.0 - mu) / sigma) - ndtr(-mu / sigma))
        z = (xx - mu) / sigma
        cont = -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - np.log(sigma) - log_z
        lv = self.levels
        binned = np.flatnonzero((lv > 0) & ~self.cat)  # stepped coordinates: bin masses
        if binned.size:
            k = lv[binned]
            m_, s_ = mu[..., binned], sigma[..., binned]
            left = np.floor(np.minimum(xx[..., binned] * k, k - 1)) / k
            a, b = (left - m_) / s_, (left + 1.0 / k - m_) / s_
            # mass of [a, b] computed on the side of the mean that avoids cancellation
            mass = np.where(a > 0, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))
            cont[..., binned] = np.log(np.maximum(mass, 1e-300)) - log_z[..., binned]
        for j in np.flatnonzero(self.cat):
            k = int(lv[j])
            c = np.minimum(np.floor(x[:, j] * k), k - 1).astype(np.int64)
            cont[:, :, j] = np.log(self._cat_probs(j)[:, c].T)
        return logsumexp(self.log_w[None] + cont.sum(axis=2), axis=1)


class TPE(PointPicker, Strategy):
    """Multivariate TPE with constant liar for batches.

    Args:
      seed: seed of every random choice.
      n_startup: points from a scrambled Sobol design before the model is used.
      n_ei_candidates: samples from ``l(x)`` scored per proposed point.
      gamma: fraction of told points in the good set (capped at ``max_good``).
      max_good: largest good set.
      prior_weight: weight of the prior component of each Parzen mixture.
    """

    name = "tpe"

    def __init__(
        self,
        seed: int | None = None,
        *,
        n_startup: int = 10,
        n_ei_candidates: int = 128,
        gamma: float = 0.15,
        max_good: int = 25,
        prior_weight: float = 2.0,
    ) -> None:
        super().__init__(seed)
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma must lie in (0, 1], got {gamma}")
        if n_ei_candidates < 1 or max_good < 1 or prior_weight <= 0:
            raise ValueError("n_ei_candidates, max_good and prior_weight must be > 0")
        self.n_startup = n_startup
        self.n_ei_candidates = n_ei_candidates
        self.gamma = gamma
        self.max_good = max_good
        self.prior_weight = prior_weight
        self._reset()

    def _reset(self) -> None:
        self._reset_points()
        self._levels = np.array([dim.levels or 0 for dim in self.dims], dtype=np.int64)
        self._cat = np.array([dim.kind == "categorical" for dim in self.dims], dtype=bool)

    def bind(self, dims: Sequence[Dimension], seed: int | None = None) -> None:
        super().bind(dims, seed)
        self._reset()
        if self.d:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # scipy warns about non-power-of-two draws
                sobol = qmc.Sobol(self.d, scramble=True, seed=int(self.rng.integers(2**31)))
                self._sobol = self._snap(sobol.random(64))

    # ------------------------------------------------------------------ contract
    def tell(self, x: np.ndarray, y: np.ndarray) -> None:
        x = self._snap(np.atleast_2d(np.asarray(x, dtype=np.float64)))
        if len(x) == 0:
            return
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(len(x), -1) if y.ndim > 1 or y.size != len(x) else y.reshape(len(x))
        self._record(x, y)

    def ask(self, n: int) -> np.ndarray:
        out = np.zeros((n, self.d))
        for i in range(n):
            if len(self._y) + len(self._pending) < self.n_startup or not self._y or not self.d:
                x = self._initial_point()
            else:
                x = self._propose()
            out[i] = x
            self._add_pending(x)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {
            **self._points_state(),
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._load_points_state(state)
        if "rng" in state:
            self.rng.bit_generator.state = state["rng"]

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _ramp_weights(m: int) -> np.ndarray:
        """Older points weigh less once there are many (Optuna's default weighting)."""
        if m < 25:
            return np.ones(m)
        return np.concatenate([np.linspace(1.0 / m, 1.0, m - 25), np.ones(25)])

    @staticmethod
    def _good_weights(y_good: np.ndarray, tau: float | None) -> np.ndarray:
        """Improvement weights ``(tau - y_i) / max (tau - y)`` of the good set (Song et al. 2022).

        Equal weights when there is no bad set to split on (``tau`` is None), when no point
        of the good set improves on ``tau`` (all values tie), or when an infinite value
        leaves the scale undefined.
        """
        if tau is None:
            return np.ones(len(y_good))
        gain = np.maximum(tau - y_good, 0.0)
        top = gain.max(initial=0.0)
        if not 0.0 < top < math.inf:
            return np.ones(len(y_good))
        # a point that ties with tau keeps a tiny weight, so that every component stays finite
        return np.maximum(gain / top, 1e-12)

    def _propose(self) -> np.ndarray:
        y = scalarize(np.asarray(self._y), self.rng)
        n = len(y)
        n_good = min(math.ceil(self.gamma * n), self.max_good, n)
        order = np.argsort(y, kind="stable")
        good = np.sort(order[:n_good])
        bad = np.sort(order[n_good:])
        X_bad = np.concatenate([self._X[bad], self._pending])
        args = (self._levels, self._cat, self.prior_weight)
        tau = float(y[order[n_good]]) if n_good < n else None
        below = _Parzen(self._X[good], self._good_weights(y[good], tau), *args)
        g = _Parzen(X_bad, self._ramp_weights(len(X_bad)), *args)
        cands = self._snap(below.sample(self.rng, self.n_ei_candidates))
        score = below.log_pdf(cands) - g.log_pdf(cands)
        for idx in np.argsort(-score, kind="stable"):
            if not self._is_dup(cands[idx]):
                return cands[idx]
        return self._random_point()
