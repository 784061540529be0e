-- Version 9: Exchange Online through Microsoft Graph.
-- A profile may name its own sign-in and Graph hosts (a sovereign cloud, a test server); empty
-- means the hosts of its server authority. A mailbox's incoming cursor may be a server's opaque
-- token (Graph's delta or next link, EWS's SyncState) rather than IMAP's UIDVALIDITY and last UID.

ALTER TABLE email_server_profile ADD COLUMN authority_host TEXT NOT NULL DEFAULT '';
ALTER TABLE email_server_profile ADD COLUMN graph_endpoint TEXT NOT NULL DEFAULT '';
ALTER TABLE mailbox_sync_state ADD COLUMN server_cursor TEXT NOT NULL DEFAULT '';
