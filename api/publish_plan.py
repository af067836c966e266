"""A compiled plan for the document partners send to publish: `publishJob(input: $input)` with
the payload's plain fields.

graphql-core's general executor spends more CPU on a publish than the publish itself does:
coercing the nested input variable, resolving and completing every payload field through
Strawberry's extension hooks. A plan reads the input variable directly, calls the same resolver
(so the key check, validation, lookup, idempotency and storage all apply unchanged) and lays out
the selected fields as the general path would serialize them.

As with lookup plans, a plan is compiled only for a document the general path has already
executed without error, and only when its operation has exactly this shape. Input the plan
cannot read exactly as graphql-core would coerce it (an unknown or mistyped field, a number for
a string) makes it step aside (`None`) before anything runs, and the general path reports the
fault. An error of the publish itself (a rejected answer, a missing scope, the database down)
is coded by `schema.errors` as the general path codes it: the request is not run twice.
`COMPILED_PUBLISH=false` turns plans off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

from graphql import (
    DocumentNode,
    FieldNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    Source,
    VariableNode,
)

from api.plan_answers import PlanAnswer, RootField, root_field_position
from context import Context
from db.records import JobRecord
from resolvers import jobs

Leaf = Callable[[JobRecord], Any]

# Job's scalar fields as the general path serializes them (UUID and DateTime as strings, the
# status enum by its name, answers as stored).
_JOB_LEAVES: dict[str, Leaf] = {
    "id": lambda job: str(job.id),
    "microId": lambda job: job.slug,
    "microUuid": lambda job: None if job.micro_uuid is None else str(job.micro_uuid),
    "answers": lambda job: job.answers,
    "status": lambda job: job.status,
    "createdAt": lambda job: job.created_at.isoformat(),
    "__typename": lambda job: "Job",
}
_PAYLOAD_LEAVES: dict[str, Leaf] = {
    "degraded": lambda job: job.micro_uuid is None,
    "__typename": lambda job: "PublishJobPayload",
}
_INPUT_FIELDS = frozenset(
    {"microId", "microUuid", "answers", "idempotencyKey", "customerRef", "location", "photoIds"}
)
_LOCATION_FIELDS = frozenset({"postcode", "addressLine"})


@dataclass(frozen=True, slots=True)
class _Publish:
    """The resolver's arguments, read from the input variable."""

    slug: str
    micro_uuid: UUID | None
    answers: Any
    idempotency_key: str | None
    customer_ref: str | None
    postcode: str
    address_line: str | None
    photo_ids: list[str] | None


@dataclass(frozen=True, slots=True)
class PublishPlan:
    mutation: ClassVar[bool] = True  # answers POST only: over GET the general path refuses it
    field: RootField  # publishJob, as the document states it
    variable: str  # the variable holding PublishJobInput
    # The payload's response keys in selection order, each with its leaf (None for `job`).
    payload: tuple[tuple[str, Leaf | None], ...]
    job_leaves: tuple[tuple[str, Leaf], ...]

    def cost(self, variables: Mapping[str, Any] | None) -> int:
        """The request's cost in the lookup budget, as `schema.limits.request_cost` counts."""
        return 1

    async def run(self, context: Context, variables: Mapping[str, Any] | None) -> PlanAnswer | None:
        """The response, or None when the general path must answer instead."""
        publish = _read_input((variables or {}).get(self.variable))
        if publish is None:
            return None
        resolve = jobs.publish_job(
            context,
            slug=publish.slug,
            micro_uuid=publish.micro_uuid,
            answers=publish.answers,
            idempotency_key=publish.idempotency_key,
            customer_ref=publish.customer_ref,
            postcode=publish.postcode,
            address_line=publish.address_line,
            photo_ids=publish.photo_ids,
        )
        return await self.field.answer(context.request_id, resolve, self.render)

    def render(self, record: JobRecord) -> dict[str, Any]:
        return {
            key: {name: job(record) for name, job in self.job_leaves}
            if leaf is None
            else leaf(record)
            for key, leaf in self.payload
        }


