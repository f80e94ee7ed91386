DROP INDEX webhook_deliveries_pending_by_hook_idx;
ALTER TABLE webhooks DROP COLUMN next_attempt_at, DROP COLUMN locked_until;
