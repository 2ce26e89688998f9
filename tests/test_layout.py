"""The layout holds: one package per job, imports pointing one way, no import circle, small modules, unique names.

Imports are read from the source (module level and inside functions; ``if TYPE_CHECKING:`` blocks are left out
because they never run). A package may import itself and what its row allows, nothing else.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = ("eventform", "modules")
MAX_LINES = 600

# Who may import whom, by package (the first matching prefix wins). Reads bottom-up: runtime is the leaf.
ALLOWED: dict[str, set[str]] = {
    "eventform.runtime": set(),
    "eventform.catalog": {"eventform.runtime"},
    "eventform.synthesis.packaging": {"eventform.catalog"},
    "eventform.synthesis.toolchain": set(),
    "eventform.synthesis.lock": set(),
    "eventform.synthesis.atomic": set(),
    "modules": {"eventform.catalog", "eventform.synthesis.packaging"},
    "eventform.synthesis": {"eventform.catalog", "eventform.runtime", "modules"},
    "eventform.compliance": {"eventform.catalog", "eventform.synthesis.lock"},
    "eventform.local": {"eventform.catalog", "eventform.runtime", "eventform.synthesis"},
    "eventform.authoring": {"eventform.catalog", "eventform.runtime", "eventform.synthesis", "modules"},
    "eventform.cli": {"eventform", "modules"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, Path]:
    return {module_name(p): p for top in CODE for p in sorted((ROOT / top).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Internal modules ``path`` imports when it runs (``from pkg import module`` counts as the module)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    candidate = f"{child.module}.{alias.name}"
                    found.add(candidate if candidate in known else child.module)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {name for name in found if name in known and name.split(".")[0] in CODE}


def graph() -> dict[str, set[str]]:
    modules = sources()
    known = set(modules)
    return {name: imports_of(path, known) - {name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def package_of(name: str) -> str:
    return max((prefix for prefix in ALLOWED if name == prefix or name.startswith(prefix + ".")), key=len, default="")


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_eventform_or_modules() -> None:
    edges = graph()
    assert sum(len(targets) for targets in edges.values()) > 100, "the import reader found too few imports"
    assert cycles(edges) == []


def test_imports_point_one_way() -> None:
    wrong = []
    for name, targets in graph().items():
        home = package_of(name)
        assert home or name in {"eventform", "modules"}, f"{name} belongs to no package of the layout"
        for target in sorted(targets):
            there = package_of(target)
            allowed = (home, *ALLOWED.get(home, ()))
            if target in {"eventform", "modules"}:  # the root packages hold a docstring only (checked below)
                continue
            if there == home or any(target == a or target.startswith(a + ".") for a in allowed):
                continue
            wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_modules_stay_small() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in sources().items()}
    assert {name: size for name, size in sizes.items() if size > MAX_LINES} == {}


def test_no_two_modules_share_a_file_name() -> None:
    names = Counter(path.name for path in sources().values() if path.name != "__init__.py")
    assert [name for name, count in names.items() if count > 1] == []


@pytest.mark.parametrize("package", sorted({n for n, p in sources().items() if p.name == "__init__.py"}))
def test_each_package_says_what_it_is_for_and_may_import(package: str) -> None:
    doc = ast.get_docstring(ast.parse(sources()[package].read_text())) or ""
    assert doc, f"{package}/__init__.py has no docstring"
    if package not in {"eventform", "modules"}:
        assert "import" in doc.lower(), f"{package}'s docstring does not say what it may import"


def test_handlers_hold_only_handler_packages() -> None:
    stray = [p.name for p in (ROOT / "handlers").glob("*.py") if p.name not in {"__init__.py", "conftest.py"}]
    assert stray == [], "the handler runtime lives in eventform/runtime; handlers/ is the teams' folder"


def test_root_packages_hold_no_code() -> None:
    for root in CODE:
        tree = ast.parse((ROOT / root / "__init__.py").read_text())
        assert [type(node).__name__ for node in tree.body] == ["Expr"], f"{root}/__init__.py must be a docstring only"
