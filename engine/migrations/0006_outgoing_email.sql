-- Version 6: outgoing email. An email written in ServerSync is stored with its original message
-- built at Send (Message-ID and tracking token fixed then), goes Pending Send → Sending → Sent or
-- Failed, and says why it waits or failed.

ALTER TABLE email_activity ADD COLUMN sender_mailbox_id INTEGER REFERENCES mailbox (id) ON DELETE SET NULL;
ALTER TABLE email_activity ADD COLUMN delivery_attempts INTEGER NOT NULL DEFAULT 0 CHECK (delivery_attempts >= 0);
-- Send Later (delayedemailsendtime): not before this time.
ALTER TABLE email_activity ADD COLUMN send_after TEXT;
-- When the email was last marked Sending: a Sending email whose engine is gone is checked in the
-- Sent folder before it is sent again.
ALTER TABLE email_activity ADD COLUMN sending_since TEXT;
-- Why it waits (Pending Send) or failed: a message code and its parameters.
ALTER TABLE email_activity ADD COLUMN last_error_code TEXT NOT NULL DEFAULT '';
ALTER TABLE email_activity ADD COLUMN last_error_params TEXT NOT NULL DEFAULT '{}';
-- Sent again after a crash without a way to know whether the first try had left: it may have
-- arrived twice.
ALTER TABLE email_activity ADD COLUMN possible_duplicate INTEGER NOT NULL DEFAULT 0 CHECK (possible_duplicate IN (0, 1));

-- SSSSaveOutgoingEmailToExchangeSentFolder: a sent email is also saved in the server's Sent folder.
ALTER TABLE organization_settings ADD COLUMN save_sent_to_server INTEGER NOT NULL DEFAULT 1;

CREATE INDEX email_activity_outbox ON email_activity (sender_mailbox_id, status, send_after)
    WHERE status IN ('pending_send', 'sending', 'failed');

-- The tracking numbers given out (the incremental message counter of each user number).
CREATE TABLE tracking_counter (
    user_number INTEGER PRIMARY KEY,
    next        INTEGER NOT NULL DEFAULT 1 CHECK (next >= 0)
) STRICT;
