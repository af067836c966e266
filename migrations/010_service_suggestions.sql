-- Suggestions from real jobs: which services the same customer goes on to post (related
-- services), and which services are posted most in an area (popular near you). Both are
-- rollups refreshed by a function (`python server.py refresh-suggestions`, and periodically),
-- so that answering a request reads a few rows and never scans jobs.

-- The partner's own customer id, keyed by the API key that sent it: HMAC-SHA256 with the key's
-- id, so the same id from two partners never links their customers, and the id itself is not
-- stored. Null when the partner sends none.
ALTER TABLE jobs ADD COLUMN customer_ref_hash text NULL
    CHECK (customer_ref_hash ~ '^[0-9a-f]{64}$');
CREATE INDEX jobs_customer_ref_idx ON jobs (customer_ref_hash, created_at)
    WHERE customer_ref_hash IS NOT NULL;
-- Where the job is, from the locations migration; repeated here (a no-op after it) so that
-- this migration stands on its own.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS postcode_area text NULL;

-- One row per ordered pair of services that enough customers posted within the window of each
-- other. support: those customers; confidence: their share of the customers who posted the
-- first service; lift: how much likelier the second is given the first than on its own.
CREATE TABLE service_pairs (
    micro_uuid    uuid NOT NULL REFERENCES micro_services (id) ON DELETE CASCADE,
    related_uuid  uuid NOT NULL REFERENCES micro_services (id) ON DELETE CASCADE,
    support       integer NOT NULL CHECK (support > 0),
    confidence    double precision NOT NULL,
    lift          double precision NOT NULL,
    refreshed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (micro_uuid, related_uuid),
    CHECK (micro_uuid <> related_uuid)
);
CREATE INDEX service_pairs_ranking_idx
    ON service_pairs (micro_uuid, lift DESC, support DESC);

-- Jobs per service, area and UTC day. postcode_area '*' holds every job, located or not, so a
-- nationwide question reads one row per service and day too.
CREATE TABLE service_popularity_daily (
    postcode_area  text NOT NULL,
    day            date NOT NULL,
    micro_uuid     uuid NOT NULL REFERENCES micro_services (id) ON DELETE CASCADE,
    jobs           integer NOT NULL CHECK (jobs > 0),
    PRIMARY KEY (postcode_area, day, micro_uuid)
);

-- When each rollup was last rebuilt, for health checks and for the periodic refresher.
CREATE TABLE suggestion_refreshes (
    rollup        text PRIMARY KEY,
    refreshed_at  timestamptz NOT NULL,
    row_count     integer NOT NULL
);

-- The service of a job: its UUID, or for an old slug-only job the service its slug names.
CREATE VIEW job_services AS
SELECT j.id, j.created_at, j.customer_ref_hash, j.postcode_area,
       coalesce(j.micro_uuid, m.id) AS micro_uuid
  FROM jobs AS j
  LEFT JOIN micro_services AS m ON j.micro_uuid IS NULL AND m.slug = j.micro_id
 WHERE j.status <> 'CANCELLED';

-- Rebuild service_pairs from the jobs of customers seen in the last `p_lookback` (pairs are two
-- jobs at most `p_window` apart), keeping pairs with at least `p_min_support` customers.
-- One refresh at a time (an advisory lock); readers keep seeing the previous rows until the
-- caller's transaction commits.
CREATE FUNCTION refresh_service_pairs(
    p_window interval, p_min_support integer, p_lookback interval
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    written integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('refresh_service_pairs'));
    DELETE FROM service_pairs;
    WITH recent AS (
        SELECT DISTINCT customer_ref_hash AS customer, micro_uuid, created_at
          FROM job_services
         WHERE customer_ref_hash IS NOT NULL AND micro_uuid IS NOT NULL
           AND created_at >= now() - p_lookback
    ), customers AS (
        SELECT count(DISTINCT customer)::double precision AS n FROM recent
    ), per_service AS (
        SELECT micro_uuid, count(DISTINCT customer) AS n FROM recent GROUP BY micro_uuid
    ), pairs AS (
        SELECT a.micro_uuid, b.micro_uuid AS related_uuid, count(DISTINCT a.customer) AS n
          FROM recent AS a
          JOIN recent AS b
            ON b.customer = a.customer
           AND b.micro_uuid <> a.micro_uuid
           AND b.created_at BETWEEN a.created_at - p_window AND a.created_at + p_window
         GROUP BY a.micro_uuid, b.micro_uuid
        HAVING count(DISTINCT a.customer) >= p_min_support
    )
    INSERT INTO service_pairs (micro_uuid, related_uuid, support, confidence, lift)
    SELECT p.micro_uuid, p.related_uuid, p.n,
           p.n / sa.n::double precision,
           p.n * c.n / (sa.n::double precision * sb.n)
      FROM pairs AS p
      JOIN per_service AS sa ON sa.micro_uuid = p.micro_uuid
      JOIN per_service AS sb ON sb.micro_uuid = p.related_uuid
     CROSS JOIN customers AS c;
    GET DIAGNOSTICS written = ROW_COUNT;
    INSERT INTO suggestion_refreshes (rollup, refreshed_at, row_count)
    VALUES ('service_pairs', now(), written)
    ON CONFLICT (rollup) DO UPDATE
       SET refreshed_at = excluded.refreshed_at, row_count = excluded.row_count;
    RETURN written;
END
$$;

-- Recount service_popularity_daily for the UTC days from `p_from` on (older days do not change
-- once counted, so a periodic refresh recounts yesterday and today only).
CREATE FUNCTION refresh_service_popularity(p_from date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    written integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('refresh_service_popularity'));
    DELETE FROM service_popularity_daily WHERE day >= p_from;
    INSERT INTO service_popularity_daily (postcode_area, day, micro_uuid, jobs)
    SELECT coalesce(upper(postcode_area), '*'), (created_at AT TIME ZONE 'UTC')::date,
           micro_uuid, count(*)
      FROM job_services
     WHERE micro_uuid IS NOT NULL
       AND created_at >= (p_from::timestamp AT TIME ZONE 'UTC')
     GROUP BY GROUPING SETS (
         (upper(postcode_area), (created_at AT TIME ZONE 'UTC')::date, micro_uuid),
         ((created_at AT TIME ZONE 'UTC')::date, micro_uuid)
     )
    HAVING grouping(upper(postcode_area)) = 1 OR upper(postcode_area) IS NOT NULL;
    GET DIAGNOSTICS written = ROW_COUNT;
    INSERT INTO suggestion_refreshes (rollup, refreshed_at, row_count)
    VALUES ('service_popularity_daily', now(), written)
    ON CONFLICT (rollup) DO UPDATE
       SET refreshed_at = excluded.refreshed_at, row_count = excluded.row_count;
    RETURN written;
END
$$;
