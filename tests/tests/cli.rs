//! The `serversync` command, as an administrator uses it. Needs a real Secret Service
//! (scripts/test.sh starts gnome-keyring in a private D-Bus session).

use serversync::DATABASE_FILE;
use serversync_tests::{cli_json, contains, count_rows, database_bytes, row_snapshot, run_cli};

const PASSWORD: &str = "Pässwörd-7f3a9c-Δ-unique";

#[test]
fn imap_profile_user_credentials_approval_and_no_password_in_the_database() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();

    let profile = cli_json(
        data,
        &[
            "profile",
            "create",
            "--type",
            "imap-smtp",
            "--name",
            "Contoso IMAP",
            "--default",
            "--set",
            "incoming_location=imap.contoso.test",
            "--set",
            "outgoing_location=smtp.contoso.test",
        ],
        None,
    );
    assert_eq!(profile["server_type"], "imap_smtp");
    assert_eq!(profile["incoming_port"], 993, "default port filled on save");
    assert_eq!(profile["outgoing_port"], 587, "default port filled on save");
    let profile_id = profile["id"].as_i64().unwrap_or_default();

    let user = cli_json(data, &["user", "create", "--name", "Nancy Anderson", "--email", "nancy@contoso.test"], None);
    let mailbox_id = user["mailbox_id"].as_i64().unwrap_or_else(|| panic!("the user has no mailbox: {user}"));

    let mailbox = cli_json(data, &["mailbox", "show", &mailbox_id.to_string()], None);
    assert_eq!(mailbox["email_address"], "nancy@contoso.test", "mailbox address = user address");
    assert_eq!(mailbox["profile_id"], profile_id, "organisation default profile");
    assert_eq!(mailbox["incoming_method"], "server_side_sync", "organisation default incoming method");
    assert_eq!(mailbox["outgoing_method"], "server_side_sync", "organisation default outgoing method");
    assert_eq!(mailbox["act_method"], "none", "organisation default ACT method");
    assert_eq!(mailbox["email_address_status"], "pending_approval");
    assert_eq!(mailbox["is_password_set"], false);

    let with_creds = cli_json(
        data,
        &["mailbox", "set-credentials", &mailbox_id.to_string(), "--user-name", "nancy", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(with_creds["is_password_set"], true);
    assert_eq!(with_creds["allow_credentials"], true);
    assert!(!with_creds.to_string().contains(PASSWORD), "the reply carries the password");

    let approved = cli_json(data, &["mailbox", "approve", &mailbox_id.to_string()], None);
    assert_eq!(approved[0]["email_address_status"], "approved");
    assert_eq!(approved[0]["approved_by_administrator"], true);

    let list = cli_json(data, &["mailbox", "list"], None);
    let rows = list.as_array().unwrap_or_else(|| panic!("not a list: {list}"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["email_address_status"], "approved");
    assert_eq!(rows[0]["kind"], "user");
    assert!(!list.to_string().contains(PASSWORD));

    let bytes = database_bytes(&data.join(DATABASE_FILE));
    assert!(bytes.len() > 4096, "the database was not found");
    assert!(!contains(&bytes, PASSWORD.as_bytes()), "the password is in the SQLite files");
    assert!(!contains(&bytes, "7f3a9c".as_bytes()), "part of the password is in the SQLite files");
    assert!(contains(&bytes, b"nancy@contoso.test"), "the search can see what the database holds");

    // Replacing the password works; clearing removes the flag.
    let replaced = cli_json(
        data,
        &["mailbox", "set-credentials", &mailbox_id.to_string(), "--user-name", "nancy", "--password-stdin"],
        Some("another-secret"),
    );
    assert_eq!(replaced["is_password_set"], true);
    let cleared = cli_json(data, &["mailbox", "clear-credentials", &mailbox_id.to_string()], None);
    assert_eq!(cleared["is_password_set"], false);
}

#[test]
fn act_by_server_side_sync_on_a_pop3_mailbox_is_refused_with_its_code_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    cli_json(
        data,
        &[
            "profile",
            "create",
            "--type",
            "pop3-smtp",
            "--name",
            "Contoso POP3",
            "--default",
            "--set",
            "incoming_location=pop.contoso.test",
            "--set",
            "outgoing_location=smtp.contoso.test",
        ],
        None,
    );
    let user = cli_json(data, &["user", "create", "--name", "Alan Steiner", "--email", "alan@contoso.test"], None);
    let id = user["mailbox_id"].as_i64().unwrap_or_default();
    let db = data.join(DATABASE_FILE);
    let before = row_snapshot(&db, "mailbox", id);

    let out =
        run_cli(data, &["--json", "mailbox", "update", &id.to_string(), "--set", "act_method=server_side_sync"], None);
    assert_eq!(out.status.code(), Some(2), "validation errors exit with 2");
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(err["error"]["code"], "mailbox.act.not_supported_for_server_type");
    assert_eq!(err["error"]["params"]["server_type"], "pop3_smtp");
    assert!(err["error"]["message"].as_str().unwrap_or_default().contains("POP3/SMTP"), "{err}");
    assert_eq!(row_snapshot(&db, "mailbox", id), before, "the refused change was written");

    // The same refusal in a person's words, in French.
    let out = run_cli(
        data,
        &["--lang", "fr", "mailbox", "update", &id.to_string(), "--set", "act_method=server_side_sync"],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[mailbox.act.not_supported_for_server_type]"), "{stderr}");
    assert!(!stderr.contains("cannot be synchronized"), "the message is still English: {stderr}");
    assert_eq!(row_snapshot(&db, "mailbox", id), before);
}

#[test]
fn invalid_input_exits_non_zero_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    // Opening creates the database; count what a fresh one holds.
    cli_json(data, &["profile", "list"], None);
    let db = data.join(DATABASE_FILE);
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &[
                "profile",
                "create",
                "--type",
                "imap-smtp",
                "--name",
                "X",
                "--set",
                "max_concurrent_connections=301",
                "--set",
                "incoming_location=a.test",
                "--set",
                "outgoing_location=b.test",
            ],
            2,
            "field.out_of_range",
        ),
        (
            &[
                "profile",
                "create",
                "--type",
                "exchange-online",
                "--name",
                "X",
                "--set",
                "incoming_credential_mode=profile",
            ],
            2,
            "profile.exchange_online.oauth_only",
        ),
        (
            &[
                "profile",
                "create",
                "--type",
                "imap-smtp",
                "--name",
                "X",
                "--set",
                "incoming_credential_mode=anonymous",
                "--set",
                "incoming_location=a.test",
                "--set",
                "outgoing_location=b.test",
            ],
            2,
            "profile.credentials.anonymous_not_valid",
        ),
        (&["profile", "create", "--type", "carrier-pigeon", "--name", "X"], 2, "value.not_in_option_set"),
        (
            &["profile", "create", "--type", "imap-smtp", "--name", "X", "--set", "no_such_field=1"],
            2,
            "cli.invalid_input",
        ),
        (&["user", "create", "--name", "Bad", "--email", "not an address"], 2, "field.not_an_email"),
        (&["mailbox", "show", "99"], 3, "record.not_found"),
    ];
    for (args, code, error) in cases {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = run_cli(data, &all, None);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        assert_eq!(v["error"]["code"], *error, "{args:?}");
    }
    assert_eq!(count_rows(&db, "email_server_profile"), 0);
    assert_eq!(count_rows(&db, "system_user"), 0);
    assert_eq!(count_rows(&db, "mailbox"), 0);
}

