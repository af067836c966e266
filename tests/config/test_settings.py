"""Settings are declared once: the environment's names, their bounds, the error that names the
variable, and the generated reference that cannot go stale."""

from __future__ import annotations

import pytest

from config import ROOT, ConfigError, Settings
from config.reference import render


def test_defaults_come_from_the_declaration() -> None:
    settings = Settings.from_env({})
    assert settings.port == 8000
    assert settings.cache_max_entries == 10_000
    assert settings.redis_url is None
    assert settings.cors_origins == ()


def test_values_are_read_by_their_environment_names_and_typed() -> None:
    settings = Settings.from_env(
        {"PORT": "9001", "GRAPHIQL": "off", "CORS_ORIGINS": "https://a.example, https://b.example"}
    )
    assert settings.port == 9001
    assert settings.graphiql is False
    assert settings.cors_origins == ("https://a.example", "https://b.example")


def test_empty_values_mean_unset() -> None:
    assert Settings.from_env({"PORT": "  ", "REDIS_URL": ""}).port == 8000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "0"}, "Config 'PORT' must be between 1 and 65535, got 0."),
        ({"PORT": "eighty"}, "Config 'PORT' must be an integer, got 'eighty'."),
        ({"DB_COMMAND_TIMEOUT": "0"}, "Config 'DB_COMMAND_TIMEOUT' must be at least 0.1, got 0."),
        ({"GRAPHIQL": "perhaps"}, "Config 'GRAPHIQL' must be true or false, got 'perhaps'."),
        ({"REDIS_URL": "http://x"}, "Config 'REDIS_URL' must start with redis://"),
        ({"DB_POOL_MIN": "20"}, "'DB_POOL_MIN' must not be greater than 'DB_POOL_MAX'"),
    ],
)
def test_a_bad_value_names_its_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert message in str(caught.value)


def test_replace_validates_like_the_environment() -> None:
    settings = Settings.from_env({})
    assert settings.replace(port=9002).port == 9002
    with pytest.raises(ValueError, match="port"):
        settings.replace(port=0)


def test_the_settings_reference_is_generated_from_the_class() -> None:
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page == render(), "docs/settings.md is stale: python -m config.reference > it"
    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in page
