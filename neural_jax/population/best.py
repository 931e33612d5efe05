"""The best trial of a search: its weights kept, saved as a run folder, and trained again.

A search keeps the weights of its best complete trial only (:class:`BestKeeper`: each
round's members are compared with the best so far and every other member's weights are
dropped), and :func:`save_best` writes them as a folder that every command reads::

    DIR/best.neural      the network with the best values written in (no HPO left), and
                         the epochs of a search that forced them (``--epochs``)
    DIR/best.json        the values, the trial, its seed, epochs and how it was trained
    DIR/params.msgpack   the trial's kept weights (the format ``neural run`` writes)
    DIR/metrics.json     value, metric, validation/test metrics, trial, seed, params...
    DIR/network.neural   the searched network (``neural export DIR`` reads it with the config)

Training the best configuration again with :class:`neural_jax.train.Trainer` gives another
score, for two reasons: a search's member ``k`` initialises, shuffles and drops out with the
seed ``search seed + k`` but carves the validation split with the network's ``train.seed``
(the Trainer uses one seed for both), and its epochs run in the population program (a
vmapped batch of members, widths padded), whose floating-point rounding is not the single
trainer's. :func:`reproduce` therefore trains the configuration in the search's own
program: a population of as many members as the trial's bucket compiled (copies of the
configuration, so the compiled shapes are the search's), the same execution mode, width
padding and compile options. The copies compute independently, so the first one trains
bit for bit as the trial did.
"""

from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from neural_jax.core.errors import NeuralValidationError
from neural_jax.ir.nodes import Network

__all__ = ["BestKeeper", "BestTrial", "load_best", "narrow_variables", "reproduce", "save_best"]

#: the file of a saved best trial that ``neural run --params`` reads
BEST_FILE = "best.json"


class BestTrialError(NeuralValidationError):
    """A ``best.json`` (or its folder) that cannot be read as a search's best trial."""


def _template(net: Network, config: Mapping[str, Any]) -> Any:
    """Shapes of the variables of ``net`` under ``config`` (nothing is computed)."""
    import jax

    from neural_jax.jax import build_model

    model = build_model(net, dict(config))
    x = np.zeros((1,) + tuple(d or 1 for d in net.input_shape), np.float32)
    if model.plan.layers and model.plan.layers[0].type == "Embedding":
        x = x.astype(np.int32)
    return jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), x))


