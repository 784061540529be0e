-- Version 12: the Contacts and Leads grids read one window of rows at a time, sorted in SQL by
-- last name then first name, without regard to case. These indexes serve that order within a
-- view (state) without a sort of the whole table (accounts sort by name: their index serves).

DROP INDEX IF EXISTS contact_state_name;
CREATE INDEX contact_state_full_name ON contact (state, last_name COLLATE NOCASE, first_name COLLATE NOCASE, id);
DROP INDEX IF EXISTS lead_state_name;
CREATE INDEX lead_state_full_name ON lead (state, last_name COLLATE NOCASE, first_name COLLATE NOCASE, id);
