"""The worker process of PyTorch / TensorFlow trials: ``python -m bridges.worker IN OUT``.

A :class:`bridges.trials.TrialPool` starts each worker as a fresh interpreter running this
module (never through :mod:`multiprocessing`), so a worker never imports the caller's main
module: a plain script without an ``if __name__ == "__main__":`` guard runs once, in the
caller only. ``IN`` and ``OUT`` are the numbers of two pipe descriptors inherited from the
caller; messages on them are frames of an 8-byte little-endian length and a pickle.

Caller -> worker:

- ``("setup", spec)``: ``spec`` holds ``sys_path`` (the caller's, so the trial function's
  module resolves as it does there), ``backend``, ``threads`` and ``payload``: the pickled
  ``(net, dataset, overrides, fn, keep_variables)``. Answered by ``("ready",)`` or
  ``("setup_failed", message)``. A later setup replaces the earlier one.
- ``("trial", index, config, trial_id, scheduler)``: answered by
  ``("result", index, result, reports)`` (see :func:`bridges.trial_run.run_one`).

The worker exits when its input ends (the caller closed it, or died). It ignores Ctrl-C:
an interrupt reaches the whole process group, and stopping the workers is the caller's
business. Its stdout and stderr go to a log file the caller reads when it dies.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from typing import Any, BinaryIO

__all__ = ["HEADER", "decode_header", "encode", "main"]

#: a frame's header: the length of the pickle that follows
HEADER = struct.Struct("<Q")


def encode(message: Any) -> bytes:
    """A message as one frame (header + pickle)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def decode_header(header: bytes) -> int:
    """The length of the pickle a frame header announces."""
    return HEADER.unpack(header)[0]


def _read_exactly(stream: BinaryIO, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive(stream: BinaryIO) -> Any:
    """The next message, or None when the caller closed the pipe."""
    header = _read_exactly(stream, HEADER.size)
    if header is None:
        return None
    data = _read_exactly(stream, decode_header(header))
    return None if data is None else pickle.loads(data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _setup(spec: dict[str, Any], state: dict[str, Any]) -> tuple:
    """Applies one setup message; returns the answer."""
    for p in reversed(spec.get("sys_path", [])):
        if p not in sys.path:
            sys.path.insert(0, p)
    backend, threads = spec["backend"], int(spec["threads"])
    try:
        net, dataset, overrides, fn, keep = pickle.loads(spec["payload"])
        # the framework is imported for the bridge's trainer (a test's own trial function
        # may not need it); its threads are set whenever it is there
        if backend == "pytorch" and (fn is None or "torch" in sys.modules):
            import torch

            torch.set_num_threads(threads)
        elif backend == "tensorflow" and (fn is None or "tensorflow" in sys.modules):
            from bridges.tensorflow._keras import load

            tf, _ = load()
            if state.get("tf_threads") is None:  # TensorFlow takes these once, before any op
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(1)
                state["tf_threads"] = threads
        if fn is None:
            from bridges.trial_run import train_fn

            fn = train_fn(backend)
    except Exception as e:  # noqa: BLE001 - reported to the caller, which fails the trials
        return ("setup_failed", _describe(e))
    state.update(fn=fn, net=net, dataset=dataset, overrides=overrides, keep=keep)
    return ("ready",)


def _trial(message: tuple, state: dict[str, Any]) -> bytes:
    from bridges.trial_run import failed_result, run_one

    _, index, config, trial_id, scheduler = message
    result, reports = run_one(state, index, config, trial_id, scheduler)
    if not state["keep"] and getattr(result, "variables", None) is not None:
        result.variables = None  # the caller would drop them: do not send them
    try:
        return encode(("result", index, result, reports))
    except Exception as e:  # noqa: BLE001 - a result that cannot travel fails its trial
        result = failed_result(index, config, f"the trial's result cannot be sent back "
                                              f"({_describe(e)})")
        return encode(("result", index, result, reports))


def main(argv: list[str] | None = None) -> int:
    """Serves setup and trial messages until the caller closes the input pipe."""
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    rx = os.fdopen(int(argv[0]), "rb", buffering=1 << 16)
    tx = int(argv[1])
    state: dict[str, Any] = {}
    while True:
        try:
            message = _receive(rx)
        except Exception as e:  # noqa: BLE001 - a message this process cannot read
            frame = encode(("setup_failed", f"cannot read the caller's message "
                                            f"({_describe(e)})"))
        else:
            if message is None:
                return 0
            if message[0] == "setup":
                frame = encode(_setup(message[1], state))
            elif message[0] == "trial":
                frame = _trial(message, state)
            else:
                return 0
        try:
            _write_all(tx, frame)
        except BrokenPipeError:  # the caller is gone
            return 0


if __name__ == "__main__":
    sys.exit(main())
