//! One contract for every secret store: the in-memory one (unit tests) and the OS keychain
//! (a real gnome-keyring Secret Service, started by scripts/test.sh).

use serversync::secrets::{KeychainStore, MemoryStore, Secret, SecretKey, SecretStore, keychain_service};

fn contract(store: &dyn SecretStore) {
    let installation = uuid_like();
    let key = SecretKey::new(&installation, "mailbox/1/password");
    let other = SecretKey::new(&installation, "mailbox/2/password");
    let foreign = SecretKey::new(&format!("{installation}-other"), "mailbox/1/password");

    store.check_available().unwrap_or_else(|e| panic!("{store:?} is not available: {e}"));
    assert_eq!(store.get(&key).ok().flatten(), None, "a new key reads as absent");

    store.set(&key, &Secret::new("first")).unwrap_or_else(|e| panic!("set: {e}"));
    assert_eq!(store.get(&key).ok().flatten().map(|s| s.expose().to_owned()), Some("first".to_owned()));
    assert_eq!(store.get(&other).ok().flatten(), None, "another record's key stays absent");
    assert_eq!(store.get(&foreign).ok().flatten(), None, "another installation's key stays absent");

    store.set(&key, &Secret::new("second")).unwrap_or_else(|e| panic!("replace: {e}"));
    assert_eq!(store.get(&key).ok().flatten().map(|s| s.expose().to_owned()), Some("second".to_owned()));

    let unicode = "päss wörd – 秘密 – mật khẩu – \u{1F511}";
    store.set(&other, &Secret::new(unicode)).unwrap_or_else(|e| panic!("unicode: {e}"));
    assert_eq!(store.get(&other).ok().flatten().map(|s| s.expose().to_owned()), Some(unicode.to_owned()));

    let long = "x".repeat(4096);
    store.set(&foreign, &Secret::new(long.clone())).unwrap_or_else(|e| panic!("long: {e}"));
    assert_eq!(store.get(&foreign).ok().flatten().map(|s| s.expose().len()), Some(4096));

    for k in [&key, &other, &foreign] {
        store.delete(k).unwrap_or_else(|e| panic!("delete: {e}"));
        assert_eq!(store.get(k).ok().flatten(), None, "deleted secrets read as absent");
    }
    store.delete(&key).unwrap_or_else(|e| panic!("deleting an absent secret must succeed: {e}"));
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("contract-{}-{nanos}", std::process::id())
}

#[test]
fn the_in_memory_store_keeps_the_contract() {
    contract(&MemoryStore::new());
}

#[test]
fn the_os_keychain_keeps_the_contract() {
    // Under scripts/test.sh this is gnome-keyring's Secret Service in a private D-Bus session.
    contract(&KeychainStore::new(keychain_service(true)));
}

#[test]
fn a_second_handle_sees_what_the_first_stored() {
    let installation = uuid_like();
    let key = SecretKey::new(&installation, "profile/3/incoming-password");
    let a = KeychainStore::new(keychain_service(true));
    let b = KeychainStore::new(keychain_service(true));
    a.set(&key, &Secret::new("persisted")).unwrap_or_else(|e| panic!("set: {e}"));
    assert_eq!(b.get(&key).ok().flatten().map(|s| s.expose().to_owned()), Some("persisted".to_owned()));
    b.delete(&key).unwrap_or_else(|e| panic!("delete: {e}"));
    assert_eq!(a.get(&key).ok().flatten(), None);
}

#[test]
fn release_and_dev_namespaces_do_not_share_secrets() {
    let installation = uuid_like();
    let key = SecretKey::new(&installation, "mailbox/9/password");
    let dev = KeychainStore::new(keychain_service(true));
    let release = KeychainStore::new(keychain_service(false));
    dev.set(&key, &Secret::new("dev-only")).unwrap_or_else(|e| panic!("set: {e}"));
    assert_eq!(release.get(&key).ok().flatten(), None);
    dev.delete(&key).unwrap_or_else(|e| panic!("delete: {e}"));
}
