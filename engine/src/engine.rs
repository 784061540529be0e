//! The engine handle: the open database, the secret store and the clock. Cheap to clone; every
//! `api` function takes `&Engine`. Blocking work (SQLite, keychain) runs on tokio's blocking
//! pool, never on the async executor.

use crate::clock::{Clock, SystemClock};
use crate::domain::{JobId, MailboxId, OrgSettings, ProfileId, Timestamp};
use crate::limits::{ConnectionLimits, ConnectionPermit};
use crate::secrets::{KeychainStore, Secret, SecretKey, SecretStore, keychain_service};
use crate::store::{self, Durability, Store};
use crate::{Error, ErrorKind, Result};
use rusqlite::Transaction;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "serversync.sqlite3";

/// How old a message pack that no email refers to must be before it is removed.
const ORPHAN_PACK_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Application identifier: names the data directory and the keychain namespace.
pub const APP_ID: &str = "org.serversync.ServerSync";

/// Release or development build: they use different data directories and keychain namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Release,
    Dev,
}

impl Flavor {
    /// The flavor of the running build.
    pub fn current() -> Flavor {
        if cfg!(debug_assertions) { Flavor::Dev } else { Flavor::Release }
    }
}

/// The user's data directory for ServerSync (e.g. `~/.local/share/org.serversync.ServerSync`).
pub fn default_data_dir(flavor: Flavor) -> Result<PathBuf> {
    let base = dirs::data_dir().ok_or_else(|| {
        Error::new(ErrorKind::Io, "io.failed").with_detail("the user's data directory could not be determined")
    })?;
    Ok(base.join(match flavor {
        Flavor::Release => APP_ID.to_owned(),
        Flavor::Dev => format!("{APP_ID}.dev"),
    }))
}

/// Where secrets go.
#[derive(Debug, Clone)]
pub enum SecretBackend {
    /// The OS keychain, in this flavor's namespace.
    Keychain(Flavor),
    /// A given store (the in-memory one in unit tests).
    Custom(Arc<dyn SecretStore>),
}

/// How to open the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    pub secrets: SecretBackend,
    pub clock: Arc<dyn Clock>,
}

impl EngineConfig {
    /// The data directory given, the OS keychain of this build's flavor, the system clock.
    pub fn new(data_dir: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            data_dir: data_dir.into(),
            secrets: SecretBackend::Keychain(Flavor::current()),
            clock: Arc::new(SystemClock),
        }
    }
}

/// HTTP clients kept between cycles, each with the fingerprint of what it was built from.
pub(crate) type ClientCache<K, C> = std::sync::Mutex<std::collections::HashMap<K, ([u8; 32], Arc<C>)>>;

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) secrets: Arc<dyn SecretStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) installation_id: String,
    pub(crate) data_dir: PathBuf,
    /// This engine instance, as jobs record who runs them.
    pub(crate) runner_id: String,
    /// Held (locked) for this engine's life: lets other engines see that its jobs are alive.
    _runner_lock: std::fs::File,
    /// Each profile's "Maximum Concurrent Connections", shared by every job of this engine.
    connection_limits: ConnectionLimits<ProfileId>,
    /// Each Exchange Online profile's Graph client (its connections and its token), with the
    /// fingerprint of the settings and secret it was built from.
    pub(crate) graph_clients: ClientCache<ProfileId, crate::protocol::graph::GraphClient>,
    /// Each Exchange Server credential's EWS client (NTLM authenticates its connections).
    pub(crate) ews_clients: ClientCache<(ProfileId, String), crate::protocol::ews::EwsClient>,
    /// The EWS URL Autodiscover found for each (profile, mailbox address), while the profile is
    /// unchanged: see `remote::connect::Discovery`.
    pub(crate) ews_urls: crate::remote::connect::DiscoveredUrls,
    /// Tells whoever listens (the desktop shell) that a job of this engine changed.
    job_changes: tokio::sync::broadcast::Sender<JobChange>,
    /// Tells whoever listens that a sync cycle of this engine ended.
    sync_changes: tokio::sync::broadcast::Sender<SyncChange>,
    /// Cancelled when the engine closes: every background task watches it.
    shutdown: CancellationToken,
    /// Every background task of this engine, joined on close.
    tasks: TaskTracker,
    /// Wakes the scheduler: something became due (an email was written, a mailbox enabled).
    pub(crate) scheduler_wake: tokio::sync::Notify,
    /// The scheduler this engine runs, if it runs one.
    pub(crate) scheduler: tokio::sync::Mutex<Option<crate::sync::scheduler::SchedulerHandle>>,
}

