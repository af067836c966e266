"""Turning free text into comparable tokens: case, accents, punctuation, stop words, spelling.

Customers type in British and American English, with apostrophes dropped ("wont", "dont"), words
joined or split ("flatpack", "flat pack") and plurals everywhere. Everything indexed or searched
passes through `tokens`, so both sides meet in one vocabulary of stems.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

# Words that carry no hint of the trade: request fluff and grammar. Negations and quantities stay
# ("no heating", "not draining" are symptoms).
_STOP_WORDS = """
    a an the and or but of to in on at by for from with into onto over under about as
    i me my mine we us our ours you your yours he she his her they them their it its this that
    these those there here is are was were be been being am do does did doing done have has had
    having will would shall should can could may might must please pls plz thanks thank
    need needs needed needing want wants wanted wanting looking look like would someone somebody
    anyone some any get getting got gets just also very really so too quite bit lot lots
    help hi hello quote quotes price cost job work done asap urgent urgently soon
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

# American spellings and forms folded into the British ones the catalogue is written in.
_SPELLING = {
    "color": "colour",
    "colors": "colours",
    "colored": "coloured",
    "gray": "grey",
    "center": "centre",
    "meter": "metre",
    "meters": "metres",
    "liter": "litre",
    "aluminum": "aluminium",
    "mold": "mould",
    "moldy": "mouldy",
    "molding": "moulding",
    "moldings": "mouldings",
    "fiber": "fibre",
    "fiberglass": "fibreglass",
    "draft": "draught",
    "drafts": "draughts",
    "drafty": "draughty",
    "caulking": "caulk",
    "story": "storey",
    "stories": "storeys",
    "plow": "plough",
    "tire": "tyre",
    "gage": "gauge",
    "jewelry": "jewellery",
    "behavior": "behaviour",
    "odor": "odour",
    "odors": "odours",
    "favorite": "favourite",
    "neighbor": "neighbour",
    "neighbors": "neighbours",
    "harbor": "harbour",
    "labor": "labour",
    "vapor": "vapour",
    "sulfur": "sulphur",
    "cozy": "cosy",
    "pajamas": "pyjamas",
    "skeptic": "sceptic",
    "defense": "defence",
    "catalog": "catalogue",
    "dialog": "dialogue",
}
_IZE = re.compile(r"(?<=[a-z]{3})iz(e|es|ed|ing|ation|ations|er|ers)$")
_IZE_KEEP = frozenset({"size", "sizes", "sized", "sizing", "seize", "prize", "capsize"})
# "won't" and "wont" both become "wont"; "can't" -> "cant": the apostrophe is dropped, not split.
_APOSTROPHE = re.compile(r"['\u2019\u2018`]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_STEMMER = snowballstemmer.stemmer("english")


def fold(text: str) -> str:
    """Lower case, accents and apostrophes dropped, every other non-alphanumeric a space."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _APOSTROPHE.sub("", text)
    return _NON_WORD.sub(" ", text).strip()


def spell(word: str) -> str:
    """The British spelling of one folded word."""
    if word in _SPELLING:
        return _SPELLING[word]
    if word not in _IZE_KEEP:
        return _IZE.sub(r"is\1", word)
    return word


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def words(text: str) -> list[str]:
    """The meaningful words of `text`, folded and spelt the British way, stop words removed."""
    return [spell(w) for w in fold(text).split() if w not in STOP_WORDS]


def tokens(text: str) -> list[str]:
    """The stems of `words(text)`: the unit both the index and the query are compared in."""
    return [stem(w) for w in words(text)]
