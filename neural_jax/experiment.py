"""Launch-from-config functions: what the absl launchers in ``experiments/`` call.

A config (an ``ml_collections.ConfigDict`` from a ``configs/*.py`` ``get_config()``) names the
DSL file, the dataset and the search; see ``configs/digits_mlp.py`` for every field.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

__all__ = ["run_hpo", "run_train"]


def _dataset_options(cfg) -> dict[str, Any]:
    opts = dict(cfg.get("dataset_options", {}) or {})
    if cfg.get("data_dir"):
        opts["data_dir"] = cfg.data_dir
    return opts


def run_hpo(cfg) -> dict[str, Any]:
    """Runs the search a config describes; returns ``{"best_params", "best_value", "trials"}``."""
    from neural_jax.hpo import HPOptimizer

    s = cfg.search
    code = pathlib.Path(cfg.network).read_text(encoding="utf-8")
    opt = HPOptimizer(
        strategy=s.strategy or None, n_trials=int(s.n_trials), timeout=s.timeout or None,
        early_stopping=bool(s.early_stopping), population=int(s.population) or None,
        storage=cfg.storage or None, seed=int(s.seed), study_name=cfg.study or None,
        epochs=int(s.epochs) or None, data_dir=cfg.get("data_dir") or None,
        on_round=lambda r, recs: print(f"round {r + 1}: {len(recs)} trials", flush=True))
    best = opt.optimize(code, dataset_name=cfg.dataset, search_space=dict(cfg.get("space", {}) or {}) or None,
                        metric=s.metric, direction=s.direction)
    out = {"best_params": best, "best_value": opt.best_value, "trials": len(opt.trials)}
    if cfg.get("output_dir"):
        folder = pathlib.Path(cfg.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "best.json").write_text(json.dumps(out, indent=2, default=str))
    _log_wandb(cfg, opt)
    return out


def run_train(cfg) -> dict[str, Any]:
    """Trains the config's network once (its HPO values from ``cfg.params``)."""
    from neural_jax.data import load as load_dataset
    from neural_jax.dsl.api import load
    from neural_jax.train.trainer import train

    net = load(cfg.network)
    ds = load_dataset(cfg.dataset, **_dataset_options(cfg))
    overrides = {k: int(v) for k, v in (("epochs", cfg.search.epochs),) if v}
    r = train(net, ds, dict(cfg.get("params", {}) or {}), **overrides)
    return {"val": r.val, "test": r.test, "failed": r.failed, "message": r.message}


def _log_wandb(cfg, opt) -> None:
    """Logs every trial to a Weights & Biases run when ``cfg.logging.wandb`` is set."""
    if not cfg.get("logging") or not cfg.logging.get("wandb"):
        return
    import wandb

    run = wandb.init(project=cfg.logging.project, config={"network": cfg.network,
                                                          "dataset": cfg.dataset, **cfg.search})
    for t in opt.trials:
        run.log({"trial": t["number"], "value": t["value"], **{f"param/{k}": v for k, v in
                                                               t["params"].items()}})
    run.summary["best_value"] = opt.best_value
    run.finish()
