"""Gaussian-process Bayesian optimisation, written in JAX.

Notation: ``d`` encoded coordinates in ``[0, 1]``; ``X`` ``(n, d)`` told points, ``y`` ``(n,)``
their (minimised) values; *pending* points are asked and not yet told (the earlier members
of the current batch included).

One ``ask``:
  1. until ``n_init`` points are told or pending, return a scrambled Sobol design;
  2. standardise ``y``, compress its upper tail by a Yeo-Johnson power transform (output
     warping, :func:`._gp_kernels.warp`), and fit the Matern-5/2 ARD hyperparameters by
     maximum a posteriori (priors and bounds in :mod:`._gp_kernels`) with L-BFGS-B on a
     jitted objective and gradient, warm-started from the previous fit;
  3. maximise log EI averaged over fantasies of the pending points (Snoek et al. 2012,
     eq. 7; :mod:`._gp_acq`): score random candidates and candidates around the best told
     points, start L-BFGS-B from the best candidate, the best told point and a roulette
     draw of the rest (probability ``proportional to EI``, as Optuna's ``optim_mixed``
     does), snap coordinates that have levels to bin centres and sweep each such
     coordinate over its levels;
  4. take the best point that duplicates no told or pending point; it becomes pending,
     and the next member of the batch is chosen with it among the fantasised points.

Observations are padded to a power-of-two bucket with a mask, so ``jit`` compiles once per
bucket (32, 64, 128, ...) instead of once per observation count.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from scipy import optimize
from scipy.stats import qmc

from search.strategies import _gp_acq as A
from search.strategies import _gp_kernels as K
from search.strategies._parego import scalarize
from search.strategies._points import PointPicker
from search.strategies.base import Dimension, Strategy

__all__ = ["GPBayesian"]

_SWEEP_ALL_LEVELS = 16  # coordinates with at most this many levels are swept exhaustively


def _bucket(n: int, minimum: int = 32) -> int:
    return max(minimum, 1 << max(n - 1, 0).bit_length())


class GPBayesian(PointPicker, Strategy):
    """Bayesian optimisation with a Matern-5/2 ARD Gaussian process and log EI.

    Args:
      seed: seed of every random choice (initial design, candidates, restarts).
      n_init: size of the initial Sobol design; default ``min(10, 2 d + 1)``.
      n_candidates: random candidates scored per acquisition optimisation.
      n_local: candidates drawn around the best told points.
      n_starts: candidates refined by L-BFGS-B.
      acq_maxiter: L-BFGS-B iterations of that refinement.
      n_fantasies: quasi-random fantasies of the pending points (batches only).
      fit_maxiter: L-BFGS-B iterations per start of the hyperparameter fit.
      fit_restarts: random restarts of the fit (besides the warm and default starts).
    """

    name = "gp"

    def __init__(
        self,
        seed: int | None = None,
        *,
        n_init: int | None = None,
        n_candidates: int = 1536,
        n_local: int = 511,
        n_starts: int = 10,
        acq_maxiter: int = 200,
        n_fantasies: int = 64,
        fit_maxiter: int = 200,
        fit_restarts: int = 2,
    ) -> None:
        super().__init__(seed)
        if n_init is not None and n_init < 1:
            raise ValueError(f"n_init must be >= 1, got {n_init}")
        if n_starts < 1 or n_fantasies < 1:
            raise ValueError("n_starts and n_fantasies must be >= 1")
        self.n_init = n_init
        self.n_candidates = n_candidates
        self.n_local = n_local
        self.n_starts = n_starts
        self.acq_maxiter = acq_maxiter
        self.n_fantasies = n_fantasies
        self.fit_maxiter = fit_maxiter
        self.fit_restarts = fit_restarts
        self._reset()

    def _reset(self) -> None:
        self._reset_points()
        self._theta: np.ndarray | None = None
        self._n_fits = 0

    def bind(self, dims: Sequence[Dimension], seed: int | None = None) -> None:
        super().bind(dims, seed)
        self._reset()
        d = self.d
        self._levels = np.array([dim.levels or 0 for dim in self.dims], dtype=np.int64)
        self._cat = np.array([dim.kind == "categorical" for dim in self.dims], dtype=bool)
        # Kernels see d padded to a multiple of 8 (zeros in every point), so spaces of
        # similar size share one compiled program per observation bucket.
        self._D = 8 * max(1, -(-d // 8))
        self._kind = np.full(self._D, K.PAD, dtype=np.int32)
        self._kind[:d] = np.where(self._cat, K.CAT, K.CONT)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns about non-power-of-two draws
            sobol = qmc.Sobol(d, scramble=True, seed=int(self.rng.integers(2**31)))
            self._sobol = self._snap(sobol.random(64)) if d else np.zeros((64, 0))

    @property
    def _n_init(self) -> int:
        return self.n_init if self.n_init is not None else min(10, 2 * self.d + 1)

    # ------------------------------------------------------------------ contract
    def tell(self, x: np.ndarray, y: np.ndarray) -> None:
        x = self._snap(np.atleast_2d(np.asarray(x, dtype=np.float64)))
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(len(x), -1) if y.ndim > 1 or y.size != len(x) else y.reshape(len(x))
        if len(x) == 0:
            return
        self._record(x, y)

    def ask(self, n: int) -> np.ndarray:
        out = np.zeros((n, self.d))
        model = None
        with jax.enable_x64(True), K.one_blas_thread():
            for i in range(n):
                n_told = len(self._y)
                if n_told == 0 or n_told + len(self._pending) < self._n_init or self.d == 0:
                    x = self._initial_point()
                else:
                    if model is None:
                        model = self._fit()
                    x = self._propose(model)
                out[i] = x
                self._add_pending(x)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {
            **self._points_state(),
            "theta": None if self._theta is None else self._theta.tolist(),
            "n_fits": self._n_fits,
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._load_points_state(state)
        theta = state.get("theta")
        self._theta = None if theta is None else np.asarray(theta, dtype=np.float64)
        self._n_fits = int(state.get("n_fits", 0))
        if "rng" in state:
            self.rng.bit_generator.state = state["rng"]

    # ------------------------------------------------------------------ helpers
    def _targets(self) -> np.ndarray:
        """Standardised, upper-tail-compressed values (module docstring, step 2)."""
        y = scalarize(np.asarray(self._y), self.rng)
        self._order = np.argsort(y, kind="stable")
        return K.warp(y)

    def _pad(self, x: np.ndarray) -> np.ndarray:
        return np.pad(x, ((0, 0), (0, self._D - self.d)))

    # ------------------------------------------------------------------ model
    def _theta_starts(self) -> list[np.ndarray]:
        D = self._D
        default = np.concatenate([np.full(D, math.log(0.5 * math.sqrt(self.d))),
                                  [0.0, math.log(1e-3)]])
        if self._theta is None:
            starts = [default]
        else:
            # The marginal likelihood often has a "noisy" and a "near-interpolating" mode;
            # the warm start sticks to the one it is in, so the other is always tried too.
            quiet = self._theta.copy()
            quiet[-1] = math.log(1e-5)
            starts = [self._theta, quiet]
            if self._n_fits % 5:
                return starts
            starts.append(default)
        # Random restarts guard against a warm start stuck in a poor mode.
        for _ in range(self.fit_restarts):
            ls = self.rng.uniform(math.log(0.05), math.log(2.0), D)
            rest = [self.rng.uniform(-1.0, 1.0), self.rng.uniform(math.log(1e-6), math.log(1e-2))]
            starts.append(np.concatenate([ls, rest]))
        return starts

    def _fit_theta(self, X: np.ndarray, y: np.ndarray, mask: np.ndarray) -> K.Theta:
        """MAP hyperparameters by L-BFGS-B on a jitted objective and gradient."""

        def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
            v, g = K.objective_and_grad(flat, X, y, mask, self._kind)
            return float(v), np.asarray(g, dtype=np.float64)

        bounds = K.theta_bounds(self._D)
        lo, hi = np.array(bounds).T
        best_v, best = np.inf, None
        for t0 in self._theta_starts():
            res = optimize.minimize(
                fun, np.clip(t0, lo, hi), jac=True, method="L-BFGS-B", bounds=bounds,
                options={"maxiter": self.fit_maxiter},
            )
            if np.isfinite(res.fun) and res.fun < best_v:
                best_v, best = res.fun, res.x
        self._n_fits += 1
        if best is not None:
            self._theta = np.asarray(best)
        elif self._theta is None:
            self._theta = np.clip(self._theta_starts()[0], lo, hi)
        return K.unflatten(self._theta, self._D)

    def _fit(self) -> dict[str, Any]:
        """Fits the GP to the told points; fixes the fantasy base samples of this ask."""
        n = len(self._y)
        N = _bucket(n)
        X = np.zeros((N, self._D))
        X[:n, : self.d] = self._X
        y = np.zeros(N)
        y[:n] = self._targets()
        mask = np.zeros(N)
        mask[:n] = 1.0
        theta = self._fit_theta(X, y, mask)
        post = K.factor(theta, X, y, mask, self._kind)
        return {
            "X": X, "mask": mask, "theta": theta, "post": post, "best": float(y[:n].min()),
            "seed": int(self.rng.integers(2**31)),
        }

    def _fantasies(self, model: dict[str, Any]) -> A.Fantasies:
        p = len(self._pending)
        P = _bucket(p, 8)
        R = np.zeros((P, self._D))
        R[:p, : self.d] = self._pending
        rmask = np.zeros(P)
        rmask[:p] = 1.0
        # Without pending points one fantasy with z = 0 is exact (plain log EI).
        Z = A.base_samples(self.n_fantasies, P, model["seed"]) if p else np.zeros((1, P))
        args = (model["theta"], model["X"], model["mask"], self._kind, model["post"])
        return A.fantasies(*args, R, rmask, Z, model["best"])

    # ------------------------------------------------------------------ acquisition
    def _candidates(self) -> np.ndarray:
        d = self.d
        rand = self.rng.random((self.n_candidates, d))
        top = self._X[self._order[:5]]
        centres = top[self.rng.integers(len(top), size=self.n_local)]
        scale = np.exp(self.rng.uniform(math.log(1e-3), math.log(0.2), (self.n_local, 1)))
        local = centres + scale * self.rng.standard_normal((self.n_local, d))
        # Reflect rather than clip at the box: clipping would pile half the perturbations of
        # a boundary incumbent onto the boundary itself and trap the search there.
        local = np.abs(local)
        local = np.where(local > 1.0, np.maximum(2.0 - local, 0.0), local)
        # Categorical coordinates of local candidates keep the incumbent's level mostly.
        flip = self.rng.random((self.n_local, d)) < 0.2
        local = np.where(self._cat & flip, self.rng.random((self.n_local, d)), local)
        return self._snap(np.concatenate([rand, local, self._X[self._order[:1]]]))

    def _starts(self, cands: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """Best candidate, best told point, then a roulette draw ``p ~ exp(v - max v)``."""
        vals = np.where(np.isfinite(vals), vals, -np.inf)
        top = int(np.argmax(vals))
        chosen = [top, len(cands) - 1]  # the last candidate is the best told point
        prob = np.exp(vals - vals[top])
        prob[chosen] = 0.0
        k = min(self.n_starts - len(chosen), int(np.count_nonzero(prob > 0)))
        if k > 0:
            chosen += list(self.rng.choice(len(cands), size=k, replace=False, p=prob / prob.sum()))
        return cands[np.unique(chosen)]

    def _sweep(self, pts: np.ndarray) -> np.ndarray:
        """Neighbours of ``pts`` along each coordinate with levels (all levels if few)."""
        out = [pts]
        for j in np.flatnonzero(self._levels):
            k = int(self._levels[j])
            cur = np.floor(pts[:, j] * k).astype(np.int64)
            if k <= _SWEEP_ALL_LEVELS:
                alts = [np.full(len(pts), lv) for lv in range(k)]
            elif self._cat[j]:  # unordered: a few random other levels
                alts = [self.rng.integers(k, size=len(pts)) for _ in range(4)]
            else:  # ordered: the neighbouring levels
                alts = [np.clip(cur + s, 0, k - 1) for s in (-2, -1, 1, 2)]
            for lv in alts:
                q = pts.copy()
                q[:, j] = (lv + 0.5) / k
                out.append(q)
        return np.concatenate(out)

    def _evaluate(self, args: tuple, pts: np.ndarray) -> np.ndarray:
        m = len(pts)
        size = 512 * -(-m // 512)  # few distinct sizes: few compiled programs
        padded = np.concatenate([pts, np.repeat(pts[:1], size - m, axis=0)])
        return np.asarray(A.evaluate(self._pad(padded), *args))[:m]

    def _propose(self, model: dict[str, Any]) -> np.ndarray:
        fant = self._fantasies(model)
        args = (model["theta"], model["X"], model["mask"], self._kind, model["post"], fant)
        cands = self._candidates()
        cvals = self._evaluate(args, cands)
        starts = self._starts(cands, cvals)
        B = len(starts)
        Bp = _bucket(B, 16)  # a fixed number of starts: one compiled gradient program

        def fun(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            xp = np.concatenate([x, np.repeat(x[:1], Bp - B, axis=0)])
            v, g = A.value_and_grad(xp, *args)
            return np.asarray(v)[:B], np.asarray(g)[:B]

        free = self._kind == K.CONT  # ordinal levels move too, then snap and sweep
        scale = np.exp(np.asarray(model["theta"].log_ls))
        pts, vals = A.maximize(fun, self._pad(starts), free, scale, self.acq_maxiter)
        pts = pts[:, : self.d]
        if np.any(self._levels):
            pts = self._sweep(self._snap(pts))
            vals = self._evaluate(args, pts)
        pts = np.concatenate([pts, cands])
        vals = np.concatenate([vals, cvals])
        vals = np.where(np.isfinite(vals), vals, -np.inf)
        for idx in np.argsort(-vals, kind="stable"):
            if not self._is_dup(pts[idx]):
                return pts[idx]
        return self._random_point()
