"""`python -m config.reference > docs/settings.md`: the settings reference, from `Settings`."""

from __future__ import annotations

from pathlib import Path

from pydantic.fields import FieldInfo

from config import ROOT, Settings

HEADER = """# Settings

Every setting is an environment variable, read once at start into `config.Settings`. A bad
value stops the process with a message naming the variable. This page is generated from that
class (`python -m config.reference > docs/settings.md`); a test fails when it is stale.

| variable | default | bounds | meaning |
| --- | --- | --- | --- |
"""

# Settings whose default depends on the machine or the checkout, shown as what they mean.
_SHOWN_DEFAULTS = {
    "workers": "the number of cores",
    "embedded_pgdata": "`.pgdata` in the checkout",
    "catalogue_path": "`db/catalogue.json`",
    "search_cache_dir": "`.cache/search` in the checkout",
}


def _default(name: str, field: FieldInfo) -> str:
    if name in _SHOWN_DEFAULTS:
        return _SHOWN_DEFAULTS[name]
    value = field.default
    if value is None:
        return "*(unset)*"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return "*(empty)*" if not value else f"`{','.join(value)}`"
    if isinstance(value, Path):
        return f"`{value.relative_to(ROOT)}`"
    return f"`{value}`"


def _bounds(field: FieldInfo) -> str:
    low = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in field.metadata if hasattr(m, "le")), None)
    if low is None and high is None:
        return ""
    if high is None:
        return f"≥ {low}"
    if low is None:
        return f"≤ {high}"
    return f"{low} to {high}"


def render() -> str:
    rows = [
        f"| `{name.upper()}` | {_default(name, field)} | {_bounds(field)} | "
        f"{field.description or ''} |"
        for name, field in Settings.model_fields.items()
    ]
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render(), end="")
