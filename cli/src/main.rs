//! `serversync`: the ServerSync engine without a window. Every command calls the same
//! `serversync::api` function the desktop app calls; `--json` prints the result (or the error's
//! `{code, params, message}`) as JSON. Passwords and secrets are read from standard input
//! (`--password-stdin`) or a terminal prompt, never from the command line.

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use serversync::api::ProfileSecretKind;
use serversync::api::{self, MailboxQuery, MailboxView, PrincipalView, ProfileView};
use serversync::api::{
    AccountId, ActivityId, AlertFilter, AlertLevel, ContactId, JobItemState, LeadId, MailboxId, ProfileId, QueueId,
    RecordState, ServerType, UserId,
};
use serversync::logging::{self, LogFormat};
use serversync::secrets::Secret;
use serversync::{Engine, EngineConfig, Error, ErrorKind, Flavor, Lang};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "serversync",
    version,
    about = "ServerSync: server-side synchronization of mailboxes, without a window"
)]
struct Cli {
    /// Data directory (default: the user's data directory for ServerSync).
    #[arg(long, global = true, env = "SERVERSYNC_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print results and errors as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Language of messages: en, fr, ja or vi (default: from the environment's locale).
    #[arg(long, global = true, value_name = "LANG")]
    lang: Option<String>,
    /// More log lines on standard error: -v info, -vv debug, -vvv trace (default: warnings).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log lines as text or as JSON objects (one a line).
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text", value_parser = clap::value_parser!(LogFormat))]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Where the data lives and whether the keychain is reachable.
    Status,
    /// Email Configuration Settings of the organisation.
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// Email Server Profiles.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Users (each has a mailbox).
    #[command(subcommand)]
    User(UserCmd),
    /// Queues (each has a mailbox).
    #[command(subcommand)]
    Queue(QueueCmd),
    /// Mailboxes.
    #[command(subcommand)]
    Mailbox(MailboxCmd),
    /// Alerts.
    #[command(subcommand)]
    Alert(AlertCmd),
    /// Contacts (email resolves to them).
    #[command(subcommand)]
    Contact(RecordCmd<ContactId>),
    /// Accounts (email resolves to them).
    #[command(subcommand)]
    Account(RecordCmd<AccountId>),
    /// Leads (email resolves to them).
    #[command(subcommand)]
    Lead(RecordCmd<LeadId>),
    /// Email activities: tracked email.
    #[command(subcommand)]
    Email(EmailCmd),
    /// Runs the scheduler until SIGTERM or SIGINT: each enabled mailbox's incoming and outgoing
    /// email on its schedule. Several `serve` processes (and the desktop app) may share one
    /// database: each workload is run by one of them at a time.
    Serve(ServeArgs),
    /// One incoming cycle of every active mailbox enabled for incoming email (`--all`).
    Sync {
        /// Every active mailbox enabled for incoming email.
        #[arg(long, required = true)]
        all: bool,
        #[command(flatten)]
        how: SyncArgs,
    },
}

