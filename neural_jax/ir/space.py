"""The search space of a network: its HPO parameters, and `search_space=` dicts bound to it.

:func:`search_space` lists every HPO expression of a network as a :class:`SearchParam` named
by its path (SPEC §4), with the conditions under which it is active (a parameter inside an
option of a layer or optimizer choice is active only when that option is chosen).
:func:`bind_search_space` adds the entries of a seed-style dict, resolving aliases
(``learning_rate``, ``batch_size``, ``dropout_rate``, ``optimizer``...), checking each
against the legal domain of what it binds to, and warning about keys that bind to nothing.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from neural_jax.core.errors import NeuralValidationError, NeuralWarning
from neural_jax.ir.nodes import (
    HPO,
    Choice,
    Layer,
    LogRange,
    Network,
    Optimizer,
    Range,
    Schedule,
)
from neural_jax.ir.params import ParamSpec
from neural_jax.ir.registry import LAYERS
from neural_jax.ir.training import DEFAULT_OPTIMIZER, LOSSES, OPTIMIZERS, SCHEDULES

__all__ = ["SearchParam", "search_space", "bind_search_space", "to_space_dict", "bindable"]

_TRAIN_SPECS = {
    "train.epochs": ParamSpec("epochs", "pos_int"),
    "train.batch_size": ParamSpec("batch_size", "pos_int"),
    "train.validation_split": ParamSpec("validation_split", "rate"),
}
_TRAIN_ALIASES = ("batch_size", "epochs", "validation_split")


@dataclass(frozen=True)
class SearchParam:
    """One searched parameter.

    Attributes:
      name: its name in the study (the path, or the dict key when it sets several paths).
      kind: ``"float"``, ``"int"`` or ``"categorical"``.
      low, high, step, log: the numeric domain.
      choices: the categorical values (labels such as ``"Dense(64)"`` for layer choices).
      condition: ``{parent name: value}`` that must all hold for the parameter to be active.
      targets: the IR paths it sets.
      origin: ``"dsl"`` or ``"dict"``.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple = ()
    condition: tuple[tuple[str, Any], ...] = ()
    targets: tuple[str, ...] = ()
    origin: str = "dsl"
    options: tuple = field(default=(), compare=False)  # the IR option objects of a choice

    def to_dict(self) -> dict[str, Any]:
        """The seed's dict form of this parameter."""
        if self.kind == "categorical":
            d: dict[str, Any] = {"type": "categorical", "values": list(self.choices)}
        else:
            d = {"type": self.kind, "min": self.low, "max": self.high}
            if self.log:
                d["log"] = True
            if self.step is not None:
                d["step"] = self.step
        if self.condition:
            d["condition"] = dict(self.condition)
        return d


def _label(option: Any) -> Any:
    if isinstance(option, (Layer, Optimizer)):
        from neural_jax.ir.printer import format_call

        return format_call(option)
    return option


def _from_hpo(h: HPO, cond: tuple) -> SearchParam:
    if isinstance(h, Choice):
        labels = tuple(_label(v) for v in h.values)
        if all(isinstance(v, (Layer, Optimizer)) for v in h.values):
            types = tuple(v.type for v in h.values)
            if len(set(types)) == len(types):  # the type names when they tell options apart
                labels = types
        return SearchParam(h.path, "categorical", choices=labels, condition=cond,
                           targets=(h.path,), options=h.values)
    if isinstance(h, LogRange):
        return SearchParam(h.path, "int" if h.is_int else "float", h.low, h.high, log=True,
                           condition=cond, targets=(h.path,))
    assert isinstance(h, Range)
    return SearchParam(h.path, "int" if h.is_int else "float", h.low, h.high, step=h.step,
                       condition=cond, targets=(h.path,))


def _walk_value(v: Any, cond: tuple) -> Iterator[tuple[HPO, tuple]]:
    if isinstance(v, HPO):
        yield v, cond
        if isinstance(v, Choice):
            p = _from_hpo(v, cond)
            for label, opt in zip(p.choices, v.values):
                yield from _walk_value(opt, cond + ((v.path, label),))
    elif isinstance(v, tuple):
        for x in v:
            yield from _walk_value(x, cond)
    elif isinstance(v, (Layer, Optimizer, Schedule)):
        for _, x in v.params:
            yield from _walk_value(x, cond)
        if isinstance(v, Layer) and v.block:
            for x in v.block:
                yield from _walk_value(x, cond)


