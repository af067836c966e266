-- Lookup events arrive as one row per *write* of the app's event writer, not one per slug. The
-- writer COPYs that row into this view; its INSTEAD OF trigger stores one analytics_events row
-- per slug (the rows migration 002 defines, unchanged).
--
-- Why: building and encoding one jsonb row per slug in the API process cost a cached 20-slug
-- request more than a third of its CPU; one JSON document per write, made by orjson in C, costs
-- it a few microseconds a request, and the expansion happens here. And a COPY into a view is
-- one statement, so a write is stored whole or not at all without an explicit transaction.
--
-- `batches` is a JSON array with one element per lookup batch, oldest first:
--   [unix time, cache_ms, elapsed_ms, error_kind, degraded, slugs, uuids, cache_hits, answered]
-- The last four are arrays of equal length, one slot per distinct slug of the batch in the
-- order asked. `cache_ms` is the lookup time of a cache hit and `elapsed_ms` that of every
-- other slug; `answered` means the lookup produced a row or a definite "no such slug";
-- `error_kind` is why the unanswered slugs were not answered, and `degraded` that they fell
-- back (were served without a UUID). The per-slug fields derive from these exactly as
-- LookupBatch.events() derives them (loaders/lookup.py).

-- The properties of one `uuid_lookup` event: to_jsonb() of a value of this type is the
-- event_properties object, its fields the keys.
CREATE TYPE uuid_lookup_event AS (
    slug            text,
    uuid            text,
    lookup_time_ms  double precision,
    cache_hit       boolean,
    success         boolean,
    fallback_used   boolean,
    error_kind      text
);

CREATE VIEW uuid_lookup_batches AS
SELECT NULL::jsonb AS batches
 WHERE false;

CREATE FUNCTION store_uuid_lookup_batches() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
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
    RETURN NEW;
END
$$;

CREATE TRIGGER store_uuid_lookup_batches
INSTEAD OF INSERT ON uuid_lookup_batches
FOR EACH ROW EXECUTE FUNCTION store_uuid_lookup_batches();
