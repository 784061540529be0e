-- ServerSync schema, version 1: the organisation's email configuration.
-- Append-only: never edit a migration that has shipped; add the next one.
-- Secrets are never stored here: only is_*_set flags. They live in the OS keychain.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE system_user (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    full_name                 TEXT NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    primary_email             TEXT NOT NULL DEFAULT '',
    can_approve_email         INTEGER NOT NULL DEFAULT 0 CHECK (can_approve_email IN (0, 1)),
    incoming_filtering_method TEXT NOT NULL DEFAULT 'responses_to_crm_email',
    state                     TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
    created_on                TEXT NOT NULL,
    modified_on               TEXT NOT NULL
) STRICT;

CREATE TABLE queue (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    name                      TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email_address             TEXT NOT NULL DEFAULT '',
    owner_user_id             INTEGER REFERENCES system_user (id) ON DELETE SET NULL,
    incoming_filtering_method TEXT NOT NULL DEFAULT 'all_email',
    state                     TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
    created_on                TEXT NOT NULL,
    modified_on               TEXT NOT NULL
) STRICT;

CREATE TABLE email_server_profile (
    id                             INTEGER PRIMARY KEY AUTOINCREMENT,
    name                           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description                    TEXT NOT NULL DEFAULT '',
    server_type                    TEXT NOT NULL
        CHECK (server_type IN ('exchange_online', 'exchange_server', 'imap_smtp', 'pop3_smtp')),
    owner_user_id                  INTEGER REFERENCES system_user (id) ON DELETE SET NULL,
    state                          TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
    tenant_id                      TEXT NOT NULL DEFAULT '',
    oauth_client_id                TEXT NOT NULL DEFAULT '',
    oauth_credential_kind          TEXT,
    server_authority               TEXT,
    aad_resource_id                TEXT NOT NULL DEFAULT '',
    use_autodiscover               INTEGER NOT NULL DEFAULT 0,
    incoming_location              TEXT NOT NULL DEFAULT '',
    outgoing_location              TEXT NOT NULL DEFAULT '',
    incoming_credential_mode       TEXT NOT NULL,
    incoming_user_name             TEXT NOT NULL DEFAULT '',
    incoming_use_impersonation     INTEGER NOT NULL DEFAULT 0,
    use_same_settings_for_outgoing INTEGER NOT NULL DEFAULT 1,
    outgoing_credential_mode       TEXT NOT NULL,
    outgoing_user_name             TEXT NOT NULL DEFAULT '',
    outgoing_use_impersonation     INTEGER NOT NULL DEFAULT 0,
    incoming_port                  INTEGER CHECK (incoming_port BETWEEN 1 AND 65535),
    outgoing_port                  INTEGER CHECK (outgoing_port BETWEEN 1 AND 65535),
    incoming_use_ssl               INTEGER NOT NULL DEFAULT 1,
    outgoing_use_ssl               INTEGER NOT NULL DEFAULT 1,
    incoming_tls_mode              TEXT,
    outgoing_tls_mode              TEXT,
    incoming_auth_protocol         TEXT NOT NULL DEFAULT 'auto_detect',
    outgoing_auth_protocol         TEXT NOT NULL DEFAULT 'auto_detect',
    ca_file                        TEXT NOT NULL DEFAULT '',
    process_email_from             TEXT,
    min_polling_interval_minutes   INTEGER NOT NULL DEFAULT 0 CHECK (min_polling_interval_minutes BETWEEN 0 AND 1440),
    max_concurrent_connections     INTEGER NOT NULL DEFAULT 10 CHECK (max_concurrent_connections BETWEEN 1 AND 300),
    move_failed_to_undeliverable   INTEGER NOT NULL DEFAULT 0,
    send_alert_email               INTEGER NOT NULL DEFAULT 0,
    timeout_mailbox_connection     INTEGER NOT NULL DEFAULT 1,
    timeout_seconds                INTEGER NOT NULL DEFAULT 60 CHECK (timeout_seconds BETWEEN 1 AND 100),
    is_incoming_password_set       INTEGER NOT NULL DEFAULT 0,
    is_outgoing_password_set       INTEGER NOT NULL DEFAULT 0,
    is_oauth_secret_set            INTEGER NOT NULL DEFAULT 0,
    last_test_started_on           TEXT,
    last_test_duration_ms          INTEGER,
    last_test_execution_status     TEXT,
    last_authorization_status      INTEGER,
    last_test_message              TEXT NOT NULL DEFAULT '',
    created_on                     TEXT NOT NULL,
    modified_on                    TEXT NOT NULL
) STRICT;

