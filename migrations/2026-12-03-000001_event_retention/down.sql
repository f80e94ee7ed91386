DROP INDEX webhook_deliveries_created_idx;
DROP INDEX webhook_deliveries_pending_event_idx;
DROP TABLE event_log;
