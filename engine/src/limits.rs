//! Connection limits: each profile's "Maximum Concurrent Connections" as one semaphore per
//! profile, shared by everything an engine connects for (Test & Enable, and the sync to come).
//!
//! A limit can change while connections are open. The semaphore is never swapped for a new one
//! (that would let old and new permits add up): raising the limit adds permits; lowering it
//! takes free permits away and, for connections still open beyond the new limit, keeps a debt
//! that their permits pay when they are released (they are forgotten instead of returned). So
//! the connections open at any moment never exceed the latest limit once the excess has closed.

use crate::{Error, Result};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
struct Limit {
    semaphore: Arc<Semaphore>,
    state: Mutex<LimitState>,
}

#[derive(Debug)]
struct LimitState {
    limit: u32,
    /// The version of the setting `limit` came from: an older reading never undoes a newer one.
    version: i64,
    /// Permits to forget on release, because the limit was lowered while they were held.
    debt: u32,
}

impl Limit {
    fn new(limit: u32) -> Limit {
        Limit {
            semaphore: Arc::new(Semaphore::new(limit as usize)),
            state: Mutex::new(LimitState { limit, version: i64::MIN, debt: 0 }),
        }
    }

    fn set(&self, new: u32, version: i64) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if version < st.version {
            return;
        }
        st.version = version;
        if new > st.limit {
            let mut up = new - st.limit;
            let paid = up.min(st.debt);
            st.debt -= paid;
            up -= paid;
            self.semaphore.add_permits(up as usize);
        } else if new < st.limit {
            let down = st.limit - new;
            let forgotten = self.semaphore.forget_permits(down as usize) as u32;
            st.debt += down - forgotten;
        }
        st.limit = new;
    }

    fn release(&self, permit: OwnedSemaphorePermit) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if st.debt > 0 {
            st.debt -= 1;
            permit.forget();
        } else {
            drop(permit);
        }
    }
}

/// One connection's place within its profile's limit; released when dropped.
#[derive(Debug)]
pub struct ConnectionPermit {
    permit: Option<OwnedSemaphorePermit>,
    limit: Arc<Limit>,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        if let Some(p) = self.permit.take() {
            self.limit.release(p);
        }
    }
}

/// The limits of every profile an engine has connected for.
#[derive(Debug)]
pub struct ConnectionLimits<K> {
    limits: Mutex<HashMap<K, Arc<Limit>>>,
}