def _all_hpos(net: Network) -> Iterator[tuple[HPO, tuple]]:
    for it in net.layers:
        yield from _walk_value(it, ())
    if net.optimizer is not None:
        yield from _walk_value(net.optimizer, ())
    if net.loss is not None:
        yield from _walk_value(net.loss.params, ())
    t = net.train
    for key in ("epochs", "batch_size", "validation_split", "search_method"):
        yield from _walk_value(getattr(t, key), ())
    if t.early_stopping is not None:
        yield from _walk_value(t.early_stopping.patience, ())


def search_space(net: Network) -> tuple[SearchParam, ...]:
    """Every HPO parameter of ``net``, once each, in source order of first use."""
    out: dict[str, SearchParam] = {}
    for h, cond in _all_hpos(net):
        if h.path not in out:
            out[h.path] = _from_hpo(h, cond)
    return tuple(out.values())


def bindable(net: Network) -> dict[str, ParamSpec]:
    """Every path a `search_space=` dict may set, with the domain of its value."""
    out: dict[str, ParamSpec] = dict(_TRAIN_SPECS)

    def layer(lay: Layer) -> None:
        for p in LAYERS[lay.type].params:
            if p.kind != "layer":
                out[f"{lay.path}.{p.name}"] = p
        for _, v in lay.params:
            if isinstance(v, Layer):
                layer(v)
        for x in lay.block or ():
            if isinstance(x, Layer):
                layer(x)

    for lay in net.walk_layers():
        layer(lay)
    opts = net.optimizer.values if isinstance(net.optimizer, Choice) else (net.optimizer,)
    for o in opts:
        if isinstance(o, Optimizer):
            for p in OPTIMIZERS[o.type].params:
                out[f"{o.path}.{p.name}"] = p
            lr = o.get("learning_rate")
            if isinstance(lr, Schedule):
                for p in SCHEDULES[lr.type].params:
                    out[f"{lr.path}.{p.name}"] = p
        elif o is None:
            for p in OPTIMIZERS[DEFAULT_OPTIMIZER].params:  # the trainer's default
                out[f"optimizer.{p.name}"] = p
    if net.loss is not None:
        for p in LOSSES[net.loss.name].params:
            out[f"loss.{p.name}"] = p
    return out


def _alias_targets(net: Network, key: str, paths: Mapping[str, ParamSpec]) -> tuple[str, ...]:
    if key in paths:
        return (key,)
    if key in _TRAIN_ALIASES:
        return (f"train.{key}",)
    if key == "optimizer":
        return ("optimizer",)
    if key == "dropout_rate":
        return tuple(f"{lay.path}.rate" for lay in net.walk_layers() if lay.type == "Dropout")
    # any optimizer argument name (learning_rate, momentum, beta_1...) -> the optimizer's
    opts = net.optimizer.values if isinstance(net.optimizer, Choice) else (net.optimizer,)
    prefixes = [o.path if isinstance(o, Optimizer) else "optimizer" for o in opts]
    found = tuple(f"{p}.{key}" for p in prefixes if f"{p}.{key}" in paths)
    if not found and not isinstance(net.optimizer, Choice) and _optimizer_arg(key) is not None:
        # an argument of another optimizer type (momentum with "optimizer": [Adam, SGD]):
        # it applies when the search picks a type that takes it (its "condition" says which)
        return (f"optimizer.{key}",)
    return found


def _optimizer_arg(name: str) -> ParamSpec | None:
    for decl in OPTIMIZERS.values():
        for p in decl.params:
            if p.name == name:
                return p
    return None


