"""The arrows between rooms (ARCHITECTURE.md) hold: import-linter's contracts over the package."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    """``[tool.importlinter]`` in pyproject.toml: a new wrong arrow fails here, naming the import and its line."""
    command = shutil.which("lint-imports")
    assert command, "lint-imports is missing: pip install -e '.[test]'"
    done = subprocess.run([command, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _imports_of_ray_tune(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module.startswith("ray.tune") or (node.module == "ray" and any(a.name == "tune" for a in node.names))):
            lines.append(node.lineno)
        elif isinstance(node, ast.Import) and any(a.name.startswith("ray.tune") for a in node.names):
            lines.append(node.lineno)
    return lines


def test_only_the_tune_room_imports_ray_tune():
    """Ray Tune's API moves between releases; one room adapts to it (import-linter sees only ``ray``)."""
    tune_room = ROOT / "tunelake" / "platform" / "tune"
    elsewhere = {str(p.relative_to(ROOT)): lines for p in (ROOT / "tunelake").rglob("*.py")
                 if tune_room not in p.parents and (lines := _imports_of_ray_tune(p))}
    assert elsewhere == {}


def test_no_import_cycle_between_modules():
    """Lazy imports inside functions count too: a cycle is a cycle, whenever it is walked."""
    import grimp

    graph = grimp.build_graph("tunelake")
    cycles = [sorted(c) for c in _strongly_connected(graph) if len(c) > 1]
    assert cycles == []


def _strongly_connected(graph) -> list[set[str]]:  # type: ignore[no-untyped-def]
    """Tarjan's algorithm over the package's direct imports (iterative: the graph is deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
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
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def test_modules_and_functions_stay_small():
    """A module past 300 lines holds more than one idea, a function past 60 more than one step: split them."""
    too_long = []
    for path in sorted((ROOT / "tunelake").rglob("*.py")):
        text = path.read_text()
        name = str(path.relative_to(ROOT))
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}:{node.lineno} {node.name}(): {length} lines")
    assert too_long == []
