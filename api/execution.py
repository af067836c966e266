"""Running one GraphQL request once the protocol layer has read it: persisted queries (APQ), the
response cache, compiled lookup plans, then the schema; and shaping the result as the
negotiated response (HTTP caching headers and compression: api/http_cache.py)."""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError  # no public name for it
from strawberry.types.graphql import OperationType

from api.http_cache import (
    NO_STORE,
    accepted_encoding,
    cache_control,
    compressed_response,
    not_modified,
    not_modified_response,
    ready_response,
    representation_etag,
)
from api.http_errors import (
    BadRequestError,
    HTTPError,
    MethodNotAllowedError,
    NotAcceptableError,
    PersistedQueryNotFoundError,
)
from api.persisted_queries import requested_hash, verify
from api.protocol import (
    APPLICATION_JSON,
    GRAPHQL_RESPONSE_JSON,
    Params,
    error_body,
    json_response,
    negotiate,
    parse_params,
    read_raw,
    wants_graphql_ide,
)
from api.rate_limits import WINDOW_SECONDS, check_rate_limit
from api.request_id import request_id_of
from api.response_cache import CachedAnswer, Lookup, ResponseCache
from api.state import HttpState
from context import Context
from domain.errors import RateLimitedError
from monitoring.metrics import RESPONSE_CACHE
from schema import document_cache
from schema.codes import CODES
from schema.limits import request_cost

CACHE_HITS = RESPONSE_CACHE.labels(result="hit")
CACHE_MISSES = RESPONSE_CACHE.labels(result="miss")
CACHE_NOT_MODIFIED = RESPONSE_CACHE.labels(result="not_modified")


class HTTPView(Protocol):
    """What the handler needs from the Strawberry view."""

    schema: BaseSchema

    @property
    def graphql_ide(self) -> Any: ...

    async def get_sub_response(self, request: Request) -> Response: ...

    async def get_context(self, request: Request, response: Response) -> Context: ...

    async def render_graphql_ide(self, request: Request) -> Response: ...


def is_request_error(result: ExecutionResult) -> bool:
    """The request failed before execution (parse, validation, limits, variable coercion): no
    `data` entry then, and a 4xx under application/graphql-response+json."""
    if isinstance(result, PreExecutionError):
        return True
    return result.data is None and all(error.path is None for error in result.errors or ())


async def serve(view: HTTPView, request: Request) -> Response:
    """Answer one HTTP request to /graphql."""
    media_type = negotiate(request.headers.get("accept"))
    try:
        if request.method not in ("GET", "POST"):
            raise MethodNotAllowedError(
                "GraphQL is served over GET and POST.", headers={"Allow": "GET, POST"}
            )
        if view.graphql_ide and wants_graphql_ide(request):
            return await view.render_graphql_ide(request)
        if media_type is None:
            raise NotAcceptableError(
                f"Acceptable response types are {GRAPHQL_RESPONSE_JSON} and {APPLICATION_JSON}."
            )
        http: HttpState = request.state.http_state
        raw = await read_raw(request, http.settings.max_body_bytes)
        cache = http.response_cache
        if cache is not None and cache.live():
            # The same request bytes as an earlier cacheable request: straight to the cache.
            lookup = cache.recall(request.method, raw)
            if lookup is not None:
                answer = await _cached(request, media_type, http, cache, lookup)
                if answer is not None:
                    return answer
        params = parse_params(request, raw)
        return await _execute(view, request, params, media_type, http, raw)
    except HTTPError as exc:
        extra = {} if exc.limit is None else {"limit": exc.limit}
        return json_response(
            error_body(exc.message, exc.code, **extra),
            status=exc.status,
            media_type=media_type or APPLICATION_JSON,
            headers=exc.headers,
        )