def _parse_entry(key: str, spec: Any) -> SearchParam:
    def bad(msg: str) -> NeuralValidationError:
        return NeuralValidationError(f"search_space[{key!r}]: {msg}",
                                     hint='e.g. {"optimizer.learning_rate": {"type": "float", '
                                          '"min": 1e-4, "max": 1e-2, "log": true}} (JSON, as '
                                          '--space takes it; True in Python)')

    if not isinstance(spec, Mapping):
        raise bad(f"expected a dict, got {type(spec).__name__}")
    kind = spec.get("type")
    cond = spec.get("condition") or {}
    if not isinstance(cond, Mapping):
        raise bad("condition must be a dict {parameter: value}")
    cond_t = tuple(cond.items())
    if kind == "categorical":
        values = spec.get("values")
        if not isinstance(values, (list, tuple)) or not values:
            raise bad("categorical needs a non-empty 'values' list")
        return SearchParam(key, "categorical", choices=tuple(values), condition=cond_t,
                           origin="dict")
    if kind not in ("float", "int"):
        raise bad(f"unknown type {kind!r}; use 'float', 'int' or 'categorical'")
    lo, hi = spec.get("min"), spec.get("max")
    for name, v in (("min", lo), ("max", hi)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise bad(f"'{name}' must be a finite number, got {v!r}")
    if lo >= hi:
        raise bad(f"min must be < max, got {lo!r} >= {hi!r}")
    log = bool(spec.get("log", False))
    if log and lo <= 0:
        raise bad(f"log scale needs min > 0, got {lo!r}")
    step = spec.get("step")
    if step is not None and (not isinstance(step, (int, float)) or step <= 0 or step > hi - lo):
        raise bad(f"step must be in (0, max - min], got {step!r}")
    return SearchParam(key, kind, lo, hi, step=step, log=log, condition=cond_t, origin="dict")


def bind_search_space(net: Network, space: Mapping[str, Any] | None) -> tuple[SearchParam, ...]:
    """The union of the network's HPO parameters and a `search_space=` dict (SPEC §4).

    A dict entry on the path of an HPO expression replaces it (with a warning); a key that
    binds to nothing is left out with a :class:`NeuralWarning`.

    Raises:
      NeuralValidationError: a malformed entry, or a domain outside what its target accepts.
    """
    params = {p.name: p for p in search_space(net)}
    if not space:
        return tuple(params.values())
    paths = bindable(net)
    by_target = {t: p.name for p in params.values() for t in p.targets}
    for key, spec in space.items():
        entry = _parse_entry(key, spec)
        targets = _alias_targets(net, key, paths)
        if not targets:
            warnings.warn(NeuralWarning(
                f"search_space key {key!r} binds to nothing in network '{net.name}'; it is "
                "left out of the search"), stacklevel=2)
            continue
        for t in targets:
            spec = paths.get(t)
            if spec is None and t.startswith("optimizer."):
                spec = _optimizer_arg(t.split(".", 1)[1])
            _check_target(key, entry, spec, t)
        for t in targets:
            if t in by_target:
                old = by_target[t]
                warnings.warn(NeuralWarning(
                    f"search_space key {key!r} replaces the HPO expression at {t}"), stacklevel=2)
                params.pop(old, None)
        name = targets[0] if len(targets) == 1 else key
        params[name] = SearchParam(name, entry.kind, entry.low, entry.high, entry.step,
                                   entry.log, entry.choices, entry.condition, targets, "dict")
    return tuple(params.values())


def _check_target(key: str, entry: SearchParam, spec: ParamSpec | None, target: str) -> None:
    if target == "optimizer":
        bad = [v for v in entry.choices if not isinstance(v, str) or
               v.lower() not in {o.lower() for o in OPTIMIZERS}]
        if entry.kind != "categorical" or bad:
            raise NeuralValidationError(
                f"search_space[{key!r}] must be a categorical of optimizer names",
                hint="one of " + ", ".join(OPTIMIZERS))
        return
    if spec is None:
        return
    values = entry.choices if entry.kind == "categorical" else (entry.low, entry.high)
    if spec.wants_int and entry.kind == "float":
        raise NeuralValidationError(f"search_space[{key!r}] is a float range but {target} "
                                    "takes whole numbers", hint="use 'type': 'int'")
    for v in values:
        problem = spec.check(v)
        if problem:
            raise NeuralValidationError(
                f"search_space[{key!r}] can give {target} the value {v!r}: {spec.name} {problem}",
                hint="narrow the range to the legal domain")


def to_space_dict(params: tuple[SearchParam, ...]) -> dict[str, dict[str, Any]]:
    """The seed's dict format for a list of parameters (what `search.Space.from_dict` reads)."""
    return {p.name: p.to_dict() for p in params}
