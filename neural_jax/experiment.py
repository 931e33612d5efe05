"""Launch-from-config functions: what the absl launchers in ``experiments/`` call.

A config (an ``ml_collections.ConfigDict`` from a ``configs/*.py`` ``get_config()``) names the
DSL file, the dataset and the search; see ``configs/digits_mlp.py`` for every field. A
relative ``network`` path is read from the working directory, else from the project root
(so the docstring commands work from anywhere).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neural_jax.engine_config import EngineConfig

__all__ = ["engine_config", "run_hpo", "run_train"]

_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _plain(value: Any) -> Any:
    """A ConfigDict (or a FrozenConfigDict) as plain dicts all the way down."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _dataset_options(cfg) -> dict[str, Any]:
    opts = _plain(cfg.get("dataset_options", {}) or {})
    if cfg.get("data_dir"):
        opts["data_dir"] = cfg.data_dir
    return opts


#: ``cfg.search`` fields where 0 means "the default" (ConfigDict fields keep one type)
_ZERO_IS_DEFAULT = ("population", "workers", "parallel_trials", "epochs", "timeout",
                    "pbt_interval")
#: ``cfg.search`` fields where "" means "the default"
_EMPTY_IS_DEFAULT = ("strategy", "scheduler", "direction", "backend", "mode")


def _network_path(cfg) -> pathlib.Path:
    """``cfg.network`` as given, or under the project root when relative and not found."""
    path = pathlib.Path(cfg.network)
    if not path.is_absolute() and not path.exists() and (_ROOT / path).exists():
        return _ROOT / path
    return path


def _dataset(cfg):
    """The config's dataset, loaded with its ``dataset_options`` and ``data_dir``."""
    from neural_jax.data import load as load_dataset

    return load_dataset(cfg.dataset, **_dataset_options(cfg))


def engine_config(cfg) -> EngineConfig:
    """The :class:`~neural_jax.engine_config.EngineConfig` of a config's search:
    ``cfg.search``'s fields by their names, ``cfg.storage``, ``cfg.study``, ``cfg.data_dir``.

    0 / "" in a config mean "the default" (:data:`_ZERO_IS_DEFAULT`,
    :data:`_EMPTY_IS_DEFAULT`); a negative value is passed on, and refused with the
    field's name.

    Raises:
      ValueError: a value the config refuses, by its name.
    """
    from neural_jax.engine_config import EngineConfig

    fields = {f.name for f in dataclasses.fields(EngineConfig)}
    given = {k: v for k, v in _plain(cfg.search).items() if k in fields}
    for k, v in list(given.items()):
        if (k in _ZERO_IS_DEFAULT and v == 0) or (k in _EMPTY_IS_DEFAULT and v == ""):
            del given[k]
    if "early_stopping" in given:
        given["early_stopping"] = bool(given["early_stopping"])
    if "seed" in given:
        given["seed"] = int(given["seed"])
    return EngineConfig(**given, storage=cfg.get("storage") or None,
                        study_name=cfg.get("study") or None, data_dir=cfg.get("data_dir") or None)


def run_hpo(cfg) -> dict[str, Any]:
    """Runs the search a config describes; returns ``{"best_params", "best_value", "trials",
    "interrupted"}`` (interrupted: Ctrl-C stopped it; finished trials are in the study)."""
    from neural_jax.hpo import HPOptimizer

    if cfg.get("output_dir"):  # before any work, as the CLI checks its outputs
        from neural_jax.cli_paths import check_output_dir

        check_output_dir(cfg.output_dir, "--config.output_dir")
    code = _network_path(cfg).read_text(encoding="utf-8")
    tracker = _wandb_tracker(cfg)

    def on_round(r: int, recs: list[dict]) -> None:
        print(f"round {r + 1}: {len(recs)} trials", flush=True)
        if tracker is not None:
            tracker.on_round(r, recs)

    opt = HPOptimizer.from_config(engine_config(cfg), on_round=on_round)
    opt.resume_hint = "--config.storage={storage} --config.study={study}"
    opt.persist_hint = "--config.storage=sqlite:///hpo.db --config.study=NAME"
    space = _plain(cfg.get("space", {}) or {}) or None
    best = opt.optimize(code, dataset=_dataset(cfg), search_space=space)
    out = {"best_params": best, "best_value": opt.best_value, "trials": len(opt.trials),
           "interrupted": opt.interrupted}
    if cfg.get("output_dir") and best:  # nothing completed: nothing to record
        folder = pathlib.Path(cfg.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "best.json").write_text(json.dumps(out, indent=2, default=str))
    if tracker is not None:
        tracker.finish(opt)
    return out


def run_train(cfg) -> dict[str, Any]:
    """Trains the config's network once (its HPO values from ``cfg.params``)."""
    from neural_jax.dsl.api import load
    from neural_jax.population.trainer import train

    net = load(str(_network_path(cfg)))
    ds = _dataset(cfg)
    overrides = {k: int(v) for k, v in (("epochs", cfg.search.epochs),) if v}
    r = train(net, ds, _plain(cfg.get("params", {}) or {}), **overrides)
    return {"val": r.val, "test": r.test, "failed": r.failed, "message": r.message}


def _wandb_tracker(cfg):
    """A :class:`neural_jax.tracking.WandbTracker` when ``cfg.logging.wandb`` is set, else None.

    Every trial becomes a W&B run in the group ``cfg.study`` (or network-dataset-strategy),
    logged when its round ends; ``cfg.logging.mode="offline"`` writes without a server.
    """
    log = cfg.get("logging")
    if not log or not log.get("wandb"):
        return None
    from neural_jax.tracking import WandbTracker

    network = pathlib.Path(cfg.network).stem
    group = cfg.get("study") or f"{network}-{cfg.dataset}-{cfg.search.strategy or 'default'}"
    return WandbTracker(
        log.get("project") or "neural_jax", group=group, entity=log.get("entity") or None,
        mode=log.get("mode") or None, tags=list(log.get("tags", ()) or ()),
        config={"network": cfg.network, "dataset": cfg.dataset,
                **{f"search.{k}": v for k, v in cfg.search.items()}},
        directory=log.get("dir") or None)
