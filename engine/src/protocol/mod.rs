//! Wire protocols. Each server type's connection test lives here; the sync engine reuses the
//! same clients.
//!
//! Today no protocol client exists yet, so every connection test fails with
//! `test.not_implemented` — a clear failure, never a pretended success. The IMAP, POP3 and SMTP
//! clients (and their tests against real Dovecot and Postfix servers) replace this for the
//! IMAP/SMTP and POP3/SMTP server types; EWS and Microsoft Graph follow.

use crate::domain::rules::Workload;
use crate::domain::{Mailbox, Profile};
use crate::{Error, Result};

/// Tests one workload of a mailbox against its profile's server: sign in and read the Inbox for
/// incoming, send the test message to the mailbox itself for outgoing.
pub async fn test_workload(profile: &Profile, mailbox: &Mailbox, workload: Workload) -> Result<()> {
    let _ = mailbox;
    Err(Error::validation("test.not_implemented")
        .param("server_type", profile.server_type)
        .param("workload", workload_code(workload)))
}

/// The code of a workload, as messages name it.
pub fn workload_code(w: Workload) -> &'static str {
    match w {
        Workload::Incoming => "incoming",
        Workload::Outgoing => "outgoing",
        Workload::Act => "act",
    }
}
