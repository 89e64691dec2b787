-- mode: expand
-- Delivery between sites (DESIGN.md 3): an outbox row is delivered when the receiving agent has committed it and
-- sent back a receipt (sent_at); one the peer refused, or that no receipt came for within the try limit, is given
-- up (gave_up_at, last_error says why). A peer's rows go out in outbox_id order.
ALTER TABLE mychips.outbox ADD COLUMN gave_up_at timestamptz;
CREATE INDEX outbox_peer_pending ON mychips.outbox (peer_agent, outbox_id) WHERE sent_at IS NULL AND gave_up_at IS NULL;
