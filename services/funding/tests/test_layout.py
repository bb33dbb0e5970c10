"""The shape of the funding service, read from its imports (`ast`, nothing is imported): its rooms import each
other one way only, the tables and the shared modules import no room, and each room says what it is for."""

import ast
from collections.abc import Iterator
from pathlib import Path

FUNDING = Path(__file__).resolve().parent.parent
PACKAGE = "services.funding"
# Not rooms: the tables (which every room reads) and the tests.
NOT_ROOMS = {"models", "tests"}


def rooms() -> list[str]:
    return sorted(
        path.name for path in FUNDING.iterdir()
        if (path / "__init__.py").is_file() and path.name not in NOT_ROOMS
    )


def imported_modules(path: Path) -> Iterator[str]:
    """Every module a file imports, at the top or inside a function (`from a import b` yields a and a.b)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def package_of(module: str) -> str | None:
    """The funding package a module is in (`services.funding.committee.decisions` → committee), or None."""
    parts = module.split(".")
    if parts[:2] != PACKAGE.split(".") or len(parts) < 3:
        return None
    return parts[2] if (FUNDING / parts[2] / "__init__.py").is_file() else None


def imports_of(package: str) -> dict[str, set[str]]:
    """The other funding packages `package` imports, each with the files that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted((FUNDING / package).rglob("*.py")):
        for module in imported_modules(path):
            other = package_of(module)
            if other is not None and other != package:
                found.setdefault(other, set()).add(str(path.relative_to(FUNDING)))
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan): each holds at least one cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_rooms_are_found() -> None:
    assert {"committee", "dossiers", "envelopes", "grants", "programmes"} <= set(rooms())


def test_no_room_imports_a_room_that_imports_it() -> None:
    graph = {room: set(imports_of(room)) for room in rooms()}
    found = cycles(graph)
    detail = {
        room: {other: sorted(files) for other, files in imports_of(room).items() if other in group}
        for group in found for room in group
    }
    assert found == [], f"rooms importing each other: {found}; who imports whom: {detail}"


def test_the_tables_import_no_room() -> None:
    assert imports_of("models") == {}


def test_the_shared_modules_import_no_room() -> None:
    """fields, peers, settings…: what every room may use, so they use none (app.py mounts the rooms)."""
    shared = [path for path in sorted(FUNDING.glob("*.py")) if path.name not in ("__init__.py", "app.py", "main.py")]
    assert shared
    found = {
        path.name: sorted({p for m in imported_modules(path) if (p := package_of(m)) is not None} - {"models"})
        for path in shared
    }
    assert {name: packages for name, packages in found.items() if packages} == {}


def test_each_room_says_what_it_is_for() -> None:
    silent = [
        room for room in [*rooms(), "models"]
        if not ast.get_docstring(ast.parse((FUNDING / room / "__init__.py").read_text(encoding="utf-8")))
    ]
    assert silent == []


def test_the_check_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


# `get` is also a dict's: it counts only on a name that says it is a session.
QUERY_METHODS = frozenset({"execute", "scalars", "scalar", "stream", "stream_scalars"})
QUERY_HELPERS = frozenset({"get_row", "children_by_parent", "keyset"})


def is_repository(path: Path) -> bool:
    return path.name == "repository.py" or path.name.endswith("_repository.py")


def query_lines(tree: ast.AST) -> list[int]:
    """Lines that run a query: `<session>.execute/scalars/get…(…)` or a query helper of `common.db`/pagination."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and (
            func.attr in QUERY_METHODS or (func.attr == "get" and "session" in func.value.id)
        ):
            lines.append(node.lineno)
        elif isinstance(func, ast.Name) and func.id in QUERY_HELPERS:
            lines.append(node.lineno)
    return lines


def queries_outside_repositories() -> dict[str, dict[str, list[int]]]:
    """By room (or top-level module), the files that run a query outside a repository, with the lines."""
    found: dict[str, dict[str, list[int]]] = {}
    for path in sorted(FUNDING.rglob("*.py")):
        relative = path.relative_to(FUNDING)
        if relative.parts[0] in NOT_ROOMS or is_repository(path):
            continue
        if lines := query_lines(ast.parse(path.read_text(encoding="utf-8"))):
            room = relative.parts[0] if len(relative.parts) > 1 else relative.stem
            found.setdefault(room, {})[str(relative)] = lines
    return found


def test_every_query_is_in_a_repository() -> None:
    assert queries_outside_repositories() == {}


def test_the_query_reader_sees_queries_and_not_dict_lookups() -> None:
    source = (
        "async def f(session, reading, cache):\n"
        "    await session.get(A, 1)\n"
        "    await reading.execute(select(A))\n"
        "    cache.get('k')\n"
        "    await keyset(statement, A, limit=1, cursor=None)\n"
    )
    assert query_lines(ast.parse(source)) == [2, 3, 5]
