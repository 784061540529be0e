//! One file per UI area. Each command is a few lines: DTO in, one `serversync::api` call, DTO or
//! `{code, params, message}` out. Business rules live in the engine, never here.

pub mod activities;
pub mod alerts;
pub mod jobs;
pub mod mailboxes;
pub mod principals;
pub mod profiles;
pub mod records;
pub mod scheduler;
pub mod settings;
pub mod window;

use serversync::{Error, ErrorDto, Lang};

/// What every command returns: the value, or the engine's error as the UI words it.
pub type CmdResult<T> = Result<T, ErrorDto>;

/// The error as it crosses IPC (the UI words it from `code` and `params`; `message` is English).
pub fn dto(e: Error) -> ErrorDto {
    e.to_dto(Lang::En)
}
