"""The package's shape: data flows one way (files → model → content → messages → transport), so
no module imports one that imports it back, and no stage reaches into a later one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "announcer"

# A stage and the later stages it must not import (what it hands its work to never calls back).
LATER = {
    "announcer.model": ("announcer.load", "announcer.render", "announcer.compose", "announcer.deliver"),
    "announcer.render": ("announcer.compose", "announcer.deliver", "announcer.jobs", "announcer.cli"),
    "announcer.compose": ("announcer.deliver", "announcer.jobs", "announcer.cli", "announcer.pipeline"),
    "announcer.deliver": ("announcer.render", "announcer.jobs", "announcer.cli", "announcer.pipeline"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules this one imports, at its top or inside a function."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    return {name for name in imported if name in modules}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or round a circle (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while (member := stack.pop()) != module:
                group.append(member)
            if group:
                found.append(sorted([module, *group]))

    for module in graph:
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert _circles(_graph()) == []


def test_the_circle_check_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("stage", list(LATER))
def test_no_stage_reaches_into_a_later_one(stage: str) -> None:
    wrong = sorted(
        f"{module} imports {imported}"
        for module, imports in _graph().items()
        if module == stage or module.startswith(stage + ".")
        for imported in imports
        if any(imported == later or imported.startswith(later + ".") for later in LATER[stage])
    )
    assert wrong == []
