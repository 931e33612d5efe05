"""The bottom of the package graph: core imports nothing of ours, ir nothing of dsl, data
nothing of the trainer, and no circle of imports among these four packages."""

from __future__ import annotations

import sys

import pytest
from import_graph import imported, module_name, modules, within

OURS = ("neural_jax", "bridges", "search", "neural")
FRONT = ("neural_jax.core", "neural_jax.dsl", "neural_jax.ir", "neural_jax.data")


def _offending(package: str, bad) -> dict[str, list[str]]:
    found = {}
    for path in modules(package):
        names = sorted(n for n in imported(path) if bad(n))
        if names:
            found[module_name(path)] = names
    return found


def test_the_packages_are_there():
    for package in FRONT:
        assert len(modules(package)) >= 2, package


def test_ir_imports_nothing_from_the_dsl():
    assert _offending("neural_jax.ir", lambda n: within(n, "neural_jax.dsl")) == {}


def test_core_imports_only_itself_and_the_standard_library():
    def bad(name: str) -> bool:
        top = name.split(".")[0]
        if top in OURS:
            return not within(name, "neural_jax.core")
        return top not in sys.stdlib_module_names and top != "__future__"

    assert _offending("neural_jax.core", bad) == {}


@pytest.mark.parametrize("package", ["neural_jax.core", "neural_jax.dsl", "neural_jax.ir",
                                     "neural_jax.data"])
def test_the_front_end_imports_no_trainer_and_no_backend(package):
    heavy = ("neural_jax.train", "neural_jax.jax", "bridges", "jax", "optax", "flax", "torch",
             "tensorflow")
    assert _offending(package, lambda n: any(within(n, h) for h in heavy)) == {}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of ``graph``: strongly connected parts of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while not part or part[-1] != v:
                part.append(stack.pop())
            if len(part) > 1:
                out.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycles_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_the_front_end():
    paths = {module_name(p): p for package in FRONT for p in modules(package)}
    graph = {m: {n for n in imported(p) if n in paths and n != m} for m, p in paths.items()}
    assert _cycles(graph) == []
