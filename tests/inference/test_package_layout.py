"""The inference package's shape, checked: the platform imports its serving part only (and the
phantoms where it makes demo or test data), the package never imports Django, and no module grows
past what one person reads at once."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
INFERENCE = ROOT / "inference"
PLATFORM = ROOT / "platform" / "dermrelay"
MAX_LINES = 400


def _imported_modules(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every absolute import in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _makes_demo_or_test_data(path: pathlib.Path) -> bool:
    relative = path.relative_to(PLATFORM)
    return "management" in relative.parts or relative.as_posix() == "qa/seeding.py"


def test_the_platform_imports_inference_serving_only_and_phantoms_for_demo_data():
    wrong = []
    for path in sorted(PLATFORM.rglob("*.py")):
        for line, module in _imported_modules(path):
            if module.split(".")[0] != "inference":
                continue
            allowed = module.startswith("inference.serving.") or (
                module.startswith("inference.phantoms.") and _makes_demo_or_test_data(path))
            if not allowed:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_inference_never_imports_django():
    found = [f"{path.relative_to(ROOT)}:{line}" for path in sorted(INFERENCE.rglob("*.py"))
             for line, module in _imported_modules(path) if module.split(".")[0] in ("django", "dermrelay", "rest_framework")]
    assert not found, found


def test_no_inference_module_is_longer_than_one_person_reads_at_once():
    long = {str(path.relative_to(ROOT)): n for path in sorted(INFERENCE.rglob("*.py"))
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_the_command_lines_and_every_module_import():
    import importlib
    import pkgutil

    import inference

    for found in pkgutil.walk_packages(inference.__path__, "inference."):
        importlib.import_module(found.name)
