"""Browser tests: the real server (`python server.py`) in a subprocess on a free port, with a
database of this run's own that it migrates and seeds at start, driven by Debian's Chromium
through Playwright. Screenshots go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    async_playwright,
)

from config import ROOT
from tests.support import create_database, drop_database, with_database
from tests.support.keys import create_publisher_key
from tests.support.processes import serving

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
SERVER_START_TIMEOUT = 60.0
# Flags that keep Chromium itself from calling home, so the request log is the page's alone.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
]


@dataclass
class LiveServer:
    url: str
    database_url: str
    log_path: Path


@pytest.fixture(scope="session")
async def browser_database_url(server_url: str) -> AsyncIterator[str]:
    """An empty database: the server under test migrates and seeds it itself at start."""
    name = await create_database(server_url, prefix="jw_browser")
    yield with_database(server_url, name)
    await drop_database(server_url, name)


@pytest.fixture(scope="session")
def live_server(
    browser_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with serving(
        browser_database_url,
        log_path,
        timeout=SERVER_START_TIMEOUT,
        MIGRATE_ON_START="true",
        SEED_ON_START="true",
        GRAPHIQL="true",
        LOG_LEVEL="warning",
        LIVE_INTERVAL_SECONDS="1",  # the dashboard's pushes, quickly
        OIDC_DEV_PORT="0",  # the development provider on a free port: runs may overlap
    ) as server:
        yield LiveServer(url=server.url, database_url=browser_database_url, log_path=log_path)


@pytest.fixture(scope="session")
def publisher_key(live_server: LiveServer) -> str | None:
    """A jobs:write key for the live server, or None where it has no API keys yet."""
    return create_publisher_key(live_server.database_url)


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium "
            "(.ci/run does this on a fresh machine)."
        )
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class RequestLog:
    """Every request the page (and its workers) made, and every page error it raised."""

    urls: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def foreign(self, origin: str) -> list[str]:
        """Requests to anywhere but `origin` (data: and blob: URLs never leave the browser)."""
        ours = urlsplit(origin).netloc
        return [
            url
            for url in self.urls
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != ours
        ]


@dataclass
class BrowserPage:
    page: Page
    context: BrowserContext
    log: RequestLog

    async def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[BrowserPage]:
    """A fresh context (empty storage: GraphiQL opens on its example) with a request log."""
    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    log = RequestLog()

    def on_request(request: Request) -> None:
        log.urls.append(request.url)

    def on_failed(request: Request) -> None:
        log.failed.append(f"{request.url}: {request.failure}")

    context.on("request", on_request)
    context.on("requestfailed", on_failed)
    page = await context.new_page()
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))

    def on_console(message: ConsoleMessage) -> None:
        # A Content-Security-Policy violation shows up here, and only here.
        if message.type == "error":
            log.console_errors.append(message.text)

    page.on("console", on_console)
    try:
        yield BrowserPage(page=page, context=context, log=log)
    finally:
        await context.close()
