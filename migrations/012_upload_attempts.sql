-- Upload attempts, counted against the hourly quota before their body is read or decoded. Each
-- POST /uploads with room in its quota claims one; a stored upload replaces its claim (the
-- uploads row counts it from then on); a refused one (not an image, truncated, too large) stays
-- counted for the window, so that refusals cost a caller its quota as uploads do. Purged with
-- the unattached uploads.
CREATE TABLE upload_attempts (
    id              uuid PRIMARY KEY,
    api_key_id      uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    received_bytes  bigint NOT NULL CHECK (received_bytes > 0),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX upload_attempts_api_key_created_at_idx ON upload_attempts (api_key_id, created_at);
