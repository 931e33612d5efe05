"""Lowering of values and HPO expressions (SPEC §1 literals, §4 HPO forms).

:class:`ValueLowerer` turns AST values into Python values and HPO nodes, checks them against
a parameter's domain, and gives every HPO node its path. One HPO expression in the source is
one parameter: wherever it is used again (the copies of ``* N``, a macro body used twice, a
macro argument used in two layers) the same node, with the path of its first use, is reused.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from neural_jax.core.errors import NeuralValidationError, did_you_mean
from neural_jax.core.source import Source, Span
from neural_jax.dsl import ast
from neural_jax.ir.nodes import HPO, Choice, LogRange, Range, leaves
from neural_jax.ir.params import FLOAT_KINDS, FLOAT_MAX, ParamSpec, is_int, is_number

__all__ = ["ValueLowerer", "HPO_FORMS"]

HPO_FORMS = ("choice", "range", "log_range")


class ValueLowerer:
    """Shared state of one network's lowering: the source and the HPO nodes seen so far."""

    def __init__(self, source: Source) -> None:
        self.src = source
        self.hpo_cache: dict[tuple[int, int], HPO] = {}
        self.sites: dict[str, Any] = {}

    # --- errors -------------------------------------------------------------------------

    def fail(self, span: Span | None, message: str, hint: str = "") -> NeuralValidationError:
        return self.src.error(NeuralValidationError, span, message, hint)

    def no_extras(self, it: ast.Item, where: str) -> None:
        if it.device is not None:
            raise self.fail(it.device.span, f"@ device is only for layers, not {where}",
                            "remove the @ \"device\"")
        if it.block is not None:
            raise self.fail(it.block_span, f"a {{ block }} is only for layers, not {where}",
                            "remove the { block }")
        if it.repeat is not None:
            raise self.fail(it.repeat_span, f"repetition * N is only for layers, not {where}",
                            "remove the * N")

    # --- plain values -------------------------------------------------------------------

    def plain(self, node, path: str, what: str) -> Any:
        """A literal, tuple or list (lists become tuples); no HPO, no calls."""
        if isinstance(node, ast.Literal):
            return node.value
        if isinstance(node, (ast.TupleNode, ast.ListNode)):
            return tuple(self.plain(x, f"{path}[{i}]", what) for i, x in enumerate(node.items))
        if isinstance(node, ast.Name):
            raise self.fail(node.span, f"unknown name '{node.name}' in {what}",
                            f'strings need quotes: "{node.name}"')
        if isinstance(node, ast.Call) and node.name.upper() == "HPO":
            raise self.fail(node.span, f"HPO is not allowed in {what}",
                            "only layer, optimizer, schedule and train values are searched")
        if isinstance(node, ast.Call):
            raise self.fail(node.span, f"a call ({node.name}(...)) is not a value of {what}",
                            f"to search it write HPO({node.name}(...))"
                            if node.name.lower() in HPO_FORMS else "write a plain value")
        raise self.fail(getattr(node, "span", None), f"unexpected value in {what}",
                        "write a number, a string, a tuple or a list")

    def value(self, node, path: str, spec: ParamSpec | None, what: str) -> Any:
        """A value that may be (or contain) an HPO expression, checked against ``spec``."""
        if isinstance(node, ast.Call) and node.name.upper() == "HPO":
            return self.hpo(node, path, spec, what)
        if isinstance(node, (ast.TupleNode, ast.ListNode)):
            items = tuple(
                self.value(x, f"{path}[{i}]", None, what) for i, x in enumerate(node.items)
            )
            v = items
        else:
            v = self.plain(node, path, what)
        if spec is not None and not any(isinstance(x, HPO) for x in leaves(v)):
            v = _normalise(spec, v)
            problem = spec.check(v)
            if problem:
                raise self.fail(node.span, f"{what} {problem}", _domain_hint(spec))
        elif spec is not None:  # a tuple with HPO items: each value an item can take
            hpos = [x for x in leaves(v) if isinstance(x, HPO)]
            for pick in [{}] + [{id(h): c} for h in hpos for c in _candidates(h)]:
                problem = spec.check(_normalise(spec, _fill(v, pick)))
                if problem:
                    raise self.fail(node.span, f"{what} {problem} (a value this HPO can take)",
                                    _domain_hint(spec))
        self.sites[path] = ("value", node.span)
        return v

    # --- HPO ------------------------------------------------------------------------------

    def hpo(self, call: ast.Call, path: str, spec: ParamSpec | None, what: str,
            option=None) -> HPO:
        """Lowers ``HPO(form(...))``; ``option(node, path)`` lowers a non-literal choice."""
        pos = [a for a in call.args if a.name is None]
        named = {a.name: a for a in call.args if a.name is not None}
        if len(pos) != 1 or not isinstance(pos[0].value, ast.Call) or set(named) - {"name"}:
            raise self.fail(call.span, "HPO(...) takes one search form (and optionally name=)",
                            "write HPO(choice(...)), HPO(range(lo, hi)) or HPO(log_range(lo, hi))")
        tie = None
        if "name" in named:
            lit = named["name"].value
            if not (isinstance(lit, ast.Literal) and isinstance(lit.value, str) and lit.value):
                raise self.fail(named["name"].span, "HPO name= must be a non-empty string",
                                'e.g. HPO(choice(32, 64), name="width")')
            tie = lit.value
            path = tie
        key = ("name", tie) if tie is not None else (call.span.start, call.span.end)
        cached = self.hpo_cache.get(key)
        if cached is not None and (tie is not None or call.span.known):
            if tie is not None and cached.span != call.span:
                fresh = self._form(pos[0].value, path, option, what)
                if _domain(fresh) != _domain(cached):
                    raise self.fail(call.span, f"HPO name {tie!r} is already used for a "
                                    f"different search (line {cached.span.line})",
                                    "a shared name must have the same form and values")
                n = sum(1 for k in self.sites if k.startswith(f"{tie}#"))
                self.sites[f"{tie}#{n + 1}"] = ("hpo", call.span)
            self._check_domain(cached, spec, call, what)
            return cached
        node = self._form(pos[0].value, path, option, what)
        node = dataclasses.replace(node, span=call.span)
        self.hpo_cache[key] = node
        self.hpo_cache.setdefault(("name", node.path), node)
        self.sites[path] = ("hpo", call.span)
        self._check_domain(node, spec, call, what)
        return node

    def _form(self, form: ast.Call, path: str, option, what: str) -> HPO:
        fname = form.name.lower()
        if fname not in HPO_FORMS:
            hint = did_you_mean(form.name, HPO_FORMS) or "use choice, range or log_range"
            raise self.fail(form.span, f"unknown HPO form '{form.name}'", hint)
        if fname == "choice":
            return self._choice(form, path, option, what)
        return self._range(form, path, log=fname == "log_range")

    def _choice(self, form: ast.Call, path: str, option, what: str) -> Choice:
        if not form.args:
            raise self.fail(form.span, "empty choice()", "list at least one value: choice(a, b)")
        values = []
        for j, a in enumerate(form.args):
            if a.name is not None:
                raise self.fail(a.span, "choice() takes values, not named arguments",
                                "write choice(a, b, ...)")
            named = option is not None and isinstance(a.value, ast.Name)
            if isinstance(a.value, ast.Call) or named:
                if option is None:
                    raise self.fail(a.value.span, f"a call cannot be a choice of {what}",
                                        "choose between plain values here")
                values.append(option(a.value, f"{path}.choice[{j}]"))
            else:
                values.append(self.value(a.value, f"{path}.choice[{j}]", None, what))
        kinds = {_type_of(v) for v in values}
        if len(kinds) > 1:
            raise self.fail(form.span, f"choice() mixes {' and '.join(sorted(kinds))} values",
                            "all options of a choice must be of one type")
        seen = []
        for a, v in zip(form.args, values):
            if v in seen:
                raise self.fail(a.span, f"choice() lists {a.value and _show(v)} twice",
                                "list each option once")
            seen.append(v)
        return Choice(path=path, values=tuple(values), span=form.span)

    def _range(self, form: ast.Call, path: str, log: bool) -> HPO:
        name = "log_range" if log else "range"
        pos = [a for a in form.args if a.name is None]
        named = {a.name: a for a in form.args if a.name is not None}
        allowed = ("low", "high") if log else ("low", "high", "step")
        for k, a in named.items():
            if k not in allowed:
                hint = did_you_mean(k, allowed) or f"{name} takes ({', '.join(allowed)})"
                raise self.fail(a.span, f"{name}() has no argument '{k}'", hint)
        if len(pos) > len(allowed):
            raise self.fail(form.span, f"{name}() takes at most {len(allowed)} values",
                            f"write {name}(lo, hi{', step=s' if not log else ''})")
        vals: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        for k, a in zip(allowed, pos):
            vals[k], spans[k] = a.value, a.span
        for k, a in named.items():
            if k in vals:
                raise self.fail(a.span, f"{name}() got '{k}' twice", "give each bound once")
            vals[k], spans[k] = a.value, a.span
        for k in ("low", "high"):
            if k not in vals:
                raise self.fail(form.span, f"{name}() needs a low and a high bound",
                                f"write {name}(lo, hi)")
        nums = {}
        for k, node in vals.items():
            v = node.value if isinstance(node, ast.Literal) else None
            if not is_number(v) or (isinstance(v, float) and not math.isfinite(v)):
                raise self.fail(spans[k], f"{name}() bounds must be finite numbers",
                                f"write {name}(lo, hi) with numbers, e.g. {name}(1, 10)")
            nums[k] = v
        lo, hi, step = nums["low"], nums["high"], nums.get("step")
        if lo >= hi:
            raise self.fail(form.span, f"{name}() needs low < high, got {lo!r} >= {hi!r}",
                            "swap the bounds or widen the range")
        if log:
            if lo <= 0:
                raise self.fail(spans["low"], f"log_range() needs low > 0, got {lo!r}",
                                "use range() for a linear scale, or a positive low bound")
            return LogRange(path=path, low=lo, high=hi, is_int=is_int(lo) and is_int(hi),
                            span=form.span)
        if step is not None and (step <= 0 or step > hi - lo):
            raise self.fail(spans["step"], f"range() step must be in (0, high - low], got {step!r}",
                            f"a step between 0 and {hi - lo!r}")
        integer = is_int(lo) and is_int(hi) and (step is None or is_int(step))
        return Range(path=path, low=lo, high=hi, step=step, is_int=integer, span=form.span)

    def _check_domain(self, node: HPO, spec: ParamSpec | None, call: ast.Call, what: str) -> None:
        if spec is None:
            return
        if isinstance(node, Choice):
            candidates = [v for v in node.values if not hasattr(v, "type")]
        else:
            if spec.wants_int and not node.is_int:
                raise self.fail(call.span, f"{what} takes whole numbers; this range is of floats",
                                "use integer bounds, e.g. "
                                f"range({int(node.low)}, {int(node.high)})")
            candidates = [node.low, node.high]
        for v in candidates:
            problem = spec.check(_normalise(spec, v))
            if problem:
                raise self.fail(call.span, f"{what} {problem} (a value this HPO can take)",
                                _domain_hint(spec))


