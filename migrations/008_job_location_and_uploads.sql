-- Where a job is, and the photos that show it.
--
-- Location: the postcode is stored normalised ("SW1A 1AA") with its district ("SW1A", the
-- outward code) and area ("SW") beside it, so that "jobs near" queries are an index lookup on the
-- district rather than string surgery on every row. Nullable: jobs published before locations
-- existed have none. The address line is personal data; it lives here only and is never copied
-- into events or logs.
ALTER TABLE jobs
    ADD COLUMN postcode          text NULL CHECK (length(postcode) BETWEEN 5 AND 8),
    ADD COLUMN postcode_district text NULL CHECK (length(postcode_district) BETWEEN 2 AND 4),
    ADD COLUMN postcode_area     text NULL CHECK (length(postcode_area) BETWEEN 1 AND 4),
    ADD COLUMN address_line      text NULL CHECK (length(address_line) <= 200);

CREATE INDEX jobs_postcode_district_idx ON jobs (postcode_district)
    WHERE postcode_district IS NOT NULL;

-- Photo uploads: staged by POST /uploads, attached to a job by publishJob, purged when nobody
-- attached them within a day. The row holds what the API answers about an upload; the bytes
-- live behind the media storage interface under `storage_key` (by default the media_blobs table
-- below), so that another store can take them without a change to this table.
CREATE TABLE uploads (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_key_id      uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    content_type    text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    width           integer NOT NULL CHECK (width > 0),
    height          integer NOT NULL CHECK (height > 0),
    bytes           integer NOT NULL CHECK (bytes > 0),
    sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    thumb_width     integer NOT NULL CHECK (thumb_width > 0),
    thumb_height    integer NOT NULL CHECK (thumb_height > 0),
    thumb_bytes     integer NOT NULL CHECK (thumb_bytes > 0),
    thumb_sha256    text NOT NULL CHECK (thumb_sha256 ~ '^[0-9a-f]{64}$'),
    -- What the client sent, before re-encoding: the hourly quota counts this, since it is what
    -- a caller makes the server read and decode.
    received_bytes  bigint NOT NULL CHECK (received_bytes > 0),
    storage_key     text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    job_id          uuid NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position        smallint NULL CHECK (position BETWEEN 0 AND 9),
    attached_at     timestamptz NULL,
    CHECK ((job_id IS NULL) = (position IS NULL)),
    CHECK ((job_id IS NULL) = (attached_at IS NULL))
);

-- A job's photos, in the order they were given; also makes a position unique per job.
CREATE UNIQUE INDEX uploads_job_position_idx ON uploads (job_id, position) WHERE job_id IS NOT NULL;
-- The hourly quota sums a key's recent uploads.
CREATE INDEX uploads_api_key_created_at_idx ON uploads (api_key_id, created_at);
-- The purge looks for old unattached uploads only; the partial index stays small.
CREATE INDEX uploads_unattached_created_at_idx ON uploads (created_at) WHERE job_id IS NULL;

-- The PostgreSQL media store: immutable blobs by key. No foreign key to uploads: the store knows
-- nothing of what it holds, as an object store would not.
CREATE TABLE media_blobs (
    key           text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 200),
    content_type  text NOT NULL,
    data          bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Image bytes are already compressed: TOAST's compression would spend CPU for nothing.
ALTER TABLE media_blobs ALTER COLUMN data SET STORAGE EXTERNAL;

-- Secrets for signed, expiring URLs (media links a browser can follow without an API key).
-- Made here, once per database, so every server process signs alike with nothing to configure;
-- two random UUIDs give 244 random bits from PostgreSQL's strong random source.
CREATE TABLE url_signing_keys (
    name        text PRIMARY KEY,
    secret      bytea NOT NULL CHECK (length(secret) >= 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO url_signing_keys (name, secret)
VALUES ('media', uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()));
