"""The operations the bench sends, as the JSON bodies each system is POSTed.

PostGraphile's side is the equivalent GraphQL for the schema it generates from the same tables
(checked against its introspection): `microServiceBySlug(slug:)` returning `rowId` (the UUID),
`slug`, `name`. It has no "list these slugs" field out of the box (no `in` filter without the
connection-filter plugin), so for the 20-slug list its client would send the 20 aliased lookups;
`wizardQuestions` (questions live in the catalogue file, not in tables) and `publishJob` (our
validation) have no equivalent there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from config.database import DEFAULT_CATALOGUE_PATH
from domain.catalogue import load_catalogue
from tests.support.jobs import EXAMPLE_LOCATION, WALL_PAINTING_ANSWERS

OURS, BASELINE, POSTGRAPHILE = "ours", "baseline", "postgraphile"
FLOOR = "floor"  # plain Starlette handing out our answers' bytes (bench/floor.py)
GENERAL = "ours-general"  # our server with COMPILED_LOOKUPS=false
LIMITS = "ours-limits"  # our server with the rate limits on
BASE = "ours-base"  # our server from another checkout (BENCH_BASE_ROOT)
ALIASES = 20
SERVICE_FIELDS = "id slug name"
PG_SERVICE_FIELDS = "rowId slug name"


def body(query: str, variables: dict[str, Any], operation: str) -> str:
    return json.dumps({"query": query, "variables": variables, "operationName": operation})


def _aliased(field_name: str, fields: str) -> str:
    params = ", ".join(f"$s{i}: String!" for i in range(ALIASES))
    selections = " ".join(f"m{i}: {field_name}(slug: $s{i}) {{ {fields} }}" for i in range(ALIASES))
    return f"query Aliased({params}) {{ {selections} }}"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    bodies: dict[str, str]  # system -> JSON body; a system absent here does not run it
    expect: dict[str, int] = field(default_factory=dict)  # system -> non-null results expected
    # Each request a new document, differing from the others only in the slug written into its
    # text: every seeded slug in turn (more than the document cache holds), by the wrk script.
    literal: bool = False
    # Bodies to pick from at random per request (ours and the floor); `bodies` holds the first.
    variants: tuple[str, ...] = ()
    # The slug written (as a JSON string, once) into every system's body: the wrk script sends
    # each seeded slug in turn in its place, as the literal scenario does, so that a lookup by
    # variables meets the same spread of slugs (and of cache entries) as its literal twin.
    every_slug: str | None = None


TREE_QUERY = (
    "query Tree { categories { slug name subcategories { slug name "
    "microServices { id slug name } } } }"
)
WIZARD_QUERY = (
    "query Wizard($path: [String!]!) { wizardQuestions(categories: $path) "
    "{ microId microUuid questions { id label type required options { value label } } } }"
)


def wizard_paths() -> list[list[str]]:
    """Every selection path of the catalogue file (the services that have questions)."""
    return [
        [m.category, m.subcategory, m.slug]
        for m in load_catalogue(DEFAULT_CATALOGUE_PATH).micro_services()
    ]


def scenarios(slugs: list[str]) -> list[Scenario]:
    one, twenty = slugs[0], slugs[:ALIASES]
    tree = body(TREE_QUERY, {}, "Tree")
    wizards = tuple(body(WIZARD_QUERY, {"path": path}, "Wizard") for path in wizard_paths())
    categories = len(load_catalogue(DEFAULT_CATALOGUE_PATH).categories)
    aliased_vars = {f"s{i}": s for i, s in enumerate(twenty)}
    ours_aliased = body(_aliased("microService", SERVICE_FIELDS), aliased_vars, "Aliased")
    pg_aliased = body(_aliased("microServiceBySlug", PG_SERVICE_FIELDS), aliased_vars, "Aliased")
    return [
        Scenario(
            "one",
            "1 lookup by slug",
            {
                OURS: body(
                    "query One($slug: String!) "
                    f"{{ microService(slug: $slug) {{ {SERVICE_FIELDS} }} }}",
                    {"slug": one},
                    "One",
                ),
                BASELINE: body("", {"slug": one}, "One"),
                POSTGRAPHILE: body(
                    "query One($slug: String!) "
                    f"{{ microServiceBySlug(slug: $slug) {{ {PG_SERVICE_FIELDS} }} }}",
                    {"slug": one},
                    "One",
                ),
            },
            {OURS: 1, BASELINE: 1, POSTGRAPHILE: 1},
            every_slug=one,
        ),
        Scenario(
            "aliased",
            "20 aliased lookups",
            {
                OURS: ours_aliased,
                BASELINE: body("", aliased_vars, "Aliased"),
                POSTGRAPHILE: pg_aliased,
            },
            {OURS: ALIASES, BASELINE: ALIASES, POSTGRAPHILE: ALIASES},
        ),
        Scenario(
            "slugs",
            "20 slugs, microServices(slugs:)",
            {
                OURS: body(
                    "query Slugs($slugs: [String!]!) "
                    f"{{ microServices(slugs: $slugs) {{ {SERVICE_FIELDS} }} }}",
                    {"slugs": twenty},
                    "Slugs",
                ),
                BASELINE: body("", {"slugs": twenty}, "Slugs"),
                POSTGRAPHILE: pg_aliased,  # its client's only way: 20 aliased lookups
            },
            {OURS: ALIASES, BASELINE: ALIASES, POSTGRAPHILE: ALIASES},
        ),
        Scenario(
            "wizard",
            "wizardQuestions",
            {
                OURS: body(
                    "query Wizard($path: [String!]!) { wizardQuestions(categories: $path) "
                    "{ microId microUuid questions { id label type required "
                    "options { value label } } } }",
                    {"path": ["painting", "interior", "wall-painting"]},
                    "Wizard",
                ),
                BASELINE: body("", {"path": ["painting", "interior", "wall-painting"]}, "Wizard"),
            },
            {OURS: 1, BASELINE: 1},
        ),
        Scenario(
            "tree",
            "categories tree (cached answer)",
            {OURS: tree, FLOOR: tree},
            {OURS: categories, FLOOR: categories},
        ),
        Scenario(
            "wizard-random",
            "wizardQuestions, random service (cached answers)",
            {OURS: wizards[0], FLOOR: wizards[0]},
            {OURS: 1, FLOOR: 1},
            variants=wizards,
        ),
        Scenario(
            "publish",
            "publishJob",
            {
                OURS: body(
                    "mutation Publish($input: PublishJobInput!) "
                    "{ publishJob(input: $input) { job { id microUuid status } } }",
                    {
                        "input": {
                            "microId": "wall-painting",
                            "answers": WALL_PAINTING_ANSWERS,
                            "location": EXAMPLE_LOCATION,
                        }
                    },
                    "Publish",
                ),
            },
            {OURS: 1},
        ),
        Scenario(
            "publish-nested",
            "publishJob, job { location photos microService }",
            {
                OURS: body(
                    "mutation Publish($input: PublishJobInput!) { publishJob(input: $input) "
                    "{ job { id status location { postcode district area addressLine } "
                    "photos { id url } microService { slug } } } }",
                    {
                        "input": {
                            "microId": "wall-painting",
                            "answers": WALL_PAINTING_ANSWERS,
                            "location": {**EXAMPLE_LOCATION, "addressLine": "1 Bench Road"},
                        }
                    },
                    "Publish",
                ),
            },
            {OURS: 1},
        ),
        Scenario(
            "literal",
            "1 lookup, literal in query (new document per request)",
            {
                OURS: "microService|" + SERVICE_FIELDS,
                POSTGRAPHILE: "microServiceBySlug|" + PG_SERVICE_FIELDS,
            },
            literal=True,
        ),
    ]


def literal_body(field_spec: str, slug: str) -> str:
    """What the literal scenario's wrk script sends for `slug` (for the pre-flight check)."""
    field_name, fields = field_spec.split("|")
    query = f'{{ {field_name}(slug: "{slug}") {{ {fields} }} }}'
    return json.dumps({"query": query})
