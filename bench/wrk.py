"""wrk, as the benchmarks drive it: a Lua script per system and operation, one run, its figures
read back from wrk's report."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from bench.processes import RunResult
from bench.scenarios import FLOOR, OURS, Scenario, literal_body


def lua_script(
    path: Path, scenario: Scenario, system: str, slugs: list[str], headers: dict[str, str]
) -> Path:
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    template = _slug_template(scenario, system)
    if template is not None:
        quoted = ", ".join(f'"{s}"' for s in slugs)
        lines += [
            f"local slugs = {{{quoted}}}",
            f"local template = [==[{template}]==]",
            "local n = 0",
            "request = function()",
            "  n = n + 1",
            "  return wrk.format(nil, nil, nil, string.format(template, slugs[(n % #slugs) + 1]))",
            "end",
        ]
    elif scenario.variants and system in (OURS, FLOOR):
        bodies = ", ".join(f"[==[{variant}]==]" for variant in scenario.variants)
        lines += [
            f"local bodies = {{{bodies}}}",
            "request = function()",
            "  return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])",
            "end",
        ]
    else:
        lines.append(f"wrk.body = [==[{scenario.bodies[system]}]==]")
    path.write_text("\n".join(lines) + "\n")
    return path


_SLOT = "__SLUG_SLOT__"


def _slug_template(scenario: Scenario, system: str) -> str | None:
    """The scenario's body with Lua's `%s` where each request's slug goes (every seeded slug in
    turn: written into the query text, or as the variable), or None when it sends one body."""
    if scenario.literal:
        body, slot, into = literal_body(scenario.bodies[system], _SLOT), _SLOT, "%s"
    elif scenario.every_slug is not None:
        body, slot, into = scenario.bodies[system], json.dumps(scenario.every_slug), '"%s"'
    else:
        return None
    return body.replace("%", "%%").replace(slot, into)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, script: Path, seconds: float, connections: int) -> tuple[int, float, str]:
    argv = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(round(seconds), 1)}s", "--latency",
        "--timeout", "5s", "-s", str(script), url,
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True)
    match = re.search(r"(\d+) requests in ([\d.]+)(m?s)", done.stdout)
    if match is None:
        raise RuntimeError(f"cannot read wrk output:\n{done.stdout}{done.stderr}")
    scale = 1.0 if match.group(3) == "s" else 0.001
    return int(match.group(1)), float(match.group(2)) * scale, done.stdout


def parse(system: str, scenario: str, requests: int, seconds: float, out: str) -> RunResult:
    # The "Latency Distribution" lines: "     50%    1.23ms" (not the "+/- Stdev" column).
    p50 = re.search(r"^\s+50%\s+(\S+)\s*$", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)\s*$", out, re.MULTILINE)
    if p50 is None or p99 is None:
        raise RuntimeError(f"cannot read wrk latencies:\n{out}")
    bad = sum(int(m) for m in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors is not None:
        bad += sum(int(g) for g in errors.groups())
    return RunResult(
        system, scenario, requests, seconds, requests / seconds, _ms(p50.group(1)),
        _ms(p99.group(1)), bad,
    )  # fmt: skip
