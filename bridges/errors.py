"""Errors of the bridges: a layer a framework cannot express, and weights that do not fit.

Both are :class:`neural_jax.ir.plan.BackendError` (a ``NeuralError``), so the CLI shows them
as one-line messages. Every message names the layer (type and IR path) or the tensor, and the
backend. Backend names (:func:`normalize_backend`) are
:mod:`neural_jax.executors.backends`'s, named here too for the bridges.
"""

from __future__ import annotations

from neural_jax.executors.backends import BACKENDS, UnknownBackend, normalize_backend
from neural_jax.ir.plan import BackendError, error

__all__ = ["BACKENDS", "BackendError", "UnknownBackend", "WeightMismatch", "normalize_backend",
           "unsupported"]


class WeightMismatch(BackendError):
    """A weight file or variables tree that does not match the network.

    The message names the first tensor that differs (missing, unexpected, or of another
    shape) and the backend.
    """

    kind = "weight mismatch"


def unsupported(plan, backend: str, message: str, hint: str = "") -> BackendError:
    """The error for a layer (a ``LayerPlan``) that ``backend`` cannot express exactly."""
    return error(None, plan, message, hint, backend=backend)
