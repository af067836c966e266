-- API keys for partners. Only the SHA-256 of a key is stored: a leaked table does not leak keys.
-- A key is looked up by its hash on every request (no positive caching), so revoking it takes
-- effect at once in every worker.

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL CHECK (length(btrim(name)) > 0),
    key_sha256    text NOT NULL UNIQUE CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
    scopes        text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz NULL,
    revoked_at    timestamptz NULL
);

-- The key that published a job: it may read that job back without the jobs:read scope.
-- Null for jobs published before keys existed.
ALTER TABLE jobs ADD COLUMN api_key_id uuid NULL REFERENCES api_keys (id);
CREATE INDEX jobs_api_key_id_idx ON jobs (api_key_id) WHERE api_key_id IS NOT NULL;
