-- Version 5: incoming email. Mail in an enabled mailbox's Inbox becomes an email activity with its
-- parties (resolved records or unresolved addresses), its attachments' descriptions and its raw
-- message; each mailbox keeps its sync cursor beside them, written in the same transaction as the
-- activities it covers. Messages that were not tracked are recorded per item with a reason.

-- Set blocked file extensions for attachments (System Settings › General), as Dynamics ships it.
ALTER TABLE organization_settings ADD COLUMN blocked_attachments TEXT NOT NULL DEFAULT
    'ade;adp;app;asa;ashx;asmx;asp;bas;bat;cdx;cer;chm;class;cmd;com;config;cpl;crt;csh;dll;exe;fxp;hlp;hta;htr;htw;ida;idc;idq;inf;ins;isp;its;jar;js;jse;ksh;lnk;mad;maf;mag;mam;maq;mar;mas;mat;mau;mav;maw;mda;mdb;mde;mdt;mdw;mdz;msc;msh;msh1;msh1xml;msh2;msh2xml;mshxml;msi;msp;mst;ops;pcd;pif;prf;prg;printer;pst;reg;rem;scf;scr;sct;shb;shs;shtm;shtml;soap;stm;tmp;url;vb;vbe;vbs;vsmacros;vss;vst;vsw;ws;wsc;wsf;wsh';
-- Tracking-token prefixes used before the current one: still recognised in subjects.
ALTER TABLE organization_settings ADD COLUMN previous_tracking_prefixes TEXT NOT NULL DEFAULT '';

CREATE TABLE email_activity (
    id                     INTEGER PRIMARY KEY,
    subject                TEXT NOT NULL DEFAULT '',
    sender                 TEXT NOT NULL DEFAULT '',
    direction              TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
    status                 TEXT NOT NULL
        CHECK (status IN ('draft', 'completed', 'sent', 'received', 'canceled', 'pending_send', 'sending', 'failed')),
    -- The Internet Message-ID as the message carries it, angle brackets included ('' when none).
    message_id             TEXT NOT NULL DEFAULT '',
    -- What duplicate detection compares (messageiddupcheck): the Message-ID without brackets, or a
    -- digest of the whole message when it has none.
    dedupe_key             TEXT NOT NULL,
    in_reply_to            TEXT NOT NULL DEFAULT '',
    references_ids         TEXT NOT NULL DEFAULT '',
    conversation_index     TEXT NOT NULL DEFAULT '',
    -- The first 22 bytes of the conversation index (hex): the same for every email of a thread.
    conversation_root      TEXT NOT NULL DEFAULT '',
    tracking_token         TEXT NOT NULL DEFAULT '',
    -- The subject without its reply/forward prefixes, lower-cased (smart matching).
    subject_key            TEXT NOT NULL DEFAULT '',
    correlation_method     TEXT NOT NULL DEFAULT 'none' CHECK (correlation_method IN
        ('none', 'skipped', 'x_header', 'in_reply_to', 'tracking_token', 'conversation_index', 'smart_matching', 'custom')),
    correlated_activity_id INTEGER REFERENCES email_activity (id) ON DELETE SET NULL,
    parent_activity_id     INTEGER REFERENCES email_activity (id) ON DELETE SET NULL,
    regarding_entity       TEXT CHECK (regarding_entity IN ('contact', 'account', 'lead')),
    regarding_id           INTEGER,
    receiving_mailbox_id   INTEGER REFERENCES mailbox (id) ON DELETE SET NULL,
    -- The user or queue whose filter accepted the email, and that filter.
    accepting_entity       TEXT CHECK (accepting_entity IN ('user', 'queue')),
    accepting_id           INTEGER,
    accepting_filter       TEXT,
    owner_user_id          INTEGER REFERENCES system_user (id) ON DELETE SET NULL,
    size_bytes             INTEGER NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    notifications          TEXT NOT NULL DEFAULT 'none'
        CHECK (notifications IN ('none', 'attachments_not_saved', 'truncated_body')),
    sent_on                TEXT,
    received_on            TEXT NOT NULL,
    created_on             TEXT NOT NULL,
    -- The large columns last: reading the others never walks their overflow pages.
    internet_headers       TEXT,
    body_text              TEXT NOT NULL DEFAULT '',
    body_html              TEXT NOT NULL DEFAULT '',
    UNIQUE (direction, dedupe_key),
    CHECK ((regarding_entity IS NULL) = (regarding_id IS NULL)),
    CHECK ((accepting_entity IS NULL) = (accepting_id IS NULL))
) STRICT;

CREATE INDEX email_activity_message_id ON email_activity (message_id) WHERE message_id <> '';
CREATE INDEX email_activity_tracking_token ON email_activity (tracking_token) WHERE tracking_token <> '';
CREATE INDEX email_activity_conversation_root ON email_activity (conversation_root) WHERE conversation_root <> '';
CREATE INDEX email_activity_subject_key ON email_activity (subject_key, received_on) WHERE subject_key <> '';
CREATE INDEX email_activity_received ON email_activity (received_on, id);
CREATE INDEX email_activity_mailbox ON email_activity (receiving_mailbox_id, received_on);

-- From, To, Cc and Bcc: one row per record an address resolved to, or one unresolved row.
CREATE TABLE activity_party (
    activity_id  INTEGER NOT NULL REFERENCES email_activity (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('from', 'to', 'cc', 'bcc')),
    position     INTEGER NOT NULL CHECK (position >= 0),
    address      TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    entity       TEXT CHECK (entity IN ('user', 'queue', 'contact', 'account', 'lead')),
    record_id    INTEGER,
    CHECK ((entity IS NULL) = (record_id IS NULL))
) STRICT;

