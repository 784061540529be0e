//! Real mail servers for the tests: Dovecot (IMAP, POP3, LMTP) and Postfix (SMTP submission),
//! started on free 127.0.0.1 ports in a throwaway directory by `tests/servers/up.sh`, with a
//! throwaway certificate authority, and stopped when the value is dropped.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running set of servers.
#[derive(Debug)]
pub struct MailServers {
    dir: tempfile::TempDir,
    ports: Value,
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("servers")
}

fn run(script: &str, args: &[&str]) -> std::process::Output {
    run_env(script, args, &[])
}

fn run_env(script: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let out = Command::new("bash")
        .arg(scripts().join(script))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl MailServers {
    /// Starts the servers with these users (`name`, `password`); each receives mail at
    /// `name@localhost`.
    pub fn start(users: &[(&str, &str)]) -> MailServers {
        MailServers::start_with(users, &[])
    }

    /// Like [`MailServers::start`], with `up.sh`'s environment settings (e.g. `AUTH_MECHANISMS`).
    pub fn start_with(users: &[(&str, &str)], env: &[(&str, &str)]) -> MailServers {
        let dir =
            tempfile::Builder::new().prefix("serversync-mail-").tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let list: String = users.iter().map(|(u, p)| format!("{u}:{p}\n")).collect();
        std::fs::write(dir.path().join("users.txt"), list).unwrap_or_else(|e| panic!("users.txt: {e}"));
        let state = dir.path().to_string_lossy().into_owned();
        run_env("up.sh", &[&state], env);
        let json = std::fs::read(dir.path().join("ports.json")).unwrap_or_else(|e| panic!("ports.json: {e}"));
        let ports = serde_json::from_slice(&json).unwrap_or_else(|e| panic!("ports.json: {e}"));
        MailServers { dir, ports }
    }

    /// A port by its name in `ports.json` (`IMAPS_PORT`, `SMTP_PORT`, …).
    pub fn port(&self, name: &str) -> u16 {
        self.ports
            .get(name)
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_else(|| panic!("ports.json has no {name}: {}", self.ports))
    }

    /// The throwaway certificate authority that signed the servers' certificates.
    pub fn ca_file(&self) -> String {
        self.dir.path().join("ca.pem").to_string_lossy().into_owned()
    }

    /// The most connections each service had open at once since the servers started, read from
    /// the servers' own logs (`{"imap": n, "pop3": n, "smtp": n}`).
    pub fn max_connections(&self) -> Value {
        let state = self.dir.path().to_string_lossy().into_owned();
        let out = run("max-conn.sh", &[&state]);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("max-conn.sh printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// Starts a new counting window for [`MailServers::max_connections`] now (connections open
    /// at this moment count in it too).
    pub fn reset_max_connections(&self) {
        let state = self.dir.path().to_string_lossy().into_owned();
        run("max-conn.sh", &[&state, "--reset"]);
    }

    /// A signed OAuth 2.0 access token (JWT) for `user` that the servers accept for SASL
    /// XOAUTH2, valid for ten minutes.
    pub fn mint_token(&self, user: &str) -> String {
        let state = self.dir.path().to_string_lossy().into_owned();
        let out = run("mint-token.sh", &[&state, user]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The servers' state directory (logs, mail).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for MailServers {
    fn drop(&mut self) {
        let state = self.dir.path().to_string_lossy().into_owned();
        let _ = Command::new("bash").arg(scripts().join("down.sh")).arg(&state).output();
    }
}

/// An endpoint of these servers on `host` (`localhost`, `127.0.0.2`), with a 10 s policy.
pub fn endpoint(
    servers: &MailServers,
    host: &str,
    port: &str,
    security: serversync::protocol::Security,
) -> serversync::protocol::Endpoint {
    serversync::protocol::Endpoint {
        host: host.into(),
        port: servers.port(port),
        security,
        timeouts: serversync::protocol::Timeouts::from_profile(std::time::Duration::from_secs(10)),
        ca_file: servers.ca_file(),
    }
}

/// A password sign-in.
pub fn password(user: &str, password: &str) -> serversync::protocol::Login {
    serversync::protocol::Login::Password { user: user.into(), password: serversync::secrets::Secret::new(password) }
}

/// The subjects of the messages in a user's Inbox, read over IMAPS with the test CA.
pub async fn inbox_subjects(servers: &MailServers, user: &str, pass: &str) -> Vec<String> {
    use serversync::protocol::{Security, Unobserved, imap};
    let ep = endpoint(servers, "localhost", "IMAPS_PORT", Security::Implicit);
    let mut session = imap::sign_in(&ep, &password(user, pass), &mut Unobserved)
        .await
        .unwrap_or_else(|e| panic!("IMAP sign-in: {e}"));
    let inbox = session.examine("INBOX").await.unwrap_or_else(|e| panic!("EXAMINE: {e}"));
    let mut subjects = Vec::new();
    if inbox.exists > 0 {
        session
            .uid_fetch("1:*", true, |m| {
                let body = String::from_utf8_lossy(m.body.as_deref().unwrap_or_default()).into_owned();
                let header = body.split("\r\n\r\n").next().unwrap_or_default();
                if let Some(line) = header.lines().find(|l| l.to_ascii_lowercase().starts_with("subject:")) {
                    subjects.push(line["subject:".len()..].trim().to_owned());
                }
                Ok(())
            })
            .await
            .unwrap_or_else(|e| panic!("FETCH: {e}"));
    }
    let _ = session.logout().await;
    subjects
}

/// Waits (up to 30 s) until a message with `subject` is in the user's Inbox; mail goes through
/// Postfix's queue to Dovecot, so it arrives a moment after the server accepted it.
pub async fn wait_for_subject(servers: &MailServers, user: &str, password: &str, subject: &str) -> bool {
    wait_for_subjects(servers, user, password, subject, 1).await
}

/// Waits (up to 30 s) until the user's Inbox holds `count` messages with `subject` (or more).
pub async fn wait_for_subjects(servers: &MailServers, user: &str, password: &str, subject: &str, count: usize) -> bool {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_secs(30) {
        if inbox_subjects(servers, user, password).await.iter().filter(|s| *s == subject).count() >= count {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

/// A server that accepts connections and never says a word (nor closes them): what a hung or
/// firewalled-in-the-middle server looks like. Returns its port; it lives as long as the test's
/// runtime.
pub async fn silent_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            open.push(s);
        }
    });
    port
}

/// Delivers `raw` (CRLF line ends) to each of `recipients` (`user@localhost`) through the servers'
/// LMTP port, as Postfix would: one transaction, the message dot-stuffed.
pub fn deliver(servers: &MailServers, sender: &str, recipients: &[&str], raw: &[u8]) {
    deliver_many(servers, sender, recipients, std::iter::once(raw));
}

/// Delivers several messages over one LMTP session (one transaction each).
pub fn deliver_many<'a>(
    servers: &MailServers,
    sender: &str,
    recipients: &[&str],
    messages: impl IntoIterator<Item = &'a [u8]>,
) {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect(("127.0.0.1", servers.port("LMTP_PORT")))
        .unwrap_or_else(|e| panic!("LMTP connect: {e}"));
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap_or_else(|e| panic!("{e}"));
    let mut reader = BufReader::new(stream.try_clone().unwrap_or_else(|e| panic!("{e}")));
    let mut writer = std::io::BufWriter::new(stream);
    // Reads one reply (its last line) and checks its code class.
    let mut reply = |want: char| {
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap_or_else(|e| panic!("LMTP read: {e}"));
            assert!(line.starts_with(want), "LMTP said: {line}");
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
    };
    reply('2');
    let send = |w: &mut std::io::BufWriter<std::net::TcpStream>, s: &[u8]| {
        w.write_all(s).unwrap_or_else(|e| panic!("LMTP write: {e}"));
    };
    send(&mut writer, b"LHLO tests.localhost\r\n");
    writer.flush().unwrap_or_else(|e| panic!("{e}"));
    reply('2');
    for raw in messages {
        send(&mut writer, format!("MAIL FROM:<{sender}>\r\n").as_bytes());
        for r in recipients {
            send(&mut writer, format!("RCPT TO:<{r}>\r\n").as_bytes());
        }
        send(&mut writer, b"DATA\r\n");
        writer.flush().unwrap_or_else(|e| panic!("{e}"));
        reply('2');
        for _ in recipients {
            reply('2');
        }
        reply('3');
        let mut at_line_start = true;
        let mut out = Vec::with_capacity(raw.len() + 64);
        for &b in raw {
            if at_line_start && b == b'.' {
                out.push(b'.');
            }
            out.push(b);
            at_line_start = b == b'\n';
        }
        if !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        send(&mut writer, &out);
        writer.flush().unwrap_or_else(|e| panic!("{e}"));
        // LMTP answers once per recipient.
        for _ in recipients {
            reply('2');
        }
    }
    send(&mut writer, b"QUIT\r\n");
    let _ = writer.flush();
}

/// Appends `raw` to a user's folder over IMAPS, as a mail client would (no header is added).
pub async fn append(servers: &MailServers, user: &str, pass: &str, folder: &str, raw: &[u8]) {
    use serversync::protocol::{Security, Unobserved, imap};
    let ep = endpoint(servers, "localhost", "IMAPS_PORT", Security::Implicit);
    let mut session =
        imap::sign_in(&ep, &password(user, pass), &mut Unobserved).await.unwrap_or_else(|e| panic!("IMAP: {e}"));
    session.append(folder, None, raw).await.unwrap_or_else(|e| panic!("APPEND: {e}"));
    let _ = session.logout().await;
}

/// How many messages a user's folder holds, read over IMAPS.
pub async fn folder_count(servers: &MailServers, user: &str, pass: &str, folder: &str) -> u32 {
    use serversync::protocol::{Security, Unobserved, imap};
    let ep = endpoint(servers, "localhost", "IMAPS_PORT", Security::Implicit);
    let mut session =
        imap::sign_in(&ep, &password(user, pass), &mut Unobserved).await.unwrap_or_else(|e| panic!("IMAP: {e}"));
    let n = match session.examine(folder).await {
        Ok(f) => f.exists,
        Err(_) => 0,
    };
    let _ = session.logout().await;
    n
}