#[test]
fn a_password_is_never_taken_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = run_cli(dir.path(), &["mailbox", "set-credentials", "1", "--user-name", "u", "--password", "x"], None);
    assert!(!out.status.success(), "a --password flag was accepted");
    // Without --password-stdin and without a terminal, the command says how to pass it.
    let user = cli_json(dir.path(), &["user", "create", "--name", "U", "--email", "u@contoso.test"], None);
    let id = user["mailbox_id"].as_i64().unwrap_or_default().to_string();
    let out = run_cli(dir.path(), &["--json", "mailbox", "set-credentials", &id, "--user-name", "u"], None);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(v["error"]["code"], "cli.password_stdin_required");
}

#[test]
fn views_active_inactive_and_my_active_mailboxes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    let a = cli_json(data, &["user", "create", "--name", "Ann", "--email", "ann@contoso.test"], None);
    let b = cli_json(data, &["user", "create", "--name", "Bob", "--email", "bob@contoso.test"], None);
    cli_json(
        data,
        &["queue", "create", "--name", "Support", "--email", "support@contoso.test", "--owner", &a["id"].to_string()],
        None,
    );
    cli_json(data, &["user", "deactivate", &b["id"].to_string()], None);
    let names = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|m| m["name"].as_str().unwrap_or_default().to_owned()).collect())
            .unwrap_or_default()
    };
    assert_eq!(names(cli_json(data, &["mailbox", "list"], None)), ["Ann", "Support"]);
    assert_eq!(names(cli_json(data, &["mailbox", "list", "--view", "inactive"], None)), ["Bob"]);
    assert_eq!(
        names(cli_json(data, &["mailbox", "list", "--view", "my-active", "--owner", &a["id"].to_string()], None)),
        ["Ann", "Support"]
    );
    assert_eq!(names(cli_json(data, &["mailbox", "list", "--view", "all", "--search", "BO"], None)), ["Bob"]);
}