def _read_input(value: Any) -> _Publish | None:
    """The input as graphql-core would coerce it, or None for anything it would not take as
    is (the general path then answers, with its own error or its own coercion)."""
    if not isinstance(value, dict) or not value.keys() <= _INPUT_FIELDS:
        return None
    slug, answers, location = value.get("microId"), value.get("answers"), value.get("location")
    if not isinstance(slug, str) or answers is None or not isinstance(location, dict):
        return None
    if not location.keys() <= _LOCATION_FIELDS:
        return None
    postcode, address_line = location.get("postcode"), location.get("addressLine")
    if not isinstance(postcode, str) or not _optional_str(address_line):
        return None
    key, ref = value.get("idempotencyKey"), value.get("customerRef")
    if not _optional_str(key) or not _optional_str(ref):
        return None
    photo_ids = value.get("photoIds")
    if photo_ids is not None and (
        not isinstance(photo_ids, list) or not all(isinstance(i, str) for i in photo_ids)
    ):
        return None  # a lone id or a number coerces: the general path knows how
    micro_uuid = value.get("microUuid")
    if micro_uuid is not None:
        if not isinstance(micro_uuid, str):
            return None
        try:
            micro_uuid = UUID(micro_uuid)  # what the UUID scalar parses with
        except ValueError:
            return None
    return _Publish(
        slug=slug,
        micro_uuid=micro_uuid,
        answers=answers,
        idempotency_key=key,
        customer_ref=ref,
        postcode=postcode,
        address_line=address_line,
        photo_ids=photo_ids,
    )


def _optional_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def compile_publish_plan(
    document: DocumentNode, operation_name: str | None, query: str
) -> PublishPlan | None:
    """A plan for `document`'s operation when it is a plain publishJob, else None. `query` is the
    document's text, for the location of the field in errors."""
    if not all(isinstance(d, OperationDefinitionNode) for d in document.definitions):
        return None
    operations = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (operation_name is None or (d.name is not None and d.name.value == operation_name))
    ]
    if len(operations) != 1 or len(document.definitions) != 1:
        return None
    operation = operations[0]
    if operation.operation is not OperationType.MUTATION or operation.directives:
        return None
    definitions = operation.variable_definitions or ()
    if len(definitions) != 1:
        return None
    definition = definitions[0]
    declared = definition.type
    if isinstance(declared, NonNullTypeNode):
        declared = declared.type
    if (
        not isinstance(declared, NamedTypeNode)
        or declared.name.value != "PublishJobInput"
        or definition.default_value is not None
        or definition.directives
    ):
        return None
    selections = operation.selection_set.selections
    if len(selections) != 1:
        return None
    field = selections[0]
    if not isinstance(field, FieldNode) or field.name.value != "publishJob" or field.directives:
        return None
    arguments = field.arguments or ()
    variable = definition.variable.name.value
    if (
        len(arguments) != 1
        or arguments[0].name.value != "input"
        or not isinstance(arguments[0].value, VariableNode)
        or arguments[0].value.name.value != variable
        or field.selection_set is None
    ):
        return None
    payload: list[tuple[str, Leaf | None]] = []
    job_leaves: tuple[tuple[str, Leaf], ...] | None = None
    for selection in field.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            return None
        key = (selection.alias or selection.name).value
        if selection.name.value == "job" and selection.selection_set is not None:
            if job_leaves is not None:
                return None  # merged selections: the general path's rules
            job_leaves = _leaves(selection, _JOB_LEAVES)
            if job_leaves is None:
                return None
            payload.append((key, None))
        elif selection.name.value in _PAYLOAD_LEAVES and selection.selection_set is None:
            payload.append((key, _PAYLOAD_LEAVES[selection.name.value]))
        else:
            return None
    if len({key for key, _ in payload}) != len(payload):
        return None
    position = root_field_position(query)
    if position is None:
        return None
    return PublishPlan(
        field=RootField(
            operation_name=operation.name.value if operation.name else None,
            key=(field.alias or field.name).value,
            source=Source(query),
            position=position,
        ),
        variable=variable,
        payload=tuple(payload),
        job_leaves=job_leaves or (),
    )


def _leaves(selection: FieldNode, known: Mapping[str, Leaf]) -> tuple[tuple[str, Leaf], ...] | None:
    assert selection.selection_set is not None
    leaves: list[tuple[str, Leaf]] = []
    for leaf in selection.selection_set.selections:
        if not isinstance(leaf, FieldNode) or leaf.name.value not in known:
            return None
        if leaf.arguments or leaf.directives or leaf.selection_set is not None:
            return None
        leaves.append(((leaf.alias or leaf.name).value, known[leaf.name.value]))
    if len({name for name, _ in leaves}) != len(leaves):
        return None
    return tuple(leaves)
