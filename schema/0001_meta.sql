-- mode: expand
-- The upgrade mode's own records (DESIGN.md 4.1). The schema manager records this migration in
-- mychips_meta.migrations right after this file creates that table.

CREATE SCHEMA mychips_meta;

CREATE TABLE mychips_meta.schema_state (
    id               int         PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    version          int         NOT NULL DEFAULT 0,
    min_code_version int         NOT NULL DEFAULT 0,
    phase            text        NOT NULL DEFAULT 'stable' CHECK (phase IN ('stable', 'migrating')),
    leader           uuid,
    epoch            bigint      NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
INSERT INTO mychips_meta.schema_state DEFAULT VALUES;

CREATE TABLE mychips_meta.migrations (
    number      int         PRIMARY KEY,
    name        text        NOT NULL,
    sha256      text        NOT NULL,
    mode        text        NOT NULL CHECK (mode IN ('expand', 'contract')),
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms int         NOT NULL,
    applied_by  text        NOT NULL
);

CREATE TABLE mychips_meta.instances (
    id                  uuid        PRIMARY KEY,
    host                text        NOT NULL,
    pid                 int         NOT NULL,
    code_version        text        NOT NULL,
    code_schema_version int         NOT NULL,
    listeners           jsonb       NOT NULL DEFAULT '{}',
    state               text        NOT NULL CHECK (state IN ('starting', 'holding', 'serving', 'draining', 'stopped', 'fenced')),
    reason              text,
    started_at          timestamptz NOT NULL DEFAULT now(),
    heartbeat_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX instances_state_heartbeat ON mychips_meta.instances (state, heartbeat_at);
