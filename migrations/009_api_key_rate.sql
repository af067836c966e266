-- A key's own lookup budget per minute (rate limits, api/rate_limits.py); null means the
-- server's RATE_LIMIT_PER_KEY. Set with `create-api-key --rate N`.
ALTER TABLE api_keys ADD COLUMN rate_per_minute integer NULL CHECK (rate_per_minute > 0);
