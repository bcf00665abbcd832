"""No import circles among statemachine/ modules (issue 9).

Imports inside functions count: deferring an import hides a circle, it does not
remove it. Only `if TYPE_CHECKING:` blocks are skipped, since they never run.
"""

import ast
from pathlib import Path

STATEMACHINE = Path(__file__).resolve().parents[2] / "statemachine"
PACKAGE = "mydocker.statemachine"

Edge = tuple[str, str, int]  # (importer, imported, line)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_modules(node: ast.AST, modules: set[str]) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    if isinstance(node, ast.ImportFrom):
        if node.level == 1 and node.module is None:
            base = ""
        elif node.level == 1:
            base = node.module or ""
        elif node.level == 0 and node.module and (
            node.module == PACKAGE or node.module.startswith(PACKAGE + ".")
        ):
            base = node.module[len(PACKAGE) + 1 :]
        else:
            return found
        if base:
            found.append((base.split(".")[0], node.lineno))
        else:
            # `from mydocker.statemachine import networks` names modules directly.
            found += [(a.name, node.lineno) for a in node.names if a.name in modules]
    elif isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.startswith(PACKAGE + "."):
                found.append((alias.name[len(PACKAGE) + 1 :].split(".")[0], node.lineno))
    return [(m, line) for m, line in found if m in modules]


def _walk(node: ast.AST, modules: set[str]) -> list[tuple[str, int]]:
    found = _imported_modules(node, modules)
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                found += _walk(other, modules)
            continue
        found += _walk(child, modules)
    return found


def import_edges(folder: Path) -> list[Edge]:
    files = {p.stem: p for p in folder.glob("*.py") if p.stem != "__init__"}
    modules = set(files)
    edges: list[Edge] = []
    for name, path in sorted(files.items()):
        tree = ast.parse(path.read_text(), filename=str(path))
        edges += [(name, target, line) for target, line in _walk(tree, modules) if target != name]
    return edges


def strongly_connected(edges: list[Edge]) -> list[set[str]]:
    """Tarjan's algorithm; returns the components with more than one module."""
    graph: dict[str, set[str]] = {}
    for src, dst, _ in edges:
        graph.setdefault(src, set()).add(dst)
        graph.setdefault(dst, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_finder_sees_a_deferred_circle(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from .b import x\n")
    (tmp_path / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .c import y\n"
        "def f():\n    from mydocker.statemachine import a\n"
    )
    (tmp_path / "c.py").write_text("from . import a\n")
    edges = import_edges(tmp_path)
    assert ("b", "a", 5) in edges and not any(d == "c" for s, d, _ in edges if s == "b")
    assert strongly_connected(edges) == [{"a", "b"}]


def test_no_import_circles_inside_statemachine() -> None:
    edges = import_edges(STATEMACHINE)
    report = []
    for component in strongly_connected(edges):
        report.append("circle: " + ", ".join(sorted(component)))
        report += [
            f"  statemachine/{src}.py:{line} -> {dst}"
            for src, dst, line in edges
            if src in component and dst in component
        ]
    assert not report, "\n".join(report)
