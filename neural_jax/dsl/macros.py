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

from neural_jax.dsl import ast
from neural_jax.dsl.errors import NeuralValidationError, did_you_mean

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
    if not macros:
        return file
    ex = _Expander(macros, src)
    nets = tuple(
        dataclasses.replace(n, entries=tuple(ex.entry(e) for e in n.entries)) for n in file.networks
    )
    return dataclasses.replace(file, networks=nets)


class _Expander:
    def __init__(self, macros: dict[str, ast.MacroNode], source: ast.Source) -> None:
        self.macros = macros
        self.src = source
        self.expanded = 0  # layer items made so far: guards against exponential expansion

    def entry(self, e):
        if isinstance(e, ast.Section) and e.key == "layers":
            return dataclasses.replace(e, items=self.items(e.items, ()))
        return e

    def items(self, items: tuple[ast.Item, ...], stack: tuple[str, ...]) -> tuple[ast.Item, ...]:
        return tuple(self.item(it, stack) for it in items)

    def item(self, it: ast.Item, stack: tuple[str, ...]) -> ast.Item:
        block = self.items(it.block, stack) if it.block is not None else None
        v = it.value
        if isinstance(v, ast.Name) and v.name in self.macros:
            v = ast.Call(v.name, (), v.span, close=v.span.end)
        if isinstance(v, ast.Call) and v.name in self.macros:
            if block is not None:
                raise self.src.error(NeuralValidationError, it.block_span,
                                     f"macro '{v.name}' does not take a {{ block }}",
                                     "put the layers inside the macro's definition")
            group = self.call(v, stack)
            if it.device is not None:  # a device on a macro call applies to each layer
                group = dataclasses.replace(group, items=tuple(
                    dataclasses.replace(x, device=x.device or it.device) for x in group.items))
            return dataclasses.replace(it, value=group, block=None, device=None)
        return dataclasses.replace(it, block=block)

    def call(self, call: ast.Call, stack: tuple[str, ...]) -> ast.Group:
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
        body = self.items(body, stack + (call.name,))
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