CREATE INDEX activity_party_activity ON activity_party (activity_id, role, position);
CREATE INDEX activity_party_record ON activity_party (entity, record_id) WHERE entity IS NOT NULL;

-- The attachments of an email as found in its raw message (the content stays there): which were
-- not saved, and why.
CREATE TABLE email_attachment (
    activity_id      INTEGER NOT NULL REFERENCES email_activity (id) ON DELETE CASCADE,
    position         INTEGER NOT NULL CHECK (position >= 0),
    -- The MIME part's index in the message, to read the content back.
    part_index       INTEGER NOT NULL CHECK (part_index >= 0),
    file_name        TEXT NOT NULL DEFAULT '',
    mime_type        TEXT NOT NULL DEFAULT 'application/octet-stream',
    content_id       TEXT NOT NULL DEFAULT '',
    size_bytes       INTEGER NOT NULL CHECK (size_bytes >= 0),
    not_saved_reason TEXT CHECK (not_saved_reason IN ('blocked_extension', 'too_large')),
    PRIMARY KEY (activity_id, position)
) STRICT, WITHOUT ROWID;

-- Where the original message is kept, byte for byte ("download .eml"): a slice of a pack file
-- in the data directory's messages/ folder. A batch of messages is one pack, written and synced
-- before the transaction that refers to it commits.
CREATE TABLE email_raw (
    activity_id INTEGER PRIMARY KEY REFERENCES email_activity (id) ON DELETE CASCADE,
    pack        TEXT NOT NULL CHECK (length(pack) BETWEEN 1 AND 100),
    offset      INTEGER NOT NULL CHECK (offset >= 0),
    length      INTEGER NOT NULL CHECK (length >= 0)
) STRICT;

CREATE INDEX email_raw_pack ON email_raw (pack);

-- Every mailbox an email arrived in: the first one is the activity's receiving mailbox; the same
-- message in another mailbox adds a row, not an activity.
CREATE TABLE email_receipt (
    activity_id INTEGER NOT NULL REFERENCES email_activity (id) ON DELETE CASCADE,
    mailbox_id  INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    received_on TEXT NOT NULL,
    PRIMARY KEY (activity_id, mailbox_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX email_receipt_mailbox ON email_receipt (mailbox_id);

-- A queue's work list: one item per email an accepting queue received.
CREATE TABLE queue_item (
    id          INTEGER PRIMARY KEY,
    queue_id    INTEGER NOT NULL REFERENCES queue (id) ON DELETE CASCADE,
    activity_id INTEGER NOT NULL REFERENCES email_activity (id) ON DELETE CASCADE,
    created_on  TEXT NOT NULL,
    UNIQUE (queue_id, activity_id)
) STRICT;

CREATE INDEX queue_item_activity ON queue_item (activity_id);

-- Where each mailbox's incoming sync stands. IMAP: the Inbox's UIDVALIDITY and the last UID
-- handled (and HIGHESTMODSEQ and UIDNEXT, to see that nothing changed without listing).
-- The counters are the mailbox's "last sync" columns of Dynamics.
CREATE TABLE mailbox_sync_state (
    mailbox_id                INTEGER PRIMARY KEY REFERENCES mailbox (id) ON DELETE CASCADE,
    uid_validity              INTEGER,
    last_uid                  INTEGER NOT NULL DEFAULT 0 CHECK (last_uid >= 0),
    highest_modseq            INTEGER,
    uid_next                  INTEGER,
    -- The effective Process Email From the cursor was built under: an earlier date asks for a rescan.
    process_from              TEXT,
    last_sync_started_on      TEXT,
    last_sync_completed_on    TEXT,
    items_processed_last_sync INTEGER NOT NULL DEFAULT 0,
    items_failed_last_sync    INTEGER NOT NULL DEFAULT 0,
    no_email_count            INTEGER NOT NULL DEFAULT 0
) STRICT;

-- POP3: the messages (by UIDL) already handled, while they are still on the server; `tracked`
-- when an activity holds them (only those may be deleted from the server).
CREATE TABLE pop3_seen (
    mailbox_id INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    uidl       TEXT NOT NULL,
    tracked    INTEGER NOT NULL DEFAULT 0 CHECK (tracked IN (0, 1)),
    seen_on    TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, uidl)
) STRICT, WITHOUT ROWID;

-- Item-level monitoring: a message that was not tracked (skipped by the rules, or failed), with
-- what it was and why. One row per message of a mailbox; a later cycle overwrites it.
CREATE TABLE mail_item_outcome (
    id                     INTEGER PRIMARY KEY,
    mailbox_id             INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    -- 'imap:UIDVALIDITY:UID' or 'pop3:UIDL'
    server_ref             TEXT NOT NULL,
    outcome                TEXT NOT NULL CHECK (outcome IN ('skipped', 'failed')),
    code                   TEXT NOT NULL,
    params                 TEXT NOT NULL DEFAULT '{}',
    message_id             TEXT NOT NULL DEFAULT '',
    subject                TEXT NOT NULL DEFAULT '',
    moved_to_undeliverable INTEGER NOT NULL DEFAULT 0 CHECK (moved_to_undeliverable IN (0, 1)),
    occurred_on            TEXT NOT NULL,
    UNIQUE (mailbox_id, server_ref)
) STRICT;

CREATE INDEX mail_item_outcome_recent ON mail_item_outcome (occurred_on);
