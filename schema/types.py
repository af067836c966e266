"""The GraphQL object types. Built from records and catalogue specs; no SQL, no I/O here
beyond the DataLoader a field resolver asks through its context."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from api.context import Context, Info
from db.records import JobRecord, MicroServiceRecord
from domain.catalogue import Question as QuestionSpec
from domain.catalogue import QuestionKind

# The domain's enum, exposed as is: one list of question kinds, not two to keep in step.
QuestionType = strawberry.enum(
    QuestionKind,
    name="QuestionType",
    description="How a question is answered, and what `answers` holds for it.",
)


@strawberry.enum
class JobStatus(Enum):
    PUBLISHED = "PUBLISHED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


@strawberry.type
class QuestionOption:
    value: str = strawberry.field(description="Stable id stored in `answers`.")
    label: str


@strawberry.type
class Question:
    id: str = strawberry.field(description="The key of this question in `answers`.")
    label: str
    type: QuestionKind  # registered with Strawberry above as `QuestionType`
    required: bool
    options: list[QuestionOption] = strawberry.field(description="Empty unless a select.")
    min: float | None = strawberry.field(description="Lowest number, or shortest text.")
    max: float | None = strawberry.field(description="Highest number, or longest text.")
    unit: str | None
    block: str | None = strawberry.field(
        description="The shared block (property, access, timing, budget) it belongs to; "
        "null for a question specific to the trade."
    )

    @classmethod
    def from_spec(cls, spec: QuestionSpec) -> Question:
        return cls(
            id=spec.id,
            label=spec.label,
            type=spec.kind,
            required=spec.required,
            options=[QuestionOption(value=o.value, label=o.label) for o in spec.options],
            min=spec.min,
            max=spec.max,
            unit=spec.unit,
            block=spec.block,
        )


def questions_for(context: Context, slug: str) -> list[Question]:
    spec = context.services.catalogue.micro_service(slug)
    return [] if spec is None else [Question.from_spec(q) for q in spec.questions]


def _micro_service_questions(root: MicroService, info: Info) -> list[Question]:
    return questions_for(info.context, root.slug)


@strawberry.type
class MicroService:
    id: UUID
    slug: str
    name: str
    category: str = strawberry.field(description="The category's slug.")
    subcategory: str = strawberry.field(description="The subcategory's slug.")
    description: str

    questions: list[Question] = strawberry.field(
        resolver=_micro_service_questions,
        description="The wizard's questions for this micro service, in order.",
    )

    @classmethod
    def from_record(cls, record: MicroServiceRecord) -> MicroService:
        return cls(
            id=record.id,
            slug=record.slug,
            name=record.name,
            category=record.category,
            subcategory=record.subcategory,
            description=record.description,
        )


@strawberry.type
class Subcategory:
    slug: str
    name: str
    micro_services: list[MicroService]


@strawberry.type
class Category:
    slug: str
    name: str
    subcategories: list[Subcategory]


@strawberry.type
class WizardQuestions:
    micro_id: str = strawberry.field(description="The micro service's slug.")
    micro_uuid: UUID | None = strawberry.field(
        description="Null only when the lookup degraded or the catalogue row does not exist yet."
    )
    name: str
    questions: list[Question]
    degraded: bool = strawberry.field(
        default=False,
        description="True when the UUID lookup was unavailable (database failing): the "
        "questions are served as usual and microUuid is null; publishJob still accepts the job.",
    )


@strawberry.type
class Job:
    id: UUID
    micro_id: str
    micro_uuid: UUID | None = strawberry.field(
        description="Null for slug-only jobs until backfilled."
    )
    answers: JSON
    status: JobStatus
    created_at: datetime

    @strawberry.field
    async def micro_service(self, info: Info) -> MicroService | None:
        record = await info.context.loaders.micro_services.load(self.micro_id)
        return None if record is None else MicroService.from_record(record)

    @classmethod
    def from_record(cls, record: JobRecord) -> Job:
        answers: Any = record.answers
        return cls(
            id=record.id,
            micro_id=record.micro_id,
            micro_uuid=record.micro_uuid,
            answers=answers,
            status=JobStatus(record.status),
            created_at=record.created_at,
        )


def _stored_slug_only(root: PublishJobPayload) -> bool:
    return root.job.micro_uuid is None


@strawberry.type
class PublishJobPayload:
    job: Job
    degraded: bool = strawberry.field(
        resolver=_stored_slug_only,
        description="True when the job was stored slug-only (microUuid null), e.g. because "
        "the UUID lookup was unavailable; the UUID backfill fills it in later.",
    )
