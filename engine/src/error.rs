//! Errors: every failure carries a kind (what the scheduler and the UI switch on) and a stable
//! code with parameters (what the UI turns into words, in the user's language, through the
//! catalogs in `engine/i18n/`). Messages never contain secrets: parameters are field names,
//! ids, limits and values the administrator typed into non-secret fields.

use crate::i18n::{self, Lang};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What kind of failure an error is; decides retrying and presentation, never the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Input breaks a rule; nothing was written.
    Validation,
    /// The record named does not exist.
    NotFound,
    /// The acting user may not do this.
    Forbidden,
    /// The OS keychain is missing, locked or refused the operation.
    Keychain,
    /// The database could not be read or written.
    Storage,
    /// A file or directory could not be used.
    Io,
    /// A mail server refused or failed in a way that needs someone to fix something (wrong
    /// credentials, an untrusted certificate, a host that does not exist).
    Server,
    /// A mail server could not be reached for now (timeout, reset, busy); trying later may work.
    Unavailable,
    /// A bug: something the engine believed impossible.
    Internal,
}

impl ErrorKind {
    /// Whether an error of this kind is transient unless it says otherwise: trying the same
    /// thing again later may succeed without anyone changing anything. Storage errors are not,
    /// except a database that is busy or locked (see `From<rusqlite::Error>`).
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorKind::Unavailable)
    }
}

/// An engine error: kind, stable code, parameters, a technical detail (for logs and "Details"),
/// the error that caused it, whether it is transient, and how long a server asked us to wait.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    code: &'static str,
    params: BTreeMap<String, String>,
    detail: Option<String>,
    transient: bool,
    retry_after: Option<Duration>,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Engine result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `code`; add parameters with [`Error::param`].
    pub fn new(kind: ErrorKind, code: &'static str) -> Self {
        Error {
            kind,
            code,
            params: BTreeMap::new(),
            detail: None,
            transient: kind.is_transient(),
            retry_after: None,
            source: None,
        }
    }

    /// A rule was broken.
    pub fn validation(code: &'static str) -> Self {
        Error::new(ErrorKind::Validation, code)
    }

    /// A record was not found.
    pub fn not_found(entity: &'static str, id: impl fmt::Display) -> Self {
        Error::new(ErrorKind::NotFound, "record.not_found").param("entity", entity).param("id", id)
    }

    /// Something impossible happened.
    pub fn internal(detail: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Internal, "internal").with_detail(detail)
    }

    /// Adds a parameter for the message template.
    #[must_use]
    pub fn param(mut self, name: &str, value: impl fmt::Display) -> Self {
        self.params.insert(name.to_owned(), value.to_string());
        self
    }

    /// The same failure under a more precise code (e.g. naming whose credentials were refused).
    #[must_use]
    pub fn recode(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    /// The same error with every parameter value and the detail passed through `f` (to remove
    /// a secret a hostile server echoed back).
    #[must_use]
    pub fn map_text(mut self, f: impl Fn(&str) -> String) -> Self {
        for v in self.params.values_mut() {
            *v = f(v);
        }
        self.detail = self.detail.map(|d| f(&d));
        self
    }

    /// Adds a technical detail (logged and shown under "Details"; never a secret).
    #[must_use]
    pub fn with_detail(mut self, detail: impl fmt::Display) -> Self {
        self.detail = Some(detail.to_string());
        self
    }

    /// Keeps the error that caused this one (its text becomes the detail, unless one is set).
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        if self.detail.is_none() {
            self.detail = Some(source.to_string());
        }
        self.source = Some(Arc::new(source));
        self
    }

    /// Marks the error transient or not, whatever its kind says.
    #[must_use]
    pub fn transient(mut self, transient: bool) -> Self {
        self.transient = transient;
        self
    }

    /// How long the server asked us to wait before trying again (a throttling response).
    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self.transient = true;
        self
    }

    /// Whether trying the same thing again later may succeed without anyone changing anything:
    /// what a scheduler retries.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// How long to wait before trying again, when the server said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable code, e.g. `mailbox.act.not_supported_for_server_type`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The parameters.
    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.params
    }

    /// One parameter's value.
    pub fn param_value(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The technical detail, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        i18n::render(lang, self.code, &self.params)
    }

    /// What crosses a process boundary (IPC, `--json`).
    pub fn to_dto(&self, lang: Lang) -> ErrorDto {
        ErrorDto {
            kind: self.kind,
            code: self.code.to_owned(),
            params: self.params.clone(),
            message: self.message(lang),
            detail: self.detail.clone(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.message(Lang::En), self.code)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// An error as the UI and `--json` receive it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ErrorDto {
    pub kind: ErrorKind,
    pub code: String,
    pub params: BTreeMap<String, String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl From<rusqlite::Error> for Error {
    /// Only a busy or locked database is transient. A constraint violation is a bug in the
    /// engine (the rules run before any write), so it is Internal: retrying it would fail forever.
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let code = e.sqlite_error_code();
        let err = match code {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                Error::new(ErrorKind::Storage, "storage.busy").transient(true)
            }
            Some(ErrorCode::ConstraintViolation) => Error::new(ErrorKind::Internal, "internal"),
            _ => Error::new(ErrorKind::Storage, "storage.failed"),
        };
        err.with_source(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, "io.failed").with_source(e)
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_error(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some("from the test".to_owned()))
    }

    #[test]
    fn a_constraint_violation_is_internal_and_not_transient() {
        let e = Error::from(sqlite_error(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE));
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert!(!e.is_transient(), "a scheduler would retry a constraint bug forever");
    }

    #[test]
    fn only_busy_and_locked_storage_errors_are_transient() {
        for (code, transient) in [
            (rusqlite::ffi::SQLITE_BUSY, true),
            (rusqlite::ffi::SQLITE_LOCKED, true),
            (rusqlite::ffi::SQLITE_IOERR, false),
            (rusqlite::ffi::SQLITE_CORRUPT, false),
            (rusqlite::ffi::SQLITE_FULL, false),
        ] {
            let e = Error::from(sqlite_error(code));
            assert_eq!(e.is_transient(), transient, "sqlite code {code}: {e:?}");
        }
    }

    #[test]
    fn the_source_chain_is_kept() {
        let e = Error::from(sqlite_error(rusqlite::ffi::SQLITE_BUSY));
        let source = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
        assert!(source.contains("from the test"), "source: {source:?}");
        assert!(e.detail().is_some_and(|d| d.contains("from the test")));
    }

    #[test]
    fn a_retry_after_makes_an_error_transient_and_is_carried() {
        let e = Error::new(ErrorKind::Server, "mail.busy").with_retry_after(Duration::from_millis(1500));
        assert!(e.is_transient());
        assert_eq!(e.retry_after(), Some(Duration::from_millis(1500)));
        assert!(Error::new(ErrorKind::Unavailable, "mail.timeout").is_transient());
        assert!(!Error::new(ErrorKind::Server, "mail.auth.failed").is_transient());
    }
}
