-- Idempotency keys for publishJob: one row per (caller, key), claimed in the same transaction
-- as the job it names. The primary key is what makes concurrent duplicates safe: the second
-- INSERT ... ON CONFLICT waits for the first transaction and then finds its row, so a retried
-- request can never create a second job. Rows are kept at least 24 h; older ones may be
-- deleted (`python server.py purge-idempotency-keys`).

CREATE TABLE idempotency_keys (
    api_key_id      uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_sha256  text NOT NULL,
    job_id          uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, key)
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