/// How a synchronization runs.
#[derive(Debug, Args)]
struct SyncArgs {
    /// Preview: list what the cycle would track, skip or fail, and why; nothing is written and
    /// nothing changes on the server.
    #[arg(long)]
    dry_run: bool,
    /// At most this many messages per mailbox (the rest waits for the next cycle).
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Cycles running at once (each also within its profile's Maximum Concurrent Connections).
    #[arg(long, value_name = "N", default_value_t = 32)]
    parallel: usize,
    /// Messages per incoming cycle; a mailbox with more runs again at once.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    incoming_per_cycle: u32,
    /// Run what is due now once, print what each cycle did, and exit.
    #[arg(long)]
    once: bool,
}

#[derive(Debug, Subcommand)]
enum RecordCmd<Id: Clone + Send + Sync + std::str::FromStr + 'static>
where
    <Id as std::str::FromStr>::Err: std::error::Error + Send + Sync + 'static,
{
    /// New record: `--set last_name=… --set email_address_1=…`.
    Create(SetArgs),
    /// List a view (active by default).
    List {
        #[arg(long, value_parser = engine_value::<ViewChoice>, default_value = "active")]
        view: ViewChoice,
    },
    /// Show one record.
    Show { id: Id },
    /// Change fields of a record.
    Update {
        id: Id,
        #[command(flatten)]
        fields: SetArgs,
    },
    /// Activate records.
    Activate { ids: Vec<Id> },
    /// Deactivate records.
    Deactivate { ids: Vec<Id> },
    /// Import records from a CSV file whose header names the fields, all or none: a refused row
    /// refuses the file, naming its line.
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum EmailCmd {
    /// List tracked email, newest first.
    List {
        /// Email that arrived in this mailbox.
        #[arg(long)]
        mailbox: Option<MailboxId>,
        /// Text in the subject or the sender.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Show one email: parties, attachments, why it was tracked, and its body.
    Show { id: ActivityId },
    /// Write the original message (.eml) to a file, or to standard output without `--out`.
    Export {
        id: ActivityId,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Set what an email is regarding (`--contact ID`, `--account ID`, `--lead ID`), or clear it.
    Regarding {
        id: ActivityId,
        #[arg(long, conflicts_with_all = ["account", "lead", "clear"])]
        contact: Option<i64>,
        #[arg(long, conflicts_with_all = ["lead", "clear"])]
        account: Option<i64>,
        #[arg(long, conflicts_with = "clear")]
        lead: Option<i64>,
        #[arg(long)]
        clear: bool,
    },
    /// Send an email from a user's or a queue's mailbox: it goes to the outbox (Pending Send) and
    /// leaves with the mailbox's next outgoing cycle (`serversync mailbox send ID`). A recipient
    /// is an address or a record (`contact:3`, `account:1`, `lead:2`, `user:4`, `queue:1`).
    Send {
        /// The mailbox it is sent from.
        #[arg(long)]
        from: MailboxId,
        #[arg(long)]
        to: Vec<String>,
        #[arg(long)]
        cc: Vec<String>,
        #[arg(long)]
        bcc: Vec<String>,
        #[arg(long)]
        subject: String,
        /// The body as text (or HTML with `--html`).
        #[arg(long, conflicts_with = "body_file")]
        body: Option<String>,
        /// A file whose content is the body.
        #[arg(long, value_name = "FILE")]
        body_file: Option<PathBuf>,
        /// The body is HTML.
        #[arg(long)]
        html: bool,
        /// Files to attach.
        #[arg(long, value_name = "FILE")]
        attach: Vec<PathBuf>,
        /// What the email is regarding (`contact:3`, `account:1`, `lead:2`).
        #[arg(long)]
        regarding: Option<String>,
        /// Send Later: not before this time (`2026-12-24` or RFC 3339).
        #[arg(long)]
        send_after: Option<String>,
        /// The tracked email this one answers.
        #[arg(long)]
        reply_to: Option<ActivityId>,
    },
    /// The outbox: emails waiting (Pending Send), being sent, or failed, with the reason.
    Outbox {
        #[arg(long, value_parser = engine_value::<api::EmailStatus>)]
        status: Option<api::EmailStatus>,
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// Retry: put a failed email back to Pending Send.
    Retry { id: ActivityId },
    /// Messages that were not tracked (skipped by the rules, or failed), most recent first.
    Outcomes {
        #[arg(long)]
        mailbox: Option<MailboxId>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// `--set field=value`, repeatable. Values are JSON when they parse as JSON (numbers, true,
/// false, null, "quoted text"), text otherwise; a date alone means midnight UTC.
#[derive(Debug, Args, Default)]
struct SetArgs {
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    set: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum SettingsCmd {
    /// Show the settings.
    Show,
    /// Change settings.
    Update(SetArgs),
}

/// Parses a command-line value into one of the engine's own option types, through the same
/// serde names the UI uses (`my-active` and `my_active` alike): no enum is copied here.
fn engine_value<T: DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(Value::String(s.trim().replace('-', "_"))).map_err(|e| e.to_string())
}

/// The mailbox grid's views by name; `my-active` takes its owner from `--owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MailboxViewName(&'static str);

fn mailbox_view_name(s: &str) -> Result<MailboxViewName, String> {
    ["active", "my_active", "inactive", "all"]
        .into_iter()
        .find(|v| *v == s.trim().replace('-', "_"))
        .map(MailboxViewName)
        .ok_or_else(|| format!("{s:?} is not one of active, my-active, inactive, all"))
}

#[derive(Debug, Args)]
struct PasswordArgs {
    /// Read the password or secret from standard input (up to the end of input; one trailing
    /// newline is removed).
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Subcommand)]
enum ProfileCmd {
    /// New profile: `--type exchange-online|exchange-server|imap-smtp|pop3-smtp`.
    Create {
        #[arg(long = "type", value_name = "SERVER_TYPE")]
        server_type: String,
        #[arg(long)]
        name: String,
        /// Set as default profile for new mailboxes.
        #[arg(long)]
        default: bool,
        #[command(flatten)]
        fields: SetArgs,
    },
    /// List a view (Active Email Server Profiles by default).
    List {
        #[arg(long, value_parser = engine_value::<ViewChoice>, default_value = "active")]
        view: ViewChoice,
    },
    /// Show one profile.
    Show { id: ProfileId },
    /// Change fields of a profile.
    Update {
        id: ProfileId,
        #[command(flatten)]
        fields: SetArgs,
    },
    /// Activate profiles.
    Activate { ids: Vec<ProfileId> },
    /// Deactivate profiles.
    Deactivate { ids: Vec<ProfileId> },
    /// Make a profile the default for new mailboxes.
    SetDefault { id: ProfileId },
    /// Delete a profile (its mailboxes stay, without a profile).
    Delete { id: ProfileId },
    /// Store a password or OAuth secret in the keychain.
    SetSecret {
        id: ProfileId,
        #[arg(long, value_parser = engine_value::<ProfileSecretKind>)]
        kind: ProfileSecretKind,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Remove a password or OAuth secret.
    ClearSecret {
        id: ProfileId,
        #[arg(long, value_parser = engine_value::<ProfileSecretKind>)]
        kind: ProfileSecretKind,
    },
    /// Test & Enable Mailboxes: every mailbox of the profile. Ctrl-C cancels the mailboxes not
    /// yet tested. Exits with 6 when a mailbox failed.
    TestEnable { id: ProfileId },
    /// Test Connection: resolve, connect, TLS, greeting and sign-in (with the profile's own
    /// credentials, where it has some) for the incoming and the outgoing server, step by step.
    /// Exits with 6 when a step failed.
    TestConnection { id: ProfileId },
    /// Which fields a profile form shows for a server type and choices.
    Fields {
        #[arg(long = "type", value_name = "SERVER_TYPE")]
        server_type: String,
        #[command(flatten)]
        fields: SetArgs,
    },
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// New user (and its mailbox, with the organisation's default email settings).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// Grant the privilege "Approve Email Addresses for Users or Queues".
        #[arg(long)]
        can_approve: bool,
    },
    /// Import users from JSON lines on standard input, all or none: one object per line with
    /// full_name, primary_email and optionally can_approve_email.
    Import,
    /// List users.
    List {
        #[arg(long, value_parser = engine_value::<ViewChoice>, default_value = "active")]
        view: ViewChoice,
    },
    /// Show one user.
    Show { id: UserId },
    /// Change fields of a user.
    Update {
        id: UserId,
        #[command(flatten)]
        fields: SetArgs,
    },
    /// Activate users (and their mailboxes).
    Activate { ids: Vec<UserId> },
    /// Deactivate users (and their mailboxes).
    Deactivate { ids: Vec<UserId> },
}

#[derive(Debug, Subcommand)]
enum QueueCmd {
    /// New queue (and its mailbox).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        owner: Option<UserId>,
    },
    /// List queues.
    List {
        #[arg(long, value_parser = engine_value::<ViewChoice>, default_value = "active")]
        view: ViewChoice,
    },
    /// Show one queue.
    Show { id: QueueId },
    /// Change fields of a queue.
    Update {
        id: QueueId,
        #[command(flatten)]
        fields: SetArgs,
    },
    /// Activate queues (and their mailboxes).
    Activate { ids: Vec<QueueId> },
    /// Deactivate queues (and their mailboxes).
    Deactivate { ids: Vec<QueueId> },
}

#[derive(Debug, Subcommand)]
enum MailboxCmd {
    /// New forward mailbox.
    CreateForward {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[command(flatten)]
        fields: SetArgs,
    },
    /// Delete a forward mailbox.
    DeleteForward { id: MailboxId },
    /// List a view (Active Mailboxes by default).
    List {
        #[arg(long, value_parser = mailbox_view_name, default_value = "active")]
        view: MailboxViewName,
        /// The owner, for `--view my-active`.
        #[arg(long)]
        owner: Option<UserId>,
        /// Text in the name or email address.
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        profile: Option<ProfileId>,
    },
    /// Show one mailbox.
    Show { id: MailboxId },
    /// Change fields of one mailbox.
    Update {
        id: MailboxId,
        #[command(flatten)]
        fields: SetArgs,
    },
    /// Change the synchronization methods of several mailboxes at once.
    Edit {
        ids: Vec<MailboxId>,
        #[command(flatten)]
        fields: SetArgs,
    },
    /// Activate mailboxes.
    Activate { ids: Vec<MailboxId> },
    /// Deactivate mailboxes.
    Deactivate { ids: Vec<MailboxId> },
    /// Approve Email: approve the mailboxes' email addresses.
    Approve {
        ids: Vec<MailboxId>,
        /// Act as this user (default: the administrator running ServerSync).
        #[arg(long = "as", value_name = "USER_ID")]
        acting_user: Option<UserId>,
    },
    /// Reject Email: reject the mailboxes' email addresses.
    Reject {
        ids: Vec<MailboxId>,
        #[arg(long = "as", value_name = "USER_ID")]
        acting_user: Option<UserId>,
    },
    /// Apply Default Email Settings.
    ApplyDefaults { ids: Vec<MailboxId> },
    /// Set the user name and password the mailbox signs in with.
    SetCredentials {
        id: MailboxId,
        #[arg(long)]
        user_name: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Remove the mailbox's password and turn its credentials off.
    ClearCredentials { id: MailboxId },
    /// Test & Enable Mailbox: test each mailbox's configured workloads and enable what works.
    TestEnable { ids: Vec<MailboxId> },
    /// Synchronize now: one incoming cycle of each mailbox; progress on standard error. Ctrl-C
    /// stops after the batch being written (what is committed stays). Exits with 6 when a
    /// mailbox's server refused or could not be reached.
    Sync {
        #[arg(required = true)]
        ids: Vec<MailboxId>,
        #[command(flatten)]
        how: SyncArgs,
    },
    /// Where a mailbox's incoming sync stands (cursor, last sync, counters).
    SyncState { id: MailboxId },
    /// Send now: one outgoing cycle of each mailbox (its due emails from the outbox). Exits with 6
    /// when a mailbox's server refused or could not be reached.
    Send {
        #[arg(required = true)]
        ids: Vec<MailboxId>,
    },
}

#[derive(Debug, Args)]
struct AlertFilterArgs {
    #[arg(long, value_parser = engine_value::<AlertLevel>)]
    level: Option<AlertLevel>,
    #[arg(long)]
    profile: Option<ProfileId>,
    #[arg(long)]
    mailbox: Option<MailboxId>,
}

#[derive(Debug, Subcommand)]
enum AlertCmd {
    /// List alerts, most recent first.
    List(AlertFilterArgs),
    /// Delete alerts (all of them without a filter).
    Delete(AlertFilterArgs),
}

/// Prints a line to standard output; a closed pipe (`| head`) is not an error worth a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(std::io::stderr, cli.log_format, cli.verbose);
    let lang = cli.lang.as_deref().and_then(Lang::from_locale).unwrap_or_else(Lang::from_env);
    let json = cli.json;
    JSON.store(json, std::sync::atomic::Ordering::Relaxed);
    // One worker does for a command; `serve` runs many mailboxes and uses every core.
    let workers = match cli.command {
        Command::Serve(_) => std::thread::available_parallelism().map_or(2, |n| n.get()),
        _ => 1,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("serversync: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(output) => {
            print_output(&output, json);
            ExitCode::from(output.exit)
        }
        Err(e) => {
            print_error(&e, lang, json);
            ExitCode::from(exit_code(e.kind()))
        }
    }
}

fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Validation => 2,
        ErrorKind::NotFound => 3,
        ErrorKind::Forbidden => 4,
        ErrorKind::Keychain => 5,
        ErrorKind::Server | ErrorKind::Unavailable => 6,
        ErrorKind::Storage | ErrorKind::Io | ErrorKind::Internal => 1,
    }
}

fn print_error(e: &Error, lang: Lang, json: bool) {
    if json {
        let body = serde_json::json!({ "error": e.to_dto(lang) });
        out!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
    } else {
        eprintln!("error: {} [{}]", e.message(lang), e.code());
        if let Some(detail) = e.detail() {
            eprintln!("  detail: {detail}");
        }
    }
}

/// What a command produced: a JSON value plus how to print it for a person.
struct Output {
    value: Value,
    columns: &'static [&'static str],
    /// The exit code after printing (0, or 6 when a test ran and failed).
    exit: u8,
}

fn output<T: Serialize>(v: &T, columns: &'static [&'static str]) -> Result<Output, Error> {
    Ok(Output { value: serde_json::to_value(v).map_err(Error::internal)?, columns, exit: 0 })
}

fn print_output(o: &Output, json: bool) {
    if json {
        out!("{}", serde_json::to_string_pretty(&o.value).unwrap_or_default());
        return;
    }
    match &o.value {
        Value::Array(rows) if !o.columns.is_empty() => print_table(rows, o.columns),
        Value::Array(rows) => {
            for r in rows {
                print_record(r);
                out!();
            }
        }
        Value::Object(_) => print_record(&o.value),
        Value::Null => {}
        other => out!("{}", plain(other)),
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_record(v: &Value) {
    if let Value::Object(map) = v {
        let width = map.keys().map(String::len).max().unwrap_or(0);
        for (k, v) in map {
            out!("{k:<width$}  {}", plain(v));
        }
    } else {
        out!("{}", plain(v));
    }
}

fn print_table(rows: &[Value], columns: &[&str]) {
    let cells: Vec<Vec<String>> =
        rows.iter().map(|r| columns.iter().map(|c| r.get(*c).map(plain).unwrap_or_default()).collect()).collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| cells.iter().map(|r| r[i].chars().count()).max().unwrap_or(0).max(c.len()))
        .collect();
    let line = |vals: Vec<&str>| {
        let parts: Vec<String> = vals.iter().zip(&widths).map(|(v, w)| format!("{v:<w$}")).collect();
        out!("{}", parts.join("  ").trim_end());
    };
    line(columns.to_vec());
    for r in &cells {
        line(r.iter().map(String::as_str).collect());
    }
    out!("({} {})", rows.len(), if rows.len() == 1 { "record" } else { "records" });
}

/// Builds a JSON object from `--set field=value` pairs, then reads it as the change set `T`.
fn changes<T: serde::de::DeserializeOwned>(args: &SetArgs) -> Result<T, Error> {
    let mut map = Map::new();
    for pair in &args.set {
        let Some((field, raw)) = pair.split_once('=') else {
            return Err(Error::validation("cli.set_syntax").param("arg", pair));
        };
        map.insert(field.trim().to_owned(), parse_value(raw));
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| Error::validation("cli.invalid_input").param("detail", e))
}

fn parse_value(raw: &str) -> Value {
    let is_date = raw.len() == 10
        && raw.chars().enumerate().all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() });
    if is_date {
        return Value::String(format!("{raw}T00:00:00Z"));
    }
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

fn read_password(args: &PasswordArgs) -> Result<Secret, Error> {
    let text = if args.password_stdin {
        let mut buf = String::new();
        std::io::stdin()
            .read_to_string(&mut buf)
            .map_err(|e| Error::validation("cli.invalid_input").param("detail", e))?;
        if buf.ends_with('\n') {
            buf.pop();
            if buf.ends_with('\r') {
                buf.pop();
            }
        }
        buf
    } else if std::io::stdin().is_terminal() {
        let _ = std::io::stderr().flush();
        rpassword::prompt_password("Password: ")
            .map_err(|e| Error::validation("cli.invalid_input").param("detail", e))?
    } else {
        return Err(Error::validation("cli.password_stdin_required"));
    };
    let secret = Secret::new(text);
    if secret.is_empty() {
        return Err(Error::validation("secret.empty"));
    }
    Ok(secret)
}

fn server_type(s: &str) -> Result<ServerType, Error> {
    s.parse()
}

fn state_of(activate: bool) -> RecordState {
    if activate { RecordState::Active } else { RecordState::Inactive }
}

const PROFILE_COLUMNS: &[&str] =
    &["id", "name", "server_type", "state", "incoming_location", "incoming_credential_mode"];
const USER_COLUMNS: &[&str] = &["id", "full_name", "primary_email", "state", "mailbox_id"];
const QUEUE_COLUMNS: &[&str] = &["id", "name", "email_address", "state", "mailbox_id"];
const MAILBOX_COLUMNS: &[&str] = &[
    "id",
    "name",
    "email_address",
    "kind",
    "email_address_status",
    "profile_id",
    "incoming_method",
    "outgoing_method",
    "act_method",
    "incoming_status",
    "outgoing_status",
];
const ALERT_COLUMNS: &[&str] = &["id", "level", "code", "regarding", "last_seen", "count"];

async fn run(cli: Cli) -> Result<Output, Error> {
    let data_dir = match cli.data_dir {
        Some(d) => d,
        None => serversync::default_data_dir(Flavor::current())?,
    };
    let engine = Engine::open(EngineConfig::new(data_dir)).await?;
    let lang = cli.lang.as_deref().and_then(Lang::from_locale).unwrap_or_else(Lang::from_env);
    let out = dispatch(&engine, cli.command, lang).await;
    engine.close().await?;
    out
}

async fn dispatch(e: &Engine, command: Command, lang: Lang) -> Result<Output, Error> {
    match command {
        Command::Status => {
            let keychain = match e.check_keychain().await {
                Ok(()) => "available".to_owned(),
                Err(err) => format!("unavailable ({})", err.code()),
            };
            output(
                &serde_json::json!({
                    "data_dir": e.data_dir().display().to_string(),
                    "database": e.database_path().display().to_string(),
                    "schema_version": serversync::store::LATEST_VERSION,
                    "keychain": keychain,
                }),
                &[],
            )
        }
        Command::Settings(cmd) => match cmd {
            SettingsCmd::Show => output(&api::get_settings(e).await?, &[]),
            SettingsCmd::Update(args) => output(&api::update_settings(e, changes(&args)?).await?, &[]),
        },
        Command::Profile(cmd) => profile(e, cmd, lang).await,
        Command::User(cmd) => user(e, cmd).await,
        Command::Queue(cmd) => queue(e, cmd).await,
        Command::Mailbox(cmd) => mailbox(e, cmd, lang).await,
        Command::Alert(cmd) => alert(e, cmd).await,
        Command::Contact(cmd) => records::<ContactId>(e, cmd).await,
        Command::Account(cmd) => records::<AccountId>(e, cmd).await,
        Command::Lead(cmd) => records::<LeadId>(e, cmd).await,
        Command::Email(cmd) => email(e, cmd).await,
        Command::Sync { all: _, how } => sync(e, api::SyncScope::All, how, lang).await,
        Command::Serve(args) => serve(e, args).await,
    }
}

const CYCLE_COLUMNS: &[&str] =
    &["mailbox_id", "workload", "outcome", "items", "failed_items", "error_code", "disabled", "next_run_on"];

/// `serve`: the scheduler until a signal (then the engine closes: running cycles stop at a safe
/// point, what is committed stays, leases are let go); or one pass with `--once`.
async fn serve(e: &Engine, args: ServeArgs) -> Result<Output, Error> {
    let options = api::SchedulerOptions {
        parallel: args.parallel.max(1),
        incoming_per_cycle: args.incoming_per_cycle.max(1),
        ..Default::default()
    };
    if args.once {
        return output(&api::run_due_workloads(e, options).await?, CYCLE_COLUMNS);
    }
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(Error::internal)?;
    api::start_scheduler(e, options).await?;
    tracing::info!(pid = std::process::id(), data_dir = %e.data_dir().display(), "serving");
    eprintln!(
        "serversync: serving {} (pid {}); stop with Ctrl+C or SIGTERM",
        e.data_dir().display(),
        std::process::id()
    );
    let signal = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    };
    tracing::info!(signal, "stopping: running cycles stop at a safe point");
    let status = api::scheduler_status(e).await?;
    output(&status, &[])
}

