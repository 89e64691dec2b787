-- mode: expand
-- A message for another site that is given up (no receipt after Peer:MaxTries, or refused by the peer) is told to
-- the user who sent it (PROTOCOL 4.6: enforce a limit and surface the failure), as a push event in
-- mychips.user_events. A trigger, so that every path that gives a message up is covered in the same transaction.

CREATE FUNCTION mychips.outbox_tf_gave_up() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sender bigint;
BEGIN
    SELECT u.user_id INTO sender
      FROM mychips.users u
     WHERE u.cuid = NEW.message->'from'->>'cuid' AND u.agent = NEW.message->'from'->>'agent';
    IF sender IS NOT NULL THEN
        INSERT INTO mychips.user_events (user_id, events)
        VALUES (sender, jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
            'type', 'delivery_failed',
            'tally', coalesce(NEW.message->'object'->>'tally', NEW.message->'object'->>'uuid'),
            'target', NEW.message->>'target',
            'action', NEW.message->>'action',
            'peer', NEW.peer_agent,
            'reason', NEW.last_error))));
        PERFORM pg_notify('mychips_user', sender::text);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER outbox_tr_gave_up
    AFTER UPDATE OF gave_up_at ON mychips.outbox
    FOR EACH ROW WHEN (OLD.gave_up_at IS NULL AND NEW.gave_up_at IS NOT NULL)
    EXECUTE FUNCTION mychips.outbox_tf_gave_up();
