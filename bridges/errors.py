"""Errors of the bridges: a layer a framework cannot express, and weights that do not fit.

Both are :class:`neural_jax.ir.plan.BackendError` (a ``NeuralError``), so the CLI shows them
as one-line messages. Every message names the layer (type and IR path) or the tensor, and the
backend.
"""

from __future__ import annotations

from neural_jax.core.errors import NeuralValidationError
from neural_jax.ir.plan import BackendError, error

__all__ = ["BACKENDS", "BackendError", "UnknownBackend", "WeightMismatch", "normalize_backend",
           "unsupported"]

#: canonical backend name -> accepted spellings (case-insensitive)
BACKENDS: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow", "tf", "keras"),
    "pytorch": ("pytorch", "torch"),
    "jax": ("jax", "flax"),
}
_ALIASES = {a: name for name, aliases in BACKENDS.items() for a in aliases}


class UnknownBackend(BackendError, NeuralValidationError):
    """A backend name that is none of :data:`BACKENDS` (the message lists the valid ones)."""


def normalize_backend(backend: str) -> str:
    """``"torch"`` -> ``"pytorch"``, ``"tf"``/``"keras"`` -> ``"tensorflow"``, ``"flax"`` -> ``"jax"``.

    Raises:
      UnknownBackend: an unknown name; the message lists the valid ones.
    """
    key = backend.strip().lower() if isinstance(backend, str) else backend
    if key not in _ALIASES:
        valid = "; ".join(f"{n} (or {', '.join(a[1:])})" for n, a in BACKENDS.items())
        raise UnknownBackend(f"unknown backend {backend!r}; valid backends: {valid}",
                             hint="use 'jax', 'pytorch' or 'tensorflow'")
    return _ALIASES[key]


class WeightMismatch(BackendError):
    """A weight file or variables tree that does not match the network.

    The message names the first tensor that differs (missing, unexpected, or of another
    shape) and the backend.
    """

    kind = "weight mismatch"


def unsupported(plan, backend: str, message: str, hint: str = "") -> BackendError:
    """The error for a layer (a ``LayerPlan``) that ``backend`` cannot express exactly."""
    return error(None, plan, message, hint, backend=backend)
