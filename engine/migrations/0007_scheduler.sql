-- Version 7: the scheduler. Each workload of each mailbox has its schedule (when it runs next,
-- how its last runs went, its run of transient failures), and is processed by one engine at a
-- time under a lease that expires, so a dead engine's mailboxes are taken over.

CREATE TABLE mailbox_schedule (
    mailbox_id          INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    workload            TEXT NOT NULL CHECK (workload IN ('incoming', 'outgoing', 'act')),
    next_run_on         TEXT,
    last_started_on     TEXT,
    last_completed_on   TEXT,
    last_success_on     TEXT,
    -- Transient failures in a row (spec §3.11: the tenth makes the failure permanent).
    transient_failures  INTEGER NOT NULL DEFAULT 0 CHECK (transient_failures >= 0),
    -- Cycles in a row that found nothing to do (idle back-off).
    idle_cycles         INTEGER NOT NULL DEFAULT 0 CHECK (idle_cycles >= 0),
    items_processed     INTEGER NOT NULL DEFAULT 0,
    items_failed        INTEGER NOT NULL DEFAULT 0,
    last_error_code     TEXT NOT NULL DEFAULT '',
    last_error_params   TEXT NOT NULL DEFAULT '{}',
    last_error_on       TEXT,
    PRIMARY KEY (mailbox_id, workload)
) STRICT, WITHOUT ROWID;

CREATE INDEX mailbox_schedule_due ON mailbox_schedule (next_run_on);

-- Who processes a workload of a mailbox now ('push': who keeps its IMAP IDLE connection). A
-- lease is taken only when free or expired, renewed while the work goes on, and let go at its end
-- (maps onto SELECT … FOR UPDATE SKIP LOCKED).
CREATE TABLE mailbox_lease (
    mailbox_id INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    workload   TEXT NOT NULL CHECK (workload IN ('incoming', 'outgoing', 'act', 'push')),
    holder     TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, workload)
) STRICT, WITHOUT ROWID;

-- Every failure of a cycle, kept a while: the profile alert when more than half of a profile's
-- mailboxes fail within an hour, the monitoring charts, Download Mailbox Details.
CREATE TABLE sync_run (
    id           INTEGER PRIMARY KEY,
    mailbox_id   INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    workload     TEXT NOT NULL CHECK (workload IN ('incoming', 'outgoing', 'act')),
    started_on   TEXT NOT NULL,
    completed_on TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('success', 'transient', 'permanent')),
    items        INTEGER NOT NULL DEFAULT 0,
    failed_items INTEGER NOT NULL DEFAULT 0,
    error_code   TEXT NOT NULL DEFAULT '',
    runner       TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX sync_run_mailbox ON sync_run (mailbox_id, completed_on);
CREATE INDEX sync_run_completed ON sync_run (completed_on);

-- The desktop app runs the scheduler while its window is open, unless the organisation says not.
ALTER TABLE organization_settings ADD COLUMN sync_in_desktop_app INTEGER NOT NULL DEFAULT 1;
