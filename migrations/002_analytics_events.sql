-- Lookup analytics: one row per slug lookup (event_name 'uuid_lookup'), written by the app's
-- event buffer in batches with COPY, and read back as stats over a time window.

CREATE TABLE analytics_events (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_name        text NOT NULL,
    event_properties  jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- Every read is "events of one name over the last N minutes".
CREATE INDEX analytics_events_name_created_at_idx ON analytics_events (event_name, created_at);

-- Stats of the `uuid_lookup` events of the last `window`. Rates are fractions 0..1; every
-- aggregate but `total` is NULL when there is no event, so that "no traffic" never reads as
-- "0 % success". p95 is interpolated (percentile_cont).
CREATE FUNCTION get_uuid_lookup_stats("window" interval)
RETURNS TABLE (
    total           bigint,
    avg_latency_ms  double precision,
    p95_latency_ms  double precision,
    success_rate    double precision,
    fallback_rate   double precision,
    cache_hit_rate  double precision
)
LANGUAGE sql STABLE
AS $$
    SELECT count(*),
           avg(latency),
           percentile_cont(0.95) WITHIN GROUP (ORDER BY latency),
           avg(success::int)::double precision,
           avg(fallback_used::int)::double precision,
           avg(cache_hit::int)::double precision
      FROM (
        SELECT (event_properties ->> 'lookup_time_ms')::double precision AS latency,
               (event_properties ->> 'success')::boolean AS success,
               (event_properties ->> 'fallback_used')::boolean AS fallback_used,
               (event_properties ->> 'cache_hit')::boolean AS cache_hit
          FROM analytics_events
         WHERE event_name = 'uuid_lookup' AND created_at >= now() - $1
      ) AS events
$$;

-- The same stats per `bucket` over the last `window`, oldest first, one row per bucket even when
-- it saw no event (charts need the gaps). Buckets are aligned to the epoch, so consecutive calls
-- agree on their boundaries; the oldest one is counted whole.
CREATE FUNCTION get_uuid_lookup_timeline("window" interval, bucket interval)
RETURNS TABLE (
    bucket_start    timestamptz,
    total           bigint,
    avg_latency_ms  double precision,
    p95_latency_ms  double precision,
    success_rate    double precision,
    fallback_rate   double precision,
    cache_hit_rate  double precision
)
LANGUAGE sql STABLE
AS $$
    WITH buckets AS (
        SELECT generate_series(
                   date_bin($2, now() - $1, TIMESTAMPTZ '1970-01-01 00:00:00+00'), now(), $2
               ) AS bucket_start
    ),
    events AS (
        SELECT date_bin($2, created_at, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket_start,
               (event_properties ->> 'lookup_time_ms')::double precision AS latency,
               (event_properties ->> 'success')::boolean AS success,
               (event_properties ->> 'fallback_used')::boolean AS fallback_used,
               (event_properties ->> 'cache_hit')::boolean AS cache_hit
          FROM analytics_events
         WHERE event_name = 'uuid_lookup'
           AND created_at >= date_bin($2, now() - $1, TIMESTAMPTZ '1970-01-01 00:00:00+00')
    )
    SELECT b.bucket_start,
           count(e.bucket_start),
           avg(e.latency),
           percentile_cont(0.95) WITHIN GROUP (ORDER BY e.latency),
           avg(e.success::int)::double precision,
           avg(e.fallback_used::int)::double precision,
           avg(e.cache_hit::int)::double precision
      FROM buckets AS b
      LEFT JOIN events AS e ON e.bucket_start = b.bucket_start
     GROUP BY b.bucket_start
     ORDER BY b.bucket_start
$$;
