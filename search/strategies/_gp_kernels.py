"""The Gaussian-process model behind :class:`search.strategies.gp.GPBayesian` (pure JAX).

Notation (arrays padded to a fixed bucket size ``N`` so that ``jit`` compiles once per
bucket rather than once per observation count):

  * ``X`` ``(N, D)`` inputs in ``[0, 1]^D``; ``mask`` ``(N,)`` is 1 for told rows, 0 for
    padding. ``D`` is the number of coordinates padded to a multiple of 8 (zeros in every
    point), so spaces of similar size share compiled code.
  * ``y`` ``(N,)`` standardised targets (0 on padded rows).
  * ``theta = (log_ls (D,), log_sf2 (), log_noise ())``: ARD lengthscales, signal variance
    and noise variance, in log space.
  * ``kind`` ``(D,)`` int: ``CONT`` coordinates enter by squared difference, ``CAT``
    (categorical) ones by level equality (Hamming distance), ``PAD`` ones are padding.

Kernel (Matern-5/2, Rasmussen & Williams 2006, eq. 4.17), with ``r`` the scaled distance::

    k(r) = sf2 * (1 + sqrt(5) r + 5/3 r^2) * exp(-sqrt(5) r)

Padded rows get ``K_ii = 1`` and no cross-covariance, so they add nothing to either the
quadratic form or ``log det K`` of the marginal likelihood (R&W eq. 2.30): padding is exact.

Hyperparameters are the maximum a posteriori of the marginal likelihood under the priors of
Optuna's ``GPSampler`` (``optuna/_gp/prior.py``), written for the raw parameters:
``lambda = 1 / ls^2`` with ``log p = -0.1 (lambda + 1 / lambda)`` (rules out both very short
and very long lengthscales), ``sf2 ~ Gamma(2, 1)`` and ``noise ~ Gamma(1.1, 30)`` on
standardised outputs, noise at least ``1e-6``. The noise prior's mode, ``0.1 / 30 = 0.003``,
lets the model nearly interpolate a deterministic objective, which matters for the final
digits of the optimum.

The targets the model sees are warped by :func:`warp`; :func:`one_blas_thread` is the
thread limit the strategy runs the model under.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_solve
from scipy import stats

CONT, CAT, PAD = 0, 1, 2
_SQRT5 = math.sqrt(5.0)
_JITTER = 1e-9
MIN_NOISE = 1e-6

# Box bounds of the hyperparameters, in log space (inputs live in [0, 1], outputs are
# standardised, so these ranges are wide without being degenerate).
LOG_LS_BOUNDS = (math.log(5e-3), math.log(20.0))
LOG_SF2_BOUNDS = (math.log(5e-2), math.log(20.0))
LOG_NOISE_BOUNDS = (math.log(MIN_NOISE), math.log(0.5))


class Theta(NamedTuple):
    """GP hyperparameters in log space."""

    log_ls: jax.Array
    log_sf2: jax.Array
    log_noise: jax.Array


class Posterior(NamedTuple):
    """What prediction needs: ``K^-1`` (of ``K + noise I``) and ``alpha = K^-1 y``.

    The explicit inverse (from the Cholesky factor, in float64) makes the predictive
    variance a matrix product, which is cheaper to run and to compile inside the
    acquisition's gradient than a triangular solve.
    """

    kinv: jax.Array
    alpha: jax.Array


def sq_dist(x1: jax.Array, x2: jax.Array, log_ls: jax.Array, kind: jax.Array) -> jax.Array:
    """Scaled squared distances ``(n, m)``; categorical coordinates count 1 when different."""
    diff = x1[:, None, :] - x2[None, :, :]
    per_dim = jnp.where(kind == CAT, (jnp.abs(diff) > 1e-9).astype(diff.dtype), diff * diff)
    return jnp.sum(per_dim * jnp.exp(-2.0 * log_ls), axis=-1)


def matern52(r2: jax.Array) -> jax.Array:
    """Unit-variance Matern-5/2 of squared distance; safe (finite gradient) at ``r2 = 0``."""
    r = jnp.sqrt(jnp.maximum(r2, 1e-30))
    return (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * jnp.exp(-_SQRT5 * r)


def cross_cov(theta: Theta, x1: jax.Array, x2: jax.Array, kind: jax.Array) -> jax.Array:
    """Prior covariance ``k(x1, x2)`` ``(n, m)``."""
    return jnp.exp(theta.log_sf2) * matern52(sq_dist(x1, x2, theta.log_ls, kind))


def _gram(theta: Theta, X: jax.Array, mask: jax.Array, kind: jax.Array) -> jax.Array:
    inc = (mask > 0).astype(X.dtype)
    k = cross_cov(theta, X, X, kind) * (inc[:, None] * inc[None, :])
    diag = jnp.where(mask > 0, jnp.exp(theta.log_noise) + _JITTER, 1.0)
    return k + jnp.diag(diag)


def _log_prior(theta: Theta, kind: jax.Array) -> jax.Array:
    active = kind != PAD
    lam = jnp.exp(-2.0 * theta.log_ls)
    lp_ls = -0.1 * jnp.sum(jnp.where(active, lam + 1.0 / lam, 0.0))
    sf2, noise = jnp.exp(theta.log_sf2), jnp.exp(theta.log_noise)
    lp_sf2 = theta.log_sf2 - sf2  # Gamma(2, 1), up to a constant
    lp_noise = 0.1 * theta.log_noise - 30.0 * noise  # Gamma(1.1, 30)
    return lp_ls + lp_sf2 + lp_noise


def neg_log_posterior(
    theta: Theta, X: jax.Array, y: jax.Array, mask: jax.Array, kind: jax.Array
) -> jax.Array:
    """Negative log marginal likelihood (R&W eq. 2.30) minus the log prior."""
    L = jnp.linalg.cholesky(_gram(theta, X, mask, kind))
    alpha = cho_solve((L, True), y)
    n = jnp.sum(mask > 0)
    nll = 0.5 * y @ alpha + jnp.sum(jnp.log(jnp.diag(L))) + 0.5 * n * math.log(2 * math.pi)
    return nll - _log_prior(theta, kind)


def unflatten(flat: jax.Array, d: int) -> Theta:
    """``(d + 2,)`` vector -> :class:`Theta` (the layout the L-BFGS-B driver works in)."""
    return Theta(flat[:d], flat[d], flat[d + 1])


def theta_bounds(d: int) -> list[tuple[float, float]]:
    """Box bounds of the flat ``theta`` vector, for L-BFGS-B."""
    return [LOG_LS_BOUNDS] * d + [LOG_SF2_BOUNDS, LOG_NOISE_BOUNDS]


@jax.jit
def objective_and_grad(
    flat: jax.Array, X: jax.Array, y: jax.Array, mask: jax.Array, kind: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Negative log posterior of the flat hyperparameters and its gradient.

    Non-finite values (a failed Cholesky far out in the box) map to a large finite loss
    with zero gradient, which L-BFGS-B treats as a rejected step.
    """
    def loss(f):
        return neg_log_posterior(unflatten(f, X.shape[1]), X, y, mask, kind)

    v, g = jax.value_and_grad(loss)(flat)
    ok = jnp.isfinite(v) & jnp.all(jnp.isfinite(g))
    return jnp.where(ok, v, 1e10), jnp.where(ok, g, 0.0)