/// Active / Inactive / All: the profile views and the user and queue views share their names,
/// so one parsed choice serves both.
type ViewChoice = ProfileView;

fn profile_view(v: ViewChoice) -> ProfileView {
    v
}

fn principal_view(v: ViewChoice) -> PrincipalView {
    match v {
        ProfileView::Active => PrincipalView::Active,
        ProfileView::Inactive => PrincipalView::Inactive,
        ProfileView::All => PrincipalView::All,
    }
}

async fn profile(e: &Engine, cmd: ProfileCmd, lang: Lang) -> Result<Output, Error> {
    match cmd {
        ProfileCmd::Create { server_type: t, name, default, fields } => {
            let req = api::CreateProfile {
                server_type: server_type(&t)?,
                name,
                changes: changes(&fields)?,
                set_as_default: default,
            };
            output(&api::create_profile(e, req).await?, &[])
        }
        ProfileCmd::List { view } => output(&api::list_profiles(e, profile_view(view)).await?, PROFILE_COLUMNS),
        ProfileCmd::Show { id } => output(&api::get_profile(e, id).await?, &[]),
        ProfileCmd::Update { id, fields } => output(&api::update_profile(e, id, changes(&fields)?).await?, &[]),
        ProfileCmd::Activate { ids } => output(&api::set_profile_state(e, ids, state_of(true)).await?, PROFILE_COLUMNS),
        ProfileCmd::Deactivate { ids } => {
            output(&api::set_profile_state(e, ids, state_of(false)).await?, PROFILE_COLUMNS)
        }
        ProfileCmd::SetDefault { id } => output(&api::set_default_profile(e, id).await?, &[]),
        ProfileCmd::Delete { id } => {
            api::delete_profile(e, id).await?;
            output(&serde_json::json!({ "deleted": id }), &[])
        }
        ProfileCmd::SetSecret { id, kind, password } => {
            let secret = read_password(&password)?;
            output(&api::set_profile_secret(e, id, kind, secret).await?, &[])
        }
        ProfileCmd::ClearSecret { id, kind } => output(&api::clear_profile_secret(e, id, kind).await?, &[]),
        ProfileCmd::TestEnable { id } => test_enable(e, api::TestAndEnableScope::Profile(id), lang).await,
        ProfileCmd::TestConnection { id } => {
            let t = api::test_profile_connection(e, id).await?;
            for step in t.steps.iter().filter(|s| !s.error_code.is_empty()) {
                eprintln!("{}", serversync::i18n::render(lang, &step.error_code, &step.error_params));
            }
            let mut o = output(&t.steps, STEP_COLUMNS)?;
            o.exit = if t.status == serversync::api::TestExecutionStatus::Success { 0 } else { 6 };
            Ok(o)
        }
        ProfileCmd::Fields { server_type: t, fields } => {
            output(&api::profile_form_fields(e, server_type(&t)?, changes(&fields)?).await?, &[])
        }
    }
}