/// Test Connection and Test & Enable from the command line, against the real local servers:
/// steps as a table (or JSON), progress on standard error, exit code 6 when something failed.
#[test]
fn test_connection_and_test_enable_against_real_servers() {
    use serversync_tests::mail::MailServers;
    let servers = MailServers::start(&[("alice", "alice-pass"), ("bob", "bob-pass")]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    let ca = format!("ca_file={}", servers.ca_file());
    let imaps = format!("incoming_port={}", servers.port("IMAPS_PORT"));
    let smtp = format!("outgoing_port={}", servers.port("SMTP_PORT"));
    let profile = cli_json(
        data,
        &[
            "profile",
            "create",
            "--type",
            "imap-smtp",
            "--name",
            "Loopback",
            "--default",
            "--set",
            "incoming_location=localhost",
            "--set",
            "outgoing_location=localhost",
            "--set",
            &imaps,
            "--set",
            &smtp,
            "--set",
            &ca,
            "--set",
            "timeout_seconds=5",
        ],
        None,
    );
    let pid = profile["id"].to_string();

    // Mailboxes bring their own credentials: Test Connection goes as far as the greeting.
    let steps = cli_json(data, &["profile", "test-connection", &pid], None);
    let kinds: Vec<String> = steps
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| format!("{}/{}", s["direction"], s["kind"]).replace('"', ""))
        .collect();
    assert!(
        kinds.contains(&"incoming/tls".to_owned()) && kinds.contains(&"outgoing/start_tls".to_owned()),
        "{kinds:?}"
    );
    assert!(steps.as_array().into_iter().flatten().all(|s| s["outcome"] == "success"), "{steps}");

    let mut mailboxes = Vec::new();
    for (user, password) in [("alice", "alice-pass"), ("bob", "wrong-password")] {
        let u = cli_json(data, &["user", "create", "--name", user, "--email", &format!("{user}@localhost")], None);
        let id = u["mailbox_id"].to_string();
        cli_json(data, &["mailbox", "set-credentials", &id, "--user-name", user, "--password-stdin"], Some(password));
        cli_json(data, &["mailbox", "approve", &id], None);
        mailboxes.push(id);
    }
    let mut args = vec!["--json", "mailbox", "test-enable"];
    args.extend(mailboxes.iter().map(String::as_str));
    let out = run_cli(data, &args, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "one mailbox failed: {stderr}");
    assert!(stderr.contains("[2/2]"), "progress is shown mailbox by mailbox: {stderr}");
    assert!(stderr.contains("refused the user name or password of the mailbox bob"), "{stderr}");
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let states: Vec<(String, String)> = items
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["mailbox_name"].as_str().unwrap_or_default().to_owned(),
                i["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(states, vec![("alice".to_owned(), "success".to_owned()), ("bob".to_owned(), "failure".to_owned())]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("wrong-password") && !stderr.contains("wrong-password"));

    // In French, the reason is given in French.
    cli_json(data, &["mailbox", "reject", &mailboxes[1]], None);
    let out = run_cli(data, &["--lang", "fr", "mailbox", "test-enable", &mailboxes[1]], None);
    assert_eq!(out.status.code(), Some(6));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("n'est pas approuvée"), "{stderr}");
}

