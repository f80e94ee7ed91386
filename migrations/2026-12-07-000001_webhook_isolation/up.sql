-- Delivery isolation: a webhook is leased by one worker at a time (one
-- delivery in flight per webhook), and a failure backs off the whole webhook
-- until next_attempt_at (circuit breaker), not just the failed delivery.
ALTER TABLE webhooks
    ADD COLUMN next_attempt_at TIMESTAMPTZ,
    ADD COLUMN locked_until TIMESTAMPTZ;
CREATE INDEX webhook_deliveries_pending_by_hook_idx
    ON webhook_deliveries (webhook_id, id) WHERE status = 'pending';
