"""Exported training programs on disk, so that a later search skips tracing and lowering.

The persistent compilation cache (:mod:`neural_jax.population.compile_cache`) saves XLA's
compilation, but every process still traces the population program in Python and lowers it
to StableHLO before the cache can be asked: for a small network on a CPU that is 0.5-1.5 s,
as much as the whole search's training. The store keeps each program as a serialized
:class:`jax.export.Exported` (its StableHLO) under ``<compilation cache>/programs``; a later
process deserializes it in milliseconds, and compiling it is a hit in the compilation cache.

A program is stored with flat arguments (the leaves of its pytree arguments) and the tree
structures of its inputs and outputs beside it, so no pytree type needs registering for
serialization. Its key is a digest of everything the traced program depends on: the
network (``repr`` of its IR), the bucket's structural key, the program's own settings, the
shapes and dtypes of every argument, the compile options, the versions of jax, jaxlib,
flax and optax (whose code the program contains), the JAX flags that change lowering, and
the source of the ``neural_jax`` package itself (an upgraded or edited engine never runs
an old program). A program sharded over several devices is stored with its arguments'
shardings (part of the key), so it loads only where the same device layout is.

An unreadable or corrupt entry is a miss (the program is traced again and the entry
rewritten); a store that cannot be written is skipped. With ``max_bytes`` the store keeps
its entries under that size, removing the least recently used first (a hit counts as a
use) after each write. Like JAX's compilation cache, the
directory is trusted: do not point it at a place others can write.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pathlib
import pickle
import tempfile
from typing import Any

import jax

__all__ = ["ProgramStore", "code_digest"]

_FLAGS = ("jax_enable_x64", "jax_default_prng_impl", "jax_default_matmul_precision",
          "jax_threefry_partitionable")


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of every ``.py`` file of the ``neural_jax`` package (read once a process)."""
    root = pathlib.Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _sharding(a) -> Any:
    """``a``'s sharding when it spans several devices (else None: one device, any layout)."""
    sh = getattr(a, "sharding", None)
    return sh if sh is not None and len(sh.device_set) > 1 else None


def _abstract(a) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=_sharding(a))


def _signature(args) -> tuple:
    leaves, tree = jax.tree.flatten(args)
    return str(tree), tuple((tuple(a.shape), str(a.dtype), repr(_sharding(a))) for a in leaves)


class ProgramStore:
    """Serialized programs in one directory.

    Args:
      root: the directory (created when the first program is saved).
      max_bytes: size limit of the entries together; -1 for none.
    """

    def __init__(self, root: str | os.PathLike, max_bytes: int = -1) -> None:
        self.root = pathlib.Path(root)
        self.max_bytes = int(max_bytes)
        self.hits = 0
        self.misses = 0

    def key(self, *parts: Any) -> str:
        """The entry name for ``parts`` (reprs of what the program depends on)."""
        import flax
        import optax
        from jaxlib import version as jaxlib_version

        h = hashlib.sha256()
        flags = tuple((f, str(getattr(jax.config, f, None))) for f in _FLAGS)
        versions = (jax.__version__, jaxlib_version.__version__, flax.__version__,
                    optax.__version__)
        for part in (code_digest(), versions, jax.default_backend(), flags) + parts:
            h.update(repr(part).encode())
            h.update(b"\0")
        return h.hexdigest()[:40]

    def load(self, key: str) -> tuple[jax.export.Exported, Any, Any] | None:
        """``(exported, in_tree, out_tree)`` for ``key``, or None (absent or unreadable)."""
        path = self.root / f"{key}.program"
        try:
            blob = pickle.loads(path.read_bytes())
            exported = jax.export.deserialize(bytearray(blob["exported"]))
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: evicted last
            return exported, blob["in_tree"], blob["out_tree"]
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - a corrupt or foreign entry is a miss
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def save(self, key: str, exported: jax.export.Exported, in_tree, out_tree) -> bool:
        """Writes an entry atomically; False when the directory cannot be written."""
        blob = pickle.dumps({"exported": bytes(exported.serialize()), "in_tree": in_tree,
                             "out_tree": out_tree})
        tmp = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, self.root / f"{key}.program")
            self._evict()
            return True
        except OSError:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return False

    def _evict(self) -> None:
        """Removes least recently used entries until the store fits ``max_bytes``."""
        from neural_jax.population.compile_cache import trim

        if self.max_bytes >= 0:
            trim(self.root, self.max_bytes, "*.program")

    def prepare(self, fn: Any, args: Any, ident: tuple,
                compiler_options: dict | None = None) -> Any:
        """Loads, or traces and exports, ``fn`` for ``args`` (arrays or
        ``jax.ShapeDtypeStruct``): the Python part of making the program (holds the GIL).

        Returns:
          What :meth:`finish` compiles.
        """
        in_leaves, in_tree = jax.tree.flatten(args)
        options = dict(compiler_options or {})
        key = self.key(ident, _signature(args), sorted(options.items()))
        entry = self.load(key)
        if entry is not None and entry[1] == in_tree:
            self.hits += 1
            exported, _, out_tree = entry
        else:
            self.misses += 1
            trees = []

            def flat(*leaves):
                flat_out, tree = jax.tree.flatten(fn(*jax.tree.unflatten(in_tree, leaves)))
                trees.append(tree)
                return tuple(flat_out)

            abstract = [_abstract(a) for a in in_leaves]
            exported = jax.export.export(jax.jit(flat))(*abstract)
            out_tree = trees[-1]
            self.save(key, exported, in_tree, out_tree)
        def run_exported(*leaves):
            return exported.call(*leaves)

        run_exported.__name__ = getattr(fn, "__name__", "program")  # names the cache entry
        call = jax.jit(run_exported, compiler_options=options) if options else jax.jit(run_exported)
        lowered = call.lower(*[_abstract(a) for a in in_leaves])
        return lowered, out_tree

    @staticmethod
    def finish(prepared):
        """Compiles what :meth:`prepare` made (XLA work, GIL released; a compilation-cache hit
        when compiled before); returns a callable with ``fn``'s pytree arguments and result."""
        lowered, out_tree = prepared
        compiled = lowered.compile()

        def run(*call_args):
            return jax.tree.unflatten(out_tree, compiled(*jax.tree.leaves(call_args)))

        return run

    def compile(self, fn: Any, args: Any, ident: tuple,
                compiler_options: dict | None = None) -> Any:
        """:meth:`prepare` then :meth:`finish`."""
        return self.finish(self.prepare(fn, args, ident, compiler_options))
