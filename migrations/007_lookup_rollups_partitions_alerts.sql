-- Lookup monitoring that holds at heavy traffic: per-minute and per-hour rollups of the
-- `uuid_lookup` events, kept by a trigger; analytics_events partitioned by day so that old raw
-- events go a partition at a time; and the history of the alerts, with acknowledgements and
-- silences.
--
-- Why rollups: the stats functions of migration 002 read every event of their window, so their
-- cost grew with the traffic, not with the answer. They now read one row per minute (per hour
-- for whole hours), whatever the traffic was.
--
-- Migrating an existing database (this file, in one transaction): the unpartitioned table is
-- renamed, the partitioned one created under the old name, every row moved with its id (the
-- move itself fills the rollups, through the trigger), the counts compared, and the old table
-- dropped. Writers blocked meanwhile fail once the old table is gone; the app's event writer
-- keeps such a batch buffered and writes it again on its next flush, so no event is lost.


-- --- latency histogram ---------------------------------------------------------------------
-- Latencies (ms) are counted in log-spaced buckets, 32 per doubling (each about 2.2 % wide):
-- a quantile read from them is within a bucket's width of the exact one. Bucket 0 holds
-- everything under 1 µs (and negative values); bucket b >= 1 holds
-- [0.001 * 2^((b-1)/32), 0.001 * 2^(b/32)) ms. A histogram is stored sparse: the used buckets
-- in ascending order, and their counts.