/// Ctrl-C during `mailbox test-enable` cancels the mailboxes not yet tested; the one being
/// tested finishes and records its result, and the command reports every mailbox.
#[test]
fn ctrl_c_cancels_the_mailboxes_not_yet_tested() {
    // A server that accepts connections and never answers: each test lasts the whole timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = silent.local_addr().map(|a| a.port()).unwrap_or_default();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for s in silent.incoming().flatten() {
            open.push(s);
        }
    });
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    let (inp, outp) = (format!("incoming_port={port}"), format!("outgoing_port={port}"));
    cli_json(
        data,
        &[
            "profile",
            "create",
            "--type",
            "imap-smtp",
            "--name",
            "Silent",
            "--default",
            "--set",
            "incoming_location=localhost",
            "--set",
            "outgoing_location=localhost",
            "--set",
            &inp,
            "--set",
            &outp,
            "--set",
            "timeout_seconds=5",
            "--set",
            "max_concurrent_connections=1",
        ],
        None,
    );
    let mut ids = Vec::new();
    for i in 0..3 {
        let u = cli_json(
            data,
            &["user", "create", "--name", &format!("user{i}"), "--email", &format!("user{i}@localhost")],
            None,
        );
        let id = u["mailbox_id"].to_string();
        cli_json(data, &["mailbox", "set-credentials", &id, "--user-name", "u", "--password-stdin"], Some("pw"));
        cli_json(data, &["mailbox", "approve", &id], None);
        ids.push(id);
    }
    let mut cmd = std::process::Command::new(serversync_tests::serversync_bin());
    cmd.arg("--data-dir").arg(data).args(["--json", "mailbox", "test-enable"]).args(&ids);
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("{e}"));
    // Interrupted while the first mailbox is being tested (as its job says), however slowly the
    // command started.
    let db = data.join(serversync::DATABASE_FILE);
    let testing = || {
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| {
                c.query_row("SELECT count(*) FROM async_job_item WHERE state = 'testing'", [], |r| r.get::<_, i64>(0))
            })
            .unwrap_or(0)
            > 0
    };
    let t0 = std::time::Instant::now();
    while !testing() && t0.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(testing(), "a mailbox is being tested");
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    assert!(kill.is_ok_and(|s| s.success()));
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("Cancelling"), "{stderr}");
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let states: Vec<&str> = items.as_array().into_iter().flatten().filter_map(|i| i["state"].as_str()).collect();
    assert_eq!(states.iter().filter(|s| **s == "cancelled").count(), 2, "{states:?}");
    assert_eq!(states.iter().filter(|s| **s == "failure").count(), 1, "the one being tested finished: {states:?}");
    assert!(!states.contains(&"testing"), "{states:?}");
}

