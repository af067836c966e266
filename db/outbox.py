"""The outbox: a job change's webhook event, written by the statement that makes the change.

Each statement that changes a job is a `WITH j AS (INSERT/UPDATE ... RETURNING *)` followed by
its audit row; `job_event` adds one more CTE that writes the event from the same `j`. One
statement is atomic, so a job never changes without its event and no event exists without its
change. The event holds the body's `data` as it was at that version: ids, status, version, the
district and area, never contact details.
"""

from __future__ import annotations

# `data` of a job event, from a row of `jobs` called {j}.
_DATA = """jsonb_build_object(
        'jobId', {j}.id, 'microId', {j}.micro_id, 'microUuid', {j}.micro_uuid,
        'status', {j}.status, 'version', {j}.version,
        'location', CASE WHEN {j}.postcode_district IS NULL THEN NULL
                         ELSE jsonb_build_object('district', {j}.postcode_district,
                                                 'area', {j}.postcode_area) END)"""


def job_event(event_type: str, *, source: str = "j") -> str:
    """A CTE (to follow another, it starts with a comma) writing one event per row of
    `source`; `event_type` is an SQL expression over `source` (a literal, or a CASE on the
    status)."""
    return f"""
, webhook_event AS (
    INSERT INTO webhook_events (type, job_id, api_key_id, micro_id, postcode_area, data)
    SELECT {event_type}, {source}.id, {source}.api_key_id, {source}.micro_id,
           {source}.postcode_area, {_DATA.format(j=source)}
      FROM {source}
)"""


# The event of a job that left PUBLISHED, named after its new status.
ENDED = "'job.' || lower(j.status)"
