"""IR -> canonical DSL text (SPEC §6): ``parse(to_dsl(ir)) == ir``.

The canonical form writes required arguments positionally and the rest by name, every
training setting inside ``train { }``, lists as ``[...]`` only for metrics, and each
repetition ``* N`` back as written: a single repeated layer as ``Layer(...) * N``, a
repeated group of layers (from a macro) as a generated macro ``RepeatK`` called ``* N``.
An HPO parameter used in several places that are not copies of one repetition (a macro
argument used by two layers, a macro body called twice) is written in full at each place,
the later ones with ``name="<path>"`` tying them to the first (SPEC §4, shared parameters).
"""

from __future__ import annotations

import math
from typing import Any

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

__all__ = ["to_dsl", "to_dsl_file", "format_value", "format_call"]

_IND = "  "


def format_value(v: Any, expected: str | None = None) -> str:
    """One value as DSL text.

    Args:
      v: the value.
      expected: the path an HPO node at this place would get; when the node's path differs
        (a parameter shared with an earlier place), ``name=`` ties it back to that path.
    """
    if isinstance(v, HPO):
        return format_hpo(v, expected)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "None"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write {v!r} in DSL text")
        text = repr(v)
        return text if any(c in text for c in ".eE") else text + ".0"
    if isinstance(v, str):
        esc = v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace(
            "\t", "\\t").replace("\r", "\\r").replace("\0", "\\0")
        return f'"{esc}"'
    if isinstance(v, tuple):
        sub = [format_value(x, None if expected is None else f"{expected}[{i}]")
               for i, x in enumerate(v)]
        return f"({sub[0]},)" if len(sub) == 1 else "(" + ", ".join(sub) + ")"
    if isinstance(v, (Layer, Optimizer, Schedule)):
        return format_call(v)
    raise TypeError(f"cannot write {type(v).__name__} in DSL text")


def format_hpo(h: HPO, expected: str | None = None) -> str:
    """``HPO(form(...))``, with ``name="path"`` when it is shared with another place."""
    tie = "" if expected is None or h.path == expected else f", name={format_value(h.path)}"
    if isinstance(h, Choice):
        opts = ", ".join(format_value(x, f"{h.path}.choice[{j}]") for j, x in enumerate(h.values))
        return f"HPO(choice({opts}){tie})"
    if isinstance(h, LogRange):
        return f"HPO(log_range({format_value(h.low)}, {format_value(h.high)}){tie})"
    assert isinstance(h, Range)
    step = "" if h.step is None else f", step={format_value(h.step)}"
    return f"HPO(range({format_value(h.low)}, {format_value(h.high)}{step}){tie})"


def _signature(node) -> tuple:
    from neural_jax.ir.registry import LAYERS
    from neural_jax.ir.training import OPTIMIZERS, SCHEDULES

    if isinstance(node, Layer):
        return LAYERS[node.type].params
    if isinstance(node, Optimizer):
        return OPTIMIZERS[node.type].params
    return SCHEDULES[node.type].params


def format_call(node, indent: str = "") -> str:
    """A layer, optimizer or schedule call: required arguments first, positionally."""
    sig = _signature(node)
    given = dict(node.params)
    parts = []
    positional = True
    for p in sig:
        if p.name not in given:
            positional = False
            continue
        text = format_value(given[p.name], f"{node.path}.{p.name}")
        if positional and p.required:
            parts.append(text)
        else:
            positional = False
            parts.append(f"{p.name}={text}")
    out = f"{node.type}({', '.join(parts)})"
    if isinstance(node, Layer):
        if node.device is not None:
            out += f' @ "{node.device}"'
        if node.block is not None:
            inner = _Writer().items(node.block, indent + _IND)
            out += " {\n" + inner + indent + "}"
    return out


