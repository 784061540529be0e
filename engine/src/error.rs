//! Errors: every failure carries a kind (what the scheduler and the UI switch on) and a stable
//! code with parameters (what the UI turns into words, in the user's language, through the
//! catalogs in `engine/i18n/`). Messages never contain secrets: parameters are field names,
//! ids, limits and values the administrator typed into non-secret fields.

use crate::i18n::{self, Lang};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

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
    /// Whether trying the same thing again later may succeed without anyone changing anything.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorKind::Storage | ErrorKind::Unavailable)
    }
}

/// An engine error: kind, stable code, parameters, and (for logs) a technical detail.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    code: &'static str,
    params: BTreeMap<String, String>,
    detail: Option<String>,
}

/// Engine result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `code`; add parameters with [`Error::param`].
    pub fn new(kind: ErrorKind, code: &'static str) -> Self {
        Error { kind, code, params: BTreeMap::new(), detail: None }
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

impl std::error::Error for Error {}

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
    fn from(e: rusqlite::Error) -> Self {
        Error::new(ErrorKind::Storage, "storage.failed").with_detail(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, "io.failed").with_detail(e)
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::internal(e)
    }
}
