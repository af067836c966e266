"""The GraphQL object types. Resolvers hand back records, catalogue specs and small dataclasses;
these types say which of their attributes the API shows, under which names. No SQL, no I/O."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from db.records import JobRecord, MicroServiceRecord
from domain.catalogue import Question as QuestionSpec
from domain.catalogue import QuestionKind
from domain.contact import Contact
from domain.contact import ContactMethod as ContactMethodValue
from domain.jobs import JobOutcome as JobOutcomeValue
from domain.jobs import JobStatus as JobStatusValue
from resolvers import catalogue, jobs
from schema.cache_control import CATALOGUE_MAX_AGE, CacheControl, CacheScope

# The catalogue's types: public, the same for every caller, changed only by a seed.
CATALOGUE = [CacheControl(max_age=CATALOGUE_MAX_AGE)]

# The domain's enum, exposed as is: one list of question kinds, not two to keep in step.
QuestionType = strawberry.enum(
    QuestionKind,
    name="QuestionType",
    description="How a question is answered, and what `answers` holds for it.",
)


JobStatus = strawberry.enum(
    JobStatusValue,
    name="JobStatus",
    description="PUBLISHED until its owner cancels or closes it, or it expires.",
)
JobOutcome = strawberry.enum(
    JobOutcomeValue, name="JobOutcome", description="How a closed job ended."
)
ContactMethod = strawberry.enum(
    ContactMethodValue, name="ContactMethod", description="How the customer prefers to be reached."
)


@strawberry.type(directives=CATALOGUE)
class QuestionOption:
    value: str = strawberry.field(description="Stable id stored in `answers`.")
    label: str


@strawberry.type(directives=CATALOGUE)
class ShowIf:
    question_id: str = strawberry.field(
        description="The `key` of an earlier question of the same service."
    )
    values: list[str] = strawberry.field(
        graphql_type=list[str],
        description='Answers that show the question; yes/no answers as "true" and "false".',
    )


@strawberry.type(
    description="One page of the wizard: its title and its questions' ids, in order.",
    directives=CATALOGUE,
)
class WizardStep:
    global_id: str = strawberry.field(
        name="id",
        description="Unique across the catalogue: the service's slug, `/`, the step's `key` "
        "(`wall-painting/job`).",
    )
    key: str = strawberry.field(
        description="The step's id within its service (`job`); the same step of every service "
        "has the same key."
    )
    title: str
    question_ids: list[str] = strawberry.field(
        graphql_type=list[str], description="The `key`s of the step's questions, in order."
    )


@strawberry.type(directives=CATALOGUE)
class Question:
    global_id: str = strawberry.field(
        name="id",
        description="Unique across the catalogue: the service's slug, `/`, the question's `key` "
        "(`wall-painting/wall_count`); the same key in two services is two questions. "
        "`answers` accepts it in place of the key.",
    )
    key: str = strawberry.field(
        description="The question's key in `answers`, `showIf`, `WizardStep.questionIds` and "
        "the `extensions.fields` of a refused answer (`wall_count`): unique within its service."
    )
    label: str
    kind: QuestionKind = strawberry.field(name="type")  # registered above as `QuestionType`
    required: bool
    options: list[QuestionOption] = strawberry.field(
        description="Empty unless a select.", graphql_type=list[QuestionOption]
    )
    min: float | None = strawberry.field(description="Lowest number, or shortest text.")
    max: float | None = strawberry.field(description="Highest number, or longest text.")
    unit: str | None
    block: str | None = strawberry.field(
        description="The shared block (property, access, timing, budget) it belongs to; "
        "null for a question specific to the trade."
    )
    show_if: list[ShowIf] | None = strawberry.field(
        graphql_type=list[ShowIf] | None,
        description="Asked only when every condition holds (empty: always asked). A hidden "
        "question must not be answered, and is not required.",
    )
    allow_not_sure: bool = strawberry.field(
        description='The answer "not_sure" is accepted in place of a value, whatever the type.'
    )
    help: str | None = strawberry.field(description="One sentence to show under the label.")
    placeholder: str | None


@strawberry.type(directives=CATALOGUE)
class MicroService:
    id: UUID
    slug: str
    name: str
    category: str = strawberry.field(description="The category's slug.")
    subcategory: str = strawberry.field(description="The subcategory's slug.")
    description: str

    questions: tuple[QuestionSpec, ...] = strawberry.field(
        resolver=catalogue.questions,
        graphql_type=list[Question],
        description="The wizard's questions for this micro service, in order.",
    )


@strawberry.type(directives=CATALOGUE)
class Subcategory:
    slug: str
    name: str
    micro_services: list[MicroService] = strawberry.field(graphql_type=list[MicroService])


@strawberry.type(directives=CATALOGUE)
class Category:
    slug: str
    name: str
    subcategories: list[Subcategory] = strawberry.field(graphql_type=list[Subcategory])


@strawberry.type(directives=CATALOGUE)
class WizardQuestions:
    slug: str = strawberry.field(name="microId", description="The micro service's slug.")
    micro_uuid: UUID | None = strawberry.field(
        description="Null only when the lookup degraded or the catalogue row does not exist yet."
    )
    name: str
    description: str | None = strawberry.field(description="What the service covers.")
    questions: list[Question] = strawberry.field(graphql_type=list[Question])
    steps: list[WizardStep] = strawberry.field(
        graphql_type=list[WizardStep],
        description="The questions grouped into pages, in order; every question is in one.",
    )
    degraded: bool = strawberry.field(
        default=False,
        description="True when the UUID lookup was unavailable (database failing): the "
        "questions are served as usual and microUuid is null; publishJob still accepts the job.",
    )


@strawberry.type
class JobLocation:
    postcode: str = strawberry.field(description="Normalised: `SW1A 1AA`.")
    district: str = strawberry.field(description="The outward code: `SW1A`.")
    area: str = strawberry.field(description="The postcode area: `SW`.")
    address_line: str | None = strawberry.field(
        description="Only for the job's customer or the key that published it; null otherwise."
    )


@strawberry.type
class JobPhoto:
    id: strawberry.ID
    url: str = strawberry.field(
        description="The photo (at most 2048 px on its longer side), as a signed URL that "
        "expires: a browser can show it without an API key."
    )
    thumbnail_url: str = strawberry.field(
        description="Its thumbnail (at most 320 px on its longer side), signed the same way."
    )
    width: int
    height: int


@strawberry.type(description="How to reach the customer about a job. Personal data.")
class JobContact:
    name: str
    email: str = strawberry.field(description="Normalised (the domain in lower case).")
    phone: str | None = strawberry.field(description="E.164: `+447700900123`.")
    preferred: ContactMethodValue = strawberry.field(name="preferredContact")


@strawberry.type(directives=[CacheControl(scope=CacheScope.PRIVATE)])
class Job:
    id: UUID
    slug: str = strawberry.field(name="microId")
    micro_uuid: UUID | None = strawberry.field(
        description="Null for slug-only jobs until backfilled."
    )
    answers: JSON
    status: JobStatusValue = strawberry.field(graphql_type=JobStatus)
    created_at: datetime
    version: int = strawberry.field(
        description="1 when published, one more with every change: updateJob's expectedVersion."
    )
    last_changed: datetime = strawberry.field(
        name="updatedAt", description="When the job last changed (its createdAt until then)."
    )
    description: str | None = strawberry.field(
        description="What else the tradesperson should know, in the customer's words."
    )
    outcome: JobOutcomeValue | None = strawberry.field(
        graphql_type=JobOutcome | None, description="How a CLOSED job ended; null otherwise."
    )
    contact: Contact | None = strawberry.field(
        resolver=jobs.contact_of,
        graphql_type=JobContact | None,
        description="How to reach the customer: shown to the job's customer and the key that "
        "published it only; null for everyone else (a key with jobs:read included).",
    )

    micro_service: MicroServiceRecord | None = strawberry.field(
        resolver=jobs.micro_service_of, graphql_type=MicroService | None
    )
    location: jobs.JobLocation | None = strawberry.field(
        resolver=jobs.location_of,
        graphql_type=JobLocation | None,
        description="Where the job is; null for jobs published before locations.",
    )
    photos: list[jobs.JobPhoto] = strawberry.field(
        resolver=jobs.photos_of,
        graphql_type=list[JobPhoto],
        description="The job's photos, in the order they were given.",
    )


def _stored_slug_only(root: PublishJobPayload) -> bool:
    return root.job.micro_uuid is None


@strawberry.type
class PublishJobPayload:
    job: JobRecord = strawberry.field(graphql_type=Job)
    degraded: bool = strawberry.field(
        resolver=_stored_slug_only,
        description="True when the job was stored slug-only (microUuid null), e.g. because "
        "the UUID lookup was unavailable; the UUID backfill fills it in later.",
    )


@strawberry.type(description="A job, after a change.")
class JobPayload:
    job: JobRecord = strawberry.field(graphql_type=Job)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null on an empty page."
    )


@strawberry.type
class JobEdge:
    cursor: str
    node: JobRecord = strawberry.field(graphql_type=Job)


@strawberry.type(description="A page of jobs, newest first.")
class JobConnection:
    edges: list[jobs.JobEdge] = strawberry.field(graphql_type=list[JobEdge])
    page_info: jobs.PageInfo = strawberry.field(graphql_type=PageInfo)
    total_count: int = strawberry.field(description="How many jobs match, on every page.")
