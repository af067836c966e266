"""The compiled plans skip graphql-core's executor, and with it the schema's extensions: each
one must be accounted for by the plans, or a new extension would silently not apply to them."""

from __future__ import annotations

from typing import Any

from api.plans import EXTENSIONS
from schema import schema


def _extension_types(extensions: Any) -> list[type]:
    # An extension is given as its class, or as a factory that builds it with arguments.
    return [e if isinstance(e, type) else type(e()) for e in extensions]


def test_every_schema_extension_is_accounted_for_by_the_plans() -> None:
    present = _extension_types(schema.extensions)
    unaccounted = [e.__name__ for e in present if e not in EXTENSIONS]
    assert not unaccounted, (
        f"{unaccounted}: say in api/plans' EXTENSIONS how compiled plans honour each "
        "(or why they need not), and make them do so"
    )
    # And no stale entry: an extension removed from the schema leaves the list too.
    assert sorted(e.__name__ for e in EXTENSIONS) == sorted(e.__name__ for e in present)
