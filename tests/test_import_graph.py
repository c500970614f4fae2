"""No import circles in gpen_desktop: the graph of every import statement, module-level or
inside a function, read with ``ast`` (nothing is imported), has no cycle.

Counted: ``import x``, ``from x import y`` (an edge to ``x.y`` when that is a module of ours,
else to ``x``), relative imports, and ``importlib.import_module("literal")``. Left out,
everywhere alike: the body of ``if TYPE_CHECKING:`` (never runs). Importing ``a.b.c`` also
runs ``a/__init__`` and ``a/b/__init__``; those implicit parent edges are not counted (every
submodule would otherwise form a "cycle" with a package that re-exports it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gpen_desktop"


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for f in sorted(root.rglob("*.py")):
        parts = list(f.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = f
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.AST, package: str) -> list[str]:
    """Dotted names imported anywhere in ``tree`` (``package``: the module's own package)."""
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.extend(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the modules of ``root``'s package it imports (by the rules above)."""
    modules = _modules(root)

    def ours(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets = {ours(n) for n in _imported_names(tree, package)}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, …, a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in sorted(graph):
        if start in state:
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_no_import_cycles():
    graph = import_graph()
    assert "gpen_desktop.core.pipeline" in graph and graph["gpen_desktop.core.pipeline"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_catalog_is_a_leaf():
    assert import_graph()["gpen_desktop.core.catalog"] == set()


@pytest.mark.parametrize(
    ("source", "edges", "cycle"),
    [
        ("import pkg.a\n", {"pkg.a": "from pkg import b\n"}, True),  # b -> a -> b
        ("def f():\n    from . import a\n", {"pkg.a": "import pkg.b\n"}, True),  # lazy, relative
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import X\n",
            {"pkg.a": "import pkg.b\n"},
            False,
        ),
        ("import importlib\nimportlib.import_module('pkg.a')\n", {"pkg.a": "import pkg.b\n"}, True),
        ("import os\n", {"pkg.a": "import pkg.b\n"}, False),
    ],
)
def test_the_graph_sees_every_kind_of_import(tmp_path, source, edges, cycle):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "b.py").write_text(source)
    for name, text in edges.items():
        (pkg / f"{name.split('.')[-1]}.py").write_text(text)
    assert (find_cycle(import_graph(pkg)) is not None) == cycle
