"""The issuer's settings: keys are fetched over https, or http on loopback only."""

from __future__ import annotations

import pytest

from config import ConfigError, Settings


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("OIDC_ISSUER", "http://auth.example.com"),
        ("OIDC_JWKS_URL", "http://10.0.0.5/jwks"),
        ("OIDC_ISSUER", "ftp://127.0.0.1/"),
    ],
)
def test_keys_in_clear_over_a_network_stop_the_start(name: str, url: str) -> None:
    with pytest.raises(ConfigError, match=f"Config '{name}' must"):
        Settings.from_env({name: url})


def test_https_anywhere_and_http_on_loopback_are_accepted() -> None:
    for url in ("https://project.supabase.co/auth/v1", "http://127.0.0.1:9400", "http://[::1]:1"):
        assert Settings.from_env({"OIDC_ISSUER": url}).oidc_issuer == url
    assert Settings.from_env({}).oidc_audience == "authenticated"
