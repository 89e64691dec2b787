-- mode: expand
-- The domain tables of a site as far as PROTOCOL.md describes them: agents, users, tokens, tallies
-- (one row per local half), chits, lifts, the transactional outbox / received-message log that carry
-- peer traffic (DESIGN.md 3), and the per-user event log that the WebSocket push reads. Money is integer
-- milliCHIPs (bigint). The state machine rules live in MyChips.Data/Domain; the constraints here are the
-- invariants that must hold whatever code writes.

CREATE SCHEMA mychips;

-- An agent is a key pair whose public key (b64v, 43 characters) is its address (PROTOCOL 2.1).
CREATE TABLE mychips.agents (
    agent      text        PRIMARY KEY CHECK (agent ~ '^[A-Za-z0-9_-]{43}$'),
    host       text,
    port       int         CHECK (port BETWEEN 1 AND 65535),
    is_local   boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- At most one local agent per site.
CREATE UNIQUE INDEX agents_one_local ON mychips.agents (is_local) WHERE is_local;

-- The site's own agent key; the private seed never leaves the database except to its own processes.
CREATE TABLE mychips.agent_keys (
    agent      text        PRIMARY KEY REFERENCES mychips.agents,
    seed       bytea       NOT NULL CHECK (length(seed) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mychips.users (
    user_id    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cuid       text        NOT NULL CHECK (cuid ~ '^[A-Za-z0-9_.~-]{1,64}$'),
    agent      text        NOT NULL REFERENCES mychips.agents,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    cert       jsonb,               -- the user's certificate (PROTOCOL 6.1), built when the key is registered
    sign_pub   jsonb,               -- signing and login key, JWK P-256 or P-521 (one key: see docs/api.md)
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (cuid, agent)
);

-- Login tickets, invitations, login challenges and sessions. Only a SHA-256 of the secret is stored (PROTOCOL W3).
CREATE TABLE mychips.tokens (
    token_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES mychips.users ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('login', 'invite', 'challenge', 'session')),
    token_hash bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    tally_uuid uuid,                -- the draft an invitation belongs to
    reuse      boolean     NOT NULL DEFAULT false,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((purpose = 'invite') = (tally_uuid IS NOT NULL))
);
CREATE INDEX tokens_user_purpose ON mychips.tokens (user_id, purpose);
CREATE INDEX tokens_expires ON mychips.tokens (expires_at);

-- One row per local half of a tally (PROTOCOL 6.1, 7.2). Two users of one site hold two rows.
CREATE TABLE mychips.tallies (
    tally_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES mychips.users,
    tally_uuid   uuid        NOT NULL,
    tally_type   text        NOT NULL CHECK (tally_type IN ('stock', 'foil')),
    version      int         NOT NULL DEFAULT 1,
    revision     int         NOT NULL DEFAULT 1 CHECK (revision >= 1),
    tally_date   timestamptz(3) NOT NULL,
    memo         text,
    agree        jsonb       NOT NULL,
    hold_cert    jsonb       NOT NULL,
    part_cert    jsonb,
    hold_terms   jsonb       NOT NULL DEFAULT '{}',
    part_terms   jsonb       NOT NULL DEFAULT '{}',
    hold_sig     text,
    part_sig     text,
    part_cuid    text,
    part_agent   text        REFERENCES mychips.agents,
    status       text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'offer', 'open', 'close', 'void')),
    request      text        CHECK (request IN ('draft', 'offer', 'open', 'void', 'close')),
    digest       bytea       CHECK (length(digest) = 32),
    chain_conf   int,
    chain_last   int         NOT NULL DEFAULT 0 CHECK (chain_last >= 0),   -- index of the newest linked block
    chain_hash   bytea       CHECK (length(chain_hash) = 32),             -- its hash (the digest at index 0)
    hold_sets    jsonb       NOT NULL DEFAULT '{}',
    part_sets    jsonb       NOT NULL DEFAULT '{}',
    target       bigint      NOT NULL DEFAULT 0 CHECK (target >= 0),
    bound        bigint      NOT NULL DEFAULT 0 CHECK (bound >= 0),
    reward       numeric     NOT NULL DEFAULT 0 CHECK (reward BETWEEN -1 AND 1),
    clutch       numeric     NOT NULL DEFAULT 0 CHECK (clutch BETWEEN -1 AND 1),
    net          bigint      NOT NULL DEFAULT 0,   -- good chits, holder's view (PROTOCOL 6.2)
    net_pending  bigint      NOT NULL DEFAULT 0,   -- good + pending chits
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tally_uuid, tally_type),
    UNIQUE (tally_uuid, user_id),
    CHECK (status NOT IN ('open', 'close') OR (digest IS NOT NULL AND hold_sig IS NOT NULL AND part_sig IS NOT NULL)),
    CHECK (status = 'draft' OR part_cert IS NOT NULL)
)
-- Every chit updates both halves of its tally. The certificates go out of line (toast_tuple_target), so an update
-- writes a narrow row, not two certificates, to the heap and the WAL; room on each page keeps the updates HOT (no
-- index churn), and frequent vacuuming keeps the few hot rows from dragging long version chains.
WITH (toast_tuple_target = 128, fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
CREATE INDEX tallies_user ON mychips.tallies (user_id);

-- Chits (PROTOCOL 6.2, 7.3) and the per-half hash chain (6.4).
CREATE TABLE mychips.chits (
    chit_id    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tally_id   bigint      NOT NULL REFERENCES mychips.tallies,
    chit_uuid  uuid        NOT NULL,
    chit_type  text        NOT NULL CHECK (chit_type IN ('tran', 'set', 'lift')),
    issuer     text        NOT NULL CHECK (issuer IN ('stock', 'foil')),   -- the JSON "by"
    chit_date  timestamptz(3) NOT NULL,
    units      bigint      CHECK (units >= 0 AND units <= 9007199254740991),
    reference  jsonb,                                                     -- the JSON "ref"
    memo       text,
    signature  text,
    status     text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'pend', 'good', 'void', 'chain')),
    request    text        CHECK (request IN ('pend', 'good', 'void')),
    digest     bytea       CHECK (length(digest) = 32),
    chain_idx  int         CHECK (chain_idx >= 1),
    chain_prev bytea       CHECK (length(chain_prev) = 32),
    chain_dgst bytea       CHECK (length(chain_dgst) = 32),
    chain_msg  jsonb,
    lift_uuid  uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tally_id, chit_uuid),
    UNIQUE (tally_id, chain_idx),
    CHECK ((chit_type = 'set') = (units IS NULL)),
    CHECK (status <> 'good' OR chit_type = 'lift' OR signature IS NOT NULL),
    CHECK ((chain_idx IS NULL) = (chain_dgst IS NULL))
);
-- A chit is looked up by its uuid (context guard) together with its tally's uuid.
CREATE INDEX chits_uuid ON mychips.chits (chit_uuid);

