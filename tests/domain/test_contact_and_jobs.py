"""Contact details, descriptions and the job listing's cursors: pure rules, no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from domain.api_keys import ApiKey
from domain.contact import ContactMethod, parse_contact, parse_description
from domain.customers import Customer
from domain.errors import BadUserInputError
from domain.jobs import Cursor, Owner, check_page_size, may_read, owns


def _contact(**changes: object) -> dict[str, object]:
    given: dict[str, object] = {
        "name": "  Ada Lovelace ",
        "email": "Ada.Lovelace@Example.COM",
        "phone": "07700 900123",
        "preferred": None,
        "region": "GB",
    }
    return {**given, **changes}


def test_contact_is_normalised_and_kept_out_of_reprs() -> None:
    contact = parse_contact(**_contact())  # type: ignore[arg-type]
    assert (contact.name, contact.email, contact.phone) == (
        "Ada Lovelace",
        "Ada.Lovelace@example.com",
        "+447700900123",
    )
    assert contact.preferred is ContactMethod.ANY
    assert "Ada" not in repr(contact)
    assert "7700" not in repr(contact)
    # A real number in another notation, and one with its country code, come out alike.
    assert parse_contact(**_contact(phone="+44 20 7946 0018")).phone == "+442079460018"  # type: ignore[arg-type]
    assert parse_contact(**_contact(phone="020 7946 0018")).phone == "+442079460018"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"email": "not-an-email"}, ["contact.email"]),
        ({"email": "a@" + "b" * 400 + ".com"}, ["contact.email"]),
        ({"phone": "12345"}, ["contact.phone"]),
        ({"phone": "phone me"}, ["contact.phone"]),
        ({"name": "   "}, ["contact.name"]),
        ({"name": "x" * 101}, ["contact.name"]),
        ({"name": "Ada\nLovelace"}, ["contact.name"]),
        ({"name": "Ada\u202eecalevol"}, ["contact.name"]),
        ({"phone": None, "preferred": ContactMethod.PHONE}, ["contact.phone"]),
        (
            {"email": "nope", "phone": "1", "name": ""},
            ["contact.name", "contact.email", "contact.phone"],
        ),
    ],
)
def test_every_fault_is_named(changes: dict[str, object], fields: list[str]) -> None:
    with pytest.raises(BadUserInputError) as caught:
        parse_contact(**_contact(**changes))  # type: ignore[arg-type]
    assert list(caught.value.fields) == fields
    # The answer never repeats what was sent: it may be personal data.
    assert "not-an-email" not in str(caught.value.fields)


def test_description_is_bounded_and_blank_means_none() -> None:
    assert parse_description("  Mind the cat.\r\nBack door.  ") == "Mind the cat.\nBack door."
    assert parse_description("   ") is None
    assert parse_description("x" * 2000) == "x" * 2000
    for bad in ("x" * 2001, "bell\x07"):
        with pytest.raises(BadUserInputError) as caught:
            parse_description(bad)
        assert list(caught.value.fields) == ["description"]


def test_owner_reads_whole_reader_reads_without_personal_data_others_nothing() -> None:
    key = ApiKey(id=uuid.uuid4(), name="p", scopes=frozenset({"jobs:write"}))
    reader = ApiKey(id=uuid.uuid4(), name="r", scopes=frozenset({"jobs:read"}))
    ada = Customer("https://id.example", "ada")
    keyed, hers = Owner(api_key_id=key.id, customer=None), Owner(api_key_id=None, customer=ada)
    assert owns(key, keyed)
    assert not owns(key, hers)
    assert owns(Customer("https://id.example", "ada"), hers)
    assert not owns(Customer("https://other.example", "ada"), hers)
    assert may_read(reader, hers)
    assert not owns(reader, hers)
    assert not may_read(Customer("https://id.example", "bob"), hers)
    assert not may_read(None, keyed)


def test_cursor_round_trips_and_refuses_anything_else() -> None:
    cursor = Cursor(datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC), uuid.uuid4())
    text = cursor.encode()
    assert "=" not in text
    assert Cursor.decode(text) == cursor
    assert Cursor.decode(None) is None
    for bad in ("", "x", "!!!", "a" * 101, "MTIzLm5vdGhleA", text[:-2]):
        with pytest.raises(BadUserInputError) as caught:
            Cursor.decode(bad)
        assert list(caught.value.fields) == ["after"]


@pytest.mark.parametrize("first", [0, -1, 101])
def test_page_size_is_bounded(first: int) -> None:
    with pytest.raises(BadUserInputError):
        check_page_size(first)
