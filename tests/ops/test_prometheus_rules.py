"""ops/prometheus/alerts.yml: valid rules, proved by `promtool test rules` on its unit tests,
over metric names the server really exposes. `make pytest` installs promtool (Debian's
`prometheus` package); without it these tests fail rather than skip."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from prometheus_client import REGISTRY

import monitoring.metrics  # noqa: F401  # registers the server's metrics

RULES_DIR = Path(__file__).resolve().parents[2] / "ops" / "prometheus"
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_sum", "_count", "_bucket"),
    "gauge": ("",),
}


def _promtool() -> str:
    path = shutil.which("promtool")
    assert path is not None, (
        "promtool is missing: `make pytest` installs it (apt-get install -y prometheus)"
    )
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *args], cwd=RULES_DIR, capture_output=True, text=True, timeout=60
    )


def test_the_rules_are_valid() -> None:
    result = _run("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    # Every rule of the file is found: as many as it has `- alert:` lines.
    declared = (RULES_DIR / "alerts.yml").read_text().count("- alert:")
    assert f"{declared} rules found" in result.stdout


def test_the_rules_pass_their_unit_tests() -> None:
    result = _run("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_read_only_metrics_the_server_exposes() -> None:
    exposed = {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }
    rules = (RULES_DIR / "alerts.yml").read_text()
    code = "\n".join(line for line in rules.splitlines() if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\bjobwizard_[a-z_]+", code))
    assert used
    assert used <= exposed, used - exposed
