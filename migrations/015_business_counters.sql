-- What the business view counts that no other table keeps: publishes refused (and the fields at
-- fault, names only), uploads refused by reason, and searches that matched nothing (in total, and
-- their normalised texts, from which personal data has been dropped). Every worker adds its own
-- counts by the hour, so the dashboard reads the fleet's sum rather than one worker's share.
-- Jobs published, cancelled and expired, and the webhook backlog, are read from their own tables.
CREATE TABLE business_counters (
    hour   timestamptz NOT NULL CHECK (hour = date_trunc('hour', hour)),
    kind   text NOT NULL CHECK (kind IN ('publish_rejected', 'rejected_field', 'upload_refused',
                                         'search_no_match', 'unmatched_text')),
    label  text NOT NULL CHECK (length(label) <= 100),
    count  bigint NOT NULL CHECK (count > 0),
    PRIMARY KEY (kind, hour, label)
);
-- The retention deletes by age.
CREATE INDEX business_counters_hour_idx ON business_counters (hour);
-- Jobs that left PUBLISHED lately, for the business view (jobs_personal_data_idx holds only
-- those that still keep personal data).
CREATE INDEX jobs_ended_at_idx ON jobs (ended_at) WHERE ended_at IS NOT NULL;
