//! Logs: `tracing` spans per job, mailbox and connection, events at the points that matter. What
//! is logged is codes, ids, hosts and durations; a [`crate::secrets::Secret`] prints as
//! `<redacted>`, and server replies (which a hostile server could fill with an echoed secret)
//! are never logged before redaction.
//!
//! The `serversync` command logs to standard error (`-v` for more, `--log-format json` for one
//! JSON object a line); the desktop app writes a daily log file in `<data dir>/logs/`. The
//! `SERVERSYNC_LOG` variable, in `tracing`'s filter syntax, overrides the level of either.

use std::path::Path;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Flushes the log file when dropped.
pub type FileLogGuard = tracing_appender::non_blocking::WorkerGuard;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One line of text per event, with its spans.
    #[default]
    Text,
    /// One JSON object per event, with its spans.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("{other:?} is not a log format (text or json)")),
        }
    }
}

/// The filter for `verbosity` (0 = warnings and errors, 1 = info, 2 = debug, 3+ = trace), unless
/// `SERVERSYNC_LOG` says otherwise.
pub fn filter(verbosity: u8) -> EnvFilter {
    let level = match verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    EnvFilter::try_from_env("SERVERSYNC_LOG").unwrap_or_else(|_| EnvFilter::new(level))
}

/// Installs the process's logger, writing to `writer` in `format` at `verbosity`. Does nothing
/// when one is installed already.
pub fn init<W>(writer: W, format: LogFormat, verbosity: u8)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter(verbosity)).with_writer(writer);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).try_init(),
    };
}

/// How many lines the log file's writer thread may have waiting.
pub const LOG_QUEUE_LINES: usize = 8_192;

/// Installs a logger that writes a new file in `<data_dir>/logs/` each day (text, info level
/// unless `SERVERSYNC_LOG` says otherwise). Keep the returned guard for the process's life: it
/// flushes the last lines when dropped.
pub fn init_file(data_dir: &Path) -> Option<FileLogGuard> {
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("serversync")
        .filename_suffix("log")
        .max_log_files(14)
        .build(data_dir.join("logs"))
        .ok()?;
    // The writer thread's queue: its slots are allocated (and written) up front, so the default
    // 128,000 lines hold 4 MB for the process's life. A few thousand lines absorb any burst a
    // file keeps up with; past them a line waits for room rather than being dropped.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .lossy(false)
        .finish(appender);
    init(writer, LogFormat::Text, 1);
    Some(guard)
}
