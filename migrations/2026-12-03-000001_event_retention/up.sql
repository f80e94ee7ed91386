-- Events are kept for a retention window; this row remembers how far they
-- were pruned, so a subscriber resuming from before it is told instead of
-- silently missing changes.
CREATE TABLE event_log (
    id SMALLINT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    pruned_through BIGINT NOT NULL DEFAULT 0
);
INSERT INTO event_log (id) VALUES (1);

-- The pruner keeps events that a pending webhook delivery still needs.
CREATE INDEX webhook_deliveries_pending_event_idx ON webhook_deliveries (event_seq) WHERE status = 'pending';
-- The delivery log is pruned with the events.
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at) WHERE status <> 'pending';
