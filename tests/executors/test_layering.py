"""``neural_jax`` never imports ``bridges``: executors and commands of the bridges are
reached by lazy ``"module:attribute"`` names only."""

from __future__ import annotations

import ast
import pathlib

import neural_jax

ROOT = pathlib.Path(neural_jax.__file__).resolve().parent


def bridge_imports(source: str, filename: str = "<string>") -> list[tuple[int, str]]:
    """``(line, module)`` of every import of ``bridges`` in ``source`` (also inside
    functions)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, n) for n in names if n == "bridges" or n.startswith("bridges.")]
    return found


def test_the_checker_finds_imports_everywhere():
    src = ("import os\nimport bridges.torch\n"
           "def f():\n    from bridges import trials\n    from bridgesx import y\n"
           "class C:\n    def g(self):\n        import bridges\n")
    assert bridge_imports(src) == [(2, "bridges.torch"), (4, "bridges"), (8, "bridges")]


def test_neural_jax_never_imports_bridges():
    files = sorted(ROOT.rglob("*.py"))
    assert len(files) > 50
    bad = [f"{f.relative_to(ROOT.parent)}:{line}: {name}" for f in files
           for line, name in bridge_imports(f.read_text(encoding="utf-8"), str(f))]
    assert not bad, "neural_jax imports bridges:\n" + "\n".join(bad)