def _narrow_leaf(wide: np.ndarray, shape: tuple[int, ...], widths: Sequence[tuple[int, int]]
                 ) -> np.ndarray:
    """``wide`` cut to ``shape``: on every axis that differs, the first ``w`` of each group
    of ``W`` entries (a padded layer's own channels, or a consumer's rows that read them,
    channel-last after a Flatten)."""
    out = np.asarray(wide)
    for axis, (big, small) in enumerate(zip(out.shape, shape)):
        if big == small:
            continue
        for wide, w in widths:
            if big % wide == 0 and small == big // wide * w:
                groups = out.shape[:axis] + (big // wide, wide) + out.shape[axis + 1:]
                cut = [slice(None)] * (axis + 2)
                cut[axis + 1] = slice(0, w)
                out = out.reshape(groups)[tuple(cut)].reshape(
                    out.shape[:axis] + (small,) + out.shape[axis + 1:])
                break
        else:
            raise ValueError(f"axis {axis} of a kept tensor has {big} entries, the network "
                             f"{small}: not a padded width")
    return out


def narrow_variables(variables: Any, net: Network, config: Mapping[str, Any],
                     widths: Sequence[tuple[int, int]] = ()) -> Any:
    """A padded member's variables as its own network's (the padding cut away).

    A bucket that pads a searched width ``w`` to ``W`` (:mod:`neural_jax.jax.padding`)
    keeps its members' weights at width ``W``; entries beyond ``w`` are exactly zero and
    read nothing. ``widths`` are the ``(W, w)`` pairs of the member.
    """
    import jax

    template = _template(net, config)
    return jax.tree.map(lambda a, t: _narrow_leaf(a, tuple(t.shape), widths), variables,
                        template)


class BestTrial(dict):
    """The record of a search's best trial (``best.json``'s fields) plus ``variables``."""

    @property
    def variables(self) -> Any:
        return self.get("_variables")


class BestKeeper:
    """Keeps the best complete trial of a search, with its weights, and nothing else.

    Args:
      direction: ``"maximize"`` or ``"minimize"``.
      to_jax: turns a trial's kept weights into JAX variables,
        ``to_jax(backend, net, config, variables)``, for an executor that keeps them in its
        framework's form (a PyTorch ``state_dict``); None: they are JAX variables already.
      program: how the search trains (``backend``, ``mode``, ``rounds``, ``epochs``
        override), written into the record so that :func:`reproduce` can train the same
        program.
    """

    def __init__(self, direction: str, to_jax: Callable[..., Any] | None = None,
                 **program: Any) -> None:
        self.direction = direction
        self.to_jax = to_jax
        self.program = program
        self.best: BestTrial | None = None

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        cur = self.best["value"]
        return value > cur if self.direction == "maximize" else value < cur

    def offer(self, net: Network, records: Sequence[dict], results: Sequence[Any],
              seeds: Sequence[int], stats: Sequence[dict] | None = None) -> bool:
        """Looks at one round; keeps its best complete trial when it beats the best so far.

        Args:
          net: the searched network.
          records: the engine's trial records (``number``, ``params``, ``state``, ``value``).
          results: the round's member results, in the same order (``variables`` set).
          seeds: each trial's training seed.
          stats: the population's per-bucket stats (compiled sizes, width padding).

        Returns:
          Whether the best changed. The other members' weights are not kept.
        """
        changed = False
        for rec, res, seed in zip(records, results, seeds):
            value = rec.get("value")
            if rec.get("state") != "complete" or value is None or not math.isfinite(value):
                continue
            if getattr(res, "variables", None) is None or not self._better(value):
                continue
            st = stats[res.bucket] if stats and hasattr(res, "bucket") else {}
            pads = tuple(st.get("pads") or ())
            config = dict(res.config) if isinstance(getattr(res, "config", None), dict) else {}
            full = {**config, **rec["params"]}
            widths = []
            for p in pads:
                space = next((q for q in _space(net) if q.name == p), None)
                if space is not None and p in full:
                    widths.append((max(space.choices), int(full[p])))
            variables = res.variables
            if self.to_jax is not None:  # e.g. a state_dict of the PyTorch bridge's module
                variables = self.to_jax(self.program.get("backend"), net, full, variables)
            elif widths:
                variables = narrow_variables(variables, net, full, widths)
            sizes = st.get("sizes") or []
            self.best = BestTrial(
                number=rec["number"], value=float(value), params=dict(rec["params"]),
                config=_jsonable(full), seed=int(seed), history=rec.get("history") or [],
                val=dict(rec.get("val") or {}), test=dict(rec.get("test") or {}),
                best_epoch=int(getattr(res, "best_epoch", 0) or 0),
                program={**self.program, "members": int(sizes[0]) if sizes else 1,
                         "mode": st.get("mode", self.program.get("mode", "auto")),
                         "pad": bool(pads)},
                _variables=variables)
            changed = True
        return changed


def _space(net: Network):
    from neural_jax.ir.space import search_space

    return search_space(net)


def _jsonable(v: Any) -> Any:
    from neural_jax.train.checkpoint import _jsonable as impl

    return impl(v)


def save_best(folder: pathlib.Path, net: Network, code: str, best: BestTrial, *,
              metric: str, direction: str, dataset: str, backend: str = "jax",
              search_seed: int = 0, best_params: Mapping[str, Any] | None = None) -> pathlib.Path:
    """Writes the folder described in the module docstring; returns it.

    Args:
      folder: created when missing.
      net: the searched network (HPO values lifted in).
      code: the searched ``.neural`` text (``best.neural`` is it with the values written in).
      best: the kept trial (:class:`BestKeeper`'s ``best``).
      metric, direction, dataset, backend, search_seed: of the search.
      best_params: the values the study reports as best (default the trial's).
    """
    from flax import serialization

    from neural_jax.dsl.optimized import generate_optimized_dsl
    from neural_jax.ir.printer import to_dsl

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params = dict(best_params if best_params is not None else best["params"])
    epochs = _trained_epochs(net, best)
    written = dict(params)
    if best["program"].get("epochs"):  # forced epochs: best.neural trains what the trial did
        written["train.epochs"] = epochs
    (folder / "best.neural").write_text(generate_optimized_dsl(code, written), encoding="utf-8")
    (folder / "network.neural").write_text(to_dsl(net), encoding="utf-8")
    (folder / "params.msgpack").write_bytes(serialization.to_bytes(best.variables))
    record = {
        "network": net.name, "metric": metric, "direction": direction, "value": best["value"],
        "trial": best["number"], "seed": best["seed"], "search_seed": search_seed,
        "dataset": dataset, "backend": backend, "params": _jsonable(params), "epochs": epochs,
        "config": best["config"], "val": best["val"], "test": best["test"],
        "best_epoch": best["best_epoch"], "history": _jsonable(best["history"]),
        "program": best["program"],
    }
    (folder / "metrics.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    keep = ("network", "metric", "direction", "value", "trial", "seed", "search_seed",
            "dataset", "backend", "params", "epochs", "program")
    (folder / BEST_FILE).write_text(json.dumps({k: record[k] for k in keep}, indent=2),
                                    encoding="utf-8")
    return folder


def _trained_epochs(net: Network, best: Mapping[str, Any]) -> int:
    """The epochs the trial was set to train: the search's forced ``epochs``, else its
    configuration's (early stopping may have ended it sooner: see its ``history``)."""
    from neural_jax.train.spec import training_spec

    forced = best["program"].get("epochs")
    if forced:
        return int(forced)
    return int(training_spec(net, best["config"]).epochs)


def load_best(ref: str | pathlib.Path) -> dict[str, Any] | None:
    """The record of ``best.json`` when ``ref`` is such a file or a folder holding one;
    None when ``ref`` names neither (e.g. it is JSON text).

    Raises:
      BestTrialError: the file exists but is not a best trial's record.
    """
    text = str(ref).strip()
    if not text or text.startswith("{"):
        return None
    path = pathlib.Path(text)
    if path.is_dir():
        path = path / BEST_FILE
        if not path.exists():
            raise BestTrialError(f"{path.parent} holds no {BEST_FILE}",
                                 hint="pass the folder `neural hpo -o DIR` wrote, its "
                                      "best.json, or JSON values")
    elif not path.exists():
        raise BestTrialError(f"--params {text!r} is neither JSON values nor a file or folder",
                             hint="pass JSON values such as '{\"layers[1].units\": 64}', a "
                                  "best.json, or the folder `neural hpo -o DIR` wrote")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise BestTrialError(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
    if not isinstance(record, dict):
        raise BestTrialError(f"{path}: expected a JSON object of values or a best trial's record")
    if "params" not in record:  # a plain {path: value} file
        return {"params": record, "_path": str(path)}
    if not isinstance(record["params"], dict):
        raise BestTrialError(f"{path}: 'params' must be an object of HPO values")
    return {**record, "_path": str(path)}


def reproduce(net: Network, dataset, record: Mapping[str, Any], *, seed: int | None = None,
              epochs: int | None = None, on_epoch=None) -> Any:
    """Trains a search's best configuration again in the search's program.

    Args:
      net: the network (the searched one, or the file it came from).
      dataset: the data set the search ran on.
      record: :func:`load_best`'s record.
      seed: the member's seed (default the trial's).
      epochs: the epochs (default those of the search).
      on_epoch: called as ``on_epoch(epoch, record)``.

    Returns:
      A :class:`neural_jax.population.trainer.TrainResult` (``variables`` narrowed to the
      configuration's own widths).
    """
    from neural_jax.ir.lift import lift
    from neural_jax.ir.space import bind_search_space
    from neural_jax.population.engine import train_population
    from neural_jax.population.trainer import TrainResult
    from neural_jax.train.spec import training_spec

    program = dict(record.get("program") or {})
    params = dict(record["params"])
    epochs = epochs if epochs is not None else program.get("epochs")
    if epochs:  # forced epochs (a search with --epochs drops a searched train.epochs)
        params.pop("train.epochs", None)
        net = _fixed_epochs(net, int(epochs))
    net = lift(net, bind_search_space(net, _dict_space(net, params)))
    overrides = {"epochs": epochs} if epochs else None
    seed = int(record.get("seed", net.train.seed or 0) if seed is None else seed)
    members = max(1, int(program.get("members", 1)))
    shown = None
    if on_epoch is not None:
        def shown(epoch: int, recs: dict[int, dict]) -> None:
            if 0 in recs:
                on_epoch(epoch, {k: v for k, v in recs[0].items() if k != "samples"})

    results = train_population(
        net, dataset, [{**params, "seed": seed}] * members, mode=program.get("mode", "auto"),
        overrides=overrides, keep_variables=True, pad=bool(program.get("pad", "auto")),
        pad_members=members, rounds=int(program.get("rounds", 1)), on_epoch=shown)
    r = results[0]
    pads = tuple(results.stats[r.bucket].get("pads") or ())
    space = {p.name: p for p in _space(net)}
    widths = [(max(space[p].choices), int(r.config[p])) for p in pads if p in space]
    variables = r.variables
    if widths and variables is not None:
        variables = narrow_variables(variables, net, r.config, widths)
    spec = training_spec(net, r.config, {**(overrides or {}), "seed": seed})
    return net, TrainResult(history=r.history, val=r.val, test=r.test, variables=variables,
                            config={**r.config, **params}, spec=spec, failed=r.failed,
                            message=r.message, stopped_early=r.stopped_epoch is not None,
                            best_epoch=r.best_epoch)


def _fixed_epochs(net: Network, epochs: int) -> Network:
    """``net`` training ``epochs`` epochs: its ``train.epochs`` (an HPO expression too)
    replaced by the number."""
    import dataclasses

    if net.train is None:
        return net
    return dataclasses.replace(net, train=dataclasses.replace(net.train, epochs=epochs))


def _dict_space(net: Network, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The values of ``params`` that name no HPO expression of ``net`` (a search over a
    ``search_space=`` dict reports such paths), as a space that binds them."""
    paths = {p.name for p in _space(net)}
    extra = {k: {"type": "categorical", "values": [v]} for k, v in params.items()
             if k not in paths}
    return extra or None