async fn user(e: &Engine, cmd: UserCmd) -> Result<Output, Error> {
    match cmd {
        UserCmd::Create { name, email, can_approve } => {
            let req = api::CreateUser {
                full_name: name,
                primary_email: email,
                can_approve_email: can_approve,
                incoming_filtering_method: None,
            };
            output(&api::create_user(e, req).await?, &[])
        }
        UserCmd::Import => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::validation("cli.invalid_input").param("detail", e))?;
            let mut users = Vec::new();
            for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let user: api::CreateUser = serde_json::from_str(line).map_err(|e| {
                    Error::validation("cli.invalid_input").param("detail", format!("line {}: {e}", i + 1))
                })?;
                users.push(user);
            }
            output(&serde_json::json!({ "imported": api::import_users(e, users).await? }), &[])
        }
        UserCmd::List { view } => output(&api::list_users(e, principal_view(view)).await?, USER_COLUMNS),
        UserCmd::Show { id } => output(&api::get_user(e, id).await?, &[]),
        UserCmd::Update { id, fields } => output(&api::update_user(e, id, changes(&fields)?).await?, &[]),
        UserCmd::Activate { ids } => output(&api::set_user_state(e, ids, state_of(true)).await?, USER_COLUMNS),
        UserCmd::Deactivate { ids } => output(&api::set_user_state(e, ids, state_of(false)).await?, USER_COLUMNS),
    }
}

