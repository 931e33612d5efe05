"""The package graph: which code may import which, checked on the source (AST, not text).

The rules (docs/architecture.md draws them):

* no import cycle between modules, and none between packages (each of ``neural_jax``'s
  subpackages and top-level modules is a node of its own);
* ``search`` imports nothing of ours; ``neural_jax`` never imports ``bridges``,
  ``experiments`` or ``neural``; ``bridges`` never imports ``experiments``;
* no library module is over 500 lines.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LIBRARY = ("neural_jax", "bridges", "search", "experiments", "neural")
MAX_LINES = 500


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for pkg in LIBRARY:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "examples" in rel.parts[:2]:  # neural_jax/examples links to the examples
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module of ours that ``import name`` loads (its longest known prefix)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> set[str]:
    """Every module of ours that ``module`` imports, at the top or inside a function."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = package[: len(package) - (node.level - 1)]
                base = ".".join([*prefix, *([base] if base else [])])
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target and target != module:
                found.add(target)
    return found


GRAPH = {m: _imports(m) for m in MODULES}


def _node(module: str) -> str:
    """The package-graph node of a module: a subpackage of neural_jax, a top-level module
    of neural_jax, or a top-level package."""
    parts = module.split(".")
    if parts[0] == "neural_jax" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_in_a_circle():
    assert _cycles(GRAPH) == []


def test_the_package_graph_is_acyclic():
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        a = _node(module)
        packages.setdefault(a, set()).update(_node(t) for t in targets if _node(t) != a)
    assert _cycles(packages) == []


@pytest.mark.parametrize("package, forbidden", [
    ("search", ("neural_jax", "bridges", "experiments", "neural")),
    ("neural_jax", ("bridges", "experiments", "neural")),
    ("bridges", ("experiments", "neural")),
])
def test_dependencies_point_one_way(package, forbidden):
    bad = sorted(f"{m} imports {t}" for m, targets in GRAPH.items()
                 if m.split(".")[0] == package
                 for t in targets if t.split(".")[0] in forbidden)
    assert bad == []


def test_no_library_module_is_over_500_lines():
    long = {m: n for m, p in MODULES.items()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_front_end_imports_no_framework():
    code = ("import sys, neural_jax; neural_jax.check(neural_jax.parse("
            "'network N { input: (4,) layers: Dense(2) }'));"
            "print(sorted(m for m in ('jax', 'torch', 'tensorflow', 'optax', 'flax', 'bridges')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
