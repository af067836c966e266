"""Builds the GraphQL schema with its extensions."""

from __future__ import annotations

from graphql.error import GraphQLError
from strawberry import Schema
from strawberry.types.execution import ExecutionContext

from monitoring.graphql import OperationMetrics
from schema.errors import ErrorCodes, log_errors
from schema.limits import RequestLimits
from schema.mutation import Mutation
from schema.query import Query


class AppSchema(Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error with a stack trace; client mistakes are not incidents.
        log_errors(errors, execution_context)


def build_schema() -> Schema:
    return AppSchema(
        query=Query, mutation=Mutation, extensions=[RequestLimits, ErrorCodes, OperationMetrics]
    )


schema = build_schema()