impl<K> Default for ConnectionLimits<K> {
    fn default() -> Self {
        ConnectionLimits { limits: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash + Copy> ConnectionLimits<K> {
    /// Waits for a place under `key`'s limit, which is `limit` from now on unless a newer
    /// `version` of the setting was seen already (two callers that read the setting around a
    /// change may arrive in either order).
    pub async fn acquire(&self, key: K, limit: u32, version: i64) -> Result<ConnectionPermit> {
        let limit_state = {
            let mut limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
            let entry = limits.entry(key).or_insert_with(|| Arc::new(Limit::new(limit))).clone();
            entry.set(limit, version);
            entry
        };
        let permit = limit_state.semaphore.clone().acquire_owned().await.map_err(Error::internal)?;
        Ok(ConnectionPermit { permit: Some(permit), limit: limit_state })
    }

    /// A place under `key`'s limit now, only if `keep_free` places stay free after it (a
    /// connection that stays open, such as IMAP IDLE, never takes the last places that cycles
    /// need); None otherwise.
    pub fn try_acquire_leaving(&self, key: K, limit: u32, version: i64, keep_free: usize) -> Option<ConnectionPermit> {
        let limit_state = {
            let mut limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
            let entry = limits.entry(key).or_insert_with(|| Arc::new(Limit::new(limit))).clone();
            entry.set(limit, version);
            entry
        };
        if limit_state.semaphore.available_permits() <= keep_free {
            return None;
        }
        let permit = limit_state.semaphore.clone().try_acquire_owned().ok()?;
        Some(ConnectionPermit { permit: Some(permit), limit: limit_state })
    }

    /// Sets `key`'s limit without waiting for a place.
    pub fn set_limit(&self, key: K, limit: u32, version: i64) {
        let mut limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        limits.entry(key).or_insert_with(|| Arc::new(Limit::new(limit))).set(limit, version);
    }

    /// Places free under `key`'s limit now (for tests and diagnostics).
    pub fn available(&self, key: K) -> Option<usize> {
        let limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        limits.get(&key).map(|l| l.semaphore.available_permits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    /// A permit under `limit`, read as version `limit`'s position in the test (old 10 = 1, new = 2).
    async fn take(limits: &ConnectionLimits<u8>, limit: u32) -> ConnectionPermit {
        let version = if limit >= 10 { 1 } else { 2 };
        limits.acquire(1, limit, version).await.unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn a_lowered_limit_counts_the_permits_already_held() {
        let limits = Arc::new(ConnectionLimits::<u8>::default());
        let mut held = Vec::new();
        for _ in 0..10 {
            held.push(take(&limits, 10).await);
        }
        limits.set_limit(1, 2, 2);
        let waiter = tokio::spawn({
            let limits = limits.clone();
            async move { take(&limits, 2).await }
        });
        // 10 open, limit 2: a new connection waits until only 1 of the old ones is left.
        for open in (2..=10).rev() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert!(
                !waiter.is_finished(),
                "a permit was granted while {open} connections were open under a limit of 2"
            );
            assert_eq!(limits.available(1), Some(0));
            held.pop();
        }
        let _new = tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .unwrap_or_else(|_| panic!("the waiter never got its permit"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(limits.available(1), Some(0), "1 old + 1 new connection fill the limit of 2");
        drop(held);
        assert_eq!(limits.available(1), Some(1));
    }

    #[tokio::test]
    async fn concurrency_never_exceeds_the_latest_limit_once_lowered() {
        let limits = Arc::new(ConnectionLimits::<u8>::default());
        let open = Arc::new(AtomicU32::new(0));
        let peak = Arc::new(AtomicU32::new(0));
        let mut old = Vec::new();
        for _ in 0..10 {
            old.push(take(&limits, 10).await);
            open.fetch_add(1, Ordering::SeqCst);
        }
        limits.set_limit(1, 2, 2);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..30 {
            let (limits, open, peak) = (limits.clone(), open.clone(), peak.clone());
            tasks.spawn(async move {
                let _p = take(&limits, 2).await;
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
        for p in old {
            tokio::time::sleep(Duration::from_millis(3)).await;
            open.fetch_sub(1, Ordering::SeqCst);
            drop(p);
        }
        while tasks.join_next().await.is_some() {}
        let peak = peak.load(Ordering::SeqCst);
        assert!(peak <= 2, "{peak} connections were open at once after the limit went down to 2");
        assert_eq!(limits.available(1), Some(2));
    }

    #[tokio::test]
    async fn a_raised_limit_pays_the_debt_first() {
        let limits = ConnectionLimits::<u8>::default();
        let a = take(&limits, 3).await;
        let b = take(&limits, 3).await;
        limits.set_limit(1, 1, 3); // 2 held: the free place goes, and one more is owed
        assert_eq!(limits.available(1), Some(0));
        limits.set_limit(1, 3, 4); // back to 3: the debt is paid, one place is free again
        assert_eq!(limits.available(1), Some(1));
        drop((a, b));
        assert_eq!(limits.available(1), Some(3));
    }

    #[tokio::test]
    async fn an_older_reading_of_the_setting_never_undoes_a_newer_one() {
        let limits = ConnectionLimits::<u8>::default();
        limits.set_limit(1, 10, 5);
        limits.set_limit(1, 2, 6);
        // A caller that read the setting before it changed arrives late.
        let _p = limits.acquire(1, 10, 5).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(limits.available(1), Some(1), "the limit is still 2");
    }
}
