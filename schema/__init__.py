"""Builds the GraphQL schema with its extensions."""

from __future__ import annotations

from graphql.error import GraphQLError
from strawberry import Schema
from strawberry.types.execution import ExecutionContext

from monitoring.graphql import OperationMetrics
from schema.document_cache import DocumentCache, DocumentCacheExtension
from schema.errors import ErrorCodes, log_errors
from schema.limits import RequestLimits
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription


class AppSchema(Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error with a stack trace; client mistakes are not incidents.
        log_errors(errors, execution_context)


# Distinct documents kept parsed and validated. Clients send a handful of fixed documents with
# variables; the bound only stops clients that inline literals from growing memory.
DOCUMENT_CACHE_SIZE = 1000


def build_schema(document_cache: DocumentCache | None = None) -> Schema:
    cache = DocumentCache(DOCUMENT_CACHE_SIZE) if document_cache is None else document_cache
    return AppSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
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
