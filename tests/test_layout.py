"""Size budgets (STYLE.md): modules at most 800 lines, functions at most 80; every capability
exposes its narrow interface from its `__init__` with an explicit `__all__`."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "llmdeck"
MODULE_LINES = 800
FUNCTION_LINES = 80
CAPABILITIES = ("config", "store", "observe", "prompts", "guards", "vectors", "gateway", "server")


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_modules_stay_small() -> None:
    big = {
        str(path.relative_to(SRC)): n
        for path in modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MODULE_LINES
    }
    assert big == {}


def test_functions_stay_short() -> None:
    long = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > FUNCTION_LINES:
                    long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({lines})")
    assert long == []


def test_each_capability_declares_its_interface() -> None:
    for name in CAPABILITIES:
        module = importlib.import_module(f"llmdeck.{name}")
        exported = getattr(module, "__all__", None)
        assert exported, f"llmdeck.{name} has no __all__"
        missing = [n for n in exported if not hasattr(module, n)]
        assert missing == [], f"llmdeck.{name}.__all__ names what it lacks: {missing}"
