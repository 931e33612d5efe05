"""The population engine: many configurations of one network in one compiled program.

One pure member program (:mod:`.program`: ``init`` / ``epoch`` / ``evaluate`` over a
member axis) trains every bucket of configurations that share a structure (:mod:`.bucket`);
the engine (:mod:`.engine`) runs its epochs and, at every epoch boundary, one vectorised
early-stopping state machine (:mod:`.stopping`), the search's scheduler, PBT (:mod:`.pbt`)
and ``on_epoch``. The single trainer (:class:`neural_jax.population.trainer.Trainer`) is a
population of one.

Modules:

* :mod:`.engine`: :func:`train_population`, the epoch loop of a bucket;
* :mod:`.options`: :class:`PopulationOptions`, the settings of a run;
* :mod:`.results`: :data:`MemberResult` (the trial-outcome record), :class:`PopulationResult`;
* :mod:`.bucket`, :mod:`.bucket_run`, :mod:`.sizing`, :mod:`.memory`: which configurations
  share a program, how a bucket is placed on the devices, its compiled sizes and chunks;
* :mod:`.program`, :mod:`.compiling`, :mod:`.trees`: the member program, how it is
  compiled, member pytrees on the host;
* :mod:`.program_store`, :mod:`.compile_cache`: compiled programs kept across processes;
* :mod:`.stopping`, :mod:`.loop`: early stopping and the single-run host loop the PyTorch
  and TensorFlow bridges use;
* :mod:`.trainer`: :class:`Trainer`, one configuration (a population of one);
* :mod:`.best`: the best trial of a search, kept, saved and reproduced;
* :mod:`.executor`: the JAX executor (``"jax"`` in :mod:`neural_jax.executors.registry`).

Importing this package imports no JAX; :mod:`.stopping`, :mod:`.loop` and :mod:`.options`
never do, and the other names load their modules when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["MODES", "PBT", "Bucket", "EarlyStopping", "MemberResult", "PopulationConfigError",
           "PopulationOptions", "PopulationResult", "Program", "TrainData", "TrainResult",
           "Trainer", "bucket_configs", "choose_mode", "fit_epochs", "monitor_score",
           "prepare_data", "train", "train_population"]

#: where each public name lives (loaded on first use)
_HOMES = {
    "MODES": "options", "PopulationOptions": "options",
    "EarlyStopping": "stopping", "monitor_score": "stopping",
    "TrainData": "loop", "fit_epochs": "loop", "prepare_data": "loop",
    "Bucket": "bucket", "PopulationConfigError": "bucket", "bucket_configs": "bucket",
    "PBT": "pbt",
    "MemberResult": "results", "PopulationResult": "results",
    "Program": "program", "choose_mode": "program",
    "train_population": "engine",
    "Trainer": "trainer", "TrainResult": "trainer", "train": "trainer",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
