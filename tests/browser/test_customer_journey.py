"""A homeowner on /post in Chromium, against the development OpenID provider the server starts:
sign in (the provider's own form), publish a job with contact details and a description, find
it in My jobs, change an answer (and meet a conflict), cancel it, sign out."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlsplit

import asyncpg
import httpx
from playwright.async_api import ConsoleMessage, Page, ViewportSize, expect

from tests.browser.axe import doc_screenshot
from tests.browser.conftest import BrowserPage, LiveServer
from tests.browser.steps import answer_required_questions, choose_wall_painting, publish, where

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PUBLISH = """
mutation Publish($input: PublishJobInput!) { publishJob(input: $input) { job { id } } }"""


async def _sign_in(page: Page, url: str, subject: str) -> None:
    await page.goto(f"{url}/post")
    await page.get_by_role("button", name="Sign in").click()
    # The development provider's page: type a subject, authorize, and back to /post.
    await page.locator("input[name=sub]").fill(subject)
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_url(f"{url}/post")  # the code and state are gone from the address
    await expect(page.locator("#account-status")).to_have_text(f"Signed in as {subject}.")


async def _access_token(page: Page) -> str:
    """The token the page holds (oidc-client-ts keeps the user in sessionStorage)."""
    token = await page.evaluate(
        """() => {
          const key = Object.keys(sessionStorage).find((k) => k.startsWith('oidc.user:'));
          return key ? JSON.parse(sessionStorage.getItem(key)).access_token : '';
        }"""
    )
    assert isinstance(token, str)
    return token


async def test_a_customer_signs_in_publishes_changes_cancels_and_signs_out(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    page, log = open_page.page, open_page.log
    subject = f"homeowner-{uuid.uuid4().hex[:8]}"
    # Each request with the page it came from: the provider's sign-in page loads what it likes
    # (a stylesheet from a CDN); /post must reach nothing but this server and the issuer.
    requests: list[tuple[str, str]] = []
    page.on("request", lambda request: requests.append((request.frame.url, request.url)))
    errors: list[tuple[str, str]] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append((page.url, message.text))  # the page shown, not the resource

    page.on("console", on_console)
    await _sign_in(page, live_server.url, subject)
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    await choose_wall_painting(page)
    await where(page)
    await answer_required_questions(page, wall_count="4")
    await page.get_by_role("button", name="Next").click()  # past the photos
    description = page.get_by_label("The job in your own words", exact=True)
    await expect(description).to_be_visible()
    await description.fill("The ceiling is fine; only the walls.")
    await expect(page.locator("#description-hint")).to_have_text("36 of 2,000 characters.")
    await page.get_by_role("button", name="Next").click()
    details = page.locator("#step-details")
    await expect(details).to_be_visible()
    await page.get_by_label("Your name").fill("Alex Example")
    email = page.locator("#contact-email")
    # The page's own check first: plain words at the field, the focus there.
    await email.fill("not an email")
    await page.get_by_role("button", name="Next").click()
    await expect(page.locator("#error-contact\\.email")).to_contain_text("like name@example.com")
    await expect(email).to_be_focused()
    # An address only the server can tell is wrong (email-validator) gets past the page.
    await email.fill("alex@example..com")
    await page.get_by_label("Phone (optional)").fill("07700 900123")
    await details.get_by_label("Phone", exact=True).check()

    # The server's complaint about the email appears at the email, tied to it, with the focus.
    async with page.expect_request(
        lambda r: r.method == "POST" and "publishJob" in (r.post_data or "")
    ) as sent:
        await publish(page)
    request = await sent.value
    authorization = request.headers.get("authorization", "")
    answers = json.loads(request.post_data or "{}")["variables"]["input"]["answers"]
    assert re.fullmatch(r"Bearer [\w-]+\.[\w-]+\.[\w-]+", authorization), "a JWT, not a key"
    error = page.locator("#error-contact\\.email")
    await expect(error).not_to_be_empty()
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(email).to_have_attribute("aria-describedby", re.compile(r"error-contact\.email"))
    await expect(email).to_be_focused()
    await email.fill("alex@example.com")
    await publish(page)

    result = page.locator("#result")
    await expect(result).to_be_visible()
    await expect(page.locator("#result-title")).to_be_focused()
    summary = page.locator("#result-summary")
    for text in ("Wall painting", "Bedroom", "only the walls", "Alex Example", "Phone"):
        await expect(summary).to_contain_text(text)
    await expect(page.locator("#result-next")).to_contain_text("by phone")
    job_id = await result.get_attribute("data-job-id")
    assert job_id
    assert job_id not in await result.inner_text()
    await open_page.screenshot("customer-published")

    # My jobs: the job, newest first, then more of them a page at a time.
    token = await _access_token(page)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for n in range(10):
            answer = await client.post(
                "/graphql",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "query": PUBLISH,
                    "variables": {
                        "input": {
                            "microId": "wall-painting",
                            "answers": {**answers, "wall_count": n + 1},
                            "location": {"postcode": "M1 1AE"},
                            "contact": {"name": "Alex Example", "email": "alex@example.com"},
                        }
                    },
                },
            )
            assert "errors" not in answer.json(), answer.text
    await page.get_by_role("button", name="My jobs", exact=True).click()
    await expect(page.locator("#my-jobs-title")).to_be_focused()
    await expect(page.locator("#my-jobs-count")).to_have_text("11 jobs, newest first.")
    items = page.locator("#my-jobs-list li")
    await expect(items).to_have_count(10)
    await page.get_by_role("button", name="Load more").click()
    await expect(items).to_have_count(11)
    await expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    ours = page.locator(f'#my-jobs-list li[data-job-id="{job_id}"]')
    await expect(ours).to_contain_text("Open")
    await ours.get_by_role("button", name="Wall painting", exact=True).click()

    # The job: its answers in words, the phone as the server stored it.
    await expect(page.locator("#job-title")).to_have_text("Wall painting")
    await expect(page.locator("#job-title")).to_be_focused()
    await expect(page.locator("#job-status-line")).to_contain_text("Open")
    await expect(page.locator("#job-facts")).to_contain_text("+447700900123")
    walls = page.locator("#answer-wall_count")
    await expect(walls).to_contain_text("4 walls")

    # A change made elsewhere meanwhile: this one is refused, said so, and the job reloaded.
    await page.get_by_role("button", name="Change: How many walls need painting?").click()
    editor = page.locator("#edit-wall_count")
    await expect(editor).to_be_focused()
    await editor.fill("5")
    conn = await asyncpg.connect(live_server.database_url)
    try:
        await conn.execute("UPDATE jobs SET version = version + 1 WHERE id = $1", uuid.UUID(job_id))
    finally:
        await conn.close()
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator("#job-notice")).to_contain_text("changed somewhere else")
    await expect(walls).to_contain_text("4 walls")
    await page.get_by_role("button", name="Change: How many walls need painting?").click()
    await editor.fill("5")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator("#job-notice")).to_have_text("Saved: How many walls need painting?")
    await expect(walls).to_contain_text("5 walls")

    # Cancelling, with a reason: no more changes offered.
    await page.get_by_role("button", name="Cancel this job").click()
    await page.get_by_label("Why are you cancelling? (optional)").fill("Found someone locally")
    await page.get_by_role("button", name="Cancel the job").click()
    await expect(page.locator("#job-status-line")).to_contain_text("Cancelled")
    await expect(page.get_by_role("button", name=re.compile("^Change"))).to_have_count(0)
    await expect(page.get_by_role("button", name="Cancel this job")).to_be_hidden()
    await page.get_by_role("button", name="Back to all my jobs").click()
    await expect(items).to_have_count(10)
    await page.get_by_role("button", name="Load more").click()
    await expect(ours).to_contain_text("Cancelled")
    await open_page.screenshot("customer-my-jobs")

    # Signing out forgets the tokens in this tab, and My jobs asks for a sign-in.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("#account-status")).to_contain_text("Not signed in")
    assert await _access_token(page) == ""
    await page.get_by_role("button", name="My jobs", exact=True).click()
    await expect(page.locator("#my-jobs-error")).to_contain_text("Sign in")

    # Besides this server, /post spoke only to the issuer; the CSP let it, and nothing else.
    async with httpx.AsyncClient() as client:
        issuer = (await client.get(f"{live_server.url}/auth/config")).json()["issuer"]
    here, theirs = urlsplit(live_server.url).netloc, urlsplit(issuer).netloc
    from_post = {
        urlsplit(url).netloc for frame, url in requests if urlsplit(frame).netloc != theirs
    }
    assert from_post == {here, theirs}
    assert log.page_errors == []
    # A content-security-policy violation on /post would be one of these.
    assert [error for error in errors if urlsplit(error[0]).netloc != theirs] == []


def test_the_post_page_may_connect_to_the_issuer_and_nowhere_else(
    live_server: LiveServer,
) -> None:
    issuer = httpx.get(f"{live_server.url}/auth/config").json()["issuer"]
    parts = urlsplit(issuer)
    policy = httpx.get(f"{live_server.url}/post").headers["content-security-policy"]
    connect = next(d for d in policy.split("; ") if d.startswith("connect-src "))
    assert connect == f"connect-src 'self' {parts.scheme}://{parts.netloc}"
    dashboard = httpx.get(f"{live_server.url}/dashboard").headers["content-security-policy"]
    assert "connect-src 'self';" in dashboard


async def test_signing_in_mid_wizard_keeps_what_was_entered(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    page, log = open_page.page, open_page.log
    subject = f"midway-{uuid.uuid4().hex[:8]}"
    await page.set_viewport_size(DESKTOP)
    await page.goto(f"{live_server.url}/post")
    await choose_wall_painting(page)
    await where(page, "SW1A 2AA")
    await doc_screenshot(page, "desktop-1-question")
    await answer_required_questions(page, wall_count="3")
    await page.get_by_role("button", name="Next").click()  # past the photos
    await page.get_by_label("The job in your own words", exact=True).fill("Three walls, blue.")
    await page.get_by_role("button", name="Next").click()
    await page.get_by_label("Your name").fill("Sam Example")

    await page.get_by_role("button", name="Sign in").click()
    await page.locator("input[name=sub]").fill(subject)
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_url(f"{live_server.url}/post")
    await expect(page.locator("#account-status")).to_have_text(f"Signed in as {subject}.")

    # Back at the step it left, with everything typed so far.
    await expect(page.locator("#step-details")).to_be_visible()
    await expect(page.get_by_label("Your name")).to_have_value("Sam Example")
    await page.locator("#contact-email").fill("sam@example.com")
    await page.get_by_role("button", name="Next").click()
    review = page.locator("#review-summary")
    for text in ("Wall painting", "SW1A 2AA", "Three walls, blue.", "Bedroom", "Sam Example"):
        await expect(review).to_contain_text(text)
    assert await page.evaluate("() => sessionStorage.getItem('jobwizard.draft')") is None
    await doc_screenshot(page, "desktop-2-review")
    await publish(page)
    await expect(page.locator("#result")).to_be_visible()
    await doc_screenshot(page, "desktop-3-confirmation")
    assert log.page_errors == []
