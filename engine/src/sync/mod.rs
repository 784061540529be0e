//! Synchronisation: incoming and outgoing email, and the scheduler that runs them (appointments,
//! contacts and tasks come next).
//!
//! * [`plan`] — what a cycle does, from the stored cursor and the server's listing (pure);
//! * [`inbound`] — one message: parse it, then decide (acceptance, correlation, resolution;
//!   pure over facts looked up in the store);
//! * [`incoming`] — one cycle of one mailbox, IMAP or POP3: plan, fetch, decide, commit, and only
//!   then acknowledge on the server; or a preview that changes nothing;
//! * [`outbound`] — composing an email written in ServerSync, and one outgoing cycle of a mailbox:
//!   each email committed Sending before it leaves, then Sent, Pending Send or Failed;
//! * [`schedule`] — when a workload runs next and what a failure does to it (pure);
//! * [`scheduler`] — the loop that runs every due workload under a lease and records its end;
//! * [`push`] — IMAP IDLE: a change on the server makes the incoming workload due at once.

pub mod inbound;
pub mod incoming;
pub mod outbound;
pub mod plan;
pub mod push;
pub mod schedule;
pub mod scheduler;

pub use incoming::{CycleReport, ItemReport, ItemResult, Mode, Options, Progress, run_cycle};
