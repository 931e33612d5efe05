"""Worker processes for PyTorch / TensorFlow trials, and the loop that feeds them.

Each worker is ``python -m bridges.worker`` (see :mod:`bridges.worker` for the messages),
started with :mod:`subprocess` and two pipes of its own, so that

- a worker never imports the caller's main module (a script without a ``__main__`` guard
  runs once), whatever the caller's multiprocessing start method;
- the caller never blocks on a worker: it writes and reads the pipes without blocking and
  waits in ``poll``, so a worker that dies (killed, out of memory, a crash inside the
  framework) is noticed at once, by the end of its output pipe, and fails exactly the trial
  it was running;
- a worker's output (TensorFlow's C++ logs, framework warnings) goes to a log file, not
  into the caller's terminal; its last line is quoted when the worker dies.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pathlib
import pickle
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Self

from bridges.worker import HEADER, decode_header, encode
from neural_jax.core.errors import NeuralValidationError

__all__ = ["TrialPool"]

_ROOT = str(pathlib.Path(__file__).resolve().parents[1])  # where ``bridges`` is importable
_MODULE = "bridges.worker"  # what ``python -m`` runs in a worker
_START_FAILURES = 2  # workers that die before their first trial: then the round gives up


def _site_dirs() -> set[str]:
    """The interpreter's site-packages folders (a worker finds an installed package there;
    putting them on PYTHONPATH would put them before the standard library)."""
    import site

    dirs = list(getattr(site, "getsitepackages", lambda: [])())
    dirs.append(getattr(site, "getusersitepackages", lambda: "")())
    return {str(pathlib.Path(d).resolve()) for d in dirs if d}


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def _last_line(path: pathlib.Path) -> str:
    """What a worker said last before it died, shortened: the "Fatal Python error" line of a
    crash (the stack dump after it names only frames), else its last non-blank line."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 16384))
            lines = [ln.strip() for ln in f.read().decode(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln]
    fatal = [ln for ln in lines if ln.startswith("Fatal Python error")]
    line = (fatal or lines or [""])[-1]
    return line if len(line) <= 200 else line[:197] + "..."


def death_message(returncode: int | None, last_line: str,
                  subject: str = "the worker process running this trial") -> str:
    """Why a worker process is gone, in words (the message of the trial it was running)."""
    if returncode is not None and returncode < 0:
        how = f"killed by {_signal_name(-returncode)}"
        if -returncode == signal.SIGKILL:
            how += " (out of memory, or killed from outside)"
    else:
        how = f"exit code {returncode}"
    said = f"; its last output: {last_line}" if last_line else ""
    return f"{subject} died: {how}{said}"


class _Worker:
    """One worker process, its two pipes (the caller's ends, non-blocking) and buffers."""

    def __init__(self, number: int, log: pathlib.Path, env: dict[str, str]) -> None:
        down_r, down_w = os.pipe()  # caller -> worker
        up_r, up_w = os.pipe()      # worker -> caller
        self.log = log
        with open(log, "wb") as out:
            try:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", _MODULE, str(down_r), str(up_w)],
                    pass_fds=(down_r, up_w), stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, env=env)
            except BaseException:
                for fd in (down_r, down_w, up_r, up_w):
                    os.close(fd)
                raise
        os.close(down_r)  # only the worker holds these ends: its death ends our pipes
        os.close(up_w)
        self.tx, self.rx = down_w, up_r
        os.set_blocking(self.tx, False)
        os.set_blocking(self.rx, False)
        self.number = number
        self.outgoing = bytearray()
        self.incoming = bytearray()
        self.setup: tuple | None = None  # the setup it has (or is being given)
        self.ready = False               # answered that setup
        self.task: int | None = None     # the trial it is running
        self.dead = False

    def send(self, frame: bytes) -> None:
        self.outgoing += frame
        self.flush()

    def flush(self) -> None:
        """Writes what the pipe takes now; a closed pipe marks the worker dead."""
        try:
            while self.outgoing:
                n = os.write(self.tx, self.outgoing)
                del self.outgoing[:n]
        except BlockingIOError:
            pass
        except (BrokenPipeError, OSError):
            self.outgoing.clear()
            self.dead = True

    def receive(self) -> list[Any]:
        """Reads what has arrived; returns the complete messages (marks dead at the end)."""
        try:
            while True:
                chunk = os.read(self.rx, 1 << 20)
                if not chunk:
                    self.dead = True
                    break
                self.incoming += chunk
        except BlockingIOError:
            pass
        except OSError:
            self.dead = True
        messages = []
        while len(self.incoming) >= HEADER.size:
            n = decode_header(bytes(self.incoming[:HEADER.size]))
            if len(self.incoming) < HEADER.size + n:
                break
            data = bytes(self.incoming[HEADER.size:HEADER.size + n])
            del self.incoming[:HEADER.size + n]
            messages.append(pickle.loads(data))
        return messages

    def why(self, subject: str) -> str:
        """Why it died (waits briefly for the process to be reaped)."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        return death_message(code, _last_line(self.log), subject)

    def close(self, kill: bool) -> None:
        if kill and self.proc.poll() is None:
            self.proc.kill()
        for fd in (self.tx, self.rx):
            with contextlib.suppress(OSError):
                os.close(fd)


def _kill_all(workers: list[_Worker], log_dir: pathlib.Path) -> None:
    """Last resort at exit or collection: no worker outlives its pool."""
    for w in workers:
        w.close(kill=True)
    for w in workers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            w.proc.wait(timeout=5)
    workers.clear()
    shutil.rmtree(log_dir, ignore_errors=True)


class TrialPool:
    """Worker processes kept across :func:`bridges.trials.run_trials` calls, e.g. the rounds
    of one search.

    Workers start on first use (as many as a call has trials, up to ``workers``). A call
    with another network, dataset or settings sends the workers the new ones (they keep
    their imported framework); another backend starts new workers. A worker that dies fails
    the trial it was running and is replaced for the trials that remain. Use the pool as a
    context manager, or call :meth:`close`; workers still running when the program exits
    are killed.

    Args:
      workers: worker processes (at least 2 to be of use; ``run_trials`` trains in its own
        process with ``workers=1`` and no pool).

    Attributes:
      starts: worker processes started so far.
    """

    def __init__(self, workers: int) -> None:
        if int(workers) < 1:
            raise NeuralValidationError(f"workers must be >= 1, got {workers!r}")
        self.workers = int(workers)
        self.starts = 0
        self._workers: list[_Worker] = []
        self._kind: tuple | None = None      # (backend, threads) of the running workers
        self._setup: tuple | None = None     # identity of the current setup
        self._frame = b""                    # the setup message, encoded
        self._keep: tuple = ()               # its objects, alive so their ids stay theirs
        self._log_dir = pathlib.Path(tempfile.mkdtemp(prefix="neural-workers-"))
        self._queue: collections.deque = collections.deque()
        self._finalizer = weakref.finalize(self, _kill_all, self._workers, self._log_dir)

    # --- setup --------------------------------------------------------------------------

    def prepare(self, backend: str, threads: int, net: Any, dataset: Any, overrides: Any,
                fn: Callable[..., Any] | None, keep_variables: bool) -> None:
        """Sets what the next :meth:`run` trains (pickled once, sent to each worker once).

        Raises:
          NeuralValidationError: a trial function or value that cannot be sent to a worker.
        """
        kind = (backend, int(threads))
        if self._kind != kind:
            self._stop_workers(kill=True)
            self._kind, self._setup = kind, None
        ident = (id(net), id(dataset), repr(overrides), id(fn), bool(keep_variables))
        if ident == self._setup:
            return
        if fn is not None and getattr(fn, "__module__", None) == "__main__":
            raise NeuralValidationError(
                f"the trial function {getattr(fn, '__qualname__', fn)!r} is defined in the "
                "script being run; worker processes do not import that script",
                hint="define it in a module of its own and import it from there")
        try:
            payload = pickle.dumps((net, dataset, overrides, fn, bool(keep_variables)),
                                   protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # noqa: BLE001 - e.g. a lambda or a local function
            raise NeuralValidationError(
                f"the trials cannot be sent to worker processes ({type(e).__name__}: {e})",
                hint="a trial function must be a module-level function") from e
        spec = {"sys_path": [p for p in sys.path if p], "backend": backend,
                "threads": int(threads), "payload": payload}
        self._frame = encode(("setup", spec))
        self._setup, self._keep = ident, (net, dataset, overrides, fn)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if _ROOT not in _site_dirs():  # a source checkout: ``-m bridges.worker`` finds it
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (_ROOT, env.get("PYTHONPATH", "")) if p)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ INFO and WARNING lines
        env.setdefault("PYTHONFAULTHANDLER", "1")    # a crash leaves its stack in the log
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _start(self) -> _Worker:
        self.starts += 1
        self._log_dir.mkdir(parents=True, exist_ok=True)
        w = _Worker(self.starts, self._log_dir / f"worker-{self.starts}.log", self._env())
        self._workers.append(w)
        return w

    def pids(self) -> list[int]:
        """The process ids of the running workers."""
        return [w.proc.pid for w in self._workers if not w.dead]

    # --- the loop -----------------------------------------------------------------------

    def run(self, tasks: Sequence[tuple[int, Any, int]], scheduler: Any,
            on_result: Callable[[int, Any], None],
            on_failure: Callable[[int, str], None]) -> None:
        """Trains ``tasks`` (``(index, config, trial_id)``) with the setup of
        :meth:`prepare`; ``on_result(index, (result, reports))`` for each finished trial,
        ``on_failure(index, message)`` for each lost one. Returns when every task ended.

        ``scheduler`` is pickled with each trial when it is handed out: the worker judges
        the trial against a copy of it as it is then.
        """
        if self._setup is None:
            raise RuntimeError("TrialPool.run before prepare")
        self._queue = collections.deque(tasks)
        self._on_failure = on_failure
        self._start_failures = 0
        self._setup_failed = False
        try:
            while self._queue or any(w.task is not None for w in self._workers):
                self._hand_out(scheduler)
                self._wait()
                for w in list(self._workers):
                    self._handle(w, w.receive() if not w.dead else [], on_result)
                    if w.dead or w.proc.poll() is not None:
                        self._handle(w, w.receive(), on_result)  # all it wrote before the end
                        self._bury(w)
        except BaseException:
            # an interrupt (or a bug): the trials being run are abandoned, their workers too
            for w in list(self._workers):
                if w.task is not None or not w.ready:
                    self._workers.remove(w)
                    w.close(kill=True)
            raise
        finally:
            self._queue.clear()

    def _fail_queue(self, message: str) -> None:
        while self._queue:
            self._on_failure(self._queue.popleft()[0], message)

    def _hand_out(self, scheduler: Any) -> None:
        """Starts the workers the queue needs, sends setups, hands trials to ready workers."""
        busy = sum(w.task is not None for w in self._workers)
        while len(self._workers) < min(self.workers, busy + len(self._queue)):
            self._start()
        for w in self._workers:
            if w.dead:
                continue
            if w.setup != self._setup:
                if not self._setup_failed:
                    w.setup, w.ready = self._setup, False
                    w.send(self._frame)
            elif w.ready and w.task is None and self._queue:
                index, config, trial_id = self._queue.popleft()
                w.task = index
                w.send(encode(("trial", index, config, trial_id, scheduler)))

    def _handle(self, w: _Worker, messages: list[Any],
                on_result: Callable[[int, Any], None]) -> None:
        for message in messages:
            if message[0] == "ready":
                w.ready = True
            elif message[0] == "result":
                w.task = None
                on_result(message[1], (message[2], message[3]))
            elif message[0] == "setup_failed":
                if w.task is not None:  # the trial message itself could not be read
                    index, w.task = w.task, None
                    self._on_failure(index, message[1])
                else:  # every worker would fail the same way: the round ends
                    w.setup, self._setup_failed = None, True
                    self._fail_queue(f"the worker process could not set up the trials: "
                                     f"{message[1]}")

    def _bury(self, w: _Worker) -> None:
        """A worker that is gone: its trial fails with the reason; repeated deaths at start
        fail the trials still queued."""
        self._workers.remove(w)
        if w.task is not None:
            why = w.why("the worker process running this trial")
            w.close(kill=True)
            self._on_failure(w.task, why)
        else:
            why = w.why("a worker process")
            w.close(kill=True)
            if not w.ready:
                self._start_failures += 1
                if self._start_failures >= _START_FAILURES:
                    self._fail_queue(f"worker processes could not start: {why}")

    def _wait(self, timeout: float = 0.5) -> None:
        """Waits until a pipe is readable or writable, or ``timeout`` seconds (then the
        caller checks whether the processes still live)."""
        poller = select.poll()
        for w in self._workers:
            if w.dead:
                continue
            poller.register(w.rx, select.POLLIN)
            if w.outgoing:
                poller.register(w.tx, select.POLLOUT)
        ready = poller.poll(timeout * 1000)
        tx = {w.tx: w for w in self._workers if not w.dead}
        for fd, _ in ready:
            if fd in tx:
                tx[fd].flush()

    # --- stopping -----------------------------------------------------------------------

    def _stop_workers(self, kill: bool) -> None:
        workers, self._workers[:] = list(self._workers), []
        for w in workers:
            w.close(kill=kill)  # closing its input ends an idle worker
        deadline = time.monotonic() + 10
        for w in workers:
            try:
                w.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait()

    def close(self, kill: bool = False) -> None:
        """Stops the workers: idle ones end when their pipe closes; with ``kill`` (an
        interrupted search) they are killed at once."""
        self._stop_workers(kill)
        self._kind = self._setup = None
        self._keep = ()
        shutil.rmtree(self._log_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(kill=exc_type is not None)
