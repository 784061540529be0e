//! How long each kind of operation may take. One number per step was right for a connection
//! test and wrong for sync: a large FETCH or RETR legitimately runs for minutes, and an IDLE
//! waits for up to half an hour. So a connection carries a policy:
//!
//! - **connect**: resolve, TCP connect and the TLS handshake, each;
//! - **command**: from sending a command to its last byte of answer, for small answers;
//! - **transfer**: large answers (a message body) may take longer, as long as bytes keep coming
//!   at no less than a floor rate; silence for longer than `command` still times out;
//! - **IDLE renewal**: how long an IDLE runs before it is stopped and started again (RFC 2177:
//!   servers may drop an IDLE after 30 minutes, so clients re-issue it every 29).

use super::failure;
use crate::Result;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The slowest transfer accepted once a large answer has started: 16 KiB/s, a mobile link at its
/// worst. A message of 25 MB (Exchange Online's default limit) then has about 26 minutes.
pub const MIN_TRANSFER_RATE: u64 = 16 * 1024;

/// RFC 2177 §3: re-issue IDLE at least every 29 minutes.
pub const IDLE_RENEWAL: Duration = Duration::from_secs(29 * 60);

/// The bounds of one connection's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub command: Duration,
    /// Bytes per second a transfer must keep up once it runs longer than `command`.
    pub min_transfer_rate: u64,
    pub idle_renewal: Duration,
}

impl Timeouts {
    /// The policy of a profile whose "Timeout mailbox connection" is `timeout`: connecting and
    /// each command are bounded by it; transfers and IDLE get the defaults above.
    pub fn from_profile(timeout: Duration) -> Timeouts {
        Timeouts {
            connect: timeout,
            command: timeout,
            min_transfer_rate: MIN_TRANSFER_RATE,
            idle_renewal: IDLE_RENEWAL,
        }
    }

    /// The bound on a transfer of `bytes` bytes known in advance.
    pub fn transfer(&self, bytes: u64) -> Duration {
        self.command + Duration::from_secs(bytes / self.min_transfer_rate.max(1))
    }
}

/// Bytes read from a connection so far, shared with whoever watches a transfer's progress.
#[derive(Debug, Clone, Default)]
pub struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    pub fn add(&self, n: usize) {
        self.0.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Whether a transfer that has read `bytes` after `elapsed`, the last of them `silent` ago, is
/// still within the policy: never silent for longer than `command`, and after the first
/// `command`, at least `min_transfer_rate` on average.
pub fn transfer_on_time(t: &Timeouts, elapsed: Duration, bytes: u64, silent: Duration) -> bool {
    if silent > t.command {
        return false;
    }
    if elapsed <= t.command {
        return true;
    }
    let owed = (elapsed - t.command).as_secs_f64() * t.min_transfer_rate as f64;
    bytes as f64 >= owed
}

/// Runs `fut`, a transfer whose bytes `counter` counts, within the policy's floor rate: it fails
/// with a timeout as soon as the server stays silent for `command`, or falls behind the floor.
pub async fn with_progress<T>(
    t: &Timeouts,
    host: &str,
    counter: &ByteCounter,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    let started = Instant::now();
    let first = counter.get();
    let (mut last_bytes, mut last_change) = (first, started);
    let tick = (t.command / 4).max(Duration::from_millis(50));
    let mut fut = std::pin::pin!(fut);
    loop {
        tokio::select! {
            r = &mut fut => return r,
            () = tokio::time::sleep(tick) => {
                let now = Instant::now();
                let bytes = counter.get();
                if bytes != last_bytes {
                    (last_bytes, last_change) = (bytes, now);
                }
                if !transfer_on_time(t, now - started, bytes - first, now - last_change) {
                    return Err(failure::timeout(host, t.command.as_secs()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_transfer_may_outlast_the_command_timeout_while_bytes_keep_coming() {
        let t = Timeouts::from_profile(S(10));
        // Table: elapsed, bytes read, silent for → on time?
        let table = [
            (S(5), 0, S(5), true),                           // within the command bound
            (S(11), 0, S(11), false),                        // silent too long
            (S(60), 50 * MIN_TRANSFER_RATE, S(1), true),     // 50 s past the bound, 50 s worth read
            (S(60), 49 * MIN_TRANSFER_RATE, S(1), false),    // behind the floor
            (S(600), 600 * MIN_TRANSFER_RATE, S(11), false), // fast enough, but silent now
        ];
        for (elapsed, bytes, silent, expected) in table {
            assert_eq!(transfer_on_time(&t, elapsed, bytes, silent), expected, "{elapsed:?} {bytes} {silent:?}");
        }
        assert_eq!(t.transfer(25_000_000), S(10) + S(25_000_000 / MIN_TRANSFER_RATE));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_transfer_times_out_and_a_steady_one_finishes() {
        let t = Timeouts { command: S(2), ..Timeouts::from_profile(S(2)) };
        let counter = ByteCounter::default();
        let stalled = with_progress(&t, "h", &counter, async {
            tokio::time::sleep(S(3600)).await;
            Ok(())
        });
        let e = stalled.await.err().map(|e| e.code().to_owned());
        assert_eq!(e.as_deref(), Some(failure::code::TIMEOUT));

        let c = counter.clone();
        let steady = with_progress(&t, "h", &counter, async move {
            for _ in 0..60 {
                tokio::time::sleep(S(1)).await;
                c.add(MIN_TRANSFER_RATE as usize * 2);
            }
            Ok(7)
        });
        assert_eq!(steady.await.ok(), Some(7), "60 s at twice the floor rate is on time");
    }
}
