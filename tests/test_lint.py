"""The code stays clean: ruff with the project's rules (B, E, F, I, UP, W and Airflow 3's AIR3)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_passes():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "--no-cache", "--output-format", "concise", "."],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _imports_of_ingest() -> dict[str, set[str]]:
    """Module -> the `ingest` modules it imports, at the top or inside a function (imports
    under `if TYPE_CHECKING:` never run and are left out), read from the source with `ast`."""
    modules = {}
    for path in (ROOT / "ingest").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)

    def statements(body):
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                yield from statements(node.orelse)
                continue
            yield node
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from statements(getattr(node, field, []))

    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        imported = set()
        for node in statements(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package of this module
                    package = name.split(".")[:len(name.split(".")) - (not is_package)]
                    base = ".".join(package[:len(package) - node.level + 1] + [base] * bool(base))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    imported |= {full} if full in modules else {base} & modules.keys()
        graph[name] = imported - {name}
    return graph


def test_no_import_cycle_among_ingest_modules():
    """No `ingest` module imports, directly or through others, a module that imports it: not at
    the top of a file and not hidden in a function either (the step modules of a run depend one
    way, and `pipeline` only conducts them)."""
    graph = _imports_of_ingest()
    assert "ingest.pipeline" in graph and graph["ingest.pipeline"], "the walk found nothing"
    cycles, done, path = [], set(), []

    def visit(module: str) -> None:
        if module in path:
            cycles.append(path[path.index(module):] + [module])
            return
        if module in done:
            return
        path.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)
