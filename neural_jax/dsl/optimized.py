"""``generate_optimized_dsl``: write the chosen values back into the user's own text.

Each searched value is replaced at its source position (SPEC §6): an HPO expression by the
chosen value (for a layer or optimizer choice, by the chosen option's own text, with its
nested HPO expressions substituted too); a fixed value that a `search_space=` dict searched
(``learning_rate`` on ``Adam(learning_rate=0.001)``) by the new value; a value that was not
written at all is inserted as a named argument or a ``train {}`` entry. Every other byte,
comments and spacing included, is left as it was.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from neural_jax.core.errors import NeuralValidationError, NeuralWarning
from neural_jax.ir.nodes import Choice, Layer, Network, Optimizer
from neural_jax.ir.printer import format_value

__all__ = ["generate_optimized_dsl"]


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and callable(v.item) and getattr(v, "ndim", 0) == 0:
        v = v.item()  # numpy / jax scalars
    if isinstance(v, list):
        return tuple(_plain(x) for x in v)
    return v


def generate_optimized_dsl(code: str, best_params: Mapping[str, Any],
                           network: str | None = None) -> str:
    """Returns ``code`` with ``best_params`` written in place.

    Args:
      code: the DSL text the search started from.
      best_params: values keyed by path (``layers[3].units``), study name, or alias
        (``learning_rate``, ``batch_size``, ``dropout_rate``, ``optimizer``...).
      network: which network of the file (default: the first).

    Raises:
      NeuralSyntaxError / NeuralValidationError: ``code`` is not valid DSL, or a value is
        outside the legal domain of its parameter.
    """
    from neural_jax.dsl.api import parse
    from neural_jax.ir.space import _alias_targets, bindable, search_space

    net = parse(code, network=network)
    names = {p.name: p for p in search_space(net)}
    paths = bindable(net)
    edits: list[tuple[int, int, str]] = []
    train_inserts: list[str] = []
    opt_inserts: list[str] = []
    for key, raw in best_params.items():
        value = _plain(raw)
        targets = names[key].targets if key in names else _alias_targets(net, key, paths)
        if not targets and key in net.sites:
            targets = (key,)
        if not targets:
            warnings.warn(NeuralWarning(
                f"best_params key {key!r} matches nothing in network '{net.name}'; ignored"),
                stacklevel=2)
            continue
        for t in targets:
            spec = paths.get(t)
            if spec is not None:
                if spec.wants_int and isinstance(value, float) and value.is_integer():
                    value = int(value)
                problem = spec.check(value)
                if problem:
                    raise NeuralValidationError(f"best value for {t}: {spec.name} {problem}")
            site = net.sites.get(t)
            if site is None:
                if t.startswith("optimizer.") and net.optimizer is None:
                    opt_inserts.append(f"{t.split('.', 1)[1]}={format_value(value)}")
                    continue
                warnings.warn(NeuralWarning(f"no place to write {t} in the source; ignored"),
                              stacklevel=2)
                continue
            kind = site[0]
            if kind == "hpo":
                node = _hpo_at(net, t)
                is_options = isinstance(node, Choice) and node.values and isinstance(
                    node.values[0], (Layer, Optimizer))
                for k, extra in net.sites.items():  # every place of a shared parameter
                    if k != t and not k.startswith(f"{t}#"):
                        continue
                    span = extra[1]
                    if is_options:
                        edits.extend(_keep_option(span, node, value))
                    else:
                        edits.append((span.start, span.end, format_value(value)))
            elif kind == "value":
                span = site[1]
                text = str(value) if len(site) > 2 and site[2] == "name" else format_value(value)
                edits.append((span.start, span.end, text))
            elif kind == "insert":
                _, close, has_args, pname = site
                sep = ", " if has_args else ""
                edits.append((close, close, f"{sep}{pname}={format_value(value)}"))
            elif kind == "insert_train":
                _, close, in_block, tkey = site
                if in_block:
                    edits.append((close, close, f"  {tkey}: {format_value(value)}\n  "))
                else:
                    train_inserts.append(f"{tkey}: {format_value(value)}")
    close = _line_start(code, net.close)
    if opt_inserts:
        edits.append((close, close, f"  optimizer: Adam({', '.join(opt_inserts)})\n"))
    if train_inserts:
        edits.append((close, close, f"  train {{ {', '.join(train_inserts)} }}\n"))
    return _apply(code, edits)


def _line_start(code: str, offset: int) -> int:
    """The start of the line holding ``offset`` when only spaces precede it there."""
    start = code.rfind("\n", 0, offset) + 1
    return start if not code[start:offset].strip() else offset


def _hpo_at(net: Network, path: str):
    from neural_jax.ir.space import _all_hpos

    for h, _ in _all_hpos(net):
        if h.path == path:
            return h
    return None


def _keep_option(span, node: Choice, value: Any) -> list[tuple[int, int, str]]:
    """Edits that cut ``HPO(choice(a, b, c))`` down to the chosen option's own text.

    Only the text around the option is deleted, so substitutions inside the option (its own
    HPO values) still apply; those inside the other options fall in deleted text.
    """
    from neural_jax.ir.config import choice_index
    from neural_jax.ir.printer import format_call

    labels = [format_call(v) for v in node.values]
    idx = choice_index(node.values, value, tuple(labels))  # the same reading as every entry
    if idx is None:
        raise NeuralValidationError(f"{value!r} is not an option of {node.path}",
                                    hint="options: " + ", ".join(labels))
    opt = node.values[idx]
    if not opt.span.known:  # pragma: no cover - options always come from source
        return [(span.start, span.end, labels[idx])]
    return [(span.start, opt.span.start, ""), (opt.span.end, span.end, "")]


def _apply(code: str, edits: list[tuple[int, int, str]]) -> str:
    # Drop edits inside a replaced or deleted range (an option not chosen); keep insertions.
    edits = sorted(set(edits), key=lambda e: (e[0], -(e[1] - e[0])))
    kept: list[tuple[int, int, str]] = []
    for e in edits:
        if kept and kept[-1][0] < kept[-1][1] and e[0] < kept[-1][1] and e[1] <= kept[-1][1]:
            continue
        kept.append(e)
    out = code
    for start, end, text in reversed(kept):
        out = out[:start] + text + out[end:]
    return out
