//! Enforcement of the per-call limits: a memory limiter, the epoch ticker behind
//! the CPU budget, and a gate bounding how many calls run at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Engine, ResourceLimiter};

/// Period of the epoch ticker; CPU budgets are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Table elements an instance may hold; far above what a parser needs, low
/// enough that a hostile guest cannot use tables to dodge the memory limit.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Caps the linear memory of one store and remembers whether the cap was hit.
///
/// A refused `memory.grow` makes the guest's allocator fail, which traps; the
/// `hit` flag lets the host report that trap as [`super::PluginError::MemoryLimit`]
/// instead of a generic crash.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    limit: usize,
    total: usize,
    peak: usize,
    hit: bool,
}

impl MemoryLimiter {
    /// A limiter allowing `limit` bytes of linear memory in total.
    pub(crate) fn new(limit: u64) -> Self {
        MemoryLimiter {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            total: 0,
            peak: 0,
            hit: false,
        }
    }

    /// Whether a growth was refused.
    pub(crate) fn hit(&self) -> bool {
        self.hit
    }

    /// The most linear memory the store held at once, in bytes.
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Sum over all memories of the store: a component may hold several.
        let total = self.total.saturating_sub(current).saturating_add(desired);
        if total > self.limit {
            self.hit = true;
            return Ok(false);
        }
        self.total = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// A thread that advances the engine's epoch every [`EPOCH_TICK`], so calls past their deadline trap.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts ticking `engine`.
    pub(crate) fn start(engine: &Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("palisade-plugin-epoch".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }

    /// The number of ticks covering `budget` (at least one).
    pub(crate) fn ticks(budget: Duration) -> u64 {
        let ticks = budget.as_nanos().div_ceil(EPOCH_TICK.as_nanos());
        u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A counting semaphore for blocking threads: at most `permits` plugin calls at once.
///
/// Each call may use the whole memory limit, so the number of concurrent calls
/// bounds the host's memory, not only its CPU.
#[derive(Debug)]
pub(crate) struct Gate {
    free: Mutex<usize>,
    released: Condvar,
}

/// A held permit of a [`Gate`], returned on drop.
pub(crate) struct Permit<'a>(&'a Gate);

impl Gate {
    /// A gate with `permits` permits.
    pub(crate) fn new(permits: usize) -> Self {
        Gate {
            free: Mutex::new(permits.max(1)),
            released: Condvar::new(),
        }
    }

    /// Blocks until a permit is free.
    pub(crate) fn acquire(&self) -> Permit<'_> {
        // A poisoned lock only means another caller panicked while counting;
        // the count itself is still meaningful.
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.released.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(|p| p.into_inner());
        *free += 1;
        self.0.released.notify_one();
    }
}

/// Admission to the parse slots for async callers: a permit is taken before
/// the call goes to the blocking pool, so waiting callers park as futures,
/// not as blocked threads, and at most `max_waiting` of them wait.
#[derive(Debug)]
pub(crate) struct ParseSlots {
    permits: Arc<tokio::sync::Semaphore>,
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    max_waiting: usize,
    per_user: usize,
    /// Calls running or waiting, by user id; entries leave at zero.
    users: Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>,
}

/// A parse slot; dropping it frees the slot and the user's share.
#[derive(Debug)]
pub(crate) struct ParsePermit {
    _slot: tokio::sync::OwnedSemaphorePermit,
    _user: Option<UserShare>,
}

/// One of a user's concurrent parses, counted until dropped.
#[derive(Debug)]
struct UserShare {
    user: i64,
    users: Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>,
}

impl Drop for UserShare {
    fn drop(&mut self) {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = users.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                users.remove(&self.user);
            }
        }
    }
}

