"""Ctrl-C that stops a JAX search at a safe point.

A ``KeyboardInterrupt`` raised while JAX or XLA runs Python code from C++ (a compilation
callback, the garbage-collection hook ``_xla_gc_callback``) either aborts the process
(``terminate called after throwing ...``) or is swallowed (``Exception ignored in ...``).
:class:`DeferredInterrupt` therefore only records the first Ctrl-C and says so; the search
calls :meth:`DeferredInterrupt.check` between epochs and between rounds, where raising is
safe. A second Ctrl-C gives SIGINT its previous handler back and interrupts at once::

    with DeferredInterrupt() as stop:
        for epoch in ...:
            train_one_epoch()
            stop.check()  # raises KeyboardInterrupt after a Ctrl-C

Outside the main thread (where Python cannot set signal handlers), or when SIGINT is
ignored, it installs nothing and :meth:`check` never raises.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from typing import Any

__all__ = ["DeferredInterrupt"]

#: what the first Ctrl-C prints (on standard error)
STOPPING = "stopping after the current epoch (Ctrl-C again to stop at once)"


class DeferredInterrupt:
    """A context manager that defers SIGINT to :meth:`check` (see the module).

    Args:
      message: the line the first Ctrl-C prints.
    """

    def __init__(self, message: str = STOPPING) -> None:
        self.message = message
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> DeferredInterrupt:
        if threading.current_thread() is not threading.main_thread():
            return self
        previous = signal.getsignal(signal.SIGINT)
        if previous in (signal.SIG_IGN, None):  # ignored, or set outside Python: leave it
            return self
        self._previous = previous
        signal.signal(signal.SIGINT, self._handle)
        self._installed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self.restore()

    def restore(self) -> None:
        """Gives SIGINT its previous handler back (idempotent)."""
        if self._installed:
            self._installed = False
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: Any) -> None:
        if not self.requested:
            self.requested = True
            try:
                sys.stderr.write(self.message + "\n")
                sys.stderr.flush()
            except (RuntimeError, OSError, ValueError, AttributeError):
                # the handler ran inside a write to sys.stderr (a buffered stream refuses a
                # reentrant call), or there is no sys.stderr: the file descriptor then
                os.write(2, (self.message + "\n").encode())
            return
        if _in_gc_callback(frame):
            # an exception raised in a garbage-collection callback (JAX has one) is printed
            # and dropped: deliver this Ctrl-C again once the callback has returned
            threading.Timer(0.05, self._again).start()
            return
        previous = self._previous
        self.restore()
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signum, frame)
        raise KeyboardInterrupt

    def _again(self) -> None:
        if self._installed:  # the search may have ended meanwhile: then nothing to stop
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    def check(self) -> None:
        """Raises KeyboardInterrupt when a Ctrl-C was recorded."""
        if self.requested:
            raise KeyboardInterrupt


def _in_gc_callback(frame: Any) -> bool:
    """Whether ``frame`` (or a caller of it) runs one of :data:`gc.callbacks`."""
    codes = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    codes.discard(None)
    for _ in range(32):
        if frame is None or not codes:
            return False
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False
