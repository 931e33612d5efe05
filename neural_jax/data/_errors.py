"""The one error of :mod:`neural_jax.data`: a dataset that cannot be found, read or fitted."""

from __future__ import annotations

from neural_jax.core.errors import MessageError

__all__ = ["DatasetError"]


class DatasetError(MessageError, ValueError):
    """A dataset cannot be found, read or fitted to a network; the message says what to do."""
