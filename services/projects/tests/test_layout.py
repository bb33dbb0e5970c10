"""The projects service's layout: its domain packages (rooms) never import one another in a circle, and the
tables' package imports no room. Imports are read with `ast`, those inside functions included."""

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[1]
PREFIX = "services.projects"
ROOMS = frozenset({"projects", "budgets", "documents", "indicators", "reports", "referential", "models"})


def _module_name(path: Path) -> str:
    parts = path.relative_to(SERVICE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PREFIX, *parts))


def _imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every module named by an import anywhere in the tree (`from a import b` names `a.b` too: b may be a
    module)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _room(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != PREFIX.split(".") or len(parts) < 3 or parts[2] not in ROOMS:
        return None
    return parts[2]


def room_graph() -> dict[str, set[str]]:
    """Which room imports which (a room's imports of itself left out)."""
    graph: dict[str, set[str]] = {room: set() for room in ROOMS}
    for path in SERVICE.rglob("*.py"):
        if "tests" in path.relative_to(SERVICE).parts:
            continue
        module = _module_name(path)
        source = _room(module)
        if source is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name in _imported(tree, module, path.name == "__init__.py"):
            target = _room(name)
            if target is not None and target != source:
                graph[source].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a path that ends where it starts, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for peer in sorted(graph.get(node, ())):
            if state.get(peer) == "open":
                return [*path[path.index(peer):], peer]
            if peer not in state and (cycle := visit(peer)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_sees_a_cycle_and_only_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_import_reader_resolves_from_imports_and_lazy_ones() -> None:
    tree = ast.parse(
        "from services.projects import budgets\n"
        "def f():\n    from services.projects.documents.pins import owned_versions\n"
        "from . import repository\n"
    )
    names = _imported(tree, "services.projects.reports.service", is_package=False)
    assert {_room(name) for name in names} >= {"budgets", "documents", "reports"}


def test_every_room_is_a_package_that_says_what_it_is_for() -> None:
    for room in ROOMS:
        init = SERVICE / room / "__init__.py"
        assert init.is_file(), room
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{room}/__init__.py has no docstring"


def test_no_room_imports_a_room_that_imports_it() -> None:
    graph = room_graph()
    assert graph["projects"], "the reader found no import at all: it is broken"
    assert find_cycle(graph) is None, f"import cycle between rooms: {' -> '.join(find_cycle(graph) or [])}"


def test_the_tables_import_no_room() -> None:
    assert room_graph()["models"] == set()


QUERY_METHODS = frozenset({"execute", "get", "scalars", "scalar", "stream", "stream_scalars"})
QUERY_HELPERS = frozenset({"get_row", "children_by_parent", "keyset"})


def _queries(tree: ast.AST) -> list[int]:
    """Lines that run a query: `session.execute/get/scalars…(…)` or a query helper of `common.db`."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in QUERY_METHODS and isinstance(func.value, ast.Name) \
                and func.value.id == "session":
            lines.append(node.lineno)
        elif isinstance(func, ast.Name) and func.id in QUERY_HELPERS:
            lines.append(node.lineno)
    return lines


def test_every_query_is_in_a_repository() -> None:
    outside = {
        str(path.relative_to(SERVICE)): lines
        for path in sorted(SERVICE.rglob("*.py"))
        if path.name != "repository.py" and "tests" not in path.relative_to(SERVICE).parts
        and (lines := _queries(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert outside == {}
    assert _queries(ast.parse((SERVICE / "documents" / "repository.py").read_text(encoding="utf-8"))), "reader broken"
