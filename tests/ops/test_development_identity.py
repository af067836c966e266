"""`serve` without OIDC_ISSUER: the development identity provider starts on loopback before the
workers, they verify its tokens, /health and /auth/config say so; and it never serves an API
bound to another address."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ops.cli import main
from tests.support.identity import TestIssuer
from tests.support.processes import serving

LOOKUP = '{ microService(slug: "wall-painting") { id } }'


def test_serve_starts_the_development_provider_for_its_workers(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with serving(database_url, log, WORKERS="2", MIGRATE_ON_START="false") as server:
        config = httpx.get(f"{server.url}/auth/config", timeout=5).json()
        issuer = config["issuer"]
        assert config["development"] is True
        assert issuer.startswith("http://127.0.0.1:")
        identity = httpx.get(f"{server.url}/health", timeout=5).json()["identity"]
        assert identity["issuer"] == issuer
        assert identity["development"] is True
        token = TestIssuer(issuer).token("dev-customer")
        for _ in range(4):  # whichever worker answers
            answered = httpx.post(
                f"{server.url}/graphql",
                json={"query": LOOKUP},
                headers={"Authorization": f"Bearer {token}"},
                timeout=5,
            )
            assert answered.json()["data"]["microService"]["id"]
            assert answered.headers["RateLimit-Policy"].startswith('"customer"')
    text = log.read_text()
    assert "development identity provider at " + issuer in text
    assert "dev-customer" not in text


def test_serve_refuses_the_development_provider_off_loopback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.delenv("OIDC_ISSUER", raising=False)
    assert main(["serve"]) == 2
    assert "loopback HOST (got '0.0.0.0')" in capsys.readouterr().err
