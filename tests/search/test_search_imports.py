"""search is a standalone library whose modules import one another without cycles."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _imports(path: pathlib.Path) -> set[str]:
    """Every module an import statement of ``path`` names (lazy imports included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    files = {}
    for f in (ROOT / "search").rglob("*.py"):
        name = ".".join(f.relative_to(ROOT).with_suffix("").parts)
        files[name.removesuffix(".__init__")] = f
    # a package's __init__ re-exports its modules; the edges that matter are module to module
    return {m: {t for t in _imports(f) if t in files and t != m and files[t].name !=
                "__init__.py"}
            for m, f in files.items() if f.name != "__init__.py"}


def test_search_imports_nothing_of_neural_jax_or_bridges():
    for f in (ROOT / "search").rglob("*.py"):
        bad = {t for t in _imports(f) if t.split(".")[0] in ("neural_jax", "bridges", "neural")}
        assert not bad, f"{f}: {bad}"


def test_search_modules_form_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            assert state.get(t) != 1, " -> ".join(path + [m, t])
            if t not in state:
                visit(t, path + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
