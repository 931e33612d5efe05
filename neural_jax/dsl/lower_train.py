"""AST -> IR for the training sections.

The sections are loss, metrics, optimizer (and schedules), train and execution.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from neural_jax.core.errors import NeuralWarning, did_you_mean
from neural_jax.core.source import Span
from neural_jax.dsl import ast
from neural_jax.dsl.lower_values import ValueLowerer
from neural_jax.ir.nodes import (
    Choice,
    EarlyStopping,
    Execution,
    Loss,
    Metric,
    Optimizer,
    Schedule,
    Train,
)
from neural_jax.ir.params import ParamSpec
from neural_jax.ir.training import (
    LOSSES,
    METRICS,
    OPTIMIZERS,
    SCHEDULES,
    SEARCH_METHODS,
    TrainingDecl,
    lookup,
    metric_preset,
)
from neural_jax.methods import canonical_method

__all__ = ["DEVICE_RE", "TrainLowerer"]

#: the device names ``@ "..."`` and ``execution { device: }`` accept
DEVICE_RE = re.compile(r"^(auto|cpu|(gpu|cuda|tpu)(:\d+)?)$", re.IGNORECASE)

_TRAIN = {
    "epochs": ParamSpec("epochs", "pos_int"),
    "batch_size": ParamSpec("batch_size", "pos_int"),
    "validation_split": ParamSpec("validation_split", "rate"),
    "search_method": ParamSpec("search_method", "str"),
    "seed": ParamSpec("seed", "nonneg_int"),
}
_EARLY = {"patience": ParamSpec("patience", "nonneg_int"), "monitor": ParamSpec("monitor", "str")}


class TrainLowerer(ValueLowerer):
    """Lowering of everything but the layers; mixed into the network lowerer."""

    def one_item(self, sec: ast.Section, what: str) -> ast.Node:
        if len(sec.items) != 1:
            raise self.fail(sec.items[1].span, f"{what} takes one value", "remove the extra values")
        self.no_extras(sec.items[0], what)
        return sec.items[0].value

    # --- loss and metrics -------------------------------------------------------------------

    def loss(self, sec: ast.Section) -> Loss:
        node = self.one_item(sec, "loss:")
        name, params = self.named_call(node, LOSSES, "loss", "loss")
        return Loss(name=name, params=params, span=node.span)

    def metrics(self, sec: ast.Section) -> tuple[Metric, ...]:
        nodes = []
        for it in sec.items:
            self.no_extras(it, "metrics:")
            nodes.extend(it.value.items if isinstance(it.value, (ast.ListNode, ast.TupleNode))
                         else (it.value,))
        out = []
        for n in nodes:
            name, params = self.named_call(n, METRICS, "metric", "metrics")
            preset = metric_preset(_call_name(n))  # sparse_categorical_accuracy: kind="sparse"
            given = dict(params)
            params = tuple((p.name, given.get(p.name, preset.get(p.name)))
                           for p in METRICS[name].params
                           if p.name in given or p.name in preset)
            out.append(Metric(name=name, params=params))
        return tuple(out)

    def named_call(
        self, node, table: dict, what: str, path: str,
    ) -> tuple[str, tuple[tuple[str, Any], ...]]:
        """A name given as a string, a bare name or a call with arguments."""
        if isinstance(node, ast.Literal) and isinstance(node.value, str):
            call = ast.Call(node.value, (), node.span, close=node.span.end)
        elif isinstance(node, ast.Name):
            call = ast.Call(node.name, (), node.span, close=node.span.end)
        elif isinstance(node, ast.Call) and node.name.upper() != "HPO":
            call = node
        else:
            raise self.fail(getattr(node, "span", None), f"expected a {what} name",
                            f"one of {', '.join(table)}")
        key = lookup(table, call.name)
        if key is None:
            hint = did_you_mean(call.name, table) or f"one of {', '.join(table)}"
            raise self.fail(call.span, f"unknown {what} '{call.name}'", hint)
        decl = table[key]
        values, _ = self.bind(key, decl.params, _canonical_args(decl, call), path, what)
        return key, tuple((p.name, values[p.name]) for p in decl.params if p.name in values)

    # --- optimizer --------------------------------------------------------------------------

    def optimizer_section(self, sec: ast.Section) -> Optimizer | Choice:
        node = self.one_item(sec, "optimizer:")
        if isinstance(node, ast.Call) and node.name.upper() == "HPO":
            choice = self.hpo(node, "optimizer", None, "the optimizer", option=self.optimizer)
            if not isinstance(choice, Choice):
                raise self.fail(node.span, "an HPO optimizer must be a choice of optimizers",
                                "write HPO(choice(Adam(...), SGD(...)))")
            return Choice(path=choice.path, span=choice.span, values=tuple(
                v if isinstance(v, Optimizer) else self.optimizer_from_str(v, node, choice.path)
                for v in choice.values))
        return self.optimizer(node, "optimizer")

    def optimizer_from_str(self, v, node, path) -> Optimizer:
        if not isinstance(v, str):
            raise self.fail(node.span, f"{v!r} is not an optimizer",
                             "one of " + ", ".join(OPTIMIZERS))
        return self.optimizer(ast.Literal(v, node.span), path, bare_string=True)

    def optimizer(self, node, path: str, bare_string: bool = False) -> Optimizer:
        if isinstance(node, ast.Literal) and isinstance(node.value, str):
            node = self.parse_quoted_call(node) if not bare_string else ast.Call(
                node.value, (), node.span, close=node.span.end)
        if isinstance(node, ast.Name):
            node = ast.Call(node.name, (), node.span, close=node.span.end)
        if not isinstance(node, ast.Call):
            raise self.fail(getattr(node, "span", None), "expected an optimizer such as Adam(...)",
                            f"one of {', '.join(OPTIMIZERS)}")
        key = lookup(OPTIMIZERS, node.name)
        if key is None:
            hint = did_you_mean(node.name, OPTIMIZERS) or f"one of {', '.join(OPTIMIZERS)}"
            raise self.fail(node.span, f"unknown optimizer '{node.name}'", hint)
        sig = OPTIMIZERS[key].params
        lr_call = None
        args = list(node.args)
        for i, a in enumerate(args):  # a schedule call as learning_rate is lowered apart
            is_lr = a.name == "learning_rate" or (a.name is None and i == 0)
            if is_lr and isinstance(a.value, ast.Call) and a.value.name.upper() != "HPO":
                lr_call = a.value
                args[i] = ast.Arg(a.name, ast.Literal(sig[0].default, a.value.span), a.span,
                                  a.name_span)
        values, spans = self.bind(key, sig, ast.Call(node.name, tuple(args), node.span,
                                                     close=node.close), path, "optimizer")
        if lr_call is not None:
            values["learning_rate"] = self.schedule(lr_call, f"{path}.learning_rate")
        if path == "optimizer":
            self.sites["optimizer"] = ("value", Span(
                node.span.start, node.span.start + len(node.name), node.span.line,
                node.span.column), "name")
        params = tuple((p.name, values[p.name]) for p in sig if p.name in values)
        return Optimizer(type=key, params=params, path=path, span=node.span, close=node.close,
                         arg_spans=tuple(spans.items()))

    def parse_quoted_call(self, lit: ast.Literal) -> ast.Node:
        """``"Adam(learning_rate=1e-4)"`` -> the call, with spans inside the string."""
        from neural_jax.dsl.parser import parse_ast

        text = lit.value
        prefix = "network _ { optimizer: "
        try:
            file = parse_ast(prefix + text + " }")
            node = file.networks[0].entries[0].items[0].value
        except Exception as e:  # noqa: BLE001 - re-raised as a validation error
            raise self.fail(lit.span, f"cannot read the optimizer string {text!r}",
                            getattr(e, "message", "write it as Adam(learning_rate=1e-4)")) from None
        return _shift(node, lit.span.start + 1 - len(prefix), lit.span.line,
                      lit.span.column + 1 - len(prefix) - 1)

    def schedule(self, call: ast.Call, path: str) -> Schedule:
        key = lookup(SCHEDULES, call.name)
        if key is None:
            hint = did_you_mean(call.name, SCHEDULES) or f"one of {', '.join(SCHEDULES)}"
            raise self.fail(call.span, f"unknown learning-rate schedule '{call.name}'", hint)
        decl = SCHEDULES[key]
        values, _ = self.bind(key, decl.params, _canonical_args(decl, call), path, "schedule")
        if key == "PiecewiseConstantDecay":
            b, v = values["boundaries"], values["values"]
            if isinstance(b, tuple) and isinstance(v, tuple) and len(v) != len(b) + 1:
                raise self.fail(call.span, "PiecewiseConstantDecay needs one more value than "
                                f"boundaries, got {len(b)} boundaries and {len(v)} values",
                                "values[i] holds up to boundaries[i], the last one after them")
        return Schedule(type=key, params=tuple((p.name, values[p.name]) for p in decl.params
                                               if p.name in values), path=path, span=call.span)

    # --- train, execution -------------------------------------------------------------------

    def train(self, block: ast.BlockSection | None, top_batch: ast.Section | None) -> Train | None:
        vals: dict = {}
        spans: dict = {}
        entries = list(block.entries) if block is not None else []
        if top_batch is not None:
            entries.insert(0, top_batch)
        for e in entries:
            if isinstance(e, ast.BlockSection):
                if e.key != "early_stopping":
                    raise self.fail(e.span, f"unknown block '{e.key}' in train",
                                    did_you_mean(e.key, ("early_stopping",))
                                    or "train takes only an early_stopping { } block")
                if "early_stopping" in vals:
                    raise self.fail(e.span, "early_stopping is set twice", "keep one of them")
                vals["early_stopping"] = self.early_stopping_block(e)
                continue
            key = e.key
            if key not in _TRAIN and key != "early_stopping":
                hint = did_you_mean(key, (*_TRAIN, "early_stopping")) or (
                    "train takes " + ", ".join((*_TRAIN, "early_stopping")))
                raise self.fail(e.span, f"unknown train setting '{key}'", hint)
            if key in vals:
                if key == "batch_size" and top_batch is not None and e is not top_batch:
                    # SPEC §1: top level or train {}; when both are written, train {} wins
                    warnings.warn(NeuralWarning(
                        f"{self.src.name}:{e.span.line}: batch_size is set at top level "
                        f"(line {spans[key].line}) and in train {{}}; "
                        "the train {} value is used"),
                        stacklevel=2)
                    del vals[key]
                else:
                    raise self.fail(e.span, f"{key} is set twice (first at line {spans[key].line})",
                                    "keep one of them")
            node = self.one_item(e, f"{key}:")
            spans[key] = node.span
            if key == "early_stopping":
                vals[key] = self.early_stopping_value(node)
            elif key == "seed":
                vals[key] = self.plain(node, "train.seed", "seed")
                problem = _TRAIN["seed"].check(vals[key])
                if problem:
                    raise self.fail(node.span, f"seed {problem}",
                                    "the seed is a fixed whole number >= 0")
            else:
                if key == "search_method" and isinstance(node, ast.Call) and \
                        node.name.upper() == "HPO":
                    raise self.fail(node.span, "search_method cannot be searched: it chooses "
                                    "the strategy of the whole search",
                                    'write one method, e.g. search_method: "tpe"')
                vals[key] = self.value(node, f"train.{key}", _TRAIN[key], key)
                if key == "search_method" and isinstance(vals[key], str):
                    method = canonical_method(vals[key])
                    if method is None:
                        hint = did_you_mean(vals[key], SEARCH_METHODS) or (
                            "one of " + ", ".join(SEARCH_METHODS))
                        raise self.fail(node.span, f"unknown search_method {vals[key]!r}", hint)
                    vals[key] = method
        for key in _TRAIN:
            if key not in vals:
                if block is not None:
                    self.sites[f"train.{key}"] = ("insert_train", block.close, True, key)
                else:
                    self.sites[f"train.{key}"] = ("insert_train", None, False, key)
        if not vals and block is None:
            return None
        return Train(**vals, spans=tuple(spans.items()), in_block=block is not None)

    def early_stopping_block(self, e: ast.BlockSection) -> EarlyStopping:
        vals = {}
        for s in e.entries:
            if isinstance(s, ast.BlockSection) or s.key not in _EARLY:
                raise self.fail(s.span, f"unknown early_stopping setting '{s.key}'",
                                did_you_mean(s.key, _EARLY) or "it takes patience and monitor")
            node = self.one_item(s, s.key)
            vals[s.key] = self.value(node, f"train.early_stopping.{s.key}", _EARLY[s.key], s.key)
        return EarlyStopping(**vals)

    def early_stopping_value(self, node) -> EarlyStopping | None:
        if isinstance(node, ast.Literal) and isinstance(node.value, bool):
            return EarlyStopping() if node.value else None
        if isinstance(node, ast.Call) and node.name.lower() in ("earlystopping", "early_stopping"):
            values, _ = self.bind("EarlyStopping", tuple(_EARLY.values()), node,
                                  "train.early_stopping", "early_stopping")
            return EarlyStopping(**values)
        return EarlyStopping(patience=self.value(node, "train.early_stopping.patience",
                                                 _EARLY["patience"], "early_stopping patience"))

    def execution(self, block: ast.BlockSection) -> Execution:
        device = "auto"
        for s in block.entries:
            if isinstance(s, ast.BlockSection) or s.key != "device":
                raise self.fail(s.span, f"unknown execution setting '{s.key}'",
                                did_you_mean(s.key, ("device",)) or "execution takes device")
            node = self.one_item(s, "device:")
            if not (isinstance(node, ast.Literal) and isinstance(node.value, str)
                    and DEVICE_RE.match(node.value)):
                shown = (f"unknown device {node.value!r}"
                         if isinstance(node, ast.Literal) and isinstance(node.value, str)
                         else "device: takes a device name in quotes")
                raise self.fail(node.span, shown,
                                'use "cpu", "gpu", "gpu:N", "cuda", "cuda:N", "tpu", "tpu:N" '
                                'or "auto"')
            device = node.value.lower()
        return Execution(device=device)


def _call_name(node) -> str:
    """The name a metric or loss entry spells (a string, a bare name or a call)."""
    if isinstance(node, ast.Literal):
        return str(node.value)
    return getattr(node, "name", "")


def _canonical_args(decl: TrainingDecl, call: ast.Call) -> ast.Call:
    """``call`` with argument aliases (``StepDecay(initial=...)``) given canonical names."""
    if not decl.arg_aliases or not any(a.name in decl.arg_aliases for a in call.args):
        return call
    import dataclasses

    args = tuple(dataclasses.replace(a, name=decl.arg_aliases[a.name])
                 if a.name in decl.arg_aliases else a for a in call.args)
    return dataclasses.replace(call, args=args)


def _shift(node, offset: int, line: int, col_delta: int):
    """Moves the spans of a node parsed from a string to where the string stands."""
    import dataclasses

    if isinstance(node, Span):
        if not node.known:
            return node
        return Span(node.start + offset, node.end + offset, line, node.column + col_delta)
    if isinstance(node, tuple):
        return tuple(_shift(x, offset, line, col_delta) for x in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {}
        for f in dataclasses.fields(node):
            v = getattr(node, f.name)
            if f.name == "close" and isinstance(v, int):
                changes[f.name] = v + offset
            elif isinstance(v, (Span, tuple)) or dataclasses.is_dataclass(v):
                changes[f.name] = _shift(v, offset, line, col_delta)
        return dataclasses.replace(node, **changes)
    return node
