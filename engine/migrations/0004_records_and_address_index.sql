-- Version 4: the records email resolves to besides users and queues (contacts, accounts, leads),
-- each with the three email-address columns of Dynamics, and one index of every address of every
-- email-enabled record, kept by triggers so that no write path can forget it.

CREATE TABLE contact (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name      TEXT NOT NULL DEFAULT '' CHECK (length(first_name) <= 50),
    last_name       TEXT NOT NULL CHECK (length(last_name) BETWEEN 1 AND 50),
    email_address_1 TEXT NOT NULL DEFAULT '' CHECK (length(email_address_1) <= 100),
    email_address_2 TEXT NOT NULL DEFAULT '' CHECK (length(email_address_2) <= 100),
    email_address_3 TEXT NOT NULL DEFAULT '' CHECK (length(email_address_3) <= 100),
    owner_user_id   INTEGER REFERENCES system_user (id) ON DELETE SET NULL,
    state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
    created_on      TEXT NOT NULL,
    modified_on     TEXT NOT NULL
) STRICT;

CREATE TABLE account (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 160),
    email_address_1 TEXT NOT NULL DEFAULT '' CHECK (length(email_address_1) <= 100),
    email_address_2 TEXT NOT NULL DEFAULT '' CHECK (length(email_address_2) <= 100),
    email_address_3 TEXT NOT NULL DEFAULT '' CHECK (length(email_address_3) <= 100),
    owner_user_id   INTEGER REFERENCES system_user (id) ON DELETE SET NULL,
    state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
    created_on      TEXT NOT NULL,
    modified_on     TEXT NOT NULL
) STRICT;

CREATE TABLE lead (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name      TEXT NOT NULL DEFAULT '' CHECK (length(first_name) <= 50),
    last_name       TEXT NOT NULL CHECK (length(last_name) BETWEEN 1 AND 50),
    company_name    TEXT NOT NULL DEFAULT '' CHECK (length(company_name) <= 100),
    email_address_1 TEXT NOT NULL DEFAULT '' CHECK (length(email_address_1) <= 100),
    email_address_2 TEXT NOT NULL DEFAULT '' CHECK (length(email_address_2) <= 100),
    email_address_3 TEXT NOT NULL DEFAULT '' CHECK (length(email_address_3) <= 100),
    owner_user_id   INTEGER REFERENCES system_user (id) ON DELETE SET NULL,
    state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
    created_on      TEXT NOT NULL,
    modified_on     TEXT NOT NULL
) STRICT;

