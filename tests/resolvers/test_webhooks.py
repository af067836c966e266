"""Webhooks through the API: endpoints managed by their key, and a job's life delivered to a real
receiver on 127.0.0.1, signed, retried after 500 and 503, in order per job, without contact
details; 410 disables an endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.support import AppHarness, error_codes, running_app
from tests.support.jobs import publish_input
from tests.support.keys import IssuedKey
from tests.support.polling import eventually
from tests.support.webhook_receiver import Answer, Received, Receiver

MakeKey = Callable[..., Awaitable[IssuedKey]]
ENDPOINT = "id url events enabled failingSince description filter { postcodeAreas }"
CREATE = f"""
mutation($input: WebhookEndpointInput!) {{
  createWebhookEndpoint(input: $input) {{ secret endpoint {{ {ENDPOINT} }} }}
}}"""
UPDATE = f"""
mutation($id: ID!, $input: WebhookEndpointInput!) {{
  updateWebhookEndpoint(id: $id, input: $input) {{ {ENDPOINT} }}
}}"""
LIST = f"{{ webhookEndpoints {{ {ENDPOINT} }} }}"
DELETE = "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }"
ROTATE = "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }"
DELIVERY = "id eventId eventType status attempts lastStatusCode nextAttemptAt"
TEST = f"mutation($id: ID!) {{ sendTestWebhook(id: $id) {{ {DELIVERY} }} }}"
REDELIVER = f"mutation($id: ID!) {{ redeliverWebhook(deliveryId: $id) {{ {DELIVERY} }} }}"
DELIVERIES = f"""
query($id: ID!, $status: DeliveryStatus, $after: String) {{
  webhookDeliveries(endpointId: $id, first: 2, status: $status, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {DELIVERY} }} }}
  }}
}}"""
PUBLISH = "mutation($input: PublishJobInput!) { publishJob(input: $input) { job { id } } }"
UPDATE_JOB = "mutation($input: UpdateJobInput!) { updateJob(input: $input) { job { version } } }"
CANCEL = "mutation($input: CancelJobInput!) { cancelJob(input: $input) { job { version } } }"
ALL_JOB_EVENTS = ["job.published", "job.updated", "job.cancelled", "job.closed", "job.expired"]
CONTACT = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "07700 900123"}
DISPATCH = {
    "webhook_dispatch": True,
    "webhook_allow_insecure_urls": True,
    "webhook_retry_schedule": "10ms,10ms,10ms,10ms",
    "webhook_poll_seconds": 0.02,
}


@pytest.fixture
async def dispatching(database_url: str) -> AsyncIterator[AppHarness]:
    async with running_app(database_url, **DISPATCH) as harness:
        yield harness
        # The tests of this process share the database: no endpoint outlives its test.
        await harness.app_state.pool.execute("DELETE FROM webhook_endpoints")


async def _ok(api: AppHarness, query: str, variables: dict[str, Any], key: IssuedKey) -> Any:
    body = await api.graphql(query, variables, headers=key.headers)
    assert "errors" not in body, body
    return body["data"]


async def _create(api: AppHarness, key: IssuedKey, url: str, **fields: Any) -> tuple[str, str]:
    data = await _ok(api, CREATE, {"input": {"url": url, "events": ALL_JOB_EVENTS, **fields}}, key)
    created = data["createWebhookEndpoint"]
    return created["endpoint"]["id"], created["secret"]


async def test_endpoints_belong_to_their_key_and_point_only_at_public_https(
    api: AppHarness, make_api_key: MakeKey
) -> None:
    owner, other = await make_api_key("webhooks:write"), await make_api_key("webhooks:write")
    url = "https://hooks.example.com/jobs"
    endpoint_id, secret = await _create(api, owner, url, description="CRM")
    assert secret.startswith("whsec_")
    listed = (await _ok(api, LIST, {}, owner))["webhookEndpoints"]
    assert [(e["id"], e["url"], e["enabled"], e["filter"]) for e in listed] == [
        (endpoint_id, url, True, None)
    ]
    assert (await _ok(api, LIST, {}, other))["webhookEndpoints"] == []
    for query, variables in (
        (DELETE, {"id": endpoint_id}),
        (ROTATE, {"id": endpoint_id}),
        (UPDATE, {"id": endpoint_id, "input": {"url": url, "events": ["job.closed"]}}),
        (DELIVERIES, {"id": endpoint_id}),
    ):
        assert error_codes(await api.graphql(query, variables, headers=other.headers)) == [
            "NOT_FOUND"
        ]
    updated = await _ok(
        api, UPDATE, {"id": endpoint_id, "input": {"url": url, "events": ["job.closed"]}}, owner
    )
    assert updated["updateWebhookEndpoint"]["events"] == ["job.closed"]
    rotated = (await _ok(api, ROTATE, {"id": endpoint_id}, owner))["rotateWebhookSecret"]
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != secret

    refused = {
        "http://hooks.example.com/": "BAD_USER_INPUT",
        "https://127.0.0.1/hook": "BAD_USER_INPUT",
        "https://[::1]/hook": "BAD_USER_INPUT",
        "https://169.254.169.254/latest": "BAD_USER_INPUT",
        "https://localhost/hook": "BAD_USER_INPUT",
        "https://user:pw@hooks.example.com/": "BAD_USER_INPUT",
        "https://hooks.example.com/" + "a" * 2100: "BAD_USER_INPUT",
    }
    for bad, code in refused.items():
        body = await api.graphql(
            CREATE, {"input": {"url": bad, "events": ["job.published"]}}, headers=owner.headers
        )
        assert error_codes(body) == [code], bad
    lead = {"url": url, "events": ["job.published"], "filter": {"postcodeAreas": ["sw"]}}
    assert error_codes(await api.graphql(CREATE, {"input": lead}, headers=owner.headers)) == [
        "FORBIDDEN"
    ]
    publisher = await make_api_key("jobs:write")
    assert error_codes(await api.graphql(LIST, {}, headers=publisher.headers)) == ["FORBIDDEN"]
    assert (await _ok(api, DELETE, {"id": endpoint_id}, owner))["deleteWebhookEndpoint"] is True
    assert (await _ok(api, LIST, {}, owner))["webhookEndpoints"] == []


def _flaky(request: Received) -> Answer:
    """Each event fails twice (500, then 503 asking to wait) before it is taken; /gone is
    gone."""
    if request.path == "/gone":
        return Answer(410)
    if request.attempt == 1:
        return Answer(500)
    if request.attempt == 2:
        return Answer(503, {"retry-after": "0"})
    return Answer(204)


async def test_a_jobs_life_reaches_its_publisher_and_matching_lead_buyers_signed_and_in_order(
    dispatching: AppHarness, make_api_key: MakeKey
) -> None:
    api = dispatching
    partner = await make_api_key("jobs:write", "webhooks:write")
    buyer = await make_api_key("webhooks:write", "leads:read")
    async with Receiver(_flaky).running() as receiver:
        _, partner_secret = await _create(api, partner, receiver.url("/partner"))
        lead_filter = {"postcodeAreas": ["sw"], "categories": ["painting"]}
        buyer_id, buyer_secret = await _create(
            api, buyer, receiver.url("/buyer"), filter=lead_filter
        )
        gone_id, _ = await _create(api, partner, receiver.url("/gone"))

        sw = await _ok(
            api, PUBLISH, {"input": {**publish_input()["input"], "contact": CONTACT}}, partner
        )
        sw_id = sw["publishJob"]["job"]["id"]
        elsewhere = publish_input(location={"postcode": "M1 1AE"})
        other_id = (await _ok(api, PUBLISH, elsewhere, partner))["publishJob"]["job"]["id"]
        edit = {"id": sw_id, "description": "Two walls, not three."}
        await _ok(api, UPDATE_JOB, {"input": edit}, partner)
        await _ok(api, CANCEL, {"input": {"id": sw_id}}, partner)

        def delivered(path: str) -> list[Any]:
            return [r for r in receiver.at(path) if r.attempt == 3]

        await eventually(
            lambda: len(delivered("/partner")) == 4 and len(delivered("/buyer")) == 3,
            what="every event delivered after two failures",
        )
        partner_events = [r.verified(partner_secret) for r in delivered("/partner")]
        buyer_events = [r.verified(buyer_secret) for r in delivered("/buyer")]
        sw_events = [
            (e["type"], e["data"]["version"]) for e in partner_events if e["data"]["jobId"] == sw_id
        ]
        assert sw_events == [("job.published", 1), ("job.updated", 2), ("job.cancelled", 3)]
        assert {e["data"]["jobId"] for e in partner_events} == {sw_id, other_id}
        assert [(e["type"], e["data"]["jobId"]) for e in buyer_events] == [
            ("job.published", sw_id),
            ("job.updated", sw_id),
            ("job.cancelled", sw_id),
        ]
        first = buyer_events[0]
        assert first["data"]["location"] == {"district": "SW1A", "area": "SW"}
        assert set(first["data"]) == {
            "jobId",
            "microId",
            "microUuid",
            "status",
            "version",
            "location",
        }
        for request in receiver.received:
            for personal in (b"Lovelace", b"ada@example.com", b"+447700900123", b"Two walls"):
                assert personal not in request.body
        # One webhook-id per event and endpoint, the same on every attempt.
        for path in ("/partner", "/buyer"):
            attempts: dict[str, int] = {}
            for request in receiver.at(path):
                attempts[request.msg_id] = attempts.get(request.msg_id, 0) + 1
            assert set(attempts.values()) == {3}

        await eventually(lambda: len(receiver.at("/gone")) >= 1)
        gone = await _wait_for_endpoint(api, partner, gone_id, lambda e: not e["enabled"])
        assert gone["failingSince"] is not None
        # Disabled: nothing is tried again (only what was already in flight was sent).
        assert all(r.attempt == 1 for r in receiver.at("/gone"))

        page = await _ok(api, DELIVERIES, {"id": buyer_id, "status": "DELIVERED"}, buyer)
        listing = page["webhookDeliveries"]
        assert listing["totalCount"] == 3
        assert listing["pageInfo"]["hasNextPage"] is True
        newest = listing["edges"][0]["node"]
        assert (newest["eventType"], newest["attempts"], newest["lastStatusCode"]) == (
            "job.cancelled",
            3,
            204,
        )
        assert newest["nextAttemptAt"] is None
        after = listing["pageInfo"]["endCursor"]
        rest = await _ok(api, DELIVERIES, {"id": buyer_id, "after": after}, buyer)
        assert len(rest["webhookDeliveries"]["edges"]) == 1

        # Redelivery: once more, same webhook-id; a test event; both signed by the old and the
        # new secret while they overlap.
        again = (await _ok(api, REDELIVER, {"id": newest["id"]}, buyer))["redeliverWebhook"]
        assert again["status"] == "PENDING"
        rotated = (await _ok(api, ROTATE, {"id": buyer_id}, buyer))["rotateWebhookSecret"]
        test = (await _ok(api, TEST, {"id": buyer_id}, buyer))["sendTestWebhook"]
        await eventually(
            lambda: any(r.msg_id == test["eventId"] and r.attempt == 3 for r in receiver.received)
        )
        await eventually(lambda: sum(r.msg_id == newest["eventId"] for r in receiver.received) >= 4)
        for request in receiver.at("/buyer")[-1:]:
            request.verified(buyer_secret)
            request.verified(rotated["secret"])
    assert not any(
        r.json()["data"]["jobId"] == other_id
        for r in receiver.at("/buyer")
        if r.json()["type"] != "webhook.test"
    )


async def _wait_for_endpoint(
    api: AppHarness, key: IssuedKey, endpoint_id: str, check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def matches() -> bool:
        for endpoint in (await _ok(api, LIST, {}, key))["webhookEndpoints"]:
            if endpoint["id"] == endpoint_id and check(endpoint):
                found.update(endpoint)
                return True
        return False

    await eventually(matches, what="the endpoint as expected")
    return found