async fn queue(e: &Engine, cmd: QueueCmd) -> Result<Output, Error> {
    match cmd {
        QueueCmd::Create { name, email, owner } => {
            let req =
                api::CreateQueue { name, email_address: email, owner_user_id: owner, incoming_filtering_method: None };
            output(&api::create_queue(e, req).await?, &[])
        }
        QueueCmd::List { view } => output(&api::list_queues(e, principal_view(view)).await?, QUEUE_COLUMNS),
        QueueCmd::Show { id } => output(&api::get_queue(e, id).await?, &[]),
        QueueCmd::Update { id, fields } => output(&api::update_queue(e, id, changes(&fields)?).await?, &[]),
        QueueCmd::Activate { ids } => output(&api::set_queue_state(e, ids, state_of(true)).await?, QUEUE_COLUMNS),
        QueueCmd::Deactivate { ids } => output(&api::set_queue_state(e, ids, state_of(false)).await?, QUEUE_COLUMNS),
    }
}

async fn mailbox(e: &Engine, cmd: MailboxCmd, lang: Lang) -> Result<Output, Error> {
    match cmd {
        MailboxCmd::CreateForward { name, email, fields } => {
            let req = api::CreateForwardMailbox { name, email_address: email, changes: changes(&fields)? };
            output(&api::create_forward_mailbox(e, req).await?, &[])
        }
        MailboxCmd::DeleteForward { id } => {
            api::delete_forward_mailbox(e, id).await?;
            output(&serde_json::json!({ "deleted": id }), &[])
        }
        MailboxCmd::List { view, owner, search, profile } => {
            let view = match (view.0, owner) {
                ("my_active", None) => return Err(Error::validation("field.required").param("field", "--owner")),
                (name, owner) => {
                    let tagged = match owner {
                        Some(owner) => serde_json::json!({ "view": name, "owner": owner }),
                        None => serde_json::json!({ "view": name }),
                    };
                    serde_json::from_value::<MailboxView>(tagged).map_err(Error::internal)?
                }
            };
            let q = MailboxQuery { view, search, profile_id: profile, senders_only: false };
            output(&api::list_mailboxes(e, q).await?, MAILBOX_COLUMNS)
        }
        MailboxCmd::Show { id } => output(&api::get_mailbox(e, id).await?, &[]),
        MailboxCmd::Update { id, fields } => output(&api::update_mailbox(e, id, changes(&fields)?).await?, &[]),
        MailboxCmd::Edit { ids, fields } => {
            output(&api::edit_mailboxes(e, ids, changes(&fields)?).await?, MAILBOX_COLUMNS)
        }
        MailboxCmd::Activate { ids } => output(&api::set_mailbox_state(e, ids, state_of(true)).await?, MAILBOX_COLUMNS),
        MailboxCmd::Deactivate { ids } => {
            output(&api::set_mailbox_state(e, ids, state_of(false)).await?, MAILBOX_COLUMNS)
        }
        MailboxCmd::Approve { ids, acting_user } => {
            output(&api::approve_mailboxes(e, ids, acting_user).await?, MAILBOX_COLUMNS)
        }
        MailboxCmd::Reject { ids, acting_user } => {
            output(&api::reject_mailboxes(e, ids, acting_user).await?, MAILBOX_COLUMNS)
        }
        MailboxCmd::ApplyDefaults { ids } => output(&api::apply_default_settings(e, ids).await?, MAILBOX_COLUMNS),
        MailboxCmd::SetCredentials { id, user_name, password } => {
            let secret = read_password(&password)?;
            output(&api::set_mailbox_credentials(e, id, user_name, secret).await?, &[])
        }
        MailboxCmd::ClearCredentials { id } => output(&api::clear_mailbox_credentials(e, id).await?, &[]),
        MailboxCmd::TestEnable { ids } => test_enable(e, api::TestAndEnableScope::Mailboxes(ids), lang).await,
        MailboxCmd::Sync { ids, how } => sync(e, api::SyncScope::Mailboxes(ids), how, lang).await,
        MailboxCmd::SyncState { id } => output(&api::get_sync_state(e, id).await?, &[]),
        MailboxCmd::Send { ids } => {
            let results = api::send_pending(e, ids, lang).await?;
            let mut exit = 0;
            for r in &results {
                match &r.error {
                    Some(err) => {
                        eprintln!("mailbox {}: {} [{}]", r.mailbox_id, err.message, err.code);
                        if exit == 0 {
                            exit = exit_code(err.kind);
                        }
                    }
                    None => eprintln!(
                        "mailbox {}: {} sent, {} failed, {} to try again",
                        r.mailbox_id, r.sent, r.failed, r.retried_later
                    ),
                }
            }
            let mut o = output(&results, SEND_COLUMNS)?;
            o.exit = exit;
            Ok(o)
        }
    }
}

