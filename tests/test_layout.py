"""House rules that code review would otherwise have to remember: the import rule and documented commands."""

from __future__ import annotations

import ast
from pathlib import Path

import click

from tracker.cli import COMMANDS, cli, load_all

PKG = Path(__file__).resolve().parent.parent / "tracker"
STAGES = {"fetch", "sources", "normalize", "store", "diff", "notify"}
# who may import whom (first dotted part of the module inside the package)
ALLOWED = {
    "models": set(), "errors": set(), "timeutil": {"errors"},
    "config": {"errors", "models", "timeutil"},
    "fetch": {"models", "errors", "config"},
    "sources": {"models", "errors", "config", "sources"},
    "normalize": {"models", "errors", "config"},
    "diff": {"models", "numbers"}, "numbers": set(),
    "notify": {"models", "errors", "config", "numbers", "timeutil", "notify"},
    "store": {"models", "errors", "diff"}, "guards": {"models", "errors", "config"},
    "judge": {"config", "diff", "models", "normalize", "store"},
    "collect": {"models", "errors", "config", "timeutil", "fetch", "sources", "normalize", "store", "pipeline",
                "importing"},
    "detect": {"models", "errors", "config", "timeutil", "numbers", "fetch", "sources", "normalize", "store", "diff",
               "guards", "judge", "pipeline"},
    "site": {"config", "diff", "errors", "history", "models", "numbers", "store", "timeutil", "views"},
    "workers": {"models", "errors", "config", "timeutil", "fetch", "store", "pipeline", "scheduler", "alerts",
                "collect", "render"},
}
THIRD_PARTY_HOME = {"requests": {"fetch", "notify"}, "protego": {"fetch"}, "urllib3": {"fetch"},
                    "lxml": {"sources", "detect"}, "apprise": {"notify"},
                    "sqlalchemy": {"store"}, "alembic": {"store"}, "apscheduler": {"scheduler", "crontrigger"},
                    "cronsim": {"config"},
                    "click": {"cli"}, "matplotlib": {"chart"}, "jmespath": {"sources", "config"},
                    "yaml": {"sources", "detect"}, "ijson": {"sources"}, "pyarrow": {"sources"},
                    "orjson": {"store"}, "zstandard": {"store"}}


def modules() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(PKG).with_suffix("")).replace("/", "."), ast.parse(p.read_text()))
            for p in PKG.rglob("*.py")]


def internal_imports(name: str, tree: ast.Module) -> set[str]:
    out: set[str] = set()
    depth = name.count(".") + 1
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            parts = name.split(".")[: depth - node.level] if node.level <= depth else []
            target = ".".join([*parts, *(node.module.split(".") if node.module else [])])
            out.add(target.split(".")[0] if target else (node.names[0].name if node.level else ""))
            if not node.module and not target:
                out.update(a.name for a in node.names)
    return {x for x in out if x and not x.startswith("__")}


def test_import_rule() -> None:
    for name, tree in modules():
        top = name.split(".")[0]
        if top in ALLOWED:
            bad = internal_imports(name, tree) - ALLOWED[top] - {top, "__init__"}
            assert not bad, f"{name} imports {bad}; allowed: {ALLOWED[top]}"


def test_third_party_libraries_have_one_home() -> None:
    for name, tree in modules():
        top = name.split(".")[0]
        for node in ast.walk(tree):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for m in mods:
                lib = m.split(".")[0]
                if lib in THIRD_PARTY_HOME:
                    assert top in THIRD_PARTY_HOME[lib], f"{name} imports {lib}"


def test_every_command_has_help_with_an_example() -> None:
    def walk(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
        out: list[tuple[str, click.Command]] = []
        for n, c in group.commands.items():
            out.append((f"{prefix} {n}", c))
            if isinstance(c, click.Group):
                out.extend(walk(c, f"{prefix} {n}"))
        return out

    load_all()
    commands = walk(cli, "tracker")
    assert {n for n, _ in commands} >= {"tracker run", "tracker import", "tracker diff", "tracker show",
                                        "tracker events", "tracker boards"}
    for name, cmd in commands:
        assert cmd.help and "Example: tracker" in cmd.help, name


def test_the_lazy_command_table_matches_the_commands() -> None:
    """`tracker --help` lists commands from COMMANDS without importing them: it must say what they say."""
    load_all()
    assert set(COMMANDS) == set(cli.commands)
    for name, (module, text) in COMMANDS.items():
        cmd = cli.commands[name]
        assert cmd.callback is not None and cmd.callback.__module__ == f"tracker.cli.{module}", name
        assert cmd.get_short_help_str(10_000) == text, f"update COMMANDS[{name!r}] in tracker/cli/__init__.py"


def test_public_functions_have_docstrings_and_modules_stay_small() -> None:
    for name, tree in modules():
        assert ast.get_docstring(tree), f"{name} has no module docstring"
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
                assert ast.get_docstring(node), f"{name}.{node.name} has no docstring"
        lines = len((PKG / (name.replace(".", "/") + ".py")).read_text().splitlines())
        assert lines <= 400, f"{name} has {lines} lines"
