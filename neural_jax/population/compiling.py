"""How the member programs are compiled: XLA options per program, and overlapped compiles.

Compile time: on CPU a program of a small network compiles in seconds but may run all its
epochs in less, so the programs that run little are compiled with cheaper XLA options
(:data:`COMPILER_OPTIONS`, CPU only): the init and the fallback evaluation, which run once,
without backend optimisation (``xla_backend_optimization_level=0``) and with XLA's older
loop emitters (``xla_cpu_use_fusion_emitters=False``: the digits init compiles in 0.25 s
instead of 1.0 s, so the epoch's compilation beside it has both cores); the epoch, when the
caller estimates its whole run below one compilation (``fast_compile``), at level 1 with
XLA's older loop emitters (``xla_cpu_use_fusion_emitters=False``); the whole run counts every
round of a search that reuses the program (``train_population(rounds=)``). Measured on the
digits MLP (population 16, 2-core CPU, ``benchmarks/compile_floor.py``): the epoch compiles
in about 1.5 s of CPU time instead of 3.3 s and runs an epoch in 0.048 s instead of 0.028 s.
Otherwise XLA's defaults.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

import jax

__all__ = ["COMPILER_OPTIONS", "OverlappedCompile", "compiler_options", "jit",
           "wait_for_compilations"]

logger = logging.getLogger(__name__)

#: XLA compile options of each program on CPU (see the module docstring)
COMPILER_OPTIONS = {
    "init": {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False},
    "evaluate": {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False},
    "epoch_fast": {"xla_backend_optimization_level": 1, "xla_cpu_use_fusion_emitters": False},
    "epoch": {},
}


def _layout(a) -> Any:
    """``a``'s sharding when it spans several devices; None on one device, where every
    layout is the same and a compiled program takes any of them."""
    sh = getattr(a, "sharding", None)
    return sh if sh is not None and len(sh.device_set) > 1 else None


class OverlappedCompile:
    """Compiles a bucket's epoch program on a worker thread while the init program compiles.

    XLA compiles a module on one thread and releases the GIL, so on a 2-core CPU the two
    first compilations of a bucket overlap. ``start`` takes the epoch's arguments with the
    members given abstractly (``jax.ShapeDtypeStruct``), traces and lowers them on the
    calling thread (Python work, which holds the GIL) and hands only the XLA compilation to
    the worker, so the caller's next tracing does not wait behind it; ``__call__`` runs the
    compiled epoch when the real arguments have that signature, else the jitted function.
    """

    def __init__(self, jitted, fn=None, options: dict | None = None) -> None:
        self.jitted = jitted
        self.fn, self.options = fn, options
        self.store, self.ident = None, None  # a ProgramStore, set by the caller
        self._futures: dict[Any, concurrent.futures.Future] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _signature(args) -> Any:
        leaves, tree = jax.tree.flatten(args)
        return tree, tuple((tuple(a.shape), str(a.dtype), _layout(a)) for a in leaves)

    def start(self, *args) -> None:
        """Starts compiling for ``args`` (once per signature) on a worker thread; with a
        ``store`` (:class:`neural_jax.population.program_store.ProgramStore`) the program is
        loaded from it, or exported to it, first."""
        sig = self._signature(args)
        with self._lock:
            if sig in self._futures:
                return
            fut = self._futures[sig] = concurrent.futures.Future()
        try:
            finish = None
            if self.store is not None:
                try:
                    prepared = self.store.prepare(self.fn, args, self.ident, self.options)
                    finish = functools.partial(self.store.finish, prepared)
                except Exception as e:  # noqa: BLE001 - e.g. an op jax.export refuses
                    logger.info("program not stored (%s: %s); compiling it directly",
                                type(e).__name__, e)
            if finish is None:
                finish = self.jitted.lower(*args).compile
        except Exception as e:  # noqa: BLE001 - reported by the jitted fallback
            fut.set_exception(e)
            return

        def work() -> None:
            try:
                fut.set_result(finish())
            except BaseException as e:  # noqa: BLE001 - reported by the jitted fallback
                fut.set_exception(e)
            finally:
                _COMPILING.discard(threading.current_thread())

        thread = threading.Thread(target=work, daemon=True, name="neural-compile")
        _COMPILING.add(thread)
        thread.start()

    def __call__(self, *args):
        sig = self._signature(args)
        if self.store is not None and sig not in self._futures:
            self.start(*args)  # e.g. a compacted member count: stored as well
        fut = self._futures.get(sig)
        if fut is not None:
            try:
                return fut.result()(*args)
            except (TypeError, ValueError):  # a signature the abstract one missed
                pass
        return self.jitted(*args)


#: the compilation threads :meth:`OverlappedCompile.start` runs (see :func:`wait_for_compilations`)
_COMPILING: set[threading.Thread] = set()


def wait_for_compilations(timeout: float | None = None) -> None:
    """Waits for the compilations running on worker threads to finish.

    A process must not exit while XLA compiles on one of them: the interpreter's shutdown
    stops the thread inside XLA's C++ and the process aborts (``terminate called after
    throwing an instance of ''``). An interrupted search calls this before it returns.
    """
    for thread in list(_COMPILING):
        thread.join(timeout)


def compiler_options(program: str) -> dict:
    """The program's compile options here (:data:`COMPILER_OPTIONS` on CPU, else none)."""
    return dict(COMPILER_OPTIONS[program]) if jax.default_backend() == "cpu" else {}


def jit(fn: Callable, program: str) -> Callable:
    """``jax.jit`` with the program's compile options (:func:`compiler_options`)."""
    options = compiler_options(program)
    return jax.jit(fn, compiler_options=options) if options else jax.jit(fn)

