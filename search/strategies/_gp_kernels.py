"""Pure JAX functions behind :class:`search.strategies.gp.GPBayesian`.

Notation (all arrays padded to a fixed bucket size ``N`` so that ``jit`` compiles once per
bucket rather than once per observation count):

  * ``X`` ``(N, d)`` inputs in ``[0, 1]^d``; ``mask`` ``(N,)`` is ``OBSERVED`` (1) for told
    rows, ``FANTASY`` (2) for believed pending points, 0 for padding.
  * ``y`` ``(N,)`` standardised targets (0 on padded rows).
  * ``theta = (log_ls (d,), log_sf2 (), log_noise ())``: ARD lengthscales, signal variance
    and noise variance, in log space.
  * ``kind`` ``(d,)`` int: ``CONT`` coordinates enter by squared difference, ``CAT``
    (categorical) ones by level equality (Hamming distance), ``PAD`` ones are padding: ``d``
    is padded too (to a multiple of 8), with zeros in every point, so spaces of similar
    size share compiled code.

Kernel (Matern-5/2, Rasmussen & Williams 2006, eq. 4.17), with ``r`` the scaled distance::

    k(r) = sf2 * (1 + sqrt(5) r + 5/3 r^2) * exp(-sqrt(5) r)

Padded rows get ``K_ii = 1`` and no cross-covariance, so they add nothing to either the
quadratic form or ``log det K`` of the marginal likelihood (R&W eq. 2.30): padding is exact.

Acquisition: log Expected Improvement for minimisation, with ``z = (best - mu) / sigma``::

    logEI(x) = log_h(z) + log(sigma),      h(z) = phi(z) + z Phi(z)

where ``log_h`` is evaluated stably in the far tail following Ament et al. (2023),
"Unexpected Improvements to Expected Improvement for Bayesian Optimization", eq. (9).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.scipy.linalg import cho_solve
from jax.scipy.special import erfcx, log_ndtr

CONT, CAT, PAD = 0, 1, 2
OBSERVED, FANTASY = 1, 2  # values of ``mask`` (0: padding)
_SQRT5 = math.sqrt(5.0)
_JITTER = 1e-8
_FANTASY_NOISE = 1e-5

# Box bounds of the hyperparameters, in log space (inputs live in [0, 1], outputs are
# standardised, so these ranges are wide without being degenerate).
LOG_LS_BOUNDS = (math.log(5e-3), math.log(20.0))
LOG_SF2_BOUNDS = (math.log(5e-2), math.log(20.0))
LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(0.5))


class Theta(NamedTuple):
    """GP hyperparameters in log space."""

    log_ls: jax.Array
    log_sf2: jax.Array
    log_noise: jax.Array


class Posterior(NamedTuple):
    """What prediction needs: ``K^-1`` (of ``K + noise I``) and ``alpha = K^-1 y``.

    The explicit inverse (from the Cholesky factor, in float64) makes the predictive
    variance a matrix product, which is cheaper to run and to compile inside the
    acquisition's gradient loop than a triangular solve.
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


def _gram(theta: Theta, X: jax.Array, mask: jax.Array, kind: jax.Array) -> jax.Array:
    k = jnp.exp(theta.log_sf2) * matern52(sq_dist(X, X, theta.log_ls, kind))
    inc = (mask > 0).astype(k.dtype)
    k = k * (inc[:, None] * inc[None, :])
    # Fantasies (mask 2) are believed exactly: a small fixed noise, not the fitted one, so
    # the variance collapses at pending points and a batch cannot pile up on one spot.
    noise = jnp.where(mask == FANTASY, _FANTASY_NOISE, jnp.exp(theta.log_noise))
    diag = jnp.where(mask > 0, noise + _JITTER, 1.0)
    return k + jnp.diag(diag)