/// Counts one waiting caller until dropped.
struct Waiting(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ParseSlots {
    /// `permits` calls at once, `max_waiting` more waiting, `per_user`
    /// running or waiting for any one user.
    pub(crate) fn new(permits: usize, max_waiting: usize, per_user: usize) -> Self {
        ParseSlots {
            permits: Arc::new(tokio::sync::Semaphore::new(permits.max(1))),
            waiting: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            max_waiting,
            per_user: per_user.max(1),
            users: Arc::default(),
        }
    }

    /// A slot; with `bounded`, [`super::PluginError::Busy`] instead of
    /// waiting when the queue is full. With `user`, that user's share is
    /// taken first and [`super::PluginError::UserBusy`] answers when it is
    /// used up.
    pub(crate) async fn acquire(
        &self,
        bounded: bool,
        user: Option<i64>,
    ) -> Result<ParsePermit, super::PluginError> {
        let share = match user {
            Some(user) => Some(self.share(user)?),
            None => None,
        };
        let slot = match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let before = self.waiting.fetch_add(1, Ordering::SeqCst);
                let _waiting = Waiting(Arc::clone(&self.waiting));
                if bounded && before >= self.max_waiting {
                    return Err(super::PluginError::Busy { waiting: before });
                }
                Arc::clone(&self.permits)
                    .acquire_owned()
                    .await
                    .map_err(|e| super::PluginError::Internal(format!("parse slots closed: {e}")))?
            }
        };
        Ok(ParsePermit {
            _slot: slot,
            _user: share,
        })
    }

    fn share(&self, user: i64) -> Result<UserShare, super::PluginError> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let n = users.entry(user).or_insert(0);
        if *n >= self.per_user {
            return Err(super::PluginError::UserBusy {
                limit: self.per_user,
            });
        }
        *n += 1;
        Ok(UserShare {
            user,
            users: Arc::clone(&self.users),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_counts_all_memories() {
        let mut limiter = MemoryLimiter::new(100);
        assert!(limiter.memory_growing(0, 60, None).is_ok_and(|ok| ok));
        assert!(limiter.memory_growing(0, 30, None).is_ok_and(|ok| ok));
        assert!(!limiter.hit());
        assert!(limiter.memory_growing(60, 80, None).is_ok_and(|ok| !ok));
        assert!(limiter.hit());
        assert_eq!(limiter.peak(), 90);
    }

    #[tokio::test]
    async fn parse_slots_refuse_beyond_the_queue() {
        let slots = Arc::new(ParseSlots::new(1, 1, 8));
        let held = slots.acquire(true, None).await.expect("free slot");
        let s2 = Arc::clone(&slots);
        let waiter = tokio::spawn(async move { s2.acquire(true, None).await.map(drop) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(matches!(
            slots.acquire(true, None).await,
            Err(super::super::PluginError::Busy { waiting: 1 })
        ));
        drop(held);
        assert!(waiter.await.expect("join").is_ok());
        assert!(slots.acquire(true, None).await.is_ok());
    }

    #[tokio::test]
    async fn one_user_cannot_take_every_slot_and_the_queue() {
        let slots = Arc::new(ParseSlots::new(2, 8, 2));
        let a1 = slots.acquire(true, Some(1)).await.expect("first");
        let a2 = slots.acquire(true, Some(1)).await.expect("second");
        // Both slots are busy: user 1's third call is refused at once instead
        // of filling the queue, while user 2 may still wait for a slot.
        assert!(matches!(
            slots.acquire(true, Some(1)).await,
            Err(super::super::PluginError::UserBusy { limit: 2 })
        ));
        let s2 = Arc::clone(&slots);
        let other = tokio::spawn(async move { s2.acquire(true, Some(2)).await.map(drop) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!other.is_finished(), "user 2 waits for a free slot");
        drop(a1);
        assert!(
            other.await.expect("join").is_ok(),
            "user 2 got the freed slot"
        );
        // The refused call left no share behind; one finished call frees one.
        let again = slots.acquire(true, Some(1)).await.expect("share freed");
        drop((a2, again));
        assert!(
            slots.users.lock().expect("lock").is_empty(),
            "no entry left"
        );
        // Background work (no user) is not counted against anyone.
        let _bg = slots.acquire(false, None).await.expect("background");
    }

    #[test]
    fn ticks_round_up() {
        assert_eq!(EpochTicker::ticks(Duration::from_secs(2)), 200);
        assert_eq!(EpochTicker::ticks(Duration::from_millis(1)), 1);
    }
}
