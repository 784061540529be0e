-- Version 13: the Alerts wall and the Outbox read one window of rows at a time, most recent
-- first. These indexes serve that order without a sort of the whole table.

CREATE INDEX alert_last_seen ON alert (last_seen, id);
CREATE INDEX email_activity_outbox_list ON email_activity (status, created_on, id)
    WHERE direction = 'outgoing' AND status IN ('pending_send', 'sending', 'failed');
