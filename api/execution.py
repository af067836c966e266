"""Running one GraphQL-over-HTTP request: a pipeline of small steps over one `RequestState`
(api/request_state.py), read top to bottom. Each step either answers (returns a response) or
passes the request on (returns None):

method -> GraphiQL -> media type -> body -> remembered request bytes -> parameters ->
persisted query (APQ) -> literals lifted -> response cache -> context and plan -> rate limit ->
compiled plan -> the schema -> remember the answer.

A document sent with its persisted-query hash is registered once an answer proves it valid,
whichever step gave that answer. Responses and their caching headers: api/answers.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from graphql import DocumentNode, GraphQLError
from starlette.requests import Request
from starlette.responses import Response

from api.answers import answer, cached
from api.general_execution import executed
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
from api.rate_limit_callers import budget_here, check_rate_limit
from api.rate_limits import WINDOW_SECONDS
from api.request_state import HTTPView, Outcome, RequestState
from context.headers import header
from domain.errors import RateLimitedError
from schema import document_cache
from schema.codes import CODES
from schema.limits import request_cost

Step = Callable[[RequestState], Awaitable[Response | None]]


async def serve(view: HTTPView, request: Request) -> Response:
    """Answer one HTTP request to /graphql."""
    state = RequestState(
        view, request, request.state.http_state, negotiate(header(request.headers, b"accept"))
    )
    try:
        for step in STEPS:
            response = await step(state)
            if response is not None:
                await _register(state)
                return response
        raise AssertionError("the last step always answers")
    except HTTPError as exc:
        extra = {} if exc.limit is None else {"limit": exc.limit}
        return json_response(
            error_body(exc.message, exc.code, **extra),
            status=exc.status,
            media_type=state.media_type,
            headers=exc.headers,
        )


async def _register(state: RequestState) -> None:
    """Keep a document sent with its hash, once an answer proved it valid: the store is no
    dumping ground, and hash-only requests for a valid document must stop being misses."""
    if state.registering is not None and state.validated:
        await state.http.persisted_queries.put(state.registering, state.sent or state.query)


async def _allow_method(state: RequestState) -> Response | None:
    if state.request.method not in ("GET", "POST"):
        raise MethodNotAllowedError(
            "GraphQL is served over GET and POST.", headers={"Allow": "GET, POST"}
        )
    return None


async def _graphql_ide(state: RequestState) -> Response | None:
    if state.view.graphql_ide and wants_graphql_ide(state.request):
        return await state.view.render_graphql_ide(state.request)
    return None


async def _acceptable(state: RequestState) -> Response | None:
    if state.negotiated is None:
        raise NotAcceptableError(
            f"Acceptable response types are {GRAPHQL_RESPONSE_JSON} and {APPLICATION_JSON}."
        )
    return None


async def _read_body(state: RequestState) -> Response | None:
    state.raw = await read_raw(state.request, state.http.settings.max_body_bytes)
    return None


async def _recalled(state: RequestState) -> Response | None:
    """The same request bytes as an earlier cacheable request: straight to the cache."""
    cache = state.http.response_cache
    if cache is None or not cache.live():
        return None
    lookup = cache.recall(state.request.method, state.raw)
    return None if lookup is None else await cached(state, cache, lookup)


async def _parse(state: RequestState) -> Response | None:
    state.params = parse_params(state.request, state.raw)
    return None


async def _persisted_query(state: RequestState) -> Response | None:
    """The document: as sent, or found by its hash (APQ); a document sent with its hash is
    checked against it, and registered once answered (`_register`)."""
    query = state.params.query
    sha256 = requested_hash(state.params.extensions)
    if sha256 is not None:
        if query is None:
            query = await state.http.persisted_queries.get(sha256)
            if query is None:
                # Not cacheable: the client registers the query next, and the same GET must
                # then reach us rather than a CDN's copy of this miss.
                not_found = CODES[PersistedQueryNotFoundError]
                return json_response(
                    error_body("PersistedQueryNotFound", not_found.code),
                    status=not_found.status if state.media_type == GRAPHQL_RESPONSE_JSON else 200,
                    media_type=state.media_type,
                    headers={"Cache-Control": "no-store"},
                )
        else:
            verify(sha256, query)
            state.registering = sha256
    if query is None:
        raise BadRequestError("The request has no 'query'.")
    state.query = query
    return None


async def _lift(state: RequestState) -> Response | None:
    """A document whose signature is known runs as its lifted text, its literals as variables;
    a text the document cache holds already is served as it is. A mutation is lifted only over
    POST, onto a compiled plan: it cannot be run again as sent (`_planned`)."""
    if state.query in document_cache:
        return None
    plans = state.http.plans
    lifted = plans.literals.lift(state.query)
    if lifted is None:
        return None
    form, values = lifted
    params = state.params
    if form.mutation and (
        state.request.method != "POST" or plans.get(form.text, params.operation_name) is None
    ):
        return None
    state.sent, state.sent_params = state.query, params
    state.query = form.text
    variables = {**params.variables, **values} if params.variables else values
    # Built directly: `dataclasses.replace` inspects the fields on every call.
    state.params = Params(form.text, variables, params.operation_name, params.extensions)
    return None


async def _response_cache(state: RequestState) -> Response | None:
    cache = state.http.response_cache
    if cache is None:
        return None
    # Taken before execution: an answer computed while the catalogue changes is kept under the
    # old version, which no request asks for once the notice has arrived.
    state.version = cache.version
    if not cache.live():
        return None
    # Worked out from the hints once per document (a parse), before the first execution:
    # so a process's first request can already be answered by another's copy in Redis.
    operation_name = state.params.operation_name
    policy = cache.learn(state.query, operation_name, lambda query: _document(state))
    if not policy.cacheable:
        return None
    lookup = cache.locate(
        state.version, state.query, operation_name, state.params.variables, policy
    )
    state.lookup = lookup
    cache.remember(state.request.method, state.raw, state.version, lookup)
    response = await cached(state, cache, lookup)
    state.validated = response is not None  # only valid documents' answers are kept
    return response


async def _context(state: RequestState) -> Response | None:
    state.sub_response = await state.view.get_sub_response(state.request)
    state.context = await state.view.get_context(state.request, state.sub_response)
    state.plan = state.http.plans.get(state.query, state.params.operation_name)
    return None


async def _rate_limit(state: RequestState) -> Response | None:
    limits = state.http.rate_limits
    if limits is None:
        return None
    variables = state.params.variables
    cost = state.plan.cost(variables) if state.plan is not None else _document_cost(state)
    budget = budget_here(limits, state.request, state.context)
    decision = None
    if budget is not None:
        item, identity, policy = budget
        units = cost if cost > 1 else 1  # a request costs at least one
        admitted = limits.admitted_here(item, identity, units, policy)
        if admitted is not None:  # the common case: no Decision, the headers straight away
            state.sub_response.raw_headers.extend(admitted)
            return None
        decision = limits.hit_here(item, identity, units, policy)
    if decision is None:
        decision = await check_rate_limit(limits, state.request, state.context, cost)
    if not decision.allowed:
        limit_headers = decision.headers()
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
            media_type=state.media_type,
            headers=limit_headers,
        )
    state.sub_response.raw_headers.extend(decision.raw_headers())
    return None


def _document(state: RequestState) -> DocumentNode:
    """The request's document, parsed once through the schema's document cache for every step
    (cache hints, cost, the schema's execution); raises GraphQLError when it does not parse."""
    return document_cache.document(state.query, {"max_tokens": state.http.settings.max_tokens})


def _document_cost(state: RequestState) -> int:
    """The cost of a document the general path will run."""
    params = state.params
    try:
        document = _document(state)
    except GraphQLError:
        return 1  # a syntax error: refused by the parser in a moment, at the smallest cost
    return request_cost(document, params.variables or {}, params.operation_name)


async def _planned(state: RequestState) -> Response | None:
    plan = state.plan
    if plan is None or (plan.mutation and state.request.method != "POST"):
        return None
    lifted_mutation = plan.mutation and state.sent is not None
    planned = await plan.run(
        state.context, state.params.variables, state.sent if lifted_mutation else None
    )
    if planned is not None:
        # A plan exists only for a document that already ran without error: it validated.
        state.validated = True
        state.outcome = Outcome(planned.body, 200, None if planned.failed else state.lookup)
    elif lifted_mutation:
        # The plan stepped aside before anything ran: the general path runs the text as sent.
        _unlift(state)
    return None


def _unlift(state: RequestState) -> None:
    assert state.sent is not None
    assert state.sent_params is not None
    state.query, state.params = state.sent, state.sent_params
    state.sent = state.sent_params = state.lookup = state.plan = state.outcome = None


async def _remember(state: RequestState) -> Response | None:
    """The answer, kept in the response cache when it may be."""
    assert state.outcome is not None  # set by `_planned` or `executed`
    mutation = state.plan is not None and state.plan.mutation
    if state.sent is not None and not mutation and "errors" in state.outcome.body:
        # Lifted literals gave an error: the query (a read) runs again as sent, so that the
        # errors and their locations are those of the document the client wrote. (A lifted
        # mutation's plan located its errors in the text as sent already.)
        _unlift(state)
        # Fresh loaders: the first run may have cancelled some of theirs mid-load.
        state.context = await state.view.get_context(state.request, state.sub_response)
        await executed(state)
        assert state.outcome is not None
    return await answer(state, state.outcome)


STEPS: tuple[Step, ...] = (
    _allow_method,
    _graphql_ide,
    _acceptable,
    _read_body,
    _recalled,
    _parse,
    _persisted_query,
    _lift,
    _response_cache,
    _context,
    _rate_limit,
    _planned,
    executed,
    _remember,
)