-- Every address of every email-enabled record, lower-cased and trimmed: resolving an address is
-- one lookup on the primary key, however many records there are.
CREATE TABLE email_address_index (
    address   TEXT NOT NULL,
    entity    TEXT NOT NULL CHECK (entity IN ('user', 'queue', 'contact', 'account', 'lead')),
    record_id INTEGER NOT NULL,
    PRIMARY KEY (address, entity, record_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX email_address_index_record ON email_address_index (entity, record_id);

-- Users and queues: one address each.
CREATE TRIGGER system_user_address_insert AFTER INSERT ON system_user
WHEN trim(NEW.primary_email) <> '' BEGIN
    INSERT OR IGNORE INTO email_address_index VALUES (lower(trim(NEW.primary_email)), 'user', NEW.id);
END;
CREATE TRIGGER system_user_address_update AFTER UPDATE OF primary_email ON system_user BEGIN
    DELETE FROM email_address_index WHERE entity = 'user' AND record_id = OLD.id;
    INSERT OR IGNORE INTO email_address_index
        SELECT lower(trim(NEW.primary_email)), 'user', NEW.id WHERE trim(NEW.primary_email) <> '';
END;
CREATE TRIGGER system_user_address_delete AFTER DELETE ON system_user BEGIN
    DELETE FROM email_address_index WHERE entity = 'user' AND record_id = OLD.id;
END;

CREATE TRIGGER queue_address_insert AFTER INSERT ON queue
WHEN trim(NEW.email_address) <> '' BEGIN
    INSERT OR IGNORE INTO email_address_index VALUES (lower(trim(NEW.email_address)), 'queue', NEW.id);
END;
CREATE TRIGGER queue_address_update AFTER UPDATE OF email_address ON queue BEGIN
    DELETE FROM email_address_index WHERE entity = 'queue' AND record_id = OLD.id;
    INSERT OR IGNORE INTO email_address_index
        SELECT lower(trim(NEW.email_address)), 'queue', NEW.id WHERE trim(NEW.email_address) <> '';
END;
CREATE TRIGGER queue_address_delete AFTER DELETE ON queue BEGIN
    DELETE FROM email_address_index WHERE entity = 'queue' AND record_id = OLD.id;
END;

-- Contacts, accounts and leads: up to three addresses each.
CREATE TRIGGER contact_address_insert AFTER INSERT ON contact BEGIN
    INSERT OR IGNORE INTO email_address_index
        SELECT lower(trim(a)), 'contact', NEW.id
        FROM (SELECT NEW.email_address_1 AS a UNION ALL SELECT NEW.email_address_2 UNION ALL SELECT NEW.email_address_3)
        WHERE trim(a) <> '';
END;
CREATE TRIGGER contact_address_update AFTER UPDATE OF email_address_1, email_address_2, email_address_3 ON contact BEGIN
    DELETE FROM email_address_index WHERE entity = 'contact' AND record_id = OLD.id;
    INSERT OR IGNORE INTO email_address_index
        SELECT lower(trim(a)), 'contact', NEW.id
        FROM (SELECT NEW.email_address_1 AS a UNION ALL SELECT NEW.email_address_2 UNION ALL SELECT NEW.email_address_3)
        WHERE trim(a) <> '';
END;
CREATE TRIGGER contact_address_delete AFTER DELETE ON contact BEGIN
    DELETE FROM email_address_index WHERE entity = 'contact' AND record_id = OLD.id;
END;

CREATE TRIGGER account_address_insert AFTER INSERT ON account BEGIN
    INSERT OR IGNORE INTO email_address_index
        SELECT lower(trim(a)), 'account', NEW.id
        FROM (SELECT NEW.email_address_1 AS a UNION ALL SELECT NEW.email_address_2 UNION ALL SELECT NEW.email_address_3)
        WHERE trim(a) <> '';
END;
CREATE TRIGGER account_address_update AFTER UPDATE OF email_address_1, email_address_2, email_address_3 ON account BEGIN
    DELETE FROM email_address_index WHERE entity = 'account' AND record_id = OLD.id;
    INSERT OR IGNORE INTO email_address_index
        SELECT lower(trim(a)), 'account', NEW.id
        FROM (SELECT NEW.email_address_1 AS a UNION ALL SELECT NEW.email_address_2 UNION ALL SELECT NEW.email_address_3)
        WHERE trim(a) <> '';
END;
CREATE TRIGGER account_address_delete AFTER DELETE ON account BEGIN
    DELETE FROM email_address_index WHERE entity = 'account' AND record_id = OLD.id;
END;

CREATE TRIGGER lead_address_insert AFTER INSERT ON lead BEGIN
    INSERT OR IGNORE INTO email_address_index
        SELECT lower(trim(a)), 'lead', NEW.id
        FROM (SELECT NEW.email_address_1 AS a UNION ALL SELECT NEW.email_address_2 UNION ALL SELECT NEW.email_address_3)
        WHERE trim(a) <> '';
END;
CREATE TRIGGER lead_address_update AFTER UPDATE OF email_address_1, email_address_2, email_address_3 ON lead BEGIN
    DELETE FROM email_address_index WHERE entity = 'lead' AND record_id = OLD.id;
    INSERT OR IGNORE INTO email_address_index
        SELECT lower(trim(a)), 'lead', NEW.id
        FROM (SELECT NEW.email_address_1 AS a UNION ALL SELECT NEW.email_address_2 UNION ALL SELECT NEW.email_address_3)
        WHERE trim(a) <> '';
END;
CREATE TRIGGER lead_address_delete AFTER DELETE ON lead BEGIN
    DELETE FROM email_address_index WHERE entity = 'lead' AND record_id = OLD.id;
END;

-- The users and queues that exist already.
INSERT OR IGNORE INTO email_address_index
    SELECT lower(trim(primary_email)), 'user', id FROM system_user WHERE trim(primary_email) <> '';
INSERT OR IGNORE INTO email_address_index
    SELECT lower(trim(email_address)), 'queue', id FROM queue WHERE trim(email_address) <> '';

CREATE INDEX contact_state_name ON contact (state, last_name COLLATE NOCASE);
CREATE INDEX account_state_name ON account (state, name COLLATE NOCASE);
CREATE INDEX lead_state_name ON lead (state, last_name COLLATE NOCASE);
