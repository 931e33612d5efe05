"""JAX's persistent compilation cache for the engine: compiled programs kept on disk.

On a CPU a population program of a small network compiles in seconds and trains an epoch
in milliseconds, so a search is dominated by compilation. With the persistent cache a
program compiled once (same network structure, bucket, member count, data shapes, jax
version and compile options) is loaded from disk by every later run instead of being
compiled again. The engine also keeps each program's exported StableHLO beside it
(:mod:`neural_jax.population.program_store`, in ``<cache dir>/programs``), so a later search skips
tracing and lowering too.

The engine (:class:`neural_jax.hpo.HPOptimizer`, and so the ``neural hpo`` command) turns
it on by default, in ``platformdirs.user_cache_dir("neural_jax")/xla``, with the size and
compile-time thresholds lowered to zero so that small programs are kept too. Turn it off
with ``HPOptimizer(compilation_cache=False)`` or the environment variable
``NEURAL_JAX_COMPILATION_CACHE=0``; set that variable to a directory to use another place.
A cache directory the user configured in JAX (``jax_compilation_cache_dir``) is left as it
is. JAX documents the cache as trusted: do not point it at a directory others can write.

Size: the cache stays under :func:`max_bytes` (2 GiB unless ``NEURAL_JAX_CACHE_MAX_BYTES``
says otherwise, ``-1`` for no limit): three quarters for XLA's executables, trimmed oldest
first when a process turns the cache on (:func:`trim`), and one quarter for the stored
programs, which :class:`~neural_jax.population.program_store.ProgramStore` evicts least recently
used first after each write. A digits search leaves about 0.25 MB of each. (JAX's own
eviction, ``jax_compilation_cache_max_size``, is not used: it fails to write entries into a
directory that holds entries written without it.)
"""

from __future__ import annotations

import contextlib
import math
import os
import pathlib

import jax

from neural_jax.core.errors import NeuralValidationError

__all__ = ["ENV", "MAX_BYTES_ENV", "cache_dir", "enable_compilation_cache", "max_bytes",
           "program_store_bytes", "trim"]

#: environment variable: ``0``/``off``/``false`` disables the cache, a path relocates it
ENV = "NEURAL_JAX_COMPILATION_CACHE"
#: environment variable: the cache's size limit in bytes (``-1``: none)
MAX_BYTES_ENV = "NEURAL_JAX_CACHE_MAX_BYTES"
_OFF = {"0", "off", "false", "no", ""}
_DEFAULT_MAX = 2 << 30


def max_bytes() -> int:
    """The cache's size limit in bytes (-1: none), from :data:`MAX_BYTES_ENV`.

    Raises:
      NeuralValidationError: the variable is not a whole number >= -1 (names it).
    """
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return _DEFAULT_MAX
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value == int(value) and value >= -1):
        raise NeuralValidationError(
            f"{MAX_BYTES_ENV}={raw!r} is not a size in bytes",
            hint="give a whole number of bytes (e.g. 2e9), or -1 for no limit")
    return int(value)


def program_store_bytes() -> int:
    """The stored programs' share of :func:`max_bytes` (a quarter; -1 when unlimited)."""
    total = max_bytes()
    return -1 if total < 0 else total // 4


def trim(path: str | os.PathLike, limit: int, pattern: str = "*-cache") -> int:
    """Removes the entries matching ``pattern`` in ``path``, oldest (last modified) first,
    until those left take at most ``limit`` bytes. XLA's ``*-cache`` entries go with their
    ``*-atime`` companions.

    Returns:
      The number of entries removed.
    """
    entries = []
    for entry in pathlib.Path(path).glob(pattern):
        try:
            st = entry.stat()
        except OSError:  # removed meanwhile by another process
            continue
        entries.append((st.st_mtime, st.st_size, entry))
    total = sum(size for _, size, _ in entries)
    removed = 0
    for _, size, entry in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        victims = [entry]
        if entry.name.endswith("-cache"):
            victims.append(entry.with_name(entry.name[: -len("-cache")] + "-atime"))
        for victim in victims:
            with contextlib.suppress(OSError):
                victim.unlink()
        total -= size
        removed += 1
    return removed


def cache_dir() -> pathlib.Path:
    """The default directory: ``<user cache dir>/neural_jax/xla``."""
    try:
        import platformdirs

        base = pathlib.Path(platformdirs.user_cache_dir("neural_jax"))
    except ImportError:  # platformdirs is a dependency; keep working without it
        base = pathlib.Path.home() / ".cache" / "neural_jax"
    return base / "xla"


def enable_compilation_cache(setting: bool | str | os.PathLike | None = True) -> str | None:
    """Turns JAX's persistent compilation cache on (see the module docstring).

    Args:
      setting: True (the default directory, unless :data:`ENV` says otherwise), False or
        None (leave JAX as it is), or a directory.

    Returns:
      The directory in use, or None when the cache stays off.

    Raises:
      NeuralValidationError: a bad ``NEURAL_JAX_CACHE_MAX_BYTES`` (:func:`max_bytes`).
    """
    env = os.environ.get(ENV)
    if setting is False or setting is None:
        return None
    if env is not None and env.strip().lower() in _OFF:
        return None
    limit = max_bytes()
    current = jax.config.jax_compilation_cache_dir
    if current:
        return current  # configured by the user (or an earlier call): keep it
    path = (pathlib.Path(env) if env else cache_dir()) if setting is True else pathlib.Path(setting)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # an unwritable place: run without the cache
    if limit >= 0:
        trim(path, limit - limit // 4)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return str(path)
