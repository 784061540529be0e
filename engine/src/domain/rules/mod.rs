//! The rules of the email configuration, as pure functions over records, by concern. Every rule
//! refuses with a stable code (see `engine/i18n/en.json` for its wording); nothing here reads a
//! clock, a database or a keychain.
//!
//! - [`fields`]: small field checks (required, lengths, ranges, addresses, hosts, URLs);
//! - [`profile`]: the server-type matrix, visible fields, normalisation, validation, secrets;
//! - [`mailbox`]: mailbox validation, workloads, "may this mailbox be processed now";
//! - [`approval`]: approving and rejecting an address;
//! - [`defaults`]: Apply Default Email Settings and the organisation's settings;
//! - [`records`]: contacts, accounts and leads;
//! - [`outgoing`]: tracking tokens on send, and what a try to send leaves.

pub mod approval;
pub mod defaults;
pub mod fields;
pub mod mailbox;
pub mod outgoing;
pub mod profile;
pub mod records;

pub use approval::*;
pub use defaults::*;
pub use fields::{Bounds, is_guid, is_valid_email, is_valid_host, is_valid_http_url};
pub use mailbox::*;
pub use profile::*;
pub use records::*;

#[cfg(test)]
mod tests;
