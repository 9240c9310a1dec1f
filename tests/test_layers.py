"""The package layers, read from the source: ``common`` at the bottom, the libraries ``tools``,
``voice`` and ``knowledge`` above it, the app ``assistant`` on top. A module may import its own
layer and the ones below, never one above, not even inside a function. Inside ``assistant`` the
modules import each other without a cycle (an import inside a function hides one, it does not
break it): the turn loop calls the handlers, the handlers never import the turn loop."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("tools", "voice", "knowledge")
# package -> the lui packages it must not import
FORBIDDEN = {"common": ("assistant", *LIBRARIES), **{lib: ("assistant",) for lib in LIBRARIES}}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for stmt in node.body
        for inner in ast.walk(stmt)
    }


def imported_modules(path: Path, *, names: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in a file that runs, at any depth (functions
    included; ``if TYPE_CHECKING:`` blocks left out). ``names``: also ``module.name`` for each
    name of a ``from module import name`` (it may be a submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = _type_checking_only(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            if names:
                found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def top_package(module: str) -> str:
    return module.split(".", 1)[0]


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, module in imported_modules(path)
        if top_package(module) in forbidden
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_lower_layer_never_imports_a_higher_one(package):
    assert violations(package, FORBIDDEN[package]) == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from assistant.errors import LuiError\n    import assistant.nlu\n")
    assert [m for _, m in imported_modules(module)] == ["assistant.errors", "assistant.nlu"]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_import_graph() -> dict[str, set[str]]:
    """assistant module -> the assistant modules it imports. A package's lazy import of its own
    backends (``assistant.shared`` -> ``assistant.shared.redis_state``) is how it picks one, not a
    cycle between peers, so edges from a package into itself are left out."""
    modules = {module_name(p): p for p in (ROOT / "assistant").rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        graph[name] = {
            module for _, module in imported_modules(path, names=True)
            if module in modules and module != name and not (is_package and module.startswith(name + "."))
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_app_modules_import_each_other_without_a_cycle():
    graph = app_import_graph()
    assert "assistant.turns" not in graph["assistant.handlers"]
    assert "assistant.handlers" in graph["assistant.turns"]  # the graph is read at all
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle_hidden_in_a_function():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_librarys_error_base_is_one_the_api_layer_turns_into_an_error_event():
    from assistant.errors import LuiError
    from knowledge.errors import KnowledgeError
    from tools.errors import PaymentRefused, ToolError
    from voice.errors import VoiceError

    for base in (ToolError, VoiceError, KnowledgeError):
        assert issubclass(base, LuiError), base  # ``except LuiError`` in assistant/api catches it
    refused = PaymentRefused("insufficient-balance")
    assert (refused.code, refused.message, refused.retryable) == ("insufficient-balance", "insufficient balance", False)
    busy = VoiceError("stt-busy")
    assert (busy.code, busy.retryable) == ("stt-busy", True)
