"""UK postcodes: normalised whatever the case and spacing, district and area split off, and every
malformed or hostile value refused at `location` with a message that says what is wrong."""

from __future__ import annotations

import pytest

from domain.errors import BadUserInputError
from domain.location import (
    MAX_ADDRESS_LINE,
    Postcode,
    clean_address_line,
    parse_location,
    parse_postcode,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Every outward-code shape: A9, A99, AA9, AA99, A9A, AA9A.
        ("M1 1AE", Postcode("M1 1AE", "M1", "M")),
        ("B33 8TH", Postcode("B33 8TH", "B33", "B")),
        ("CR2 6XH", Postcode("CR2 6XH", "CR2", "CR")),
        ("DN55 1PT", Postcode("DN55 1PT", "DN55", "DN")),
        ("W1A 0AX", Postcode("W1A 0AX", "W1A", "W")),
        ("EC1A 1BB", Postcode("EC1A 1BB", "EC1A", "EC")),
        ("SW1A 1AA", Postcode("SW1A 1AA", "SW1A", "SW")),
        # Case- and space-insensitive.
        ("sw1a1aa", Postcode("SW1A 1AA", "SW1A", "SW")),
        ("  sw1a   1aa ", Postcode("SW1A 1AA", "SW1A", "SW")),
        ("Sw1A\t1aA", Postcode("SW1A 1AA", "SW1A", "SW")),
        ("e11aa", Postcode("E1 1AA", "E1", "E")),
        # Northern Ireland, Channel Islands, Isle of Man, British Forces, non-geographic.
        ("BT1 5GS", Postcode("BT1 5GS", "BT1", "BT")),
        ("GY1 1AA", Postcode("GY1 1AA", "GY1", "GY")),
        ("IM1 1AD", Postcode("IM1 1AD", "IM1", "IM")),
        ("BF1 3AA", Postcode("BF1 3AA", "BF1", "BF")),
        ("BX1 1LT", Postcode("BX1 1LT", "BX1", "BX")),
        # The special cases.
        ("GIR 0AA", Postcode("GIR 0AA", "GIR", "GIR")),
        ("gir0aa", Postcode("GIR 0AA", "GIR", "GIR")),
        ("SAN TA1", Postcode("SAN TA1", "SAN", "SAN")),
        ("ASCN 1ZZ", Postcode("ASCN 1ZZ", "ASCN", "ASCN")),
        ("stHL1zz", Postcode("STHL 1ZZ", "STHL", "STHL")),
        ("GX11 1AA", Postcode("GX11 1AA", "GX11", "GX11")),
        ("FIQQ 1ZZ", Postcode("FIQQ 1ZZ", "FIQQ", "FIQQ")),
    ],
)
def test_valid_postcodes_are_normalised_with_district_and_area(
    raw: str, expected: Postcode
) -> None:
    assert parse_postcode(raw) == expected


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "required"),
        ("   ", "required"),
        ("x" * 10_240, "too long"),
        ("SW1A 1AA" + " " * 20, "too long"),
        ("SW1A\x001AA", "only letters, digits and spaces"),
        ("SW1A 1AA\x00", "only letters, digits and spaces"),
        ("SW1A 1A🏠", "only letters, digits and spaces"),
        ("🏠", "only letters, digits and spaces"),
        ("\uff33\uff371A 1AA", "only letters, digits and spaces"),  # full-width letters
        ("SW1A-1AA", "only letters, digits and spaces"),
        ("SW1A\n1AA", "only letters, digits and spaces"),
        ("SW1A", "both halves"),
        ("m1", "both halves"),
        ("QA1 1AA", "not a valid UK postcode"),  # Q never starts a postcode
        ("VA1 1AA", "not a valid UK postcode"),
        ("XA1 1AA", "not a valid UK postcode"),
        ("AI1 1AA", "not a valid UK postcode"),  # I, J, Z never second
        ("AZ1 1AA", "not a valid UK postcode"),
        ("W1I 1AA", "not a valid UK postcode"),  # I is not a third-position letter
        ("SW1C 1AA", "not a valid UK postcode"),  # C is not a fourth-position letter
        ("SW1A 1CA", "not a valid UK postcode"),  # C, I, K, M, O, V never in the inward code
        ("SW1A 1AV", "not a valid UK postcode"),
        ("SW1A 1AAX", "not a valid UK postcode"),  # no trailing characters ignored
        ("SW1A1AA1", "not a valid UK postcode"),
        ("SWW1 1AA", "not a valid UK postcode"),
        ("SW123 1AA", "not a valid UK postcode"),
        ("12345", "not a valid UK postcode"),
        ("GIR 0AB", "not a valid UK postcode"),
        ("BFPO 123", "not a valid UK postcode"),
    ],
)
def test_bad_postcodes_are_refused_at_location(raw: str, says: str) -> None:
    with pytest.raises(BadUserInputError) as caught:
        parse_postcode(raw)
    assert set(caught.value.fields) == {"location"}
    assert says in caught.value.fields["location"]
    assert "Postcode" in caught.value.fields["location"]


