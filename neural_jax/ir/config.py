"""Configurations: checking a ``{path: value}`` dict against a network before any work starts.

A *configuration* gives values to a network's searched parameters (SPEC §4). People and
studies name the option of a layer or optimizer choice by its label (``"Dropout"``, the
label ``neural check`` prints), the engine by its index. :func:`validate_config` is the one
place a configuration enters: every entry point (``neural run --params``, ``Trainer``, the
population trainer, the bridges, generated code, ``generate_optimized_dsl``) passes its
configuration through it, and gets back the canonical form the backends read:

* a layer / optimizer choice -> the option's index (from an index, a type name, the full
  label ``"Dense(64)"``, or the option itself);
* a choice of plain values -> the option as written (``"RELU"`` -> ``"relu"``, a JSON list
  -> a tuple, ``64.0`` -> ``64``);
* a range -> an ``int`` or ``float`` inside the range (on its step grid when it has one);
* ``optimizer.<arg>`` -> a fixed optimizer argument, checked against the argument's domain;
* ``seed`` -> a non-negative int.

An unknown key (with a did-you-mean and the known keys), a value outside its parameter's
domain, and a value of the wrong type are a :class:`ConfigError` naming the key and what is
allowed. :func:`config_labels` turns a canonical configuration back into labels for people.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from neural_jax.core.errors import NeuralValidationError, did_you_mean
from neural_jax.ir.nodes import Choice, Layer, Network, Optimizer
from neural_jax.ir.params import (
    FLOAT_KINDS,
    FLOAT_MAX,
    ParamSpec,
    _shown,
    is_int,
    is_number,
)
from neural_jax.ir.space import SearchParam, search_space
from neural_jax.ir.training import DEFAULT_OPTIMIZER, OPTIMIZERS

__all__ = ["RESERVED", "ConfigError", "active_keys", "choice_index", "config_labels",
           "parse_json", "validate_config"]

#: configuration keys that are not HPO paths
RESERVED = ("seed",)
#: known keys listed in a message before "... and N more"
_SHOWN_KEYS = 12


class ConfigError(NeuralValidationError):
    """A configuration that does not fit its network (unknown key, bad value or type)."""

    kind = "error"


def _is_options(p: SearchParam) -> bool:
    """Whether ``p`` chooses between layers or optimizers (carried as an index)."""
    return bool(p.options) and all(isinstance(o, (Layer, Optimizer)) for o in p.options)


def choice_index(options: tuple, value: Any, labels: tuple = ()) -> int | None:
    """The index of the option ``value`` names, or None.

    ``value`` may be an index, the option itself, one of ``labels`` (the search space's
    labels), the option's type name when that is unique (any case), or its full call text
    (``"Dense(64, activation='relu')"``, spaces ignored).
    """
    if is_int(value):
        return int(value) if 0 <= value < len(options) else None
    if isinstance(value, float) and value.is_integer() and 0 <= value < len(options):
        return int(value)  # a JSON number written 1.0
    if isinstance(value, (Layer, Optimizer)):
        return options.index(value) if value in options else None
    if not isinstance(value, str):
        return None
    if value in labels:
        return labels.index(value)
    low = value.strip().lower()
    types = [str(getattr(o, "type", "")).lower() for o in options]
    if types.count(low) == 1:
        return types.index(low)
    from neural_jax.ir.printer import format_call

    calls = [format_call(o).replace(" ", "").lower() for o in options]
    squeezed = low.replace(" ", "")
    return calls.index(squeezed) if calls.count(squeezed) == 1 else None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if is_number(a) and is_number(b):
        return a == b
    return a == b


def _show(values) -> str:
    return ", ".join(repr(v) for v in values)


def _categorical(p: SearchParam, value: Any, where: str) -> Any:
    if _is_options(p):
        idx = choice_index(p.options, value, p.choices)
        if idx is None:
            raise ConfigError(
                f"{where}: {value!r} is not an option of '{p.name}'",
                hint=f"use one of {_show(p.choices)} (or its index 0..{len(p.choices) - 1})")
        return idx
    for opt in p.choices:
        if _same(opt, value):
            return opt
    raise ConfigError(f"{where}: {value!r} is not an option of '{p.name}'",
                      hint=f"use one of {_show(p.choices)}")


def _finite(value: Any) -> bool:
    try:
        return is_number(value) and math.isfinite(value)
    except OverflowError:  # an int past the float range
        return False


def _numeric(p: SearchParam, value: Any, where: str) -> int | float:
    if not _finite(value):
        raise ConfigError(f"{where}: '{p.name}' takes a number, got {_shown(value)}",
                          hint=_range_text(p))
    if p.kind == "int":
        if not float(value).is_integer():
            raise ConfigError(f"{where}: '{p.name}' takes a whole number, got {value!r}",
                              hint=_range_text(p))
        value = int(value)
    else:
        value = float(value)
    tol = 1e-9 * max(1.0, abs(p.low or 0.0), abs(p.high or 0.0))
    if value < p.low - tol or value > p.high + tol:
        raise ConfigError(f"{where}: '{p.name}' = {value!r} is outside its domain",
                          hint=_range_text(p))
    if p.step is not None and not p.log:
        k = (value - p.low) / p.step
        if abs(k - round(k)) > 1e-6:
            raise ConfigError(f"{where}: '{p.name}' = {value!r} is not on its grid",
                              hint=_range_text(p))
    return value


def _range_text(p: SearchParam) -> str:
    kind = "a whole number" if p.kind == "int" else "a number"
    step = f" in steps of {p.step:g} from {p.low:g}" if p.step is not None else ""
    log = " (log scale)" if p.log else ""
    return f"'{p.name}' takes {kind} in [{p.low:g}, {p.high:g}]{step}{log}"


def _optimizer_args(net: Network) -> dict[str, ParamSpec]:
    """``optimizer.<arg>`` keys that set a fixed argument of a (single) optimizer."""
    opt = net.optimizer
    if isinstance(opt, Choice):
        return {}
    sig = OPTIMIZERS[opt.type if isinstance(opt, Optimizer) else DEFAULT_OPTIMIZER].params
    return {f"optimizer.{s.name}": s for s in sig}


def _fixed(spec: ParamSpec, key: str, value: Any, where: str) -> Any:
    if spec.wants_int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if spec.kind in FLOAT_KINDS and is_int(value) and abs(value) <= FLOAT_MAX:
        value = float(value)  # a larger int: the domain check says what is wrong
    problem = spec.check(value)
    if problem:
        raise ConfigError(f"{where}: '{key}' {problem}",
                          hint=f"a legal value for the optimizer's {spec.name}")
    return value


def _near(key: str, known) -> str:
    near = did_you_mean(key, known)  # "did you mean 'x'?"
    return f". D{near[1:]}" if near else ""


def _unknown(net: Network, key: str, known: list[str], where: str,
             searched: bool = True, searched_keys: list[str] | None = None) -> ConfigError:
    listed = known if searched_keys is None else searched_keys
    shown = ", ".join(listed[:_SHOWN_KEYS])
    if len(listed) > _SHOWN_KEYS:
        shown += f", ... ({len(listed) - _SHOWN_KEYS} more)"
    if searched_keys is not None and len(known) > len(searched_keys):
        shown += " (and optimizer.<argument> to fix an optimizer argument)"
    opt = net.optimizer
    if key.startswith("optimizer.") and not isinstance(opt, Choice) and key.count(".") == 1:
        name = opt.type if isinstance(opt, Optimizer) else "Adam"
        arg = key.split(".", 1)[1]
        return ConfigError(
            f"{where}: the optimizer {name} has no argument '{arg}'"
            + _near(arg, list(OPTIMIZERS[name].arg_names)),
            hint=f"{name} takes " + ", ".join(OPTIMIZERS[name].arg_names))
    return ConfigError(
        f"{where}: '{key}' is not a searched parameter of network '{net.name}'"
        + _near(key, known),
        hint=f"known keys: {shown}" if searched else "this network has no HPO(...) values: "
        "fixed values are changed in the file (only optimizer.<argument> can be set here)")


def _aliased(net: Network, key: str, known: Mapping[str, Any]) -> tuple[str, ...]:
    """The known keys an alias (``learning_rate``, ``batch_size``...) stands for."""
    from neural_jax.ir.space import _alias_targets, bindable

    if key.startswith(("layers[", "train.", "optimizer.", "loss.")):
        return ()
    targets = _alias_targets(net, key, bindable(net))
    return tuple(t for t in targets if t in known)


def validate_config(net: Network, config: Mapping[str, Any] | None, *,
                    where: str = "configuration",
                    space: tuple[SearchParam, ...] | None = None) -> dict[str, Any]:
    """Checks ``config`` against ``net`` and returns its canonical form (module docstring).

    Args:
      net: the network (after :func:`~neural_jax.ir.lift.lift` when a `search_space=`
        dict was bound).
      config: ``{path: value}``; values may be labels, indices, numbers, strings.
      where: how messages name the configuration (``"--params"``, ``"configuration 3"``).
      space: ``search_space(net)`` when the caller already has it.

    Returns:
      A new dict with the keys of ``config`` (aliases replaced by the paths they stand for)
      and canonical values; defaults are not filled in.

    Raises:
      ConfigError: ``config`` is not a mapping, a key is unknown, or a value does not fit.
    """
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise ConfigError(f"{where}: a configuration is a dict of HPO paths to values, got "
                          f"{type(config).__name__}",
                          hint='e.g. {"layers[1].units": 64}')
    params = {p.name: p for p in (space if space is not None else search_space(net))}
    fixed: dict[str, ParamSpec] | None = None
    out: dict[str, Any] = {}
    for key, value in config.items():
        if not isinstance(key, str):
            raise ConfigError(f"{where}: keys are HPO paths (strings), got {key!r}",
                              hint='e.g. {"layers[1].units": 64}')
        if key in RESERVED:
            if not is_int(value) or value < 0:
                raise ConfigError(f"{where}: 'seed' must be a non-negative whole number, "
                                  f"got {value!r}", hint="e.g. 0")
            out[key] = int(value)
            continue
        if key in params:
            out[key] = _value(params[key], value, where)
            continue
        if fixed is None:
            fixed = _optimizer_args(net)
        if key in fixed:
            out[key] = _fixed(fixed[key], key, value, where)
            continue
        targets = _aliased(net, key, {**params, **fixed})
        if not targets:
            known = list(params) + [k for k in fixed if k not in params]
            raise _unknown(net, key, known, where, searched=bool(params),
                           searched_keys=list(params))
        for t in targets:
            out[t] = _value(params[t], value, where) if t in params else _fixed(
                fixed[t], t, value, where)
    return out


def _value(p: SearchParam, value: Any, where: str) -> Any:
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()  # a numpy / jax scalar
    if p.kind == "categorical":
        return _categorical(p, value, where)
    return _numeric(p, value, where)


def config_labels(net: Network, config: Mapping[str, Any],
                  space: tuple[SearchParam, ...] | None = None) -> dict[str, Any]:
    """``config`` with layer / optimizer choice indices shown as their labels (for people)."""
    params = {p.name: p for p in (space if space is not None else search_space(net))}
    out = {}
    for k, v in config.items():
        p = params.get(k)
        if p is not None and _is_options(p) and is_int(v) and 0 <= v < len(p.choices):
            v = p.choices[v]
        out[k] = v
    return out


def active_keys(net: Network, config: Mapping[str, Any],
                space: tuple[SearchParam, ...] | None = None) -> list[str]:
    """The keys of ``config`` that take effect: a parameter inside an option of a layer or
    optimizer choice counts only when that option is chosen."""
    params = {p.name: p for p in (space if space is not None else search_space(net))}
    labels = config_labels(net, config, tuple(params.values()))
    out = []
    for k in config:
        p = params.get(k)
        if p is None or all(labels.get(parent) == want for parent, want in p.condition):
            out.append(k)
    return out


def parse_json(text: str, where: str = "--params") -> Any:
    """The JSON object of a command-line option, or a :class:`ConfigError` saying why not."""
    import json

    try:
        value = json.loads(text)
    except ValueError as e:  # JSONDecodeError, and numbers past Python's digit limit
        raise ConfigError(f"{where} is not valid JSON: {e}",
                          hint='e.g. \'{"layers[1].units": 64}\' (keys in double quotes)') from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a JSON object of HPO paths to values, got "
                          f"{type(value).__name__}", hint='e.g. \'{"layers[1].units": 64}\'')
    return value
