"""Acquisition of :class:`search.strategies.gp.GPBayesian`: log EI averaged over fantasies.

Notation: the GP of :mod:`._gp_kernels` (``X``, ``mask``, ``theta``, ``post``) is fitted to
the told points only. ``R`` ``(P, D)`` are the *pending* points (asked, not yet told, the
earlier members of the current batch included), padded to a bucket ``P`` with ``rmask``.
``best`` is the smallest standardised told value.

Batches follow Snoek et al. (2012), "Practical Bayesian Optimization of Machine Learning
Algorithms", eq. (7): the acquisition at ``x`` is the expected improvement *integrated over
the unknown outcomes of the pending points*,

    a(x) = E_{f_R ~ p(f_R | data)} [ EI(x | data, R, f_R) ],

estimated with ``S`` quasi-random fantasies ``f_R^s = mu_R + L_R z_s`` (``L_R`` the Cholesky
factor of the posterior covariance at ``R``, ``z_s`` scrambled-Sobol normal draws fixed for
one ``ask``). Given a fantasy, ``f(x)`` is Gaussian with the conditional moments

    m_s(x) = mu(x) + q(x) . z_s,     v_c(x) = var(x) - |q(x)|^2,     q = L_R^-1 c(x, R),

where ``c`` is the posterior cross-covariance, and the threshold is
``b_s = min(best, min_j f_R^s_j)``. So each fantasy's EI is analytic, and

    log a(x) = logsumexp_s [ log_h((b_s - m_s) / sqrt(v_c)) + log sqrt(v_c) ] - log S,

with ``log_h(z) = log(phi(z) + z Phi(z))`` evaluated stably in the far tail following Ament
et al. (2023), "Unexpected Improvements to Expected Improvement for Bayesian Optimization",
eq. (9). This is the sequential-greedy form of q-EI: the variance collapses near pending
points (so a batch spreads out), while a pending point that may turn out poor still leaves
improvement near it. Without pending points (``S = 1``, ``z = 0``) it is plain log EI.

Maximisation follows BoTorch's ``gen_candidates_scipy`` (Balandat et al. 2020, "BoTorch",
sec. 4): the acquisition summed over a batch of starts is one smooth function of all
starts, maximised by L-BFGS-B on the box; coordinates are scaled by the lengthscales (as in
Optuna's ``optim_mixed``) so that the problem is well conditioned.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfcx, log_ndtr
from scipy import optimize
from scipy.stats import norm, qmc

from search.strategies._gp_kernels import Posterior, Theta, cross_cov, predict

_STABLE = 1e-6  # added to the pending points' posterior covariance before its Cholesky


class Fantasies(NamedTuple):
    """Everything the acquisition needs about the pending points, for one ``ask``."""

    R: jax.Array  # (P, D) pending points, padded
    rmask: jax.Array  # (P,) 1 for a real pending point
    W: jax.Array  # (N, P) K^-1 k(X, R)
    Linv: jax.Array  # (P, P) inverse Cholesky factor of the posterior covariance at R
    Zt: jax.Array  # (P, S) normal base samples, zero rows for padding
    best: jax.Array  # (S,) per-fantasy threshold b_s


def _log1mexp(x: jax.Array) -> jax.Array:
    """``log(1 - exp(x))`` for ``x < 0`` (Maechler 2012)."""
    x = jnp.minimum(x, -1e-15)
    return jnp.where(x > -math.log(2.0), jnp.log(-jnp.expm1(x)), jnp.log1p(-jnp.exp(x)))


def log_h(z: jax.Array) -> jax.Array:
    """``log(phi(z) + z Phi(z))`` without cancellation (Ament et al. 2023, eq. 9)."""
    c1 = 0.5 * math.log(2 * math.pi)
    c2 = 0.5 * math.log(math.pi / 2)
    # Each branch gets inputs clamped to its own domain so that the unused one never
    # produces NaN gradients through jnp.where.
    z_hi = jnp.maximum(z, -1.0)
    hi = jnp.log(jnp.exp(-0.5 * z_hi**2 - c1) + z_hi * jnp.exp(log_ndtr(z_hi)))
    z_mid = jnp.clip(z, -1e6, -1.0)
    mid = -0.5 * z_mid**2 - c1 + _log1mexp(jnp.log(erfcx(-z_mid / math.sqrt(2)) * -z_mid) + c2)
    z_lo = jnp.minimum(z, -1e6)
    lo = -0.5 * z_lo**2 - c1 - 2.0 * jnp.log(-z_lo)
    return jnp.where(z > -1.0, hi, jnp.where(z > -1e6, mid, lo))


@jax.jit
def fantasies(
    theta: Theta,
    X: jax.Array,
    mask: jax.Array,
    kind: jax.Array,
    post: Posterior,
    R: jax.Array,
    rmask: jax.Array,
    Z: jax.Array,
    best: jax.Array,
) -> Fantasies:
    """Posterior at the pending points ``R`` and the ``S`` fantasies ``Z`` ``(S, P)`` imply."""
    inc = (rmask > 0).astype(R.dtype)
    mu_r, _, k_rX = predict(R, theta, X, mask, kind, post)
    W = (k_rX @ post.kinv).T * inc[None, :]
    cov = cross_cov(theta, R, R, kind) - k_rX @ W
    cov = cov * (inc[:, None] * inc[None, :]) + jnp.diag(jnp.where(inc > 0, _STABLE, 1.0))
    L = jnp.linalg.cholesky(cov)
    Linv = jax.scipy.linalg.solve_triangular(L, jnp.eye(len(R), dtype=R.dtype), lower=True)
    Zt = Z.T * inc[:, None]
    f_r = mu_r[:, None] + L @ Zt  # (P, S)
    b = jnp.minimum(best, jnp.min(jnp.where(inc[:, None] > 0, f_r, jnp.inf), axis=0))
    return Fantasies(R, inc, W, Linv, Zt, b)


def log_acq(
    x: jax.Array,
    theta: Theta,
    X: jax.Array,
    mask: jax.Array,
    kind: jax.Array,
    post: Posterior,
    fant: Fantasies,
) -> jax.Array:
    """Log of EI averaged over the fantasies (module docstring), at ``x`` ``(m, D)``."""
    mu, var, k_xX = predict(x, theta, X, mask, kind, post)
    c = cross_cov(theta, x, fant.R, kind) * fant.rmask[None, :] - k_xX @ fant.W
    q = c @ fant.Linv.T
    var_c = jnp.maximum(var - jnp.sum(q * q, axis=1), 1e-12 * jnp.exp(theta.log_sf2))
    sigma = jnp.sqrt(var_c)[:, None]
    m_s = mu[:, None] + q @ fant.Zt  # (m, S)
    per = log_h((fant.best[None, :] - m_s) / sigma) + jnp.log(sigma)
    return jax.nn.logsumexp(per, axis=1) - math.log(fant.best.shape[0])


evaluate = jax.jit(log_acq)


@jax.jit
def value_and_grad(
    x: jax.Array,
    theta: Theta,
    X: jax.Array,
    mask: jax.Array,
    kind: jax.Array,
    post: Posterior,
    fant: Fantasies,
) -> tuple[jax.Array, jax.Array]:
    """Per-start acquisition values ``(B,)`` and their gradients ``(B, D)`` (starts are
    independent, so the gradient of the sum holds each start's own gradient)."""
    def f(z):
        return log_acq(z, theta, X, mask, kind, post, fant)

    vals, vjp = jax.vjp(f, x)
    (g,) = vjp(jnp.ones_like(vals))
    return vals, jnp.nan_to_num(g)


def maximize(
    fun: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    x0: np.ndarray,
    free: np.ndarray,
    scale: np.ndarray,
    maxiter: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximises a batched acquisition from starts ``x0`` ``(B, D)`` by one L-BFGS-B run.

    Args:
      fun: ``x (B, D) -> (values (B,), gradients (B, D))``.
      x0: starting points in ``[0, 1]``.
      free: ``(D,)`` bool, coordinates that move (the continuous ones).
      scale: ``(D,)`` positive scale of each coordinate (the lengthscales); the optimiser
        works in ``x / scale``.
      maxiter: L-BFGS-B iterations.

    Returns:
      The final points and values; a start keeps its initial point unless ascent improved it.
    """
    B = len(x0)
    idx = np.flatnonzero(free)
    v0, _ = fun(x0)
    v0 = np.where(np.isfinite(v0), v0, -np.inf)
    if len(idx) == 0 or maxiter <= 0:
        return x0, v0
    s = scale[idx]

    def neg(z: np.ndarray) -> tuple[float, np.ndarray]:
        x = x0.copy()
        x[:, idx] = np.clip(z.reshape(B, len(idx)) * s, 0.0, 1.0)
        v, g = fun(x)
        ok = np.isfinite(v)
        v = np.where(ok, v, -1e6)
        g = np.where(ok[:, None], g, 0.0)
        return -float(v.sum()), -(g[:, idx] * s).ravel()

    bounds = [(0.0, 1.0 / si) for si in s] * B
    res = optimize.minimize(
        neg, (x0[:, idx] / s).ravel(), jac=True, method="L-BFGS-B", bounds=bounds,
        options={"maxiter": maxiter, "gtol": 1e-6},
    )
    x = x0.copy()
    x[:, idx] = np.clip(res.x.reshape(B, len(idx)) * s, 0.0, 1.0)
    v, _ = fun(x)
    better = np.isfinite(v) & (v > v0)
    return np.where(better[:, None], x, x0), np.where(better, v, v0)


def base_samples(s: int, p: int, seed: int) -> np.ndarray:
    """``(s, p)`` scrambled-Sobol standard normal draws (the same for the same seed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about non-power-of-two draws
        u = qmc.Sobol(p, scramble=True, seed=seed).random(s)
    return norm.ppf(np.clip(u, 1e-10, 1 - 1e-10))
