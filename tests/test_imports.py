"""The import graph of the package, read from the source: no circles, no module using
another's private names, and the runtime never importing training or export code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"fcn8_ocr": ROOT / "fcn8_ocr", "fcn8_ocr.train": ROOT / "train",
            "fcn8_ocr.export": ROOT / "export"}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.glob("*.py"):
            found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


def imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import in the file, lazy ones too."""
    package = name if path.stem == "__init__" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            target = node.module or ""
            if node.level:
                target = f"{base}.{target}" if target else base
            out.append((target, [alias.name for alias in node.names]))
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for target, names in imports(name, path):
            candidates = [target] + [f"{target}.{n}" for n in names]
            edges[name] |= {c for c in candidates if c in known and c != name}
    return edges


def test_no_import_circles():
    edges = graph()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                pytest.fail("import circle: " + " -> ".join(trail[trail.index(nxt):] + [node, nxt]))
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])


def test_no_private_names_across_modules():
    known = modules()
    offenders = []
    for name, path in known.items():
        for target, names in imports(name, path):
            if target in known or target.startswith("fcn8_ocr"):
                offenders += [f"{name} imports {target}.{n}" for n in names
                              if n.startswith("_") and n != "__version__"]
    assert not offenders, offenders


def test_runtime_never_imports_training_or_export_code_at_load():
    """Module-level imports only: `.keras` models and the training commands import
    `fcn8_ocr.train` lazily, inside the function that needs it."""
    offenders = []
    for name, path in modules().items():
        if not name.startswith("fcn8_ocr.") or name.startswith(("fcn8_ocr.train", "fcn8_ocr.export")):
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                text = ast.unparse(node)
                if any(word in text for word in ("train", "export", "tensorflow", "keras", "tf2onnx")):
                    offenders.append(f"{name}: {text}")
    assert not offenders, offenders


def test_the_checks_see_a_circle_and_a_private_import(tmp_path, monkeypatch):
    """The graph reader finds what it is meant to find (a test of the test)."""
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text("from .b import _hidden\n")
    (tmp_path / "b.py").write_text("def f():\n    from . import a\n")
    monkeypatch.setitem(PACKAGES, "fcn8_ocr", tmp_path)
    monkeypatch.delitem(PACKAGES, "fcn8_ocr.train")
    monkeypatch.delitem(PACKAGES, "fcn8_ocr.export")
    assert graph()["fcn8_ocr.a"] == {"fcn8_ocr.b"} and "fcn8_ocr.a" in graph()["fcn8_ocr.b"]
    with pytest.raises(pytest.fail.Exception, match="import circle"):
        test_no_import_circles()
    with pytest.raises(AssertionError, match="_hidden"):
        test_no_private_names_across_modules()
