"""`python -m config.reference > docs/settings.md`: the settings reference, from `Settings`."""

from __future__ import annotations

from pathlib import Path

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from config import GROUPS, ROOT, Settings

HEADER = """# Settings

Every setting is an environment variable, read once at start into `config.Settings`. A bad
value stops the process with a message naming the variable. This page is generated from that
class (`python -m config.reference > docs/settings.md`); a test fails when it is stale. The
settings are grouped by concern, one module of `config/` per group.
"""

TABLE_HEAD = """| variable | default | bounds | meaning |
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


def _group(group: type[BaseSettings]) -> str:
    title, _, summary = (group.__doc__ or "").partition(": ")
    module = group.__module__.replace(".", "/") + ".py"
    rows = [
        f"| `{name.upper()}` | {_default(name, field)} | {_bounds(field)} | "
        f"{field.description or ''} |"
        for name, field in group.model_fields.items()
    ]
    intro = f"{summary[:1].upper()}{summary[1:]} Declared in `{module}`."
    return f"\n## {title}\n\n{intro}\n\n" + TABLE_HEAD + "\n".join(rows) + "\n"


def render() -> str:
    listed = [name for group in GROUPS for name in group.model_fields]
    if sorted(listed) != sorted(Settings.model_fields):
        raise RuntimeError("config.GROUPS and config.Settings list different settings")
    return HEADER + "".join(_group(group) for group in GROUPS)


if __name__ == "__main__":
    print(render(), end="")
