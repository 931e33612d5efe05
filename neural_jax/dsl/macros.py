"""Macro expansion: a separate pass over the syntax tree, before lowering.

``define Name(p=default, ...) { items }`` declares a macro; a call ``Name(args)`` in a layer
list is replaced by a :class:`~neural_jax.dsl.ast.Group` of the body's items, with every bare
name that is a parameter replaced by the argument's node (its source span included, so an
HPO expression passed to a macro is still substituted at the call site). Macros may call
macros; a cycle is an error. Repetition (``* N``) is kept on the item and turned into N deep
copies by the lowering pass.
"""

from __future__ import annotations

import dataclasses

from neural_jax.core.errors import NeuralValidationError, did_you_mean
from neural_jax.core.source import Source
from neural_jax.dsl import ast
from neural_jax.dsl.parser import MAX_NESTING

__all__ = ["expand_macros"]

_MAX_EXPANDED = 100_000


def expand_macros(file: ast.FileNode) -> ast.FileNode:
    """Returns ``file`` with every macro call in a layer list expanded.

    Raises:
      NeuralValidationError: duplicate macro, macro named like a layer, unknown or
        duplicate argument, too many arguments, missing argument, recursion.
    """
    from neural_jax.ir.registry import lookup_layer

    src = file.source
    macros: dict[str, ast.MacroNode] = {}
    for m in file.macros:
        if m.name in macros:
            raise src.error(NeuralValidationError, m.span, f"macro '{m.name}' is defined twice",
                            "rename one of them")
        if lookup_layer(m.name) is not None:
            raise src.error(NeuralValidationError, m.span,
                            f"macro '{m.name}' has the name of a built-in layer",
                            "choose another name")
        seen = set()
        for pname, _ in m.params:
            if pname in seen:
                raise src.error(NeuralValidationError, m.span,
                                f"macro '{m.name}' has parameter '{pname}' twice",
                                "rename one of them")
            seen.add(pname)
        macros[m.name] = m
    ex = _Expander(macros, src)
    if not macros:  # repetitions alone can multiply too: `{ Dense(4) * 1000 } * 1000`
        for n in file.networks:
            for e in n.entries:
                if isinstance(e, ast.Section) and e.key == "layers":
                    ex.check_size(e.items)
        return file
    nets = tuple(
        dataclasses.replace(n, entries=tuple(ex.entry(e) for e in n.entries)) for n in file.networks
    )
    return dataclasses.replace(file, networks=nets)


