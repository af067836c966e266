"""The command line: subcommands and the options each takes, serve being the default."""

from __future__ import annotations

import pytest

from ops.cli import parser


@pytest.mark.parametrize(
    ("argv", "command", "no_migrate"),
    [
        ([], None, False),
        (["--no-migrate"], None, True),
        (["serve", "--no-migrate"], "serve", True),
        (["serve"], "serve", False),
        (["--no-migrate", "serve"], "serve", True),
    ],
)
def test_serve_is_the_default_and_takes_no_migrate(
    argv: list[str], command: str | None, no_migrate: bool
) -> None:
    args = parser().parse_args(argv)
    assert args.command == command
    assert args.no_migrate is no_migrate


def test_each_subcommand_takes_only_its_own_options() -> None:
    assert parser().parse_args(["backfill", "--batch-size", "10"]).batch_size == 10
    assert parser().parse_args(
        ["create-api-key", "--name", "n", "--scope", "jobs:write"]
    ).scope == ["jobs:write"]
    with pytest.raises(SystemExit):
        parser().parse_args(["migrate", "--batch-size", "10"])
    with pytest.raises(SystemExit):
        parser().parse_args(["no-such-command"])
