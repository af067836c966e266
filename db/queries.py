"""Every SQL statement the application runs, as named constants with `$n` parameters."""

# --- migrations -----------------------------------------------------------------------------
# Any constant 64-bit key will do; this one spells "jobwizard" so it is recognisable in pg_locks.
MIGRATION_LOCK_KEY = 0x6A6F6277697A
ACQUIRE_MIGRATION_LOCK = "SELECT pg_advisory_lock($1)"
RELEASE_MIGRATION_LOCK = "SELECT pg_advisory_unlock($1)"
CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""
SELECT_APPLIED_MIGRATIONS = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
INSERT_APPLIED_MIGRATION = (
    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"
)

# --- catalogue seed ---------------------------------------------------------------------------
# Upserts by slug. The `WHERE ... IS DISTINCT FROM` clauses make an unchanged row a no-op, so
# RETURNING lists exactly the rows a re-seed changed (and updated_at moves only for those).
UPSERT_CATEGORIES = """
INSERT INTO categories (slug, name, position)
SELECT * FROM unnest($1::text[], $2::text[], $3::int[])
ON CONFLICT (slug) DO UPDATE
   SET name = EXCLUDED.name, position = EXCLUDED.position, active = true, updated_at = now()
 WHERE (categories.name, categories.position, categories.active)
       IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.position, true)
RETURNING slug
"""
UPSERT_SUBCATEGORIES = """
INSERT INTO subcategories (category, slug, name, position)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
ON CONFLICT (category, slug) DO UPDATE
   SET name = EXCLUDED.name, position = EXCLUDED.position, active = true, updated_at = now()
 WHERE (subcategories.name, subcategories.position, subcategories.active)
       IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.position, true)
RETURNING category, slug
"""
# The id is never in the SET list: a micro service's UUID is assigned once and kept for ever.
UPSERT_MICRO_SERVICES = """
INSERT INTO micro_services (slug, name, category, subcategory, description, position)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[])
ON CONFLICT (slug) DO UPDATE
   SET name = EXCLUDED.name, category = EXCLUDED.category, subcategory = EXCLUDED.subcategory,
       description = EXCLUDED.description, position = EXCLUDED.position, active = true,
       updated_at = now()
 WHERE (micro_services.name, micro_services.category, micro_services.subcategory,
        micro_services.description, micro_services.position, micro_services.active)
       IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.category, EXCLUDED.subcategory,
        EXCLUDED.description, EXCLUDED.position, true)
RETURNING slug
"""
# Entries removed from the file are deactivated, never deleted: old jobs still reference them.
DEACTIVATE_MISSING_MICRO_SERVICES = """
UPDATE micro_services SET active = false, updated_at = now()
 WHERE active AND NOT (slug = ANY($1::text[]))
RETURNING slug
"""
DEACTIVATE_MISSING_SUBCATEGORIES = """
UPDATE subcategories SET active = false, updated_at = now()
 WHERE active AND NOT ((category || '/' || slug) = ANY($1::text[]))
"""
DEACTIVATE_MISSING_CATEGORIES = """
UPDATE categories SET active = false, updated_at = now()
 WHERE active AND NOT (slug = ANY($1::text[]))
"""

# --- micro services ---------------------------------------------------------------------------
MICRO_SERVICE_COLUMNS = "id, slug, name, category, subcategory, description"
# The one slug lookup: every slug resolution of a request arrives here as a single statement.
SELECT_MICRO_SERVICES_BY_SLUGS = f"""
SELECT {MICRO_SERVICE_COLUMNS} FROM micro_services WHERE slug = ANY($1::text[]) AND active
"""
SELECT_MICRO_SERVICES_FILTERED = f"""
SELECT {MICRO_SERVICE_COLUMNS} FROM micro_services
 WHERE active
   AND ($1::text IS NULL OR category = $1)
   AND ($2::text IS NULL OR subcategory = $2)
 ORDER BY category, subcategory, position, slug
"""
SELECT_CATEGORIES = "SELECT slug, name FROM categories WHERE active ORDER BY position, slug"
SELECT_SUBCATEGORIES = """
SELECT category, slug, name FROM subcategories WHERE active ORDER BY category, position, slug
"""

# --- jobs -------------------------------------------------------------------------------------
# A job's columns as read from `j` (the jobs table, or a CTE of its rows), with its customer's
# identity from `c`: every statement that returns jobs says `FROM <j> LEFT JOIN customers c`.
JOB_COLUMNS = (
    "j.id, j.micro_id, j.micro_uuid, j.answers, j.status, j.created_at, j.api_key_id, "
    "j.postcode, j.postcode_district, j.postcode_area, j.address_line, "
    "j.contact_name, j.contact_email, j.contact_phone, j.preferred_contact, j.description, "
    "j.version, j.updated_at, j.cancel_reason, j.outcome, j.customer_id, "
    "c.issuer AS customer_issuer, c.subject AS customer_subject"
)
JOB_CUSTOMER = "LEFT JOIN customers c ON c.id = j.customer_id"
SELECT_JOBS_BY_IDS = f"SELECT {JOB_COLUMNS} FROM jobs j {JOB_CUSTOMER} WHERE j.id = ANY($1::uuid[])"

# --- seed lock --------------------------------------------------------------------------------
SEED_LOCK_KEY = 0x6A6F62736565  # "jobsee"
ACQUIRE_SEED_XACT_LOCK = "SELECT pg_advisory_xact_lock($1)"