CREATE TABLE mailbox (
    id                                 INTEGER PRIMARY KEY AUTOINCREMENT,
    name                               TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    owner_user_id                      INTEGER REFERENCES system_user (id) ON DELETE SET NULL,
    email_address                      TEXT NOT NULL DEFAULT '',
    delete_after_processing            INTEGER NOT NULL DEFAULT 0,
    user_id                            INTEGER UNIQUE REFERENCES system_user (id) ON DELETE CASCADE,
    queue_id                           INTEGER UNIQUE REFERENCES queue (id) ON DELETE CASCADE,
    is_forward_mailbox                 INTEGER NOT NULL DEFAULT 0,
    allow_credentials                  INTEGER NOT NULL DEFAULT 0,
    user_name                          TEXT NOT NULL DEFAULT '',
    is_password_set                    INTEGER NOT NULL DEFAULT 0,
    profile_id                         INTEGER REFERENCES email_server_profile (id) ON DELETE SET NULL,
    incoming_method                    TEXT NOT NULL DEFAULT 'none',
    outgoing_method                    TEXT NOT NULL DEFAULT 'none',
    act_method                         TEXT NOT NULL DEFAULT 'none',
    incoming_status                    TEXT NOT NULL DEFAULT 'not_run',
    outgoing_status                    TEXT NOT NULL DEFAULT 'not_run',
    act_status                         TEXT NOT NULL DEFAULT 'not_run',
    test_completed_on                  TEXT,
    test_and_enable_last_attempted_on  TEXT,
    email_address_status               TEXT NOT NULL DEFAULT 'empty'
        CHECK (email_address_status IN ('empty', 'approved', 'pending_approval', 'rejected')),
    approved_by_user_id                INTEGER REFERENCES system_user (id) ON DELETE SET NULL,
    approved_by_administrator          INTEGER NOT NULL DEFAULT 0,
    approved_on                        TEXT,
    enabled_for_incoming               INTEGER NOT NULL DEFAULT 0,
    enabled_for_outgoing               INTEGER NOT NULL DEFAULT 0,
    enabled_for_act                    INTEGER NOT NULL DEFAULT 0,
    process_email_received_after       TEXT,
    state                              TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
    created_on                         TEXT NOT NULL,
    modified_on                        TEXT NOT NULL,
    CHECK (user_id IS NULL OR queue_id IS NULL),
    CHECK (is_forward_mailbox = (user_id IS NULL AND queue_id IS NULL))
) STRICT;

CREATE INDEX mailbox_profile ON mailbox (profile_id);
CREATE INDEX mailbox_state_name ON mailbox (state, name);

CREATE TABLE organization_settings (
    id                                            INTEGER PRIMARY KEY CHECK (id = 1),
    process_email_using                           TEXT NOT NULL,
    default_profile_id                            INTEGER REFERENCES email_server_profile (id) ON DELETE SET NULL,
    default_incoming_method                       TEXT NOT NULL,
    default_outgoing_method                       TEXT NOT NULL,
    default_act_method                            TEXT NOT NULL,
    require_approval_for_user_email               INTEGER NOT NULL,
    require_approval_for_queue_email              INTEGER NOT NULL,
    require_privilege_to_self_approve             INTEGER NOT NULL,
    allow_credentials_over_insecure_channels      INTEGER NOT NULL,
    sync_irm_emails                               INTEGER NOT NULL,
    allow_delete_appointments_on_ownership_change INTEGER NOT NULL,
    folder_level_tracking_enabled                 INTEGER NOT NULL,
    max_folder_tracking_mappings                  INTEGER NOT NULL,
    email_correlation_enabled                     INTEGER NOT NULL,
    use_tracking_tokens                           INTEGER NOT NULL,
    tracking_prefix                               TEXT NOT NULL,
    tracking_token_base                           INTEGER NOT NULL,
    tracking_user_digits                          INTEGER NOT NULL,
    tracking_counter_digits                       INTEGER NOT NULL,
    smart_matching_enabled                        INTEGER NOT NULL,
    hash_filter_keywords                          TEXT NOT NULL,
    hash_max_count                                INTEGER NOT NULL,
    hash_delta_subject_count                      INTEGER NOT NULL,
    hash_min_address_count                        INTEGER NOT NULL,
    track_categorized_items                       INTEGER NOT NULL,
    auto_track_sent_items                         INTEGER NOT NULL,
    track_internal_email_as_two_activities        INTEGER NOT NULL,
    render_secure_frames                          INTEGER NOT NULL,
    allow_unresolved_recipients_on_send           INTEGER NOT NULL,
    unresolve_if_multiple_matches                 INTEGER NOT NULL,
    resolve_similar_unresolved_addresses          INTEGER NOT NULL,
    max_attachment_size_kb                        INTEGER NOT NULL,
    alerts_for_errors                             INTEGER NOT NULL,
    alerts_for_warnings                           INTEGER NOT NULL,
    alerts_for_information                        INTEGER NOT NULL,
    notify_mailbox_owner                          INTEGER NOT NULL,
    sync_appointment_attachments                  INTEGER NOT NULL,
    sync_contact_mailing_address_only             INTEGER NOT NULL,
    sync_assigned_tasks                           INTEGER NOT NULL,
    modified_on                                   TEXT NOT NULL
) STRICT;

CREATE TABLE alert (
    id                   INTEGER PRIMARY KEY,
    level                TEXT NOT NULL CHECK (level IN ('information', 'warning', 'error')),
    code                 TEXT NOT NULL,
    params               TEXT NOT NULL DEFAULT '{}',
    regarding_profile_id INTEGER REFERENCES email_server_profile (id) ON DELETE CASCADE,
    regarding_mailbox_id INTEGER REFERENCES mailbox (id) ON DELETE CASCADE,
    first_seen           TEXT NOT NULL,
    last_seen            TEXT NOT NULL,
    count                INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
    CHECK ((regarding_profile_id IS NULL) <> (regarding_mailbox_id IS NULL))
) STRICT;

CREATE UNIQUE INDEX alert_once_per_regarding_and_code
    ON alert (coalesce(regarding_profile_id, 0), coalesce(regarding_mailbox_id, 0), code);
CREATE INDEX alert_level_last_seen ON alert (level, last_seen);
