//! Secrets: passwords, client secrets, certificates' private keys and tokens.
//!
//! They live only in the OS keychain (Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows), under the service name of this build's namespace and a per-database
//! installation id, so two data directories never share an entry. SQLite keeps only whether
//! each secret is set. A [`Secret`] prints as `<redacted>` and cannot be serialised; its memory
//! is wiped on drop. When no keychain can be reached, operations fail with
//! `keychain.unavailable` ("no system keychain"): there is no file or database fallback.

use crate::{Error, ErrorKind, Result};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use zeroize::Zeroizing;

/// A secret value. Debug and Display print `<redacted>`; there is no Serialize.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(value.into()))
    }

    /// The secret itself, for the one place that sends it to a server or the keychain.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where one secret is kept: `{installation}/{path}` under the keychain service name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretKey {
    installation: String,
    path: String,
}

impl SecretKey {
    /// The key of `path` (e.g. `mailbox/7/password`) for one installation (database).
    pub fn new(installation: &str, path: impl Into<String>) -> SecretKey {
        SecretKey { installation: installation.to_owned(), path: path.into() }
    }

    /// The account name used in the keychain.
    pub fn account(&self) -> String {
        format!("{}/{}", self.installation, self.path)
    }

    /// The path within the installation.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// Somewhere secrets can be kept. Calls block: run them off the async executor.
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// Stores (or replaces) a secret.
    fn set(&self, key: &SecretKey, secret: &Secret) -> Result<()>;
    /// Reads a secret; `None` when none is stored under `key`.
    fn get(&self, key: &SecretKey) -> Result<Option<Secret>>;
    /// Removes a secret; removing one that is not there succeeds.
    fn delete(&self, key: &SecretKey) -> Result<()>;
    /// Whether the store can be used at all (connects if needed).
    fn check_available(&self) -> Result<()>;
}

/// The keychain namespace (service name) of a build: release builds and development builds
/// never read each other's secrets.
pub fn keychain_service(dev: bool) -> &'static str {
    if dev { "org.serversync.ServerSync.dev" } else { "org.serversync.ServerSync" }
}

/// The OS keychain.
pub struct KeychainStore {
    service: String,
    store: OnceLock<std::result::Result<Arc<keyring_core::CredentialStore>, String>>,
}

impl fmt::Debug for KeychainStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeychainStore").field("service", &self.service).finish_non_exhaustive()
    }
}

fn unavailable(detail: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Keychain, "keychain.unavailable").with_detail(detail)
}

/// Maps a keyring error without ever carrying secret bytes (BadEncoding holds them).
fn map_keyring_error(e: keyring_core::Error) -> Error {
    use keyring_core::Error as K;
    match e {
        K::PlatformFailure(_) | K::NoStorageAccess(_) | K::NoDefaultStore => unavailable(e),
        K::BadEncoding(_) | K::BadDataFormat(..) => Error::new(ErrorKind::Keychain, "keychain.bad_data"),
        other => Error::new(ErrorKind::Keychain, "keychain.failed").with_detail(other),
    }
}

impl KeychainStore {
    /// The keychain, under `service` (see [`keychain_service`]). Connecting happens on first use.
    pub fn new(service: &str) -> KeychainStore {
        KeychainStore { service: service.to_owned(), store: OnceLock::new() }
    }

    fn platform(&self) -> Result<&Arc<keyring_core::CredentialStore>> {
        self.store.get_or_init(open_platform_store).as_ref().map_err(unavailable)
    }

    fn entry(&self, key: &SecretKey) -> Result<keyring_core::Entry> {
        self.platform()?.build(&self.service, &key.account(), None).map_err(map_keyring_error)
    }
}

#[cfg(target_os = "linux")]
fn open_platform_store() -> std::result::Result<Arc<keyring_core::CredentialStore>, String> {
    // Without a session bus libdbus would try to autolaunch one through X11; say so plainly.
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty())
        && std::env::var_os("DISPLAY").is_none_or(|v| v.is_empty())
    {
        return Err("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)".to_owned());
    }
    dbus_secret_service_keyring_store::Store::new()
        .map(|s| s as Arc<keyring_core::CredentialStore>)
        .map_err(|e| e.to_string())
}

#[cfg(target_os = "macos")]
fn open_platform_store() -> std::result::Result<Arc<keyring_core::CredentialStore>, String> {
    apple_native_keyring_store::keychain::Store::new()
        .map(|s| s as Arc<keyring_core::CredentialStore>)
        .map_err(|e| e.to_string())
}

#[cfg(target_os = "windows")]
fn open_platform_store() -> std::result::Result<Arc<keyring_core::CredentialStore>, String> {
    windows_native_keyring_store::Store::new()
        .map(|s| s as Arc<keyring_core::CredentialStore>)
        .map_err(|e| e.to_string())
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn open_platform_store() -> std::result::Result<Arc<keyring_core::CredentialStore>, String> {
    Err("no supported keychain on this operating system".to_owned())
}

impl SecretStore for KeychainStore {
    fn set(&self, key: &SecretKey, secret: &Secret) -> Result<()> {
        self.entry(key)?.set_password(secret.expose()).map_err(map_keyring_error)
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Secret>> {
        match self.entry(key)?.get_password() {
            Ok(s) => Ok(Some(Secret::new(s))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring_error(e)),
        }
    }

    fn delete(&self, key: &SecretKey) -> Result<()> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_keyring_error(e)),
        }
    }

    fn check_available(&self) -> Result<()> {
        self.platform().map(|_| ())
    }
}

/// Secrets in memory, for unit tests only: gone when the process ends.
#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<SecretKey, Secret>>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<SecretKey, Secret>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SecretStore for MemoryStore {
    fn set(&self, key: &SecretKey, secret: &Secret) -> Result<()> {
        self.map().insert(key.clone(), secret.clone());
        Ok(())
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Secret>> {
        Ok(self.map().get(key).cloned())
    }

    fn delete(&self, key: &SecretKey) -> Result<()> {
        self.map().remove(key);
        Ok(())
    }

    fn check_available(&self) -> Result<()> {
        Ok(())
    }
}

/// Where each secret lives in the keychain, under this installation's namespace.
pub mod paths {
    use crate::domain::rules::ProfileSecretKind;
    use crate::domain::{MailboxId, ProfileId};

    /// A mailbox's own password or token.
    pub fn mailbox_password(id: MailboxId) -> String {
        format!("mailbox/{id}/password")
    }

    /// One of a profile's secrets.
    pub fn profile_secret(id: ProfileId, kind: ProfileSecretKind) -> String {
        format!("profile/{id}/{}", kind.key_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Form {
            password: Secret,
        }
        assert!(!format!("{:?}", Form { password: s }).contains("hunter2"));
    }

    #[test]
    fn keys_are_scoped_by_installation() {
        let a = SecretKey::new("inst-a", "mailbox/1/password");
        let b = SecretKey::new("inst-b", "mailbox/1/password");
        assert_ne!(a.account(), b.account());
        assert_eq!(a.path(), "mailbox/1/password");
    }

    #[test]
    fn release_and_dev_namespaces_differ() {
        assert_ne!(keychain_service(true), keychain_service(false));
    }
}