-- Lifts (PROTOCOL 6.3, 8): local clearing and linear payments.
CREATE TABLE mychips.lifts (
    lift_uuid  uuid        PRIMARY KEY,
    lift_type  text        NOT NULL CHECK (lift_type IN ('in', 'pay', 'rel')),
    lift_date  timestamptz(3) NOT NULL,
    units      bigint      NOT NULL CHECK (units > 0 AND units <= 9007199254740991),
    life       interval    NOT NULL DEFAULT interval '2 minutes',
    status     text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'init', 'seek', 'exec', 'part', 'good', 'void')),
    request    text,
    tallies    uuid[]      NOT NULL DEFAULT '{}',
    signs      int[]       NOT NULL DEFAULT '{}',
    payor_user bigint      REFERENCES mychips.users,
    payee_user bigint      REFERENCES mychips.users,
    find       jsonb,
    payor_auth jsonb,
    agent_auth jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Transactional outbox: a message for a peer is written in the same transaction as the state change
-- that causes it, and delivered by any instance's sender (DESIGN.md 3).
CREATE TABLE mychips.outbox (
    outbox_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    peer_agent      text        NOT NULL REFERENCES mychips.agents,
    message         jsonb       NOT NULL,
    idempotency_key text        NOT NULL UNIQUE,
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due ON mychips.outbox (next_attempt_at) WHERE sent_at IS NULL;

-- Ids of messages already applied, so a message received twice changes nothing.
CREATE TABLE mychips.received_messages (
    message_id  text        PRIMARY KEY,
    peer_agent  text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- What happened to a user's records, in order, for the WebSocket push: written in the same transaction as
-- the change; NOTIFY mychips_user with the user id only wakes the pushers, which read from here (DESIGN.md 3).
CREATE TABLE mychips.user_events (
    event_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES mychips.users ON DELETE CASCADE,
    events     jsonb       NOT NULL CHECK (jsonb_typeof(events) = 'array'),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_events_user ON mychips.user_events (user_id, event_id);