CREATE FUNCTION latency_bucket(ms double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN ms IS NULL THEN NULL
                WHEN ms < 0.001 THEN 0
                ELSE least(floor(ln(ms * 1000.0) * 32.0 / ln(2.0)) + 1, 4000)::smallint
           END
$$;

-- The latency at `fraction` (0..1) of bucket `b`'s width, interpolated in log space (in which
-- the buckets are even).
CREATE FUNCTION latency_bucket_value(b smallint, fraction double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN b = 0 THEN 0.001 * fraction
                ELSE 0.001 * power(2.0, (b - 1 + fraction) / 32.0)
           END
$$;

-- The estimated latency of the event of 0-based rank `rank` (in ascending latency), which lies
-- in bucket `b` holding `c` events after `before` smaller ones: the events of a bucket are taken
-- as spread evenly across it.
-- (Counts are handled as double precision there: exact far beyond any count, and numeric
-- arithmetic made the timeline several times slower.)
CREATE FUNCTION latency_rank_value(
    b smallint, c double precision, before double precision, rank double precision
)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT latency_bucket_value(b, (rank - before + 0.5) / c) $$;

-- The `q` quantile (0..1) of one stored histogram of `n` events, as the readers below compute
-- it for merged ones. A quantile near the top is found walking down from the top bucket: a few
-- steps instead of a pass over every bucket.
CREATE FUNCTION latency_quantile(buckets smallint[], counts bigint[], n bigint, q double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    h double precision := q * (n - 1);
    lo double precision := floor(q * (n - 1));
    hi double precision := ceil(q * (n - 1));
    above double precision := 0;  -- events in the buckets walked so far
    before double precision;       -- events in the buckets below the current one
    lo_value double precision;
    hi_value double precision;
BEGIN
    IF n IS NULL OR n < 1 THEN
        RETURN NULL;
    END IF;
    FOR i IN REVERSE coalesce(cardinality(buckets), 0) .. 1 LOOP
        before := n - above - counts[i];
        IF hi_value IS NULL AND before <= hi THEN
            hi_value := latency_rank_value(buckets[i], counts[i], before, hi);
        END IF;
        IF before <= lo THEN
            lo_value := latency_rank_value(buckets[i], counts[i], before, lo);
            EXIT;
        END IF;
        above := above + counts[i];
    END LOOP;
    RETURN lo_value + (h - lo) * (hi_value - lo_value);
END
$$;

-- The latency of one event's properties; NULL unless it is a JSON number (other writers insert
-- rows too, and one odd row must neither fail their insert nor the stats).
CREATE FUNCTION uuid_lookup_latency(properties jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN jsonb_typeof(properties -> 'lookup_time_ms') = 'number'
                THEN (properties ->> 'lookup_time_ms')::double precision
           END
$$;


-- --- rollups ---------------------------------------------------------------------------------
-- Rows per minute and per hour that saw `uuid_lookup` events. Buckets are aligned to the epoch
-- (date_bin), so they do not depend on the session's time zone. An event without a flag
-- (success, fallback_used, cache_hit) counts as false; one without a numeric lookup_time_ms
-- counts in `total` but not in the latency figures. Rollups follow inserts: events are never
-- updated, and dropping old partitions must not change the history.
--
-- Each write adds rows of its own (deltas) rather than updating the minute's row: merging
-- histograms on every write cost more than the write itself. Readers sum whatever rows a
-- minute has; compact_uuid_lookup_rollups(), run by the periodic upkeep, folds each minute's
-- and hour's deltas into one row, so that reads stay a row per minute or hour.

CREATE TABLE uuid_lookup_minutes (
    bucket_start     timestamptz NOT NULL,
    total            bigint NOT NULL,
    cache_hits       bigint NOT NULL,
    successes        bigint NOT NULL,
    fallbacks        bigint NOT NULL,
    latency_count    bigint NOT NULL,
    latency_sum      double precision NOT NULL,
    latency_buckets  smallint[] NOT NULL,
    latency_counts   bigint[] NOT NULL
);
CREATE INDEX uuid_lookup_minutes_bucket_start_idx ON uuid_lookup_minutes (bucket_start);

CREATE TABLE uuid_lookup_hours (LIKE uuid_lookup_minutes);
CREATE INDEX uuid_lookup_hours_bucket_start_idx ON uuid_lookup_hours (bucket_start);

-- What one write adds to one minute and latency bucket (`b` NULL: events without a latency).
CREATE TYPE uuid_lookup_cell AS (
    m_start        timestamptz,
    b              smallint,
    total          bigint,
    cache_hits     bigint,
    successes      bigint,
    fallbacks      bigint,
    latency_count  bigint,
    latency_sum    double precision
);

-- Add `cells` to the rollups: one delta row per minute and per hour they touch.
CREATE FUNCTION add_uuid_lookup_cells(cells uuid_lookup_cell[]) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    WITH c AS MATERIALIZED (
        SELECT x.m_start, x.b,
               sum(x.total)::bigint AS total, sum(x.cache_hits)::bigint AS cache_hits,
               sum(x.successes)::bigint AS successes, sum(x.fallbacks)::bigint AS fallbacks,
               sum(x.latency_count)::bigint AS latency_count, sum(x.latency_sum) AS latency_sum
          FROM unnest(cells) AS x
         GROUP BY x.m_start, x.b
    ),
    minutes AS (
        INSERT INTO uuid_lookup_minutes
        SELECT c.m_start, sum(c.total), sum(c.cache_hits), sum(c.successes), sum(c.fallbacks),
               sum(c.latency_count), coalesce(sum(c.latency_sum), 0),
               coalesce(array_agg(c.b ORDER BY c.b)
                            FILTER (WHERE c.b IS NOT NULL AND c.latency_count > 0), '{}'),
               coalesce(array_agg(c.latency_count ORDER BY c.b)
                            FILTER (WHERE c.b IS NOT NULL AND c.latency_count > 0), '{}')
          FROM c
         GROUP BY c.m_start
        RETURNING 1
    )
    INSERT INTO uuid_lookup_hours
    SELECT h.h_start, sum(h.total), sum(h.cache_hits), sum(h.successes), sum(h.fallbacks),
           sum(h.latency_count), coalesce(sum(h.latency_sum), 0),
           coalesce(array_agg(h.b ORDER BY h.b)
                        FILTER (WHERE h.b IS NOT NULL AND h.latency_count > 0), '{}'),
           coalesce(array_agg(h.latency_count ORDER BY h.b)
                        FILTER (WHERE h.b IS NOT NULL AND h.latency_count > 0), '{}')
      FROM (
        SELECT date_bin('1 hour', c.m_start, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS h_start,
               c.b, sum(c.total) AS total, sum(c.cache_hits) AS cache_hits,
               sum(c.successes) AS successes, sum(c.fallbacks) AS fallbacks,
               sum(c.latency_count)::bigint AS latency_count, sum(c.latency_sum) AS latency_sum
          FROM c
         GROUP BY 1, 2
      ) AS h
     GROUP BY h.h_start;
END
$$;

-- Adds the `uuid_lookup` events of one INSERT or COPY (its transition table `new_events`) to
-- the rollups, in one pass over the new rows. The event writer's batches are rolled up by the
-- batches view's own trigger, from the batches (see below), which marks its insert so that
-- they are not counted twice.
CREATE FUNCTION roll_up_uuid_lookups() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF current_setting('jobwizard.lookups_rolled_up', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM add_uuid_lookup_cells(ARRAY(
        SELECT ROW(g.*)::uuid_lookup_cell
          FROM (
            SELECT date_bin('1 minute', e.created_at, TIMESTAMPTZ '1970-01-01 00:00:00+00'),
                   latency_bucket(x.latency),
                   count(*),
                   count(*) FILTER (WHERE e.event_properties -> 'cache_hit' = 'true'),
                   count(*) FILTER (WHERE e.event_properties -> 'success' = 'true'),
                   count(*) FILTER (WHERE e.event_properties -> 'fallback_used' = 'true'),
                   count(x.latency),
                   coalesce(sum(x.latency), 0)
              FROM new_events AS e
             CROSS JOIN LATERAL (SELECT uuid_lookup_latency(e.event_properties) AS latency) AS x
             WHERE e.event_name = 'uuid_lookup'
             GROUP BY 1, 2
          ) AS g
    ));
    RETURN NULL;
END
$$;

-- The event writer's path (migration 006): its events are stored as before, and rolled up
-- from the batches rather than from the stored rows. A batch has one latency for its cache
-- hits and one for the rest, so it adds at most two cells, whatever its size: the rollup costs
-- a few operations per batch instead of several per event. The counts are those of the rows
-- the INSERT stores (same fields, same derivation as migration 006 gives them).
--
-- The layout of migration 006 gains two optional elements at the end of each batch:
--   [..., answered, hits_count, answered_count]
-- the number of true slots of `cache_hits` and of `answered`, which the writer counts as it
-- encodes the batch; when absent they are counted here.
CREATE OR REPLACE FUNCTION store_uuid_lookup_batches() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('jobwizard.lookups_rolled_up', 'on', true);
    INSERT INTO analytics_events (event_name, event_properties, created_at)
    SELECT 'uuid_lookup', to_jsonb(e.properties), b.created_at
      FROM (
        SELECT to_timestamp((batch ->> 0)::double precision) AS created_at,
               (batch ->> 1)::double precision AS cache_ms,
               (batch ->> 2)::double precision AS elapsed_ms,
               batch ->> 3 AS error_kind,
               (batch ->> 4)::boolean AS degraded,
               batch, n
          FROM jsonb_array_elements(NEW.batches) WITH ORDINALITY AS b (batch, n)
        OFFSET 0  -- read each batch's fields once, not once per slug
      ) AS b
     CROSS JOIN LATERAL (
        SELECT ROW(
                   s.slug,
                   s.uuid,
                   CASE WHEN s.cache_hit THEN b.cache_ms ELSE b.elapsed_ms END,
                   s.cache_hit,
                   s.answered,
                   b.degraded AND NOT s.answered,
                   CASE WHEN s.answered THEN NULL ELSE b.error_kind END
               )::uuid_lookup_event AS properties,
               s.n
          FROM (
            SELECT e.slug, e.uuid, e.cache_hit::boolean AS cache_hit,
                   e.answered::boolean AS answered, e.n
              FROM ROWS FROM (
                     jsonb_array_elements_text(b.batch -> 5),
                     jsonb_array_elements_text(b.batch -> 6),
                     jsonb_array_elements_text(b.batch -> 7),
                     jsonb_array_elements_text(b.batch -> 8)
                   ) WITH ORDINALITY AS e (slug, uuid, cache_hit, answered, n)
          ) AS s
      ) AS e
     ORDER BY b.n, e.n;  -- ids in the order the lookups happened
    PERFORM set_config('jobwizard.lookups_rolled_up', 'off', true);

    PERFORM add_uuid_lookup_cells(ARRAY(
        SELECT ROW(k.m_start, latency_bucket(k.ms), k.total, k.cache_hits, k.successes,
                   k.fallbacks, CASE WHEN k.ms IS NULL THEN 0 ELSE k.total END,
                   coalesce(k.ms * k.total, 0))::uuid_lookup_cell
          FROM (
            SELECT date_bin('1 minute', to_timestamp((batch ->> 0)::double precision),
                            TIMESTAMPTZ '1970-01-01 00:00:00+00') AS m_start,
                   (batch ->> 1)::double precision AS cache_ms,
                   (batch ->> 2)::double precision AS elapsed_ms,
                   coalesce((batch ->> 4)::boolean, false) AS degraded,
                   jsonb_array_length(batch -> 5) AS slugs,
                   coalesce((batch ->> 9)::bigint, jsonb_array_length(
                       jsonb_path_query_array(batch -> 7, '$[*] ? (@ == true)'))) AS hits,
                   coalesce((batch ->> 10)::bigint, jsonb_array_length(
                       jsonb_path_query_array(batch -> 8, '$[*] ? (@ == true)'))) AS answered
              FROM jsonb_array_elements(NEW.batches) AS batch
            OFFSET 0  -- each batch's figures once, not once per cell
          ) AS g
         CROSS JOIN LATERAL (
            -- the cache hits, with the answered and fallback counts of the whole batch
            VALUES (g.m_start, g.cache_ms, g.hits::bigint, g.hits::bigint, g.answered::bigint,
                    CASE WHEN g.degraded THEN g.slugs - g.answered ELSE 0 END::bigint),
                   (g.m_start, g.elapsed_ms, (g.slugs - g.hits)::bigint, 0::bigint, 0::bigint,
                    0::bigint)
         ) AS k (m_start, ms, total, cache_hits, successes, fallbacks)
         WHERE k.total > 0 OR k.successes > 0 OR k.fallbacks > 0
    ));
    RETURN NEW;
END
$$;

-- Fold the delta rows of each minute and hour from `since` on into one row each. Safe beside
-- writers and readers: one statement per table deletes the deltas and inserts their sum, so a
-- reader sees either; a delta written meanwhile is simply folded next time.
CREATE FUNCTION compact_uuid_lookup_rollups(since timestamptz) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    folded bigint := 0;
    n bigint;
BEGIN
    WITH many AS (
        SELECT r.bucket_start FROM uuid_lookup_minutes AS r
         WHERE r.bucket_start >= since GROUP BY 1 HAVING count(*) > 1
    ),
    gone AS (
        DELETE FROM uuid_lookup_minutes AS r USING many
         WHERE r.bucket_start = many.bucket_start
        RETURNING r.*
    ),
    cells AS (
        SELECT g.bucket_start, u.b, sum(u.c)::bigint AS c
          FROM gone AS g, unnest(g.latency_buckets, g.latency_counts) AS u (b, c)
         GROUP BY 1, 2
    ),
    sums AS (
        SELECT g.bucket_start, sum(g.total)::bigint AS total,
               sum(g.cache_hits)::bigint AS cache_hits, sum(g.successes)::bigint AS successes,
               sum(g.fallbacks)::bigint AS fallbacks, sum(g.latency_count)::bigint AS latency_count,
               sum(g.latency_sum) AS latency_sum, count(*) AS deltas
          FROM gone AS g
         GROUP BY 1
    ),
    inserted AS (
        INSERT INTO uuid_lookup_minutes
        SELECT s.bucket_start, s.total, s.cache_hits, s.successes, s.fallbacks, s.latency_count,
               s.latency_sum, coalesce(h.buckets, '{}'), coalesce(h.counts, '{}')
          FROM sums AS s
          LEFT JOIN (
            SELECT bucket_start, array_agg(b ORDER BY b) AS buckets,
                   array_agg(c ORDER BY b) AS counts
              FROM cells GROUP BY 1
          ) AS h ON h.bucket_start = s.bucket_start
        RETURNING 1
    )
    SELECT coalesce(sum(deltas - 1), 0) INTO n FROM sums;
    folded := n;

    WITH many AS (
        SELECT r.bucket_start FROM uuid_lookup_hours AS r
         WHERE r.bucket_start >= date_bin('1 hour', since, TIMESTAMPTZ '1970-01-01 00:00:00+00')
         GROUP BY 1 HAVING count(*) > 1
    ),
    gone AS (
        DELETE FROM uuid_lookup_hours AS r USING many
         WHERE r.bucket_start = many.bucket_start
        RETURNING r.*
    ),
    cells AS (
        SELECT g.bucket_start, u.b, sum(u.c)::bigint AS c
          FROM gone AS g, unnest(g.latency_buckets, g.latency_counts) AS u (b, c)
         GROUP BY 1, 2
    ),
    sums AS (
        SELECT g.bucket_start, sum(g.total)::bigint AS total,
               sum(g.cache_hits)::bigint AS cache_hits, sum(g.successes)::bigint AS successes,
               sum(g.fallbacks)::bigint AS fallbacks, sum(g.latency_count)::bigint AS latency_count,
               sum(g.latency_sum) AS latency_sum, count(*) AS deltas
          FROM gone AS g
         GROUP BY 1
    ),
    inserted AS (
        INSERT INTO uuid_lookup_hours
        SELECT s.bucket_start, s.total, s.cache_hits, s.successes, s.fallbacks, s.latency_count,
               s.latency_sum, coalesce(h.buckets, '{}'), coalesce(h.counts, '{}')
          FROM sums AS s
          LEFT JOIN (
            SELECT bucket_start, array_agg(b ORDER BY b) AS buckets,
                   array_agg(c ORDER BY b) AS counts
              FROM cells GROUP BY 1
          ) AS h ON h.bucket_start = s.bucket_start
        RETURNING 1
    )
    SELECT coalesce(sum(deltas - 1), 0) INTO n FROM sums;
    RETURN folded + n;
END
$$;


-- --- analytics_events, partitioned by day -----------------------------------------------------
ALTER TABLE analytics_events RENAME TO analytics_events_unpartitioned;
ALTER INDEX analytics_events_pkey RENAME TO analytics_events_unpartitioned_pkey;
ALTER INDEX analytics_events_name_created_at_idx
    RENAME TO analytics_events_unpartitioned_name_created_at_idx;

-- A partitioned table cannot have an identity column (before PostgreSQL 17): a sequence of its
-- own, continued from the old table's ids.
CREATE SEQUENCE analytics_event_ids AS bigint;

CREATE TABLE analytics_events (
    id                bigint NOT NULL DEFAULT nextval('analytics_event_ids'),
    event_name        text NOT NULL,
    event_properties  jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)  -- a unique key must include the partition key
) PARTITION BY RANGE (created_at);

ALTER SEQUENCE analytics_event_ids OWNED BY analytics_events.id;

CREATE INDEX analytics_events_name_created_at_idx ON analytics_events (event_name, created_at);

-- Catches what no day partition holds (a writer's clock far off, or partitions not created
-- ahead in time), so that an insert never fails for want of a partition. Creating a day's
-- partition moves that day's rows out of it.
CREATE TABLE analytics_events_default PARTITION OF analytics_events DEFAULT;

CREATE TRIGGER roll_up_uuid_lookups
AFTER INSERT ON analytics_events
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT EXECUTE FUNCTION roll_up_uuid_lookups();

-- The partition of one UTC day: analytics_events_YYYYMMDD.
CREATE FUNCTION analytics_event_partition_name(day date) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT 'analytics_events_' || to_char(day, 'YYYYMMDD') $$;

-- Create the day partitions of [first_day, last_day] that do not exist yet; return how many
-- were created. A day whose rows are in the default partition gets them moved into its new
-- partition (outside the parent, so the rollups, which counted them already, are not touched).
CREATE FUNCTION create_analytics_event_partitions(first_day date, last_day date)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    d date;
    part text;
    lower_bound text;
    upper_bound text;
    created integer := 0;
BEGIN
    IF last_day - first_day > 3660 THEN
        RAISE EXCEPTION 'at most ten years of partitions at once, asked % days', last_day - first_day
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One creator at a time (several worker processes run the maintenance).
    PERFORM pg_advisory_xact_lock(hashtext('analytics_events partitions'));
    d := first_day;
    WHILE d <= last_day LOOP
        part := analytics_event_partition_name(d);
        IF to_regclass(quote_ident(part)) IS NULL THEN
            lower_bound := to_char(d, 'YYYY-MM-DD') || ' 00:00:00+00';
            upper_bound := to_char(d + 1, 'YYYY-MM-DD') || ' 00:00:00+00';
            IF EXISTS (SELECT 1 FROM analytics_events_default
                        WHERE created_at >= lower_bound::timestamptz
                          AND created_at < upper_bound::timestamptz) THEN
                EXECUTE format('CREATE TABLE %I (LIKE analytics_events INCLUDING DEFAULTS)', part);
                EXECUTE format(
                    'WITH moved AS (DELETE FROM analytics_events_default'
                    ' WHERE created_at >= %L AND created_at < %L RETURNING *)'
                    ' INSERT INTO %I SELECT * FROM moved',
                    lower_bound, upper_bound, part);
                EXECUTE format(
                    'ALTER TABLE analytics_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                    part, lower_bound, upper_bound);
            ELSE
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF analytics_events FOR VALUES FROM (%L) TO (%L)',
                    part, lower_bound, upper_bound);
            END IF;
            created := created + 1;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN created;
END
$$;

-- The periodic upkeep (every minute or so): partitions for today (UTC) and `days_ahead` days
-- after it; raw events older than `event_retention_days` days dropped a partition at a time
-- (and from the default partition); rollups older than `rollup_retention_days` days deleted,
-- recent ones compacted. Waits at most
-- `lock_wait` for its locks, so that it never queues the writers behind a long read; a run that
-- gives up is simply repeated by the next one.
CREATE FUNCTION maintain_analytics_events(
    days_ahead integer DEFAULT 3,
    event_retention_days integer DEFAULT 7,
    rollup_retention_days integer DEFAULT 400,
    lock_wait interval DEFAULT '2 seconds'
)
RETURNS TABLE (
    partitions_created integer, partitions_dropped integer, rollups_deleted bigint,
    rollups_folded bigint
)
LANGUAGE plpgsql
AS $$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    oldest_kept date;
    part record;
    dropped integer := 0;
    deleted bigint := 0;
    n bigint;
BEGIN
    IF days_ahead NOT BETWEEN 0 AND 366 OR event_retention_days NOT BETWEEN 1 AND 3660
       OR rollup_retention_days NOT BETWEEN 1 AND 36600 THEN
        RAISE EXCEPTION 'days_ahead must be 0..366, event_retention_days 1..3660 and '
                        'rollup_retention_days 1..36600; got %, %, %',
                        days_ahead, event_retention_days, rollup_retention_days
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('lock_timeout', (extract(epoch FROM lock_wait) * 1000)::bigint::text, true);
    partitions_created := create_analytics_event_partitions(today, today + days_ahead);

    oldest_kept := today - event_retention_days;
    FOR part IN
        SELECT c.relname
          FROM pg_inherits AS i
          JOIN pg_class AS c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'analytics_events'::regclass
           AND c.relname ~ '^analytics_events_[0-9]{8}$'
           AND to_date(right(c.relname, 8), 'YYYYMMDD') < oldest_kept
         ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    partitions_dropped := dropped;
    DELETE FROM analytics_events_default
     WHERE created_at < (to_char(oldest_kept, 'YYYY-MM-DD') || ' 00:00:00+00')::timestamptz;

    DELETE FROM uuid_lookup_minutes
     WHERE bucket_start < now() - make_interval(days => rollup_retention_days);
    GET DIAGNOSTICS n = ROW_COUNT;
    deleted := n;
    DELETE FROM uuid_lookup_hours
     WHERE bucket_start < now() - make_interval(days => rollup_retention_days);
    GET DIAGNOSTICS n = ROW_COUNT;
    rollups_deleted := deleted + n;
    -- Late events (a writer's buffer after an outage) are folded too, within two days.
    rollups_folded := compact_uuid_lookup_rollups(now() - interval '2 days');
    RETURN NEXT;
END
$$;

-- Partitions for every day the old table has rows for, and for the days ahead; then the move.
-- Old rows keep their ids; the sequence continues after the largest.
SELECT create_analytics_event_partitions(d, d)
  FROM (SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date AS d
          FROM analytics_events_unpartitioned) AS days;
SELECT create_analytics_event_partitions(
    (now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 3
);

INSERT INTO analytics_events (id, event_name, event_properties, created_at)
SELECT id, event_name, event_properties, created_at
  FROM analytics_events_unpartitioned
 ORDER BY id;

SELECT setval('analytics_event_ids', coalesce(max(id), 0) + 1, false)
  FROM analytics_events_unpartitioned;

DO $$
DECLARE
    before bigint := (SELECT count(*) FROM analytics_events_unpartitioned);
    after bigint := (SELECT count(*) FROM analytics_events);
BEGIN
    IF before <> after THEN
        RAISE EXCEPTION 'analytics_events: % rows before partitioning, % after', before, after;
    END IF;
END
$$;

DROP TABLE analytics_events_unpartitioned;


-- --- stats over the rollups ------------------------------------------------------------------
-- Same signatures and columns as migration 002's. The window now starts at the beginning of
-- the minute `window` ago: that oldest minute is counted whole, as the timeline always counted
-- its oldest bucket whole. Minutes before the first whole hour come from the minute rows, the
-- rest (the current hour included) from the hour rows: at most 59 + hours-in-window rows.
-- p95 is read from the merged histogram, within about a bucket's width (2.2 %) of the exact
-- percentile_cont; avg and the rates are exact.
CREATE OR REPLACE FUNCTION get_uuid_lookup_stats("window" interval)
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
    WITH bounds AS (
        SELECT m.first_minute,
               date_bin('1 hour', m.first_minute + interval '59 minutes',
                        TIMESTAMPTZ '1970-01-01 00:00:00+00') AS first_hour
          FROM (SELECT date_bin('1 minute', now() - $1, TIMESTAMPTZ '1970-01-01 00:00:00+00')
                       AS first_minute) AS m
    ),
    rollups AS (
        SELECT r.*
          FROM uuid_lookup_minutes AS r, bounds AS w
         WHERE r.bucket_start >= w.first_minute AND r.bucket_start < w.first_hour
        UNION ALL
        SELECT r.*
          FROM uuid_lookup_hours AS r, bounds AS w
         WHERE r.bucket_start >= w.first_hour
    ),
    sums AS (
        SELECT sum(total)::bigint AS total, sum(cache_hits) AS cache_hits,
               sum(successes) AS successes, sum(fallbacks) AS fallbacks,
               sum(latency_count) AS latency_count, sum(latency_sum) AS latency_sum
          FROM rollups
    ),
    histogram AS (
        SELECT u.b, sum(u.c)::double precision AS c
          FROM rollups AS r, unnest(r.latency_buckets, r.latency_counts) AS u (b, c)
         GROUP BY u.b
    ),
    ranked AS (
        SELECT b, c, sum(c) OVER (ORDER BY b) - c AS before, sum(c) OVER () AS n
          FROM histogram
    ),
    -- As percentile_cont: between the events of ranks floor(h) and ceil(h), h = 0.95 (n - 1),
    -- each estimated within its bucket; so the error stays within a bucket's width even where
    -- the two events lie buckets apart.
    p95 AS (
        SELECT p.lo + (p.h - floor(p.h)) * (p.hi - p.lo) AS value
          FROM (
            SELECT max(k.h) AS h,
                   max(latency_rank_value(k.b, k.c, k.before, floor(k.h)))
                       FILTER (WHERE k.before <= floor(k.h) AND floor(k.h) < k.before + k.c) AS lo,
                   max(latency_rank_value(k.b, k.c, k.before, ceil(k.h)))
                       FILTER (WHERE k.before <= ceil(k.h) AND ceil(k.h) < k.before + k.c) AS hi
              FROM (SELECT r.*, 0.95 * (r.n - 1) AS h FROM ranked AS r) AS k
          ) AS p
    )
    SELECT coalesce(s.total, 0),
           s.latency_sum / nullif(s.latency_count, 0),
           (SELECT value FROM p95),
           (s.successes / nullif(s.total, 0))::double precision,
           (s.fallbacks / nullif(s.total, 0))::double precision,
           (s.cache_hits / nullif(s.total, 0))::double precision
      FROM sums AS s
$$;

-- The timeline from the rollups when the bucket is a whole number of minutes (hour rows when
-- it is a whole number of hours), else from the raw events as before: sub-minute buckets are
-- finer than the rollups, and the resolver bounds their count.
CREATE OR REPLACE FUNCTION get_uuid_lookup_timeline("window" interval, bucket interval)
RETURNS TABLE (
    bucket_start    timestamptz,
    total           bigint,
    avg_latency_ms  double precision,
    p95_latency_ms  double precision,
    success_rate    double precision,
    fallback_rate   double precision,
    cache_hit_rate  double precision
)
LANGUAGE plpgsql STABLE
AS $$
#variable_conflict use_column
DECLARE
    seconds numeric := extract(epoch FROM bucket);
BEGIN
    IF seconds > 0 AND seconds % 60 = 0 THEN
        RETURN QUERY
        WITH buckets AS (
            SELECT generate_series(
                       date_bin(bucket, now() - "window", TIMESTAMPTZ '1970-01-01 00:00:00+00'),
                       now(), bucket
                   ) AS bucket_start
        ),
        rollups AS (
            SELECT date_bin(bucket, r.bucket_start, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS b_start,
                   r.*
              FROM uuid_lookup_hours AS r
             WHERE seconds % 3600 = 0
               AND r.bucket_start >= (SELECT min(b.bucket_start) FROM buckets AS b)
            UNION ALL
            SELECT date_bin(bucket, r.bucket_start, TIMESTAMPTZ '1970-01-01 00:00:00+00'), r.*
              FROM uuid_lookup_minutes AS r
             WHERE seconds % 3600 <> 0
               AND r.bucket_start >= (SELECT min(b.bucket_start) FROM buckets AS b)
        ),
        sums AS (
            SELECT r.b_start, sum(r.total)::bigint AS total, sum(r.cache_hits) AS cache_hits,
                   sum(r.successes) AS successes, sum(r.fallbacks) AS fallbacks,
                   sum(r.latency_count) AS latency_count, sum(r.latency_sum) AS latency_sum
              FROM rollups AS r
             GROUP BY r.b_start
        ),
        -- A bucket made of one rollup row (the common case: minute buckets over folded minutes,
        -- hour buckets over hour rows) reads its quantile straight from that row's histogram;
        -- the others merge their rows' histograms first.
        single AS (
            SELECT r.b_start FROM rollups AS r GROUP BY r.b_start HAVING count(*) = 1
        ),
        histogram AS (
            SELECT r.b_start, u.b, sum(u.c)::double precision AS c
              FROM rollups AS r, unnest(r.latency_buckets, r.latency_counts) AS u (b, c)
             WHERE r.b_start NOT IN (SELECT x.b_start FROM single AS x)
             GROUP BY r.b_start, u.b
        ),
        ranked AS (
            SELECT h.b_start, h.b, h.c,
                   sum(h.c) OVER (PARTITION BY h.b_start ORDER BY h.b) - h.c AS before,
                   sum(h.c) OVER (PARTITION BY h.b_start) AS n
              FROM histogram AS h
        ),
        p95 AS (  -- as in get_uuid_lookup_stats, per bucket
            SELECT p.b_start, p.lo + (p.h - floor(p.h)) * (p.hi - p.lo) AS value
              FROM (
                SELECT k.b_start,
                       max(k.h) AS h,
                       max(latency_rank_value(k.b, k.c, k.before, floor(k.h))) FILTER (
                           WHERE k.before <= floor(k.h) AND floor(k.h) < k.before + k.c) AS lo,
                       max(latency_rank_value(k.b, k.c, k.before, ceil(k.h))) FILTER (
                           WHERE k.before <= ceil(k.h) AND ceil(k.h) < k.before + k.c) AS hi
                  FROM (SELECT r.*, 0.95 * (r.n - 1) AS h FROM ranked AS r) AS k
                 GROUP BY k.b_start
              ) AS p
            UNION ALL
            SELECT r.b_start,
                   latency_quantile(r.latency_buckets, r.latency_counts, r.latency_count, 0.95)
              FROM rollups AS r
             WHERE r.b_start IN (SELECT x.b_start FROM single AS x)
        )
        SELECT b.bucket_start,
               coalesce(s.total, 0),
               s.latency_sum / nullif(s.latency_count, 0),
               p.value,
               (s.successes / nullif(s.total, 0))::double precision,
               (s.fallbacks / nullif(s.total, 0))::double precision,
               (s.cache_hits / nullif(s.total, 0))::double precision
          FROM buckets AS b
          LEFT JOIN sums AS s ON s.b_start = b.bucket_start
          LEFT JOIN p95 AS p ON p.b_start = b.bucket_start
         ORDER BY b.bucket_start;
    ELSE
        RETURN QUERY
        WITH buckets AS (
            SELECT generate_series(
                       date_bin(bucket, now() - "window", TIMESTAMPTZ '1970-01-01 00:00:00+00'),
                       now(), bucket
                   ) AS bucket_start
        ),
        events AS (
            SELECT date_bin(bucket, e.created_at, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS b_start,
                   uuid_lookup_latency(e.event_properties) AS latency,
                   coalesce(e.event_properties -> 'success' = 'true', false) AS success,
                   coalesce(e.event_properties -> 'fallback_used' = 'true', false) AS fallback,
                   coalesce(e.event_properties -> 'cache_hit' = 'true', false) AS cache_hit
              FROM analytics_events AS e
             WHERE e.event_name = 'uuid_lookup'
               AND e.created_at >= date_bin(bucket, now() - "window",
                                            TIMESTAMPTZ '1970-01-01 00:00:00+00')
        )
        SELECT b.bucket_start,
               count(e.b_start),
               avg(e.latency),
               percentile_cont(0.95) WITHIN GROUP (ORDER BY e.latency),
               avg(e.success::int)::double precision,
               avg(e.fallback::int)::double precision,
               avg(e.cache_hit::int)::double precision
          FROM buckets AS b
          LEFT JOIN events AS e ON e.b_start = b.bucket_start
         GROUP BY b.bucket_start
         ORDER BY b.bucket_start;
    END IF;
END
$$;


-- --- alert history, acknowledgements, silences -----------------------------------------------
-- Every firing and resolving of an alert, with the value and threshold that decided it.
CREATE TABLE alert_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    state       text NOT NULL CHECK (state IN ('FIRING', 'RESOLVED')),
    severity    text NOT NULL CHECK (severity IN ('WARNING', 'CRITICAL')),
    message     text NOT NULL,
    value       double precision NULL,
    threshold   double precision NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_events_name_id_idx ON alert_events (name, id DESC);

-- Where each alert stands: what a new evaluation is compared with, so that only changes are
-- stored. `event_id` is the alert_events row that put it there.
CREATE TABLE alert_states (
    name      text PRIMARY KEY,
    firing    boolean NOT NULL,
    event_id  bigint NOT NULL REFERENCES alert_events (id)
);

-- An operator's "seen it": it covers the firing it was made during (`event_id`), and stops
-- counting once the alert resolves.
CREATE TABLE alert_acknowledgements (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    event_id    bigint NULL REFERENCES alert_events (id),
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    api_key_id  uuid NULL REFERENCES api_keys (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_acknowledgements_name_id_idx ON alert_acknowledgements (name, id DESC);

-- A silenced alert still shows (marked) but is not pushed until `until`.
CREATE TABLE alert_silences (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    until       timestamptz NOT NULL,
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    api_key_id  uuid NULL REFERENCES api_keys (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (until > created_at)
);
CREATE INDEX alert_silences_name_until_idx ON alert_silences (name, until DESC);

-- Store one evaluation: `names` are every alert the evaluator knows, `firing` whether each
-- fires now, and its severity, message, value and threshold (a NULL severity on resolving is
-- the firing's).
-- Returns the transitions it stored; an alert whose state did not change stores nothing.
-- Concurrent evaluators (one per worker) are serialised, so each change is stored once.
CREATE FUNCTION record_alert_evaluation(
    names text[], firing boolean[], severities text[], messages text[],
    alert_values double precision[], thresholds double precision[]
)
RETURNS SETOF alert_events
LANGUAGE plpgsql
AS $$
DECLARE
    i integer;
    current alert_states;
    stored alert_events;
BEGIN
    IF cardinality(names) > 100
       OR cardinality(names) IS DISTINCT FROM cardinality(firing)
       OR cardinality(names) IS DISTINCT FROM cardinality(severities)
       OR cardinality(names) IS DISTINCT FROM cardinality(messages)
       OR cardinality(names) IS DISTINCT FROM cardinality(alert_values)
       OR cardinality(names) IS DISTINCT FROM cardinality(thresholds) THEN
        RAISE EXCEPTION 'record_alert_evaluation: arrays of different lengths, or over 100'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('alert_states'));
    FOR i IN 1 .. coalesce(cardinality(names), 0) LOOP
        SELECT * INTO current FROM alert_states AS s WHERE s.name = names[i];
        IF coalesce(current.firing, false) = firing[i] THEN
            CONTINUE;  -- no change (a never-seen alert that does not fire is no change either)
        END IF;
        INSERT INTO alert_events (name, state, severity, message, value, threshold)
        VALUES (names[i], CASE WHEN firing[i] THEN 'FIRING' ELSE 'RESOLVED' END,
                coalesce(severities[i],
                         (SELECT e.severity FROM alert_events AS e WHERE e.id = current.event_id),
                         'WARNING'),
                coalesce(messages[i], ''),
                alert_values[i], thresholds[i])
        RETURNING * INTO stored;
        INSERT INTO alert_states (name, firing, event_id)
        VALUES (names[i], firing[i], stored.id)
        ON CONFLICT (name) DO UPDATE SET firing = excluded.firing, event_id = excluded.event_id;
        RETURN NEXT stored;
    END LOOP;
END
$$;

-- Acknowledge the current firing of `alert_name`. When it does not fire, the acknowledgement
-- is kept as history (event_id NULL) but covers nothing.
CREATE FUNCTION acknowledge_alert(alert_name text, ack_note text, key_id uuid)
RETURNS alert_acknowledgements
LANGUAGE sql
AS $$
    INSERT INTO alert_acknowledgements (name, event_id, note, api_key_id)
    SELECT alert_name,
           (SELECT s.event_id FROM alert_states AS s WHERE s.name = alert_name AND s.firing),
           coalesce(ack_note, ''), key_id
    RETURNING *
$$;

CREATE FUNCTION silence_alert(alert_name text, silence_until timestamptz, silence_note text,
                              key_id uuid)
RETURNS alert_silences
LANGUAGE sql
AS $$
    INSERT INTO alert_silences (name, until, note, api_key_id)
    VALUES (alert_name, silence_until, coalesce(silence_note, ''), key_id)
    RETURNING *
$$;

-- Each alert that has a state: whether it fires, since when, whether its current firing is
-- acknowledged, and until when it is silenced (NULL when it is not).
CREATE VIEW alert_overview AS
SELECT s.name,
       s.firing,
       e.severity,
       e.message,
       e.value,
       e.threshold,
       e.created_at AS since,
       ack.created_at AS acknowledged_at,
       ack.note AS acknowledgement_note,
       sil.until AS silenced_until
  FROM alert_states AS s
  JOIN alert_events AS e ON e.id = s.event_id
  LEFT JOIN LATERAL (
    SELECT a.created_at, a.note FROM alert_acknowledgements AS a
     WHERE a.name = s.name AND s.firing AND a.event_id = s.event_id
     ORDER BY a.id DESC LIMIT 1
  ) AS ack ON true
  LEFT JOIN LATERAL (
    SELECT max(x.until) AS until FROM alert_silences AS x
     WHERE x.name = s.name AND x.until > now()
  ) AS sil ON true;