impl Inner {
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Whether the engine that holds a lease (`runner` or `runner:suffix`) still runs on this
    /// data directory: its own runner always does; another is alive while its lock file is held.
    pub(crate) fn holder_is_alive(&self, holder: &str) -> bool {
        let runner = holder.split(':').next().unwrap_or_default();
        runner == self.runner_id || runner_is_alive(&self.data_dir.join("runners"), runner)
    }

    pub(crate) fn secret_key(&self, path: String) -> SecretKey {
        SecretKey::new(&self.installation_id, path)
    }
}

/// A job changed: one of its mailboxes (`mailbox`), or the job as a whole (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobChange {
    pub job: JobId,
    pub mailbox: Option<MailboxId>,
}

/// A sync cycle of a mailbox ended (its schedule, history and activities may have changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncChange {
    pub mailbox: MailboxId,
}

/// An open engine.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    /// Opens the engine: creates the data directory (owner-only) and the database if needed,
    /// upgrades the schema, and makes sure the organisation row exists. The keychain is not
    /// touched until a secret is needed.
    pub async fn open(config: EngineConfig) -> Result<Engine> {
        tokio::task::spawn_blocking(move || Engine::open_blocking(config)).await?
    }

    fn open_blocking(config: EngineConfig) -> Result<Engine> {
        create_private_dir(&config.data_dir)?;
        let store = Store::open(&config.data_dir.join(DATABASE_FILE))?;
        let now = config.clock.now();
        let runners = config.data_dir.join("runners");
        std::fs::create_dir_all(&runners)?;
        let runner_id = uuid::Uuid::new_v4().to_string();
        let runner_lock = std::fs::File::create(runners.join(format!("{runner_id}.lock")))?;
        runner_lock.try_lock().map_err(|e| Error::internal(format!("runner lock: {e}")))?;
        let own = runner_id.clone();
        let is_alive = move |runner: &str| runner == own || runner_is_alive(&runners, runner);
        let installation_id = store.write(|tx| {
            let id = store::settings::installation_id(tx)?;
            store::settings::ensure(tx, &OrgSettings::defaults(now))?;
            let recovered = store::jobs::recover_abandoned(tx, &is_alive, now)?;
            if recovered > 0 {
                tracing::info!(recovered, "closed the jobs of engines that are gone");
            }
            Ok(id)
        })?;
        // Original messages whose transaction never committed (a day old, so never one that
        // another engine on this data directory is about to commit).
        let referenced = store.read(store::activities::packs)?;
        let removed = store::messages::remove_orphans(&store.messages_dir(), &referenced, ORPHAN_PACK_AGE);
        if removed > 0 {
            tracing::info!(removed, "removed message packs that no email refers to");
        }
        let secrets: Arc<dyn SecretStore> = match config.secrets {
            SecretBackend::Keychain(flavor) => Arc::new(KeychainStore::new(keychain_service(flavor == Flavor::Dev))),
            SecretBackend::Custom(s) => s,
        };
        Ok(Engine {
            inner: Arc::new(Inner {
                store,
                secrets,
                clock: config.clock,
                installation_id,
                data_dir: config.data_dir,
                runner_id,
                _runner_lock: runner_lock,
                connection_limits: ConnectionLimits::default(),
                graph_clients: Default::default(),
                ews_clients: Default::default(),
                ews_urls: Default::default(),
                job_changes: tokio::sync::broadcast::channel(256).0,
                sync_changes: tokio::sync::broadcast::channel(256).0,
                shutdown: CancellationToken::new(),
                tasks: TaskTracker::new(),
                scheduler_wake: tokio::sync::Notify::new(),
                scheduler: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// Job changes as they happen (a mailbox started or finished testing, the job ended or was
    /// cancelled), for a UI that wants to be told rather than ask. A slow receiver misses
    /// notifications (it gets `Lagged`) and should read the job again.
    pub fn subscribe_job_changes(&self) -> tokio::sync::broadcast::Receiver<JobChange> {
        self.inner.job_changes.subscribe()
    }

    /// Sync cycles as they end, for a UI that refreshes its figures when something happened. A
    /// slow receiver misses some (it gets `Lagged`) and should read again.
    pub fn subscribe_sync_changes(&self) -> tokio::sync::broadcast::Receiver<SyncChange> {
        self.inner.sync_changes.subscribe()
    }

    /// Announces that a cycle of `mailbox` ended.
    pub(crate) fn sync_changed(&self, mailbox: MailboxId) {
        let _ = self.inner.sync_changes.send(SyncChange { mailbox });
    }

    /// Announces that job `id` changed as a whole (it started, ended or was cancelled).
    pub(crate) fn job_changed(&self, id: JobId) {
        // No receiver is fine: nobody is listening.
        let _ = self.inner.job_changes.send(JobChange { job: id, mailbox: None });
    }

    /// Announces that one mailbox of job `id` changed (it started or finished its test).
    pub(crate) fn job_item_changed(&self, id: JobId, mailbox: MailboxId) {
        let _ = self.inner.job_changes.send(JobChange { job: id, mailbox: Some(mailbox) });
    }

    /// Waits for one of the connections a profile allows ("Maximum Concurrent Connections",
    /// read from the database now, so a changed limit applies at once: connections already open
    /// count against the new limit). A profile that cannot be read is an error, never "no limit".
    pub(crate) async fn connection_permit(&self, profile: ProfileId) -> Result<ConnectionPermit> {
        let (max, modified_on) = self
            .read(move |c, _| store::profiles::max_concurrent_connections(c, profile))
            .await?
            .ok_or_else(|| Error::not_found(ProfileId::ENTITY, profile))?;
        let version = modified_on.timestamp_micros();
        self.inner.connection_limits.acquire(profile, max.max(1), version).await
    }

    /// One of a profile's connections for a connection that stays open (IMAP IDLE), only when
    /// one more stays free for the cycles; None when the limit is reached.
    pub(crate) async fn idle_connection_permit(&self, profile: ProfileId) -> Result<Option<ConnectionPermit>> {
        let (max, modified_on) = self
            .read(move |c, _| store::profiles::max_concurrent_connections(c, profile))
            .await?
            .ok_or_else(|| Error::not_found(ProfileId::ENTITY, profile))?;
        let version = modified_on.timestamp_micros();
        Ok(self.inner.connection_limits.try_acquire_leaving(profile, max.max(1), version, 1))
    }

    /// Runs `task` in the background as this engine's own: it is joined when the engine closes,
    /// and it should watch [`Engine::shutdown_token`] to stop early.
    pub(crate) fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.inner.tasks.spawn(task);
    }

    /// Tells the scheduler, if one runs, to look at the schedule now.
    pub(crate) fn wake_scheduler(&self) {
        self.inner.scheduler_wake.notify_one();
    }

    /// Cancelled when the engine closes.
    pub(crate) fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Whether [`Engine::close`] has begun.
    pub fn is_closing(&self) -> bool {
        self.inner.shutdown.is_cancelled()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// The database file.
    pub fn database_path(&self) -> &Path {
        self.inner.store.path()
    }

    /// Stops the engine's background work and waits for it: running jobs stop (the mailboxes
    /// they had not finished are recorded as cancelled), every task is joined, then the
    /// write-ahead log is flushed into the database file. Call before exit. Nothing new can be
    /// started afterwards.
    pub async fn close(&self) -> Result<()> {
        self.inner.shutdown.cancel();
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        tracing::debug!("engine closed: background tasks joined");
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            inner.store.with_writer(|c| {
                c.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
                Ok(())
            })
        })
        .await?
    }

    /// Runs `f` in one write transaction on the blocking pool. Writers queue on an async
    /// semaphore first, so a waiting writer holds no thread.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &Inner) -> Result<T> + Send + 'static,
    {
        self.write_with(Durability::Normal, f).await
    }

    /// [`Engine::write`] with the durability the commit needs ([`Durability::Full`] before a
    /// server is told that the data is safe).
    pub(crate) async fn write_with<T, F>(&self, durability: Durability, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &Inner) -> Result<T> + Send + 'static,
    {
        let permit = self.inner.store.writer_gate().acquire_owned().await.map_err(Error::internal)?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            inner.store.write_with(durability, |tx| f(tx, &inner))
        })
        .await?
    }

    /// Runs `f` on a reader on the blocking pool (waiting asynchronously for a free one).
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection, &Inner) -> Result<T> + Send + 'static,
    {
        let permit = self.inner.store.reader_gate().acquire_owned().await.map_err(Error::internal)?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            inner.store.read(|c| f(c, &inner))
        })
        .await?
    }

    /// Stores a secret under `path` (blocking pool).
    pub(crate) async fn set_secret(&self, path: String, secret: Secret) -> Result<()> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.secrets.set(&inner.secret_key(path), &secret)).await?
    }

    /// Removes the secret under `path` (blocking pool).
    pub(crate) async fn delete_secret(&self, path: String) -> Result<()> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.secrets.delete(&inner.secret_key(path))).await?
    }

    /// Stores a new secret and records it: `check` validates on a reader first (a refused
    /// secret never reaches the keychain), then the keychain is written, then `write` records
    /// the flag in one transaction; if that fails, the keychain entry is removed again.
    pub(crate) async fn store_secret_then<T, C, W>(&self, path: String, secret: Secret, check: C, write: W) -> Result<T>
    where
        T: Send + 'static,
        C: FnOnce(&rusqlite::Connection, &Inner) -> Result<()> + Send + 'static,
        W: FnOnce(&Transaction<'_>, &Inner) -> Result<T> + Send + 'static,
    {
        if secret.is_empty() {
            return Err(Error::validation("secret.empty"));
        }
        self.read(check).await?;
        self.set_secret(path.clone(), secret).await?;
        let saved = self.write(write).await;
        if saved.is_err() {
            let _ = self.delete_secret(path).await;
        }
        saved
    }

    /// Reads the secret under `path` (blocking pool). For the protocol layer only.
    #[allow(dead_code)]
    pub(crate) async fn get_secret(&self, path: String) -> Result<Option<Secret>> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.secrets.get(&inner.secret_key(path))).await?
    }

    /// Checks that the secret store can be reached (blocking pool).
    pub async fn check_keychain(&self) -> Result<()> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.secrets.check_available()).await?
    }
}

/// Whether the engine `runner` still lives: its lock file exists and is locked. A free lock
/// file is removed.
fn runner_is_alive(runners: &Path, runner: &str) -> bool {
    if runner.is_empty() || runner.contains(['/', '\\', '.']) {
        return false;
    }
    let path = runners.join(format!("{runner}.lock"));
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(&path) else { return false };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            let _ = std::fs::remove_file(&path);
            false
        }
        Err(_) => true,
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::new(ErrorKind::Io, "io.failed").param("path", dir.display()).with_source(e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
