"""Settings, declared once: each one's type, bounds, default and meaning live in `Settings`.

`Settings` gathers the groups declared beside it, one module per concern (`config/server.py`,
`config/database.py`, ...). Read from the environment (upper-case names: `PORT`, `REDIS_URL`,
...) by pydantic-settings; `docs/settings.md` is generated from the groups
(`python -m config.reference`), and a test keeps it in step. A bad value stops the process with
a message that names the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.caching import CachingSettings
from config.database import DatabaseSettings
from config.identity import IdentitySettings
from config.jobs import JobSettings
from config.limits import LimitSettings
from config.lookups import LookupSettings, redis_address
from config.monitoring import MonitoringSettings
from config.paths import ROOT
from config.search import SearchSettings
from config.server import ServerSettings
from config.uploads import UploadSettings
from config.webhooks import WebhookSettings

__all__ = ["GROUPS", "ROOT", "ConfigError", "Settings", "redis_address"]

# The groups in the order the reference lists them.
GROUPS: tuple[type[BaseSettings], ...] = (
    ServerSettings,
    DatabaseSettings,
    LookupSettings,
    CachingSettings,
    LimitSettings,
    MonitoringSettings,
    UploadSettings,
    JobSettings,
    WebhookSettings,
    SearchSettings,
    IdentitySettings,
)


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


# pydantic collects fields from the last base to the first: the groups are listed in reverse so
# that `model_fields` (and so a dump or a copy) follows the reference's order.
class Settings(
    IdentitySettings,
    SearchSettings,
    WebhookSettings,
    JobSettings,
    UploadSettings,
    MonitoringSettings,
    LimitSettings,
    CachingSettings,
    LookupSettings,
    DatabaseSettings,
    ServerSettings,
):
    """Every setting, read once from the environment into one frozen object."""

    model_config = SettingsConfigDict(
        frozen=True, env_ignore_empty=True, case_sensitive=False, extra="ignore"
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (the process environment when None); `ConfigError` naming the
        variable when a value is malformed or out of bounds."""
        try:
            if env is None:
                return cls()
            known = {name.upper() for name in cls.model_fields}
            given = {k.lower(): v.strip() for k, v in env.items() if k.upper() in known}
            return cls.model_validate({k: v for k, v in given.items() if v})
        except ValidationError as exc:
            raise ConfigError(_message(cls, exc)) from None

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes` applied and validated like values from the environment."""
        return type(self).model_validate({**self.model_dump(), **changes})


def _message(cls: type[Settings], exc: ValidationError) -> str:
    """The first error, in words that name the environment variable."""
    error = exc.errors()[0]
    location = error["loc"]
    if not location:
        return f"Config {str(error['msg']).removeprefix('Value error, ')}."
    name = str(location[0]).upper()
    given = error.get("input")
    field = cls.model_fields.get(str(location[0]))
    bounds = {
        type(m).__name__: getattr(m, attr)
        for m in (field.metadata if field else [])
        for attr in ("ge", "le")
        if hasattr(m, attr)
    }
    kind = error["type"]
    if kind in ("greater_than_equal", "less_than_equal"):
        low, high = bounds.get("Ge"), bounds.get("Le")
        if low is not None and high is not None:
            return f"Config '{name}' must be between {low} and {high}, got {given}."
        if low is not None:
            return f"Config '{name}' must be at least {low}, got {given}."
        return f"Config '{name}' must be at most {high}, got {given}."
    words = {
        "int_parsing": "an integer",
        "int_from_float": "an integer",
        "float_parsing": "a number",
        "bool_parsing": "true or false",
    }
    if kind in words:
        return f"Config '{name}' must be {words[kind]}, got {given!r}."
    detail = str(error["msg"]).removeprefix("Value error, ")
    return f"Config '{name}' {detail}."
