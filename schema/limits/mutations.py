"""The limit on mutation fields per operation."""

from __future__ import annotations

from graphql import (
    ASTValidationRule,
    OperationDefinitionNode,
    ValidationContext,
    ValidationRule,
)

from schema.codes import MaxMutationsExceededError
from schema.limits.fields import fragments_of, limit_error, sum_root_fields


def mutation_count_rule(max_mutations: int) -> type[ASTValidationRule]:
    """Mutation fields per operation (aliases and fragments included): each one writes, and a
    document of 200 aliased publishJob would store 200 jobs in one request."""

    class MutationCount(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            definitions = context.document.definitions
            fragments = fragments_of(context.document)
            for operation in definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                if operation.operation.value != "mutation":
                    continue
                count = sum_root_fields(
                    operation.selection_set,
                    fragments,
                    lambda field: 0 if field.name.value.startswith("__") else 1,
                )
                if count > max_mutations:
                    self.report_error(
                        limit_error(
                            MaxMutationsExceededError,
                            f"The mutation has {count} fields; the limit is {max_mutations} "
                            "per request.",
                            operation,
                            limit=max_mutations,
                        )
                    )

    return MutationCount
