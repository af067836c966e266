"""Where a job is: a UK postcode, parsed and normalised, and an optional address line.

The postcode is stored as Royal Mail writes it (`SW1A 1AA`), with its district (the outward
code, `SW1A`: what "jobs near" queries match on) and area (its leading letters, `SW`).

Hand-written rather than a library: the maintained parser on PyPI (uk-postcodes-parsing) rejects
GIR 0AA and the overseas territories' codes, checks no letter positions, and ships a large
outcode data set; the strict one (ukpostcodeparser) is unmaintained and ignores trailing
characters. The rules below are Royal Mail's, and tests/domain/test_location.py pins them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from domain.errors import BadUserInputError

MAX_POSTCODE_INPUT = 16  # "sw1a 1aa" with generous spacing; anything longer is not a postcode
MAX_ADDRESS_LINE = 200
# Accents stack only a few deep in real writing; a longer run only draws over its
# neighbours ("Zalgo" text), which a person reading the job cannot tell apart from the address.
MAX_COMBINING_RUN = 4
FIELD = "location"

# Outward code: A9, A99, AA9, AA99, A9A or AA9A. Q, V and X never start one; I, J and Z are
# never second; the letter after a single-letter area's digit, and after a two-letter area's
# digit, come from the short lists Royal Mail uses. Inward code: a digit and two letters, never
# C, I, K, M, O or V (they are too easily misread).
_OUTWARD = (
    r"(?P<area>[A-PR-UWYZ])(?:\d\d?|\d[A-HJKPSTUW])"
    r"|(?P<area2>[A-PR-UWYZ][A-HK-Y])(?:\d\d?|\d[ABEHMNPRVWXY])"
)
_INWARD = r"\d[ABD-HJLNP-UW-Z]{2}"
_POSTCODE = re.compile(rf"(?P<outward>{_OUTWARD})(?P<inward>{_INWARD})")
_OUTWARD_ONLY = re.compile(rf"(?:{_OUTWARD})")

# Codes outside the pattern that Royal Mail delivers to: Girobank's, Santa's, and the overseas
# territories that adopted UK-style postcodes. Each is its own district and area.
SPECIAL_POSTCODES: dict[str, str] = {
    "GIR0AA": "GIR",
    "SANTA1": "SAN",
    "ASCN1ZZ": "ASCN",  # Ascension Island
    "BBND1ZZ": "BBND",  # British Indian Ocean Territory
    "BIQQ1ZZ": "BIQQ",  # British Antarctic Territory
    "FIQQ1ZZ": "FIQQ",  # Falkland Islands
    "GX111AA": "GX11",  # Gibraltar
    "PCRN1ZZ": "PCRN",  # Pitcairn Islands
    "SIQQ1ZZ": "SIQQ",  # South Georgia and the South Sandwich Islands
    "STHL1ZZ": "STHL",  # Saint Helena
    "TDCU1ZZ": "TDCU",  # Tristan da Cunha
    "TKCA1ZZ": "TKCA",  # Turks and Caicos Islands
}
_SPACES = re.compile(r"[ \t]+")
_ALLOWED = re.compile(r"[A-Za-z0-9 \t]*")
# Unicode's "other" characters (controls; format characters such as bidi overrides and
# zero-width spaces, which make what is shown differ from what is stored; surrogates; private
# use; unassigned) and line or paragraph separators have no place in one line of an address. NUL
# would also be refused by PostgreSQL itself.
_ADDRESS_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_COMBINING_CATEGORIES = frozenset({"Mn", "Mc", "Me"})


@dataclass(frozen=True, slots=True)
class Postcode:
    postcode: str  # normalised: "SW1A 1AA"
    district: str  # the outward code: "SW1A"
    area: str  # the leading letters: "SW"


@dataclass(frozen=True, slots=True)
class Location:
    postcode: Postcode
    # Personal data: kept out of the repr, so that no log line or traceback carries it.
    address_line: str | None = field(repr=False)


def _bad(message: str) -> BadUserInputError:
    return BadUserInputError(message, fields={FIELD: message})


def parse_postcode(raw: str) -> Postcode:
    """`raw` as a normalised UK postcode; BAD_USER_INPUT (at `location`) naming the fault.

    Case and spaces do not matter: `"sw1a1aa"`, `" SW1A  1AA "` and `"SW1A 1AA"` are one
    postcode."""
    if len(raw) > MAX_POSTCODE_INPUT:
        raise _bad("Postcode is too long: a UK postcode has at most 7 letters and digits.")
    if _ALLOWED.fullmatch(raw) is None:
        raise _bad("Postcode may contain only letters, digits and spaces.")
    compact = _SPACES.sub("", raw).upper()
    if not compact:
        raise _bad("Postcode is required.")
    special = SPECIAL_POSTCODES.get(compact)
    if special is not None:
        return Postcode(f"{compact[:-3]} {compact[-3:]}", special, special)
    match = _POSTCODE.fullmatch(compact)
    if match is None:
        if _OUTWARD_ONLY.fullmatch(compact) is not None:
            raise _bad(
                f"Postcode needs both halves: '{compact}' is only the first (e.g. SW1A 1AA)."
            )
        raise _bad("Postcode is not a valid UK postcode (e.g. SW1A 1AA).")
    outward, inward = match["outward"], match["inward"]
    area = match["area"] or match["area2"]
    return Postcode(f"{outward} {inward}", outward, area)


def clean_address_line(raw: str | None) -> str | None:
    """The address line trimmed, or None when blank; BAD_USER_INPUT when too long, when it holds
    control or format characters (NUL, line breaks, U+202E, U+200B), or combining marks with no
    letter to sit on or stacked past `MAX_COMBINING_RUN`."""
    if raw is None:
        return None
    if len(raw) > MAX_ADDRESS_LINE:
        raise _bad(f"Address line must be at most {MAX_ADDRESS_LINE} characters.")
    _check_address_characters(raw)
    line = " ".join(raw.split())
    return line or None


def _check_address_characters(raw: str) -> None:
    run = 0  # combining marks since the last base character
    after_base = False  # a combining mark needs a letter (or digit, or sign) before it
    for char in raw:
        category = unicodedata.category(char)
        if category in _ADDRESS_FORBIDDEN_CATEGORIES:
            raise _bad(
                "Address line must be one line of text, without control characters or "
                "invisible formatting characters."
            )
        if category in _COMBINING_CATEGORIES:
            run += 1
            if not after_base or run > MAX_COMBINING_RUN:
                raise _bad(
                    "Address line has combining marks (accents) with no letter to sit on, or "
                    "stacked deeper than any address needs."
                )
        else:
            run = 0
            after_base = not char.isspace()


def parse_location(postcode: str, address_line: str | None) -> Location:
    """A job's location from what the client sent; BAD_USER_INPUT at `location` if it is bad."""
    return Location(parse_postcode(postcode), clean_address_line(address_line))