const SYNC_COLUMNS: &[&str] =
    &["mailbox_id", "mailbox_name", "tracked", "already_tracked", "skipped", "failed", "passed_over", "error"];
const PREVIEW_COLUMNS: &[&str] = &["server_ref", "subject", "from", "result", "why"];

/// Why a message of a report went the way it did, in a line.
fn why(item: &api::ItemReport, lang: Lang) -> String {
    if !item.code.is_empty() {
        return serversync::i18n::render(lang, &item.code, &item.params);
    }
    let mut parts = Vec::new();
    if let (Some(a), Some(f)) = (&item.accepting, item.accepting_filter) {
        parts.push(format!("accepted by {} {} ({})", a.entity, a.id, f));
    }
    if item.correlation != api::CorrelationMethod::None {
        let with = item.correlated_with.map(|a| format!(" with email {a}")).unwrap_or_default();
        parts.push(format!("correlated by {}{with}", item.correlation));
    }
    let resolved: Vec<String> = item
        .parties
        .iter()
        .filter_map(|p| p.record.as_ref().map(|r| format!("{} {}={} {}", p.role, p.address, r.entity, r.id)))
        .collect();
    if !resolved.is_empty() {
        parts.push(format!("resolved {}", resolved.join(", ")));
    }
    if let Some(a) = item.activity_id {
        parts.push(format!("email {a}"));
    }
    parts.join("; ")
}

/// Synchronize now (or preview): progress on standard error, the result on standard output.
async fn sync(e: &Engine, scope: api::SyncScope, how: SyncArgs, lang: Lang) -> Result<Output, Error> {
    let request = api::SyncRequest { preview: how.dry_run, max_messages: how.limit };
    let progress = std::sync::Arc::new(|p: api::SyncProgress| {
        eprintln!("mailbox {}: {}/{} messages", p.mailbox_id, p.done, p.planned);
    });
    let run = api::sync_mailboxes(e, scope, request, lang, progress);
    let mut run = std::pin::pin!(run);
    let results = tokio::select! {
        r = &mut run => r?,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("Stopping after the batch being written; what is committed stays.");
            let (r, _) = tokio::join!(run, e.close());
            r?
        }
    };
    let mut exit = 0u8;
    for r in &results {
        match (&r.error, &r.report) {
            (Some(err), _) => {
                eprintln!("{}: {} [{}]", r.mailbox_name, err.message, err.code);
                if exit == 0 {
                    exit = exit_code(err.kind);
                }
            }
            (None, Some(rep)) => eprintln!(
                "{}: {} tracked, {} already tracked, {} skipped, {} failed{}",
                r.mailbox_name,
                rep.tracked,
                rep.already_tracked,
                rep.skipped,
                rep.failed,
                if rep.interrupted { " (stopped early)" } else { "" }
            ),
            (None, None) => {}
        }
    }
    let mut o = if how.dry_run {
        let rows: Vec<Value> = results
            .iter()
            .filter_map(|r| r.report.as_ref())
            .flat_map(|rep| rep.items.iter())
            .map(|i| {
                let mut v = serde_json::to_value(i).unwrap_or_default();
                if let Value::Object(m) = &mut v {
                    m.insert("why".into(), Value::String(why(i, lang)));
                }
                v
            })
            .collect();
        if e_json_wanted() { output(&results, &[])? } else { output(&rows, PREVIEW_COLUMNS)? }
    } else {
        let rows: Vec<Value> = results
            .iter()
            .map(|r| {
                let rep = r.report.as_ref();
                serde_json::json!({
                    "mailbox_id": r.mailbox_id,
                    "mailbox_name": r.mailbox_name,
                    "tracked": rep.map(|x| x.tracked),
                    "already_tracked": rep.map(|x| x.already_tracked),
                    "skipped": rep.map(|x| x.skipped),
                    "failed": rep.map(|x| x.failed),
                    "passed_over": rep.map(|x| x.passed_over),
                    "error": r.error.as_ref().map(|e| e.code.clone()),
                })
            })
            .collect();
        if e_json_wanted() { output(&results, &[])? } else { output(&rows, SYNC_COLUMNS)? }
    };
    o.exit = exit;
    Ok(o)
}

