-- Version 11: the Mailboxes grid reads one window of rows at a time, sorted in SQL by name
-- without regard to case. This index serves that order within a view (state), and the count of
-- a view, without a sort of the whole table.

DROP INDEX IF EXISTS mailbox_state_name;
CREATE INDEX mailbox_state_name_nocase ON mailbox (state, name COLLATE NOCASE, id);
