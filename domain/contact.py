"""A job's contact details and description: checked, normalised, bounded where they enter.

Emails are checked by `email-validator` for their syntax only (no DNS at request time) and kept
normalised; phones by `phonenumbers` (a national number read in the default region) and kept in
E.164. Every fault is named in BadUserInputError's fields as `contact.email`, `contact.phone`,
`contact.name` (or `description`), all faults of one input at once.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import Enum

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from domain.errors import BadUserInputError

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
# Longer than any address or number a person types: refused before any parsing.
MAX_EMAIL_LENGTH = 320
MAX_PHONE_LENGTH = 40
NAME_FIELD = "contact.name"
EMAIL_FIELD = "contact.email"
PHONE_FIELD = "contact.phone"
DESCRIPTION_FIELD = "description"
CONTACT_FIELD = "contact"

# Ofcom keeps these UK ranges for fiction and testing (07700 900xxx, 020 7946 0xxx, ...):
# phonenumbers calls them invalid, but they are what examples, documentation and tests use.
_DRAMA_PREFIXES = (
    "+447700900",
    "+442079460",
    "+441134960",
    "+441144960",
    "+441154960",
    "+441164960",
    "+441174960",
    "+441184960",
    "+441214960",
    "+441314960",
    "+441414960",
    "+441514960",
    "+441614960",
    "+441914980",
    "+442896496",
    "+442920180",
    "+443069990",
)
# Characters that have no place in a name or a one-line text: control characters, surrogates,
# line and paragraph separators, and the bidirectional overrides that make a text display
# other than it reads.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class ContactMethod(Enum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    ANY = "ANY"


@dataclass(frozen=True, slots=True)
class Contact:
    """Checked contact details: a name, a normalised email, an E.164 phone (optional)."""

    name: str
    email: str
    phone: str | None
    preferred: ContactMethod

    def __repr__(self) -> str:  # personal data: never in a log line by accident
        return "Contact(<personal data>)"


def _clean_line(text: str, *, allow_newlines: bool = False) -> bool:
    for char in text:
        if allow_newlines and char in "\n\t":
            continue
        if char in _BIDI_CONTROLS or unicodedata.category(char) in _REFUSED_CATEGORIES:
            return False
    return True


def _name(raw: str, faults: dict[str, str]) -> str:
    name = raw.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        faults[NAME_FIELD] = f"A name is 1 to {MAX_NAME_LENGTH} characters long."
    elif not _clean_line(name):
        faults[NAME_FIELD] = "A name cannot hold control characters or line breaks."
    return name


def _email(raw: str, faults: dict[str, str]) -> str:
    text = raw.strip()
    if not text or len(text) > MAX_EMAIL_LENGTH:
        faults[EMAIL_FIELD] = "Not an email address."
        return text
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        # The library's message quotes the address; the answer does not repeat personal data.
        faults[EMAIL_FIELD] = "Not an email address."
        return text


def normalise_phone(raw: str, region: str) -> str | None:
    """`raw` in E.164 when it is a valid number (national numbers read in `region`)."""
    text = raw.strip()
    if not text or len(text) > MAX_PHONE_LENGTH:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number(number):
        return e164
    if len(e164) == 13 and e164.startswith(_DRAMA_PREFIXES):
        return e164
    return None


def parse_contact(
    *,
    name: str,
    email: str,
    phone: str | None,
    preferred: ContactMethod | None,
    region: str,
) -> Contact:
    """Checked contact details; BAD_USER_INPUT naming every field at fault."""
    faults: dict[str, str] = {}
    checked_name = _name(name, faults)
    checked_email = _email(email, faults)
    checked_phone: str | None = None
    if phone is not None and phone.strip():
        checked_phone = normalise_phone(phone, region)
        if checked_phone is None:
            faults[PHONE_FIELD] = "Not a valid phone number."
    method = preferred or ContactMethod.ANY
    if method is ContactMethod.PHONE and checked_phone is None and PHONE_FIELD not in faults:
        faults[PHONE_FIELD] = "A phone number is needed to be contacted by phone."
    if faults:
        raise BadUserInputError(
            "The contact details are not valid: " + ", ".join(faults) + ".", fields=faults
        )
    return Contact(checked_name, checked_email, checked_phone, method)


def parse_description(raw: str | None) -> str | None:
    """The description, stripped (None when blank); BAD_USER_INPUT at `description` when too
    long or holding control characters (line breaks and tabs are kept)."""
    if raw is None:
        return None
    text = raw.strip()
    if len(text) > MAX_DESCRIPTION_LENGTH:
        message = f"At most {MAX_DESCRIPTION_LENGTH} characters."
        raise BadUserInputError(message, fields={DESCRIPTION_FIELD: message})
    text = text.replace("\r\n", "\n")
    if not _clean_line(text, allow_newlines=True):
        message = "Control characters are not allowed."
        raise BadUserInputError(message, fields={DESCRIPTION_FIELD: message})
    return text or None


def required_contact_missing() -> BadUserInputError:
    message = "Contact details are required when a customer publishes a job."
    return BadUserInputError(message, fields={CONTACT_FIELD: message})


@dataclass(frozen=True, slots=True)
class ContactDraft:
    """Contact details as the client sent them, before `parse_contact`."""

    name: str
    email: str
    phone: str | None = None
    preferred: ContactMethod | None = None

    def __repr__(self) -> str:
        return "ContactDraft(<personal data>)"

    def checked(self, region: str) -> Contact:
        return parse_contact(
            name=self.name,
            email=self.email,
            phone=self.phone,
            preferred=self.preferred,
            region=region,
        )
