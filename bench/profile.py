"""Sum py-spy's collapsed stacks (`BENCH_PROFILE=<dir> python -m bench.run`) into what each
step of a request costs: the share of the server's samples spent inside each function
(inclusive), for the project's own code and the libraries a request crosses.

    python -m bench.profile <dir>/ours-tree.txt [--top 40]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

# "function (path/to/file.py:line)" in py-spy's raw output; the line is left out when summing.
_FRAME = re.compile(r"^(?P<function>.+?) \((?P<path>[^:]+)(?::\d+)?\)$")
_SHOWN = ("api/", "schema/", "context/", "loaders/", "monitoring/", "db/", "starlette/",
          "uvicorn/", "strawberry/", "graphql/", "logging/", "asyncio/", "orjson", "cachetools/",
          "redis/")  # fmt: skip
_PROJECT = ("api", "schema", "context", "loaders", "monitoring", "db", "domain", "media")


def start_profiler(
    system: str, scenario: str, pid: int, duration: float
) -> subprocess.Popen[bytes] | None:
    """With BENCH_PROFILE=<dir>: py-spy sampling process `pid` for the run, into
    <dir>/<system>-<scenario>.txt (collapsed stacks); None without it."""
    folder = os.environ.get("BENCH_PROFILE")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    output = Path(folder) / f"{system}-{scenario}.txt"
    spy = str(Path(sys.executable).parent / "py-spy")
    argv = [spy, "record", "--format", "raw", "--rate", "250", "--nonblocking"]
    argv += ["--duration", str(max(1, int(duration) - 1)), "--output", str(output)]
    argv += ["--pid", str(pid)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def short(path: str) -> str:
    """`site-packages/uvicorn/protocols/http/httptools_impl.py` -> `uvicorn/.../httptools_impl.py`;
    the project's own files keep their path from the repository root."""
    parts = path.split("/")
    for index, part in enumerate(parts):
        if part == "site-packages" or part.startswith("python3."):
            rest = parts[index + 1 :]
            return "/".join(rest) if len(rest) <= 2 else f"{rest[0]}/.../{rest[-1]}"
    for index, part in enumerate(parts):
        if part in _PROJECT and index < len(parts) - 1:
            return "/".join(parts[index:])
    return path


def summarise(path: Path) -> tuple[int, Counter[str]]:
    """Total samples, and samples per function (inclusive: once per stack it appears in)."""
    total = 0
    inclusive: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        seen: set[str] = set()
        for frame in stack.split(";"):
            match = _FRAME.match(frame)
            name = f"{match['function']} ({short(match['path'])})" if match is not None else frame
            seen.add(name)
        for name in seen:
            inclusive[name] += count
    return total, inclusive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    total, inclusive = summarise(args.profile)
    print(f"{args.profile.name}: {total} samples")
    print("| function | share of samples |")
    print("| --- | ---: |")
    shown = 0
    for name, count in inclusive.most_common():
        own = name.split("(")[-1].startswith(_PROJECT)
        if not own and not any(part in name for part in _SHOWN) and "(" in name:
            continue
        print(f"| `{name}` | {100 * count / max(total, 1):.1f} % |")
        shown += 1
        if shown >= args.top:
            break


if __name__ == "__main__":
    main()