async def _execute(
    view: HTTPView,
    request: Request,
    params: Params,
    media_type: str,
    http: HttpState,
    raw: bytes,
) -> Response:
    persisted_queries = http.persisted_queries
    query, registering = params.query, False
    sha256 = requested_hash(params.extensions)
    if sha256 is not None:
        if query is None:
            query = await persisted_queries.get(sha256)
            if query is None:
                # Not cacheable: the client registers the query next, and the same GET must
                # then reach us rather than a CDN's copy of this miss.
                not_found = CODES[PersistedQueryNotFoundError]
                return json_response(
                    error_body("PersistedQueryNotFound", not_found.code),
                    status=not_found.status if media_type == GRAPHQL_RESPONSE_JSON else 200,
                    media_type=media_type,
                    headers={"Cache-Control": "no-store"},
                )
        else:
            verify(sha256, query)
            registering = True
    if query is None:
        raise BadRequestError("The request has no 'query'.")

    cache = http.response_cache
    live = cache is not None and cache.live()
    # Taken before execution: an answer computed while the catalogue changes is kept under the
    # old version, which no request asks for once the notice has arrived.
    version = cache.version if cache is not None else 0
    lookup: Lookup | None = None
    if live and cache is not None:
        # Worked out from the hints once per document (a parse), before the first execution:
        # so a process's first request can already be answered by another's copy in Redis.
        policy = cache.learn(query, params.operation_name)
        if policy.cacheable:
            lookup = cache.locate(version, query, params.operation_name, params.variables, policy)
            cache.remember(request.method, raw, version, lookup)
            answer = await _cached(request, media_type, http, cache, lookup)
            if answer is not None:
                if registering:
                    await persisted_queries.put(sha256 or "", query)
                return answer

    sub_response = await view.get_sub_response(request)
    context = await view.get_context(request, sub_response)
    plan = http.plans.get(query, params.operation_name)
    if http.rate_limits is not None:
        cost = (
            plan.cost(params.variables)
            if plan is not None
            else _document_cost(query, params, http.settings.max_tokens)
        )
        decision = await check_rate_limit(http.rate_limits, request, context, cost)
        limit_headers = decision.headers()
        if not decision.allowed:
            retry_after = limit_headers["Retry-After"]
            return json_response(
                error_body(
                    "Too many lookups: this caller's budget is "
                    f"{decision.limit} per {WINDOW_SECONDS} s; retry after {retry_after} s.",
                    CODES[RateLimitedError].code,
                    cost=cost,
                    limit=decision.limit,
                    retryAfter=int(retry_after),
                ),
                status=CODES[RateLimitedError].status,
                media_type=media_type,
                headers=limit_headers,
            )
        sub_response.headers.update(limit_headers)
    if plan is not None and (not plan.mutation or request.method == "POST"):
        planned = await plan.run(context, params.variables)
        if planned is not None:
            if registering:
                # A plan exists only for a document that already ran without error (so it
                # validated): keep it, or hash-only requests for it would never stop being misses.
                await persisted_queries.put(sha256 or "", query)
            return await _answer(
                request, planned.body, 200, media_type, sub_response, http, context,
                kept=None if planned.failed else lookup, raw=raw, version=version,
            )  # fmt: skip
    allowed = {OperationType.QUERY}
    if request.method == "POST":
        allowed.add(OperationType.MUTATION)
    try:
        result = await view.schema.execute(
            query,
            variable_values=params.variables,
            context_value=context,
            operation_name=params.operation_name,
            allowed_operation_types=allowed,
            operation_extensions=params.extensions,
        )
    except InvalidOperationTypeError:
        raise MethodNotAllowedError(
            "Mutations are accepted over POST only.", headers={"Allow": "POST"}
        ) from None
    except CannotGetOperationTypeError as exc:
        result = PreExecutionError(
            data=None,
            errors=[
                GraphQLError(
                    exc.as_http_error_reason(), extensions={"code": CODES[BadRequestError].code}
                )
            ],
        )
    except MissingQueryError:
        raise BadRequestError("The request has no 'query'.") from None

    failed_early = is_request_error(result)
    if not result.errors:
        http.plans.learn(query, params.operation_name)
    if registering and not failed_early:
        # Only documents that parsed and validated are kept: the store is no dumping ground.
        await persisted_queries.put(sha256 or "", query)
    body: dict[str, Any] = {}
    if not failed_early:
        body["data"] = result.data
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    status = 400 if failed_early and media_type == GRAPHQL_RESPONSE_JSON else 200
    return await _answer(
        request, body, status, media_type, sub_response, http, context,
        kept=None if result.errors else lookup, raw=raw, version=version,
    )  # fmt: skip


