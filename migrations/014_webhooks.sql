-- Webhooks: partners' endpoints, the outbox of job events, and one delivery per event and
-- endpoint.
--
-- An endpoint belongs to the API key that created it. Its secret signs every delivery and has to
-- be readable for that; the previous secret keeps signing beside the new one until it expires.
CREATE TABLE webhook_endpoints (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_key_id                uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    url                       text NOT NULL CHECK (length(url) BETWEEN 8 AND 2048),
    events                    text[] NOT NULL,
    description               text NULL CHECK (length(description) <= 500),
    enabled                   boolean NOT NULL DEFAULT true,
    -- The lead filter: null means "no leads"; each list given narrows, an absent one does not.
    has_filter                boolean NOT NULL DEFAULT false,
    filter_categories         text[] NULL,
    filter_micro_services     text[] NULL,
    filter_postcode_areas     text[] NULL,
    secret                    text NOT NULL,
    previous_secret           text NULL,
    previous_secret_until     timestamptz NULL,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    failing_since             timestamptz NULL,
    disabled_reason           text NULL
);
CREATE INDEX webhook_endpoints_key_idx ON webhook_endpoints (api_key_id, created_at);
-- The fan-out looks for lead endpoints among the enabled ones.
CREATE INDEX webhook_endpoints_leads_idx ON webhook_endpoints (api_key_id)
    WHERE enabled AND has_filter;

-- The outbox: one row per job change, written by the statement that makes the change. `data` is
-- the body's `data` as it was at that version: ids, status, version, district and area, never
-- contact details. `seq` orders one job's events (a job's changes are serialised by its row
-- lock, so a later version always has a later seq).
CREATE TABLE webhook_events (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    type          text NOT NULL,
    job_id        uuid NULL REFERENCES jobs (id) ON DELETE CASCADE,
    -- The publishing key (for its own endpoints) and the job's catalogue and area (for leads).
    api_key_id    uuid NULL,
    micro_id      text NULL,
    postcode_area text NULL,
    -- A test event is for one endpoint only.
    endpoint_id   uuid NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    data          jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    fanned_out_at timestamptz NULL
);
CREATE INDEX webhook_events_unfanned_idx ON webhook_events (seq) WHERE fanned_out_at IS NULL;
CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);

-- One event to one endpoint. PENDING until delivered or given up; `leased_until` is set while a
-- dispatcher holds it: a process killed mid-delivery leaves the lease to run out, and the
-- delivery is claimed again after it.
CREATE TABLE webhook_deliveries (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id          uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    event_seq         bigint NOT NULL,
    endpoint_id       uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    job_id            uuid NULL,
    status            text NOT NULL DEFAULT 'PENDING'
                      CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts          integer NOT NULL DEFAULT 0,
    last_status_code  integer NULL,
    last_error        text NULL CHECK (length(last_error) <= 200),
    next_attempt_at   timestamptz NULL DEFAULT now(),
    leased_until      timestamptz NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz NULL,
    UNIQUE (event_id, endpoint_id),
    CHECK ((status = 'PENDING') = (next_attempt_at IS NOT NULL))
);
-- The claim: due pending deliveries, and per endpoint and job the earliest pending one; the
-- fan-out: whether an endpoint has heard of a job. Deliveries are found by event too (the
-- retention of events, ON DELETE CASCADE) through the unique index above.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_job_idx ON webhook_deliveries (endpoint_id, job_id, event_seq);
-- webhookDeliveries: an endpoint's newest first; retention: finished ones by age.
CREATE INDEX webhook_deliveries_listing_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at)
    WHERE status <> 'PENDING';
