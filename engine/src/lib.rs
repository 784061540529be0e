//! # ServerSync engine
//!
//! ServerSync keeps every user's and every queue's mailbox in step with the organisation's own
//! database, the way Dynamics 365 *server-side synchronization* does: incoming mail becomes
//! tracked email activities, outgoing activities are sent, appointments, contacts and tasks are
//! kept in step with the mail server. This crate is the whole engine, with no GUI in it: the
//! desktop app (`src-tauri`, a thin Tauri shell) and the headless `serversync` command both
//! drive it through the same [`api`] functions. It never depends on Tauri.
//!
//! ## Layers
//!
//! ```text
//!  UI (SolidJS, in the Tauri window)        serversync CLI (crate cli/)
//!            │ IPC: DTOs in, {code, params} errors out │
//!            └──────────────┬──────────────────────────┘
//!                       api::*          one async fn per operation; one transaction each
//!                           │
//!        domain (pure rules)   store (all SQL)   secrets (OS keychain)   limits   protocol/
//!                           │
//!                         sync/         the scheduler (leases, schedule rules, IDLE push) over
//!                                       incoming cycles (plan (pure), fetch, decide (pure),
//!                                       commit, then acknowledge) and outgoing cycles
//! ```
//!
//! Imports point down only: `domain` imports none of `api`, `store`, `protocol` or `sync`; `store`
//! and `protocol` import no `api`; `sync` imports no `api`.
//!
//! * [`domain`] — the organisation's email configuration and data as plain data, with no serde
//!   (profiles, mailboxes, settings, users, queues, contacts, accounts, leads, email activities,
//!   alerts) and every rule over it as a pure function
//!   ([`domain::rules`]): the server type × credential mode × delivery method matrix, field
//!   visibility per server type, approval, the effective *Process Email From* date, Apply
//!   Default Email Settings. Rules refuse with a stable code and parameters; the words live in
//!   `engine/i18n/{en,fr,ja,vi}.json`, so the UI and the CLI speak the user's language.
//! * [`api`] — what a UI may ask. Each call loads what it needs, applies the change, validates
//!   the result with the rules, and writes it in **one** SQLite transaction: a refused or failed
//!   call writes nothing.
//!   It takes and returns the wire types of [`api::wire`], twins of the domain's plain types
//!   declared from the same lists (ADR 0009): only `api` knows serde and specta. The
//!   [`api::form_catalog`] gives the forms every option list and numeric bound.
//! * [`store`] — SQLite through rusqlite, and every SQL statement of the engine: one module per
//!   table with named functions over a connection or a transaction; WAL, foreign keys on, STRICT
//!   tables, append-only migrations in `engine/migrations/` tracked by `PRAGMA user_version`;
//!   [`store::batch`] for a savepoint per item; [`store::Durability::Full`] for commits a server
//!   is told about right after. The original messages live beside the database in pack files
//!   ([`store::messages`]), synced before the transaction that refers to them commits.
//! * [`limits`] — each profile's Maximum Concurrent Connections as one semaphore that follows a
//!   changed limit without ever exceeding it.
//! * [`logging`] — `tracing` set up for the CLI (standard error) and the app (a daily file).
//! * [`secrets`] — the [`secrets::SecretStore`] trait, the OS keychain behind it, and an
//!   in-memory store for unit tests.
//! * [`protocol`] — the mail sessions (IMAP through async-imap, POP3 our own with a pure,
//!   fuzzed parser, SMTP through lettre) over one TLS policy (OS trust store plus the profile's
//!   CA file, never "accept any certificate"), every operation bounded by the connection's
//!   [`protocol::Timeouts`] and every failure classified permanent or transient with a stable
//!   code from the server's response code (ADR 0007, 0008). Connecting reports its steps to an
//!   optional [`protocol::Observer`]. [`remote::connect`] decides which credentials a
//!   connection uses and reads them from the keychain only then; Test & Enable jobs hold one of
//!   the profile's connection permits per mailbox.
//!
//! ## Tasks, threads and who writes the database
//!
//! The engine is used from a tokio runtime. SQLite and keychain calls block, so they run on
//! tokio's blocking pool, never on the async executor. There is exactly **one writer**
//! connection: every write is a `BEGIN IMMEDIATE` transaction on it, so writes are serialised
//! and never see `SQLITE_BUSY` from each other. A few read-only connections serve reads
//! concurrently under WAL. Callers wait for a connection on an async semaphore, so a waiting
//! writer holds no thread. Nothing else opens the database file.
//!
//! The engine owns its background work (ADR 0008): every task is spawned on the engine's task
//! tracker and watches its cancellation token. [`Engine::close`] cancels, waits for every task,
//! then checkpoints the WAL; a job stopped this way records what it had not finished. Logs go
//! through `tracing`, with a span per job, mailbox and connection.
//!
//! ## Where secrets live
//!
//! Passwords, client secrets, certificate keys and tokens live **only** in the OS keychain
//! (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows), under the
//! service name of the build's namespace (release and development builds differ) and an
//! account `{installation id}/{record}/{id}/{what}`. The database stores only `is_*_set`
//! flags. A [`secrets::Secret`] prints as `<redacted>`, has no `Serialize`, and is wiped from
//! memory on drop; no record, DTO, log line or error message carries one. When no keychain is
//! reachable, a secret operation fails with `keychain.unavailable` and nothing is written —
//! never a plaintext fallback. A secret is written to the keychain before its flag, and removed
//! again if the flag's transaction fails.
//!
//! ## Sync, in a few sentences
//!
//! [`sync::run_cycle`] runs one incoming cycle of one mailbox (ADR 0011): the gate (may this
//! mailbox be processed), then a plan — a pure function of the stored cursor (IMAP UIDVALIDITY
//! and last UID, HIGHESTMODSEQ with CONDSTORE; POP3 UIDLs seen) and the server's listing — then
//! fetch, parse and write as three pipelined stages. Each message is decided by pure rules
//! ([`sync::inbound`]: acceptance by the recipients' filtering methods, correlation, party
//! resolution, owner, regarding) over facts looked up in the store; per-item results are
//! recorded, one bad message never aborts a run. A message is acknowledged on the server (POP3
//! DELE, IMAP MOVE to Undeliverable) only after its activity and the new cursor are committed
//! together, durably. A preview runs the same plan and decisions and writes nothing.
//!
//! [`sync::outbound::run_outgoing`] sends a mailbox's due emails from the outbox: each is
//! committed Sending before its message leaves, then Sent, Pending Send or Failed; one left
//! Sending by a crash is looked up in the Sent folder by Message-ID before it is sent again.
//!
//! The scheduler ([`sync::scheduler`], ADR 0012) runs each enabled mailbox's incoming and
//! outgoing workloads when they are due, each under a lease in the database so that the desktop
//! app and any number of `serversync serve` processes share one database without running a
//! workload twice at once; pure rules ([`sync::schedule`]) turn the end of a cycle into the next
//! run, the failure count, a disabled workload and alerts. Mailboxes on IMAP servers that offer
//! IDLE keep one connection open and are pushed new mail ([`sync::push`]).
//!
//! ## Invariants
//!
//! * A user's or queue's mailbox address equals the owner's address; changing it withdraws approval.
//! * Every stored profile and mailbox passes the rules of [`domain::rules`] as they stand.
//! * No secret byte is ever written to SQLite, logs, IPC replies or error messages.
//! * Times are UTC, from a [`clock::Clock`] (a fixed clock in tests).

pub mod api;
pub mod clock;
pub mod domain;
mod engine;
pub mod error;
pub mod i18n;
pub mod limits;
pub mod logging;
pub mod protocol;
pub mod remote;
pub mod secrets;
pub mod store;
pub mod sync;

pub use engine::{
    APP_ID, DATABASE_FILE, Engine, EngineConfig, Flavor, JobChange, SecretBackend, SyncChange, default_data_dir,
};
pub use error::{Error, ErrorDto, ErrorKind, Result};
pub use i18n::Lang;
