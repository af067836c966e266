"""The browser pages this server hosts itself: GraphiQL, the reference wizard (/post) and the
lookup dashboard (/dashboard), with every script and style they load served from /static.

Nothing here talks to a CDN: a page that works on a plane, behind a strict content-security
policy or on an air-gapped host. GraphiQL's bundle is built by `make assets` (npm packages
pinned in package-lock.json) into web/dist/, which is git-ignored.
"""

from __future__ import annotations

import functools
import html
import json
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from config import ROOT, Settings

WEB = ROOT / "web"
PAGES = WEB / "pages"
STATIC = WEB / "static"
BUILD = WEB / "dist"
GRAPHIQL_BUNDLE = BUILD / "graphiql.js"
EXAMPLE_DOCUMENT = WEB / "graphiql" / "example.graphql"
EXAMPLE_VARIABLES = WEB / "graphiql" / "example-variables.json"
# JSONC: GraphiQL accepts comments, so the key line is there to uncomment, not to be rejected
# as a placeholder by a server that checks keys.
EXAMPLE_HEADERS = '{\n  // "Authorization": "Bearer <your API key>"\n}'

# Pages and scripts change with a deploy, not per request; revalidating each load is cheap
# and keeps a browser from running yesterday's wizard against today's API.
NO_STALE = {"Cache-Control": "no-cache"}
# What the pages may load, enforced by the browser: only this server. Monaco and React set
# inline styles, hence 'unsafe-inline' for styles only; scripts stay 'self'.
_POLICY = (
    "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src {connect}; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
CONTENT_SECURITY_POLICY = _POLICY.format(connect="'self'")
PAGE_HEADERS = {**NO_STALE, "Content-Security-Policy": CONTENT_SECURITY_POLICY}


def issuer_origin(issuer: str | None) -> str | None:
    """The scheme, host and port of the OpenID issuer, as a CSP source; None without one."""
    if not issuer:
        return None
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def sign_in_headers(issuer: str | None) -> dict[str, str]:
    """/post's headers: its sign-in fetches the issuer's discovery document and exchanges the
    code at its token endpoint, so that origin (and only that one) joins connect-src."""
    origin = issuer_origin(issuer)
    if origin is None:
        return PAGE_HEADERS
    policy = _POLICY.format(connect=f"'self' {origin}")
    return {**NO_STALE, "Content-Security-Policy": policy}


@functools.cache
def graphiql_defaults(endpoint: str = "/graphql") -> dict[str, str]:
    """What GraphiQL opens with: the wizard walk-through, its variables, a headers hint."""
    return {
        "endpoint": endpoint,
        "query": EXAMPLE_DOCUMENT.read_text(encoding="utf-8"),
        "variables": EXAMPLE_VARIABLES.read_text(encoding="utf-8").strip(),
        "headers": EXAMPLE_HEADERS,
    }


def _json_for_script(value: object) -> str:
    # Inside <script> only "</" can end the element early; escaping "<" rules that out.
    return json.dumps(value).replace("<", "\\u003c")


def graphiql_page() -> Response:
    if not GRAPHIQL_BUNDLE.is_file():
        message = (
            "GraphiQL's assets are not built. Run `make assets` (or `make serve`), "
            f"which installs them into {BUILD.relative_to(ROOT)}/."
        )
        body = f"<!doctype html><title>GraphiQL</title><p>{html.escape(message)}</p>"
        return HTMLResponse(body, status_code=503)
    template = (PAGES / "graphiql.html").read_text(encoding="utf-8")
    page = template.replace("{{ defaults }}", _json_for_script(graphiql_defaults()))
    return HTMLResponse(page, headers=PAGE_HEADERS)


def _page(name: str, headers: dict[str, str] = PAGE_HEADERS) -> Route:
    path = PAGES / f"{name}.html"

    async def endpoint(request: Request) -> Response:
        return FileResponse(path, media_type="text/html", headers=headers)

    return Route(f"/{name}", endpoint, methods=["GET"], name=name)


async def home(request: Request) -> Response:
    # The server's own address leads somewhere a person can use: the wizard. Temporary (307),
    # so that a later index page is not hidden behind a cached redirect.
    return RedirectResponse("/post", status_code=307)


def web_routes(settings: Settings) -> list[BaseRoute]:
    """Routes to append to the app: `/`, the two pages and the static assets behind all three."""
    return [
        Route("/", home, methods=["GET", "HEAD"], name="home"),
        _page("post", sign_in_headers(settings.oidc_issuer)),
        _page("dashboard"),
        # check_dir=False: the server starts (API only) even before `make assets` has run.
        Mount("/static/build", app=StaticFiles(directory=BUILD, check_dir=False), name="build"),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
