-- Version 3: an alert keeps the technical detail of its latest occurrence (the server's reply,
-- the TLS error), shown under "Details" on the alert wall. Never a secret: the engine removes
-- credentials from server replies before recording them.

ALTER TABLE alert ADD COLUMN detail TEXT NOT NULL DEFAULT '';
