"""Backend names: the canonical name of each spelling a user may give.

Plain Python: the engine, the CLI and the bridges read the same table without importing any
framework or the bridges.
"""

from __future__ import annotations

from neural_jax.core.errors import NeuralValidationError
from neural_jax.ir.plan import BackendError

__all__ = ["BACKENDS", "FRAMEWORK_MODULES", "UnknownBackend", "normalize_backend"]

#: canonical backend name -> accepted spellings (case-insensitive)
BACKENDS: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow", "tf", "keras"),
    "pytorch": ("pytorch", "torch"),
    "jax": ("jax", "flax"),
}
#: backend -> the module its framework installs (a backend not named needs nothing more)
FRAMEWORK_MODULES: dict[str, str] = {"pytorch": "torch", "tensorflow": "tensorflow"}
_ALIASES = {a: name for name, aliases in BACKENDS.items() for a in aliases}


class UnknownBackend(BackendError, NeuralValidationError):
    """A backend name that is none of :data:`BACKENDS` (the message lists the valid ones)."""


def normalize_backend(backend: str) -> str:
    """``"torch"`` -> ``"pytorch"``, ``"tf"``/``"keras"`` -> ``"tensorflow"``, ``"flax"`` ->
    ``"jax"``.

    Raises:
      UnknownBackend: an unknown name; the message lists the valid ones.
    """
    key = backend.strip().lower() if isinstance(backend, str) else backend
    if key not in _ALIASES:
        valid = "; ".join(f"{n} (or {', '.join(a[1:])})" for n, a in BACKENDS.items())
        raise UnknownBackend(f"unknown backend {backend!r}; valid backends: {valid}",
                             hint="use 'jax', 'pytorch' or 'tensorflow'")
    return _ALIASES[key]
