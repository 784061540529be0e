//! The admin API of the Exchange test servers (tests/servers/graph, tests/servers/ews): plain
//! HTTP/1.1 on 127.0.0.1, JSON in and out, one connection per request.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Sends one request; panics with the answer unless it is 2xx. Returns the body.
pub fn call(port: u16, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("admin port {port}: {e}"));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).and_then(|()| s.write_all(body)).unwrap_or_else(|e| panic!("admin {path}: {e}"));
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap_or_else(|e| panic!("admin {path}: {e}"));
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.get(split + 4..).unwrap_or_default().to_vec();
    assert!((200..300).contains(&status), "admin {method} {path}: {head}\n{}", String::from_utf8_lossy(&body));
    body
}

/// [`call`] with JSON in and out.
pub fn json(port: u16, method: &str, path: &str, body: &Value) -> Value {
    let out = call(port, method, path, body.to_string().as_bytes());
    serde_json::from_slice(&out).unwrap_or(Value::Null)
}

/// The shared reference files beside the repository (`SERVERSYNC_SHARED` overrides).
pub fn shared() -> PathBuf {
    std::env::var_os("SERVERSYNC_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// Runs one of the test servers' scripts; panics with its output when it fails.
pub fn script(path: &Path, args: &[&str]) {
    script_env(path, args, &[]);
}

fn script_env(path: &Path, args: &[&str], env: &[(&str, &str)]) {
    let out = Command::new("bash")
        .arg(path)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}):\n{}\n{}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A started test server: its state file's ports, stopped by its `down.sh` when dropped.
#[derive(Debug)]
pub struct Started {
    pub state: PathBuf,
    pub info: Value,
    down: PathBuf,
}

impl Started {
    /// Runs `<kind>/up.sh` on the mail servers' state directory with the fixtures of `kind`.
    pub fn start(kind: &str, mail_state: &Path) -> Started {
        Started::start_env(kind, mail_state, &[])
    }

    /// [`Started::start`] with environment settings for `up.sh`.
    pub fn start_env(kind: &str, mail_state: &Path, env: &[(&str, &str)]) -> Started {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("servers").join(kind);
        let fixtures = shared().join("fixtures").join(kind);
        let state = mail_state.to_string_lossy().into_owned();
        script_env(&dir.join("up.sh"), &[&state, &fixtures.to_string_lossy()], env);
        let file = mail_state.join(format!("{kind}.json"));
        let info = serde_json::from_slice(&std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        Started { state: mail_state.to_owned(), info, down: dir.join("down.sh") }
    }

    pub fn port(&self, name: &str) -> u16 {
        self.info[name]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_else(|| panic!("no {name}: {}", self.info))
    }

    pub fn text(&self, name: &str) -> String {
        self.info[name].as_str().unwrap_or_else(|| panic!("no {name}: {}", self.info)).to_owned()
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(&self.down).arg(&self.state).output();
    }
}
