-- Live invalidation. Every server LISTENs on the channel `jobwizard_invalidate` (one dedicated
-- connection per process) and drops what a notice makes stale:
--   'catalogue <version>'  the catalogue changed: response cache, lookup cache, plans
--   'key <sha256>'         an API key was revoked, deleted or created: that key's cached verdict
-- A notice is delivered when its transaction commits, and only then, so no process can hear
-- of a change it could not yet read.

-- One row: the catalogue's version, part of every response-cache key and ETag.
CREATE TABLE catalogue_version (
    id        boolean PRIMARY KEY DEFAULT true CHECK (id),
    version   bigint NOT NULL DEFAULT 1,
    -- The transaction that last bumped it: a seed that writes many rows bumps it once.
    bumped_by xid8,
    bumped_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO catalogue_version DEFAULT VALUES;

CREATE FUNCTION bump_catalogue_version() RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    current_version bigint;
BEGIN
    UPDATE catalogue_version
       SET version = version + 1, bumped_by = pg_current_xact_id(), bumped_at = now()
     WHERE bumped_by IS DISTINCT FROM pg_current_xact_id()
    RETURNING version INTO current_version;
    IF FOUND THEN
        -- Identical notices of one transaction are folded into one by PostgreSQL.
        PERFORM pg_notify('jobwizard_invalidate', 'catalogue ' || current_version);
    ELSE
        SELECT version INTO current_version FROM catalogue_version;
    END IF;
    RETURN current_version;
END
$$;

-- Any row written to the catalogue tables bumps the version, whoever writes it (the seed, an
-- operator's UPDATE, a migration). Row-level: an upsert that changes nothing fires nothing.
CREATE FUNCTION catalogue_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM bump_catalogue_version();
    RETURN NULL;
END
$$;

CREATE TRIGGER categories_changed AFTER INSERT OR UPDATE OR DELETE ON categories
FOR EACH ROW EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER subcategories_changed AFTER INSERT OR UPDATE OR DELETE ON subcategories
FOR EACH ROW EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER micro_services_changed AFTER INSERT OR UPDATE OR DELETE ON micro_services
FOR EACH ROW EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER catalogue_truncated AFTER TRUNCATE ON micro_services
FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();

-- API keys: a revocation, a deletion or a change of what a cached key carries (scopes, rate)
-- must reach every process's key cache at once; a new key
-- clears a remembered "unknown" verdict for its hash.
CREATE FUNCTION api_key_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('jobwizard_invalidate', 'key ' || OLD.key_sha256);
    ELSE
        PERFORM pg_notify('jobwizard_invalidate', 'key ' || NEW.key_sha256);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER api_key_created AFTER INSERT ON api_keys
FOR EACH ROW EXECUTE FUNCTION api_key_changed();
CREATE TRIGGER api_key_revoked
AFTER UPDATE OF revoked_at, scopes, key_sha256, rate_per_minute ON api_keys
FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
                   OR OLD.scopes IS DISTINCT FROM NEW.scopes
                   OR OLD.key_sha256 IS DISTINCT FROM NEW.key_sha256
                   OR OLD.rate_per_minute IS DISTINCT FROM NEW.rate_per_minute)
EXECUTE FUNCTION api_key_changed();
CREATE TRIGGER api_key_deleted AFTER DELETE ON api_keys
FOR EACH ROW EXECUTE FUNCTION api_key_changed();