/// Whether `--json` was asked for (the JSON output is the API's whole result).
fn e_json_wanted() -> bool {
    JSON.load(std::sync::atomic::Ordering::Relaxed)
}

static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The calls of one record kind (contacts, accounts, leads), by id type.
trait RecordKind: Sized + Clone + Send + Sync + std::str::FromStr + 'static {
    type Changes: DeserializeOwned + Send;
    const COLUMNS: &'static [&'static str];
    async fn create(e: &Engine, c: Self::Changes) -> Result<Value, Error>;
    async fn update(e: &Engine, id: Self, c: Self::Changes) -> Result<Value, Error>;
    async fn get(e: &Engine, id: Self) -> Result<Value, Error>;
    async fn list(e: &Engine, view: PrincipalView) -> Result<Value, Error>;
    async fn set_state(e: &Engine, ids: Vec<Self>, state: RecordState) -> Result<Value, Error>;
    async fn import(e: &Engine, csv: String) -> Result<Value, Error>;
}

fn json<T: Serialize>(v: T) -> Result<Value, Error> {
    serde_json::to_value(v).map_err(Error::internal)
}

macro_rules! record_kind {
    ($id:ident, $changes:ident, $columns:expr, $create:ident, $update:ident, $get:ident, $list:ident, $set_state:ident, $import:ident) => {
        impl RecordKind for $id {
            type Changes = api::$changes;
            const COLUMNS: &'static [&'static str] = $columns;
            async fn create(e: &Engine, c: Self::Changes) -> Result<Value, Error> {
                json(api::$create(e, c).await?)
            }
            async fn update(e: &Engine, id: Self, c: Self::Changes) -> Result<Value, Error> {
                json(api::$update(e, id, c).await?)
            }
            async fn get(e: &Engine, id: Self) -> Result<Value, Error> {
                json(api::$get(e, id).await?)
            }
            async fn list(e: &Engine, view: PrincipalView) -> Result<Value, Error> {
                json(api::$list(e, view).await?)
            }
            async fn set_state(e: &Engine, ids: Vec<Self>, state: RecordState) -> Result<Value, Error> {
                json(api::$set_state(e, ids, state).await?)
            }
            async fn import(e: &Engine, csv: String) -> Result<Value, Error> {
                json(api::$import(e, csv).await?)
            }
        }
    };
}

const PERSON_COLUMNS: &[&str] = &["id", "first_name", "last_name", "email_address_1", "owner_user_id", "state"];
record_kind!(
    ContactId,
    ContactChanges,
    PERSON_COLUMNS,
    create_contact,
    update_contact,
    get_contact,
    list_contacts,
    set_contact_state,
    import_contacts
);
record_kind!(
    AccountId,
    AccountChanges,
    &["id", "name", "email_address_1", "owner_user_id", "state"],
    create_account,
    update_account,
    get_account,
    list_accounts,
    set_account_state,
    import_accounts
);
record_kind!(
    LeadId,
    LeadChanges,
    PERSON_COLUMNS,
    create_lead,
    update_lead,
    get_lead,
    list_leads,
    set_lead_state,
    import_leads
);

async fn records<K: RecordKind>(e: &Engine, cmd: RecordCmd<K>) -> Result<Output, Error>
where
    <K as std::str::FromStr>::Err: std::error::Error + Send + Sync + 'static,
{
    let value = match cmd {
        RecordCmd::Create(fields) => K::create(e, changes(&fields)?).await?,
        RecordCmd::List { view } => {
            let v = K::list(e, principal_view(view)).await?;
            return Ok(Output { value: v, columns: K::COLUMNS, exit: 0 });
        }
        RecordCmd::Show { id } => K::get(e, id).await?,
        RecordCmd::Update { id, fields } => K::update(e, id, changes(&fields)?).await?,
        RecordCmd::Activate { ids } => K::set_state(e, ids, state_of(true)).await?,
        RecordCmd::Deactivate { ids } => K::set_state(e, ids, state_of(false)).await?,
        RecordCmd::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|err| Error::validation("import.unreadable").param("file", file.display()).with_detail(err))?;
            K::import(e, text).await?
        }
    };
    Ok(Output { value, columns: &[], exit: 0 })
}

const SEND_COLUMNS: &[&str] = &["mailbox_id", "sent", "found_sent", "failed", "retried_later", "possible_duplicates"];
const OUTBOX_COLUMNS: &[&str] =
    &["id", "status", "delivery_attempts", "sender_mailbox_name", "to", "subject", "last_error_code"];

/// A record reference written `entity:id` (`contact:3`).
fn record_ref(s: &str) -> Result<api::RecordRef, Error> {
    let bad = || Error::validation("cli.invalid_input").param("detail", format!("{s:?} is not ENTITY:ID (contact:3)"));
    let (entity, id) = s.split_once(':').ok_or_else(bad)?;
    Ok(api::RecordRef { entity: entity.parse()?, id: id.trim().parse().map_err(|_| bad())? })
}

/// A recipient: `entity:id` for a record, an address otherwise.
fn recipient(s: &str) -> Result<api::Recipient, Error> {
    let is_record = s
        .split_once(':')
        .is_some_and(|(e, id)| e.parse::<api::EmailEntity>().is_ok() && id.trim().parse::<i64>().is_ok());
    Ok(if is_record {
        api::Recipient { record: Some(record_ref(s)?), address: None }
    } else {
        api::Recipient { record: None, address: Some(s.trim().to_owned()) }
    })
}

fn file_bytes(path: &PathBuf) -> Result<Vec<u8>, Error> {
    std::fs::read(path)
        .map_err(|err| Error::validation("import.unreadable").param("file", path.display()).with_detail(err))
}

const EMAIL_COLUMNS: &[&str] =
    &["id", "received_on", "sender", "subject", "receiving_mailbox_name", "correlation_method"];
const OUTCOME_COLUMNS: &[&str] = &["occurred_on", "mailbox_id", "outcome", "code", "subject", "moved_to_undeliverable"];

