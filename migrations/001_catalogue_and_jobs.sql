-- The catalogue (categories -> subcategories -> micro services) and the jobs posted against it.
-- The catalogue rows are written by the seed from db/catalogue.json; a micro service's UUID is
-- assigned once, here, and never changes, so that jobs can reference it for ever.

CREATE TABLE categories (
    slug        text PRIMARY KEY,
    name        text NOT NULL,
    position    integer NOT NULL DEFAULT 0,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subcategories (
    category    text NOT NULL REFERENCES categories (slug) ON UPDATE CASCADE,
    slug        text NOT NULL,
    name        text NOT NULL,
    position    integer NOT NULL DEFAULT 0,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (category, slug)
);

CREATE TABLE micro_services (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug         text NOT NULL UNIQUE,
    name         text NOT NULL,
    category     text NOT NULL,
    subcategory  text NOT NULL,
    description  text NOT NULL DEFAULT '',
    position     integer NOT NULL DEFAULT 0,
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (category, subcategory) REFERENCES subcategories (category, slug) ON UPDATE CASCADE
);

-- The catalogue listing walks category -> subcategory in wizard order.
CREATE INDEX micro_services_listing_idx
    ON micro_services (category, subcategory, position) WHERE active;

CREATE TABLE jobs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    micro_id    text NOT NULL,
    micro_uuid  uuid NULL REFERENCES micro_services (id),
    answers     jsonb NOT NULL CHECK (jsonb_typeof(answers) = 'object'),
    status      text NOT NULL DEFAULT 'PUBLISHED'
                CHECK (status IN ('PUBLISHED', 'CLOSED', 'CANCELLED')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The UUID backfill looks for slug-only jobs by slug; the partial index stays small as it works.
CREATE INDEX jobs_slug_only_idx ON jobs (micro_id) WHERE micro_uuid IS NULL;
-- Jobs by micro service (FK lookups on catalogue changes, per-service listings).
CREATE INDEX jobs_micro_uuid_idx ON jobs (micro_uuid);
CREATE INDEX jobs_created_at_idx ON jobs (created_at);
