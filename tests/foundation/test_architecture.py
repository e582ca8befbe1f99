"""The layering of docs/architecture.md, checked on the source: no import circles, imports point
down the layers only, and no module imports another inside a function to dodge a circle.

    engine (b2i) ← config (b2i_console) ← platform (builders, projects)
                 ← deploy (workloads, notifications)
                 ← edges (api, consumers, admin, pages, routing, management commands)

Imports are read from the syntax tree (nothing is imported), so the test is fast and also sees
imports inside functions and under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("b2i", "b2i_console", "builders", "projects", "workloads", "identity", "notifications")
PACKAGES += ("audit",)

# Lowest first: a module may import its own layer and the layers below it, never above.
LAYERS = ("engine", "config", "platform", "deploy", "edges")
EDGE_PARTS = {"api", "consumers", "admin", "routing", "management", "urls", "asgi_limits"}
CONSOLE_EDGES = {"pages", "urls", "api_urls", "routing", "asgi", "wsgi", "sockets", "health"}
CONSOLE_EDGES |= {"api_errors"}
APP_LAYERS = {"b2i": "engine", "b2i_console": "config", "builders": "platform"}
APP_LAYERS |= {"projects": "platform", "workloads": "deploy", "identity": "platform"}
APP_LAYERS |= {"notifications": "deploy"}
APP_LAYERS |= {"audit": "platform"}

# Imports inside functions that stay, each for a reason that is not a circle.
STARTUP_SPEED = "start-up speed of the b2i command: loaded only when that path runs"
ALLOWED_FUNCTION_IMPORTS = {
    ("b2i/cli_launch.py", "launch", "b2i.cli"): STARTUP_SPEED,
    ("b2i/oci/transport.py", "_load_trust", "certifi"): STARTUP_SPEED,
    ("b2i/packaging/inspection.py", "_inspect_kind", "b2i.packaging.binary"): STARTUP_SPEED,
    ("b2i/packaging/inspection.py", "_inspect_archive", "b2i.packaging.war"): STARTUP_SPEED,
    ("b2i/packaging/layering.py", "plan_layers", "b2i.packaging.war"): STARTUP_SPEED,
    # The SBOM readers and cyclonedx-python-lib (~50 ms): only builds that ask load them.
    ("b2i/engine.py", "_supply_chain", "b2i.engine_supply"): STARTUP_SPEED,
}
# Also allowed, by where they are: AppConfig.ready() in apps.py (Django imports apps.py before
# any model can be imported; ready() is its documented place to import and connect receivers),
# and migrations (frozen history, never rewritten; they import app code only when they run).


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    path: str  # file, relative to the repository
    target: str  # dotted module name (a project module, or the first-party name imported)
    function: str  # enclosing function, "" at module level
    type_only: bool  # under `if TYPE_CHECKING:`
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_files() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((REPO / package).rglob("*.py"))


MODULES = {module_name(path) for path in project_files()}


def first_party(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def targets_of(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> list[str]:
    """The modules an import statement names: `from a import b` names a.b when b is a module."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: resolve against the importing package
        anchor = importer.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    found = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
    return found if len(found) == len(node.names) else [base, *found]


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path) -> Iterator[Import]:
    importer = module_name(path)
    relative = str(path.relative_to(REPO))
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)

    def visit(node: ast.AST, function: str, type_only: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in targets_of(child, importer, path.name == "__init__.py"):
                    yield Import(importer, relative, target, function, type_only, child.lineno)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield from visit(child, function or child.name, type_only)
            elif isinstance(child, ast.If) and is_type_checking(child.test):
                yield from visit(child, function, True)
            else:
                yield from visit(child, function, type_only)

    yield from visit(tree, "", False)


ALL_IMPORTS = [found for path in project_files() for found in imports_of(path)]


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "b2i_console" and len(parts) > 1 and parts[1] in CONSOLE_EDGES:
        return "edges"
    if parts[0] != "b2i" and any(part in EDGE_PARTS for part in parts[1:]):
        return "edges"
    return APP_LAYERS[parts[0]]


def with_parents(module: str) -> list[str]:
    """Importing a.b.c runs a/__init__, a/b/__init__ and a/b/c: each is an edge of the graph."""
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts) + 1)]


def import_graph() -> dict[str, set[str]]:
    """Edges between project modules made by imports that run (at load or in a function).

    An import inside a function counts: moving one there hides a circle from Python, not from
    the design. Imports under `if TYPE_CHECKING:` never run and do not count.
    """
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for found in ALL_IMPORTS:
        if found.type_only or not first_party(found.target):
            continue
        for target in with_parents(found.target):
            if target in MODULES and target != found.importer:
                graph[found.importer].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_takes_part_in_an_import_circle() -> None:
    assert circles(import_graph()) == []


def test_the_circle_check_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{found.path}:{found.line} {layer_of(found.importer)} imports "
        f"{found.target} ({layer_of(found.target)})"
        for found in ALL_IMPORTS
        if first_party(found.target)
        and LAYERS.index(layer_of(found.target)) > LAYERS.index(layer_of(found.importer))
    ]
    assert upward == []


def test_the_layers_are_where_the_documentation_says() -> None:
    expected = {
        "b2i.oci.registry": "engine",
        "b2i_console.errors": "config",
        "b2i_console.celery": "config",
        "builders.services": "platform",
        "builders.artifacts.uploads": "platform",
        "projects.access": "platform",
        "workloads.services": "deploy",
        "notifications.services": "deploy",
        "notifications.api.views": "edges",
        "builders.api.views": "edges",
        "builders.consumers": "edges",
        "projects.admin": "edges",
        "workloads.management.commands": "edges",
        "b2i_console.pages.views": "edges",
        "b2i_console.api_errors": "edges",
    }
    assert {module: layer_of(module) for module in expected} == expected
    architecture = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert all(layer in architecture for layer in LAYERS)


def test_no_import_inside_a_function_except_the_allowed_ones() -> None:
    unexpected = [
        f"{found.path}:{found.line} imports {found.target} inside {found.function}()"
        for found in ALL_IMPORTS
        if found.function
        and (found.path, found.function, found.target) not in ALLOWED_FUNCTION_IMPORTS
        and not (found.path.endswith("/apps.py") and found.function == "ready")
        and "/migrations/" not in found.path
    ]
    assert unexpected == []


def test_each_allowed_function_import_is_still_there_and_commented() -> None:
    present = {(found.path, found.function, found.target): found for found in ALL_IMPORTS}
    for key in ALLOWED_FUNCTION_IMPORTS:
        assert key in present, f"{key} is gone: remove it from ALLOWED_FUNCTION_IMPORTS"
        lines = (REPO / key[0]).read_text(encoding="utf-8").splitlines()
        line = present[key].line
        assert "#" in lines[line - 1] or lines[line - 2].strip().startswith("#"), key
