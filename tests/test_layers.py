"""The project's layering, read from the source: which package may import which, the sandbox's
single door into the engine, and no import cycles between modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("emulator", "accounts", "content", "quizzes", "sandbox", "studyapp")
# What each package may import from the others (studyapp wires everything together).
ALLOWED = {
    "emulator": set(),
    "accounts": set(),
    "content": {"accounts"},
    "quizzes": {"accounts", "content"},
    "sandbox": {"accounts", "content", "emulator"},
    "studyapp": set(PACKAGES),
}


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def _module_names() -> list[str]:
    return [name for name, _ in _modules()]


def _imports(name: str, path: Path) -> set[str]:
    """Project modules ``name`` imports, anywhere in the file."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            submodules = {f"{module}.{alias.name}" for alias in node.names}
            if submodules <= set(_module_names()):
                found.update(submodules)  # ``from . import x``: the modules, not the package
            else:
                found.add(module)
    return {module for module in found if module.split(".")[0] in PACKAGES}


MODULES = dict(_modules())
GRAPH = {
    name: {m for m in _imports(name, path) if m in MODULES and m != name}
    for name, path in MODULES.items()
}


def test_packages_import_only_the_layers_below_them():
    upward = [
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if target.split(".")[0] != name.split(".")[0]
        and target.split(".")[0] not in ALLOWED[name.split(".")[0]]
    ]
    assert upward == []


def test_the_sandbox_reaches_the_engine_only_through_sandbox_engine():
    doors = {
        name
        for name, path in MODULES.items()
        if name.startswith("sandbox")
        and any(m.startswith("emulator") for m in _imports(name, path))
    }
    assert doors == {"sandbox.engine"}


def test_no_module_imports_itself_through_others():
    cycles = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(GRAPH[name]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_views_stay_short():
    """Views are HTTP glue: parse, call a service or selector, render (25 lines at most)."""
    long_views = []
    for name, path in MODULES.items():
        if not name.split(".")[-1].startswith("views"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.args.args[:1]:
                length = node.end_lineno - node.lineno + 1
                if node.args.args[0].arg == "request" and length > 25:
                    long_views.append(f"{name}.{node.name}: {length} lines")
    assert long_views == []


def test_modules_stay_readable():
    big = [
        f"{name}: {lines} lines"
        for name, path in MODULES.items()
        if name.split(".")[0] in ("emulator", "quizzes", "sandbox")
        and (lines := len(path.read_text().splitlines())) > 600
    ]
    assert big == []
