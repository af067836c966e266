"""What the business view may keep of a refused publish and of a search that matched nothing:
bounded labels, and never personal data."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_SEARCH_TEXT = 60
OTHER = "other"
# PublishJobInput's own fields: a fault on one of these is named as it is; so is a question of
# the job's micro service. Anything else (an answer key the client made up) is "other", since a
# client-chosen key may hold anything, personal data included.
INPUT_FIELDS = frozenset(
    {
        "microId",
        "microUuid",
        "answers",
        "postcode",
        "addressLine",
        "location",
        "photoIds",
        "contact",
        "description",
        "idempotencyKey",
        "customerRef",
    }
)

_EMAIL = re.compile(r"\S@\S")
# Six digits or more, however spaced or punctuated, read as a phone number (house numbers and
# sizes are shorter).
_PHONE = re.compile(r"(?:\d[\s().+-]*){6,}")
# A full UK postcode (outward and inward code), spaced or not: an outward code alone names an
# area of thousands of homes and is kept.
_POSTCODE = re.compile(r"\b[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}\b", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^\w' -]+")
_SPACES = re.compile(r"\s+")


def rejected_field_labels(fields: Iterable[str], questions: Iterable[str]) -> set[str]:
    """The labels of a refused publish's fields at fault: a field's head (`contact` of
    `contact.email`) when it is an input field, the question's key when it is a question."""
    known = set(questions)
    labels = set()
    for name in fields:
        head = re.split(r"[.\[]", name, maxsplit=1)[0]
        if name in known:
            labels.add(name)
        elif head in INPUT_FIELDS:
            labels.add(name if len(name) <= 40 and "[" not in name else head)
        else:
            labels.add(OTHER)
    return labels


def unmatched_search_text(text: str) -> str | None:
    """The text of a search that matched nothing as the business view keeps it: folded,
    punctuation dropped, spaces collapsed, cut to a few words; None when it looks like it holds
    an email address, a phone number or a postcode, or nothing is left."""
    if _EMAIL.search(text) or _PHONE.search(text) or _POSTCODE.search(text):
        return None
    folded = unicodedata.normalize("NFKC", text).casefold()
    cleaned = _SPACES.sub(" ", _NOT_WORD.sub(" ", folded)).strip(" '-")
    if not cleaned:
        return None
    if len(cleaned) > MAX_SEARCH_TEXT:
        cut = cleaned[:MAX_SEARCH_TEXT]
        cleaned = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return cleaned
