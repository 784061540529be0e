-- Version 2: background jobs (Test & Enable Mailboxes runs as one) and the per-mailbox error
-- counters of spec §3.11 (transient failures before a mailbox is disabled, last error).

ALTER TABLE mailbox ADD COLUMN transient_failure_count INTEGER NOT NULL DEFAULT 0 CHECK (transient_failure_count >= 0);
ALTER TABLE mailbox ADD COLUMN last_sync_error_code TEXT NOT NULL DEFAULT '';
ALTER TABLE mailbox ADD COLUMN last_sync_error_on TEXT;

CREATE TABLE async_job (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('test_and_enable')),
    profile_id   INTEGER REFERENCES email_server_profile (id) ON DELETE SET NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    -- The engine instance running it; its lock file in <data dir>/runners/ is held while it lives.
    runner       TEXT NOT NULL DEFAULT '',
    created_on   TEXT NOT NULL,
    started_on   TEXT,
    completed_on TEXT
) STRICT;

CREATE TABLE async_job_item (
    job_id     INTEGER NOT NULL REFERENCES async_job (id) ON DELETE CASCADE,
    mailbox_id INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'testing', 'success', 'failure', 'cancelled')),
    error_code   TEXT NOT NULL DEFAULT '',
    error_params TEXT NOT NULL DEFAULT '{}',
    updated_on   TEXT NOT NULL,
    PRIMARY KEY (job_id, mailbox_id)
) STRICT;

CREATE INDEX async_job_item_state ON async_job_item (state);