async def _answer(
    request: Request,
    body: dict[str, Any],
    status: int,
    media_type: str,
    sub_response: Response,
    http: HttpState,
    context: Context,
    *,
    kept: Lookup | None,
    raw: bytes,
    version: int,
) -> Response:
    """The response for an executed request, kept first when it may be: `kept` is set only for
    a cacheable operation that answered without errors while the cache is live; a degraded
    answer (the resolver said so) or a status set by a resolver keeps it out."""
    cache = http.response_cache
    if (
        cache is not None
        and kept is not None
        and context.cacheable
        and not sub_response.status_code
    ):
        entry = await cache.put(kept.key, orjson.dumps(body), kept.policy.max_age)
        cache.remember(request.method, raw, version, kept)
        CACHE_MISSES.inc()
        request_id = sub_response.headers.get("X-Request-ID")
        return await _from_cache(request, media_type, http, cache, kept, entry, request_id)
    return _respond(request, body, status, media_type, sub_response, http)


def _document_cost(query: str, params: Params, max_tokens: int) -> int:
    """The cost of a document the general path will run; parsed once through the schema's
    document cache, so the execution that follows does not parse it again."""
    try:
        document = document_cache.document(query, {"max_tokens": max_tokens})
    except GraphQLError:
        return 1  # a syntax error: refused by the parser in a moment, at the smallest cost
    return request_cost(document, params.variables or {}, params.operation_name)


async def _cached(
    request: Request,
    media_type: str,
    http: HttpState,
    cache: ResponseCache,
    lookup: Lookup,
) -> Response | None:
    """The answer from the cache (or 304), None on a miss."""
    if request.method == "GET" and "if-none-match" in request.headers:
        # The client's copy may be plain (a small answer) or encoded: either one is current.
        encoding = accepted_encoding(request, 2**62, http.settings.compress_min_bytes)
        for candidate in {encoding, None}:
            etag = representation_etag(lookup.etag, media_type, candidate)
            if not_modified(request, etag):
                # Same version, same request: the client's copy is this answer, whether we
                # hold it or not.
                response = not_modified_response(etag, _cache_control(http, lookup))
                response.headers["X-Request-ID"] = request_id_of(request.scope)
                CACHE_NOT_MODIFIED.inc()
                return response
    entry = cache.get_local(lookup.key) or await cache.get(lookup.key)
    if entry is None:
        return None
    CACHE_HITS.inc()
    return await _from_cache(request, media_type, http, cache, lookup, entry)


async def _from_cache(
    request: Request,
    media_type: str,
    http: HttpState,
    cache: ResponseCache,
    lookup: Lookup,
    entry: CachedAnswer,
    request_id: str | None = None,
) -> Response:
    """A kept answer in the representation the client asked for, with its caching headers."""
    encoding = accepted_encoding(request, len(entry.body), http.settings.compress_min_bytes)
    body = entry.body if encoding is None else await cache.encoded(lookup.key, entry, encoding)
    get = request.method == "GET"
    return ready_response(
        body,
        media_type=media_type,
        encoding=encoding,
        request_id=request_id or request_id_of(request.scope),
        etag=representation_etag(lookup.etag, media_type, encoding) if get else None,
        cache_control_value=_cache_control(http, lookup) if get else None,
    )


def _cache_control(http: HttpState, lookup: Lookup) -> str:
    return cache_control(lookup.policy.max_age, http.settings.stale_while_revalidate_seconds)


def _respond(
    request: Request,
    body: Any,
    status: int,
    media_type: str,
    sub_response: Response,
    http: HttpState,
) -> Response:
    headers = dict(sub_response.headers)
    if request.method == "GET":
        headers.setdefault("Cache-Control", NO_STORE)
    response = compressed_response(
        request,
        orjson.dumps(body),
        status=sub_response.status_code or status,
        media_type=media_type,
        min_bytes=http.settings.compress_min_bytes,
        headers=headers,
    )
    return response
