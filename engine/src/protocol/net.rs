//! Connections: resolve, connect and start TLS, each step bounded by the connection's policy.

use super::policy::{ByteCounter, Timeouts};
use super::{failure, tls};
use crate::Result;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte.
    Implicit,
    /// Plain, upgraded by STARTTLS / STLS before signing in.
    StartTls,
    /// No TLS ("Use SSL" = No): refused by servers that require it, never used to send a
    /// password unless the administrator chose it.
    None,
}

/// Where to connect, and the rules for it.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// Bounds on connecting, on each command, on transfers and on IDLE.
    pub timeouts: Timeouts,
    /// The profile's CA file, or "".
    pub ca_file: String,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} ({:?}, {:?})", self.host, self.port, self.security, self.timeouts.command)
    }
}

impl Endpoint {
    /// Runs `fut`, a command, failing with a timeout error when the server takes longer than the
    /// policy allows.
    pub async fn bounded<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        self.within(self.timeouts.command, fut).await
    }

    /// Runs `fut` (resolving, connecting, a TLS handshake) within the connect bound.
    pub async fn bounded_connect<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        self.within(self.timeouts.connect, fut).await
    }

    /// Runs `fut`, a transfer whose bytes `counter` counts, as long as it keeps the floor rate.
    pub async fn bounded_transfer<T>(&self, counter: &ByteCounter, fut: impl Future<Output = Result<T>>) -> Result<T> {
        super::policy::with_progress(&self.timeouts, &self.host, counter, fut).await
    }

    async fn within<T>(&self, bound: Duration, fut: impl Future<Output = Result<T>>) -> Result<T> {
        match tokio::time::timeout(bound, fut).await {
            Ok(r) => r,
            Err(_) => Err(failure::timeout(&self.host, bound.as_secs())),
        }
    }

    /// Resolves the host name to addresses.
    pub async fn resolve(&self) -> Result<Vec<SocketAddr>> {
        let host = self.host.clone();
        let port = self.port;
        self.bounded_connect(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| failure::host_not_found(&host).with_detail(e))?
                .collect();
            if addrs.is_empty() {
                return Err(failure::host_not_found(&host));
            }
            Ok(addrs)
        })
        .await
    }

    /// Opens a TCP connection to the first address that answers.
    pub async fn connect_tcp(&self, addrs: &[SocketAddr]) -> Result<TcpStream> {
        self.bounded_connect(async {
            let mut last = None;
            for a in addrs {
                match TcpStream::connect(a).await {
                    Ok(s) => {
                        let _ = s.set_nodelay(true);
                        return Ok(s);
                    }
                    Err(e) => last = Some(e),
                }
            }
            let e = last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrNotAvailable));
            Err(failure::io(&self.host, self.port, &e))
        })
        .await
    }

    /// Starts TLS on a connection and verifies the server's certificate.
    pub async fn start_tls(&self, tcp: TcpStream) -> Result<MailStream> {
        let config = tls::client_config(&self.ca_file)?;
        let name = tls::server_name(&self.host)?;
        self.bounded_connect(async {
            TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map(|s| MailStream::Tls(Box::new(s)))
                .map_err(|e| failure::io(&self.host, self.port, &e))
        })
        .await
    }

    /// Resolves, connects and (for implicit TLS) negotiates TLS.
    pub async fn open(&self) -> Result<MailStream> {
        let addrs = self.resolve().await?;
        let tcp = self.connect_tcp(&addrs).await?;
        match self.security {
            Security::Implicit => self.start_tls(tcp).await,
            Security::StartTls | Security::None => Ok(MailStream::Plain(tcp)),
        }
    }
}

/// A mail connection, plain or TLS.
#[derive(Debug)]
pub enum MailStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl MailStream {
    /// Upgrades a plain connection after the server agreed to STARTTLS / STLS.
    pub async fn upgrade(self, ep: &Endpoint) -> Result<MailStream> {
        match self {
            MailStream::Plain(tcp) => ep.start_tls(tcp).await,
            tls @ MailStream::Tls(_) => Ok(tls),
        }
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, MailStream::Tls(_))
    }
}

impl AsyncRead for MailStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