class _Writer:
    """Writes layer lists, collecting the macros that repeated groups need."""

    def __init__(self, prefix: str = "Repeat") -> None:
        self.macros: list[str] = []
        self.prefix = prefix

    def items(self, items, indent: str, depth: int = 0) -> str:
        out = []
        i = 0
        while i < len(items):
            it = items[i]
            fr = it.repeat
            if len(fr) > depth:
                site, _, count = fr[depth]
                j = i
                while (j < len(items) and len(items[j].repeat) > depth
                       and items[j].repeat[: depth] == fr[: depth]
                       and items[j].repeat[depth][0] == site):
                    j += 1
                first = [x for x in items[i:j] if x.repeat[depth][1] == 0]
                if len(first) == 1 and len(first[0].repeat) == depth + 1:
                    out.append(f"{indent}{self.one(first[0], indent)} * {count}\n")
                else:
                    k = len(self.macros)
                    name = f"{self.prefix}{k}"
                    self.macros.append("")  # reserve the name before nested ones
                    body = self.items(first, _IND, depth + 1)
                    self.macros[k] = f"define {name}() {{\n{body}}}\n"
                    out.append(f"{indent}{name}() * {count}\n")
                i = j
            else:
                out.append(f"{indent}{self.one(it, indent)}\n")
                i += 1
        return "".join(out)

    def one(self, it, indent: str) -> str:
        if isinstance(it, Choice):
            return format_hpo(it, it.path)
        return format_call(it, indent)


def to_dsl(net: Network, macro_prefix: str = "Repeat") -> str:
    """The canonical DSL text of one network (with any macros its repetitions need)."""
    w = _Writer(macro_prefix)
    layers = w.items(net.layers, _IND * 2)
    lines = [f"network {net.name} {{"]
    # a leading None would read back as the batch axis: write the batch axis then
    shapes = ", ".join(format_value((None, *s) if s and s[0] is None else tuple(s))
                       for s in net.input_shapes)
    lines.append(f"{_IND}input: {shapes}")
    lines.append(f"{_IND}layers:")
    body = "\n".join(lines) + "\n" + layers
    tail = []
    if net.loss is not None:
        loss = (f'"{net.loss.name}"' if not net.loss.params else
                net.loss.name + "(" + ", ".join(f"{k}={format_value(v, f'loss.{k}')}"
                                                for k, v in net.loss.params) + ")")
        tail.append(f"{_IND}loss: {loss}")
    if net.metrics:
        ms = [f'"{m.name}"' if not m.params else
              m.name + "(" + ", ".join(f"{k}={format_value(v)}" for k, v in m.params) + ")"
              for m in net.metrics]
        tail.append(f"{_IND}metrics: [{', '.join(ms)}]")
    if net.optimizer is not None:
        opt = (format_hpo(net.optimizer, "optimizer") if isinstance(net.optimizer, Choice)
               else format_call(net.optimizer))
        tail.append(f"{_IND}optimizer: {opt}")
    t = net.train
    entries = []
    for key in ("epochs", "batch_size", "validation_split", "search_method", "seed"):
        v = getattr(t, key)
        if v is not None:
            entries.append(f"{_IND * 2}{key}: {format_value(v, f'train.{key}')}")
    if t.early_stopping is not None:
        es = t.early_stopping
        pat = format_value(es.patience, "train.early_stopping.patience")
        entries.append(f"{_IND * 2}early_stopping {{ patience: {pat}, "
                       f"monitor: {format_value(es.monitor)} }}")
    if entries:
        tail.append(f"{_IND}train {{\n" + "\n".join(entries) + f"\n{_IND}}}")
    if net.execution is not None:
        tail.append(f'{_IND}execution {{ device: "{net.execution.device}" }}')
    text = body + "\n".join(tail) + ("\n" if tail else "") + "}\n"
    return "".join(m + "\n" for m in w.macros) + text


def to_dsl_file(nets) -> str:
    """Several networks in one file (macro names kept unique)."""
    return "\n".join(to_dsl(n, "Repeat" if not k else f"Repeat{k}_") for k, n in enumerate(nets))
