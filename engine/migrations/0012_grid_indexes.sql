-- Version 12: the Contacts, Leads, Users and Queues grids read one window of rows at a time,
-- sorted in SQL by name without regard to case (contacts and leads by last name, then first
-- name). These indexes serve that order within a view (state), without a sort of the whole table
-- (accounts sort by name: their index of version 4 serves).

DROP INDEX IF EXISTS contact_state_name;
CREATE INDEX contact_state_full_name ON contact (state, last_name COLLATE NOCASE, first_name COLLATE NOCASE, id);
DROP INDEX IF EXISTS lead_state_name;
CREATE INDEX lead_state_full_name ON lead (state, last_name COLLATE NOCASE, first_name COLLATE NOCASE, id);
CREATE INDEX system_user_state_name ON system_user (state, full_name COLLATE NOCASE, id);
CREATE INDEX queue_state_name ON queue (state, name COLLATE NOCASE, id);
