"""The Query root."""

from __future__ import annotations

import strawberry

from resolvers import catalogue, jobs, monitoring, wizard
from schema.monitoring import Alert, LookupStats, LookupStatsBucket
from schema.types import Category, Job, MicroService, WizardQuestions


@strawberry.type
class Query:
    micro_service: MicroService | None = strawberry.field(
        resolver=catalogue.micro_service,
        description="One micro service by slug, or null where no such slug exists.",
    )
    micro_services: list[MicroService] = strawberry.field(
        resolver=catalogue.micro_services,
        description="The catalogue, filterable; with `slugs`, exactly those "
        "(batched into one lookup).",
    )
    wizard_questions: WizardQuestions = strawberry.field(
        resolver=wizard.wizard_questions,
        description='The wizard\'s questions for a selection path such as ["painting", '
        '"interior", "wall-painting"]; the last element is the micro service slug.',
    )
    job: Job | None = strawberry.field(
        resolver=jobs.job,
        description="One job by id; needs the API key that published it, or one with jobs:read.",
    )
    categories: list[Category] = strawberry.field(
        resolver=catalogue.categories,
        description="The catalogue as the wizard walks it: categories, their subcategories, "
        "their micro services.",
    )
    lookup_stats: LookupStats = strawberry.field(
        resolver=monitoring.lookup_stats,
        description="Slug lookup stats over the last `windowMinutes` (1 to 10080).",
    )
    lookup_timeline: list[LookupStatsBucket] = strawberry.field(
        resolver=monitoring.lookup_timeline,
        description="Per-bucket stats over the window, oldest first, for charts.",
    )
    alerts: list[Alert] = strawberry.field(
        resolver=monitoring.alerts,
        description="The monitoring alerts that fire now (empty when all is well).",
    )
