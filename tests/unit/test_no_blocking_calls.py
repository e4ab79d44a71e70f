"""DESIGN rule 1: the library never calls ``asyncio.run``, ``nest_asyncio`` or ``time.sleep``
(only ``cli.py`` may call ``asyncio.run`` and sleep). Checked on the syntax tree of every module
of the package, so names in docstrings and comments do not count but aliases do."""

from __future__ import annotations

import ast
from pathlib import Path

import workbench

PACKAGE = Path(workbench.__file__).parent
ALLOWED = {"cli.py"}


def _violations(source: str) -> list[str]:
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # local name -> "module.attr" or "module"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "nest_asyncio":
                    found.append(f"line {node.lineno}: import nest_asyncio")
                aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "nest_asyncio":
                found.append(f"line {node.lineno}: from nest_asyncio import ...")
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            target = f"{aliases.get(func.value.id, func.value.id)}.{func.attr}"
        elif isinstance(func, ast.Name):
            target = aliases.get(func.id, func.id)
        else:
            continue
        if target in ("asyncio.run", "time.sleep", "nest_asyncio.apply") or target.endswith(".run_until_complete"):
            found.append(f"line {node.lineno}: {target}()")
    return found


def test_the_checker_finds_aliased_and_direct_calls() -> None:
    bad = ("import asyncio as aio\nfrom time import sleep as nap\nimport nest_asyncio\n"
           "def f():\n    aio.run(g())\n    nap(1)\n    loop.run_until_complete(g())\n")
    assert len(_violations(bad)) == 4
    assert _violations('"""asyncio.run and time.sleep are named in docs only."""\nimport time\ntime.time()\n') == []


def test_no_blocking_loop_calls_in_the_library() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 30
    problems = {
        str(path.relative_to(PACKAGE)): found
        for path in modules
        if path.name not in ALLOWED and (found := _violations(path.read_text(encoding="utf-8")))
    }
    assert problems == {}
