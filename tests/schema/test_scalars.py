from datetime import UTC, datetime, timedelta, timezone

from graphql import GraphQLScalarType

from schema import schema
from schema.scalars import DATETIME_SPEC, UUID_SPEC, serialize_datetime
from tests.support import AppHarness

SCALARS = "{ __schema { types { name kind description specifiedByURL } } }"


async def test_custom_scalars_say_their_format_and_specification(api: AppHarness) -> None:
    # Code generators and client libraries map a scalar by its specifiedByURL: without one,
    # UUID and DateTime are typed `unknown`.
    body = await api.graphql(SCALARS)
    types = {t["name"]: t for t in body["data"]["__schema"]["types"] if t["kind"] == "SCALAR"}
    assert types["UUID"]["specifiedByURL"] == UUID_SPEC
    assert types["DateTime"]["specifiedByURL"] == DATETIME_SPEC
    assert types["JSON"]["specifiedByURL"]
    assert "RFC 9562" in types["UUID"]["description"]
    assert "UTC" in types["DateTime"]["description"]
    assert "object" in types["JSON"]["description"]


def test_datetimes_are_written_in_utc_and_read_with_any_offset() -> None:
    paris = timezone(timedelta(hours=1))
    instant = datetime(2025, 3, 1, 10, 30, tzinfo=paris)
    assert serialize_datetime(instant) == "2025-03-01T09:30:00+00:00"
    assert serialize_datetime(datetime(2025, 3, 1, 9, 30)) == "2025-03-01T09:30:00+00:00"
    scalar = schema._schema.get_type("DateTime")
    assert isinstance(scalar, GraphQLScalarType)
    assert scalar.parse_value("2025-03-01T10:30:00+01:00") == instant
    assert scalar.parse_value("2025-03-01T09:30:00") == instant.astimezone(UTC)