class _Expander:
    def __init__(self, macros: dict[str, ast.MacroNode], source: Source) -> None:
        self.macros = macros
        self.src = source
        self.expanded = 0  # layer items made so far: guards against exponential expansion
        self._sizes: dict[str, int] = {}  # macro -> layers it expands to

    def entry(self, e):
        if isinstance(e, ast.Section) and e.key == "layers":
            self.check_size(e.items)
            return dataclasses.replace(e, items=self.items(e.items, ()))
        return e

    # --- the size of an expansion, computed before expanding ----------------------------

    def _macro_of(self, v) -> str | None:
        if isinstance(v, (ast.Name, ast.Call)) and v.name in self.macros:
            return v.name
        return None

    def count(self, items, visiting: tuple[str, ...]) -> int:
        """Layers ``items`` expand to, repetitions included (exact big ints, no expansion)."""
        total = 0
        for it in items:
            name = self._macro_of(it.value)
            if name is not None:
                one = self.macro_size(name, visiting)
            else:
                one = 1 + (self.count(it.block, visiting) if it.block is not None else 0)
            total += max(1, it.repeat or 1) * one
        return total

    def macro_size(self, name: str, visiting: tuple[str, ...]) -> int:
        if name in self._sizes:
            return self._sizes[name]
        if name in visiting or len(visiting) >= MAX_NESTING:
            return 0  # recursion and depth are reported, with their place, by the expansion
        size = self.count(self.macros[name].body, visiting + (name,))
        self._sizes[name] = size
        return size

    def check_size(self, items) -> None:
        """Refuses a layer list that would expand past :data:`_MAX_EXPANDED` layers, at the
        item that crosses the limit, before any copy is made (expansion can be exponential:
        each macro using the previous one twice doubles it)."""
        total = 0
        for it in items:
            if it.repeat is not None and not 1 <= it.repeat <= _MAX_EXPANDED:
                continue  # the lowering reports the count itself, at the `* N`
            n = self.count((it,), ())
            total += n
            if total > _MAX_EXPANDED:
                name = getattr(it.value, "name", None)
                what = f"{name}(...)" if isinstance(name, str) else "this layer"
                raise self.src.error(
                    NeuralValidationError, it.span,
                    f"{what}{' * ' + str(it.repeat) if it.repeat else ''} expands to "
                    f"{n:,} layers; a network may have at most {_MAX_EXPANDED:,}",
                    "use fewer repetitions (* N) or macros that use each other fewer times")

    # --- expansion ----------------------------------------------------------------------

    def items(self, items: tuple[ast.Item, ...], stack: tuple[str, ...],
              depth: int = 0) -> tuple[ast.Item, ...]:
        return tuple(self.item(it, stack, depth) for it in items)

    def item(self, it: ast.Item, stack: tuple[str, ...], depth: int = 0) -> ast.Item:
        if depth > MAX_NESTING:
            raise self.src.error(NeuralValidationError, it.span,
                                 f"blocks and macro calls nest more than {MAX_NESTING} deep here",
                                 "flatten the structure: a network needs only a few levels")
        block = self.items(it.block, stack, depth + 1) if it.block is not None else None
        v = it.value
        if isinstance(v, ast.Name) and v.name in self.macros:
            v = ast.Call(v.name, (), v.span, close=v.span.end)
        if isinstance(v, ast.Call) and v.name in self.macros:
            if block is not None:
                raise self.src.error(NeuralValidationError, it.block_span,
                                     f"macro '{v.name}' does not take a {{ block }}",
                                     "put the layers inside the macro's definition")
            group = self.call(v, stack, depth + 1)
            if it.device is not None:  # a device on a macro call applies to each layer
                group = dataclasses.replace(group, items=tuple(
                    dataclasses.replace(x, device=x.device or it.device) for x in group.items))
            return dataclasses.replace(it, value=group, block=None, device=None)
        return dataclasses.replace(it, block=block)

    def call(self, call: ast.Call, stack: tuple[str, ...], depth: int = 0) -> ast.Group:
        m = self.macros[call.name]
        if call.name in stack:
            chain = " -> ".join(stack + (call.name,))
            raise self.src.error(NeuralValidationError, call.span,
                                 f"macro recursion: {chain}",
                                 "a macro may not use itself, directly or through another macro")
        names = [p for p, _ in m.params]
        bound: dict[str, ast.Node] = {}
        for i, a in enumerate(call.args):
            if a.name is None:
                if any(b.name is not None for b in call.args[:i]):
                    raise self.src.error(NeuralValidationError, a.span,
                                         "positional argument after a named one",
                                         "put positional arguments first")
                if i >= len(names):
                    raise self.src.error(
                        NeuralValidationError, a.span,
                        f"macro '{m.name}' takes {len(names)} argument"
                        f"{'s' if len(names) != 1 else ''}, got {len(call.args)}",
                        f"its parameters are ({', '.join(names)})" if names else "it takes none")
                key = names[i]
            else:
                key = a.name
                if key not in names:
                    hint = did_you_mean(key, names) or f"its parameters are ({', '.join(names)})"
                    raise self.src.error(NeuralValidationError, a.name_span or a.span,
                                         f"macro '{m.name}' has no parameter '{key}'", hint)
            if key in bound:
                raise self.src.error(NeuralValidationError, a.span,
                                     f"argument '{key}' given twice", "remove one of them")
            bound[key] = a.value
        for pname, default in m.params:
            if pname not in bound:
                if default is None:
                    raise self.src.error(NeuralValidationError, call.span,
                                         f"macro '{m.name}' needs argument '{pname}'",
                                         f"write {m.name}({pname}=...)")
                bound[pname] = default
        self.expanded += len(m.body)
        if self.expanded > _MAX_EXPANDED:
            raise self.src.error(NeuralValidationError, call.span,
                                 f"macro '{m.name}' expands to too many layers",
                                 f"macros may expand to at most {_MAX_EXPANDED} layers in all")
        body = tuple(_subst_item(it, bound) for it in m.body)
        body = self.items(body, stack + (call.name,), depth)
        return ast.Group(m.name, body, call.span)


def _subst_item(it: ast.Item, env: dict[str, ast.Node]) -> ast.Item:
    block = tuple(_subst_item(b, env) for b in it.block) if it.block is not None else None
    return dataclasses.replace(it, value=_subst(it.value, env), block=block)


def _subst(node, env: dict[str, ast.Node]):
    if isinstance(node, ast.Name):
        return env.get(node.name, node)
    if isinstance(node, ast.Call):
        args = tuple(dataclasses.replace(a, value=_subst(a.value, env)) for a in node.args)
        return dataclasses.replace(node, args=args)
    if isinstance(node, (ast.TupleNode, ast.ListNode)):
        return dataclasses.replace(node, items=tuple(_subst(x, env) for x in node.items))
    if isinstance(node, ast.Group):
        return dataclasses.replace(node, items=tuple(_subst_item(x, env) for x in node.items))
    return node
