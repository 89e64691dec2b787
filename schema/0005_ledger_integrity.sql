-- mode: expand
-- Ledger integrity against hostile peers (docs/peer-rules.md):
-- * every total is bounded so that no sum can overflow: a tally's net and pending net stay within ±(2^53-1), a tally
--   holds at most 100 pending invoices, and a user holds at most 1024 tallies that carry a balance (open or closed),
--   so the sum over a user's tallies stays within bigint;
-- * an invitation our user redeemed is recorded, so that the first offer from that inviter is expected and any other
--   first offer is refused;
-- * outbox rows name the tally and chit they are about, so that a row whose record has moved on (the partner answered,
--   or the state changed) is withdrawn instead of re-sent; settled_by says how a row left the queue.

ALTER TABLE mychips.tallies
    ADD COLUMN pending_chits int NOT NULL DEFAULT 0,
    ADD CONSTRAINT tallies_net_bounded CHECK (net BETWEEN -9007199254740991 AND 9007199254740991),
    ADD CONSTRAINT tallies_net_pending_bounded CHECK (net_pending BETWEEN -9007199254740991 AND 9007199254740991),
    ADD CONSTRAINT tallies_pending_chits_bounded CHECK (pending_chits BETWEEN 0 AND 100);

-- Tallies that ever opened, per user (a closed tally keeps its balance, so it still counts).
ALTER TABLE mychips.users
    ADD COLUMN balance_tallies int NOT NULL DEFAULT 0,
    ADD CONSTRAINT users_balance_tallies_bounded CHECK (balance_tallies BETWEEN 0 AND 1024);
UPDATE mychips.users u SET balance_tallies = (SELECT count(*) FROM mychips.tallies t WHERE t.user_id = u.user_id AND t.status IN ('open', 'close'));
UPDATE mychips.tallies t SET pending_chits = (SELECT count(*) FROM mychips.chits c WHERE c.tally_id = t.tally_id AND c.status = 'pend');

CREATE FUNCTION mychips.tallies_tf_opened() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mychips.users SET balance_tallies = balance_tallies + 1 WHERE user_id = NEW.user_id;
    RETURN NEW;
END;
$$;

CREATE TRIGGER tallies_tr_opened
    AFTER UPDATE OF status ON mychips.tallies
    FOR EACH ROW WHEN (OLD.status NOT IN ('open', 'close') AND NEW.status IN ('open', 'close'))
    EXECUTE FUNCTION mychips.tallies_tf_opened();

-- Invitations of other users that our users redeemed: the inviter's first offer must match one.
CREATE TABLE mychips.redemptions (
    redemption_id bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint      NOT NULL REFERENCES mychips.users ON DELETE CASCADE,
    inviter_cuid  text        NOT NULL,
    inviter_agent text        NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    tally_uuid    uuid,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX redemptions_inviter ON mychips.redemptions (user_id, inviter_agent, inviter_cuid) WHERE used_at IS NULL;
-- Invitations redeemed before this migration left their ticket in the outbox: their first offers are still welcome.
INSERT INTO mychips.redemptions (user_id, inviter_cuid, inviter_agent, expires_at, created_at)
SELECT u.user_id, o.message->'to'->>'cuid', o.peer_agent, o.created_at + interval '30 days', o.created_at
FROM mychips.outbox o JOIN mychips.users u ON u.cuid = o.message->'from'->>'cuid' AND u.agent = o.message->'from'->>'agent'
WHERE o.message->>'target' = 'tally' AND o.message->>'action' = 'ticket' AND o.created_at > now() - interval '30 days'
  AND o.message->'to'->>'cuid' IS NOT NULL;

ALTER TABLE mychips.outbox
    ADD COLUMN tally_uuid uuid,
    ADD COLUMN chit_uuid uuid,
    ADD COLUMN settled_by text CHECK (settled_by IN ('receipt', 'refused', 'withdrawn', 'unconfirmed', 'gave_up'));
UPDATE mychips.outbox SET
    tally_uuid = CASE WHEN message->>'target' = 'tally' THEN (message->'object'->>'uuid')::uuid ELSE (message->'object'->>'tally')::uuid END,
    chit_uuid = CASE WHEN message->>'target' = 'chit' AND message->>'action' <> 'chain' THEN (message->'object'->>'uuid')::uuid END
WHERE sent_at IS NULL AND gave_up_at IS NULL
  AND coalesce(message->'object'->>'uuid', message->'object'->>'tally') ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
CREATE INDEX outbox_pending_tally ON mychips.outbox (tally_uuid) WHERE sent_at IS NULL AND gave_up_at IS NULL;
