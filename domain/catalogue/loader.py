"""The catalogue's loader: reads the catalogue file and validates it into the model.

It is loaded and validated once at start-up; a broken file stops the process with a message that
names the offending entry, rather than serving a wizard with holes in it.

A question may be shown only under conditions on earlier answers (`show_if`), may accept
`"not_sure"` (`allow_not_sure`) and belongs to a wizard step; the loader refuses a condition on an
unknown or later question, so the conditions can never form a cycle and a wizard can evaluate
them top to bottom in one pass.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from domain.catalogue import fields
from domain.catalogue.model import (
    DEFAULT_STEP,
    Catalogue,
    CategorySpec,
    MicroServiceSpec,
    StepSpec,
    SubcategorySpec,
)
from domain.catalogue.questions import (
    check_conditions,
    in_step_order,
    parse_questions,
    parse_steps,
    step_of,
)
from domain.errors import CatalogueError


def load_catalogue(path: Path) -> Catalogue:
    """Read and validate the catalogue file at `path` (the `CATALOGUE_PATH` setting); raise
    `CatalogueError` naming the bad entry."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"Catalogue file {path} cannot be read: {exc}") from exc
    return parse_catalogue(raw)


def parse_catalogue(raw: Any) -> Catalogue:
    """Validate an already-decoded catalogue document (see `load_catalogue`)."""
    root = fields.mapping(raw, "catalogue")
    steps = parse_steps(root.get("steps", [{"id": DEFAULT_STEP, "title": "The job"}]))
    blocks = {
        name: parse_questions(
            fields.mapping(block, f"block {name!r}").get("questions"),
            f"block {name!r}",
            name,
            steps,
            step_of(fields.mapping(block, f"block {name!r}"), steps, f"block {name!r}"),
        )
        for name, block in fields.mapping(root.get("blocks", {}), "blocks").items()
    }
    default_blocks = _block_names(root.get("default_blocks", []), blocks, "default_blocks")

    categories: list[CategorySpec] = []
    by_slug: dict[str, MicroServiceSpec] = {}
    seen_categories: set[str] = set()
    for c_pos, c_raw in enumerate(fields.sequence(root.get("categories"), "categories")):
        c_slug = fields.slug(c_raw, f"categories[{c_pos}]")
        where_c = f"category {c_slug!r}"
        if c_slug in seen_categories:
            raise CatalogueError(f"{where_c} appears twice")
        seen_categories.add(c_slug)
        subcategories: list[SubcategorySpec] = []
        seen_subcategories: set[str] = set()
        for s_pos, s_raw in enumerate(
            fields.sequence(c_raw.get("subcategories"), f"{where_c}.subcategories")
        ):
            s_slug = fields.slug(s_raw, f"{where_c}.subcategories[{s_pos}]")
            where_s = f"subcategory {c_slug}/{s_slug}"
            if s_slug in seen_subcategories:
                raise CatalogueError(f"{where_s} appears twice")
            seen_subcategories.add(s_slug)
            services: list[MicroServiceSpec] = []
            for m_pos, m_raw in enumerate(
                fields.sequence(s_raw.get("micro_services"), f"{where_s}.micro_services")
            ):
                m_slug = fields.slug(m_raw, f"{where_s}.micro_services[{m_pos}]")
                where_m = f"micro service {m_slug!r}"
                if m_slug in by_slug:
                    raise CatalogueError(f"{where_m} appears twice (slugs are global)")
                own = parse_questions(m_raw.get("questions"), where_m, None, steps, DEFAULT_STEP)
                if not own:
                    raise CatalogueError(f"{where_m} has no questions of its own")
                names = (
                    _block_names(m_raw["blocks"], blocks, f"{where_m}.blocks")
                    if "blocks" in m_raw
                    else default_blocks
                )
                questions = tuple(
                    replace(question, service=m_slug)
                    for question in in_step_order(
                        own + tuple(q for name in names for q in blocks[name]), steps
                    )
                )
                fields.unique((q.id for q in questions), f"{where_m}: question id")
                check_conditions(questions, where_m)
                active = m_raw.get("active", True)
                if not isinstance(active, bool):
                    raise CatalogueError(f"{where_m}: 'active' must be true or false")
                spec = MicroServiceSpec(
                    slug=m_slug,
                    name=fields.text(m_raw, "name", where_m),
                    description=str(m_raw.get("description", "")),
                    category=c_slug,
                    subcategory=s_slug,
                    position=m_pos,
                    questions=questions,
                    steps=tuple(
                        StepSpec(step.id, step.title, ids, service=m_slug)
                        for step in steps
                        if (ids := tuple(q.id for q in questions if q.step == step.id))
                    ),
                    active=active,
                    keywords=_keywords(m_raw, where_m),
                )
                by_slug[m_slug] = spec
                services.append(spec)
            subcategories.append(
                SubcategorySpec(s_slug, fields.text(s_raw, "name", where_s), s_pos, tuple(services))
            )
        categories.append(
            CategorySpec(c_slug, fields.text(c_raw, "name", where_c), c_pos, tuple(subcategories))
        )
    return Catalogue(categories=tuple(categories), by_slug=by_slug)


def _block_names(raw: Any, blocks: Mapping[str, Any], where: str) -> tuple[str, ...]:
    names = tuple(fields.sequence(raw, where))
    for name in names:
        if name not in blocks:
            raise CatalogueError(f"{where}: unknown question block {name!r}")
    return names


# A keyword longer than this is a sentence, not a keyword: refused, so that a mistake in the file
# cannot slow every search down.
MAX_KEYWORD_LENGTH = 60


def _keywords(raw: Mapping[str, Any], where: str) -> tuple[str, ...]:
    terms = raw.get("keywords", [])
    if not isinstance(terms, list) or not all(isinstance(term, str) for term in terms):
        raise CatalogueError(f"{where}: 'keywords' must be a list of strings")
    for term in terms:
        if not term.strip() or len(term) > MAX_KEYWORD_LENGTH:
            raise CatalogueError(
                f"{where}: keyword {term!r} must be 1 to {MAX_KEYWORD_LENGTH} characters"
            )
    return tuple(dict.fromkeys(term.strip() for term in terms))
