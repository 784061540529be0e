//! A fault-injecting TCP proxy for the tests: it sits between the engine and a real server on
//! 127.0.0.1 and, on command, cuts a connection after so many bytes, stalls it, or answers in the
//! server's place. The engine's connections are TLS, so the proxy never reads them: faults are
//! placed by byte counts of the (encrypted) stream, or before TLS starts (a plaintext greeting).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// What the proxy does to a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Passes everything through.
    None,
    /// Forwards the first `n` bytes the server sends, then closes both sides (mid-FETCH).
    CutAfterServerBytes(u64),
    /// Forwards the first `n` bytes the client sends, then closes both sides (mid-DATA).
    CutAfterClientBytes(u64),
    /// Accepts the connection, forwards nothing, and keeps it open: a hung server.
    Stall,
    /// Forwards the first `n` bytes the server sends, then forwards nothing more either way and
    /// keeps both sides open: a server that hangs mid-answer.
    StallAfterServerBytes(u64),
    /// Answers the client with these bytes (a greeting) and closes; the server is never reached.
    Reply(Vec<u8>),
    /// Forwards everything, each read of the server's answers this much later: a slow link.
    Slow(std::time::Duration),
}

#[derive(Debug)]
struct State {
    fault: Fault,
    /// The fault applies to the next connection only, then the proxy passes through again.
    once: bool,
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicUsize,
    fired: AtomicUsize,
    client_bytes: AtomicU64,
    server_bytes: AtomicU64,
}

/// A running proxy; it stops accepting when dropped (connections already open live on with the
/// test's runtime).
#[derive(Debug)]
pub struct FaultProxy {
    port: u16,
    state: Arc<Mutex<State>>,
    counters: Arc<Counters>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1 (a free port) to 127.0.0.1:`upstream_port`, passing through.
    pub async fn start(upstream_port: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("proxy bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
        let state = Arc::new(Mutex::new(State { fault: Fault::None, once: false }));
        let counters = Arc::new(Counters::default());
        let (st, co) = (state.clone(), counters.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                co.connections.fetch_add(1, Ordering::SeqCst);
                let fault = {
                    let mut s = st.lock().unwrap_or_else(PoisonError::into_inner);
                    let f = s.fault.clone();
                    if s.once {
                        (s.fault, s.once) = (Fault::None, false);
                    }
                    f
                };
                tokio::spawn(serve(client, upstream_port, fault, co.clone()));
            }
        });
        FaultProxy { port, state, counters, accept }
    }

    /// The port the engine connects to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Applies `fault` to every connection accepted from now on.
    pub fn set(&self, fault: Fault) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = State { fault, once: false };
    }

    /// Applies `fault` to the next connection accepted only.
    pub fn set_once(&self, fault: Fault) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = State { fault, once: true };
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.counters.connections.load(Ordering::SeqCst)
    }

    /// How many times a fault actually struck (a cut, a stall, a canned reply).
    pub fn fired(&self) -> usize {
        self.counters.fired.load(Ordering::SeqCst)
    }

    /// Bytes forwarded (client → server, server → client) over all connections.
    pub fn bytes(&self) -> (u64, u64) {
        (self.counters.client_bytes.load(Ordering::SeqCst), self.counters.server_bytes.load(Ordering::SeqCst))
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// What a pump does once its direction has carried `limit` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AtLimit {
    Cut,
    Stall,
}

async fn serve(mut client: TcpStream, upstream_port: u16, fault: Fault, counters: Arc<Counters>) {
    match fault {
        Fault::Reply(bytes) => {
            counters.fired.fetch_add(1, Ordering::SeqCst);
            let _ = client.write_all(&bytes).await;
            let _ = client.flush().await;
            // Give the client a moment to read the reply before the close.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let _ = client.shutdown().await;
        }
        Fault::Stall => {
            counters.fired.fetch_add(1, Ordering::SeqCst);
            let _held = client;
            std::future::pending::<()>().await;
        }
        fault => {
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await else { return };
            let delay = match fault {
                Fault::Slow(d) => Some(d),
                _ => None,
            };
            let (client_limit, server_limit) = match fault {
                Fault::CutAfterClientBytes(n) => (Some((n, AtLimit::Cut)), None),
                Fault::CutAfterServerBytes(n) => (None, Some((n, AtLimit::Cut))),
                Fault::StallAfterServerBytes(n) => (None, Some((n, AtLimit::Stall))),
                _ => (None, None),
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            let cut = CancellationToken::new();
            let stall = CancellationToken::new();
            let up = pump(cr, sw, client_limit, None, cut.clone(), stall.clone(), counters.clone(), true);
            let down = pump(sr, cw, server_limit, delay, cut, stall, counters, false);
            tokio::join!(up, down);
        }
    }
}

/// Copies `from` to `to` (each read `delay` later) until either side closes, or this direction
/// reaches its limit (then cuts or stalls both directions), or the other direction did.
#[allow(clippy::too_many_arguments)]
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    limit: Option<(u64, AtLimit)>,
    delay: Option<std::time::Duration>,
    cut: CancellationToken,
    stall: CancellationToken,
    counters: Arc<Counters>,
    client_to_server: bool,
) {
    let total = if client_to_server { &counters.client_bytes } else { &counters.server_bytes };
    let mut carried = 0u64;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            () = cut.cancelled() => return,
            () = stall.cancelled() => break,
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown().await;
                    return;
                }
                Ok(n) => n,
            },
        };
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        let mut chunk = &buf[..n];
        let mut reached = None;
        if let Some((max, what)) = limit
            && carried + n as u64 >= max
        {
            chunk = &chunk[..usize::try_from(max - carried).unwrap_or(0).min(n)];
            reached = Some(what);
        }
        if to.write_all(chunk).await.is_err() {
            cut.cancel();
            return;
        }
        carried += chunk.len() as u64;
        total.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        match reached {
            Some(AtLimit::Cut) => {
                counters.fired.fetch_add(1, Ordering::SeqCst);
                cut.cancel();
                return;
            }
            Some(AtLimit::Stall) => {
                counters.fired.fetch_add(1, Ordering::SeqCst);
                stall.cancel();
                break;
            }
            None => {}
        }
    }
    // Stalled: hold both halves open, forward nothing, until the other side goes or the runtime ends.
    let _held = (from, to);
    std::future::pending::<()>().await;
}