def _log_prior(theta: Theta, kind: jax.Array) -> jax.Array:
    # Lengthscales: a penalty symmetric in log(lambda), lambda = 1 / ls^2, that favours
    # lengthscales near the box size and rules out both extremes:
    # log p = -0.1 (lambda + 1 / lambda) (the shape Optuna's GPSampler also uses).
    active = kind != PAD
    lam = jnp.exp(-2.0 * theta.log_ls)
    lp_ls = -0.1 * jnp.sum(jnp.where(active, lam + 1.0 / lam, 0.0))
    # Signal variance ~ Gamma(2, 1) and noise ~ Gamma(1.1, 30) on standardised outputs
    # (the latter favours near-interpolation of deterministic objectives). Densities are
    # taken w.r.t. the log parameter, hence the extra "+ log v" Jacobian term.
    sf2, noise = jnp.exp(theta.log_sf2), jnp.exp(theta.log_noise)
    lp_sf2 = 2.0 * theta.log_sf2 - sf2
    lp_noise = 1.1 * theta.log_noise - 30.0 * noise
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
    loss = lambda f: neg_log_posterior(unflatten(f, X.shape[1]), X, y, mask, kind)
    v, g = jax.value_and_grad(loss)(flat)
    ok = jnp.isfinite(v) & jnp.all(jnp.isfinite(g))
    return jnp.where(ok, v, 1e10), jnp.where(ok, g, 0.0)


@jax.jit
def factor(theta: Theta, X: jax.Array, y: jax.Array, mask: jax.Array, kind: jax.Array) -> Posterior:
    """Cholesky factor and weights of the posterior for fixed hyperparameters."""
    L = jnp.linalg.cholesky(_gram(theta, X, mask, kind))
    kinv = cho_solve((L, True), jnp.eye(X.shape[0], dtype=X.dtype))
    return Posterior(kinv, kinv @ y)


def predict(
    x: jax.Array, theta: Theta, X: jax.Array, mask: jax.Array, kind: jax.Array, post: Posterior
) -> tuple[jax.Array, jax.Array]:
    """Posterior mean and latent (noise-free) variance at ``x`` ``(m, d)``."""
    sf2 = jnp.exp(theta.log_sf2)
    ks = sf2 * matern52(sq_dist(x, X, theta.log_ls, kind)) * (mask > 0)[None, :]
    mu = ks @ post.alpha
    var = jnp.maximum(sf2 - jnp.sum((ks @ post.kinv) * ks, axis=1), 1e-12)
    return mu, var


predict_jit = jax.jit(predict)


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


def log_ei(
    x: jax.Array,
    theta: Theta,
    X: jax.Array,
    mask: jax.Array,
    kind: jax.Array,
    post: Posterior,
    best: jax.Array,
) -> jax.Array:
    """Log expected improvement below ``best`` at ``x`` ``(m, d)``."""
    mu, var = predict(x, theta, X, mask, kind, post)
    sigma = jnp.sqrt(var)
    return log_h((best - mu) / sigma) + jnp.log(sigma)


evaluate = jax.jit(log_ei)


@functools.partial(jax.jit, static_argnames=("n_starts", "steps"))
def optimize_acq(
    cands: jax.Array,
    theta: Theta,
    X: jax.Array,
    mask: jax.Array,
    kind: jax.Array,
    post: Posterior,
    best: jax.Array,
    n_starts: int = 16,
    steps: int = 60,
) -> tuple[jax.Array, jax.Array]:
    """Scores ``cands`` ``(C, d)``, then runs projected Adam ascent from the best ``n_starts``.

    Starts are independent, so one gradient of the summed acquisition moves each of them
    (vmapped in effect). Categorical coordinates are frozen (their kernel is a step
    function); the caller sweeps their levels afterwards. Returns points ``(n_starts, d)``
    and their acquisition values.
    """
    vals = log_ei(cands, theta, X, mask, kind, post, best)
    vals = jnp.where(jnp.isfinite(vals), vals, -jnp.inf)
    top_vals, idx = jax.lax.top_k(vals, n_starts)
    x0 = cands[idx]
    free = (kind == CONT).astype(x0.dtype)
    acq = lambda x: jnp.sum(log_ei(x, theta, X, mask, kind, post, best))
    opt = optax.adam(0.01)

    def step(carry, _):
        x, state = carry
        g = jnp.nan_to_num(jax.grad(acq)(x)) * free
        upd, state = opt.update(-g, state, x)
        return (jnp.clip(optax.apply_updates(x, upd), 0.0, 1.0), state), None

    (x, _), _ = jax.lax.scan(step, (x0, opt.init(x0)), None, length=steps)
    new_vals = log_ei(x, theta, X, mask, kind, post, best)
    # Keep a start's original point if ascent did not improve on it (e.g. NaN or a kink).
    better = jnp.isfinite(new_vals) & (new_vals >= top_vals)
    return jnp.where(better[:, None], x, x0), jnp.where(better, new_vals, top_vals)
