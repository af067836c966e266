"""`search` sits beside `domain` at the bottom: it may import `domain`, the standard library and
third-party packages, never a layer of this application above it."""

import ast
from pathlib import Path

import search

FORBIDDEN = {"api", "schema", "resolvers", "context", "monitoring", "loaders", "db", "server"}


def test_search_imports_nothing_above_domain() -> None:
    package = Path(search.__file__).parent
    offenders = []
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{module.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
