"""The Query root. Each field names its resolver (which returns records) and the GraphQL type
that shows them."""

from __future__ import annotations

import strawberry

from db.analytics import LookupStatsBucketRow
from db.records import JobRecord, MicroServiceRecord
from monitoring.alerts import FiredAlert
from resolvers import catalogue, jobs, monitoring, suggestions, wizard
from resolvers.catalogue import CategoryNode
from resolvers.monitoring import AlertHistory, BusinessStats, WindowStats
from resolvers.suggestions import PopularServiceNode, ServiceMatchNode
from resolvers.wizard import WizardPage
from schema import webhooks
from schema.cache_control import CATALOGUE_MAX_AGE, CacheControl
from schema.monitoring import Alert, AlertHistoryPage, LookupStats, LookupStatsBucket
from schema.monitoring import BusinessStats as BusinessStatsType
from schema.suggestions import PopularService, ServiceMatch
from schema.types import Category, Job, JobConnection, MicroService, WizardQuestions


@strawberry.type
class Query:
    micro_service: MicroServiceRecord | None = strawberry.field(
        resolver=catalogue.micro_service,
        graphql_type=MicroService | None,
        description="One micro service by slug, or null where no such slug exists.",
    )
    micro_services: list[MicroServiceRecord] = strawberry.field(
        resolver=catalogue.micro_services,
        graphql_type=list[MicroService],
        description="The catalogue, filterable; with `slugs`, exactly those "
        "(batched into one lookup).",
    )
    wizard_questions: WizardPage = strawberry.field(
        resolver=wizard.wizard_questions,
        graphql_type=WizardQuestions,
        description='The wizard\'s questions for a selection path such as ["painting", '
        '"interior", "wall-painting"]; the last element is the micro service slug.',
        directives=[CacheControl(max_age=CATALOGUE_MAX_AGE)],
    )
    job: JobRecord | None = strawberry.field(
        resolver=jobs.job,
        graphql_type=Job | None,
        description="One job by id: to its customer, the API key that published it, or a key "
        "with jobs:read; null for anyone else, as for an id that does not exist.",
    )
    my_jobs: jobs.JobConnection = strawberry.field(
        resolver=jobs.my_jobs,
        graphql_type=JobConnection,
        description="The caller's jobs, newest first: a customer's own, or those the API key "
        "published. `first` is 1 to 100; `after` the endCursor of the previous page; `status` "
        "keeps only those statuses.",
    )
    categories: list[CategoryNode] = strawberry.field(
        resolver=catalogue.categories,
        graphql_type=list[Category],
        description="The catalogue as the wizard walks it: categories, their subcategories, "
        "their micro services.",
        directives=[CacheControl(max_age=CATALOGUE_MAX_AGE)],
    )
    search_services: list[ServiceMatchNode] = strawberry.field(
        resolver=suggestions.search_services,
        graphql_type=list[ServiceMatch],
        description='Active micro services for what a customer types ("loo wont flush", '
        '"boilr servise"), best first; typos, slang and UK/US spellings allowed. Empty for '
        "blank text; text past 500 characters is cut; `first` is 1 to 20.",
        # Its ranking depends on the catalogue alone; an answer given while the model was late
        # or still loading is not kept (the resolver says so).
        directives=[CacheControl(max_age=CATALOGUE_MAX_AGE)],
    )
    related_services: list[ServiceMatchNode] = strawberry.field(
        resolver=suggestions.related_services,
        graphql_type=list[ServiceMatch],
        description="Services the same customers posted within 180 days of this one, by "
        "lift; filled up with the same subcategory's services when jobs say too little. "
        "`first` is 1 to 20.",
    )
    popular_services: list[PopularServiceNode] = strawberry.field(
        resolver=suggestions.popular_services,
        graphql_type=list[PopularService],
        description='The services posted most in a postcode area (its letters, e.g. "SW"; '
        "null for everywhere) over the last `days` (1 to 365), from the refreshed rollup. "
        "`first` is 1 to 20.",
    )
    lookup_stats: WindowStats = strawberry.field(
        resolver=monitoring.lookup_stats,
        graphql_type=LookupStats,
        description="Slug lookup stats over the last `windowMinutes` (1 to 10080).",
    )
    lookup_timeline: list[LookupStatsBucketRow] = strawberry.field(
        resolver=monitoring.lookup_timeline,
        graphql_type=list[LookupStatsBucket],
        description="Per-bucket stats over the window, oldest first, for charts.",
    )
    alerts: list[FiredAlert] = strawberry.field(
        resolver=monitoring.alerts,
        graphql_type=list[Alert],
        description="The monitoring alerts that fire now (empty when all is well), silenced "
        "ones included and marked.",
    )
    alert_history: AlertHistory = strawberry.field(
        resolver=monitoring.alert_history,
        graphql_type=AlertHistoryPage,
        description="Every firing and resolving of the alerts, newest first: `first` 1 to 100, "
        "`after` the `endCursor` of the previous page.",
    )
    business_stats: BusinessStats = strawberry.field(
        resolver=monitoring.business_stats,
        graphql_type=BusinessStatsType,
        description="The business view over the last `windowMinutes` (1 to 10080; default a "
        "day), lists cut to their `top` (1 to 50) labels. Needs ops:read.",
    )
    webhook_endpoints: list[webhooks.WebhookEndpoint] = strawberry.field(
        resolver=webhooks.webhook_endpoints,
        description="The calling key's webhook endpoints (webhooks:write), oldest first.",
    )
    webhook_deliveries: webhooks.WebhookDeliveryConnection = strawberry.field(
        resolver=webhooks.webhook_deliveries,
        description="An endpoint's deliveries, newest first: `first` 1 to 100, `after` the "
        "endCursor of the previous page, `status` only those.",
    )
