"""The imports a module's source names, read from its syntax tree (lazy ones included)."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def module_name(path: pathlib.Path) -> str:
    """``neural_jax/ir/space.py`` -> ``neural_jax.ir.space`` (a package is its ``__init__``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> list[pathlib.Path]:
    """Every ``.py`` file of ``package`` (a dotted name), sorted."""
    return sorted((ROOT / package.replace(".", "/")).rglob("*.py"))


def is_module(name: str) -> bool:
    """Whether the dotted ``name`` is a module or package of this repository."""
    path = ROOT / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported(path: pathlib.Path) -> set[str]:
    """The modules ``path`` imports anywhere in its source, lazy imports included.

    ``from a import b`` names ``a.b`` when that is a module of ours, else ``a``.
    """
    tree = ast.parse(path.read_text(), str(path))
    here = module_name(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]  # the package the module is in
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                stem = here[: len(here) - node.level + 1]
                base = ".".join(stem + ([base] if base else []))
            for a in node.names:
                out.add(f"{base}.{a.name}" if is_module(f"{base}.{a.name}") else base)
    return out


def within(name: str, package: str) -> bool:
    """Whether module ``name`` is ``package`` or inside it."""
    return name == package or name.startswith(package + ".")


#: the library's top-level packages (tests, benchmarks, configs and examples are not library)
LIBRARY = ("neural_jax", "bridges", "search", "experiments", "neural")


def library_modules() -> dict[str, pathlib.Path]:
    """Every module of the library by dotted name (``neural_jax/examples`` links to the
    example files, not code)."""
    out = {}
    for package in LIBRARY:
        for path in modules(package):
            if path.relative_to(ROOT).parts[:2] != ("neural_jax", "examples"):
                out[module_name(path)] = path
    return out


def graph(paths: dict[str, pathlib.Path]) -> dict[str, set[str]]:
    """Module -> the modules of ``paths`` it imports (an imported name counts as the longest
    of its prefixes that is a module of ``paths``)."""

    def ours(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    return {m: {t for n in imported(p) if (t := ours(n)) and t != m} for m, p in paths.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of ``g``: its strongly connected parts of more than one node
    (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(g.get(v, ())):
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

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out
