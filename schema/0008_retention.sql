-- mode: expand
-- Retention (README "Retention"): rows that only grow are pruned on a schedule, in small batches, by one instance at a
-- time. These indexes let each batch find its oldest rows without scanning the table. (tokens_expires exists.)
CREATE INDEX outbox_settled ON mychips.outbox ((coalesce(sent_at, gave_up_at))) WHERE sent_at IS NOT NULL OR gave_up_at IS NOT NULL;
CREATE INDEX received_messages_received ON mychips.received_messages (received_at);
CREATE INDEX user_events_created ON mychips.user_events (created_at);
CREATE INDEX redemptions_done ON mychips.redemptions ((coalesce(used_at, expires_at)));
