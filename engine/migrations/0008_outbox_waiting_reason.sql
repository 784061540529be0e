-- Version 8: why an email waits is kept apart from why its last try failed. A mailbox that cannot
-- send (not enabled for outgoing, its server unreachable, its credentials refused) makes each of
-- its Pending Send emails say so; that reason goes once the mailbox can send again, while the
-- reason of an email's own failed try (a busy server, a lost connection) stays until its next try.

ALTER TABLE email_activity ADD COLUMN waiting_code TEXT NOT NULL DEFAULT '';
ALTER TABLE email_activity ADD COLUMN waiting_params TEXT NOT NULL DEFAULT '{}';
