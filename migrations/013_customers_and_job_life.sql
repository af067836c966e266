-- Customers, and a job's life: contact details, a description, statuses with a version, and an
-- audit of every change.
--
-- A customer is the pair (issuer, subject) of a verified token; the row gives the pair a short
-- id that jobs, uploads and idempotency keys reference. Erasing a customer deletes the row: what
-- is left of their jobs is anonymous.
CREATE TABLE customers (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    issuer      text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 2048),
    subject     text NOT NULL CHECK (length(subject) BETWEEN 1 AND 1024),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (issuer, subject)
);

-- The contact details and the description are personal data, like the address line: shown only
-- to the job's customer and the key that published it, purged after their retention, erased on
-- request. Phones are stored in E.164.
ALTER TABLE jobs
    ADD COLUMN customer_id        uuid NULL REFERENCES customers (id),
    ADD COLUMN contact_name       text NULL CHECK (length(contact_name) BETWEEN 1 AND 100),
    ADD COLUMN contact_email      text NULL CHECK (length(contact_email) BETWEEN 3 AND 320),
    ADD COLUMN contact_phone      text NULL CHECK (contact_phone ~ '^\+[1-9][0-9]{6,14}$'),
    ADD COLUMN preferred_contact  text NULL CHECK (preferred_contact IN ('EMAIL', 'PHONE', 'ANY')),
    ADD COLUMN description        text NULL CHECK (length(description) BETWEEN 1 AND 2000),
    ADD COLUMN version            integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- Null for jobs from before this migration: read as created_at (no table rewrite here).
    ADD COLUMN updated_at         timestamptz NULL,
    ADD COLUMN cancel_reason      text NULL CHECK (length(cancel_reason) BETWEEN 1 AND 500),
    ADD COLUMN outcome            text NULL CHECK (outcome IN ('HIRED', 'NO_LONGER_NEEDED', 'OTHER')),
    -- When the job left PUBLISHED: the contact retention counts from here.
    ADD COLUMN ended_at           timestamptz NULL,
    ADD COLUMN contact_erased_at  timestamptz NULL,
    -- A contact is whole or absent; a phone is preferred only where there is one.
    ADD CONSTRAINT jobs_contact_whole CHECK (
        (contact_name IS NULL) = (contact_email IS NULL)
        AND (contact_email IS NULL) = (preferred_contact IS NULL)
        AND (contact_phone IS NULL OR contact_email IS NOT NULL)
        AND (preferred_contact IS DISTINCT FROM 'PHONE' OR contact_phone IS NOT NULL)
    );
ALTER TABLE jobs ALTER COLUMN updated_at SET DEFAULT now();

ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check
    CHECK (status IN ('PUBLISHED', 'CANCELLED', 'CLOSED', 'EXPIRED'));
UPDATE jobs SET ended_at = created_at WHERE status <> 'PUBLISHED' AND ended_at IS NULL;

-- myJobs: a caller's jobs newest first, by keyset on (created_at, id).
CREATE INDEX jobs_customer_listing_idx ON jobs (customer_id, created_at DESC, id DESC)
    WHERE customer_id IS NOT NULL;
CREATE INDEX jobs_api_key_listing_idx ON jobs (api_key_id, created_at DESC, id DESC)
    WHERE api_key_id IS NOT NULL;
DROP INDEX jobs_api_key_id_idx;  -- the listing index above serves its lookups too
-- The expiry finds old PUBLISHED jobs; the purge finds ended jobs that still hold personal data.
-- Both partial: a row leaves the index once it is done with.
CREATE INDEX jobs_expiry_idx ON jobs (created_at) WHERE status = 'PUBLISHED';
CREATE INDEX jobs_personal_data_idx ON jobs (ended_at)
    WHERE ended_at IS NOT NULL AND (contact_email IS NOT NULL OR address_line IS NOT NULL);

-- Who changed a job, when, and which fields: names only, never the values (the contact details
-- must not outlive their purge here). The actor id is a customer's or an API key's id, null for
-- the server's own tasks; no foreign key, so that erasing a customer leaves the history anonymous.
CREATE TABLE job_audit (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id        uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_kind    text NOT NULL CHECK (actor_kind IN ('customer', 'api_key', 'system')),
    actor_id      uuid NULL,
    action        text NOT NULL CHECK (action IN ('published', 'updated', 'cancelled', 'closed',
                                                  'expired', 'contact_purged', 'erased')),
    changed       text[] NOT NULL DEFAULT '{}',
    from_version  integer NULL,
    to_version    integer NOT NULL,
    CHECK ((actor_kind = 'system') = (actor_id IS NULL))
);
CREATE INDEX job_audit_job_idx ON job_audit (job_id, id);

-- Idempotency keys are scoped to their caller: an API key or a customer.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys
    ALTER COLUMN api_key_id DROP NOT NULL,
    ADD COLUMN customer_id uuid NULL REFERENCES customers (id) ON DELETE CASCADE,
    ADD CONSTRAINT idempotency_keys_one_owner CHECK (num_nonnulls(api_key_id, customer_id) = 1);
CREATE UNIQUE INDEX idempotency_keys_api_key_idx ON idempotency_keys (api_key_id, key)
    WHERE api_key_id IS NOT NULL;
CREATE UNIQUE INDEX idempotency_keys_customer_idx ON idempotency_keys (customer_id, key)
    WHERE customer_id IS NOT NULL;

-- Photos belong to the API key or the customer that uploaded them.
ALTER TABLE uploads
    ALTER COLUMN api_key_id DROP NOT NULL,
    ADD COLUMN customer_id uuid NULL REFERENCES customers (id) ON DELETE CASCADE,
    ADD CONSTRAINT uploads_one_owner CHECK (num_nonnulls(api_key_id, customer_id) = 1);
CREATE INDEX uploads_customer_created_at_idx ON uploads (customer_id, created_at)
    WHERE customer_id IS NOT NULL;
ALTER TABLE upload_attempts
    ALTER COLUMN api_key_id DROP NOT NULL,
    ADD COLUMN customer_id uuid NULL REFERENCES customers (id) ON DELETE CASCADE,
    ADD CONSTRAINT upload_attempts_one_owner CHECK (num_nonnulls(api_key_id, customer_id) = 1);
CREATE INDEX upload_attempts_customer_created_at_idx ON upload_attempts (customer_id, created_at)
    WHERE customer_id IS NOT NULL;