def test_a_long_postcode_is_refused_without_echoing_it() -> None:
    with pytest.raises(BadUserInputError) as caught:
        parse_postcode("A" * 10_240)
    assert len(str(caught.value)) < 200


def test_address_line_is_trimmed_and_blank_means_none() -> None:
    assert clean_address_line(None) is None
    assert clean_address_line("   ") is None
    assert clean_address_line("  Flat 2,  10 Downing Street ") == "Flat 2, 10 Downing Street"
    assert clean_address_line("Chez Zoë, 1 Rue") == "Chez Zoë, 1 Rue"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("x" * 10_240, "at most 200"),
        ("x" * (MAX_ADDRESS_LINE + 1), "at most 200"),
        ("Flat 2\x00", "control characters"),
        ("Flat 2\n10 Downing Street", "control characters"),
        ("Flat 2\u202810 Downing Street", "control characters"),
    ],
)
def test_bad_address_lines_are_refused_at_location(raw: str, says: str) -> None:
    with pytest.raises(BadUserInputError) as caught:
        clean_address_line(raw)
    assert set(caught.value.fields) == {"location"}
    assert says in caught.value.fields["location"]
    assert "Address line" in caught.value.fields["location"]


@pytest.mark.parametrize(
    "raw",
    [
        "10 Downing\u202e Street",  # right-to-left override: shows reversed
        "10 Down\u200bing Street",  # zero-width space
        "\ufeff10 Downing Street",  # byte order mark
        "10 Downing Street\u2066",  # bidi isolate
        "10 Downing Street\u00ad",  # soft hyphen
        "10 Downing Street\ue000",  # private use
    ],
    ids=["rlo", "zwsp", "bom", "isolate", "soft-hyphen", "private-use"],
)
def test_address_lines_with_format_characters_are_refused(raw: str) -> None:
    with pytest.raises(BadUserInputError) as caught:
        clean_address_line(raw)
    assert "invisible formatting characters" in caught.value.fields["location"]


@pytest.mark.parametrize(
    "raw",
    [
        "\u0301" * 200,  # lone combining marks
        "\u0301Flat 2",  # a mark with nothing before it
        "Flat \u0301 2",  # a mark after a space
        "Fla" + "t" + "\u0301\u0302\u0303\u0304\u0305" + " 2",  # stacked five deep
    ],
    ids=["lone-run", "leading", "after-space", "stacked"],
)
def test_address_lines_with_runs_of_combining_marks_are_refused(raw: str) -> None:
    with pytest.raises(BadUserInputError) as caught:
        clean_address_line(raw)
    assert "combining marks" in caught.value.fields["location"]


def test_address_lines_with_ordinary_accents_are_taken() -> None:
    decomposed = "Chez Zoe\u0308, 1 Rue"  # e + combining diaeresis
    assert clean_address_line(decomposed) == decomposed
    assert clean_address_line("Pho\u031b\u0300 Street") == "Pho\u031b\u0300 Street"  # two stacked
    assert clean_address_line("12 \u0928\u093f\u0930\u093e\u0932\u093e Marg")  # Devanagari


def test_address_line_of_exactly_the_limit_is_taken() -> None:
    assert clean_address_line("x" * MAX_ADDRESS_LINE) == "x" * MAX_ADDRESS_LINE


def test_parse_location_combines_both() -> None:
    location = parse_location("sw1a1aa", " 10 Downing Street ")
    assert location.postcode.postcode == "SW1A 1AA"
    assert location.address_line == "10 Downing Street"


def test_the_address_line_stays_out_of_the_repr() -> None:
    location = parse_location("SW1A 1AA", "Flat 2, 10 Downing Street")
    assert "Downing" not in repr(location)