def _domain(h: HPO) -> tuple:
    """What a search is, apart from its path and place."""
    if isinstance(h, Choice):
        return ("choice", tuple(getattr(v, "type", v) for v in h.values))
    return (type(h).__name__, h.low, h.high, getattr(h, "step", None))


def _candidates(h: HPO) -> list:
    return list(h.values) if isinstance(h, Choice) else [h.low, h.high]


def _fill(v: Any, pick: dict[int, Any]) -> Any:
    """``v`` with each HPO item replaced by its value in ``pick`` (by default its first)."""
    if isinstance(v, HPO):
        return pick.get(id(v), _candidates(v)[0])
    if isinstance(v, tuple):
        return tuple(_fill(x, pick) for x in v)
    return v


def _normalise(spec: ParamSpec, v: Any) -> Any:
    if spec.kind in ("activation", "padding", "padding1d", "merge") and isinstance(v, str):
        return v.lower()
    if spec.kind in FLOAT_KINDS and is_int(v):  # epsilon=1 is 1.0 (a backend wants a float)
        return float(v) if abs(v) <= FLOAT_MAX else v  # too large: the check says so
    return v


def _type_of(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if is_number(v):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, tuple):
        return "tuple"
    if v is None:
        return "None"
    return type(v).__name__


def _show(v: Any) -> str:
    return repr(v) if not hasattr(v, "type") else f"{v.type}(...)"


def _domain_hint(spec: ParamSpec) -> str:
    return {
        "rate": f"{spec.name} is a fraction: 0 <= {spec.name} < 1",
        "pos_int": f"{spec.name} counts something: use a whole number >= 1",
        "sizes": f"{spec.name} is an int or a tuple of ints >= 1",
        "activation": "see SPEC §2 for the activations",
        "positive": f"{spec.name} must be > 0",
        "nonneg": f"{spec.name} must be >= 0",
        "nonneg_int": f"{spec.name} is a whole number >= 0",
        "unit": f"{spec.name} is a fraction: 0 <= {spec.name} <= 1",
        "bool": f"{spec.name} is true or false",
        "padding": 'padding is "valid" or "same"',
        "padding1d": 'padding is "valid", "same" or "causal"',
        "target_shape": "e.g. (7, 7, 16) or (-1, 16)",
        "str": f'{spec.name} is a string in quotes, e.g. "..."',
        "merge": 'one of "concat", "sum", "mul", "ave"',
        "numbers": f"{spec.name} is a list of numbers, e.g. [0.1, 0.01]",
    }.get(spec.kind, "check the legal values of this argument")
