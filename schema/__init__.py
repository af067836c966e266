"""Builds the GraphQL schema with its extensions."""

from __future__ import annotations

from graphql.error import GraphQLError
from strawberry import Schema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from monitoring.graphql import OperationMetrics
from schema.document_cache import DocumentCache, DocumentCacheExtension
from schema.errors import ErrorCodes, coded, log_errors, request_id_of
from schema.limits import RequestLimits
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALARS
from schema.subscription import Subscription


class AppSchema(Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error with a stack trace; client mistakes are not incidents.
        log_errors(errors, request_id_of(execution_context))
        # A subscription's results bypass ErrorCodes (whose hook wraps the whole stream): code
        # them here, in place, as each result is made.
        if _is_subscription(execution_context):
            request_id = request_id_of(execution_context)
            errors[:] = [coded(error, request_id, execution_context) for error in errors]


def _is_subscription(execution_context: ExecutionContext | None) -> bool:
    if execution_context is None or execution_context.graphql_document is None:
        return False  # nothing parsed: not a subscription's result
    try:
        return execution_context.operation_type is OperationType.SUBSCRIPTION
    except RuntimeError:  # no operation of that name in the document
        return False


# Distinct documents kept parsed and validated. Clients send a handful of fixed documents with
# variables; the bound only stops clients that inline literals from growing memory.
DOCUMENT_CACHE_SIZE = 1000


def build_schema(document_cache: DocumentCache | None = None) -> Schema:
    cache = DocumentCache(DOCUMENT_CACHE_SIZE) if document_cache is None else document_cache
    return AppSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALARS),
        # RequestLimits sets the parse options and validation rules the cache then applies.
        extensions=[
            RequestLimits,
            lambda: DocumentCacheExtension(cache),
            ErrorCodes,
            OperationMetrics,
        ],
    )


document_cache = DocumentCache(DOCUMENT_CACHE_SIZE)
schema = build_schema(document_cache)
