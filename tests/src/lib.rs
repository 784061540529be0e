//! Helpers shared by the end-to-end tests: the `serversync` binary, throwaway data directories,
//! an engine on an in-memory secret store, and a look at the raw bytes of a database.

use serversync::clock::SystemClock;
use serversync::secrets::{MemoryStore, SecretStore};
use serversync::{Engine, EngineConfig, SecretBackend};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

/// The `serversync` binary built next to this test executable.
pub fn serversync_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/debug/deps/<test> -> target/debug/serversync
    let dir = exe.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    let bin = dir.join(format!("serversync{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} is missing: build it first (cargo build -p serversync-cli)", bin.display());
    bin
}

/// Runs `serversync --data-dir DIR ARGS…` with `stdin` and returns its output.
pub fn run_cli(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    run_cli_env(data_dir, args, stdin, &[])
}

/// Like [`run_cli`], with environment variables removed (`name`, None) or set.
pub fn run_cli_env(data_dir: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, Option<&str>)]) -> Output {
    let mut cmd = Command::new(serversync_bin());
    cmd.arg("--data-dir").arg(data_dir).args(args).env("LANG", "C.UTF-8").env_remove("LC_ALL");
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start serversync: {e}"));
    if let Some(input) = stdin {
        use std::io::Write;
        if let Some(mut s) = child.stdin.take() {
            s.write_all(input.as_bytes()).unwrap_or_else(|e| panic!("cannot write stdin: {e}"));
        }
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("serversync did not finish: {e}"))
}

/// Runs the CLI with `--json`, asserts success, and parses standard output.
pub fn cli_json(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = run_cli(data_dir, &all, stdin);
    assert!(
        out.status.success(),
        "serversync {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("serversync {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout))
    })
}

/// An engine in a fresh temporary directory with an in-memory secret store.
pub async fn memory_engine() -> (Engine, Arc<MemoryStore>, tempfile::TempDir) {
    let secrets = Arc::new(MemoryStore::new());
    let (engine, dir) = engine_with(secrets.clone(), Arc::new(SystemClock)).await;
    (engine, secrets, dir)
}

/// An engine in a fresh temporary data directory with in-memory secrets and the given clock.
pub async fn engine_with(
    secrets: Arc<MemoryStore>,
    clock: Arc<dyn serversync::clock::Clock>,
) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let config = EngineConfig {
        data_dir: dir.path().join("data"),
        secrets: SecretBackend::Custom(secrets as Arc<dyn SecretStore>),
        clock,
    };
    (Engine::open(config).await.unwrap_or_else(|e| panic!("engine: {e}")), dir)
}

/// [`memory_engine`] on a clock that moves only when the test sets it (schedules without sleeps).
pub async fn fixed_engine() -> (Engine, Arc<serversync::clock::FixedClock>, tempfile::TempDir) {
    use serversync::clock::Clock as _;
    let clock = Arc::new(serversync::clock::FixedClock::new(SystemClock.now()));
    let (engine, dir) = engine_with(Arc::new(MemoryStore::new()), clock.clone()).await;
    (engine, clock, dir)
}

/// Every byte SQLite keeps for this database: the file, its write-ahead log and shared memory.
pub fn database_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(b) = std::fs::read(PathBuf::from(p)) {
            bytes.extend(b);
        }
    }
    bytes
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// One row of a table as text (every column), for before/after comparisons.
pub fn row_snapshot(db: &Path, table: &str, id: i64) -> String {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table} WHERE id = ?1")).unwrap_or_else(|e| panic!("{e}"));
    let n = stmt.column_count();
    stmt.query_row([id], |r| {
        let mut parts = Vec::new();
        for i in 0..n {
            let v: rusqlite::types::Value = r.get(i)?;
            parts.push(format!("{v:?}"));
        }
        Ok(parts.join("|"))
    })
    .unwrap_or_else(|e| panic!("{table} {id}: {e}"))
}

/// Counts the rows of a table.
pub fn count_rows(db: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap_or_else(|e| panic!("{e}"))
}
pub mod admin;
pub mod ews;
pub mod graph;
pub mod mail;
pub mod proxy;
pub mod setup;

/// Log lines captured in memory.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> CapturedLogs {
        self.clone()
    }
}

/// Captures every log line of this process, at the most detailed level, in text and in JSON
/// alike. The subscriber is the process's global one, so it sees every thread and every task;
/// it can be installed once per process, so a test that reads the logs lives in a test binary of
/// its own (a thread-local subscriber races other tests' threads over the callsite cache).
pub fn capture_logs() -> CapturedLogs {
    use tracing_subscriber::layer::SubscriberExt;
    let logs = CapturedLogs::default();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::TRACE)
        .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(logs.clone()))
        .with(tracing_subscriber::fmt::layer().json().with_span_list(true).with_writer(logs.clone()));
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        panic!("capture_logs is called once per process");
    }
    logs
}

/// `serversync profile create` of the default profile reaching `servers` on localhost: `kind`
/// (`imap-smtp`, `pop3-smtp`) in on the port named `incoming_port` over implicit TLS, SMTP
/// submission with STARTTLS out, the servers' CA trusted; `extra` are more `--set` pairs.
pub fn cli_profile(
    data: &Path,
    servers: &mail::MailServers,
    kind: &str,
    incoming_port: &str,
    extra: &[&str],
) -> serde_json::Value {
    let port = format!("incoming_port={}", servers.port(incoming_port));
    let smtp = format!("outgoing_port={}", servers.port("SMTP_PORT"));
    let ca = format!("ca_file={}", servers.ca_file());
    let mut args = vec!["profile", "create", "--type", kind, "--name", "Loopback", "--default"];
    for set in ["incoming_location=localhost", "outgoing_location=localhost", &port, "incoming_tls_mode=implicit"]
        .into_iter()
        .chain([smtp.as_str(), "outgoing_tls_mode=starttls", &ca])
        .chain(extra.iter().copied())
    {
        args.extend(["--set", set]);
    }
    cli_json(data, &args, None)
}

/// A `serversync serve` process on a data directory, logging JSON lines (`-v`) to a file; killed
/// if still running when dropped.
#[derive(Debug)]
pub struct Serve {
    child: std::process::Child,
    pub log: PathBuf,
}

impl Serve {
    /// Starts `serversync --data-dir DATA --log-format json -v serve EXTRA…`, its log in `log`.
    pub fn start(data: &Path, log: &Path, extra: &[&str]) -> Serve {
        let file = std::fs::File::create(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let child = Command::new(serversync_bin())
            .arg("--data-dir")
            .arg(data)
            .args(["--log-format", "json", "-v", "serve"])
            .args(extra)
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start serversync serve: {e}"));
        Serve { child, log: log.to_path_buf() }
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM and waits up to `within` for it to exit; returns its exit code.
    pub fn terminate(mut self, within: std::time::Duration) -> Option<i32> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let t0 = std::time::Instant::now();
        while t0.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("serversync serve did not stop within {within:?} of SIGTERM");
    }

    /// The log as text.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
