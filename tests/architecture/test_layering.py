"""The package graph, checked on the source (imports inside functions count too).

* no import circle between modules, nor between packages (each subpackage and each top-level
  module of ``neural_jax`` is a node of its own);
* ``search`` imports nothing of ours; ``neural_jax`` never imports ``bridges``,
  ``experiments`` or ``neural`` (executors and the bridges' commands are reached by lazy
  ``"module:attribute"`` names); ``bridges`` never imports ``experiments``;
* at the bottom: ``core`` imports only the standard library, ``ir`` nothing of ``dsl``, and the
  front end (core, dsl, ir, data) no trainer and no framework;
* no library module is over 500 lines.

``docs/architecture.md`` draws the graph.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from import_graph import (
    ROOT,
    cycles,
    graph,
    imported,
    library_modules,
    module_name,
    modules,
    within,
)

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


def test_cycles_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_the_front_end():
    paths = {module_name(p): p for package in FRONT for p in modules(package)}
    graph = {m: {n for n in imported(p) if n in paths and n != m} for m, p in paths.items()}
    assert cycles(graph) == []


LIBRARY = library_modules()
GRAPH = graph(LIBRARY)


def _node(module: str) -> str:
    """A module's node in the package graph: a subpackage or top-level module of neural_jax,
    or a top-level package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "neural_jax" and len(parts) > 1 else parts[0]


def test_no_import_circle_between_modules():
    assert cycles(GRAPH) == []


def test_no_import_circle_between_packages():
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        a = _node(module)
        packages.setdefault(a, set()).update(_node(t) for t in targets if _node(t) != a)
    assert cycles(packages) == []


@pytest.mark.parametrize("package, forbidden", [
    ("search", ("neural_jax", "bridges", "experiments", "neural")),
    ("neural_jax", ("bridges", "experiments", "neural")),
    ("bridges", ("experiments", "neural")),
])
def test_dependencies_point_one_way(package, forbidden):
    bad = sorted(f"{m} imports {t}" for m, targets in GRAPH.items() if within(m, package)
                 for t in targets if t.split(".")[0] in forbidden)
    assert bad == []


def test_the_graph_sees_lazy_imports():
    # cli reaches bridges.cli by a lazy name, never by an import; train.best imports the
    # population engine inside a function
    assert not any(within(t, "bridges") for t in GRAPH["neural_jax.cli"])
    assert any(within(t, "neural_jax") for t in GRAPH["bridges.cli"])


def test_no_library_module_is_over_500_lines():
    long = {m: n for m, p in LIBRARY.items()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}


def test_importing_the_front_end_loads_no_framework():
    code = ("import sys, neural_jax; neural_jax.check(neural_jax.parse("
            "'network N { input: (4,) layers: Output(2) }'));"
            "print(sorted(m for m in ('jax', 'torch', 'tensorflow', 'optax', 'flax', 'bridges')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
