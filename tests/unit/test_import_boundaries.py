"""Adapters never import each other (ARCHITECTURE.md: they talk to the core through the
runtime only; `appliance/bootstrap.py` and `appliance/wiring.py` are the composition root).
Read from the source tree with `ast`, so a lazy import inside a function counts as much as
one at the top.

What an adapter may import:
- its own package, the standard library and third-party packages;
- `appliance.core` (the pure core: model, messages, views);
- the shell's shared modules: every `appliance.<module>` that is neither an adapter nor a
  composition, e.g. `appliance.runtime` (submit, subscribe) and its typed port
  `appliance.runtime_port`, `appliance.config`,
  `appliance.commands` (the one command table), `appliance.services` (the typed ports the
  parts offer each other), `appliance.playlist_files`, `appliance.content_files`,
  `appliance.backup_format`, `appliance.pins`;
Nothing from another adapter, and nothing from a composition (`appliance.bootstrap`,
`appliance.wiring`, `appliance.remote_console`, `appliance.fleet_console`,
`appliance.__main__`), not even for a type: a part's builder takes the pieces it uses,
never the `Box`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = (
    "appliance.player",
    "appliance.library",
    "appliance.cloud",
    "appliance.display",
    "web",
    "hardware",
    "appliance.scheduler",
    "appliance.sdnotify",
    "appliance.content",
    "appliance.backup",
)
COMPOSITIONS = (
    "appliance.bootstrap",
    "appliance.wiring",
    "appliance.remote_console",
    "appliance.fleet_console",
    "appliance.__main__",
)
OURS = ("appliance", "web", "hardware", "provisioning", "tests", "bench")


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def adapter_of(name: str) -> str | None:
    return next((a for a in ADAPTERS if within(name, a)), None)


def imports(tree: ast.Module, module: str, is_package: bool) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, only for type checking) for every import in the tree."""
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in type_only
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module.split(".")
                package = package if is_package else package[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            # `from web import create_app` names a module or an attribute of `web`: both count
            yield base, node.lineno, id(node) in type_only
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno, id(node) in type_only


def sources(package: str) -> list[Path]:
    """A package's modules, or the one module an adapter is."""
    folder = ROOT.joinpath(*package.split("."))
    if folder.is_dir():
        return sorted(folder.rglob("*.py"))
    module = folder.with_suffix(".py")
    return [module] if module.is_file() else []


def crossings() -> list[str]:
    found = []
    for package in ADAPTERS:
        for path in sources(package):
            module = module_name(path)
            tree = ast.parse(path.read_text(), str(path))
            for name, line, type_only in imports(tree, module, path.name == "__init__.py"):
                if not name.startswith(OURS) or within(name, package):
                    continue
                other = adapter_of(name)
                if other is not None and other != package:
                    found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
                elif any(within(name, c) for c in COMPOSITIONS):
                    when = "for a type" if type_only else "at run time"
                    found.append(f"{path.relative_to(ROOT)}:{line} imports {name} {when}")
    return found


def test_adapters_never_import_each_other() -> None:
    assert crossings() == []


def test_the_check_sees_a_crossing(tmp_path: Path) -> None:
    """The walk finds lazy, relative and type-only imports (so an empty answer means
    something): a small module with each kind."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from appliance.bootstrap import Box\n"
        "    from appliance.library.service import LibraryService\n"
        "def f():\n"
        "    from web.server import ConsoleServer\n"
        "from . import link\n"
    )
    seen = list(imports(ast.parse(source), "appliance.cloud.factory", False))
    assert ("appliance.bootstrap", 3, True) in seen
    assert ("appliance.library.service", 4, True) in seen
    assert ("web.server", 6, False) in seen
    assert ("appliance.cloud.link", 7, False) in seen
    assert adapter_of("web.server") == "web" and adapter_of("appliance.commands") is None