async fn email(e: &Engine, cmd: EmailCmd) -> Result<Output, Error> {
    match cmd {
        EmailCmd::List { mailbox, search, limit, offset } => {
            let filter = api::EmailActivityFilter { mailbox_id: mailbox, search, ..Default::default() };
            let page = api::list_email_activities(e, filter, offset, limit).await?;
            if e_json_wanted() { output(&page, &[]) } else { output(&page.rows, EMAIL_COLUMNS) }
        }
        EmailCmd::Show { id } => output(&api::get_email_activity(e, id).await?, &[]),
        EmailCmd::Export { id, out } => {
            let raw = api::email_raw(e, id).await?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &raw).map_err(|err| {
                        Error::new(ErrorKind::Io, "export.failed").param("file", path.display()).with_detail(err)
                    })?;
                    output(&serde_json::json!({ "written": path.display().to_string(), "bytes": raw.len() }), &[])
                }
                None => {
                    let _ = std::io::stdout().lock().write_all(&raw);
                    Ok(Output { value: Value::Null, columns: &[], exit: 0 })
                }
            }
        }
        EmailCmd::Regarding { id, contact, account, lead, clear: _ } => {
            let regarding = match (contact, account, lead) {
                (Some(c), _, _) => Some(api::RecordRef { entity: api::EmailEntity::Contact, id: c }),
                (_, Some(a), _) => Some(api::RecordRef { entity: api::EmailEntity::Account, id: a }),
                (_, _, Some(l)) => Some(api::RecordRef { entity: api::EmailEntity::Lead, id: l }),
                _ => None,
            };
            output(&api::set_email_regarding(e, id, regarding).await?, &[])
        }
        EmailCmd::Send {
            from,
            to,
            cc,
            bcc,
            subject,
            body,
            body_file,
            html,
            attach,
            regarding,
            send_after,
            reply_to,
        } => {
            use base64::Engine as _;
            let body = match (body, body_file) {
                (Some(b), _) => b,
                (None, Some(f)) => String::from_utf8_lossy(&file_bytes(&f)?).into_owned(),
                (None, None) => String::new(),
            };
            let mut attachments = Vec::new();
            for path in &attach {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                attachments.push(api::OutgoingAttachment {
                    file_name: name,
                    mime_type: String::new(),
                    content_base64: base64::engine::general_purpose::STANDARD.encode(file_bytes(path)?),
                });
            }
            let list = |v: &[String]| v.iter().map(|s| recipient(s)).collect::<Result<Vec<_>, Error>>();
            let send_after = match send_after {
                Some(s) => Some(serde_json::from_value(parse_value(&s)).map_err(|e| {
                    Error::validation("cli.invalid_input").param("detail", format!("--send-after: {e}"))
                })?),
                None => None,
            };
            let req = api::SendEmail {
                from_mailbox_id: from,
                to: list(&to)?,
                cc: list(&cc)?,
                bcc: list(&bcc)?,
                subject,
                body_text: if html { String::new() } else { body.clone() },
                body_html: if html { body } else { String::new() },
                attachments,
                regarding: regarding.as_deref().map(record_ref).transpose()?,
                send_after,
                in_reply_to: reply_to,
            };
            output(&api::send_email(e, req).await?, &[])
        }
        EmailCmd::Outbox { status, limit } => output(&api::list_outbox(e, status, limit).await?, OUTBOX_COLUMNS),
        EmailCmd::Retry { id } => output(&api::retry_email(e, id).await?, &[]),
        EmailCmd::Outcomes { mailbox, limit } => {
            output(&api::list_item_outcomes(e, mailbox, limit).await?, OUTCOME_COLUMNS)
        }
    }
}

const JOB_ITEM_COLUMNS: &[&str] = &["mailbox_id", "mailbox_name", "state", "error_code"];
const STEP_COLUMNS: &[&str] = &["direction", "kind", "outcome", "duration_ms", "info", "error_code"];

/// Starts a Test & Enable job and follows it to the end, one line per mailbox as it finishes
/// (on standard error, so `--json` output stays one document). Ctrl-C cancels the mailboxes not
/// yet tested; the ones being tested finish.
async fn test_enable(e: &Engine, scope: api::TestAndEnableScope, lang: Lang) -> Result<Output, Error> {
    let mut changes = e.subscribe_job_changes();
    let job = api::start_test_and_enable(e, scope).await?;
    let id = job.job.id;
    let total = job.total;
    eprintln!("Test & Enable: {total} mailbox(es)");
    let mut reported = std::collections::BTreeSet::new();
    let report = |reported: &mut std::collections::BTreeSet<_>, item: &api::JobItem| {
        let finished = !matches!(item.state, JobItemState::Pending | JobItemState::Testing);
        if finished && reported.insert(item.mailbox_id) {
            let why = if item.error_code.is_empty() {
                String::new()
            } else {
                format!(": {}", serversync::i18n::render(lang, &item.error_code, &item.error_params))
            };
            eprintln!("[{}/{}] {} — {}{}", reported.len(), total, item.mailbox_name, item.state, why);
        }
    };
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    let mut cancelled = false;
    // A change of one mailbox reads that mailbox only; the whole job is read when the job itself
    // changed (or notifications were missed), so following a job costs the same per mailbox
    // however large it is.
    let mut wake = api::JobWake::Job;
    loop {
        match wake {
            api::JobWake::Item(mailbox) => report(&mut reported, &api::get_job_item(e, id, mailbox).await?),
            api::JobWake::Job => {
                let now = api::get_job(e, id).await?;
                for item in &now.items {
                    report(&mut reported, item);
                }
                if now.finished {
                    let mut o = output(&now.items, JOB_ITEM_COLUMNS)?;
                    let all_ok = now.items.iter().all(|i| i.state == JobItemState::Success);
                    o.exit = if all_ok { 0 } else { 6 };
                    return Ok(o);
                }
            }
        }
        tokio::select! {
            w = api::next_job_change(&mut changes, id, std::time::Duration::from_secs(1)) => wake = w,
            _ = &mut interrupt, if !cancelled => {
                cancelled = true;
                eprintln!("Cancelling: the mailboxes being tested finish, the others are not tested.");
                api::cancel_job(e, id).await?;
                wake = api::JobWake::Job;
            }
        }
    }
}

fn alert_filter(a: AlertFilterArgs) -> AlertFilter {
    AlertFilter { level: a.level, profile_id: a.profile, mailbox_id: a.mailbox }
}

async fn alert(e: &Engine, cmd: AlertCmd) -> Result<Output, Error> {
    match cmd {
        AlertCmd::List(f) => output(&api::list_alerts(e, alert_filter(f)).await?, ALERT_COLUMNS),
        AlertCmd::Delete(f) => {
            output(&serde_json::json!({ "deleted": api::delete_alerts(e, alert_filter(f)).await? }), &[])
        }
    }
}
