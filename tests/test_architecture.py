"""The layout shows the layers: imports point one way, no cycles, nobody reaches into the service.

Read from the source (every import, module level or inside a function, but not the
ones under ``if TYPE_CHECKING:``), so a lazy import that closes a cycle fails too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "minireg"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The minireg modules ``path`` imports, outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("minireg"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("minireg"):
            assert node.module is not None
            found.add(node.module)
            # `from minireg.cli import render` imports the module minireg.cli.render
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


MODULES = {_module(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


# A submodule's import of its own parent package is no edge: Python imports the parent
# first anyway (`from minireg.cli import render` imports minireg.cli.render).
# A submodule's import of its own parent package is no edge: Python imports the parent
# first anyway (`from minireg.cli import render` imports minireg.cli.render).
GRAPH = {
    name: {m for m in _imports(path) if m in MODULES and m != name and m not in _parents(name)}
    for name, path in MODULES.items()
}


def _cycle_from(start: str) -> list[str] | None:
    """A path start -> ... -> start through the import graph, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in GRAPH[node]:
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_no_import_cycles() -> None:
    cycles = [" -> ".join(c) for name in MODULES if (c := _cycle_from(name)) is not None]
    assert cycles == [], cycles


LAYERS = {
    # layer: what it may import besides itself (errors and _version are everyone's)
    "minireg.domain": set(),
    "minireg.storage": {"minireg.domain"},
    "minireg.adapters": {"minireg.domain", "minireg.storage"},
    "minireg.service": {"minireg.domain", "minireg.storage", "minireg.adapters"},
    "minireg.loading": {"minireg.domain", "minireg.storage", "minireg.service"},
    "minireg.exporters": {"minireg.domain", "minireg.service", "minireg.loading"},
    "minireg.cli": {
        "minireg.domain",
        "minireg.service",
        "minireg.loading",
        "minireg.exporters",
        "minireg.adapters",
        "minireg.storage",
    },
}
SHARED = {"minireg", "minireg.errors", "minireg._version"}


def _layer(name: str) -> str | None:
    return next((layer for layer in LAYERS if name == layer or name.startswith(layer + ".")), None)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_imports_point_one_way(layer: str) -> None:
    allowed = LAYERS[layer] | {layer}
    wrong = []
    for name, targets in GRAPH.items():
        if _layer(name) != layer:
            continue
        for target in targets - SHARED:
            if _layer(target) not in allowed:
                wrong.append(f"{name} imports {target}")
    assert wrong == [], wrong


def test_the_domain_touches_no_disk_clock_or_outside_library() -> None:
    banned = re.compile(
        r"^\s*(import|from)\s+(os|pathlib|subprocess|time|filelock|git|pandas|openpyxl|mlflow)\b",
        re.MULTILINE,
    )
    offenders = [
        f"{name}: {m.group(0).strip()}"
        for name, path in MODULES.items()
        if name.startswith("minireg.domain")
        for m in banned.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], offenders


def test_nothing_outside_the_service_reaches_into_a_registry() -> None:
    """`grep -rn "reg\\.storage\\|reg\\._\\|after_write" minireg` outside the service: nothing."""
    pattern = re.compile(r"\b(reg|registry)\.(storage|_\w+)|after_write")
    found = []
    for name, path in MODULES.items():
        if name.startswith(("minireg.service", "minireg.adapters.git.commit")):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == [], found


def test_every_module_stays_readable() -> None:
    long = [
        f"{name}: {n} lines"
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 450
    ]
    assert long == [], long