@jax.jit
def factor(theta: Theta, X: jax.Array, y: jax.Array, mask: jax.Array, kind: jax.Array) -> Posterior:
    """Inverse covariance and weights of the posterior for fixed hyperparameters."""
    L = jnp.linalg.cholesky(_gram(theta, X, mask, kind))
    kinv = cho_solve((L, True), jnp.eye(X.shape[0], dtype=X.dtype))
    return Posterior(kinv, kinv @ y)


def predict(
    x: jax.Array, theta: Theta, X: jax.Array, mask: jax.Array, kind: jax.Array, post: Posterior
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Posterior mean, latent (noise-free) variance and ``k(x, X)`` at ``x`` ``(m, D)``."""
    sf2 = jnp.exp(theta.log_sf2)
    ks = cross_cov(theta, x, X, kind) * (mask > 0)[None, :]
    mu = ks @ post.alpha
    var = jnp.maximum(sf2 - jnp.sum((ks @ post.kinv) * ks, axis=1), 1e-12 * sf2)
    return mu, var, ks


_CONTROLLER: list[Any] = []


def one_blas_thread() -> contextlib.AbstractContextManager:
    """Limits BLAS to one thread while the GP runs.

    The fit and the acquisition make thousands of calls on matrices of a few dozen rows
    (JAX's CPU Cholesky calls the BLAS/LAPACK that scipy ships); a multi-threaded BLAS
    spends more time waking threads than computing and, on a loaded machine, runs 10-20x
    slower. Optuna's ``GPSampler`` limits threads for the same reason
    (``optuna/_gp/thread_limiting.py``).
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # an optional speed-up only
        return contextlib.nullcontext()
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


def warp(y: np.ndarray) -> np.ndarray:
    """Standardises ``y``, applies a Yeo-Johnson power transform, standardises again.

    Output warping as in HEBO (Cowen-Rivers et al. 2022, sec. 4.1): the transform's exponent
    is the maximum-likelihood one for a Gaussian marginal (Yeo & Johnson 2000), but capped at
    1, so that it only ever compresses the upper tail. Values that span orders of magnitude
    (a diverging run, a long valley) then no longer flatten the region near the minimum,
    while an exponent above 1, which would squeeze the best values together, is never used.
    The transform is monotone, so the order of the values (and the incumbent) is unchanged.
    """
    y = np.asarray(y, dtype=np.float64)
    sd = y.std()
    if not sd > 0 or len(y) < 3:
        return y - y.mean()
    z = (y - y.mean()) / sd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            lam = min(float(stats.yeojohnson_normmax(z)), 1.0)
            z = stats.yeojohnson(z, lmbda=lam)
        except (ValueError, FloatingPointError, OverflowError):
            pass  # keep the standardised values
    sd = z.std()
    return (z - z.mean()) / sd if np.isfinite(sd) and sd > 0 else z - z.mean()
