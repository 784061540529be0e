//! Without a D-Bus session there is no system keychain: the CLI says so and writes nothing.

use serversync::DATABASE_FILE;
use serversync_tests::{cli_json, contains, database_bytes, row_snapshot, run_cli_env};

#[test]
fn without_a_session_bus_set_credentials_reports_no_system_keychain_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    let user = cli_json(data, &["user", "create", "--name", "Nancy", "--email", "nancy@contoso.test"], None);
    let id = user["mailbox_id"].as_i64().unwrap_or_default();
    let db = data.join(DATABASE_FILE);
    let before = row_snapshot(&db, "mailbox", id);

    let no_bus = [("DBUS_SESSION_BUS_ADDRESS", None), ("DISPLAY", None)];
    let out = run_cli_env(
        data,
        &["--json", "mailbox", "set-credentials", &id.to_string(), "--user-name", "nancy", "--password-stdin"],
        Some("no-keychain-secret-91d2"),
        &no_bus,
    );
    assert_eq!(out.status.code(), Some(5), "keychain errors exit with 5");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(v["error"]["code"], "keychain.unavailable", "{v}");
    assert_eq!(v["error"]["kind"], "keychain");
    assert!(v["error"]["message"].as_str().unwrap_or_default().contains("No system keychain"), "{v}");
    assert!(!v.to_string().contains("no-keychain-secret-91d2"), "the error repeats the password");

    // In a person's words too.
    let out = run_cli_env(
        data,
        &["mailbox", "set-credentials", &id.to_string(), "--user-name", "nancy", "--password-stdin"],
        Some("no-keychain-secret-91d2"),
        &no_bus,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("No system keychain"));

    assert_eq!(row_snapshot(&db, "mailbox", id), before, "something was written");
    assert!(!contains(&database_bytes(&db), b"no-keychain-secret-91d2"), "the password fell back to the database");

    let status = run_cli_env(data, &["--json", "status"], None, &no_bus);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap_or_default();
    assert_eq!(v["keychain"], "unavailable (keychain.unavailable)");
}
