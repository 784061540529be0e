//! A database written by the previous schema opens and upgrades with its data intact.

use serversync::api;
use serversync::api::{EmailAddressStatus, MailboxId, ProfileId, UserId};
use serversync::secrets::MemoryStore;
use serversync::store::LATEST_VERSION;
use serversync::{DATABASE_FILE, Engine, EngineConfig, SecretBackend};
use std::sync::Arc;

#[tokio::test]
async fn a_version_1_database_upgrades_to_the_latest_schema_with_its_data() {
    const { assert!(LATEST_VERSION >= 2, "this test needs a second migration") };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{e}"));
    let db = data.join(DATABASE_FILE);
    {
        let conn = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
        // As written by the fixture's dump: tables in name order, so checks come after loading.
        conn.pragma_update(None, "foreign_keys", false).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(include_str!("../fixtures/db/schema-v1.sql")).unwrap_or_else(|e| panic!("fixture: {e}"));
        let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap_or_default();
        assert_eq!(v, 1, "the fixture is a version 1 database");
    }

    let config =
        EngineConfig { secrets: SecretBackend::Custom(Arc::new(MemoryStore::new())), ..EngineConfig::new(&data) };
    let engine = Engine::open(config).await.unwrap_or_else(|e| panic!("open: {e}"));

    let conn = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap_or_default();
    assert_eq!(v, LATEST_VERSION);

    let p = api::get_profile(&engine, ProfileId(1)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((p.name.as_str(), p.incoming_port), ("Contoso IMAP", Some(993)));
    let m = api::get_mailbox(&engine, MailboxId(1)).await.unwrap_or_else(|e| panic!("{e}")).mailbox;
    assert_eq!(m.email_address_status, EmailAddressStatus::Approved);
    assert!(m.is_password_set);
    assert_eq!(
        (m.transient_failure_count, m.last_sync_error_code.as_str()),
        (0, ""),
        "new columns take their defaults"
    );
    let u = api::get_user(&engine, UserId(1)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(u.mailbox_id, Some(MailboxId(1)));
    let s = api::get_settings(&engine).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.default_profile_id, Some(ProfileId(1)));
    let alerts = api::list_alerts(&engine, Default::default()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].count, 3);

    // The upgraded database takes new rows, and ids are not reused.
    let q = api::create_user(
        &engine,
        api::CreateUser {
            full_name: "Alan".into(),
            primary_email: "alan@contoso.test".into(),
            can_approve_email: false,
            incoming_filtering_method: None,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(q.id, UserId(2));
    assert_eq!(q.mailbox_id, Some(MailboxId(2)));
}

#[tokio::test]
async fn a_database_from_a_newer_serversync_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{e}"));
    let db = data.join(DATABASE_FILE);
    {
        let conn = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1).unwrap_or_else(|e| panic!("{e}"));
    }
    let config =
        EngineConfig { secrets: SecretBackend::Custom(Arc::new(MemoryStore::new())), ..EngineConfig::new(&data) };
    let err = Engine::open(config).await.err().map(|e| e.code());
    assert_eq!(err, Some("storage.schema_too_new"));
}
