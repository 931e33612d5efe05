"""Saving and loading a trained run: parameters as flax msgpack, metrics as JSON."""

from __future__ import annotations

import json
import pathlib
from typing import Any

from flax import serialization

from neural_jax.ir.nodes import Network

__all__ = ["save_run", "load_params"]


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item"):
        return v.item()
    return v


def save_run(folder: pathlib.Path, net: Network, result) -> pathlib.Path:
    """Writes ``params.msgpack`` and ``metrics.json`` into ``folder`` (created)."""
    from neural_jax.ir.printer import to_dsl

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "params.msgpack").write_bytes(serialization.to_bytes(result.variables))
    record = {
        "network": net.name,
        "config": _jsonable(result.config),
        "spec": _jsonable(result.spec.__dict__),
        "history": _jsonable(result.history),
        "val": result.val,
        "test": result.test,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "failed": result.failed,
        "message": result.message,
        "samples_per_second": result.samples_per_second,
    }
    (folder / "metrics.json").write_text(json.dumps(record, indent=2))
    (folder / "network.neural").write_text(to_dsl(net))
    return folder


def load_params(folder: pathlib.Path, template: Any) -> Any:
    """Reads ``params.msgpack`` into the structure of ``template`` (e.g. ``model.init``'s)."""
    data = (pathlib.Path(folder) / "params.msgpack").read_bytes()
    return serialization.from_bytes(template, data)
