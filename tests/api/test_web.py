"""The self-hosted pages over HTTP (no browser): what they load, and that GraphiQL's example
document is valid against the real schema and publishes a job as it stands."""

from __future__ import annotations

import asyncio
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from api import web
from schema import schema
from tests.support import AppHarness, running_app
from tests.support.keys import create_publisher_key

HTML = {"Accept": "text/html"}


class _Assets(HTMLParser):
    """Every URL a page loads by itself: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src", "iframe": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def assets_of(page: str) -> list[str]:
    parser = _Assets()
    parser.feed(page)
    return parser.urls


def defaults_of(page: str) -> dict[str, str]:
    match = re.search(
        r'<script id="graphiql-defaults" type="application/json">(.*?)</script>', page
    )
    assert match, "the defaults element is missing"
    loaded: dict[str, str] = json.loads(match.group(1))
    return loaded


@pytest.mark.parametrize("path", ["/graphql", "/post", "/dashboard"])
async def test_page_loads_only_assets_this_server_serves(api: AppHarness, path: str) -> None:
    response = await api.client.get(path, headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # The browser itself refuses anything from elsewhere.
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    urls = assets_of(response.text)
    assert urls, "a page with no script or style proves nothing"
    for url in urls:
        if url.startswith("data:"):
            continue
        assert url.startswith("/static/"), f"{path} loads {url} from elsewhere"
        asset = await api.client.get(url)
        assert asset.status_code == 200, f"{url}: {asset.status_code}"
        assert asset.content


async def test_no_page_or_hand_written_script_names_another_host() -> None:
    # The bundle is third-party code (links in comments are fine there); what we write must
    # not fetch from a CDN or a font service.
    for file in [*web.PAGES.glob("*.html"), *web.STATIC.glob("*")]:
        text = file.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text), file.name
        assert "fonts.googleapis" not in text, file.name
        assert not re.search(r"fetch\(\s*['\"`]https?://", text), file.name


async def test_graphiql_opens_on_the_wizard_walk_through(api: AppHarness) -> None:
    response = await api.client.get("/graphql", headers=HTML)
    defaults = defaults_of(response.text)
    assert defaults["endpoint"] == "/graphql"
    document = parse(defaults["query"])
    names = [d.name.value for d in document.definitions if d.name]  # type: ignore[attr-defined]
    assert names == ["Categories", "WizardQuestions", "PublishJob"]
    assert (
        'wizardQuestions(categories: ["painting", "interior", "wall-painting"])'
        in (defaults["query"])
    )
    assert validate(build_schema(schema.as_str()), document) == []
    assert "Authorization" in defaults["headers"]


async def test_graphiql_example_operations_run_and_publish_a_job(
    api: AppHarness, database_url: str
) -> None:
    key = await asyncio.to_thread(create_publisher_key, database_url)
    auth = {} if key is None else {"Authorization": f"Bearer {key}"}
    defaults = web.graphiql_defaults()
    variables = json.loads(defaults["variables"])
    categories = await api.client.post(
        "/graphql", json={"query": defaults["query"], "operationName": "Categories"}
    )
    assert "painting" in {c["slug"] for c in categories.json()["data"]["categories"]}

    questions = await api.client.post(
        "/graphql", json={"query": defaults["query"], "operationName": "WizardQuestions"}
    )
    wizard = questions.json()["data"]["wizardQuestions"]
    assert wizard["microId"] == "wall-painting"
    # A question with conditions is required only when they hold; the example's answers hide
    # every such one.
    required = {q["key"] for q in wizard["questions"] if q["required"] and not q["showIf"]}
    assert required <= set(variables["input"]["answers"]), "the example skips a required answer"

    published = await api.client.post(
        "/graphql",
        json={"query": defaults["query"], "operationName": "PublishJob", "variables": variables},
        headers=auth,
    )
    body = published.json()
    assert "errors" not in body, body
    job = body["data"]["publishJob"]["job"]
    assert job["microId"] == "wall-painting"
    assert job["microUuid"] == wizard["microUuid"]
    assert job["location"] == {
        "postcode": "SW1A 1AA",
        "district": "SW1A",
        "area": "SW",
        "addressLine": "Flat 2, 10 Downing Street",
    }
    assert job["photos"] == []


async def test_graphiql_defaults_cannot_close_their_script_element() -> None:
    rendered = web._json_for_script({"query": "# </script><script>alert(1)</script>"})
    assert "</" not in rendered
    assert json.loads(rendered)["query"].endswith("</script>")


async def test_graphiql_without_its_built_assets_says_how_to_build_them(
    api: AppHarness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(web, "GRAPHIQL_BUNDLE", tmp_path / "missing.js")
    response = await api.client.get("/graphql", headers=HTML)
    assert response.status_code == 503
    assert "make assets" in response.text


async def test_graphiql_off_serves_no_ide_but_the_api_still_answers(database_url: str) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, graphiql=False
    ) as harness:
        page = await harness.client.get("/graphql", headers=HTML)
        assert "graphiql" not in page.text.lower()
        answer = await harness.graphql("{ categories { slug } }")
        assert answer["data"]["categories"]


def operations_in(script: Path) -> dict[str, str]:
    """The GraphQL documents a page script holds as `const NAME = \\`...\\`` constants, with
    the `${OTHER}` constants they interpolate (a shared selection, say) filled in."""
    text = script.read_text(encoding="utf-8")
    constants = dict(re.findall(r"const (\w+) = `(.*?)`", text, re.S))
    return {
        name: re.sub(r"\$\{(\w+)\}", lambda m: constants[m.group(1)], document)
        for name, document in constants.items()
        if re.fullmatch(r"\w+_(?:QUERY|MUTATION|SUBSCRIPTION)", name)
    }


async def test_wizard_page_operations_are_valid_against_the_real_schema() -> None:
    operations = operations_in(web.STATIC / "post.js")
    assert set(operations) == {"CATALOGUE_QUERY", "QUESTIONS_QUERY", "PUBLISH_MUTATION"}
    real = build_schema(schema.as_str())
    for name, document in operations.items():
        assert validate(real, parse(document)) == [], name


async def test_my_jobs_operations_are_valid_against_the_real_schema() -> None:
    operations = operations_in(web.STATIC / "my-jobs.js")
    assert set(operations) == {"LIST_QUERY", "JOB_QUERY", "UPDATE_MUTATION", "CANCEL_MUTATION"}
    real = build_schema(schema.as_str())
    for name, document in operations.items():
        assert validate(real, parse(document)) == [], name


@pytest.mark.parametrize(
    ("issuer", "connect"),
    [
        (None, "connect-src 'self';"),
        ("https://abc.supabase.co/auth/v1", "connect-src 'self' https://abc.supabase.co;"),
        ("http://127.0.0.1:9400", "connect-src 'self' http://127.0.0.1:9400;"),
    ],
)
def test_the_wizard_may_connect_to_its_issuers_origin_only(
    issuer: str | None, connect: str
) -> None:
    policy = web.sign_in_headers(issuer)["Content-Security-Policy"]
    assert connect in policy
    assert "script-src 'self';" in policy


async def test_dashboard_query_is_valid_against_the_monitoring_contract() -> None:
    operations = operations_in(web.STATIC / "dashboard.js")
    assert set(operations) == {
        "DASHBOARD_QUERY",
        "BUSINESS_QUERY",
        "HISTORY_QUERY",
        "STATS_SUBSCRIPTION",
        "ALERTS_SUBSCRIPTION",
        "ACKNOWLEDGE_MUTATION",
        "SILENCE_MUTATION",
    }
    real = build_schema(schema.as_str())
    for name, document in operations.items():
        assert validate(real, parse(document)) == [], name


async def test_the_root_leads_to_the_wizard(api: AppHarness) -> None:
    response = await api.client.get("/", headers=HTML, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/post"