#[test]
fn contacts_are_imported_from_csv_all_or_none_and_a_refused_row_is_named_by_its_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let csv = dir.path().join("contacts.csv");
    std::fs::write(
        &csv,
        "first_name,last_name,email_address_1\nYui,Nakamura,yui@fabrikam.com\nLan,Trần,lan@example.vn\nPierre,Martin,not-an-address\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = run_cli(&data, &["contact", "import", &csv.to_string_lossy()], None);
    assert_eq!(out.status.code(), Some(2), "a refused row is refused input");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Line 4") && stderr.contains("not-an-address"), "{stderr}");
    let listed = cli_json(&data, &["contact", "list"], None);
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "no row of the refused file was written");

    std::fs::write(
        &csv,
        "first_name,last_name,email_address_1\nYui,Nakamura,yui@fabrikam.com\nLan,Trần,lan@example.vn\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let imported = cli_json(&data, &["contact", "import", &csv.to_string_lossy()], None);
    assert_eq!(imported["imported"], 2);
    let listed = cli_json(&data, &["contact", "list"], None);
    let names: Vec<&str> = listed.as_array().into_iter().flatten().filter_map(|c| c["last_name"].as_str()).collect();
    assert_eq!(names, vec!["Nakamura", "Trần"]);
    // An unknown column is refused before anything is read.
    std::fs::write(&csv, "last_name,shoe_size\nX,42\n").unwrap_or_else(|e| panic!("{e}"));
    let out = run_cli(&data, &["--lang", "fr", "contact", "import", &csv.to_string_lossy()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shoe_size"));
}

#[test]
fn a_dry_run_lists_what_would_be_tracked_and_why_and_writes_nothing() {
    use serversync_tests::mail::{MailServers, deliver};
    let servers = MailServers::start(&[("dry", "dry-pass")]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    serversync_tests::cli_profile(data, &servers, "imap-smtp", "IMAPS_PORT", &[]);
    let u = cli_json(data, &["user", "create", "--name", "Dry", "--email", "dry@localhost"], None);
    let id = u["mailbox_id"].to_string();
    cli_json(data, &["user", "update", &u["id"].to_string(), "--set", "incoming_filtering_method=all_email"], None);
    cli_json(data, &["mailbox", "set-credentials", &id, "--user-name", "dry", "--password-stdin"], Some("dry-pass"));
    cli_json(data, &["mailbox", "approve", &id], None);
    for i in 0..2 {
        let m = format!(
            "From: a@example.org\r\nTo: dry@localhost\r\nSubject: Dry {i}\r\nMessage-ID: <dry-{i}@example.org>\r\n\r\nx\r\n"
        );
        deliver(&servers, "a@example.org", &["dry@localhost"], m.as_bytes());
    }
    let out = run_cli(data, &["mailbox", "sync", &id, "--dry-run"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("Dry 0") && table.contains("Dry 1") && table.contains("tracked"), "{table}");
    assert!(table.contains("accepted by user"), "the why is listed: {table}");
    let db = data.join(serversync::DATABASE_FILE);
    assert_eq!(count_rows(&db, "email_activity"), 0, "a dry run writes no activity");
    assert_eq!(count_rows(&db, "mailbox_sync_state"), 0, "nor a cursor");
    // Not tested and enabled: a real cycle is refused with its reason and exit code 2.
    let out = run_cli(data, &["mailbox", "sync", &id], None);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Test & Enable"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn an_email_written_with_the_command_is_sent_with_its_attachment() {
    use serversync_tests::mail::{MailServers, inbox_subjects, wait_for_subject};
    let servers = MailServers::start(&[("alice", "alice-pass"), ("ext", "ext-pass")]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    serversync_tests::cli_profile(&data, &servers, "imap-smtp", "IMAPS_PORT", &[]);
    let u = cli_json(&data, &["user", "create", "--name", "Alice", "--email", "alice@localhost"], None);
    let mailbox = u["mailbox_id"].to_string();
    cli_json(
        &data,
        &["mailbox", "set-credentials", &mailbox, "--user-name", "alice", "--password-stdin"],
        Some("alice-pass"),
    );
    cli_json(&data, &["mailbox", "approve", &mailbox], None);
    cli_json(&data, &["mailbox", "test-enable", &mailbox], None);
    let contact = cli_json(
        &data,
        &["contact", "create", "--set", "last_name=Ext", "--set", "email_address_1=ext@localhost"],
        None,
    );
    let body = dir.path().join("body.html");
    std::fs::write(&body, "<p>Bonjour, voici le <b>devis</b>.</p>").unwrap_or_else(|e| panic!("{e}"));
    let pdf = dir.path().join("devis.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 test").unwrap_or_else(|e| panic!("{e}"));
    let contact_ref = format!("contact:{}", contact["id"]);
    let sent = cli_json(
        &data,
        &[
            "email",
            "send",
            "--from",
            &mailbox,
            "--to",
            &contact_ref,
            "--subject",
            "Devis",
            "--body-file",
            &body.to_string_lossy(),
            "--html",
            "--attach",
            &pdf.to_string_lossy(),
            "--regarding",
            &contact_ref,
        ],
        None,
    );
    assert_eq!(sent["status"], "pending_send");
    assert_eq!(sent["attachments"][0]["file_name"], "devis.pdf");
    let subject = sent["subject"].as_str().unwrap_or_default().to_owned();
    let outbox = cli_json(&data, &["email", "outbox"], None);
    assert_eq!(outbox.as_array().map(Vec::len), Some(1));
    let out = run_cli(&data, &["mailbox", "send", &mailbox], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 sent"), "{}", String::from_utf8_lossy(&out.stderr));
    let outbox = cli_json(&data, &["email", "outbox"], None);
    assert_eq!(outbox.as_array().map(Vec::len), Some(0), "nothing left in the outbox");
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rt.block_on(wait_for_subject(&servers, "ext", "ext-pass", &subject)),
        "{:?}",
        rt.block_on(inbox_subjects(&servers, "ext", "ext-pass"))
    );
    // Nonsense: an unknown record, a blocked attachment.
    let out = run_cli(&data, &["email", "send", "--from", &mailbox, "--to", "contact:999", "--subject", "x"], None);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let exe = dir.path().join("setup.exe");
    std::fs::write(&exe, b"MZ").unwrap_or_else(|e| panic!("{e}"));
    let out = run_cli(
        &data,
        &[
            "email",
            "send",
            "--from",
            &mailbox,
            "--to",
            &contact_ref,
            "--subject",
            "x",
            "--attach",
            &exe.to_string_lossy(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("setup.exe"), "{}", String::from_utf8_lossy(&out.stderr));
}
