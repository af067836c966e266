"""The catalogue: its model (`model.py`) and the loader that reads the catalogue file into it
(`loader.py`). Everything is importable from here."""

from __future__ import annotations

from domain.catalogue.loader import load_catalogue, parse_catalogue
from domain.catalogue.model import (
    DEFAULT_STEP,
    FALSE,
    ID_SEPARATOR,
    MAX_SLUG_LENGTH,
    NOT_SURE,
    TRUE,
    Catalogue,
    CategorySpec,
    MicroServiceSpec,
    Option,
    Question,
    QuestionKind,
    ShowIf,
    StepSpec,
    SubcategorySpec,
    global_id,
    shown,
)

__all__ = [
    "DEFAULT_STEP",
    "FALSE",
    "ID_SEPARATOR",
    "MAX_SLUG_LENGTH",
    "NOT_SURE",
    "TRUE",
    "Catalogue",
    "CategorySpec",
    "MicroServiceSpec",
    "Option",
    "Question",
    "QuestionKind",
    "ShowIf",
    "StepSpec",
    "SubcategorySpec",
    "global_id",
    "load_catalogue",
    "parse_catalogue",
    "shown",
]
