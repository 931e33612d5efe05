"""Imports Keras 3 on the TensorFlow backend, or fails with a message that says what to do.

Keras 3 picks its backend once per process, from ``KERAS_BACKEND`` when ``keras`` is first
imported. The bridge sets ``KERAS_BACKEND=tensorflow`` when the variable is unset and Keras
is not imported yet; when Keras already runs on another backend (or the variable names
one), it raises :class:`~bridges.errors.BackendError` instead of building models that would
not be TensorFlow models.

Every module of the bridge gets ``tf`` and ``keras`` from :func:`load`; nothing else in the
project imports them.

TensorFlow's C++ start-up lines (the absl banner, oneDNN and CPU-feature notices) are not
shown: ``TF_CPP_MIN_LOG_LEVEL`` defaults to ``2``, and since TensorFlow writes some of them
before it reads that variable, the import runs with the process's standard error held
back; afterwards everything but the INFO (level 1 and up) and WARNING (level 2 and up)
records is written out again. Set ``TF_CPP_MIN_LOG_LEVEL=0`` to see them all.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Callable
from types import ModuleType

from bridges.errors import BackendError

__all__ = ["BACKEND", "load"]

#: the backend name used in every message of this bridge
BACKEND = "tensorflow"

_HINT = ("set KERAS_BACKEND=tensorflow in the environment before anything imports keras "
         "(Keras 3 chooses its backend once per process)")


def _check_env() -> None:
    wanted = os.environ.get("KERAS_BACKEND")
    if "keras" not in sys.modules:
        if wanted is None:
            os.environ["KERAS_BACKEND"] = BACKEND
        elif wanted.strip().lower() != BACKEND:
            raise BackendError(
                f"KERAS_BACKEND is {wanted!r}; the TensorFlow bridge needs Keras on the "
                f"tensorflow backend (backend: {BACKEND})", hint=_HINT)


#: C++ log lines of TensorFlow's import: absl's banner and the second line of the
#: CPU-feature notice, then the records by severity
_BANNER = re.compile(r"(WARNING: All log messages before absl::InitializeLog\(\) is called"
                     r"|To enable the following instructions: )")
_RECORD = {"I": re.compile(r"I\d{4} [\d:.]+ +\d+ \S+:\d+\]"),
           "W": re.compile(r"W\d{4} [\d:.]+ +\d+ \S+:\d+\]")}


def _noise(level: str) -> Callable[[str], bool]:
    """Whether a line is a C++ record ``TF_CPP_MIN_LOG_LEVEL`` filters (1: INFO, 2 or
    more: INFO and WARNING; errors always stay)."""
    hidden = [_BANNER, _RECORD["I"]] + ([_RECORD["W"]] if level >= "2" else [])
    return lambda line: any(p.match(line) for p in hidden)


def _flush_c_streams() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # no C library to ask (not on Linux or macOS)
        pass


def _import() -> None:
    """Imports TensorFlow and Keras, holding back TensorFlow's C++ start-up lines."""
    # (JAX sets the variable to 1 when it is unset, which keeps WARNING lines)
    level = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2").strip()
    if "tensorflow" in sys.modules or level not in ("1", "2", "3"):
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable standard error
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
        finally:
            _flush_c_streams()  # TensorFlow's lines may still sit in C's stdio buffers
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            noise = _noise(level)
            kept = "".join(ln for ln in lines if not noise(ln))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def load() -> tuple[ModuleType, ModuleType]:
    """``(tensorflow, keras)``, with Keras verified to run on TensorFlow.

    Raises:
      BackendError: TensorFlow or Keras 3 is not installed, or Keras runs on another
        backend.
    """
    _check_env()
    try:
        _import()
        import keras
        import tensorflow as tf
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise BackendError(f"TensorFlow/Keras 3 is not installed ({e}) (backend: {BACKEND})",
                           hint="pip install 'neural-jax[tensorflow]'") from None
    running = keras.backend.backend()
    if running != BACKEND:
        raise BackendError(f"Keras runs on the {running!r} backend, not on TensorFlow "
                           f"(backend: {BACKEND})", hint=_HINT)
    if not hasattr(keras, "ops"):  # pragma: no cover - Keras 2
        raise BackendError(f"Keras {keras.__version__} is not Keras 3 (backend: {BACKEND})",
                           hint="install keras>=3")
    return tf, keras
